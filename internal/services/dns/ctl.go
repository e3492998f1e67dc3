package dns

import "github.com/orchestra-panel/orchestra/internal/orchestration"

// ctlClient is a client of named's control channel (the protocol rndc
// speaks: tables signed with the key's HMAC, a nonce from a first "null"
// command), run in the unit's file helper. The rndc program takes 14 ms to
// answer, most of it starting up; the helper opens the channel while the
// zones are checked and then asks in under a millisecond.
//
// dns_ctl_open(conf, keyfile, server, port) reads the configuration as rndc
// would (rndc.conf, else the key file, with 127.0.0.1 port 953) and
// connects; dns_ctl(command) returns named's text or dies with its error.
// What it cannot do as rndc would (server statements, hmac-md5, a name
// that is not an IPv4 address) dies with "ctl: ", and the unit uses rndc.
const ctlClient = `
our %dns_ctl;
sub dns_ctl_read {
  my ($f) = @_;
  open(my $h, "<", $f) or die "ctl: $f: $!\n";
  local $/; my $t = <$h>; close $h;
  $t =~ s{/\*.*?\*/}{}gs; $t =~ s{(?://|#)[^\n]*}{}g;
  my @inc = $t =~ /\binclude\s+"([^"]+)"\s*;/g;
  $t .= dns_ctl_read($_) for @inc;
  return $t;
}
sub dns_ctl_io {
  my ($what, $fn) = @_;
  local $SIG{ALRM} = sub { die "ctl: $what: no answer in 5 s\n" };
  alarm 5; my $v = eval { $fn->() }; alarm 0;
  die $@ if $@;
  return $v;
}
sub dns_ctl_open {
  my ($conf, $keyfile, $server, $port) = @_;
  my $t = dns_ctl_read($conf ne "" || -e "/etc/bind/rndc.conf" ? ($conf || "/etc/bind/rndc.conf") : ($keyfile || "/etc/bind/rndc.key"));
  die "ctl: server statements\n" if $t =~ /\bserver\s+\S+\s*\{/;
  my %keys;
  while ($t =~ /\bkey\s+"?([^"\s{]+)"?\s*\{(.*?)\}\s*;/gs) {
    my ($n, $b) = ($1, $2);
    my ($alg) = $b =~ /algorithm\s+"?([\w-]+)"?\s*;/;
    my ($sec) = $b =~ /secret\s+"([^"]+)"\s*;/;
    $keys{$n} = [lc($alg // ""), $sec // ""];
  }
  my ($o) = $t =~ /\boptions\s*\{(.*?)\}\s*;/s; $o //= "";
  my ($ds) = $o =~ /default-server\s+"?([^";\s]+)"?\s*;/;
  my ($dp) = $o =~ /default-port\s+(\d+)\s*;/;
  my ($dk) = $o =~ /default-key\s+"?([^";\s]+)"?\s*;/;
  $dk //= (keys %keys)[0] if keys %keys == 1;
  die "ctl: no key\n" unless defined $dk && $keys{$dk};
  my ($alg, $sec) = @{$keys{$dk}};
  $alg =~ s/^hmac-//;
  my %code = (sha1 => 161, sha224 => 162, sha256 => 163, sha384 => 164, sha512 => 165);
  die "ctl: algorithm $alg\n" unless $code{$alg};
  require Digest::SHA; require MIME::Base64;
  my $host = $server || $ds || "127.0.0.1";
  my $addr = $host =~ /^\d+\.\d+\.\d+\.\d+$/ ? pack("C4", split /\./, $host) : (gethostbyname($host))[4];
  die "ctl: $host: no IPv4 address\n" unless defined $addr && length $addr == 4;
  %dns_ctl = (alg => $alg, code => $code{$alg}, secret => MIME::Base64::decode_base64($sec), ser => int(rand(1 << 24)));
  # AF_INET, SOCK_STREAM and a sockaddr_in by hand: the Socket module
  # takes longer to load than the whole exchange
  socket($dns_ctl{sock}, 2, 1, 6) or die "ctl: socket: $!\n";
  dns_ctl_io("connect", sub { connect($dns_ctl{sock}, pack("S n a4 x8", 2, $port || $dp || 953, $addr)) or die "ctl: connect $host: $!\n" });
  $dns_ctl{nonce} = dns_ctl_call("null")->{_ctrl}{_nonce};
  return 1;
}
sub dns_ctl_ser {
  my ($d) = @_; my $o = "";
  for (my $i = 0; $i < @$d; $i += 2) {
    my ($k, $v) = ($d->[$i], $d->[$i + 1]);
    $v = dns_ctl_ser($v) if ref $v;
    $o .= pack("C", length $k) . $k . pack("CN", ref $d->[$i + 1] ? 2 : 1, length $v) . $v;
  }
  return $o;
}
sub dns_ctl_parse {
  my ($s) = @_; my %h;
  while (length $s) {
    my $kl = unpack("C", $s);
    my ($k, $ty, $len) = (substr($s, 1, $kl), unpack("CN", substr($s, 1 + $kl, 5)));
    my $v = substr($s, 6 + $kl, $len);
    $s = substr($s, 6 + $kl + $len);
    $h{$k} = $ty == 2 ? dns_ctl_parse($v) : $v;
  }
  return \%h;
}
sub dns_ctl_mac {
  no strict "refs";
  return MIME::Base64::encode_base64(&{"Digest::SHA::hmac_$dns_ctl{alg}"}($_[0], $dns_ctl{secret}), "");
}
sub dns_ctl_call {
  my ($cmd) = @_;
  my $now = time; $dns_ctl{ser}++;
  my @ctrl = (_ser => "$dns_ctl{ser}", _tim => "$now", _exp => "" . ($now + 60));
  push @ctrl, _nonce => $dns_ctl{nonce} if defined $dns_ctl{nonce};
  my @body = (_ctrl => \@ctrl, _data => [type => $cmd]);
  my $msg = dns_ctl_ser([_auth => [hsha => pack("C a88", $dns_ctl{code}, dns_ctl_mac(dns_ctl_ser(\@body)))], @body]);
  my $sock = $dns_ctl{sock};
  my $data = dns_ctl_io($cmd, sub {
    syswrite($sock, pack("NN", length($msg) + 4, 1) . $msg) or die "ctl: send: $!\n";
    my $in = "";
    while (length $in < 8 || length $in < 4 + unpack("N", $in)) {
      sysread($sock, $in, 65536, length $in) or die "ctl: the answer was cut short\n";
    }
    die "ctl: protocol version\n" unless unpack("N", substr($in, 4, 4)) == 1;
    return substr($in, 8);
  });
  # the answer is signed over what follows its _auth table
  my $al = unpack("C", $data);
  my $rest = substr($data, 1 + $al + 5 + unpack("N", substr($data, 2 + $al, 4)));
  my $r = dns_ctl_parse($data);
  my $got = $r->{_auth}{hsha} // "";
  (my $want = dns_ctl_mac($rest)) =~ s/=+$//;
  $got = substr($got, 1); $got =~ s/[=\0]+$//;
  die "ctl: the answer is not signed with the key\n" unless $got eq $want;
  return $r;
}
sub dns_ctl {
  my $d = dns_ctl_call($_[0])->{_data};
  die(($d->{err} // "error $d->{result}") . "\n") if $d->{result};
  return $d->{text} // "";
}
1;
`

