package web

import (
	"fmt"
	"regexp"
	"strconv"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
)

// The traffic monitors of websites: one per web server backend, as the
// sites are (nginx-traffic beside nginx, apache-traffic beside apache),
// each reading the access logs its server writes for the websites:
// WEB_LOG_DIR/ID-NAME.BACKEND.access.log, in the "combined" format both
// write (vhost), one line per request, written when it ends.
//
// A monitor is a counter: for each website on the server it prints
// "<id> <bytes>", the sum of the size field (the one after the status; "-"
// is 0) of the lines whose time lies in the run's window [since, until),
// the time read with its zone offset. nginx's combined format counts the
// body's bytes ($body_bytes_sent), Debian's Apache the response's with its
// headers (%O). A website whose log is not there (not served by this
// server) prints nothing; one whose log has no line in the window, 0.
//
// Only the current log file is read: lines rotated away (logrotate's
// ACCESS.log.1 and older) before a run are not counted, so rotate right
// after a run, or measure often enough that little is lost. The lines'
// time is when nginx ended a request but when Apache received it (%t):
// an Apache request that is still running when a run reads (a long
// download) is not counted by the next run either, as its time lies
// before that run's window. Lines are not assumed to be in time order, so
// the whole file is read each run.
//
// The paths are the site backends' own (accessLog, from the server's
// WEB_LOG_DIR and the website's account id and name, never a path anyone
// gave), and are read by root: one perl per unit, given the folder and
// the file names, refuses the folder unless it and every folder above it
// are root's and not open to others (a sticky folder such as /tmp above
// it may be; the folder itself takes no group or other writes, as the
// site backends make it), so that no customer can plant a link in it; it
// opens each log without following a link (O_NOFOLLOW) and reads only a
// regular file. A refused log, or one holding a line not in the combined
// format (a server that writes another format, a line cut short), fails
// the unit, naming it and the first such line, and the unit stores
// nothing: no traffic is taken for zero, and as the next run's window
// starts where the last stored one ended, it is counted once the server is
// fixed. A visitor's request line and user name reach the log escaped
// (nginx: \x22, Apache: \"), so the time taken is the one before the
// first quote that is not escaped, whatever a visitor sent. A last line
// without its newline (one being written as the run reads) is not read.

func init() {
	for _, d := range daemons {
		resources.RegisterMonitor(resources.Monitor{Counter: true, Backend: &orchestration.Backend{
			Name: d.trafficMonitor(), Verbose: d.trafficVerbose(), Model: "Website", DefaultMatch: "true",
			Prepare: d.trafficPrepare, Apply: d.trafficApply, Commit: trafficCommit,
		}})
	}
}

// Monitor names, as resources name them.
const (
	NginxTrafficMonitor  = NginxBackend + "-traffic"
	ApacheTrafficMonitor = ApacheBackend + "-traffic"
)

func (d *daemon) trafficMonitor() string { return d.name + "-traffic" }

func (d *daemon) trafficVerbose() string {
	if d.name == NginxBackend {
		return "Website traffic (nginx access logs)"
	}
	return "Website traffic (Apache access logs)"
}

// accessLog is the file name, in WEB_LOG_DIR, of the access log d's server
// writes for the website named name (SiteName).
func (d *daemon) accessLog(name string) string { return name + "." + d.name + ".access.log" }

// unixTime is a window's end as Measure gives it.
var unixTime = regexp.MustCompile(`^[0-9]{1,15}$`)

func (d *daemon) trafficPrepare(s *orchestration.Script, srv orchestration.Server) {
	s.Var("web_traffic_dir", srv.Setting(SiteLogs.Name(), SiteLogs.Get()))
	s.Var("web_traffic_pl", trafficPerl)
	s.Raw("web_traffic_sites=()")
}

func (d *daemon) trafficApply(s *orchestration.Script, _ orchestration.Server, action string, o orchestration.Object) error {
	if action != resources.ActionMonitor {
		return fmt.Errorf("%s has no action %s", d.trafficMonitor(), action)
	}
	since, until := o.Args["since"], o.Args["until"]
	if !unixTime.MatchString(since) || !unixTime.MatchString(until) {
		return fmt.Errorf("the window [%q, %q) is not two Unix times", since, until)
	}
	s.Var("web_traffic_since", since)
	s.Var("web_traffic_until", until)
	s.Var("web_traffic_id", strconv.Itoa(o.ID))
	s.Var("web_traffic_log", d.accessLog(SiteName(o.Int("account_id"), o.String("name"))))
	s.Raw(`web_traffic_sites+=("$web_traffic_id" "$web_traffic_log")`)
	return nil
}

func trafficCommit(s *orchestration.Script, _ orchestration.Server) {
	s.Raw(`printf '%s\0' "${web_traffic_sites[@]}" |
  perl -e "$web_traffic_pl" -- "$web_traffic_dir" "$web_traffic_since" "$web_traffic_until"`)
}

