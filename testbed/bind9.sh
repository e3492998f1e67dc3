# shellcheck shell=bash
# BIND 9 test bed, sourced by ./do (which defines die, ensure_pkgs and SUDO).
#   ensure_bind9_testbed  two independent named: a master on 127.0.0.11:53 and a
#                         slave on 127.0.0.12:53, the addresses of the SSH test-bed
#                         servers 1 and 2 (the panel manages each one's files over
#                         SSH). Reused while running with the same config,
#                         (re)started otherwise. Exports
#                           ORCHESTRA_TEST_BIND_MASTER      127.0.0.11
#                           ORCHESTRA_TEST_BIND_SLAVE       127.0.0.12
#                           ORCHESTRA_TEST_BIND_MASTER_DIR  the master's directory
#                           ORCHESTRA_TEST_BIND_SLAVE_DIR   the slave's directory
#   stop_bind9_testbed    stops both (they are otherwise left running between runs)
#
# Each instance directory ($BIND_STATE/master, $BIND_STATE/slave) holds
#   named.conf   generated, edits are overwritten; named's `directory` is this
#                directory; it includes zones.conf last
#   zones.conf   the zone blocks (the test bed's named.conf.local), managed by the
#                panel and tests; empty after every (re)start, never touched
#                while the instance runs: tests use unique zone names and remove
#                their zones themselves
#   zones/       zone files: the master's sources, the slave's transferred copies;
#                emptied on every (re)start
#   keys/        key-directory, for `dnssec-policy` zones; emptied on (re)start
#   rndc.key     the instance's control key (made once, kept)
#   rndc.conf    `rndc -c DIR/rndc.conf reload` (or reconfig, status...) talks to
#                this instance only, on its own address, port 953
#   named.log    named's log (-L), truncated on (re)start; named.pid, named.lock,
#                session.key and managed-keys files belong to named
# named runs as the invoking user (root on CI), so it reads files that user
# writes; it drops CAP_DAC_OVERRIDE, so it cannot read files of other users
# unless their modes allow it.
#
# Zone blocks for this test bed (absolute paths; zones.conf, then `rndc reload`):
#   master:  zone "ex.test" { type master; file "MASTER_DIR/zones/ex.test.db";
#              also-notify { 127.0.0.12; }; };
#            (+ `dnssec-policy default; inline-signing yes;` to sign it)
#   slave:   zone "ex.test" { type slave; masters { 127.0.0.11; };
#              file "SLAVE_DIR/zones/ex.test.db"; };
# Every instance sends its queries, NOTIFYs and transfers from its own address,
# allows transfers and NOTIFYs from 127.0.0.0/8 and does not recurse.
#
# named only listens on addresses it finds on an interface, and Linux puts just
# 127.0.0.1/8 on lo: the test bed adds 127.0.0.11/32 and 127.0.0.12/32 to lo
# (not persistent; stop_bind9_testbed removes those it added). Routing does not
# change: 127.0.0.0/8 already went to lo; only connections to those addresses
# now come from them rather than from 127.0.0.1 (SSH_CONNECTION's client field,
# for the SSH test bed). But any other named listening on all
# addresses (the default, as the Debian bind9 package's) picks them up at once
# and shares port 53 with the test bed, so queries would land on either: such a
# named is stopped (systemctl if it is a systemd service, else SIGTERM) and can
# be started again after stop_bind9_testbed. Where AppArmor enforces Debian's
# named profile (not in containers), named cannot read the state directory:
# ensure_bind9_testbed says so and stops.

BIND_NAMED_BIN=/usr/sbin/named
BIND_RNDC_BIN=/usr/sbin/rndc
BIND_PORT=53
BIND_CTL_PORT=953
BIND_STATE="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/testbed/bind"
BIND_ROLES=(master slave)
declare -gA BIND_ADDR=([master]=127.0.0.11 [slave]=127.0.0.12)

# pid of the test-bed named in directory $1, if it is alive and really ours
bind_tb_pid() {
  local pid cmd
  pid=$(cat "$1/named.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  # a reused pid belonging to something else must not be taken (or killed)
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *" -c $1/named.conf "* ]] || return 1
  echo "$pid"
}

# the instance of role $1 answers: DNS on its address (with its own server-id,
# not another server's) and rndc with its key
bind_tb_probe() {
  local role=$1 dir="$BIND_STATE/$1" id
  id=$(dig +short +time=1 +tries=1 -p "$BIND_PORT" "@${BIND_ADDR[$role]}" id.server chaos txt 2>/dev/null) || return 1
  [[ $id == "\"orchestra-testbed-$role\"" ]] || return 1
  "$BIND_RNDC_BIN" -c "$dir/rndc.conf" status >/dev/null 2>&1
}

