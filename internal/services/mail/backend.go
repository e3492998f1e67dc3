package mail

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
	"github.com/orchestra-panel/orchestra/internal/store/ent"
	"github.com/orchestra-panel/orchestra/internal/store/ent/autoresponse"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailaddress"
	"github.com/orchestra-panel/orchestra/internal/store/ent/mailbox"
)

// The backends keep, per object, its line of each file in a table under
// the maps folder's .orchestra/ (root's alone: TABLE.tsv, lines
// "KEY<tab>LINE", KEY a mailbox's name or an address's id), change the
// unit's keys in one pass at its end, and assemble the files Postfix and
// Dovecot read from the tables: each file is regenerated whole and
// compared, so a unit costs one postmap per map that changed and one
// reload, whatever its size, and no file per object. A map is built beside
// the live one and renamed over it only once postmap took it.
const (
	MailboxBackend = "dovecot-mailbox"
	AddressBackend = "postfix-address"
)

// Settings of the mail servers (each can be overridden per server).
var (
	PostfixDir = settings.String("MAILBOXES_POSTFIX_DIR", "/etc/postfix",
		"Postfix's configuration folder on the mail server (postfix -c, postmap -c).")
	MapsDir = settings.String("MAILBOXES_MAPS_DIR", "/etc/postfix/orchestra",
		"Folder of the maps the panel writes (domains, aliases, mailboxes, senders); main.cf names them as hash: maps.")
	PasswdPath = settings.String("MAILBOXES_PASSWD_PATH", "/etc/dovecot/orchestra-users",
		"Dovecot's passwd-file of the mailboxes, on the mail server.")
	VmailDir = settings.String("MAILBOXES_VMAIL_DIR", "/var/vmail",
		"Folder of the mailboxes' homes (NAME/Maildir, NAME/sieve), owned by MAILBOXES_VMAIL_USER.")
	VmailUser = settings.String("MAILBOXES_VMAIL_USER", "mail",
		"The user that owns every mailbox's mail on the server (virtual users share it).")
	MailboxDomain = settings.String("MAILBOXES_MAILBOX_DOMAIN", "mailbox.invalid",
		"Pseudo-domain addresses deliver through (NAME@it), listed in Postfix's virtual_mailbox_domains.")
	DovecotConf = settings.String("MAILBOXES_DOVECOT_CONF", "/etc/dovecot/dovecot.conf",
		"Dovecot's configuration on the mail server (doveadm -c).")
	SieveDir = settings.String("MAILBOXES_SIEVE_DIR", "/etc/dovecot/orchestra-sieve",
		"Folder of the filtering presets' Sieve scripts on the mail server (root's, readable by the mail owner): a mailbox without a script of its own runs its preset's from there.",
		settings.Validator(func(v any) error {
			if p := v.(string); !strings.HasPrefix(p, "/") || strings.ContainsAny(p, " \t\r\n:") {
				return errors.New("an absolute path without spaces or colons")
			}
			return nil
		}))
	MoveOnDelete = settings.String("MAILBOXES_MOVE_ON_DELETE_PATH", "",
		"Folder deleted mailboxes' mail is moved to; empty removes it.")
)

// mailboxLoaded is what a mailbox's lines and script need beside its row.
type mailboxLoaded struct {
	active    bool // the mailbox and its account
	vacations []vacation
}

// addressLoaded is what an address's lines need beside its row.
type addressLoaded struct {
	address string   // name@domain, @domain for a catch-all
	boxes   []string // the names of the mailboxes it delivers into
}

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: MailboxBackend, Verbose: "Mailbox (Dovecot and Postfix)", Model: "Mailbox", DefaultMatch: "true",
		// an account's activation locks or unlocks its mailboxes
		Related: append([]orchestration.Related{{Model: "Account", Fields: []string{"is_active"},
			Resolve: func(ctx context.Context, tx *ent.Tx, o orchestration.Object) ([]int, error) {
				return tx.Mailbox.Query().Where(mailbox.AccountID(o.ID)).IDs(ctx)
			}}}, vacationsRelated...),
		LoadMany: loadMailboxes,
		Prepare:  prepare, Apply: applyMailbox, Commit: commitMailboxes,
		UnitScale: 10, // a unit's end rebuilds the passwd-file and maps whole and reloads
	})
	orchestration.Register(&orchestration.Backend{
		Name: AddressBackend, Verbose: "Mail address (Postfix)", Model: "MailAddress", DefaultMatch: "true",
		LoadMany: loadAddresses,
		Prepare:  prepare, Apply: applyAddress, Commit: commitAddresses,
		UnitScale: 10,
	})
}

