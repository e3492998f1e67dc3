# Applies a unit's system users to the user database in one locked run:
# /etc/passwd, shadow, group and gshadow are read once, changed in memory
# and written once per round (the deletes, then the saves), instead of a
# useradd, usermod, chpasswd and gpasswd per user.
#
# Records come on stdin as NUL-terminated fields:
#   S id name home own shell groups hash active members   a save
#   D id name                                             a delete
# groups and members are space-separated names; own and active are 1 or
# empty. The first argument, when given, is a directory standing for /
# (tests); the name service is then not asked.
#
# A user the panel made carries "orchestra-<id>" as its comment (GECOS):
# nothing else is taken over, changed or deleted.
use strict;
use warnings;
use Config;
use Fcntl qw(O_WRONLY O_CREAT O_EXCL F_SETLKW F_WRLCK);
use File::Path qw(make_path);
use IO::Handle;

my $root = @ARGV ? $ARGV[0] : "";
my $nss  = $root eq "";    # ask the name service too (LDAP users and groups)
my $etc  = "$root/etc";

sub fail { print STDERR "orchestra: ", @_, "\n"; exit 1 }

my $name_re = qr/^[A-Za-z0-9_][A-Za-z0-9_.-]*\z/;

# --- input
my @f = do { local $/; my $in = <STDIN>; defined $in ? split(/\0/, $in, -1) : () };
pop @f if @f && $f[-1] eq "";
my (@saves, @deletes);
while (@f) {
  my $k = shift @f;
  if ($k eq "S" && @f >= 9) {
    my %s;
    @s{qw(id name home own shell groups hash active members)} = splice(@f, 0, 9);
    push @saves, \%s;
  } elsif ($k eq "D" && @f >= 2) {
    my %d;
    @d{qw(id name)} = splice(@f, 0, 2);
    push @deletes, \%d;
  } else {
    fail("malformed input");
  }
}
for my $r (@saves, @deletes) {
  $r->{id} =~ /^[0-9]+\z/ or fail("malformed id");
  $r->{name} =~ $name_re or fail("invalid user name");
}
for my $s (@saves) {
  for my $k (qw(home shell hash)) {
    fail("$s->{name}: its $k holds a colon or a control character") if $s->{$k} =~ /[:\x00-\x1f\x7f]/;
  }
  fail("$s->{name}: its home is not an absolute path") unless $s->{home} =~ m{^/};
  for my $k (qw(groups members)) {
    $s->{$k} = [split " ", $s->{$k}];
    for (@{ $s->{$k} }) { $_ =~ $name_re or fail("$s->{name}: invalid group or member name") }
  }
}
exit 0 unless @saves || @deletes;

# --- locks, as the shadow tools take them: lckpwdf(3), an fcntl write lock
# on /etc/.pwd.lock (waited for), then <file>.lock for each file
$Config{ptrsize} == 8 && $Config{lseeksize} == 8 or fail("the user database lock is written for 64-bit servers");
sysopen(my $pwdlock, "$etc/.pwd.lock", O_WRONLY | O_CREAT, 0600) or fail("$etc/.pwd.lock: $!");
my $locked = eval {
  local $SIG{ALRM} = sub { die "timed out\n" };
  alarm 30;
  # struct flock on LP64: l_type, l_whence, l_start, l_len, l_pid
  my $fl = pack("s s x4 q q i x4", F_WRLCK, 0, 0, 0, 0);
  fcntl($pwdlock, F_SETLKW, $fl) or die "$!\n";
  alarm 0;
  1;
};
fail("cannot lock the user database: ", $@ || "unknown error") unless $locked;