// trafficPerl reads, on standard input, NUL-terminated pairs of a
// website's id and its log's file name, and prints "<id> <bytes>" for each
// log there is (see above). Arguments: the logs' folder, since, until.
const trafficPerl = `use strict;
use warnings;
use Cwd qw(realpath);
use Fcntl qw(O_RDONLY O_NOFOLLOW O_NONBLOCK);

my ($dir, $since, $until) = @ARGV;
my @sites = do { local $/ = "\0"; map { chomp; $_ } <STDIN> };
@sites % 2 == 0 or die "orchestra: the list of logs is cut short\n";

# the folder and every folder above it: root's, and no one else may put a
# name there (but in a sticky folder above it, such as /tmp)
my @st = lstat $dir;
if (!@st) {
  exit 0 if $!{ENOENT}; # no site was ever written here
  die "orchestra: $dir: $!\n";
}
-d _ or die "orchestra: $dir is no folder (a link?): its logs are refused\n";
my $real = realpath($dir) // die "orchestra: $dir: $!\n";
for (my $p = $real; ; $p =~ s{/[^/]*\z}{}) {
  my $q = $p eq '' ? '/' : $p;
  my @s = lstat $q or die "orchestra: $q: $!\n";
  my $open = $q eq $real ? ($s[2] & 022) : ($s[2] & 002) && !($s[2] & 01000);
  if ($s[4] != 0 || $open || !-d _) {
    die sprintf "orchestra: %s (owner %d, mode %04o) is not root's alone: the logs in %s are refused\n", $q, $s[4], $s[2] & 07777, $dir;
  }
  last if $q eq '/';
}

my %month;
@month{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (1 .. 12);
# the Unix time of a log's [DD/Mon/YYYY:HH:MM:SS +ZZZZ]
sub epoch {
  my ($d, $b, $y, $h, $mi, $s, $sign, $zh, $zm) = $_[0] =~ m{^([0-9]{2})/([A-Z][a-z]{2})/([0-9]{4}):([0-9]{2}):([0-9]{2}):([0-9]{2}) ([-+])([0-9]{2})([0-9]{2})\z} or return undef;
  my $m = $month{$b} // return undef;
  # days from 1970-01-01 (the proleptic Gregorian calendar)
  $y-- if $m <= 2;
  my $era = int($y / 400);
  my $yoe = $y - $era * 400;
  my $doy = int((153 * ($m > 2 ? $m - 3 : $m + 9) + 2) / 5) + $d - 1;
  my $doe = $yoe * 365 + int($yoe / 4) - int($yoe / 100) + $doy;
  my $days = $era * 146097 + $doe - 719468;
  my $off = ($zh * 60 + $zm) * 60;
  return $days * 86400 + $h * 3600 + $mi * 60 + $s - ($sign eq '-' ? -$off : $off);
}

# what precedes the request, the request, the status and the size; a
# quote in the user's name or the request is escaped (\" or \x22)
my $line = qr{^([^"\\]*+(?:\\.[^"\\]*+)*+)"[^"\\]*+(?:\\.[^"\\]*+)*+" [0-9]{3} ([0-9]++|-)(?: |\z)};
my $stamp = qr{\[([0-9]{2}/[A-Za-z]{3}/[0-9]{4}:[0-9]{2}:[0-9]{2}:[0-9]{2} [-+][0-9]{4})\] \z};
my $bad = 0;
my ($last, $lastt) = ('', undef);
while (my ($id, $name) = splice @sites, 0, 2) {
  ($id =~ /\A[0-9]+\z/ && $name =~ m{\A[^/]+\z} && $name ne '.' && $name ne '..') or die "orchestra: $name: not a log's name\n";
  my $path = "$real/$name";
  my $fh;
  if (!sysopen $fh, $path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK) {
    next if $!{ENOENT}; # the site is not served here
    warn "orchestra: $path: " . ($!{ELOOP} ? "a link: refused" : "$!") . "\n";
    $bad = 1;
    next;
  }
  if (!-f $fh) {
    warn "orchestra: $path is no regular file: refused\n";
    $bad = 1;
    next;
  }
  my ($sum, $skipped, $first) = (0, 0);
  local $/ = "\n";
  while (my $l = <$fh>) {
    chomp $l or last; # a line being written
    my ($pre, $bytes) = $l =~ $line;
    my ($time) = defined $pre ? $pre =~ $stamp : ();
    if (defined $time && $time ne $last) {
      $last = $time;
      $lastt = epoch($time);
    }
    if (!defined $time || !defined $lastt) {
      $first //= length $l > 200 ? substr($l, 0, 200) . "..." : $l;
      $skipped++;
      next;
    }
    $sum += $bytes if $bytes ne '-' && $lastt >= $since && $lastt < $until;
  }
  close $fh;
  if ($skipped) {
    $first =~ s/[^\x20-\x7e]/?/g;
    warn "orchestra: $path: lines not in the combined log format: $skipped (the first: $first)\n";
    $bad = 1;
    next;
  }
  printf "%s %.0f\n", $id, $sum;
}
exit $bad;
`
