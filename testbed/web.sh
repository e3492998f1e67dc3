# shellcheck shell=bash
# Web test bed (nginx, Apache, PHP-FPM, uWSGI), sourced by ./do (which
# defines die, ensure_pkgs and SUDO).
#   ensure_web_testbed  nginx on 127.0.0.14, Apache 2.4 on 127.0.0.15 (both
#                       ports 80 and 443), PHP-FPM 8.2 and a uWSGI emperor,
#                       all state in $WEB_STATE (below: DIR); reused while all
#                       four run with the same config and answer, otherwise
#                       all are (re)started with no sites, pools or vassals.
#                       Exports
#                         ORCHESTRA_TEST_WEB_DIR     DIR
#                         ORCHESTRA_TEST_WEB_NGINX   127.0.0.14
#                         ORCHESTRA_TEST_WEB_APACHE  127.0.0.15
#                         ORCHESTRA_TEST_WEB_CA      DIR/ca/ca.crt (the test CA)
#   stop_web_testbed    stops them (they are otherwise left running between
#                       runs), waiting for them to end, and takes back the lo
#                       addresses and permissions it added
#
# The contract the panel's web backends follow (they write these files as
# root over SSH and run the commands; the test bed owns everything else).
# A server's settings point them here (webtest.Bed.ServerSettings gives them):
#   WEB_USER            www-data: nginx's workers and Apache's children
#   WEB_NGINX           nginx -e DIR/nginx/error.log -c DIR/nginx/nginx.conf
#   WEB_NGINX_PID       DIR/nginx/nginx.pid      (the master's)
#   WEB_NGINX_SITES     DIR/nginx/sites
#   WEB_NGINX_ADDRESS   127.0.0.14
#   WEB_APACHE          apache2 -f DIR/apache/apache2.conf
#   WEB_APACHE_PID      DIR/apache/apache2.pid   (the parent's)
#   WEB_APACHE_SITES    DIR/apache/sites
#   WEB_APACHE_ADDRESS  127.0.0.15
#   WEB_PHPFPM          php-fpm8.2 -y DIR/php-fpm/php-fpm.conf
#   WEB_PHPFPM_PID      DIR/php-fpm/php-fpm.pid  (the master's)
#   WEB_PHPFPM_POOLS    DIR/php-fpm/pools
#   WEB_PHPFPM_SOCKETS  DIR/php-fpm/run
#   WEB_UWSGI_PID       DIR/uwsgi/emperor.pid    (the emperor's)
#   WEB_UWSGI_VASSALS   DIR/uwsgi/vassals
#   WEB_UWSGI_SOCKETS   DIR/uwsgi/run
# (the commands are the program and the options every call needs: a backend
# adds -t, -s reload, -k graceful).
#
# Who runs as whom: the nginx master, the Apache parent, the PHP-FPM master
# and the uWSGI emperor run as root; nginx's workers and Apache's children as
# www-data, PHP-FPM's pool children and uWSGI's vassals as the user each pool
# or vassal names.
#
# nginx 1.22, on 127.0.0.14 ports 80 and 443:
#   sites         WEB_NGINX_SITES/NAME.conf: server blocks, included in http {},
#                 one file per site. Every listen names the address:
#                 "listen 127.0.0.14:80;", "listen 127.0.0.14:443 ssl;" (a bare
#                 "listen 80" binds all addresses and clashes with the other
#                 beds), never default_server: the bed's own server has it (a
#                 Host no site names gets its 404). Relative includes resolve
#                 as in /etc/nginx (DIR/nginx links fastcgi.conf,
#                 fastcgi_params, snippets/, uwsgi_params, proxy_params,
#                 scgi_params and mime.types there), so
#                   location ~ \.php$ { include snippets/fastcgi-php.conf;
#                     fastcgi_pass unix:SOCKET; }
#                   location / { include uwsgi_params; uwsgi_pass unix:SOCKET; }
#   check         $WEB_NGINX -t: exit 1, the reason on stderr ("nginx: [emerg]
#                 unknown directive "x" in DIR/nginx/sites/NAME.conf:4"); it
#                 loads certificates (a key that does not match fails)
#   reload        $WEB_NGINX -s reload (returns at once: see "live" below; a
#                 config that fails keeps the old one running)
#   logs          DIR/nginx/error.log; DIR/nginx/access.log ("HOST CLIENT [TIME]
#                 "REQUEST" STATUS BYTES") unless a site sets its own
# Apache 2.4 (mpm_event), on 127.0.0.15 ports 80 and 443:
#   sites         WEB_APACHE_SITES/NAME.conf: <VirtualHost 127.0.0.15:80> (and
#                 :443 with SSLEngine on, SSLCertificateFile,
#                 SSLCertificateKeyFile) blocks, one file per site, name-based
#                 (ServerName, ServerAlias; the bed's own hosts come first and
#                 answer unknown names). Everything is denied (<Directory />
#                 Require all denied, AllowOverride None): a site grants its
#                 own directories. Modules: mpm_event, authz_core, authz_host,
#                 authz_user, authn_core, authn_file, auth_basic, alias, dir
#                 (DirectoryIndex index.html index.php), mime, setenvif, env,
#                 headers, rewrite, proxy, proxy_fcgi, proxy_http,
#                 proxy_uwsgi, ssl, socache_shmcb (and the built-in
#                 log_config, logio, version, unixd, so, watchdog). PHP:
#                   <FilesMatch "\.php$">
#                     SetHandler "proxy:unix:SOCKET|fcgi://POOL"
#                   </FilesMatch>
#                 (a name of its own per socket: Apache pools connections by
#                 it); uWSGI through mod_proxy_uwsgi (Debian's apache2 has it):
#                   ProxyPass "/" "unix:SOCKET|uwsgi://VASSAL/"
#   check         $WEB_APACHE -t: exit 1, "AH00526: Syntax error on line N of
#                 FILE: Invalid command 'X'..." on stderr. It does not load
#                 certificates: a key that does not match its certificate
#                 passes, then the graceful restart fails and Apache ENDS
#                 ("AH02565: Certificate and private key ... do not match",
#                 "Configuration Failed, exiting"): check the pair first (same
#                 openssl x509 -pubkey / openssl pkey -pubout)
#   reload        $WEB_APACHE -k graceful (parses the config first and signals
#                 nothing on a syntax error, exit 1; else returns at once)
#                 (no apachectl: it needs Debian's /etc/apache2/envvars)
#   logs          DIR/apache/error.log, DIR/apache/access.log ("HOST CLIENT - USER
#                 [TIME] "REQUEST" STATUS BYTES")
# PHP-FPM 8.2 (Debian's /etc/php/8.2/fpm/php.ini and conf.d; php-fpm8.2 -m:
# curl, gd, intl, mbstring, mysqli, mysqlnd, pdo_mysql, xml, dom, simplexml,
# xmlreader, xmlwriter, xsl, zip, opcache, sodium, posix, exif, fileinfo,
# iconv, gettext, sockets, ftp, calendar...: what WordPress asks for):
#   pools         WEB_PHPFPM_POOLS/NAME.conf, one pool per user, [NAME]:
#                   [NAME]
#                   user = NAME
#                   group = NAME
#                   listen = WEB_PHPFPM_SOCKETS/NAME.sock
#                   listen.owner = www-data
#                   listen.group = www-data
#                   listen.mode = 0660
#                   pm = ondemand
#                   pm.max_children = 5
#                   php_admin_value[memory_limit] = 256M
#                 The master makes the socket (WEB_PHPFPM_SOCKETS is root's,
#                 0755), owned by www-data so that only the web servers may
#                 connect, and removes it when the pool goes (at the reload).
#                 Pool names are unique across files
#   bed's pool    [orchestra-testbed] in DIR/php-fpm/php-fpm.conf, as www-data
#                 on DIR/php-fpm/bed.sock: php-fpm refuses to start without a
#                 pool, so this one is always there (on a real server: Debian's
#                 [www]). Backends never touch it nor use its name
#   check         $WEB_PHPFPM -t: exit 78, "ERROR: [pool X] cannot get uid for
#                 user 'Y'"... on stderr. ALWAYS before a reload: a reload
#                 that meets a broken pool ENDS PHP-FPM, every pool with it
#   reload        kill -USR2 "$(cat WEB_PHPFPM_PID)": the master lets its
#                 children end their requests (up to 10 s), then starts again
#                 from its config in place, same pid (it runs in the
#                 foreground, as under systemd)
#   log           DIR/php-fpm/php-fpm.log (the master's; and what children
#                 write to stderr, with catch_workers_output = yes)
# uWSGI 2.0 emperor:
#   vassals       WEB_UWSGI_VASSALS/NAME.ini, one per app, which the vassal
#                 reads itself, at each reload as its own user (keep it
#                 readable, 0644):
#                   [uwsgi]
#                   plugins = python3
#                   uid = NAME
#                   gid = NAME
#                   socket = WEB_UWSGI_SOCKETS/APP.sock
#                   chown-socket = www-data:www-data
#                   chmod-socket = 660
#                   master = true
#                   processes = 2
#                   chdir = /home/NAME/app
#                   wsgi-file = /home/NAME/app/app.py
#                 (Debian's uwsgi-core has no language built in: plugins =
#                 python3, always). The vassal binds its socket as root before
#                 it drops to uid (WEB_UWSGI_SOCKETS is root's, 0755), so it
#                 cannot remove it: whoever removes a vassal removes its socket
#   reload        none: the emperor looks at the directory every second,
#                 starts a new file, reloads (gracefully, same master) a file
#                 whose mtime changed, in whole seconds, and stops the vassal
#                 of a file removed. A rewrite within the second of the last
#                 one goes unseen: give the new file a later mtime (touch -d
#                 @$((OLD + 1)) FILE)
#   check         none (a vassal that fails to start is started again by the
#                 emperor, and says why in the log)
#   processes     a vassal's master is the emperor's child running
#                 "/usr/bin/uwsgi-core --ini WEB_UWSGI_VASSALS/NAME.ini", its
#                 workers that master's children
#   log           DIR/uwsgi/emperor.log: the emperor's and its vassals' (unless
#                 they set logto)
#   stop          the emperor stops, vassals and all, on SIGINT; SIGTERM only
#                 makes it reload
#
# When a change is live: every reload returns before it is. The waits below
# (the Go helpers run them as they are: webtest.ReloadWorkers,
# ReloadPHPFPMScript, VassalScript) return once every new request meets the
# new config:
#   nginx, Apache: the master starts workers with the new config and tells the
#   old ones to end once their requests are done; they stop accepting at once,
#   so once none of them is left every request meets the new config (requests
#   wait in the listening socket meanwhile). Take the master's children before
#   the reload, reload, wait until none of them is still its child:
#     master=$(cat WEB_NGINX_PID); old=$(pgrep -P "$master")
#     $WEB_NGINX -s reload          # or $WEB_APACHE -k graceful
#     while kill -0 "$master" && ! renewed; do sleep 0.1; done
#   where renewed: the master has live children (not zombies) and none of
#   them is an old one. Apache reaps its old children and starts new ones
#   at its once-a-second maintenance: until then requests wait in the
#   listening socket, and a reload may take up to a second to be live
#     kill -0 "$master"             # else Apache ended: a failed graceful restart
#   (an nginx reload whose config fails keeps its old workers forever: give up
#   after a while, say 30 s, and read the error log).
#   PHP-FPM: the master writes its pid file anew (unlink and create: a new
#   mtime) once the new pools listen:
#     f=WEB_PHPFPM_PID; pid=$(cat "$f"); old=$(stat -c %.9Y "$f")
#     kill -USR2 "$pid"
#     while kill -0 "$pid" && [[ $(stat -c %.9Y "$f" 2>/dev/null) == "$old" || $(cat "$f" 2>/dev/null) != "$pid" ]]; do sleep 0.1; done
#     kill -0 "$pid"                # else a broken pool ended PHP-FPM
#   uWSGI, file F: take the vassal's workers before (its master: pgrep -P
#   "$(cat WEB_UWSGI_PID)" -f -- "--ini F$"), put the new file in place (a
#   later mtime), wait until a master runs F with workers none of which is an
#   old one (a new vassal: with workers at all; its socket is bound before
#   and requests wait in it); a removed F: until no master runs it.
#   Measured here: nginx ~0.2 s, Apache ~0.05 s or ~1.1 s (its maintenance tick), PHP-FPM ~0.2-0.4 s, a new
#   vassal ~0.6 s, a changed or removed one ~2 s (the emperor's 1 s scan and
#   uWSGI's 1 s cycle); thousands of requests during reloads all answered.
#
# Homes: system users live in /home/NAME, 0750 NAME:NAME (the system users
# backend makes and keeps them so), which www-data cannot cross. A backend
# that serves files from a home grants www-data search there, and only that:
#   setfacl -m u:www-data:x /home/NAME
# (the ACL survives the system users backend's chmod 0750: the mask stays
# r-x), and makes what nginx or Apache read themselves (static files,
# htpasswd files) readable to www-data (0644 files in 0755 directories, or
# u:www-data:rX ACLs). PHP and uWSGI apps run as NAME and need nothing more.
# The bed assumes nothing of homes and grants nothing there.
# WordPress: Debian's package is in /usr/share/wordpress; its wp-config.php
# reads /etc/wordpress/config-HOST.php, so a site's copy (cp -a, then chown)
# brings its own wp-config.php; without one, WordPress sends the browser to
# /wp-admin/setup-config.php. Installing needs a MySQL database (the MariaDB
# test bed).
#
# TLS: a test CA made once, DIR/ca/ca.crt (ORCHESTRA_TEST_WEB_CA) with its key
# DIR/ca/ca.key (root's, 0600); DIR/ca/issue-cert DEST NAME... writes a
# certificate for the NAMEs (DNS names or IP addresses) signed by it to
# DEST.crt and its key to DEST.key (EC P-256, 0600); webtest.Bed.Cert issues
# them in Go. nginx's master and Apache's parent read certificates as root.
#
# Permissions: www-data (the sockets, the bed's own pages) and every vassal's
# user (its ini, at each reload) must cross DIR's parents, and /root is 0700:
# the test bed gives others search permission (o+x, no listing) on every
# parent that lacks it, and stop_web_testbed takes it back.
# Logs are truncated on every (re)start. DIR/lock is the Go helpers' (webtest)
# flock around edits of the shared directories and the checks and reloads
# that follow: a broken file one test is checking would fail another's reload.

