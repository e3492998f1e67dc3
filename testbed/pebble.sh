# shellcheck shell=bash
# ACME test bed (Pebble 2.4.0, Debian's pebble), sourced by ./do (which
# defines die, ensure_pkgs and SUDO).
#   ensure_pebble_testbed  one pebble on 127.0.0.16: the ACME directory on port
#                          14000, its management interface on 15000, all state
#                          in $PEBBLE_STATE (below: DIR); reused while it runs
#                          with the same config, arguments and environment
#                          (their hash, DIR/pebble.sum) and answers, otherwise
#                          (re)started. Exports
#                            ORCHESTRA_TEST_PEBBLE_DIRECTORY   https://127.0.0.16:14000/dir
#                            ORCHESTRA_TEST_PEBBLE_CA          DIR/tls/ca.crt: the CA of pebble's
#                                                              own listener (trust it for the
#                                                              directory and the management
#                                                              interface; NOT what issued
#                                                              certificates chain to)
#                            ORCHESTRA_TEST_PEBBLE_MANAGEMENT  https://127.0.0.16:15000
#   stop_pebble_testbed    stops it (it is otherwise left running between runs),
#                          waiting for it to end, and takes back the lo address
#                          it added
#
# What a test needs to know:
#   Issuing CA: pebble makes a new root and intermediate at EVERY start, in
#     memory, and keeps accounts, orders and certificates in memory only: a
#     (re)start loses them all. While the bed runs (between runs of ./do, too)
#     they stay. Read the root at test time, never cache it:
#       GET MANAGEMENT/roots/0              the root issued certificates chain to (PEM)
#       GET MANAGEMENT/intermediates/0      the intermediate that signs them (PEM)
#       GET MANAGEMENT/root-keys/0, MANAGEMENT/intermediate-keys/0   their keys
#       GET MANAGEMENT/cert-status-by-serial/SERIAL   JSON: Certificate, Status,
#                                           Reason, RevokedAt (SERIAL: hex, as in the
#                                           certificate's URL .../certZ/SERIAL)
#     (the ACME listener, port 14000, does not serve /roots). An issued
#     chain (the order's certificate URL) is leaf + intermediate: one
#     intermediate (PEBBLE_CHAIN_LENGTH=1), no alternate roots.
#   Validity: issued certificates are valid for 5 years (157766400 s, pebble's
#     default; the log says "Using certificate validity period of N seconds").
#     Pebble 2.4.0's config has "certificateValidityPeriod" (seconds, in the
#     "pebble" object); the bed leaves it unset.
#   Terms of service: the directory's meta.termsOfService is a data: URL; a
#     new account must agree (termsOfServiceAgreed), no external account
#     binding. Each test makes its own account (they are not persisted).
#   Determinism: PEBBLE_VA_NOSLEEP=1 (no random sleep of some seconds before
#     each validation), PEBBLE_WFE_NONCEREJECT=0 (no random badNonce: by default
#     5% of good nonces are refused), PEBBLE_AUTHZREUSE=0 (a new order never
#     reuses a valid authorization, which lasts an hour: every order validates
#     again; by default half of them would not), PEBBLE_CHAIN_LENGTH=1,
#     PEBBLE_ALTERNATE_ROOTS=0, and pebble
#     runs with no other environment (env -i: a PEBBLE_VA_ALWAYS_VALID or so in
#     the caller's environment does not leak in), -strict=false.
#   DNS: pebble asks the bind9 test bed's master, 127.0.0.11:53 (-dnsserver),
#     directly (no cache: a record counts as soon as the master serves it, after
#     `rndc reload`), with recursion desired: a name must be in a zone the master
#     serves (else REFUSED). ./do test starts the bind9 and web test beds first;
#     ensure_pebble_testbed itself does not need them.
#   HTTP-01: pebble looks up the name's AAAA, then A records at the master and
#     connects to port 80 (httpPort) of the FIRST address (an AAAA wins: give
#     test names no AAAA), sending Host: NAME, GET
#     /.well-known/acme-challenge/TOKEN; only a 200 with the key authorization
#     (trailing newlines ignored) passes; redirects are followed. So: an A record
#     NAME -> 127.0.0.14 (the web test bed's nginx) or 127.0.0.15 (its Apache)
#     in a zone on the master, and a site there that serves the token. Apache's
#     own virtual host (names no site claims) serves WEB_DIR/htdocs, so
#     WEB_DIR/htdocs/.well-known/acme-challenge/TOKEN works there without a site
#     (lego --http.webroot WEB_DIR/htdocs); nginx's own server answers 404 to
#     everything. Each validation fetches the token THREE times at once (three
#     concurrent validations, all must pass).
#   DNS-01: pebble reads TXT _acme-challenge.NAME from 127.0.0.11 (RCODE must be
#     NOERROR; any TXT string of the answer may match). Wildcard names need it.
#   TLS-ALPN-01: port 443 (tlsPort) of the name's address: the web test bed's
#     nginx and Apache do not answer acme-tls/1, so it fails there.
#   Refusals: an order for a name under blocked.orchestra-testbed.invalid (the
#     config's domainBlocklist) is refused at once, at newOrder
#     (urn:ietf:params:acme:error:rejectedIdentifier, "issuance is forbidden by
#     policy"). A challenge fails, and its authorization and order become
#     invalid, when the name's A record points to an address where nothing
#     listens on port 80, e.g. 127.0.0.16, pebble's own (error:connection,
#     "connect: connection refused", at once), when the name has no A record
#     (error:connection, "could not resolve URL"), or when the site answers 404
#     or a wrong body (error:unauthorized, "Non-200 status code"). An address
#     that drops packets would hold the validation for pebble's 15 s timeout.
#   Checked by hand with Debian's lego 4.9 (LEGO_CA_CERTIFICATES=CA): HTTP-01
#     through Apache's htdocs as above, and DNS-01 for a wildcard name with
#     --dns exec --dns.disable-cp (lego's own propagation check asks the zone's
#     NS by name through the system resolver, which knows nothing of the
#     test zones); the chain verifies against MANAGEMENT/roots/0.
#
# Files in DIR:
#   tls/ca.crt, tls/ca.key   the listener's CA (EC P-256, 10 years), made once
#                            and kept: pebble ships no certificate of its own
#                            (Debian's example config points to test/certs/...
#                            that the package does not ship)
#   tls/listener.crt, .key   pebble's listener certificate (both ports), for
#                            IP:127.0.0.16 and DNS:localhost, by that CA;
#                            made again when missing, expiring within 30 days,
#                            not verifying or not matching its key
#   pebble-config.json       generated, edits are overwritten
#   pebble.sum               the hash of the running pebble's config, arguments,
#                            environment, listener certificate and binary
#   pebble.pid, pebble.log   its pid and its output (truncated at every start)
#   lo-addresses             what the bed added to lo, for stop_pebble_testbed
# Pebble runs in the background as the invoking user, in a session of its
# own (setsid), not under systemd; the bed adds 127.0.0.16/32 to lo like the
# other beds (Linux would let pebble bind it without, 127.0.0.0/8 being
# local), and refuses to start when something else listens on its ports.

