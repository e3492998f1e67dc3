package dns

import (
	"context"
	"fmt"
	"strings"

	"github.com/orchestra-panel/orchestra/internal/orchestration"
)

// What a unit of the bind9 backends runs. Apply only says what each zone
// is to be (dns_zone, dns_forget; the last word on a name wins, however
// many operations of it the unit carries), and Commit does the work once,
// for the zones that changed:
//
//   - the master loads each changed zone file with named-checkconf -z
//     before it is put in place (all of them in one process; one by one
//     only to tell which failed); a zone that does not load stays as it
//     was on the server, the others go ahead, and the unit fails naming
//     it;
//   - named reloads just the changed zones (rndc reload <zone>), and its
//     configuration (rndc reconfig) when zones come or go or a statement
//     changes; more than reloadAll changed zones make one rndc reload;
//   - what is still to be loaded is noted on the server until named has
//     it, so that a unit cut off between the files and rndc is made good
//     by the next one.
//
// Zone files are <name>.zone: whatever the directories (the default puts
// them beside the statements), a zone file is never taken for a statement
// (example.com.conf is a domain too) nor for the files named keeps beside
// a zone (<file>.jnl, <file>.signed).

type paths struct{ zones, conf, named, slaveZones string }

func pathsOf(srv orchestration.Server) paths {
	return paths{
		zones:      srv.Setting("DOMAINS_ZONES_DIR", ZonesDir.Get()),
		conf:       srv.Setting("DOMAINS_CONF_DIR", ConfDir.Get()),
		named:      srv.Setting("DOMAINS_NAMED_CONF", NamedConf.Get()),
		slaveZones: srv.Setting("DOMAINS_SLAVE_ZONES_DIR", SlaveZonesDir.Get()),
	}
}

// zoneFile is the name of a zone's file in its directory.
func zoneFile(name string) string { return name + ".zone" }

func prepare(slave bool) func(s *orchestration.Script, srv orchestration.Server) {
	return func(s *orchestration.Script, srv orchestration.Server) {
		p := pathsOf(srv)
		s.Var("conf", p.conf)
		s.Var("named_conf", p.named)
		s.Var("rndc", srv.Setting("DOMAINS_RNDC", Rndc.Get()))
		if slave {
			s.Var("zones", p.slaveZones)
			s.Var("checkconf", "")
		} else {
			s.Var("zones", p.zones)
			s.Var("checkconf", srv.Setting("DOMAINS_CHECKCONF", CheckConf.Get()))
		}
		s.Raw(zoneFunctions)
		s.Raw(ctlFunctions)
	}
}

// reloadAll is how many changed zones make one rndc reload of the whole
// server rather than one rndc reload per zone.
const reloadAll = 20

