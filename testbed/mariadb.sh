# shellcheck shell=bash
# MariaDB test bed, sourced by ./do (which defines die, ensure_pkgs and SUDO).
#   ensure_mariadb   a MariaDB server on 127.0.0.1:3306 that root administers
#                    through the Unix socket (unix_socket, Debian's default), the
#                    way the panel's backends do over SSH on the test-bed servers
#                    (the same machine); installed and started if need be, without
#                    systemd. Exports
#                      ORCHESTRA_TEST_MYSQL_CLIENT  the administrator's client, as
#                                                   root on the server
#                      ORCHESTRA_TEST_MYSQL_ADDR    host:port of TCP logins
# The server is shared, not reset: tests use unique names and drop what they make.

MARIADB_ADDR=127.0.0.1:3306

# as root, through the socket
mariadb_admin() { $SUDO mariadb --connect-timeout=5 "$@"; }

mariadb_up() { mariadb_admin -N -B -e 'SELECT 1' >/dev/null 2>&1; }

# start the installed server: the init script (no systemd in containers),
# else mariadbd-safe directly
mariadb_start() {
  echo "do: starting MariaDB" >&2
  $SUDO install -d -o mysql -g mysql -m 0755 /run/mysqld
  if [[ -x /etc/init.d/mariadb ]]; then
    $SUDO /etc/init.d/mariadb start >/dev/null 2>&1 || true
  fi
  if ! mariadb_up; then
    (cd / && $SUDO setsid mariadbd-safe </dev/null >/dev/null 2>&1 &)
  fi
  local i
  for ((i = 0; i < 30; i++)); do
    mariadb_up && return 0
    sleep 1
  done
  die "MariaDB did not start within 30 s (see /var/log/mysql/error.log or journalctl)"
}

ensure_mariadb() {
  ensure_pkgs mariadb-server:mariadbd mariadb-client:mariadb
  mariadb_up || mariadb_start
  # TCP logins, as customers' applications make them (ping answers 0 even
  # when the server refuses the anonymous login: it only proves it listens)
  $SUDO mariadb-admin --protocol=TCP -h "${MARIADB_ADDR%:*}" -P "${MARIADB_ADDR##*:}" \
    --connect-timeout=5 ping >/dev/null 2>&1 ||
    die "MariaDB does not listen on $MARIADB_ADDR (bind-address, skip-networking?)"
  # no anonymous accounts, as mysql_secure_installation leaves a server: a
  # ''@localhost account would take the TCP logins from localhost of every
  # user@% the panel makes
  local drops
  drops=$(mariadb_admin -N -B -e \
    "SELECT CONCAT('DROP USER ', QUOTE(User), '@', QUOTE(Host), ';') FROM mysql.user WHERE User = ''")
  if [[ -n $drops ]]; then
    echo "do: dropping MariaDB's anonymous accounts" >&2
    mariadb_admin <<<"$drops"
  fi
  export ORCHESTRA_TEST_MYSQL_CLIENT=mysql ORCHESTRA_TEST_MYSQL_ADDR=$MARIADB_ADDR
}