// loadMailboxes reads whether each mailbox and its account are active, and
// the autoresponses it answers for (only in accounts that have any).
func loadMailboxes(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
	boxes, err := tx.Mailbox.Query().Where(mailbox.IDIn(ids(objs)...)).WithAccount().All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]*ent.Mailbox{}
	var accounts []int
	for _, b := range boxes {
		byID[b.ID] = b
		if !slices.Contains(accounts, b.AccountID) {
			accounts = append(accounts, b.AccountID)
		}
	}
	answering, err := tx.Autoresponse.Query().Where(autoresponse.AccountIDIn(accounts...), autoresponse.IsActive(true)).
		Unique(true).Select(autoresponse.FieldAccountID).Ints(ctx)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(objs))
	for i, o := range objs {
		b := byID[o.ID]
		if b == nil {
			errs[i] = fmt.Errorf("mailbox %d: %w", o.ID, &ent.NotFoundError{})
			continue
		}
		l := mailboxLoaded{active: b.IsActive && b.Edges.Account.IsActive}
		if slices.Contains(answering, b.AccountID) {
			if l.vacations, err = loadVacations(ctx, tx, b); err != nil {
				return nil, err
			}
		}
		o.Extra = l
	}
	return errs, nil
}

// loadAddresses reads each address's domain and the mailboxes it delivers into.
func loadAddresses(ctx context.Context, tx *ent.Tx, objs []*orchestration.Object) ([]error, error) {
	addrs, err := tx.MailAddress.Query().Where(mailaddress.IDIn(ids(objs)...)).WithDomain().
		WithMailboxes(func(q *ent.MailboxQuery) { q.Select(mailbox.FieldName) }).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[int]*ent.MailAddress{}
	for _, a := range addrs {
		byID[a.ID] = a
	}
	errs := make([]error, len(objs))
	for i, o := range objs {
		a := byID[o.ID]
		if a == nil {
			errs[i] = fmt.Errorf("mail address %d: %w", o.ID, &ent.NotFoundError{})
			continue
		}
		l := addressLoaded{address: display(a.Name, a.Edges.Domain.Name)}
		for _, b := range a.Edges.Mailboxes {
			l.boxes = append(l.boxes, b.Name)
		}
		slices.Sort(l.boxes)
		o.Extra = l
	}
	return errs, nil
}

func ids(objs []*orchestration.Object) []int {
	out := make([]int, len(objs))
	for i, o := range objs {
		out[i] = o.ID
	}
	return out
}

// prepare sets the unit's paths and functions.
func prepare(s *orchestration.Script, srv orchestration.Server) {
	s.Var("mail_postfix", srv.Setting(PostfixDir.Name(), PostfixDir.Get()))
	s.Var("mail_maps", srv.Setting(MapsDir.Name(), MapsDir.Get()))
	s.Var("mail_passwd", srv.Setting(PasswdPath.Name(), PasswdPath.Get()))
	s.Var("mail_vmail", srv.Setting(VmailDir.Name(), VmailDir.Get()))
	s.Var("mail_owner", srv.Setting(VmailUser.Name(), VmailUser.Get()))
	s.Var("mail_doveconf", srv.Setting(DovecotConf.Name(), DovecotConf.Get()))
	s.Var("mail_move", srv.Setting(MoveOnDelete.Name(), MoveOnDelete.Get()))
	s.Raw(mailFunctions)
}

