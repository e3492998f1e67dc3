# shellcheck shell=bash
# Mail test bed (Postfix + Dovecot + rspamd), sourced by ./do (which defines
# die, ensure_pkgs and SUDO).
#   ensure_mail_testbed  a standalone Postfix, Dovecot and rspamd on
#                        127.0.0.13, all state in $MAIL_STATE (below: DIR);
#                        reused while all three run with the same config and
#                        answer, otherwise all are (re)started from empty maps,
#                        users, mail and DKIM keys. Exports
#                          ORCHESTRA_TEST_MAIL_DIR         DIR
#                          ORCHESTRA_TEST_MAIL_HOST        127.0.0.13
#                          ORCHESTRA_TEST_MAIL_SMTP        127.0.0.13:2525 (MX side)
#                          ORCHESTRA_TEST_MAIL_SUBMISSION  127.0.0.13:5587 (SASL)
#                          ORCHESTRA_TEST_MAIL_IMAP        127.0.0.13:1143
#                          ORCHESTRA_TEST_MAIL_SIEVE       127.0.0.13:4190 (ManageSieve)
#                          ORCHESTRA_TEST_MAIL_RSPAMD      127.0.0.13:11333 (rspamd's
#                                                          scanner: rspamc -h, /ping)
#                          ORCHESTRA_TEST_MAIL_DKIM        DIR/dkim
#   stop_mail_testbed    stops them (they are otherwise left running between
#                        runs) and takes back the lo address and ACLs it added
#
# The contract the panel's mail backends follow (they write these files over
# SSH and run the commands; the test bed owns everything else):
#   DIR/maps/domains    "example.test OK": the hosted domains
#   DIR/maps/aliases    "addr@example.test NAME@mailbox.invalid[,other@addr...]":
#                       where an address delivers; a mailbox is reached only as
#                       NAME@mailbox.invalid (a pseudo-domain the test bed lists
#                       in virtual_mailbox_domains itself; SMTP clients cannot
#                       address it directly)
#   DIR/maps/mailboxes  "NAME@mailbox.invalid NAME": the mailboxes
#   DIR/maps/transport  "NAME@mailbox.invalid retry:4.2.1 reason": mail to a
#                       disabled mailbox waits in the queue (deferred) until
#                       the line goes, then postqueue -c DIR/postfix -f; with
#                       "error:5.2.1 reason" it is returned to its sender
#   DIR/maps/senders    "addr@example.test NAME[,NAME2]": the SASL logins
#                       (mailbox names) allowed to send as addr on submission
#                       after each change: postmap -c DIR/postfix DIR/maps/X
#                       (then postfix -c DIR/postfix reload)
#   DIR/users           Dovecot passwd-file, one line per mailbox, the login
#                       being the mailbox NAME, not an address:
#                       NAME:{SHA512-CRYPT}$6$...:8:8::DIR/vmail/NAME::userdb_quota_rule=*:storage=10M
#                       (no extra field: no quota); mode 0640 root:dovecot.
#                       Dovecot reads it again, without a reload, at the first
#                       login or delivery once its mtime (whole seconds) or size
#                       changed, checking at most once a second: give a rewrite
#                       a later mtime than the file it replaces (a same-size
#                       rewrite within the same second goes unseen)
#   reload              postfix -c DIR/postfix reload;
#                       doveadm -c DIR/dovecot/dovecot.conf reload (restarts
#                       Dovecot's auth and login processes: logins and LMTP
#                       lookups in flight fail once, temporarily; the users
#                       file does not need it)
#   checks              postfix -c DIR/postfix check;
#                       doveconf -c DIR/dovecot/dovecot.conf -n
#   DIR/vmail/NAME/     the mailbox's home (uid/gid mail, 8): Maildir/, sieve/
#                       (scripts), .dovecot.sieve (symlink to the active one)
#   DIR/sieve/before.d/ Sieve scripts run before the users' (spam presets),
#                       compiled by the writer (sievec): LMTP cannot write there
#   DIR/dkim/selectors  "example.test SELECTOR": the one selector example.test's
#                       mail is signed with (one line per domain; the domain
#                       as in the From header, compared lower-cased, no eSLD)
#   DIR/dkim/DOMAIN.SELECTOR.key
#                       its private key, PEM RSA (2048 bits; PKCS#1 or #8),
#                       mode 0640 root:_rspamd (rspamd's workers run as user
#                       and group _rspamd); selectors too (0640 root:_rspamd,
#                       or 0644). DIR/dkim is root:_rspamd 0750 and holds an
#                       empty selectors file after each (re)start.
#                       No reload: rspamd reads selectors at every message it
#                       might sign, and a key file again once its mtime (whole
#                       seconds) is later than the one it loaded (give a
#                       rewritten key a later mtime, or rotate to a new
#                       selector, which is a new file)
#   DIR/tls/mail.pem    Postfix's smtpd_tls_chain_files (the panel's
#                       MAILBOXES_TLS_CHAIN), offered over STARTTLS
#                       (smtpd_tls_security_level = may) on 2525 and 5587: one
#                       PEM file, the private key first, then the certificate
#                       and its intermediates (the order smtpd_tls_chain_files
#                       requires: key1, cert1, [chain1]); mode 0600 root:root.
#                       smtpd reads it as root, before it drops privileges,
#                       when it starts: postfix -c DIR/postfix reload makes
#                       new smtpd processes (the mail servers' MAILBOXES_POSTFIX_DIR)
#   DIR/tls/cert.pem    Dovecot's ssl_cert (MAILBOXES_TLS_CERT; STARTTLS on IMAP
#                       and ManageSieve): the certificate and its
#                       intermediates, 0644 root:root
#   DIR/tls/key.pem     Dovecot's ssl_key (MAILBOXES_TLS_KEY), 0600 root:root:
#                       its config process reads both as root ("<file"), at
#                       start and at doveadm -c DIR/dovecot/dovecot.conf
#                       reload (the mail servers' MAILBOXES_DOVECOT_CONF)
#                       Write each anew beside it and rename it in place: a
#                       daemon never reads half a file. TLS is never required
#                       (plaintext logins stay allowed on loopback, as tests
#                       make them). After each (re)start, and whenever one of
#                       the three is missing, they hold a self-signed
#                       placeholder for mail.orchestra.test (MAIL_NAME, the
#                       bed's myhostname), and DIR/tls/.orchestra-mail-tls (the
#                       panel's marker of the certificate it installed) is gone
# Delivery: SMTP RCPT addr@example.test -> virtual_alias_maps ->
# NAME@mailbox.invalid -> virtual_mailbox_maps -> LMTP 127.0.0.13:2424 ->
# Dovecot user NAME (its userdb drops the domain). Submission (5587) logs in
# with the mailbox name and password through Dovecot's auth (127.0.0.13:12345),
# plaintext allowed without TLS; MAIL FROM must be an address that senders
# gives to that name (reject_sender_login_mismatch).
# Quota: Dovecot's quota-status (127.0.0.13:12340) knows mailbox names only, so
# Postfix asks DIR/postfix/quota-policy (a policy service, spawned by master,
# owned by the test bed) which resolves the recipient through maps/aliases and
# asks quota-status about the mailbox: 552 at RCPT when the mailbox is full or
# the client declared a SIZE that does not fit, and 552 after DATA for a single
# recipient the message does not fit.
# Nothing leaves the machine: default and relay transports are error:, port
# 2525 only accepts mail for the hosted domains (no relay).
# Spam score: rspamd (its proxy in milter mode on 127.0.0.13:11332, its
# scanner on :11333, no controller; config DIR/rspamd/rspamd.conf over the
# stock /etc/rspamd, local.d in DIR/rspamd/local.d) sees every message Postfix
# takes, on 2525 and on submission (milter_default_action = accept: a message
# passes unscanned while it does not answer), and writes the header
#   X-Spam-Score: N     N the score, a plain decimal number: "-0.1", "0",
#                       "14.9" (at most 2 decimals, no trailing zeros); any
#                       X-Spam-Score the message came with is removed
# (and X-Spam: Yes from a score of 6; other X-Rspamd-*/X-Spam headers may
# come). The reject and greylist actions are off: no message is refused or
# delayed for its score. A message whose text contains
#   YJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X
# (mailtest.GTUBE, rspamd's "add header" GTUBE variant, which the test bed
# scores 15 as ORCHESTRA_TEST_SPAM) is delivered with a score near 15; the
# standard GTUBE (XJS*C4JDBQADN1...) is refused after DATA (554) by rspamd's
# built-in check, which 3.4 cannot turn off: tests use the YJS pattern.
# Ordinary test mail scores about 0 (plain text from mailtest.Message:
# -0.1); a bare one (a Subject line and a body) about 2.
# Nothing rspamd does needs the network or Redis: its resolver is
# 127.0.0.13:53, where nothing answers (0.3 s, one retry: no lookup delays a
# message by seconds), and RBLs/SURBL, SPF, DMARC, ARC, ASN, fuzzy hashes,
# hfilter, greylisting, rate limits, reputation, replies, neural, Bayes
# (no Redis) are off.
# DKIM: rspamd signs (rsa-sha256, relaxed/relaxed) what a user logged in on
# submission sends, whatever the login (a mailbox name, not an address),
# when the From header holds one address whose domain has a line in
# DIR/dkim/selectors: d=DOMAIN s=SELECTOR with DIR/dkim/DOMAIN.SELECTOR.key.
# Mail on 2525 is never signed; a missing or unreadable key: not signed
# (rspamd.log says why).
# Sieve: replies (vacation, redirect) go out over SMTP to 127.0.0.13:2525
# (submission_host), envelope sender <>: a reply to an address of a hosted
# domain is delivered (and scored), one elsewhere is refused (no relay).
# Extensions: Pigeonhole's default set, which has vacation, date, relational
# and comparator-i;ascii-numeric (named in sieve_extensions all the same).
# vacation: sieve_vacation_min_period = 1d (":days N", N >= 1 as the panel
# writes it; below 1 day is raised to it), default period 7d; a sender is
# answered once per period, which the mailbox's home (DIR/vmail/NAME/
# .dovecot.lda-dupes) tracks. The recipient check stays on
# (sieve_vacation_dont_check_recipient = no): a message is answered only
# when its To/Cc/Bcc/Resent-To... name one of the script's
# ":addresses [...]", since the LMTP recipient is NAME@mailbox.invalid and
# the address the message was sent to is not known (Dovecot's LMTP offers no
# DSN, so Postfix passes no ORCPT; sieve_vacation_use_original_recipient =
# no): without :addresses, no reply ever. The reply's From is the address
# that matched, unless :from says otherwise. Never to <>, lists,
# Auto-Submitted or Precedence bulk/junk/list mail (Pigeonhole's rules).
#
# Postfix, Dovecot and rspamd run as root and drop to postfix, dovecot, mail
# (8) and _rspamd; those users must traverse DIR's parents (/root is 0700):
# the test bed grants them search permission (ACL u:USER:x, no listing) on
# every parent that lacks it, and stop_mail_testbed takes the grants back.
# Logs: DIR/postfix.log, DIR/dovecot.log, DIR/rspamd.log (truncated on every
# (re)start). rspamd's caches (DIR/rspamd/db: compiled regular expressions,
# a first start takes some 10 s more) outlive restarts. Deferred mail is
# retried within seconds. DIR/lock is the Go helpers' (mailtest) flock around
# their edits of the maps, users file and DKIM files, which tests in several
# packages share.