WEB_NGINX_ADDR=127.0.0.14
WEB_APACHE_ADDR=127.0.0.15
WEB_USER=www-data # nginx's workers and Apache's children; owns the sockets
WEB_STATE="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/testbed/web"
WEB_PHPFPM_BIN=php-fpm8.2
WEB_BED_POOL=orchestra-testbed
# Apache modules beyond the built-in ones (apache2 -l)
WEB_APACHE_MODULES=(mpm_event authz_core authz_host authz_user authn_core authn_file auth_basic alias dir
  mime setenvif env headers rewrite proxy proxy_fcgi proxy_http proxy_uwsgi ssl socache_shmcb)
# what the test bed runs (PKG[:BINARY], as ensure_pkgs takes them); php: so
# that apt takes PHP-FPM, not libapache2-mod-php, for wordpress's
# "libapache2-mod-php | php"; the php8.2-* what WordPress asks for
WEB_PKGS=(nginx apache2 "php8.2-fpm:$WEB_PHPFPM_BIN" php php8.2-mysql php8.2-gd php8.2-curl php8.2-xml
  php8.2-mbstring php8.2-zip php8.2-intl uwsgi uwsgi-plugin-python3 wordpress openssl curl iproute2:ip
  procps:pgrep util-linux:setsid)
# /etc/nginx files that relative includes in sites expect next to nginx.conf
WEB_NGINX_LINKS=(fastcgi.conf fastcgi_params scgi_params uwsgi_params proxy_params mime.types snippets)