// mailFunctions: the tables live in $mail_maps/.orchestra, which only
// root writes; a mailbox's home is worked on as the mail owner, so that a
// link in it leads nowhere the mail server could not write already.
const mailFunctions = `mail_uid=$(id -u -- "$mail_owner") && mail_gid=$(id -g -- "$mail_owner") || exit 1
[[ -d $mail_vmail ]] || install -d -o "$mail_owner" -g "$mail_owner" -m 0750 -- "$mail_vmail"
mail_frag="$mail_maps/.orchestra"
install -d -m 0700 -- "$mail_frag"
mail_reload=0
mail_folders=() mail_homes=() mail_last=
# mail_preset NAME SCRIPT: the preset's script, compiled, when it changed
mail_preset() {
  local f="$mail_sieve_dir/$1.sieve"
  [[ -d $mail_sieve_dir ]] || install -d -m 0755 -- "$mail_sieve_dir"
  if [[ ! -f $f || $(<"$f")$'\n' != "$2" || ! -f ${f%.sieve}.svbin ]]; then
    printf '%s' "$2" >"$f.new" && chmod 0644 -- "$f.new" && mv -f -- "$f.new" "$f"
    sievec -c "$mail_doveconf" "$f" || { echo "sievec refused the $1 preset" >&2; exit 1; }
  fi
}
# the unit's lines by table and key; an empty line takes the key out
declare -A mail_d_users=() mail_d_mailboxes=() mail_d_transport=() mail_d_aliases=() mail_d_senders=()
# mail_merge TABLE: the unit's lines replace the table's, in one pass
mail_merge() {
  local -n d="mail_d_$1"
  local t="$mail_frag/$1.tsv" k
  [[ -f $t ]] || : >"$t"
  (( ${#d[@]} )) || return 0
  for k in "${!d[@]}"; do printf '%s\t%s\n' "$k" "${d[$k]}"; done >"$t.delta"
  awk -F '\t' 'FNR == NR { new[$1] = $0; next }
    !($1 in new) { print }
    END { for (k in new) { l = new[k]; sub(/^[^\t]*\t/, "", l); if (l != "") print new[k] } }' "$t.delta" "$t" |
    LC_ALL=C sort -t $'\t' -k1,1 >"$t.new"
  mv -f -- "$t.new" "$t" && rm -f -- "$t.delta"
}
# mail_assemble TABLE FILE MODE: FILE becomes the sorted lines of TABLE;
# true when it changed (the new text is in FILE.new until then)
mail_assemble() {
  local new
  new=$(cut -f 2- -- "$mail_frag/$1.tsv" | LC_ALL=C sort)
  [[ -n $new ]] && new+=$'\n'
  if [[ -f $2 ]] && [[ $(<"$2")$'\n' == "$new" || ( -z $new && ! -s $2 ) ]]; then return 1; fi
  printf '%s' "$new" >"$2.new" && chmod "$3" "$2.new"
}
# mail_map NAME: assemble map NAME, postmap it beside the live one, put both in place
mail_map() {
  local f="$mail_maps/$1"
  if [[ ! -f $f.db ]] || mail_assemble "$1" "$f" 0644; then
    [[ -f $f.new ]] || : >"$f.new"
    postmap -c "$mail_postfix" "$f.new" || { echo "postmap refused the new $1 map; the old one keeps serving" >&2; exit 1; }
    mv -f -- "$f.new.db" "$f.db" && mv -f -- "$f.new" "$f"
    mail_reload=1
  fi
}
# a reload ends the queue manager, which may take a flush asked for at
# once and drop it as it exits; the next one starts only at its wakeup
# (minutes). So the flush waits (a few seconds at most) until the queue
# manager that ran before the reload is gone: master then starts a new one
# for it.
mail_qmgr_before() {
  local q
  q=$(postconf -c "$mail_postfix" -h queue_directory 2>/dev/null) || q=
  mail_master=$(cat -- "$q/pid/master.pid" 2>/dev/null | tr -d ' ') || mail_master=
  mail_qmgr=
  if [[ $mail_master =~ ^[0-9]+$ ]]; then mail_qmgr=$(pgrep -P "$mail_master" -x qmgr 2>/dev/null | head -1) || mail_qmgr=; fi
}
mail_qmgr_gone() {
  local try
  [[ -n ${mail_qmgr:-} ]] || return 0
  for (( try = 0; try < 100; try++ )); do
    kill -0 "$mail_qmgr" 2>/dev/null || return 0
    sleep 0.05
  done
}
# the panel writes maps only, each taken by postmap first: main.cf and
# master.cf are the server's, so no postfix check (a third of a second)
mail_reload_postfix() {
  if (( mail_reload )); then
    postfix -c "$mail_postfix" reload >/dev/null 2>&1 || postfix -c "$mail_postfix" status >/dev/null 2>&1 || true
  fi
}
`