// zoneFunctions define the unit's shell functions; settings are in conf,
// named_conf, zones, rndc and checkconf (empty: no zone files).
var zoneFunctions = strings.ReplaceAll(`read -r -a dns_rndc <<<"$rndc"
read -r -a dns_checkconf <<<"$checkconf"
dns_names=()
declare -A dns_action=() dns_stmt=() dns_text=()
# the unit's own files live in conf, which only root writes: named writes
# in the zone directories (slave zones, journals, signed zones), and a link
# it planted there would be followed by a redirection
dns_pending="$conf/.orchestra-pending"
[[ -d $conf/zones && -d $zones ]] || install -d -m 0755 -- "$conf/zones" "$zones"
[[ -z $checkconf || -d $conf/.orchestra-check ]] || install -d -m 0700 -- "$conf/.orchestra-check"
# dns_zone NAME STATEMENT [ZONE-FILE]: NAME is served so
dns_zone() {
  [[ -v 'dns_action[$1]' ]] || dns_names+=("$1")
  dns_action[$1]=zone
  dns_stmt[$1]=$2
  dns_text[$1]=${3-}
}
# dns_forget NAME: NAME is no zone of its own (deleted, or now a subdomain)
dns_forget() {
  [[ -v 'dns_action[$1]' ]] || dns_names+=("$1")
  dns_action[$1]=forget
}
# dns_same FILE TEXT: FILE holds TEXT, byte for byte
dns_same() {
  local cur
  [[ -f $1 ]] && ! IFS= read -r -d '' cur <"$1" && [[ $cur == "$2" ]]
}
# dns_check NAME...: loads the zones' candidate files (dns_file) as named
# will; those that do not load go into dns_refused, named's words to stderr
dns_check() {
  local name out f="$conf/.orchestra-check/check.conf"
  local -a stmts=()
  for name in "$@"; do
    stmts+=("zone \"$name\" { type master; file \"${dns_file[$name]}\"; };")
  done
  [[ ! -L $f ]] || rm -f -- "$f"
  printf '%s\n' "${stmts[@]}" >|"$f"
  if out=$("${dns_checkconf[@]}" -z "$f" 2>&1); then
    return 0
  fi
  if (( $# > 1 )); then
    for name in "$@"; do dns_check "$name"; done
    return 0
  fi
  out=$(printf '%s\n' "$out" | grep -v 'loaded serial' || true)
  printf 'orchestra: zone %s not put in place, it does not load:\n%s\n' "$1" "${out//"${dns_file[$1]}"/"$zones/$1.zone"}" >&2
  dns_refused[$1]=1
}
# dns_reload ZONE: named reloads ZONE. Without the control channel rndc's
# answer is read as it comes (line-buffered by stdbuf) and rndc left to
# exit: it spends 10 ms more tearing down after it. Any other answer than a
# reload's waits for its status.
dns_reload() {
  local fd line pid
  dns_ctl_ready
  if [[ $dns_ctl == open ]] || ! command -v stdbuf >/dev/null; then
    dns_ctl_run reload "$1"
    return
  fi
  exec {fd}< <(exec stdbuf -oL "${dns_rndc[@]}" reload "$1" </dev/null 2>&1)
  pid=$!
  if IFS= read -r line <&"$fd" && [[ $line == "zone reload "@(queued|up-to-date|successful) ]]; then
    exec {fd}<&-
    printf '%s\n' "$line"
    return 0
  fi
  [[ -z $line ]] || printf '%s\n' "$line" >&2
  while IFS= read -r line <&"$fd"; do printf '%s\n' "$line" >&2; done
  exec {fd}<&-
  wait "$pid"
}
# dns_index: the index lists every statement and named.conf includes it;
# sets reconfig when either changes
dns_index() {
  local cur="" f text="" name line need=0
  local -a index=()
  [[ ! -f $conf/index.conf ]] || { IFS= read -r -d '' cur <"$conf/index.conf" || true; }
  if [[ ! -f $conf/index.conf ]] || (( ${#dns_names[@]} > RELOAD_ALL )); then
    need=1
  else
    for name in "${dns_names[@]}"; do
      line="include \"$conf/zones/$name.conf\";"
      if [[ -e $conf/zones/$name.conf ]]; then
        [[ $cur == *"$line"* ]] || need=1
      else
        [[ $cur != *"$line"* ]] || need=1
      fi
    done
  fi
  if (( need )); then
    for f in "$conf"/zones/*.conf; do
      [[ ! -e $f ]] || index+=("include \"$f\";")
    done
    (( ! ${#index[@]} )) || printf -v text '%s\n' "${index[@]}"
    if [[ ! -f $conf/index.conf || $text != "$cur" ]]; then
      orchestra_write "$conf/index.conf" 0644 "$text"
      orchestra_flush
      reconfig=1
    fi
  fi
  line="include \"$conf/index.conf\";"
  cur=""
  [[ ! -f $named_conf ]] || { IFS= read -r -d '' cur <"$named_conf" || true; }
  if [[ $'\n'$cur$'\n' != *$'\n'"$line"$'\n'* ]]; then
    [[ -z $cur || $cur == *$'\n' ]] || line=$'\n'$line
    printf '%s\n' "$line" >>"$named_conf"
    reconfig=1
  fi
}
# dns_commit: puts the zones in place and has named load them
dns_commit() {
  local - name line f i=0 reconfig=0
  local -a check=() reload=() gone=() note=()
  local -A dns_file=() dns_refused=() reloading=()
  set -C
  # what an earlier unit put in place but named may not have loaded
  if [[ -s $dns_pending ]]; then
    while IFS= read -r line; do
      if [[ $line == . ]]; then
        reconfig=1
      elif [[ -e $conf/zones/$line.conf && ! -v 'reloading[$line]' ]]; then
        reload+=("$line")
        reloading[$line]=1
      fi
    done <"$dns_pending"
  fi
  if (( ${#dns_checkconf[@]} )); then
    for name in "${dns_names[@]}"; do
      [[ ${dns_action[$name]} == zone ]] && ! dns_same "$zones/$name.zone" "${dns_text[$name]}" || continue
      f="$conf/.orchestra-check/$((i++))"
      [[ ! -L $f ]] || rm -f -- "$f"
      printf '%s' "${dns_text[$name]}" >|"$f"
      dns_file[$name]=$f
      check+=("$name")
    done
    if (( ${#check[@]} )); then
      orchestra_start_mv # perl starts, and opens the control channel, while named-checkconf runs
      dns_ctl_start
      dns_check "${check[@]}"
      # emptied, not removed (one process less a unit), but for big batches
      if (( ${#check[@]} > RELOAD_ALL )); then
        rm -f -- "$conf/.orchestra-check/"*
      else
        for name in "${check[@]}"; do : >|"${dns_file[$name]}"; done
        : >|"$conf/.orchestra-check/check.conf"
      fi
    fi
  fi
  for name in "${dns_names[@]}"; do
    f="$zones/$name.zone"
    if [[ ${dns_action[$name]} == forget ]]; then
      if [[ -e $conf/zones/$name.conf || -e $f ]]; then
        gone+=("$conf/zones/$name.conf" "$f" "$f.jnl" "$f.signed" "$f.signed.jnl")
        reconfig=1
      fi
      continue
    fi
    [[ ! -v 'dns_refused[$name]' ]] || continue
    if [[ -v 'dns_file[$name]' ]]; then
      orchestra_write "$f" 0644 "${dns_text[$name]}"
      # a known zone is reloaded; reconfig loads a new one
      if [[ -e $conf/zones/$name.conf && ! -v 'reloading[$name]' ]]; then
        reload+=("$name")
        reloading[$name]=1
      fi
    fi
    if ! dns_same "$conf/zones/$name.conf" "${dns_stmt[$name]}"; then
      orchestra_write "$conf/zones/$name.conf" 0644 "${dns_stmt[$name]}"
      reconfig=1
    fi
  done
  if (( reconfig || ${#reload[@]} )); then
    (( ! reconfig )) || note=(.)
    printf '%s\n' "${note[@]}" "${reload[@]}" >|"$dns_pending"
  fi
  orchestra_flush
  (( ! ${#gone[@]} )) || rm -f -- "${gone[@]}"
  dns_index
  if (( ${#reload[@]} > RELOAD_ALL )); then
    dns_ctl_run reload
  else
    (( ! reconfig )) || dns_ctl_run reconfig
    for name in "${reload[@]}"; do
      # a zone named does not have loaded yet: the whole server is reloaded
      dns_reload "$name" || dns_ctl_run reload
    done
  fi
  [[ ! -s $dns_pending ]] || : >|"$dns_pending"
  if (( ${#dns_refused[@]} )); then
    echo "orchestra: zones not put in place, kept as they were: ${!dns_refused[*]}" >&2
    return 1
  fi
}`, "RELOAD_ALL", fmt.Sprint(reloadAll))

