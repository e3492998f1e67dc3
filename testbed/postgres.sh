# shellcheck shell=bash
# PostgreSQL test bed, sourced by ./do (which defines die and ensure_pkgs).
#   ensure_postgres    a server on 127.0.0.1:5432 (installed/started if need be);
#                      exports ORCHESTRA_TEST_PG_ADMIN, a URL that can create databases
#   pg_create_test_db  a throwaway database, dropped on exit; exports
#                      ORCHESTRA_TEST_POSTGRES_URL

PG_DEFAULT_ADMIN="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
PG_TEST_ROLE=orchestra_test
# kept so concurrent runs share one password instead of resetting each other's
PG_TEST_PWFILE="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/pg-test-password"

# -w: never prompt for a password, just fail
pg_can_connect() { PGCONNECT_TIMEOUT=5 psql -X -w -qAt -c 'select 1' "$1" >/dev/null 2>&1; }

# run a command as the postgres OS user (peer auth over the Unix socket)
as_postgres() {
  if [[ $EUID -ne 0 ]]; then (cd / && sudo -u postgres -- "$@")
  elif command -v runuser >/dev/null; then (cd / && runuser -u postgres -- "$@")
  else (cd / && su postgres -s /bin/sh -c "$(printf '%q ' "$@")")
  fi
}

# start (or create, then start) the Debian cluster on port 5432
pg_start_local() {
  command -v pg_ctlcluster >/dev/null || ensure_pkgs postgresql # Debian 12: 15
  local ver name
  read -r ver name < <(pg_lsclusters -h | awk '$3 == 5432 { print $1, $2; exit }') || true
  if [[ -z ${ver:-} ]]; then
    [[ -n $(pg_lsclusters -h) ]] &&
      die "PostgreSQL clusters exist but none on port 5432; start one there or set ORCHESTRA_TEST_PG_ADMIN"
    ver=$(find /usr/lib/postgresql -path '*/bin/postgres' | cut -d/ -f5 | sort -V | tail -1)
    name=main
    echo "do: creating PostgreSQL cluster $ver/$name" >&2
    $SUDO pg_createcluster -p 5432 "$ver" "$name" >/dev/null
  fi
  echo "do: starting PostgreSQL cluster $ver/$name" >&2
  # no systemd in containers: ask pg_ctlcluster to start it directly
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" "$name" start || true
  local i
  for ((i = 0; i < 30; i++)); do
    pg_isready -q -h 127.0.0.1 -p 5432 && return 0
    sleep 1
  done
  die "PostgreSQL $ver/$name did not become ready on 127.0.0.1:5432 within 30 s (see /var/log/postgresql/postgresql-$ver-$name.log)"
}

ensure_postgres() {
  ensure_pkgs postgresql-client:psql
  if [[ -n ${ORCHESTRA_TEST_PG_ADMIN:-} ]]; then # the caller's own server: use as is
    pg_can_connect "$ORCHESTRA_TEST_PG_ADMIN" || die "cannot connect to ORCHESTRA_TEST_PG_ADMIN"
    export ORCHESTRA_TEST_PG_ADMIN; return
  fi
  pg_isready -q -h 127.0.0.1 -p 5432 || pg_start_local
  if pg_can_connect "$PG_DEFAULT_ADMIN"; then # trust auth, as on the dev/CI machines
    export ORCHESTRA_TEST_PG_ADMIN=$PG_DEFAULT_ADMIN; return
  fi
  # Password required (Debian's default scram auth): make a local superuser role
  # with a generated password, through the postgres OS user. Superuser, so tests
  # get the same rights as with the trust-auth postgres URL.
  id postgres >/dev/null 2>&1 ||
    die "PostgreSQL on 127.0.0.1:5432 wants a password; set ORCHESTRA_TEST_PG_ADMIN"
  local pw url
  pw=$(cat "$PG_TEST_PWFILE" 2>/dev/null || true)
  url="postgres://$PG_TEST_ROLE:$pw@127.0.0.1:5432/postgres?sslmode=disable"
  if [[ -z $pw ]] || ! pg_can_connect "$url"; then
    echo "do: creating PostgreSQL role $PG_TEST_ROLE" >&2
    pw=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n') # hex: safe in a URL and in SQL
    as_postgres psql -X -q -v ON_ERROR_STOP=1 -p 5432 <<SQL >/dev/null ||
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_TEST_ROLE') THEN
    CREATE ROLE $PG_TEST_ROLE;
  END IF;
END \$\$;
ALTER ROLE $PG_TEST_ROLE WITH LOGIN SUPERUSER PASSWORD '$pw';
SQL
      die "could not create role $PG_TEST_ROLE as the postgres OS user; set ORCHESTRA_TEST_PG_ADMIN"
    mkdir -p "$(dirname "$PG_TEST_PWFILE")"
    (umask 077 && echo "$pw" >"$PG_TEST_PWFILE")
    url="postgres://$PG_TEST_ROLE:$pw@127.0.0.1:5432/postgres?sslmode=disable"
    pg_can_connect "$url" || die "role $PG_TEST_ROLE cannot log in over 127.0.0.1 (check pg_hba.conf)"
  fi
  export ORCHESTRA_TEST_PG_ADMIN=$url
}

PG_TEST_DB=""
pg_drop_test_db() {
  [[ -n $PG_TEST_DB ]] || return 0
  psql -X -w -q -c "DROP DATABASE IF EXISTS $PG_TEST_DB WITH (FORCE)" "$ORCHESTRA_TEST_PG_ADMIN" >/dev/null ||
    echo "do: could not drop test database $PG_TEST_DB" >&2
  PG_TEST_DB=""
}

pg_create_test_db() {
  PG_TEST_DB="orchestra_test_$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
  trap pg_drop_test_db EXIT
  trap 'exit 130' INT   # make signals run the EXIT trap too
  trap 'exit 143' TERM
  psql -X -w -q -v ON_ERROR_STOP=1 -c "CREATE DATABASE $PG_TEST_DB" "$ORCHESTRA_TEST_PG_ADMIN" >/dev/null
  # same URL as the admin one, with the database (path) replaced
  local admin=$ORCHESTRA_TEST_PG_ADMIN base query
  base=${admin%%\?*}; query=${admin#"$base"}
  [[ ${base#*://} == */* ]] && base=${base%/*}
  export ORCHESTRA_TEST_POSTGRES_URL="$base/$PG_TEST_DB$query"
  echo "do: test database $PG_TEST_DB" >&2
}