// quotaRule is the userdb field of a mailbox's quota in MiB (none: 0).
func quotaRule(o orchestration.Object) string {
	q := DefaultQuota.Get()
	if v, ok := o.Snapshot["quota"]; ok && v != nil {
		q = o.Int("quota")
	}
	if q <= 0 {
		return ""
	}
	return "userdb_quota_rule=*:storage=" + strconv.Itoa(q) + "M"
}

func applyMailbox(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name := o.String("name")
	if !mailboxName.MatchString(name) {
		return fmt.Errorf("mail: %q is not a mailbox name", name) // a bad row, never user input
	}
	domain := srv.Setting(MailboxDomain.Name(), MailboxDomain.Get())
	s.Var("mail_name", name)
	if action == orchestration.ActionDelete {
		s.Raw(`mail_d_users[$mail_name]= mail_d_mailboxes[$mail_name]= mail_d_transport[$mail_name]=
home="$mail_vmail/$mail_name"
if [[ -d $home && ! -L $home ]]; then
  if [[ -n $mail_move ]]; then
    install -d -m 0700 -- "$mail_move" && mv -- "$home" "$mail_move/$mail_name.$(date +%Y%m%d%H%M%S)"
  else
    rm -rf -- "$home"
  fi
fi`)
		return nil
	}
	l, _ := o.Extra.(mailboxLoaded)
	active := l.active
	hash := o.String("password")
	// a preset's script is the server's, shared: such a mailbox has no file
	// of its own, and Dovecot makes its home when mail or a login comes
	preset := len(l.vacations) == 0 && o.String("filtering") != FilterCustom
	fields, sieve := []string{quotaRule(o)}, ""
	if preset {
		sieve = "file:" + srv.Setting(SieveDir.Name(), SieveDir.Get()) + "/" + o.String("filtering") + ".sieve"
		fields = append(fields, "userdb_sieve="+sieve)
	}
	s.Var("mail_sieve_field", sieve)
	if hash == "" || !active {
		fields = append(fields, "nologin=y", "reason=This mailbox is disabled.")
		hash = "*"
	} else {
		hash = "{SHA512-CRYPT}" + s.Secret(hash)
	}
	s.Var("mail_hash", hash)
	s.Var("mail_extra", strings.Join(slices.DeleteFunc(fields, func(f string) bool { return f == "" }), " "))
	// a disabled mailbox's mail is held in the queue until it is enabled,
	// or returned to its sender (an address that delivers into it is
	// accepted at RCPT whatever its target, so Postfix's transport decides)
	mapLine, transport := name+"@"+domain+" "+name, ""
	if !active {
		how := "retry:4.2.1"
		if srv.Setting(DisabledMail.Name(), DisabledMail.Get()) == DisabledBounce {
			how = "error:5.2.1"
		}
		transport = name + "@" + domain + " " + how + " This mailbox is disabled"
	}
	s.Var("mail_mapline", mapLine)
	s.Var("mail_transport", transport)
	s.Raw(`printf -v "mail_d_users[$mail_name]" '%s:%s:%s:%s::%s::%s' "$mail_name" "$mail_hash" "$mail_uid" "$mail_gid" "$mail_vmail/$mail_name" "$mail_extra"
mail_d_mailboxes[$mail_name]=$mail_mapline mail_d_transport[$mail_name]=$mail_transport
mail_last=$mail_name mail_last_sieve=$mail_sieve_field`)
	if !preset {
		script, custom := sieveOf(o, l.vacations)
		s.Var("mail_sieve", script)
		s.Var("mail_custom", custom)
		s.Raw(`mail_homes+=("$mail_name" "$mail_sieve" "$mail_custom")`)
	}
	for _, f := range foldersOf(o) {
		if folderProblem(f) != "" {
			continue // refused when saved; an older row is not trusted either
		}
		s.Var("mail_folder", f)
		s.Raw(`mail_folders+=("$mail_name" "$mail_folder")`)
	}
	return nil
}