MAIL_ADDR=127.0.0.13
MAIL_NAME=mail.orchestra.test # the bed's host name (myhostname, the placeholder certificate's)
MAIL_SMTP_PORT=2525
MAIL_SUBMISSION_PORT=5587
MAIL_IMAP_PORT=1143
MAIL_SIEVE_PORT=4190
MAIL_LMTP_PORT=2424
MAIL_AUTH_PORT=12345
MAIL_QUOTA_PORT=12340
MAIL_MILTER_PORT=11332 # rspamd's proxy, in milter mode
MAIL_RSPAMD_PORT=11333 # rspamd's scanner (HTTP)
MAIL_STATE="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/testbed/mail"
MAIL_MAPS=(domains mailboxes aliases senders transport)
MAIL_USERS=(postfix dovecot mail _rspamd) # the users the daemons drop to
MAIL_RSPAMD_USER=_rspamd                  # and group (Debian's package)
# rspamd modules off: they need the network or Redis, or score what a test
# bed cannot pass (DNS-based checks)
MAIL_RSPAMD_OFF=(arc asn bimi clickhouse dcc dmarc elastic emails fuzzy_check
  greylist hfilter history_redis metadata_exporter metric_exporter mx_check
  neural p0f phishing ratelimit rbl replies reputation rspamd_update spamtrap
  spf surbl url_redirector whitelist multimap)