PEBBLE_BIN=/usr/bin/pebble
PEBBLE_ADDR=127.0.0.16
PEBBLE_ACME_PORT=14000
PEBBLE_MGMT_PORT=15000
PEBBLE_DNS_SERVER=127.0.0.11:53 # the bind9 test bed's master
PEBBLE_BLOCKED=blocked.orchestra-testbed.invalid
PEBBLE_STATE="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/testbed/pebble"
# pebble's whole environment (it runs under env -i)
PEBBLE_ENV=(PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0 PEBBLE_CHAIN_LENGTH=1
  PEBBLE_ALTERNATE_ROOTS=0)

# is process $1 alive (a zombie is not)?
pebble_tb_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# does process $1 run the test bed's config?
pebble_tb_is_ours() {
  local cmd
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline") || return 1
  [[ "$cmd " == *" -config $PEBBLE_STATE/pebble-config.json "* ]]
}

# pid of the test bed's pebble, if it is alive and really ours
pebble_tb_pid() {
  local pid
  pid=$(tr -dc 0-9 2>/dev/null <"$PEBBLE_STATE/pebble.pid") || return 1
  [[ -n $pid ]] && pebble_tb_alive "$pid" && pebble_tb_is_ours "$pid" || return 1
  echo "$pid"
}

# the directory and the management interface answer (one curl, two requests)
pebble_tb_probe() {
  local out
  out=$(curl -sS --max-time 3 --cacert "$PEBBLE_STATE/tls/ca.crt" \
    "https://$PEBBLE_ADDR:$PEBBLE_ACME_PORT/dir" "https://$PEBBLE_ADDR:$PEBBLE_MGMT_PORT/roots/0" 2>/dev/null) || true
  [[ $out == *'"newOrder"'* && $out == *'-----BEGIN CERTIFICATE-----'* ]]
}