func commitMailboxes(s *orchestration.Script, srv orchestration.Server) {
	// the presets' scripts, written and compiled (LMTP cannot write there)
	// when they changed
	s.Var("mail_sieve_dir", srv.Setting(SieveDir.Name(), SieveDir.Get()))
	for _, f := range Filterings {
		if f != FilterCustom {
			script, _ := sieveOf(orchestration.Object{Snapshot: map[string]any{"filtering": f}}, nil)
			s.Var("mail_preset", f)
			s.Var("mail_preset_script", script)
			s.Raw(`mail_preset "$mail_preset" "$mail_preset_script"`)
		}
	}
	// the homes of the unit's mailboxes that have a script of their own, in
	// one process run as the mail owner whatever their number: new folders
	// made at once, a script written only when it changed, the link to it
	// made once
	s.Raw(homesScript)
	// Dovecot reads the passwd-file again when its mtime (whole seconds) or
	// size changed: the new one is dated after the old one, whatever the clock
	s.Raw(`mail_merge users
mail_merge mailboxes
mail_merge transport
if mail_assemble users "$mail_passwd" 0640; then
  chgrp dovecot -- "$mail_passwd.new" 2>/dev/null || true
  mail_t=$(stat -c %Y -- "$mail_passwd" 2>/dev/null || echo 0) mail_now=$(date +%s)
  touch -d "@$(( mail_t >= mail_now ? mail_t + 1 : mail_now ))" -- "$mail_passwd.new"
  mv -f -- "$mail_passwd.new" "$mail_passwd"
  # Dovecot rereads it at most once a second: done once it serves the last
  # mailbox's new line, so that an applied mailbox takes mail and logins
  # at once, with its script
  if [[ -n $mail_last ]]; then
    for (( try = 0; try < 50; try++ )); do
      out=$(doveadm -c "$mail_doveconf" user -f sieve -- "$mail_last" 2>/dev/null) && [[ $out == "$mail_last_sieve" ]] && break
      sleep 0.05
    done
  fi
fi
mail_map mailboxes
# mail held for a mailbox enabled now is delivered now
mail_before=$mail_reload mail_reload=0
mail_map transport
mail_flush=$mail_reload mail_reload=$(( mail_reload | mail_before ))
if (( mail_flush )); then mail_qmgr_before; fi
mail_reload_postfix
if (( mail_flush )); then mail_qmgr_gone; postqueue -c "$mail_postfix" -f || true; fi
# the folders filters file into, once Dovecot knows the mailbox (it reads
# the passwd-file again at most once a second): one doveadm per folder name
# for every mailbox that files into it, whatever their number
declare -A mail_want=()
for (( i = 0; i < ${#mail_folders[@]}; i += 2 )); do mail_want["${mail_folders[i+1]}"]+="${mail_folders[i]}"$'\n'; done
for folder in "${!mail_want[@]}"; do
  users=${mail_want["$folder"]}
  for (( try = 0; ; try++ )); do
    printf '%s' "$users" >"$mail_frag/folder-users"
    out=$(doveadm -c "$mail_doveconf" mailbox create -s -F "$mail_frag/folder-users" -- "$folder" 2>&1) || true # what failed is read below
    users= bad=
    while IFS= read -r line; do
      case $line in
        *"Mailbox already exists"*|"") ;;
        "doveadm("*"): Info: User no longer exists"*|"doveadm("*"): "*"User doesn't exist"*) line=${line#doveadm\(}; users+=${line%%)*}$'\n' ;;
        *) bad+=$line$'\n' ;;
      esac
    done <<<"$out"
    [[ -z $bad ]] || { printf '%s' "$bad" >&2; exit 1; }
    [[ -n $users ]] || break
    (( try < 30 )) || { printf 'mailboxes unknown to Dovecot: %s\n' "${users//$'\n'/ }" >&2; exit 1; }
    sleep 0.1
  done
done`)
}