mail_tb_postfix() { $SUDO postfix -c "$MAIL_STATE/postfix" "$@"; }

# pid of the test bed's Postfix master, if it is alive and really ours
mail_tb_postfix_pid() {
  local pid cwd
  pid=$(tr -dc 0-9 2>/dev/null <"$MAIL_STATE/spool/pid/master.pid") || return 1
  [[ -n $pid ]] || return 1
  # a reused pid belonging to something else must not be taken (or killed):
  # the master runs in its queue directory
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == master ]] || return 1
  cwd=$($SUDO readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$MAIL_STATE/spool" ]] || return 1
  echo "$pid"
}

# pid of the test bed's Dovecot master, if it is alive and really ours
mail_tb_dovecot_pid() {
  local pid cmd
  pid=$(cat 2>/dev/null "$MAIL_STATE/dovecot/run/master.pid") || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ $cmd == *" -c $MAIL_STATE/dovecot/dovecot.conf "* ]] || return 1
  echo "$pid"
}

# pid of the test bed's rspamd main process, if it is alive and really ours
# (it renames itself: it is started in DIR/rspamd and stays there)
mail_tb_rspamd_pid() {
  local pid cwd
  pid=$(cat 2>/dev/null "$MAIL_STATE/rspamd/run/rspamd.pid") || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ $(cat "/proc/$pid/comm" 2>/dev/null) == rspamd ]] || return 1
  cwd=$($SUDO readlink "/proc/$pid/cwd" 2>/dev/null) || return 1
  [[ $cwd == "$MAIL_STATE/rspamd" ]] || return 1
  echo "$pid"
}

# the first line a server on port $1 sends, within 2 s
mail_tb_greeting() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && IFS= read -r -t 2 line <&3 && printf "%s\n" "$line"' \
    "$MAIL_ADDR" "$1" 2>/dev/null
}

# every listener answers as the test bed's daemons do
mail_tb_probe() {
  local port answer
  for port in "$MAIL_SMTP_PORT" "$MAIL_SUBMISSION_PORT" "$MAIL_LMTP_PORT"; do
    answer=$(mail_tb_greeting "$port") || return 1
    [[ $answer == "220 "* ]] || return 1
  done
  [[ $(mail_tb_greeting "$MAIL_SMTP_PORT") == *orchestra-testbed* ]] || return 1
  [[ $(mail_tb_greeting "$MAIL_IMAP_PORT") == "* OK "* ]] || return 1
  [[ $(mail_tb_greeting "$MAIL_SIEVE_PORT") == '"IMPLEMENTATION"'* ]] || return 1
  [[ $(mail_tb_greeting "$MAIL_AUTH_PORT") == VERSION* ]] || return 1
  # quota-status answers a policy request (an unknown user: DUNNO)
  # shellcheck disable=SC2016 # expanded by the inner bash
  answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" &&
    printf "request=smtpd_access_policy\nrecipient=nobody-probe\n\n" >&3 &&
    IFS= read -r -t 2 line <&3 && printf "%s\n" "$line"' "$MAIL_ADDR" "$MAIL_QUOTA_PORT" 2>/dev/null) || return 1
  [[ $answer == action=* ]] || return 1
  # rspamd's scanner answers /ping; its milter takes connections
  # shellcheck disable=SC2016 # expanded by the inner bash
  answer=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" &&
    printf "GET /ping HTTP/1.0\r\n\r\n" >&3 && timeout 2 cat <&3' "$MAIL_ADDR" "$MAIL_RSPAMD_PORT" 2>/dev/null) || return 1
  [[ $answer == *pong* ]] || return 1
  # (and a milter QUIT: a bare close is logged as an error)
  # shellcheck disable=SC2016 # expanded by the inner bash
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$0/$1" && printf "\0\0\0\1Q" >&3' "$MAIL_ADDR" "$MAIL_MILTER_PORT" 2>/dev/null
}

# is $1 an address of lo? (output captured first: see bind9.sh)
mail_tb_has_addr() {
  local out
  out=$(ip -4 -o addr show dev lo) || return 1
  [[ $out == *" inet $1/"* ]]
}

# let the daemons' users traverse DIR's parents (top down: a test needs the
# parents' search permission), remembering each grant
mail_tb_grant_traverse() {
  local u d parents=() p=$MAIL_STATE
  while [[ $p != / && -n $p ]]; do
    p=$(dirname "$p")
    parents=("$p" "${parents[@]}")
  done
  for u in "${MAIL_USERS[@]}"; do
    for d in "${parents[@]}"; do
      runuser -u "$u" -- test -x "$d" 2>/dev/null && continue
      echo "do: letting $u traverse $d (ACL u:$u:x) for the mail test bed" >&2
      $SUDO setfacl -m "u:$u:x" "$d" || die "could not grant $u search permission on $d"
      grep -qxF "$u $d" "$MAIL_STATE/acls" 2>/dev/null || echo "$u $d" >>"$MAIL_STATE/acls"
    done
  done
}

