package mail

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
	"github.com/orchestra-panel/orchestra/internal/settings"
)

// DKIMBackend writes the DKIM keys rspamd signs with: each key to
// MAILBOXES_DKIM_DIR/DOMAIN.SELECTOR.key, and the selectors file, "DOMAIN
// SELECTOR" for each domain's signing key, assembled whole from one
// fragment per key (as the Postfix maps are). rspamd's dkim_signing reads
// both at every message it signs: no reload.
const DKIMBackend = "rspamd-dkim"

// Settings of the DKIM signer (each can be overridden per server).
var (
	DKIMDir = settings.String("MAILBOXES_DKIM_DIR", "/var/lib/rspamd/dkim",
		"Folder of the DKIM keys (DOMAIN.SELECTOR.key) and the selectors file rspamd's dkim_signing reads; root's, readable by MAILBOXES_DKIM_GROUP.")
	DKIMGroup = settings.String("MAILBOXES_DKIM_GROUP", "_rspamd",
		"Group the DKIM keys are readable by (rspamd's: _rspamd on Debian).")
)

func init() {
	orchestration.Register(&orchestration.Backend{
		Name: DKIMBackend, Verbose: "DKIM key (rspamd)", Model: "DKIMKey", DefaultMatch: "true",
		Prepare: prepareDKIM, Apply: applyDKIM, Commit: commitDKIM,
	})
}

func prepareDKIM(s *orchestration.Script, srv orchestration.Server) {
	s.Var("dkim_dir", srv.Setting(DKIMDir.Name(), DKIMDir.Get()))
	s.Var("dkim_group", srv.Setting(DKIMGroup.Name(), DKIMGroup.Get()))
	s.Raw(dkimFunctions)
}

// dkimFunctions: the DKIM folder is root's, readable by rspamd's group and
// writable by root alone (the unit refuses one that is not), so nobody can
// plant a link in it. Even so a file there is never written through its
// name: a new one is made beside it (mktemp: a fresh name, created
// exclusively) and renamed over it, and a rename replaces a link, never
// follows it. The fragments live in .orchestra/, root's alone.
const dkimFunctions = `getent group "$dkim_group" >/dev/null || { echo "no group $dkim_group on this server (MAILBOXES_DKIM_GROUP)" >&2; exit 1; }
[[ -d $dkim_dir ]] || install -d -m 0750 -g "$dkim_group" -- "$dkim_dir" || exit 1
dkim_who=$(stat -L -c '%u %a' -- "$dkim_dir") || exit 1
if [[ ${dkim_who% *} != 0 ]] || (( 8#${dkim_who#* } & 8#022 )); then
  echo "$dkim_dir must be root's and writable by root alone (it is $dkim_who)" >&2; exit 1
fi
dkim_frag="$dkim_dir/.orchestra"
[[ ! -L $dkim_frag ]] || { echo "$dkim_frag is a link" >&2; exit 1; }
install -d -m 0700 -- "$dkim_frag" || exit 1
# dkim_put NAME TEXT: $dkim_dir/NAME holds TEXT, 0640 root:$dkim_group; a
# file that changes is replaced whole, dated after the one it replaces
# (rspamd reads a key again only once its mtime, in whole seconds, is later)
dkim_put() {
  local f="$dkim_dir/$1" cur= tmp t now
  if [[ -f $f && ! -L $f ]]; then
    IFS= read -r -d '' cur <"$f" || true # it reads to the end
    [[ $cur != "$2" ]] || return 0
  fi
  tmp=$(mktemp -- "$dkim_dir/.orchestra-new.XXXXXXXX") || return 1
  if ! { printf '%s' "$2" >"$tmp" && chgrp -- "$dkim_group" "$tmp" && chmod 0640 -- "$tmp"; }; then
    rm -f -- "$tmp"; return 1
  fi
  if [[ -e $f || -L $f ]]; then
    t=$(stat -c %Y -- "$f" 2>/dev/null || echo 0) now=$(date +%s)
    touch -d "@$(( t >= now ? t + 1 : now ))" -- "$tmp"
  fi
  mv -fT -- "$tmp" "$f"
}`

func applyDKIM(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name, selector := o.String("name"), o.String("selector")
	dom, ok := strings.CutPrefix(name, selector+"._domainkey.")
	// never a path: a host name and a selector of letters, digits and -
	// make DOMAIN.SELECTOR.key, with no / and no leading dot
	if !ok || !selectorName.MatchString(selector) || !mailHost.MatchString(dom) {
		return fmt.Errorf("mail: %q is not a DKIM key's name", name) // a bad row, never user input
	}
	s.Var("dkim_id", strconv.Itoa(o.ID))
	s.Var("dkim_file", dom+"."+selector+".key")
	if action == orchestration.ActionDelete {
		s.Raw(`rm -f -- "$dkim_dir/$dkim_file" "$dkim_frag/$dkim_id"`)
		return nil
	}
	key, err := openKey(o.String("private_key"))
	if err != nil {
		return fmt.Errorf("mail: the DKIM key %s: %w", name, err)
	}
	s.Var("dkim_key", s.Secret(key))
	line := ""
	if o.Snapshot["retired_at"] == nil { // it signs
		line = dom + " " + selector + "\n"
	}
	s.Var("dkim_line", line)
	s.Raw(`dkim_put "$dkim_file" "$dkim_key" || exit 1
printf '%s' "$dkim_line" >"$dkim_frag/$dkim_id"`)
	return nil
}

// commitDKIM assembles the selectors file: the signing key of each domain.
func commitDKIM(s *orchestration.Script, _ orchestration.Server) {
	s.Raw(`dkim_sel=$(find "$dkim_frag" -maxdepth 1 -type f -name '[0-9]*' -exec cat -- {} + | LC_ALL=C sort)
[[ -z $dkim_sel ]] || dkim_sel+=$'\n'
dkim_put selectors "$dkim_sel" || exit 1`)
}