func applyAddress(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	s.Var("mail_id", strconv.Itoa(o.ID))
	if action == orchestration.ActionDelete {
		s.Raw(`mail_d_aliases[$mail_id]= mail_d_senders[$mail_id]=`)
		return nil
	}
	l, _ := o.Extra.(addressLoaded)
	domain := srv.Setting(MailboxDomain.Name(), MailboxDomain.Get())
	var dest []string
	for _, b := range l.boxes {
		dest = append(dest, b+"@"+domain)
	}
	for _, f := range forwardOf(o) {
		if !strings.Contains(f, "@") {
			f += "@" + domain // another account's mailbox, by name
		}
		dest = append(dest, f)
	}
	if strings.ContainsAny(l.address+strings.Join(dest, ""), " \t\r\n,") {
		return fmt.Errorf("mail: %q delivers to %q: not one map line", l.address, dest) // a bad row, never user input
	}
	alias, senders := "", ""
	if len(dest) > 0 {
		alias = l.address + " " + strings.Join(dest, ",")
	}
	if len(l.boxes) > 0 && !strings.HasPrefix(l.address, "@") {
		senders = l.address + " " + strings.Join(l.boxes, ",")
	}
	s.Var("mail_alias", alias)
	s.Var("mail_senders", senders)
	s.Raw(`mail_d_aliases[$mail_id]=$mail_alias mail_d_senders[$mail_id]=$mail_senders`)
	return nil
}

func commitAddresses(s *orchestration.Script, _ orchestration.Server) {
	s.Raw(`# the domains: those of the addresses
mail_merge aliases
mail_merge senders
cut -f 2- -- "$mail_frag/aliases.tsv" | awk '{ k = $1; sub(/.*@/, "", k); print k "\t" k " OK" }' | LC_ALL=C sort -u >"$mail_frag/domains.tsv"
mail_map domains
mail_map aliases
mail_map senders
mail_reload_postfix`)
}

// forwardOf reads an address's forwards from its snapshot.
func forwardOf(o orchestration.Object) []string {
	var out []string
	if l, ok := o.Snapshot["forward"].([]any); ok {
		for _, v := range l {
			if s, ok := v.(string); ok {
				out = append(out, s)
			}
		}
	}
	if l, ok := o.Snapshot["forward"].([]string); ok {
		out = append(out, l...)
	}
	return out
}

const homesScript = `if (( ${#mail_homes[@]} )); then
  printf '%s\0' "${mail_homes[@]}" | runuser -u "$mail_owner" -- bash -c '
    umask 077 && cd "$1" || exit 1
    names=() scripts=() customs=() new=()
    while IFS= read -r -d "" n && IFS= read -r -d "" s && IFS= read -r -d "" c; do
      names+=("$n"); scripts+=("$s"); customs+=("$c")
    done
    for n in "${names[@]}"; do [[ -d $n/Maildir && -d $n/sieve ]] || new+=("$n/Maildir" "$n/sieve"); done
    (( ${#new[@]} == 0 )) || mkdir -p -- "${new[@]}" || exit 1
    # put FILE TEXT: FILE holds TEXT; a file that changes is replaced whole
    put() {
      local cur=
      if [[ -f $1 ]]; then
        IFS= read -r -d "" cur <"$1"
        [[ $cur == "$2" ]] || { printf %s "$2" >"$1.new" && mv -f -- "$1.new" "$1"; }
      else
        printf %s "$2" >"$1"
      fi
    }
    links=()
    for i in "${!names[@]}"; do
      n=${names[i]}
      [[ -z ${customs[i]} ]] || put "$n/sieve/custom.sieve" "${customs[i]}" || exit 1
      put "$n/sieve/orchestra.sieve" "${scripts[i]}" || exit 1
      [[ -L $n/.dovecot.sieve ]] || links+=("$n/.dovecot.sieve")
    done
    # the new homes links to their script, in one process (ln is one per link)
    (( ${#links[@]} == 0 )) || if command -v perl >/dev/null; then
      perl -e "for (@ARGV) { symlink q(sieve/orchestra.sieve), \$_ or die qq(\$_: \$!\n) }" -- "${links[@]}" || exit 1
    else
      for l in "${links[@]}"; do ln -s sieve/orchestra.sieve "$l" || exit 1; done
    fi' mail "$mail_vmail" || exit 1
fi`