# is process $1 alive (a zombie is not)?
web_tb_alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# pid of the test bed's daemon $1 (nginx, apache, phpfpm, uwsgi), if it is
# alive and really ours: its command line names its config
web_tb_pid() {
  local dir=$WEB_STATE pidfile want pid cmd
  case $1 in
  nginx) pidfile=$dir/nginx/nginx.pid want=" -c $dir/nginx/nginx.conf" ;;
  apache) pidfile=$dir/apache/apache2.pid want=" -f $dir/apache/apache2.conf " ;;
  phpfpm) pidfile=$dir/php-fpm/php-fpm.pid want="($dir/php-fpm/php-fpm.conf)" ;;
  uwsgi) pidfile=$dir/uwsgi/emperor.pid want=" --ini $dir/uwsgi/emperor.ini" ;;
  *) return 1 ;;
  esac
  pid=$(tr -dc 0-9 2>/dev/null <"$pidfile") || return 1
  [[ -n $pid ]] && web_tb_alive "$pid" || return 1
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
  [[ "$cmd " == *"$want"* ]] || return 1
  echo "$pid"
}

# server $1 (nginx or apache) answers as the test bed's over http and https,
# and its PHP (through the bed's pool) over http: one curl, three requests
web_tb_probe_server() {
  local addr=$WEB_NGINX_ADDR out h=orchestra-testbed.invalid mark
  [[ $1 == apache ]] && addr=$WEB_APACHE_ADDR
  out=$(curl -sS -i --max-time 3 --cacert "$WEB_STATE/ca/ca.crt" --resolve "$h:80:$addr" --resolve "$h:443:$addr" \
    "http://$h/.orchestra-testbed" "https://$h/.orchestra-testbed" "http://$h/.orchestra-testbed.php" 2>/dev/null) || true
  # each answer carries the bed's header; the bodies say who answered
  mark=$(grep -cix "x-orchestra-testbed: $1"$'\r' <<<"$out") || true
  [[ $mark == 3 && $(grep -cx "orchestra-testbed $1" <<<"$out") == 2 && $out == *"orchestra-testbed php-fpm"* ]]
}