# pids of processes other than $2 listening on address $1, port 53 or 953
bind_tb_other_listeners() {
  local addr=${1//./\\.} ours=$2
  ss -Hlnptu 2>/dev/null | grep -E "[[:space:]]$addr:($BIND_PORT|$BIND_CTL_PORT)[[:space:]]" |
    grep -oE 'pid=[0-9]+' | cut -d= -f2 | sort -u | { grep -vx -- "$ours" || true; }
}

# stop whatever is not the test bed's named in directory $2 but listens on
# address $1: named instances, the developer gets the rest
bind_tb_stop_others() {
  local addr=$1 ours other
  ours=$(bind_tb_pid "$2") || ours=""
  for other in $(bind_tb_other_listeners "$addr" "$ours"); do bind_tb_stop_other "$addr" "$other"; done
}

# stop a named that is not ours but listens on a test-bed address; anything
# else there is left to the developer
bind_tb_stop_other() {
  local addr=$1 pid=$2 comm unit w
  comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 0
  [[ $comm == named ]] ||
    die "$comm (pid $pid) listens on $addr port $BIND_PORT or $BIND_CTL_PORT, which the bind9 test bed needs: stop it"
  unit=$(sed -n 's#^[0-9]*:[^:]*:.*/\([^/]*\.service\)$#\1#p' "/proc/$pid/cgroup" 2>/dev/null | head -1) || true
  echo "do: stopping named pid $pid${unit:+ ($unit)}: it listens on the test-bed address $addr too" >&2
  if [[ -n $unit && -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    $SUDO systemctl stop "$unit" || true
  fi
  $SUDO kill "$pid" 2>/dev/null || true
  for ((w = 0; w < 100; w++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  die "named pid $pid still runs and listens on $addr: stop it"
}

# the config of the instance of role $1
bind_tb_config() {
  local role=$1 dir="$BIND_STATE/$1" addr=${BIND_ADDR[$1]}
  cat <<EOF
// generated by testbed/bind9.sh: edits are overwritten; zones go in zones.conf
include "$dir/rndc.key";
controls {
  inet $addr port $BIND_CTL_PORT allow { 127.0.0.0/8; } keys { "orchestra-testbed-$role"; };
};
options {
  directory "$dir";
  pid-file "$dir/named.pid";
  // the defaults are in /run/named, shared with the distribution's named
  lock-file "$dir/named.lock";
  session-keyfile "$dir/session.key";
  managed-keys-directory "$dir";
  key-directory "$dir/keys";
  listen-on port $BIND_PORT { $addr; };
  listen-on-v6 { none; };
  // only the address above; do not follow interface changes
  automatic-interface-scan no;
  interface-interval 0;
  // a host of its own: queries, refreshes, transfers and NOTIFYs leave from its address
  query-source address $addr;
  transfer-source $addr;
  notify-source $addr;
  recursion no;
  dnssec-validation no;
  allow-query { any; };
  allow-transfer { 127.0.0.0/8; };
  allow-notify { 127.0.0.0/8; };
  notify yes;
  // tests wait for the slave: no batching of NOTIFYs
  notify-delay 0;
  server-id "orchestra-testbed-$role";
};
include "$dir/zones.conf";
EOF
}

# rndc.conf of the instance of role $1
bind_tb_rndc_conf() {
  local role=$1 dir="$BIND_STATE/$1"
  cat <<EOF
// generated by testbed/bind9.sh: edits are overwritten
include "$dir/rndc.key";
options {
  default-key "orchestra-testbed-$role";
  default-server ${BIND_ADDR[$role]};
  default-port $BIND_CTL_PORT;
};
EOF
}

# is $1 an address of lo?
# (output captured first: under pipefail, `ip | grep -q` fails when grep's early
# exit hits ip with SIGPIPE, which happens once lo holds many addresses)
bind_tb_has_addr() {
  local out
  out=$(ip -4 -o addr show dev lo) || return 1
  [[ $out == *" inet $1/"* ]]
}

# add $1/32 to lo, remembering it for stop_bind9_testbed
bind_tb_add_addr() {
  local addr=$1
  echo "do: adding $addr/32 to lo (named only listens on interface addresses)" >&2
  # another run may have added it since we looked: that is success too
  $SUDO ip addr add "$addr/32" dev lo || bind_tb_has_addr "$addr" ||
    die "could not add $addr/32 to lo (the bind9 test bed needs CAP_NET_ADMIN)"
  grep -qxF "$addr" "$BIND_STATE/lo-addresses" 2>/dev/null || echo "$addr" >>"$BIND_STATE/lo-addresses"
}

# stop our instance in directory $1 if it runs
bind_tb_kill() {
  local pid w
  pid=$(bind_tb_pid "$1") || return 0
  $SUDO kill "$pid" 2>/dev/null || true
  for ((w = 0; w < 100; w++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  $SUDO kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
}

ensure_bind9_testbed() {
  ensure_pkgs bind9:named bind9-utils:rndc bind9-dnsutils:dig iproute2:ip
  [[ -x $BIND_NAMED_BIN && -x $BIND_RNDC_BIN ]] || die "$BIND_NAMED_BIN or $BIND_RNDC_BIN missing after installing bind9"
  # the Debian profile confines /usr/sbin/named to /etc/bind, /var/cache/bind...
  if $SUDO grep -qsE '^(/usr/sbin/)?named \(enforce\)' /sys/kernel/security/apparmor/profiles; then
    die "AppArmor confines named to /etc/bind and /var/{lib,cache}/bind, so it cannot use $BIND_STATE: put it in complain mode (aa-complain /usr/sbin/named, from apparmor-utils) for the bind9 test bed"
  fi

  local role dir addr pid config user added="" started=()
  user=$(id -un)
  mkdir -p "$BIND_STATE"
  for role in "${BIND_ROLES[@]}"; do
    bind_tb_has_addr "${BIND_ADDR[$role]}" && continue
    bind_tb_add_addr "${BIND_ADDR[$role]}"
    added=1
  done
  # another named listening on all addresses takes new ones at once: let it
  # show, to be stopped below
  [[ -z $added ]] || sleep 0.5

  for role in "${BIND_ROLES[@]}"; do
    dir="$BIND_STATE/$role"
    addr=${BIND_ADDR[$role]}
    mkdir -p "$dir/zones" "$dir/keys"
    if [[ ! -s $dir/rndc.key ]]; then
      rndc-confgen -a -A hmac-sha256 -k "orchestra-testbed-$role" -c "$dir/rndc.key" >/dev/null 2>&1 ||
        die "could not generate the rndc key of the bind9 test-bed $role"
    fi
    config=$(bind_tb_rndc_conf "$role")
    [[ $config == "$(cat "$dir/rndc.conf" 2>/dev/null)" ]] || printf '%s\n' "$config" >"$dir/rndc.conf"

    bind_tb_stop_others "$addr" "$dir"
    config=$(bind_tb_config "$role")
    pid=$(bind_tb_pid "$dir") || pid=""
    if [[ -n $pid && $config == "$(cat "$dir/named.conf" 2>/dev/null)" ]] && bind_tb_probe "$role"; then
      continue # running, same config, answering: reuse
    fi
    bind_tb_kill "$dir"

    # a fresh start: no zones, whatever the previous instance had
    printf '%s\n' "$config" >"$dir/named.conf"
    : >"$dir/zones.conf"
    find "$dir/zones" "$dir/keys" -mindepth 1 -delete
    rm -f "$dir"/managed-keys.bind* "$dir/named.pid"
    named-checkconf "$dir/named.conf" || die "bind9 test-bed $role: invalid config $dir/named.conf"
    echo "do: starting test-bed named ($role) on $addr:$BIND_PORT" >&2
    : >"$dir/named.log"
    # without -f named detaches once it has loaded its config and bound its sockets
    $SUDO "$BIND_NAMED_BIN" -u "$user" -c "$dir/named.conf" -L "$dir/named.log" || {
      tail -n 20 "$dir/named.log" >&2 2>/dev/null || true
      die "test-bed named ($role) did not start (see $dir/named.log)"
    }
    started+=("$role")
  done

  local tries
  for role in "${started[@]}"; do
    dir="$BIND_STATE/$role"
    for ((tries = 0; tries < 50; tries++)); do
      bind_tb_probe "$role" && break
      sleep 0.2
    done
    ((tries < 50)) || {
      tail -n 20 "$dir/named.log" >&2 2>/dev/null || true
      die "test-bed named ($role) does not answer on ${BIND_ADDR[$role]}:$BIND_PORT or rndc (see $dir/named.log)"
    }
    # one that bound the address alongside ours (SO_REUSEPORT) after all
    bind_tb_stop_others "${BIND_ADDR[$role]}" "$dir"
  done

  export ORCHESTRA_TEST_BIND_MASTER=${BIND_ADDR[master]}
  export ORCHESTRA_TEST_BIND_SLAVE=${BIND_ADDR[slave]}
  export ORCHESTRA_TEST_BIND_MASTER_DIR="$BIND_STATE/master"
  export ORCHESTRA_TEST_BIND_SLAVE_DIR="$BIND_STATE/slave"
}

stop_bind9_testbed() {
  local role addr
  for role in "${BIND_ROLES[@]}"; do bind_tb_kill "$BIND_STATE/$role"; done
  [[ -s $BIND_STATE/lo-addresses ]] || return 0
  while read -r addr; do
    [[ -n $addr ]] || continue
    $SUDO ip addr del "$addr/32" dev lo 2>/dev/null || true
  done <"$BIND_STATE/lo-addresses"
  rm -f "$BIND_STATE/lo-addresses"
}