# main.cf
mail_tb_main_cf() {
  local dir=$MAIL_STATE
  cat <<EOF
# generated by testbed/mail.sh: edits are overwritten
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/postfix-data
# no syslog here: Postfix logs to a file through postlogd
maillog_file = $dir/postfix.log
maillog_file_prefixes = $dir
myhostname = $MAIL_NAME
mydomain = orchestra.test
myorigin = \$myhostname
inet_interfaces = $MAIL_ADDR
inet_protocols = ipv4
smtp_bind_address = $MAIL_ADDR
mynetworks = $MAIL_ADDR/32
smtpd_banner = \$myhostname ESMTP orchestra-testbed
biff = no
append_dot_mydomain = no
readme_directory = no
# no local delivery, nothing leaves the machine
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery is disabled in the test bed
default_transport = error:5.7.1 the test bed delivers nothing off this machine
relay_transport = error:5.7.1 the test bed delivers nothing off this machine
relay_domains =
relayhost =
# hosted domains and mailboxes (the panel's maps); mailbox.invalid is the
# pseudo-domain of mailboxes: addresses reach NAME@mailbox.invalid through
# virtual_alias_maps, which virtual_mailbox_maps lists and LMTP delivers
virtual_mailbox_domains = mailbox.invalid, hash:$dir/maps/domains
virtual_mailbox_maps = hash:$dir/maps/mailboxes
virtual_alias_maps = hash:$dir/maps/aliases
virtual_transport = lmtp:inet:$MAIL_ADDR:$MAIL_LMTP_PORT
# a disabled mailbox's mail waits in the queue (retry:) until it is enabled
transport_maps = hash:$dir/maps/transport
smtpd_sender_login_maps = hash:$dir/maps/senders
# SASL through Dovecot, enabled on submission only, plaintext allowed
# without TLS (loopback)
smtpd_sasl_type = dovecot
smtpd_sasl_path = inet:$MAIL_ADDR:$MAIL_AUTH_PORT
smtpd_sasl_auth_enable = no
# STARTTLS offered, never required, on both ports, with the key and chain
# the panel's mail-tls backend writes (a self-signed placeholder until then)
smtpd_tls_security_level = may
smtpd_tls_auth_only = no
smtpd_tls_chain_files = $dir/tls/mail.pem
smtpd_tls_loglevel = 1
smtpd_relay_restrictions = reject_unauth_destination
# mailbox.invalid is internal; unknown recipients 550; full mailboxes 552
smtpd_recipient_restrictions = check_recipient_access inline:{mailbox.invalid=REJECT}, reject_unlisted_recipient, check_policy_service unix:private/quota-policy
# the actual size is known after DATA (quota-policy: one recipient only)
smtpd_end_of_data_restrictions = check_policy_service unix:private/quota-policy
message_size_limit = 10240000
# mail deferred (LMTP cut by a Dovecot reload, say) is tried again within
# seconds, not minutes
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 4s
# tests make errors on purpose: no tarpit
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
# rspamd scores every message (X-Spam-Score) and signs what logged-in users
# send (DKIM); while it does not answer, mail passes unscanned
smtpd_milters = inet:$MAIL_ADDR:$MAIL_MILTER_PORT
non_smtpd_milters = \$smtpd_milters
milter_default_action = accept
milter_protocol = 6
milter_connect_timeout = 5s
EOF
}

# master.cf: no chroot, the listeners on the test-bed address. The queue
# manager wakes every 300 s, as Debian's: the mailbox backend's flush after
# a reload waits until the queue manager the reload ends is gone, and so
# does not depend on its wakeup
mail_tb_master_cf() {
  local dir=$MAIL_STATE
  cat <<EOF
# generated by testbed/mail.sh: edits are overwritten
# service type  private unpriv  chroot  wakeup  maxproc command + args
$MAIL_ADDR:$MAIL_SMTP_PORT inet n - n - - smtpd
$MAIL_ADDR:$MAIL_SUBMISSION_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submission
  -o smtpd_sasl_auth_enable=yes
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
  -o smtpd_sender_restrictions=reject_sender_login_mismatch
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
postlog   unix-dgram n  -       n       -       1       postlogd
quota-policy unix -     n       n       -       0       spawn
  user=mail argv=/bin/bash $dir/postfix/quota-policy
EOF
}