# every server answers as the test bed's; the uWSGI emperor runs
web_tb_probe() {
  web_tb_probe_server nginx && web_tb_probe_server apache && web_tb_pid uwsgi >/dev/null
}

# is $1 an address of lo? (output captured first: see bind9.sh)
web_tb_has_addr() {
  local out
  out=$(ip -4 -o addr show dev lo) || return 1
  [[ $out == *" inet $1/"* ]]
}

# let everyone search DIR's parents (www-data reaches the sockets, a vassal
# its ini), remembering each change
web_tb_grant_traverse() {
  local d p=$WEB_STATE parents=()
  while [[ $p != / && -n $p ]]; do
    p=$(dirname "$p")
    parents=("$p" "${parents[@]}")
  done
  for d in "${parents[@]}"; do
    [[ $(stat -c %A "$d") == *[xt] ]] && continue # others may search already
    echo "do: letting others search $d (o+x, no listing) for the web test bed" >&2
    $SUDO chmod o+x "$d" || die "could not give others search permission on $d"
    grep -qxF "$d" "$WEB_STATE/grants" 2>/dev/null || echo "$d" >>"$WEB_STATE/grants"
  done
}

# the test CA (made once), the bed's own certificate and the issue-cert
# helper; with "full", their validity is checked too (else a broken or
# expired one shows in the https probe, which (re)starts the bed)
web_tb_ca() {
  local ca=$WEB_STATE/ca script
  mkdir -p "$ca"
  chmod 0755 "$ca"
  script=$(web_tb_issue_script)
  if [[ $script != "$(cat "$ca/issue-cert" 2>/dev/null)" ]]; then
    printf '%s\n' "$script" >"$ca/issue-cert"
    chmod 0755 "$ca/issue-cert"
  fi
  if [[ ! -s $ca/ca.crt || ! -s $ca/ca.key ]] || { [[ $1 == full ]] &&
    ! { openssl x509 -in "$ca/ca.crt" -noout -checkend 2592000 && openssl pkey -in "$ca/ca.key" -noout; } >/dev/null 2>&1; }; then
    echo "do: making the web test bed's CA" >&2
    rm -f "$ca/ca.crt" "$ca/ca.key" "$ca/bed.crt" "$ca/bed.key"
    (umask 077 && openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
      -keyout "$ca/ca.key" -out "$ca/ca.crt" -days 3650 -subj "/CN=Orchestra web test bed CA" \
      -config <(printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = ext' '[dn]' '[ext]' \
        'basicConstraints = critical,CA:TRUE' 'keyUsage = critical,keyCertSign,cRLSign' \
        'subjectKeyIdentifier = hash') 2>/dev/null) || die "web test bed: could not make the CA"
    chmod 0644 "$ca/ca.crt"
  fi
  if [[ ! -s $ca/bed.crt || ! -s $ca/bed.key ]] || { [[ $1 == full ]] &&
    ! { openssl verify -CAfile "$ca/ca.crt" "$ca/bed.crt" && openssl x509 -in "$ca/bed.crt" -noout -checkend 2592000; } >/dev/null 2>&1; }; then
    "$ca/issue-cert" "$ca/bed" orchestra-testbed.invalid || die "web test bed: could not issue its certificate"
  fi
}

# DIR/ca/issue-cert DEST NAME...: a certificate for NAMEs by the test CA
web_tb_issue_script() {
  cat <<EOF
#!/bin/bash
# generated by testbed/web.sh: edits are overwritten
# issue-cert DEST NAME...: DEST.crt, a certificate for the NAMEs (DNS names,
# or IP addresses) signed by the web test bed's CA ($WEB_STATE/ca/ca.crt),
# and DEST.key, its key (EC P-256, 0600); valid for 825 days
set -euo pipefail
ca=$WEB_STATE/ca
EOF
  cat <<'EOF'
(($# >= 2)) || { echo "usage: $0 DEST NAME..." >&2; exit 2; }
dest=$1; shift
san=""
for n in "$@"; do
  if [[ $n =~ ^[0-9.]+$|: ]]; then san+=",IP:$n"; else san+=",DNS:$n"; fi
done
umask 077
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
  -keyout "$dest.key" -out "$dest.crt" -days 825 -subj "/CN=$1" \
  -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
  -config <(printf '%s\n' '[req]' 'distinguished_name = dn' 'x509_extensions = ext' '[dn]' '[ext]' \
    'basicConstraints = critical,CA:FALSE' 'keyUsage = critical,digitalSignature' \
    'extendedKeyUsage = serverAuth' 'authorityKeyIdentifier = keyid' "subjectAltName = ${san#,}") 2>/dev/null
chmod 0644 "$dest.crt"
EOF
}

web_tb_nginx_conf() {
  local dir=$WEB_STATE a=$WEB_NGINX_ADDR
  cat <<EOF
# generated by testbed/web.sh: edits are overwritten; sites go in
# $dir/nginx/sites/*.conf
user $WEB_USER $WEB_USER;
worker_processes 2;
pid $dir/nginx/nginx.pid;
lock_file $dir/nginx/nginx.lock;
error_log $dir/nginx/error.log notice;
events {
  worker_connections 512;
}
http {
  include mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  server_tokens off;
  types_hash_max_size 2048;
  log_format vhost '\$host \$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent';
  access_log $dir/nginx/access.log vhost;
  client_body_temp_path $dir/nginx/tmp/body;
  proxy_temp_path $dir/nginx/tmp/proxy;
  fastcgi_temp_path $dir/nginx/tmp/fastcgi;
  uwsgi_temp_path $dir/nginx/tmp/uwsgi;
  scgi_temp_path $dir/nginx/tmp/scgi;
  ssl_protocols TLSv1.2 TLSv1.3;
  ssl_prefer_server_ciphers off;
  # the test bed's own server: what no site names
  server {
    listen $a:80 default_server;
    listen $a:443 ssl default_server;
    server_name orchestra-testbed.invalid;
    ssl_certificate $dir/ca/bed.crt;
    ssl_certificate_key $dir/ca/bed.key;
    root $dir/htdocs;
    add_header X-Orchestra-Testbed nginx always;
    location = /.orchestra-testbed {
      default_type text/plain;
      return 200 "orchestra-testbed nginx\n";
    }
    location = /.orchestra-testbed.php {
      include fastcgi.conf;
      fastcgi_pass unix:$dir/php-fpm/bed.sock;
    }
    location / {
      return 404;
    }
  }
  include $dir/nginx/sites/*.conf;
}
EOF
}

web_tb_apache_conf() {
  local dir=$WEB_STATE a=$WEB_APACHE_ADDR m
  cat <<EOF
# generated by testbed/web.sh: edits are overwritten; sites go in
# $dir/apache/sites/*.conf
ServerRoot $dir/apache
DefaultRuntimeDir $dir/apache/run
PidFile $dir/apache/apache2.pid
Mutex file:$dir/apache/run default
ServerName orchestra-testbed.invalid
User $WEB_USER
Group $WEB_USER
Listen $a:80
Listen $a:443
ErrorLog $dir/apache/error.log
LogLevel warn
EOF
  for m in "${WEB_APACHE_MODULES[@]}"; do
    echo "LoadModule ${m}_module /usr/lib/apache2/modules/mod_$m.so"
  done
  cat <<EOF
# few processes: graceful restarts need room for the old ones
StartServers 1
ServerLimit 8
ThreadsPerChild 16
MaxRequestWorkers 64
MinSpareThreads 8
MaxSpareThreads 32
Timeout 60
KeepAlive On
MaxKeepAliveRequests 100
KeepAliveTimeout 5
ServerTokens Prod
ServerSignature Off
TraceEnable Off
HostnameLookups Off
AccessFileName .htaccess
TypesConfig /etc/mime.types
DirectoryIndex index.html index.php
LogFormat "%v %h %l %u %t \"%r\" %>s %O" vhost
CustomLog $dir/apache/access.log vhost
SSLProtocol -all +TLSv1.2 +TLSv1.3
SSLSessionCache shmcb:$dir/apache/run/ssl_scache(512000)
SSLSessionCacheTimeout 300
<Directory />
  Options FollowSymLinks
  AllowOverride None
  Require all denied
</Directory>
<FilesMatch "^\.ht">
  Require all denied
</FilesMatch>
<Directory $dir/htdocs>
  Require all granted
</Directory>
# the test bed's own hosts (the first of each address: what no site names)
<VirtualHost $a:80>
  ServerName orchestra-testbed.invalid
  Include $dir/apache/bed-host.conf
</VirtualHost>
<VirtualHost $a:443>
  ServerName orchestra-testbed.invalid
  SSLEngine on
  SSLCertificateFile $dir/ca/bed.crt
  SSLCertificateKeyFile $dir/ca/bed.key
  Include $dir/apache/bed-host.conf
</VirtualHost>
IncludeOptional $dir/apache/sites/*.conf
EOF
}

# what the test bed's own virtual hosts serve
web_tb_apache_bed_host() {
  local dir=$WEB_STATE
  cat <<EOF
# generated by testbed/web.sh: edits are overwritten
DocumentRoot $dir/htdocs
Header always set X-Orchestra-Testbed apache
<Files ".orchestra-testbed.php">
  SetHandler "proxy:unix:$dir/php-fpm/bed.sock|fcgi://$WEB_BED_POOL"
</Files>
Alias /.orchestra-testbed $dir/htdocs/apache.txt
EOF
}

web_tb_phpfpm_conf() {
  local dir=$WEB_STATE
  cat <<EOF
; generated by testbed/web.sh: edits are overwritten; pools go in
; $dir/php-fpm/pools/*.conf
[global]
pid = $dir/php-fpm/php-fpm.pid
error_log = $dir/php-fpm/php-fpm.log
log_level = notice
; in the foreground (under setsid): a reload re-executes the master in
; place, same pid, as under systemd
daemonize = no
; a reload lets children end their requests for this long
process_control_timeout = 10s
include = $dir/php-fpm/pools/*.conf

; the test bed's own pool (php-fpm does not start without one): backends
; never touch it nor use its name
[$WEB_BED_POOL]
user = $WEB_USER
group = $WEB_USER
listen = $dir/php-fpm/bed.sock
listen.owner = $WEB_USER
listen.group = $WEB_USER
listen.mode = 0660
pm = ondemand
pm.max_children = 2
pm.process_idle_timeout = 10s
EOF
}

web_tb_uwsgi_ini() {
  local dir=$WEB_STATE
  cat <<EOF
; generated by testbed/web.sh: edits are overwritten; vassals go in
; $dir/uwsgi/vassals/*.ini
[uwsgi]
emperor = $dir/uwsgi/vassals/*.ini
emperor-freq = 1
pidfile = $dir/uwsgi/emperor.pid
daemonize = $dir/uwsgi/emperor.log
EOF
}

web_tb_probe_php() {
  cat <<'EOF'
<?php
// generated by testbed/web.sh: the test bed's own probe
header('Content-Type: text/plain');
echo "orchestra-testbed php-fpm ", PHP_VERSION, "\n";
EOF
}

# the processes $1 started, and theirs, and so on
web_tb_descendants() {
  local k
  for k in $(pgrep -P "$1" 2>/dev/null || true); do
    echo "$k"
    web_tb_descendants "$k"
  done
}

# stop our daemons if they run, waiting for them and what they started to
# end (their ports and sockets stay taken until then); all at once
web_tb_kill() {
  local d pid sig w pids=() kids=()
  for d in nginx apache phpfpm uwsgi; do
    pid=$(web_tb_pid "$d") || continue
    case $d in
    uwsgi) sig=INT ;; # SIGTERM only reloads the emperor
    *) sig=TERM ;;
    esac
    # the processes it started, and theirs (a vassal's workers)
    mapfile -t -O "${#kids[@]}" kids < <(web_tb_descendants "$pid")
    pids+=("$pid")
    $SUDO kill -"$sig" "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}" "${kids[@]}"; do
    for ((w = 0; w < 100; w++)); do web_tb_alive "$pid" || break; sleep 0.1; done
    if web_tb_alive "$pid"; then
      $SUDO kill -KILL "$pid" 2>/dev/null || true
      for ((w = 0; w < 20; w++)); do web_tb_alive "$pid" || break; sleep 0.1; done
    fi
  done
}

# the last lines of log $1, to stderr
web_tb_tail() { tail -n 20 "$1" >&2 2>/dev/null || true; }

web_tb_start() {
  local dir=$WEB_STATE out d f
  # a fresh start: no sites, pools, vassals, sockets, whatever the previous
  # instances had
  for d in nginx/sites nginx/tmp apache/sites apache/run php-fpm/pools php-fpm/run uwsgi/vassals uwsgi/run; do
    rm -rf "${dir:?}/$d"
    $SUDO install -d -o root -g root -m 0755 "$dir/$d"
  done
  rm -f "$dir/php-fpm/bed.sock" "$dir"/*/*.pid
  for f in nginx/error.log nginx/access.log apache/error.log apache/access.log php-fpm/php-fpm.log uwsgi/emperor.log; do
    : >"$dir/$f"
  done

  out=$($SUDO nginx -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" -t 2>&1) ||
    die "web test bed: invalid $dir/nginx/nginx.conf: $out"
  out=$($SUDO apache2 -f "$dir/apache/apache2.conf" -t 2>&1) ||
    die "web test bed: invalid $dir/apache/apache2.conf: $out"
  out=$($SUDO "$WEB_PHPFPM_BIN" -y "$dir/php-fpm/php-fpm.conf" -t 2>&1) ||
    die "web test bed: invalid $dir/php-fpm/php-fpm.conf: $out"

  echo "do: starting test-bed PHP-FPM, uWSGI emperor, nginx on $WEB_NGINX_ADDR and Apache on $WEB_APACHE_ADDR" >&2
  # each returns once it runs in the background; none keeps the caller's
  # descriptors. PHP-FPM first: the servers' probes go through it. It stays
  # in the foreground, in a session of its own (setsid -f forks it), so that
  # a reload keeps its pid (a daemonizing php-fpm forks anew at each reload)
  $SUDO setsid -f "$WEB_PHPFPM_BIN" -y "$dir/php-fpm/php-fpm.conf" </dev/null >"$dir/php-fpm/start.log" 2>&1 ||
    die "test-bed PHP-FPM did not start (see $dir/php-fpm/start.log)"
  # in /: a vassal goes back to its start directory at each reload, as its user
  (cd / && exec $SUDO uwsgi --ini "$dir/uwsgi/emperor.ini") </dev/null >"$dir/uwsgi/start.log" 2>&1 || {
    cat "$dir/uwsgi/start.log" >&2
    die "test-bed uWSGI emperor did not start (see $dir/uwsgi/emperor.log)"
  }
  $SUDO nginx -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf" </dev/null >"$dir/nginx/start.log" 2>&1 || {
    cat "$dir/nginx/start.log" >&2
    web_tb_tail "$dir/nginx/error.log"
    die "test-bed nginx did not start (see $dir/nginx/error.log)"
  }
  $SUDO apache2 -f "$dir/apache/apache2.conf" -k start </dev/null >"$dir/apache/start.log" 2>&1 || {
    cat "$dir/apache/start.log" >&2
    web_tb_tail "$dir/apache/error.log"
    die "test-bed Apache did not start (see $dir/apache/error.log)"
  }
}

ensure_web_testbed() {
  # one dpkg-query for all (ensure_pkgs asks once per package without a
  # binary: most of a warm start's time)
  local out
  out=$(dpkg-query -W -f='${db:Status-Status}\n' "${WEB_PKGS[@]%%:*}" 2>/dev/null) || out=""
  [[ $(grep -cx installed <<<"$out") == "${#WEB_PKGS[@]}" ]] || ensure_pkgs "${WEB_PKGS[@]}"
  local dir=$WEB_STATE
  [[ $dir != *[[:space:]]* ]] || die "the web test bed cannot live in a path with spaces: $dir"
  mkdir -p "$dir/nginx" "$dir/apache" "$dir/php-fpm" "$dir/uwsgi" "$dir/htdocs"
  chmod 0755 "$dir" "$dir/nginx" "$dir/apache" "$dir/php-fpm" "$dir/uwsgi" "$dir/htdocs"

  local addr
  for addr in "$WEB_NGINX_ADDR" "$WEB_APACHE_ADDR"; do
    web_tb_has_addr "$addr" && continue
    echo "do: adding $addr/32 to lo (a web test bed address)" >&2
    $SUDO ip addr add "$addr/32" dev lo || web_tb_has_addr "$addr" ||
      die "could not add $addr/32 to lo (the web test bed needs CAP_NET_ADMIN)"
    grep -qxF "$addr" "$dir/lo-addresses" 2>/dev/null || echo "$addr" >>"$dir/lo-addresses"
  done
  web_tb_grant_traverse
  web_tb_ca quick
  local l
  for l in "${WEB_NGINX_LINKS[@]}"; do
    [[ $(readlink "$dir/nginx/$l" 2>/dev/null) == "/etc/nginx/$l" ]] || ln -sfn "/etc/nginx/$l" "$dir/nginx/$l"
  done

  local -A conf=()
  conf[nginx/nginx.conf]=$(web_tb_nginx_conf)
  conf[apache/apache2.conf]=$(web_tb_apache_conf)
  conf[apache/bed-host.conf]=$(web_tb_apache_bed_host)
  conf[php-fpm/php-fpm.conf]=$(web_tb_phpfpm_conf)
  conf[uwsgi/emperor.ini]=$(web_tb_uwsgi_ini)
  conf[htdocs/.orchestra-testbed.php]=$(web_tb_probe_php)
  conf[htdocs/apache.txt]="orchestra-testbed apache"
  local f same=1
  for f in "${!conf[@]}"; do
    [[ ${conf[$f]} == "$(cat "$dir/$f" 2>/dev/null)" ]] || same=""
  done
  if [[ -n $same ]] && web_tb_pid nginx >/dev/null && web_tb_pid apache >/dev/null &&
    web_tb_pid phpfpm >/dev/null && web_tb_pid uwsgi >/dev/null && web_tb_probe; then
    : # running, same config, answering: reuse
  else
    web_tb_kill
    web_tb_ca full
    for f in "${!conf[@]}"; do
      printf '%s\n' "${conf[$f]}" >"$dir/$f"
      chmod 0644 "$dir/$f"
    done
    web_tb_start
    local deadline=$((SECONDS + 30))
    until web_tb_probe; do
      ((SECONDS < deadline)) || {
        web_tb_tail "$dir/nginx/error.log"
        web_tb_tail "$dir/apache/error.log"
        web_tb_tail "$dir/php-fpm/php-fpm.log"
        web_tb_tail "$dir/uwsgi/emperor.log"
        die "the web test bed does not answer on $WEB_NGINX_ADDR and $WEB_APACHE_ADDR within 30 s (see the logs in $dir)"
      }
      sleep 0.1
    done
  fi

  export ORCHESTRA_TEST_WEB_DIR=$dir
  export ORCHESTRA_TEST_WEB_NGINX=$WEB_NGINX_ADDR
  export ORCHESTRA_TEST_WEB_APACHE=$WEB_APACHE_ADDR
  export ORCHESTRA_TEST_WEB_CA=$dir/ca/ca.crt
}

stop_web_testbed() {
  local addr d
  web_tb_kill
  if [[ -s $WEB_STATE/grants ]]; then
    while read -r d; do
      [[ -n $d ]] || continue
      $SUDO chmod o-x "$d" 2>/dev/null || true
    done <"$WEB_STATE/grants"
    rm -f "$WEB_STATE/grants"
  fi
  [[ -s $WEB_STATE/lo-addresses ]] || return 0
  while read -r addr; do
    [[ -n $addr ]] || continue
    $SUDO ip addr del "$addr/32" dev lo 2>/dev/null || true
  done <"$WEB_STATE/lo-addresses"
  rm -f "$WEB_STATE/lo-addresses"
}