// checkName refuses a name no zone can have before it becomes a path: the
// rules refuse such names, so this is a bad row, never user input.
func checkName(name string) error {
	if msg := hostName(context.Background(), name); msg != "" {
		return fmt.Errorf("domain %q is not a zone name: %s", name, msg)
	}
	return nil
}

// zoneName is what the master and the slave backend do first: the zone's
// name, checked, and whether the unit forgets it (deleted, or now a
// subdomain), which it then has done.
func zoneName(s *orchestration.Script, action string, o orchestration.Object) (name string, forgotten bool, err error) {
	name = o.String("name")
	if strings.HasPrefix(name, "*.") && !isTop(o) {
		return name, true, nil // a wildcard subdomain never was a zone: nothing to forget
	}
	if err := checkName(name); err != nil {
		return "", false, err
	}
	if action == orchestration.ActionDelete || !isTop(o) {
		s.Cmd("dns_forget", name)
		return name, true, nil
	}
	return name, false, nil
}

func applyMaster(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name, forgotten, err := zoneName(s, action, o)
	if err != nil || forgotten {
		return err
	}
	z, ok := o.Extra.(masterZone)
	if !ok {
		return fmt.Errorf("domain %s: zone not loaded", name)
	}
	file := pathsOf(srv).zones + "/" + zoneFile(name)
	// localhost (the master's own addresses) may transfer too: tools on the
	// master, and a slave sharing its host, whose requests leave from them
	slaves := ""
	for _, a := range z.slaves {
		slaves += a + "; "
	}
	stmt := fmt.Sprintf("// %s, written by Orchestra\nzone %q {\n\ttype master;\n\tfile %q;\n\tallow-transfer { %slocalhost; };\n\tnotify yes;\n",
		name, name, file, slaves)
	if slaves != "" {
		stmt += "\talso-notify { " + slaves + "};\n"
	}
	if z.dnssec {
		stmt += "\tdnssec-policy default;\n\tinline-signing yes;\n"
	}
	s.Cmd("dns_zone", name, stmt+"};\n", z.text)
	return nil
}

func applySlave(s *orchestration.Script, srv orchestration.Server, action string, o orchestration.Object) error {
	name, forgotten, err := zoneName(s, action, o)
	if err != nil || forgotten {
		return err
	}
	z, ok := o.Extra.(slaveZone)
	if !ok {
		return fmt.Errorf("domain %s: masters not loaded", name)
	}
	stmt := fmt.Sprintf("// %s, written by Orchestra\nzone %q {\n\ttype slave;\n\tmasters { %s };\n\tallow-notify { %s };\n\tfile %q;\n};\n",
		name, name, acl(z.masters), acl(z.masters), pathsOf(srv).slaveZones+"/"+zoneFile(name))
	s.Cmd("dns_zone", name, stmt)
	return nil
}

// commit puts the unit's zones in place and has named load them.
func commit(s *orchestration.Script, _ orchestration.Server) {
	s.Raw("dns_commit")
}