# the policy service between Postfix and Dovecot's quota-status
mail_tb_quota_policy() {
  local dir=$MAIL_STATE
  cat <<EOF
# generated by testbed/mail.sh: edits are overwritten
# Postfix policy service (spawned per smtpd connection, requests on stdin):
# Dovecot's quota-status knows mailbox names, Postfix the addresses. Resolve
# the recipient through virtual_alias_maps (exact address, then @domain, up
# to 10 levels) and ask quota-status about the mailbox(es) it reaches: reject
# only when every target is a mailbox that refuses (a forward or another
# mailbox would still take the mail).
PATH=/usr/sbin:/usr/bin:/sbin:/bin # spawn passes only export_environment
conf=$dir/postfix
aliases=hash:$dir/maps/aliases
quota_status=/dev/tcp/$MAIL_ADDR/$MAIL_QUOTA_PORT
EOF
  cat <<'EOF'
resolve() {
  local addr=${1,,} depth=$2 out t
  ((depth < 10)) || return 0
  if [[ $addr == *@mailbox.invalid ]]; then echo "m ${addr%@mailbox.invalid}"; return 0; fi
  out=$(postmap -c "$conf" -q "$addr" "$aliases" 2>/dev/null) ||
    out=$(postmap -c "$conf" -q "@${addr#*@}" "$aliases" 2>/dev/null) || { echo "x $addr"; return 0; }
  for t in ${out//,/ }; do
    if [[ ${t,,} == "$addr" ]]; then echo "x $addr"; else resolve "$t" $((depth + 1)); fi
  done
}
# quota-status's answer for mailbox $1 and size $2; a temporary failure (its
# userdb lookup cut by a Dovecot reload, say) is tried again for 2 s
ask() {
  local line try
  for ((try = 0; try < 10; try++)); do
    ((try == 0)) || sleep 0.2
    line=""
    if exec 3<>"$quota_status"; then
      printf 'request=smtpd_access_policy\nrecipient=%s\nsize=%s\n\n' "$1" "$2" >&3
      IFS= read -r -t 10 line <&3 || line=""
      exec 3>&-
    fi
    [[ $line == action=* && ! $line =~ ^action=(DEFER|4[0-9][0-9]) ]] || continue
    echo "${line#action=}"
    return 0
  done
  return 1
}
decide() {
  local rcpt=$1 size=$2 kind name action first="" targets
  [[ -n $rcpt ]] || { echo DUNNO; return; }
  targets=$(resolve "$rcpt" 0)
  [[ -n $targets ]] || { echo DUNNO; return; }
  while read -r kind name; do
    [[ $kind == m ]] || { echo DUNNO; return; }
    action=$(ask "$name" "$size") || { echo "DEFER_IF_PERMIT 4.3.0 quota service unavailable"; return; }
    [[ $action =~ ^[45][0-9][0-9] ]] || { echo DUNNO; return; }
    first=${first:-$action}
  done <<<"$targets"
  echo "${first:-DUNNO}"
}
declare -A attr=()
while IFS= read -r line; do
  line=${line%$'\r'}
  if [[ -n $line ]]; then
    attr[${line%%=*}]=${line#*=}
    continue
  fi
  printf 'action=%s\n\n' "$(decide "${attr[recipient]:-}" "${attr[size]:-0}")"
  attr=()
done
EOF
}

# dovecot.conf
mail_tb_dovecot_conf() {
  local dir=$MAIL_STATE
  cat <<EOF
# generated by testbed/mail.sh: edits are overwritten
base_dir = $dir/dovecot/run
state_dir = $dir/dovecot/state
log_path = $dir/dovecot.log
protocols = imap lmtp sieve
listen = $MAIL_ADDR
# STARTTLS offered (IMAP, ManageSieve), never required: tests log in
# without TLS on loopback
ssl = yes
ssl_cert = <$dir/tls/cert.pem
ssl_key = <$dir/tls/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
# virtual users are mail (8)
first_valid_uid = 8
last_valid_uid = 8
first_valid_gid = 8
last_valid_gid = 8
mail_location = maildir:$dir/vmail/%n/Maildir
mail_plugins = quota
namespace inbox {
  inbox = yes
  # the spam presets' folder, made and subscribed for every mailbox
  mailbox Spam {
    auto = subscribe
    special_use = \\Junk
  }
}
# the login is the mailbox name, checked as given
passdb {
  driver = passwd-file
  args = scheme=SHA512-CRYPT $dir/users
}
# LMTP receives NAME@mailbox.invalid: the domain is dropped for the lookup
userdb {
  driver = passwd-file
  args = username_format=%n $dir/users
}
service imap-login {
  inet_listener imap {
    port = $MAIL_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
service lmtp {
  inet_listener lmtp {
    port = $MAIL_LMTP_PORT
  }
}
service managesieve-login {
  inet_listener sieve {
    port = $MAIL_SIEVE_PORT
  }
}
# no growing delays after failed logins from the same address (the tests'
# address): auth_failure_delay is not the only one
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
# Postfix's SASL
service auth {
  inet_listener auth-client {
    port = $MAIL_AUTH_PORT
  }
}
# Postfix's quota check (through DIR/postfix/quota-policy)
service quota-status {
  executable = quota-status -p postfix
  inet_listener quota-status {
    port = $MAIL_QUOTA_PORT
  }
  client_limit = 1
}
protocol imap {
  mail_plugins = \$mail_plugins imap_quota
}
protocol lmtp {
  mail_plugins = \$mail_plugins sieve
  postmaster_address = postmaster@orchestra.test
}
# Sieve's replies (vacation, redirect) go to the MX side: delivered when
# they are for a hosted domain, refused (no relay) otherwise
submission_host = $MAIL_ADDR:$MAIL_SMTP_PORT
lmtp_rcpt_check_quota = yes
plugin {
  quota = maildir:User quota
  quota_status_success = DUNNO
  quota_status_nouser = DUNNO
  quota_status_overquota = 552 5.2.2 Mailbox is full
  sieve = file:$dir/vmail/%n/sieve;active=$dir/vmail/%n/.dovecot.sieve
  sieve_before = $dir/sieve/before.d
  # in the default set already; named for the presets and autoresponses
  sieve_extensions = +vacation +date +relational +comparator-i;ascii-numeric
  # the panel's :days N has N >= 1; a sender is answered once per period
  # (tracked in the home: .dovecot.lda-dupes)
  sieve_vacation_min_period = 1d
  sieve_vacation_default_period = 7d
  # a reply only to mail that names the user in To/Cc/...: the LMTP
  # recipient is NAME@mailbox.invalid and the address the message was sent
  # to is unknown (Dovecot's LMTP offers no DSN: Postfix passes no ORCPT),
  # so the script lists the addresses (vacation :addresses [...])
  sieve_vacation_use_original_recipient = no
  sieve_vacation_dont_check_recipient = no
}
EOF
}

# rspamd's configuration files, relative to DIR/rspamd (rspamd.conf, then
# local.d/: LOCAL_CONFDIR is DIR/rspamd)
mail_tb_rspamd_names() {
  local m
  echo rspamd.conf
  for m in options.inc actions.conf regexp.conf milter_headers.conf dkim_signing.conf; do
    echo "local.d/$m"
  done
  for m in "${MAIL_RSPAMD_OFF[@]}"; do
    echo "local.d/$m.conf"
  done
}

# the content of rspamd's configuration file $1 (one of mail_tb_rspamd_names)
mail_tb_rspamd_file() {
  local dir=$MAIL_STATE
  echo "# generated by testbed/mail.sh: edits are overwritten"
  case $1 in
  rspamd.conf)
    # the stock rspamd.conf's shape, with the test bed's workers and log;
    # no controller (nothing to learn, no password to guard)
    cat <<EOF
# rspamd -c $dir/rspamd/rspamd.conf --var CONFDIR=/etc/rspamd
#   --var LOCAL_CONFDIR=$dir/rspamd --var RUNDIR=$dir/rspamd/run
#   --var DBDIR=$dir/rspamd/db, in $dir/rspamd
.include "\$CONFDIR/common.conf"

options {
  pidfile = "\$RUNDIR/rspamd.pid";
  .include "\$CONFDIR/options.inc"
  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
}

logging {
  type = "file";
  filename = "$dir/rspamd.log";
  level = "info";
}

# the scanner: the proxy's upstream, rspamc's and the probe's server
worker "normal" {
  bind_socket = "$MAIL_ADDR:$MAIL_RSPAMD_PORT";
  count = 1;
  mime = true;
}

# Postfix's milter
worker "rspamd_proxy" {
  bind_socket = "$MAIL_ADDR:$MAIL_MILTER_PORT";
  count = 1;
  milter = yes;
  timeout = 120s;
  upstream "local" {
    default = yes;
    hosts = "$MAIL_ADDR:$MAIL_RSPAMD_PORT";
  }
  max_retries = 5;
  discard_on_reject = false;
  quarantine_on_reject = false;
  spam_header = "X-Spam";
}
EOF
    ;;
  local.d/options.inc)
    cat <<EOF
# no DNS: nothing answers there, and a lookup gives up within a second
dns {
  nameserver = ["$MAIL_ADDR:53"];
  timeout = 0.3s;
  retransmits = 1;
}
EOF
    ;;
  local.d/actions.conf)
    cat <<'EOF'
# a score never refuses nor delays a message: it is delivered with its
# X-Spam-Score (add_header stays at 6: X-Spam: Yes)
reject = null;
greylist = null;
EOF
    ;;
  local.d/regexp.conf)
    cat <<'EOF'
# the test bed's high-score pattern (mailtest.GTUBE): rspamd's "add header"
# GTUBE variant, which rspamd itself ignores while test patterns are off
ORCHESTRA_TEST_SPAM {
  re = '/YJS\*C4JDBQADN1\.NSBN3\*2IDNEN\*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL\*C\.34X/{sa_body}';
  score = 15.0;
  description = "The mail test bed's high-score test pattern";
  group = "orchestra_testbed";
  one_shot = true;
}
EOF
    ;;
  local.d/milter_headers.conf)
    cat <<'EOF'
