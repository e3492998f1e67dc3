package mail

import (
	"context"
	"fmt"
	"strconv"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/services/resources"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailbox"
)

// The mailboxes' monitors, routed like the mailbox backend (they run where
// the mailboxes are):
//
//   - dovecot-mailbox-disk (a gauge): the storage each mailbox takes as
//     Dovecot's quota counts it, the count its quota is enforced against
//     (doveadm quota get, in KiB, rounded up by Dovecot: the bytes printed
//     are a multiple of 1024). One doveadm for the whole unit; a mailbox
//     Dovecot does not know prints nothing.
//   - postfix-mailbox-traffic (a counter): the bytes of the mail each
//     mailbox received (each message delivered into it, at its delivery)
//     and sent (each message it submitted logged in, when the queue took
//     it) in the window [since, until), from Postfix's log. A mailbox of
//     the server with no mail in the window prints 0.
const (
	DiskMonitor    = "dovecot-mailbox-disk"
	TrafficMonitor = "postfix-mailbox-traffic"
)

// PostfixLog is where the traffic monitor reads Postfix's log.
var PostfixLog = settings.String("MAILBOXES_POSTFIX_LOG", "/var/log/mail.log",
	"Postfix's log on the mail server, which the mailbox traffic monitor reads (and FILE.1, the last rotated one, while it is not compressed).")

// MailboxQuota is the mailbox quota (MiB) as the allocation of the
// resources of mailboxes: what staff allocate becomes the quota Dovecot
// enforces, through the store, so that the mailbox backend applies it and
// the change is in the mailbox's history. A quota of 0 is none, and
// Dovecot cannot enforce one of 0 bytes: a quota that is unset or 0 is no
// allocation (the resource's default applies), and an allocation of 0
// becomes the smallest quota, 1 MiB.
var MailboxQuota = resources.Allocation{Model: "Mailbox", Unit: 1 << 20,
	Get: func(ctx context.Context, tx *ent.Tx, id int) (*int, error) {
		b, err := tx.Mailbox.Query().Where(mailbox.ID(id)).Select(mailbox.FieldQuota).Only(ctx)
		if ent.IsNotFound(err) {
			return nil, nil // deleted meanwhile
		}
		if err != nil || b.Quota == nil || *b.Quota <= 0 {
			return nil, err
		}
		q := *b.Quota
		return &q, nil
	},
	Set: func(ctx context.Context, tx *ent.Tx, id int, v *int) error {
		u := tx.Mailbox.UpdateOneID(id)
		if v == nil {
			return u.ClearQuota().Exec(ctx)
		}
		return u.SetQuota(max(*v, 1)).Exec(ctx)
	}}

func init() {
	resources.RegisterAllocation(MailboxQuota)
	resources.RegisterMonitor(resources.Monitor{Backend: &orchestration.Backend{
		Name: DiskMonitor, Verbose: "Mailbox disk (Dovecot quota)", Model: "Mailbox", DefaultMatch: "true",
		UnitScale: 20, // one doveadm per unit, whatever its size
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("mon_doveconf", srv.Setting(DovecotConf.Name(), DovecotConf.Get()))
			s.Raw(`mon_names=() mon_pairs=()`)
		},
		Apply: monitorApply(false),
		Commit: func(s *orchestration.Script, _ orchestration.Server) {
			s.Raw(diskScript)
		},
	}})
	resources.RegisterMonitor(resources.Monitor{Counter: true, Backend: &orchestration.Backend{
		Name: TrafficMonitor, Verbose: "Mailbox traffic (Postfix log)", Model: "Mailbox", DefaultMatch: "true",
		UnitScale: 20, // one pass over the log per unit
		Prepare: func(s *orchestration.Script, srv orchestration.Server) {
			s.Var("mon_log", srv.Setting(PostfixLog.Name(), PostfixLog.Get()))
			s.Var("mon_passwd", srv.Setting(PasswdPath.Name(), PasswdPath.Get()))
			s.Var("mon_domain", srv.Setting(MailboxDomain.Name(), MailboxDomain.Get()))
			s.Raw(`mon_names=() mon_pairs=()`)
		},
		Apply: monitorApply(true),
		Commit: func(s *orchestration.Script, _ orchestration.Server) {
			s.Raw(trafficScript)
		},
	}})
}