# is $1 an address of lo? (output captured first: see bind9.sh)
pebble_tb_has_addr() {
  local out
  out=$(ip -4 -o addr show dev lo) || return 1
  [[ $out == *" inet $1/"* ]]
}

# the listener's CA (made once) and certificate; with "full", their validity
# is checked too (else a broken or expired one shows in the probe, which
# (re)starts the bed)
pebble_tb_tls() {
  local tls=$PEBBLE_STATE/tls
  mkdir -p "$tls"
  if [[ ! -s $tls/ca.crt || ! -s $tls/ca.key ]] || { [[ $1 == full ]] &&
    ! { openssl x509 -in "$tls/ca.crt" -noout -checkend 2592000 && openssl pkey -in "$tls/ca.key" -noout; } >/dev/null 2>&1; }; then
    echo "do: making the ACME test bed's listener CA" >&2
    rm -f "$tls/ca.crt" "$tls/ca.key" "$tls/listener.crt" "$tls/listener.key"
    (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$tls/ca.key" -out "$tls/ca.crt" -days 3650 -subj "/CN=Orchestra ACME test bed listener CA" \
      -config <(printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = ext' '[dn]' '[ext]' \
        'basicConstraints = critical,CA:TRUE' 'keyUsage = critical,keyCertSign,cRLSign' \
        'subjectKeyIdentifier = hash') 2>/dev/null) || die "ACME test bed: could not make the listener CA"
    chmod 0644 "$tls/ca.crt"
  fi
  if [[ ! -s $tls/listener.crt || ! -s $tls/listener.key ]] || { [[ $1 == full ]] &&
    ! { openssl verify -CAfile "$tls/ca.crt" "$tls/listener.crt" &&
      openssl x509 -in "$tls/listener.crt" -noout -checkend 2592000 &&
      [[ $(openssl x509 -in "$tls/listener.crt" -noout -pubkey) == "$(openssl pkey -in "$tls/listener.key" -pubout)" ]]; } >/dev/null 2>&1; }; then
    (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$tls/listener.key" -out "$tls/listener.crt" -days 825 -subj "/CN=$PEBBLE_ADDR" \
      -CA "$tls/ca.crt" -CAkey "$tls/ca.key" \
      -config <(printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = ext' '[dn]' '[ext]' \
        'basicConstraints = critical,CA:FALSE' 'keyUsage = critical,digitalSignature' \
        'extendedKeyUsage = serverAuth' 'authorityKeyIdentifier = keyid' \
        "subjectAltName = IP:$PEBBLE_ADDR,DNS:localhost") 2>/dev/null) ||
      die "ACME test bed: could not make pebble's listener certificate"
    chmod 0644 "$tls/listener.crt"
  fi
}

pebble_tb_config() {
  local tls=$PEBBLE_STATE/tls
  cat <<EOF
{
  "pebble": {
    "listenAddress": "$PEBBLE_ADDR:$PEBBLE_ACME_PORT",
    "managementListenAddress": "$PEBBLE_ADDR:$PEBBLE_MGMT_PORT",
    "certificate": "$tls/listener.crt",
    "privateKey": "$tls/listener.key",
    "httpPort": 80,
    "tlsPort": 443,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false,
    "domainBlocklist": ["$PEBBLE_BLOCKED"]
  }
}
EOF
}

# pebble's arguments
pebble_tb_args() {
  printf '%s\n' -config "$PEBBLE_STATE/pebble-config.json" -dnsserver "$PEBBLE_DNS_SERVER" -strict=false
}

# what the running pebble must have been started with: config, arguments,
# environment, listener certificate and key, binary
pebble_tb_sum() {
  {
    printf 'config:\n%s\nargs:\n' "$1"
    pebble_tb_args
    printf 'env:\n'
    printf '%s\n' "${PEBBLE_ENV[@]}"
    printf 'tls:\n'
    cat "$PEBBLE_STATE/tls/ca.crt" "$PEBBLE_STATE/tls/listener.crt" "$PEBBLE_STATE/tls/listener.key"
    printf 'bin: '
    stat -L -c '%s %Y' "$PEBBLE_BIN"
  } | sha256sum | cut -d' ' -f1
}

# pids of processes other than ours listening on pebble's ports, on its
# address or on all addresses
pebble_tb_other_listeners() {
  local ours=$1
  ss -Hlnpt 2>/dev/null |
    grep -E "[[:space:]](${PEBBLE_ADDR//./\\.}|0\.0\.0\.0|\*|\[::\]):($PEBBLE_ACME_PORT|$PEBBLE_MGMT_PORT)[[:space:]]" |
    grep -oE 'pid=[0-9]+' | cut -d= -f2 | sort -u | { grep -vx -- "$ours" || true; }
}

# stop process $1 and wait for it to end
pebble_tb_kill_pid() {
  local pid=$1 w
  kill "$pid" 2>/dev/null || $SUDO kill "$pid" 2>/dev/null || true
  for ((w = 0; w < 100; w++)); do pebble_tb_alive "$pid" || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || $SUDO kill -KILL "$pid" 2>/dev/null || true
  for ((w = 0; w < 20; w++)); do pebble_tb_alive "$pid" || return 0; sleep 0.1; done
  die "the ACME test bed's pebble (pid $pid) does not end"
}

# stop our pebble if it runs
pebble_tb_kill() {
  local pid
  if pid=$(pebble_tb_pid); then pebble_tb_kill_pid "$pid"; fi
  rm -f "$PEBBLE_STATE/pebble.pid" "$PEBBLE_STATE/pebble.sum"
}

# the last lines of pebble's log, to stderr
pebble_tb_tail() { tail -n 20 "$PEBBLE_STATE/pebble.log" >&2 2>/dev/null || true; }

ensure_pebble_testbed() {
  ensure_pkgs pebble openssl curl iproute2:ip util-linux:setsid
  [[ -x $PEBBLE_BIN ]] || die "$PEBBLE_BIN missing after installing pebble"
  local dir=$PEBBLE_STATE
  [[ $dir != *[\"\\]* ]] || die "the ACME test bed cannot live in a path with quotes or backslashes: $dir"
  mkdir -p "$dir"

  if ! pebble_tb_has_addr "$PEBBLE_ADDR"; then
    echo "do: adding $PEBBLE_ADDR/32 to lo (the ACME test bed's address)" >&2
    $SUDO ip addr add "$PEBBLE_ADDR/32" dev lo || pebble_tb_has_addr "$PEBBLE_ADDR" ||
      die "could not add $PEBBLE_ADDR/32 to lo (the ACME test bed needs CAP_NET_ADMIN)"
    grep -qxF "$PEBBLE_ADDR" "$dir/lo-addresses" 2>/dev/null || echo "$PEBBLE_ADDR" >>"$dir/lo-addresses"
  fi
  pebble_tb_tls quick

  local config sum
  config=$(pebble_tb_config)
  sum=$(pebble_tb_sum "$config")
  if pebble_tb_pid >/dev/null && [[ $sum == "$(cat "$dir/pebble.sum" 2>/dev/null)" ]] && pebble_tb_probe; then
    : # running, same config, answering: reuse
  else
    pebble_tb_kill
    pebble_tb_tls full
    sum=$(pebble_tb_sum "$config")
    local other
    for other in $(pebble_tb_other_listeners ""); do
      # one of ours whose pid file was lost
      if pebble_tb_is_ours "$other"; then pebble_tb_kill_pid "$other"; continue; fi
      die "$(cat "/proc/$other/comm" 2>/dev/null || echo "process") (pid $other) listens on port $PEBBLE_ACME_PORT or $PEBBLE_MGMT_PORT of $PEBBLE_ADDR, which the ACME test bed needs: stop it"
    done

    printf '%s\n' "$config" >"$dir/pebble-config.json"
    printf '%s\n' "$sum" >"$dir/pebble.sum"
    : >"$dir/pebble.log"
    local args
    mapfile -t args < <(pebble_tb_args)
    echo "do: starting test-bed pebble on $PEBBLE_ADDR:$PEBBLE_ACME_PORT (management :$PEBBLE_MGMT_PORT)" >&2
    # in a session of its own, keeping none of the caller's descriptors; the
    # shell that writes the pid file becomes pebble (exec, exec), whether
    # setsid forks or not
    # shellcheck disable=SC2016 # $$ and $1 are the inner shell's
    (cd / && exec setsid bash -c 'echo $$ >"$1" && shift && exec "$@"' pebble-testbed "$dir/pebble.pid" \
      env -i "${PEBBLE_ENV[@]}" "$PEBBLE_BIN" "${args[@]}") </dev/null >>"$dir/pebble.log" 2>&1 &

    local pid deadline=$((SECONDS + 30))
    until pebble_tb_probe; do
      pid=$(tr -dc 0-9 2>/dev/null <"$dir/pebble.pid") || pid=""
      if [[ -n $pid ]] && ! pebble_tb_alive "$pid"; then
        pebble_tb_tail
        die "test-bed pebble ended at start (see $dir/pebble.log)"
      fi
      ((SECONDS < deadline)) || {
        pebble_tb_tail
        die "test-bed pebble does not answer on https://$PEBBLE_ADDR:$PEBBLE_ACME_PORT/dir and :$PEBBLE_MGMT_PORT within 30 s (see $dir/pebble.log)"
      }
      sleep 0.1
    done
    pebble_tb_pid >/dev/null || {
      pebble_tb_tail
      die "something answers on $PEBBLE_ADDR:$PEBBLE_ACME_PORT, but not the test bed's pebble (see $dir/pebble.log)"
    }
  fi

  export ORCHESTRA_TEST_PEBBLE_DIRECTORY="https://$PEBBLE_ADDR:$PEBBLE_ACME_PORT/dir"
  export ORCHESTRA_TEST_PEBBLE_CA=$dir/tls/ca.crt
  export ORCHESTRA_TEST_PEBBLE_MANAGEMENT="https://$PEBBLE_ADDR:$PEBBLE_MGMT_PORT"
}

stop_pebble_testbed() {
  local addr
  pebble_tb_kill
  [[ -s $PEBBLE_STATE/lo-addresses ]] || return 0
  while read -r addr; do
    [[ -n $addr ]] || continue
    $SUDO ip addr del "$addr/32" dev lo 2>/dev/null || true
  done <"$PEBBLE_STATE/lo-addresses"
  rm -f "$PEBBLE_STATE/lo-addresses"
}