# X-Spam-Score: the score as a plain decimal number ("-0.1", "0", "14.9"),
# replacing any the message came with
use = ["x-spam-score"];
custom {
  x-spam-score = <<EOD
return function(task, common)
  local score = (task:get_metric_score('default') or {})[1] or 0
  local s = string.format('%.2f', score):gsub('0+$', ''):gsub('%.$', '')
  if s == '-0' then s = '0' end
  return nil, {['X-Spam-Score'] = s}, {['X-Spam-Score'] = 0}, {}
end
EOD;
}
EOF
    ;;
  local.d/dkim_signing.conf)
    # a sign condition instead of selector_map: the selectors file is read
    # at each message, so a change needs no reload nor map polling
    cat <<EOF
# what a logged-in user sends, From one address whose domain has a line
# "DOMAIN SELECTOR" in $dir/dkim/selectors: signed with
# $dir/dkim/DOMAIN.SELECTOR.key, whatever the login
sign_condition = <<EOD
return function(task)
  if not task:get_user() then return false end
  local from = task:get_from('mime')
  if not from or #from ~= 1 or not from[1].domain or from[1].domain == '' then
    return false
  end
  local domain = from[1].domain:lower()
  local f = io.open('$dir/dkim/selectors', 'r')
  if not f then return false end
  local selector
  for line in f:lines() do
    local d, s = line:match('^%s*(%S+)%s+(%S+)%s*$')
    if d and d:lower() == domain then selector = s end
  end
  f:close()
  if not selector then return false end
  return {domain = domain, selector = selector,
    key = '$dir/dkim/' .. domain .. '.' .. selector .. '.key'}