// monitorApply adds a mailbox to the unit's list (its name, the login
// Dovecot and Postfix know it by, and its id); a counter's also sets its
// window.
func monitorApply(counter bool) func(*orchestration.Script, orchestration.Server, string, orchestration.Object) error {
	return func(s *orchestration.Script, _ orchestration.Server, _ string, o orchestration.Object) error {
		name := o.String("name")
		if !mailboxName.MatchString(name) {
			return fmt.Errorf("mail: %q is not a mailbox name", name) // a bad row, never user input
		}
		if counter {
			since, err1 := strconv.ParseInt(o.Args["since"], 10, 64)
			until, err2 := strconv.ParseInt(o.Args["until"], 10, 64)
			if err1 != nil || err2 != nil || since < 0 || until < since {
				return fmt.Errorf("mail: the window %q to %q is not one of Unix times", o.Args["since"], o.Args["until"])
			}
			s.Var("mon_since", strconv.FormatInt(since, 10))
			s.Var("mon_until", strconv.FormatInt(until, 10))
		}
		s.Var("mon_name", name)
		s.Var("mon_id", strconv.Itoa(o.ID))
		s.Raw(`mon_names+=("$mon_name") mon_pairs+=("$mon_name" "$mon_id")`)
		return nil
	}
}

// diskScript: doveadm reads the unit's names on its standard input (-F -)
// and prints, per user and quota root, "user, root, type, value, limit, %"
// (-f tab); a user it does not know is skipped (said on standard error).
// The first root's STORAGE is in KiB. doveadm works on each mailbox as its
// user (the mail owner), never as root; a mailbox it cannot read (exit 75,
// said on standard error) prints nothing and the others are measured. awk reads the unit's "w NAME ID"
// lines first, then doveadm's (six fields).
const diskScript = `if (( ${#mon_names[@]} )); then
  mon_rc=0
  mon_out=$(printf '%s\n' "${mon_names[@]}" | doveadm -c "$mon_doveconf" -f tab quota get -F -) || mon_rc=$?
  # 75: some mailbox could not be read (a link its owner planted); the
  # others are measured, that one prints nothing
  if (( mon_rc != 0 && mon_rc != 75 )); then exit "$mon_rc"; fi
  { printf 'w\t%s\t%s\n' "${mon_pairs[@]}"; printf '%s\n' "$mon_out"; } | awk -F '\t' '
    $1 == "w" && NF == 3 { id[$2] = $3; next }
    $3 == "STORAGE" && ($1 in id) && !($1 in seen) && $4 ~ /^[0-9]+$/ { seen[$1] = 1; printf "%s %.0f\n", id[$1], $4 * 1024 }'
fi`