my @lockfiles;
END { unlink @lockfiles if @lockfiles }
sub lock_file {
  my ($db) = @_;
  my ($lock, $tmp) = ("$db.lock", "$db.$$");
  for my $try (1 .. 50) {
    unlink $tmp;
    sysopen(my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL, 0600) or fail("$tmp: $!");
    print $fh $$;
    close $fh or fail("$tmp: $!");
    my $linked = link($tmp, $lock);
    unlink $tmp;
    if ($linked) { push @lockfiles, $lock; return }
    if (open(my $lf, "<", $lock)) {
      my $pid = <$lf> // "";
      close $lf;
      # left by a process that is gone: stale
      if ($pid =~ /^\s*([0-9]+)/ && !kill(0, $1) && $!{ESRCH}) { unlink $lock; next }
    }
    select(undef, undef, undef, 0.1);
  }
  fail("$db is locked by another process; try again later");
}

# --- the files as lines, entries found by name
sub load_db {
  my ($path) = @_;
  my $db = { path => $path, lines => [] };
  if (open(my $fh, "<", $path)) {
    local $/;
    my $c = <$fh> // "";
    close $fh;
    $db->{lines} = [split /\n/, $c, -1];
    pop @{ $db->{lines} } if @{ $db->{lines} } && $db->{lines}[-1] eq "";
  }
  index_db($db);
  return $db;
}
sub index_db {
  my ($db) = @_;
  $db->{idx}   = {};
  $db->{added} = [];
  $db->{dirty} = 0;
  $db->{drop}  = {};
  for my $n (0 .. $#{ $db->{lines} }) {
    my $l = $db->{lines}[$n];
    next if $l eq "" || $l =~ /^[+-]/;    # NIS compat entries stay as they are
    my ($k) = split /:/, $l, 2;
    $db->{idx}{$k} //= $n;
  }
}
sub get {
  my ($db, $name) = @_;
  my $n = $db->{idx}{$name};
  return undef unless defined $n;
  return [split /:/, ($n >= 0 ? $db->{lines}[$n] : $db->{added}[-$n - 1]), -1];
}
sub put {
  my ($db, $name, $fields) = @_;
  my $line = join ":", @$fields;
  my $n = $db->{idx}{$name};
  if (!defined $n) {
    push @{ $db->{added} }, $line;
    $db->{idx}{$name} = -@{ $db->{added} };
  } elsif ($n >= 0) {
    return if $db->{lines}[$n] eq $line;
    $db->{lines}[$n] = $line;
  } else {
    return if $db->{added}[-$n - 1] eq $line;
    $db->{added}[-$n - 1] = $line;
  }
  $db->{dirty} = 1;
}
sub del {
  my ($db, $name) = @_;
  my $n = delete $db->{idx}{$name};
  return unless defined $n;
  if ($n >= 0) { $db->{lines}[$n] = undef } else { $db->{added}[-$n - 1] = undef }
  $db->{drop}{$name} = 1 if $db->{multi};    # subuid: one line per range
  $db->{dirty} = 1;
}
# writes a changed file as the shadow tools do: the old content kept as
# <file>-, the new one written beside it, synced and renamed over it
sub write_db {
  my ($db) = @_;
  return unless $db->{dirty};
  my $drop  = $db->{drop} || {};
  my @old   = grep { defined && !(/^([^:]*):/ && $drop->{$1}) } @{ $db->{lines} };
  my @added = grep { defined } @{ $db->{added} };
  my $at    = 0;    # new entries go before the NIS compat ones
  $at++ while $at < @old && $old[$at] !~ /^[+-]/;
  my @out = (@old[0 .. $at - 1], @added, @old[$at .. $#old]);
  my @st  = stat($db->{path});
  my ($mode, $uid, $gid) = @st ? ($st[2] & 07777, $st[4], $st[5]) : (0644, 0, 0);
  if (@st) {
    open(my $in, "<", $db->{path}) or fail("$db->{path}: $!");
    local $/;
    my $c = <$in> // "";
    close $in;
    put_file("$db->{path}-", $c, $mode, $uid, $gid);
  }
  put_file($db->{path}, join("", map { "$_\n" } @out), $mode, $uid, $gid);
  $db->{lines} = \@out;
  index_db($db);
}
sub put_file {
  my ($path, $content, $mode, $uid, $gid) = @_;
  my $tmp = "$path+";
  unlink $tmp;
  sysopen(my $fh, $tmp, O_WRONLY | O_CREAT | O_EXCL, 0600) or fail("$tmp: $!");
  chown($uid, $gid, $fh) && chmod($mode, $fh) or fail("$tmp: $!");
  print $fh $content or fail("$tmp: $!");
  $fh->flush && $fh->sync or fail("$tmp: $!");
  close $fh or fail("$tmp: $!");
  rename($tmp, $path) or fail("$path: $!");
}

my %dbs;
for my $f (qw(passwd shadow group gshadow subuid subgid)) {
  my $path = "$etc/$f";
  next unless -e $path || $f eq "passwd" || $f eq "group";
  lock_file($path);
  $dbs{$f} = load_db($path);
  $dbs{$f}{multi} = $f =~ /^sub/;
}
my ($pw, $sh, $gr, $gs) = @dbs{qw(passwd shadow group gshadow)};

my %defs = (UID_MIN => 1000, UID_MAX => 60000, GID_MIN => 1000, GID_MAX => 60000);
if (open(my $fh, "<", "$etc/login.defs")) {
  while (<$fh>) { $defs{$1} = $2 if /^\s*([A-Z_]+)\s+(\S+)/ }
  close $fh;
}
my $today = int(time / 86400);

sub mark { "orchestra-$_[0]" }
sub marked {
  my ($p, $id) = @_;
  my ($comment) = split /,/, $p->[4] // "", 2;    # its full name: chfn leaves it to root
  return ($comment // "") eq mark($id);
}

# members of groups, changed in memory and written to group and gshadow
my %gm;
sub gm { my ($g) = @_; $gm{$g} //= [grep { $_ ne "" } split /,/, (get($gr, $g) // [])->[3] // ""] }

# --- deletes: the panel's users only (uid 1000 and up); their own group
# goes even with members left in it, so that a user of the same name can be
# made again
my (%freed_uid, %freed_gid, %gone);
for my $d (@deletes) {
  my $p = get($pw, $d->{name});
  next unless $p && marked($p, $d->{id});    # not the panel's: left as it is
  fail("refusing to delete $d->{name}: uid $p->[2] is a system account") if $p->[2] < 1000;
  $freed_uid{ $p->[2] } = 1;
  my $g = get($gr, $d->{name});
  if ($g && $g->[2] == $p->[3] && $g->[2] >= 1000) {
    del($gr, $d->{name});
    del($gs, $d->{name}) if $gs;
    $freed_gid{ $g->[2] } = 1;
  }
  del($_, $d->{name}) for grep { defined } $sh, @dbs{qw(subuid subgid)}, $pw;
  $gone{ $d->{name} } = 1;
}
if (%gone) {    # they leave every group, as members and as admins
  for ([$gr, 3], [$gs, 3], [$gs, 2]) {
    my ($db, $i) = @$_;
    next unless $db;
    for my $g (keys %{ $db->{idx} }) {
      my $e = get($db, $g);
      my @m = split /,/, $e->[$i] // "";
      next unless grep { $gone{$_} } @m;
      $e->[$i] = join ",", grep { !$gone{$_} } @m;
      put($db, $g, $e);
    }
  }
}

# the name service's users and groups (local files and any other source),
# read once: a name or an id it knows is taken
my (%nss_user, %nss_uid, %nss_group, %nss_gid);
if ($nss) {
  setpwent();
  while (my @p = getpwent()) { $nss_user{ $p[0] } = 1; $nss_uid{ $p[2] } = 1 }
  endpwent();
  setgrent();
  while (my @g = getgrent()) { $nss_group{ $g[0] } = 1; $nss_gid{ $g[2] } = 1 }
  endgrent();
}

# --- saves: refuse what is not the panel's before anything is written
for my $s (@saves) {
  my $n = $s->{name};
  if (my $p = get($pw, $n)) {
    fail("$n: a user of that name (uid $p->[2]) exists on the server and was not made by the panel for this system user: refused")
      unless marked($p, $s->{id});
    next;
  }
  fail("$n: a user of that name exists in the server's name service: refused") if $nss_user{$n} && !$gone{$n};
  if (my $g = get($gr, $n)) {
    fail("$n: a group of that name (gid $g->[2]) exists on the server and is not the own group of a panel user: refused");
  }
  fail("$n: a group of that name exists in the server's name service: refused") if $nss_group{$n} && !$gone{$n};
}

# the deletes are written first, groups before users: a run cut short
# leaves the passwd entry that still marks the rest as the panel's
write_db($_) for grep { defined } $gs, $gr, $sh, @dbs{qw(subuid subgid)}, $pw;

# ids: after the highest one used in the range, else the lowest free one,
# as useradd picks them; never one freed by this run (files of a deleted
# user may still carry it)
sub allocator {
  my ($db, $i, $min, $max, $freed, $nss_taken) = @_;
  my %used;
  for my $k (keys %{ $db->{idx} }) { $used{ get($db, $k)->[$i] } = 1 }
  my $hi = $min - 1;
  for (keys %used) { $hi = $_ if /^[0-9]+\z/ && $_ >= $min && $_ <= $max && $_ > $hi }
  my $wrapped = 0;
  my $free = sub { my ($c) = @_; !$used{$c} && !$freed->{$c} && !$nss_taken->{$c} };
  return {
    free => $free,
    take => sub { $used{ $_[0] } = 1 },
    next => sub {
      for (;;) {
        if (!$wrapped) {
          $hi++;
          if ($hi > $max) { $wrapped = 1; $hi = $min - 1; next }
        } else {
          $hi++;
          return undef if $hi > $max;
        }
        if ($free->($hi)) { $used{$hi} = 1; return $hi }
      }
    },
  };
}
my $uids = allocator($pw, 2, $defs{UID_MIN}, $defs{UID_MAX}, \%freed_uid, \%nss_uid);
my $gids = allocator($gr, 2, $defs{GID_MIN}, $defs{GID_MAX}, \%freed_gid, \%nss_gid);
my %gid_name;
for my $k (keys %{ $gr->{idx} }) { $gid_name{ get($gr, $k)->[2] } //= $k }

my $created = 0;
my %ids;    # name => [uid, gid] of the saves
for my $s (@saves) {
  my $n = $s->{name};
  my $p = get($pw, $n);
  my ($uid, $gid);
  if ($p) {
    ($uid, $gid) = @$p[2, 3];
    @$p[5, 6] = ($s->{home}, $s->{shell});
    put($pw, $n, $p);
  } else {
    $uid = $uids->{next}->() // fail("$n: no free uid between $defs{UID_MIN} and $defs{UID_MAX}");
    # its group gets the same number when that one is free
    if ($uid >= $defs{GID_MIN} && $uid <= $defs{GID_MAX} && $gids->{free}->($uid)) {
      $gid = $uid;
      $gids->{take}->($gid);
    } else {
      $gid = $gids->{next}->() // fail("$n: no free gid between $defs{GID_MIN} and $defs{GID_MAX}");
    }
    put($pw, $n, [$n, "x", $uid, $gid, mark($s->{id}), $s->{home}, $s->{shell}]);
    $created++;
  }
  $ids{$n} = [$uid, $gid];
  # its own group: made with it, or again after a run cut short
  my $g = get($gr, $n);
  if (!$g) {
    my $other = $gid_name{$gid};
    fail("$n: its group id $gid belongs to the group $other") if defined $other && $other ne $n && get($gr, $other);
    put($gr, $n, [$n, "x", $gid, ""]);
    $gid_name{$gid} = $n;
  } elsif ($g->[2] != $gid) {
    fail("$n: the group $n has gid $g->[2], not the user's own $gid");
  }
  put($gs, $n, [$n, "!", "", ""]) if $gs && !get($gs, $n);
  # password and expiry: an inactive user keeps its hash behind a ! and
  # its account expired, so that neither passwords nor keys log in
  my $want   = ($s->{active} ? "" : "!") . ($s->{hash} eq "" ? "*" : $s->{hash});
  my $expire = $s->{active} ? "" : "1";
  if ($sh) {
    my $e = get($sh, $n);
    if (!$e) {
      $e = [$n, $want, $today, $defs{PASS_MIN_DAYS} // "", $defs{PASS_MAX_DAYS} // "", $defs{PASS_WARN_AGE} // "", "", $expire, ""];
    } else {
      push @$e, "" while @$e < 9;
      if ($e->[1] ne $want) { $e->[1] = $want; $e->[2] = $today }
      $e->[7] = $expire;
    }
    put($sh, $n, $e);
  }
}

# memberships: a saved user is in exactly the groups it names (those that
# exist), and its own group gets the members it names (the web server, the
# account's main user) besides whoever is in it
my %in;    # user => { group => 1 }
for my $g (keys %{ $gr->{idx} }) {
  $in{$_}{$g} = 1 for grep { $_ ne "" } split /,/, get($gr, $g)->[3] // "";
}
sub user_exists { my ($u) = @_; get($pw, $u) || ($nss_user{$u} && !$gone{$u}) }
for my $s (@saves) {
  my $n = $s->{name};
  my %want = map { $_ => 1 } grep { $_ ne $n && get($gr, $_) } @{ $s->{groups} };
  for my $g (grep { !$want{$_} } keys %{ $in{$n} || {} }) {
    $gm{$g} = [grep { $_ ne $n } @{ gm($g) }];
    delete $in{$n}{$g};
  }
  for my $g (grep { !$in{$n}{$_} } sort keys %want) {
    push @{ gm($g) }, $n;
    $in{$n}{$g} = 1;
  }
}
for my $s (@saves) {
  my $n = $s->{name};
  for my $m (grep { $_ ne $n && !$in{$_}{$n} && user_exists($_) } @{ $s->{members} }) {
    push @{ gm($n) }, $m;
    $in{$m}{$n} = 1;
  }
}
# group and gshadow say the same of the groups the saves concern
my %touched = map { $_ => 1 } keys %gm;
for my $s (@saves) { $touched{$_} = 1 for grep { get($gr, $_) } $s->{name}, @{ $s->{groups} } }
for my $g (keys %touched) {
  my $m = join ",", @{ gm($g) };
  for my $db (grep { defined } $gr, $gs) {
    my $e = get($db, $g) or next;
    push @$e, "" while @$e < 4;
    $e->[3] = $m;
    put($db, $g, $e);
  }
}
write_db($_) for grep { defined } $pw, $sh, $gr, $gs;

# --- own base homes: their parent is the server's (/home), where no
# customer can plant a link; made or put right, 0750 and the user's
for my $s (grep { $_->{own} } @saves) {
  my $h = "$root$s->{home}";
  my ($uid, $gid) = @{ $ids{ $s->{name} } };
  fail("$s->{home} is a link: refused") if -l $h;
  if (!-e _) {
    (my $parent = $h) =~ s{/[^/]+/*\z}{};
    make_path($parent, { mode => 0755 }) if $parent ne "" && !-d $parent;
    mkdir($h, 0750) or $!{EEXIST} or fail("$s->{home}: $!");
  }
  lstat($h);
  fail("$s->{home} is not a directory: refused") unless -d _ && !-l _;
  chown($uid, $gid, $h) && chmod(0750, $h) or fail("$s->{home}: $!");
}

printf "system users: %d saved (%d new), %d removed\n", scalar @saves, $created, scalar keys %gone;