end
EOD;
EOF
    ;;
  local.d/*.conf)
    echo "enabled = false;"
    ;;
  *) die "mail test bed: no rspamd file $1" ;;
  esac
}

# stop our Postfix, Dovecot and rspamd if they run, waiting for their
# masters to end (their ports stay bound until then); all at once: each takes
# seconds
mail_tb_kill() {
  local pid pids=() w children
  if pid=$(mail_tb_postfix_pid); then
    pids+=("$pid")
    mail_tb_postfix stop >/dev/null 2>&1 || $SUDO kill "$pid" 2>/dev/null || true
  fi
  if pid=$(mail_tb_dovecot_pid); then
    pids+=("$pid")
    $SUDO kill "$pid" 2>/dev/null || true
  fi
  if pid=$(mail_tb_rspamd_pid); then
    pids+=("$pid")
    $SUDO kill "$pid" 2>/dev/null || true
  fi
  for pid in "${pids[@]}"; do
    for ((w = 0; w < 100; w++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      # its workers too, by their parent's id
      children=$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ')
      # shellcheck disable=SC2086 # a list of pids
      $SUDO kill -KILL "$pid" $children 2>/dev/null || true
      sleep 0.2
    fi
  done
}

# the last lines of log $1, to stderr
mail_tb_tail() { tail -n 20 "$1" >&2 2>/dev/null || true; }

# DIR/tls: a self-signed placeholder certificate for $MAIL_NAME (P-256, ten
# years) when one of the three files is missing, so that Postfix and
# Dovecot start before the panel installs one; the marker of the panel's
# mail-tls backend goes with it (the placeholder is no certificate of its)
mail_tb_tls() {
  local dir=$MAIL_STATE/tls tmp
  $SUDO install -d -o root -g root -m 0755 "$dir"
  if $SUDO test -s "$dir/mail.pem" && $SUDO test -s "$dir/cert.pem" && $SUDO test -s "$dir/key.pem"; then
    return 0
  fi
  echo "do: making a self-signed placeholder certificate for $MAIL_NAME in $dir" >&2
  tmp=$(mktemp -d) || die "mail test bed: no temporary directory"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=$MAIL_NAME" -addext "subjectAltName=DNS:$MAIL_NAME" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" >/dev/null 2>&1 || {
    rm -rf "$tmp"
    die "mail test bed: openssl could not make the placeholder certificate"
  }
  cat "$tmp/key.pem" "$tmp/cert.pem" >"$tmp/mail.pem"
  $SUDO rm -f "$dir/.orchestra-mail-tls"
  $SUDO install -o root -g root -m 0600 "$tmp/key.pem" "$dir/key.pem"
  $SUDO install -o root -g root -m 0644 "$tmp/cert.pem" "$dir/cert.pem"
  $SUDO install -o root -g root -m 0600 "$tmp/mail.pem" "$dir/mail.pem"
  rm -rf "$tmp"
}

mail_tb_start() {
  local dir=$MAIL_STATE out m r=$MAIL_RSPAMD_USER
  local rspamd_vars=(--var=CONFDIR=/etc/rspamd --var=LOCAL_CONFDIR="$dir/rspamd"
    --var=RUNDIR="$dir/rspamd/run" --var=DBDIR="$dir/rspamd/db")
  # a fresh start: no maps, users, mail, DKIM keys or queued messages,
  # whatever the previous instances had (rspamd's caches stay: DIR/rspamd/db)
  # (again if need be: a test still writing a home can refill vmail under rm)
  for m in 1 2 3; do
    rm -rf "$dir/spool" "$dir/postfix-data" "$dir/vmail" "$dir/dovecot/run" "$dir/dovecot/state" "$dir/sieve" \
      "$dir/dkim" "$dir/rspamd/run" "$dir/tls" 2>/dev/null && break
  done
  [[ ! -e $dir/vmail ]] || die "mail test bed: cannot empty $dir/vmail"
  $SUDO install -d -o root -g root -m 0755 "$dir/spool"
  $SUDO install -d -o postfix -g postfix -m 0700 "$dir/postfix-data"
  $SUDO install -d -o mail -g mail -m 0770 "$dir/vmail"
  mkdir -p "$dir/sieve/before.d" "$dir/dovecot/state" "$dir/rspamd/run"
  $SUDO install -d -o "$r" -g "$r" -m 0750 "$dir/rspamd/db"
  $SUDO install -d -o root -g "$r" -m 0750 "$dir/dkim"
  $SUDO install -o root -g "$r" -m 0640 /dev/null "$dir/dkim/selectors"
  mail_tb_tls
  for m in "${MAIL_MAPS[@]}"; do
    : >"$dir/maps/$m"
    $SUDO postmap -c "$dir/postfix" "$dir/maps/$m" || die "mail test bed: postmap $dir/maps/$m failed"
  done
  : >"$dir/users"
  $SUDO chown root:dovecot "$dir/users" && $SUDO chmod 0640 "$dir/users"
  : >"$dir/postfix.log"
  : >"$dir/dovecot.log"
  : >"$dir/rspamd.log"

  # Postfix prints its errors on a terminal only: capture them through script
  out=$(script -qec "postfix -c '$dir/postfix' check" /dev/null 2>&1) ||
    die "mail test bed: postfix check failed: $out"
  out=$(doveconf -c "$dir/dovecot/dovecot.conf" -n 2>&1 >/dev/null) ||
    die "mail test bed: invalid $dir/dovecot/dovecot.conf: $out"
  out=$($SUDO rspamadm "${rspamd_vars[@]}" configtest -c "$dir/rspamd/rspamd.conf" 2>&1) ||
    die "mail test bed: invalid $dir/rspamd/rspamd.conf: $out"

  echo "do: starting test-bed rspamd, Dovecot and Postfix on $MAIL_ADDR" >&2
  # rspamd first: Postfix's milter. It returns once it has read its config
  # (some 10 s the first time, while it compiles what DIR/rspamd/db caches)
  # and daemonized, in DIR/rspamd (how mail_tb_rspamd_pid knows it)
  (cd "$dir/rspamd" && exec $SUDO rspamd -c "$dir/rspamd/rspamd.conf" -u "$r" -g "$r" "${rspamd_vars[@]}") \
    </dev/null >"$dir/rspamd.start" 2>&1 || {
    cat "$dir/rspamd.start" >&2
    mail_tb_tail "$dir/rspamd.log"
    die "test-bed rspamd did not start (see $dir/rspamd.log)"
  }
  # the master keeps the descriptors it is given: not the caller's pipes
  $SUDO dovecot -c "$dir/dovecot/dovecot.conf" </dev/null >"$dir/dovecot.start" 2>&1 || {
    cat "$dir/dovecot.start" >&2
    mail_tb_tail "$dir/dovecot.log"
    die "test-bed Dovecot did not start (see $dir/dovecot.log)"
  }
  out=$(script -qec "postfix -c '$dir/postfix' start" /dev/null </dev/null 2>&1) || {
    printf '%s\n' "$out" >&2
    mail_tb_tail "$dir/postfix.log"
    die "test-bed Postfix did not start (see $dir/postfix.log)"
  }
}

ensure_mail_testbed() {
  # Postfix's package asks what kind of mail server this is: none, the test
  # bed brings its own configuration
  if ! command -v postfix >/dev/null 2>&1; then
    echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
  fi
  ensure_pkgs postfix dovecot-imapd dovecot-lmtpd dovecot-sieve:sievec dovecot-managesieved swaks \
    rspamd:rspamd iproute2:ip acl:setfacl procps:pgrep openssl
  local dir=$MAIL_STATE
  [[ $dir != *[[:space:]]* ]] || die "the mail test bed cannot live in a path with spaces: $dir"
  mkdir -p "$dir/postfix" "$dir/maps" "$dir/dovecot" "$dir/rspamd/local.d"

  if ! mail_tb_has_addr "$MAIL_ADDR"; then
    echo "do: adding $MAIL_ADDR/32 to lo (the mail test bed's address)" >&2
    $SUDO ip addr add "$MAIL_ADDR/32" dev lo || mail_tb_has_addr "$MAIL_ADDR" ||
      die "could not add $MAIL_ADDR/32 to lo (the mail test bed needs CAP_NET_ADMIN)"
    grep -qxF "$MAIL_ADDR" "$dir/lo-addresses" 2>/dev/null || echo "$MAIL_ADDR" >>"$dir/lo-addresses"
  fi
  mail_tb_grant_traverse

  local main_cf master_cf policy dovecot_conf same=1 f
  local -A rspamd_conf=()
  main_cf=$(mail_tb_main_cf)
  master_cf=$(mail_tb_master_cf)
  policy=$(mail_tb_quota_policy)
  dovecot_conf=$(mail_tb_dovecot_conf)
  while read -r f; do
    rspamd_conf[$f]=$(mail_tb_rspamd_file "$f")
    [[ ${rspamd_conf[$f]} == "$(cat "$dir/rspamd/$f" 2>/dev/null)" ]] || same=""
  done < <(mail_tb_rspamd_names)
  # a file of an older config (a module no longer turned off) is a change
  for f in "$dir"/rspamd/local.d/*; do
    [[ -e $f && -v "rspamd_conf[local.d/${f##*/}]" ]] || same=""
  done
  [[ $main_cf == "$(cat "$dir/postfix/main.cf" 2>/dev/null)" &&
    $master_cf == "$(cat "$dir/postfix/master.cf" 2>/dev/null)" &&
    $policy == "$(cat "$dir/postfix/quota-policy" 2>/dev/null)" &&
    $dovecot_conf == "$(cat "$dir/dovecot/dovecot.conf" 2>/dev/null)" ]] || same=""
  if [[ -n $same ]] && mail_tb_postfix_pid >/dev/null && mail_tb_dovecot_pid >/dev/null &&
    mail_tb_rspamd_pid >/dev/null && mail_tb_probe; then
    mail_tb_tls # (the daemons keep what they loaded)
  else
    mail_tb_kill
    printf '%s\n' "$main_cf" >"$dir/postfix/main.cf"
    printf '%s\n' "$master_cf" >"$dir/postfix/master.cf"
    printf '%s\n' "$policy" >"$dir/postfix/quota-policy"
    printf '%s\n' "$dovecot_conf" >"$dir/dovecot/dovecot.conf"
    rm -rf "$dir/rspamd/local.d"
    mkdir -p "$dir/rspamd/local.d"
    for f in "${!rspamd_conf[@]}"; do
      printf '%s\n' "${rspamd_conf[$f]}" >"$dir/rspamd/$f"
    done
    mail_tb_start
    # rspamd's workers start after it returns: a first start of the
    # scanner takes seconds more
    local deadline=$((SECONDS + 60))
    until mail_tb_probe; do
      ((SECONDS < deadline)) || {
        mail_tb_tail "$dir/rspamd.log"
        mail_tb_tail "$dir/dovecot.log"
        mail_tb_tail "$dir/postfix.log"
        die "the mail test bed does not answer on $MAIL_ADDR within 60 s (see $dir/rspamd.log, $dir/dovecot.log, $dir/postfix.log)"
      }
      sleep 0.2
    done
  fi

  export ORCHESTRA_TEST_MAIL_DIR=$dir
  export ORCHESTRA_TEST_MAIL_HOST=$MAIL_ADDR
  export ORCHESTRA_TEST_MAIL_SMTP=$MAIL_ADDR:$MAIL_SMTP_PORT
  export ORCHESTRA_TEST_MAIL_SUBMISSION=$MAIL_ADDR:$MAIL_SUBMISSION_PORT
  export ORCHESTRA_TEST_MAIL_IMAP=$MAIL_ADDR:$MAIL_IMAP_PORT
  export ORCHESTRA_TEST_MAIL_SIEVE=$MAIL_ADDR:$MAIL_SIEVE_PORT
  export ORCHESTRA_TEST_MAIL_RSPAMD=$MAIL_ADDR:$MAIL_RSPAMD_PORT
  export ORCHESTRA_TEST_MAIL_DKIM=$dir/dkim
}

stop_mail_testbed() {
  local addr u d
  mail_tb_kill
  if [[ -s $MAIL_STATE/acls ]]; then
    while read -r u d; do
      [[ -n $d ]] || continue
      $SUDO setfacl -x "u:$u" "$d" 2>/dev/null || true
      # no named entries left: drop the mask too, as before the grants
      getfacl -cp "$d" 2>/dev/null | grep -qE '^(user|group):[^:]+:' || $SUDO setfacl -b "$d" 2>/dev/null || true
    done <"$MAIL_STATE/acls"
    rm -f "$MAIL_STATE/acls"
  fi
  [[ -s $MAIL_STATE/lo-addresses ]] || return 0
  while read -r addr; do
    [[ -n $addr ]] || continue
    $SUDO ip addr del "$addr/32" dev lo 2>/dev/null || true
  done <"$MAIL_STATE/lo-addresses"
  rm -f "$MAIL_STATE/lo-addresses"
}