// trafficScript reads the log (after FILE.1 when that was written in the
// window: the rest of a log rotated since the last run; older rotations,
// compressed, are not read, so a window longer than the rotation period
// loses their part) and joins Postfix's lines by queue id:
//
//	QID: client=HOST[ADDR], sasl_method=M, sasl_username=NAME   (smtpd)
//	QID: from=<...>, size=N, nrcpt=K (queue active)             (qmgr)
//	QID: to=<NAME@MAILBOX_DOMAIN>, ..., status=sent (...)        (lmtp, virtual)
//	QID: removed                                                (qmgr)
//
// A delivery to NAME@MAILBOX_DOMAIN (the address every address of the
// mailbox is rewritten to) adds N to NAME at its line's time; a message
// NAME submitted adds N to NAME when the queue first takes it. A queue id
// is forgotten when its message is removed (ids are reused). Only the
// parts Postfix writes itself are read: the size is the end of its line,
// the status the last one of its line (addresses and the original
// recipient, which senders choose, come before). Lines of other programs
// (Dovecot's, in the same file) are skipped.
//
// Times: RFC 3339 timestamps (rsyslog's default since Debian 12) are
// compared as Unix times; classic ones ("Mon DD HH:MM:SS", no year, the
// server's local time, as Postfix's own maillog_file writes them) as local
// times with the year of the window's end, the previous one for a later
// day of the year; so within the hour repeated when summer time ends, a
// classic line may count in the wrong window.
const trafficScript = `if (( ${#mon_names[@]} )); then
  [[ -f $mon_log ]] || { printf 'no Postfix log at %s\n' "$mon_log" >&2; exit 1; }
  mon_files=()
  if [[ -f $mon_log.1 ]] && (( $(stat -c %Y -- "$mon_log.1") >= mon_since )); then mon_files+=("$mon_log.1"); fi
  mon_files+=("$mon_log")
  mon_since_key=$(date -d "@$mon_since" +%Y%m%d%H%M%S)
  mon_until_key=$(date -d "@$mon_until" +%Y%m%d%H%M%S)
  { printf 'w %s %s\n' "${mon_pairs[@]}"; if [[ -f $mon_passwd ]]; then awk -F : '{ print "p " $1 }' "$mon_passwd"; fi; } |
    MON_SINCE=$mon_since MON_UNTIL=$mon_until MON_SINCE_KEY=$mon_since_key MON_UNTIL_KEY=$mon_until_key MON_DOMAIN=$mon_domain \
    awk '
    function days(y, m, d) { # from 1970-01-01
      if (m <= 2) { y--; m += 12 }
      return 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + d - 719469
    }
    BEGIN {
      since = ENVIRON["MON_SINCE"] + 0; until = ENVIRON["MON_UNTIL"] + 0
      skey = ENVIRON["MON_SINCE_KEY"] + 0; ukey = ENVIRON["MON_UNTIL_KEY"] + 0
      uyear = int(ukey / 10000000000); umd = int(ukey / 1000000) % 10000
      dom = "@" tolower(ENVIRON["MON_DOMAIN"])
      split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mn, " ")
      for (i = 1; i <= 12; i++) month[mn[i]] = i
    }
    # the unit (standard input): "w NAME ID" wanted, "p NAME" on this server
    FNR == NR { if ($1 == "w") want[$2] = $3; else if ($1 == "p") present[$2] = 1; next }
    {
      if ($1 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]/) {
        z = substr($1, 20); sub(/^[.,][0-9]*/, "", z)
        if (z == "Z" || z == "z") off = 0
        else if (z ~ /^[-+][0-9][0-9]:?[0-9][0-9]$/) {
          off = (substr(z, 2, 2) * 60 + substr(z, length(z) - 1, 2)) * 60
          if (substr(z, 1, 1) == "-") off = -off
        } else next
        t = days(substr($1, 1, 4) + 0, substr($1, 6, 2) + 0, substr($1, 9, 2) + 0) * 86400 + substr($1, 12, 2) * 3600 + substr($1, 15, 2) * 60 + substr($1, 18, 2) - off
        inwin = t >= since && t < until
        tag = $3
      } else if (($1 in month) && $2 ~ /^[0-9][0-9]?$/ && $3 ~ /^[0-9][0-9]:[0-9][0-9]:[0-9][0-9]$/) {
        m = month[$1]; y = uyear
        if (m * 100 + $2 > umd) y--
        key = ((y * 100 + m) * 100 + $2) * 1000000 + substr($3, 1, 2) * 10000 + substr($3, 4, 2) * 100 + substr($3, 7, 2)
        inwin = key >= skey && key < ukey
        tag = $5
      } else next
      if (tag !~ /postfix.*\[[0-9]+\]:$/) next
      msg = substr($0, index($0, tag) + length(tag) + 1)
      if (msg !~ /^[0-9A-Za-z]+: /) next
      q = substr(msg, 1, index(msg, ":") - 1)
      b = substr(msg, length(q) + 3)
      if (b ~ /^client=/) {
        delete sasl[q]
        if (match(b, /, sasl_username=[^,]+/)) sasl[q] = tolower(substr(b, RSTART + 16, RLENGTH - 16))
      } else if (b ~ /^uid=/) {
        delete sasl[q]
      } else if (b ~ /^from=</ && match(b, /, size=[0-9]+, nrcpt=[0-9]+ \(queue active\)$/)) {
        size[q] = substr(b, RSTART + 7) + 0
        if (q in sasl) {
          u = sasl[q]; delete sasl[q]
          if (inwin && (u in want)) bytes[u] += size[q]
        }
      } else if (b ~ /^to=</) {
        if (!inwin || !(q in size)) next
        n = split(b, parts, ", status=")
        if (n < 2 || parts[n] !~ /^sent /) next
        a = tolower(substr(b, 5, index(b, ">") - 5)); l = length(a) - length(dom)
        if (l > 0 && substr(a, l + 1) == dom && (substr(a, 1, l) in want)) bytes[substr(a, 1, l)] += size[q]
      } else if (b == "removed") {
        delete size[q]; delete sasl[q]
      }
    }
    END { for (u in want) if (u in present) printf "%s %.0f\n", want[u], bytes[u] + 0 }' - "${mon_files[@]}"
fi`