// ctlFunctions are the unit's shell side of the control channel: dns_rndc
// ARGS... runs rndc ARGS through the channel when DOMAINS_RNDC is rndc with
// only -c, -k, -s and -p options, else (or when the channel fails) with the
// command. dns_ctl_start opens the channel early, without waiting;
// dns_ctl_ready waits for it.
var ctlFunctions = "dns_ctl_code=" + orchestration.Quote(ctlClient) + `
dns_ctl=
dns_ctl_start() {
  local -a a=("${dns_rndc[@]:1}") args=("" "" "" "")
  local i
  dns_ctl=no
  [[ ${dns_rndc[0]##*/} == rndc ]] || return 0
  for ((i = 0; i < ${#a[@]}; i += 2)); do
    case ${a[i]} in
      -c) args[0]=${a[i+1]-} ;;
      -k) args[1]=${a[i+1]-} ;;
      -s) args[2]=${a[i+1]-} ;;
      -p) args[3]=${a[i+1]-} ;;
      *) return 0 ;;
    esac
  done
  orchestra_perl_send "$dns_ctl_code"' dns_ctl_open(@ARGV)' "${args[@]}"
  dns_ctl=opening
}
# dns_ctl_ready: dns_ctl is open or no
dns_ctl_ready() {
  [[ -n $dns_ctl ]] || dns_ctl_start
  if [[ $dns_ctl == opening ]]; then
    if orchestra_perl_reply; then
      dns_ctl=open
    else
      dns_ctl=no
      printf 'orchestra: rndc runs for the control channel: %s' "${orchestra_perl_out#ctl: }" >&2
    fi
  fi
}
dns_ctl_run() {
  dns_ctl_ready
  if [[ $dns_ctl == open ]]; then
    if orchestra_perl 'dns_ctl(join " ", @ARGV)' "$@"; then
      [[ -z $orchestra_perl_out ]] || printf '%s\n' "$orchestra_perl_out"
      return 0
    fi
    if [[ $orchestra_perl_out != ctl:* ]]; then
      printf '%s' "$orchestra_perl_out" >&2
      return 1
    fi
    dns_ctl=no
    printf 'orchestra: rndc runs for the control channel: %s' "${orchestra_perl_out#ctl: }" >&2
  fi
  "${dns_rndc[@]}" "$@"
}
`
