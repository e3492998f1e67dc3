#!/usr/bin/env bash
# Developer entry point: ./do run | test | bench | help.
# Works on a fresh Debian 12 machine as root: installs whatever is missing.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [[ $EUID -eq 0 ]] || SUDO=sudo # apt-get needs root

die() { echo "do: $*" >&2; exit 1; }

# ensure_pkgs PKG[:BINARY]...: install only what is missing; a package counts
# as present if its binary (default: its own name) is in PATH or dpkg has it.
apt_updated=""
ensure_pkgs() {
  local spec pkg bin missing=()
  for spec in "$@"; do
    pkg=${spec%%:*}; bin=${spec#*:}
    command -v "$bin" >/dev/null 2>&1 && continue
    [[ $(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null) == *'install ok installed'* ]] && continue
    missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  echo "do: installing ${missing[*]}" >&2
  [[ -n $apt_updated ]] || { $SUDO apt-get update -qq; apt_updated=1; }
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# ensure_go: a Go at least as new as go.mod's `go` line, never downloaded if
# one exists. GOTOOLCHAIN=local stops go itself from fetching toolchains.
ensure_go() {
  export GOTOOLCHAIN=local PATH="/usr/local/go/bin:$PATH"
  local want have arch tmp
  want=$(awk '$1 == "go" { print $2; exit }' go.mod)
  [[ -n $want ]] || die "no go line in go.mod"
  [[ $want =~ ^1\.([0-9]+)$ ]] && ((BASH_REMATCH[1] >= 21)) && want=$want.0 # "1.21" is release 1.21.0
  have=$(go env GOVERSION 2>/dev/null || true); have=${have#go}
  if [[ -z $have || $(printf '%s\n' "$want" "$have" | sort -V | head -1) != "$want" ]]; then
    arch=$(dpkg --print-architecture)
    case $arch in i386) arch=386 ;; armhf) arch=armv6l ;; esac
    ensure_pkgs curl ca-certificates
    echo "do: installing go$want (found: ${have:-none}) into /usr/local/go" >&2
    tmp=$(mktemp)
    curl -fsSL "https://go.dev/dl/go$want.linux-$arch.tar.gz" -o "$tmp" ||
      { rm -f "$tmp"; die "could not download go$want"; }
    $SUDO rm -rf /usr/local/go
    $SUDO tar -C /usr/local -xzf "$tmp"
    rm -f "$tmp"
  fi
  PATH="$PATH:$(go env GOPATH)/bin"
}

# shellcheck source=testbed/postgres.sh
source "$ROOT/testbed/postgres.sh"
# shellcheck source=testbed/sshd.sh
source "$ROOT/testbed/sshd.sh"
# shellcheck source=testbed/bind9.sh
source "$ROOT/testbed/bind9.sh"
# shellcheck source=testbed/mariadb.sh
source "$ROOT/testbed/mariadb.sh"
# shellcheck source=testbed/mail.sh
source "$ROOT/testbed/mail.sh"
# shellcheck source=testbed/web.sh
source "$ROOT/testbed/web.sh"
# shellcheck source=testbed/pebble.sh
source "$ROOT/testbed/pebble.sh"

# ensure_axe: axe-core, pinned, for the browser tests' accessibility checks
# (fetched once with npm, kept with the test beds); sets ORCHESTRA_TEST_AXE.
AXE_VERSION=4.10.2
ensure_axe() {
  local dir="${XDG_STATE_HOME:-$HOME/.local/state}/orchestra/axe-core-$AXE_VERSION" tmp
  if [[ ! -f $dir/axe.min.js ]]; then
    ensure_pkgs npm
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack --silent "axe-core@$AXE_VERSION" >/dev/null && tar xzf "axe-core-$AXE_VERSION.tgz") ||
      die "cannot fetch axe-core $AXE_VERSION with npm"
    mkdir -p "$dir" && cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$dir/" && rm -rf "$tmp"
  fi
  export ORCHESTRA_TEST_AXE="$dir/axe.min.js"
}

# checksums of the generated code, to tell which files go generate changed
generated_sums() {
  {
    find internal/store/ent internal/store/migrations internal/api/models -type f -print0
    find internal -name '*_templ.go' -print0
    local f
    for f in internal/validate/phone/metadata_gen.go; do
      [[ ! -f $f ]] || printf '%s\0' "$f"
    done
  } 2>/dev/null | sort -z | xargs -0 -r sha256sum
}

cmd_test() {
  ensure_go
  ensure_pkgs gcc libc6-dev postgresql-client:psql git acl:setfacl cron:crontab # gcc+libc6-dev: -race needs cgo; acl: system users' permissions; cron: cron jobs
  ensure_postgres # sets ORCHESTRA_TEST_PG_ADMIN
  ensure_sshd_testbed 2 # sets ORCHESTRA_TEST_SSH_SERVERS, _KEY, _KNOWN_HOSTS
  ensure_bind9_testbed  # sets ORCHESTRA_TEST_BIND_MASTER, _SLAVE, _MASTER_DIR, _SLAVE_DIR
  ensure_mail_testbed   # sets ORCHESTRA_TEST_MAIL_DIR, _HOST, _SMTP, _SUBMISSION, _IMAP, _SIEVE
  ensure_web_testbed    # sets ORCHESTRA_TEST_WEB_DIR, _NGINX, _APACHE, _CA
  ensure_pebble_testbed # sets ORCHESTRA_TEST_PEBBLE_DIRECTORY, _CA, _MANAGEMENT
  ensure_mariadb        # sets ORCHESTRA_TEST_MYSQL_CLIENT, _ADDR (psql comes with ensure_postgres)
  # the web interface's browser tests: headless Chromium through chromedp;
  # their screenshots go to artifacts/
  ensure_pkgs chromium poppler-utils:pdftotext # bills print to PDF with Chromium; tests read them with pdftotext
  ensure_axe # axe-core: no page has a serious or critical accessibility violation
  export ORCHESTRA_TEST_BROWSER_REQUIRED=1 ORCHESTRA_TEST_ARTIFACTS="$ROOT/artifacts"

  echo "do: checking that generated code is up to date" >&2
  export ORCHESTRA_DEV_POSTGRES_URL=$ORCHESTRA_TEST_PG_ADMIN # migrationsgen diffs in a scratch DB
  local before after
  before=$(generated_sums)
  go generate ./...
  after=$(generated_sums)
  if [[ $after != "$before" ]]; then
    # only files generation changed count, whatever else is dirty in the tree
    diff <(echo "$before") <(echo "$after") | sed -n 's/^[<>] [0-9a-f]*  //p' | sort -u >&2 || true
    git status --porcelain -- internal/store >&2 || true
    die "go generate changed the files above: commit the regenerated code"
  fi

  echo "do: gofmt, go vet" >&2
  # tracked plus untracked-but-not-ignored files (same as tracked in a clean clone)
  local unformatted
  unformatted=$(git ls-files -z --cached --others --exclude-standard -- '*.go' ':!:*_templ.go' |
    xargs -0 -r gofmt -l)
  [[ -z $unformatted ]] || die "not gofmt'ed (run gofmt -w):"$'\n'"$unformatted"
  go vet ./...

  # a throwaway database per run; tests make their own sub-databases/schemas from it
  pg_create_test_db # sets ORCHESTRA_TEST_POSTGRES_URL, drops it on exit

  local args=("$@"); ((${#args[@]})) || args=(./...)
  echo "do: go test -race ${args[*]}" >&2
  go test -race -count=1 -timeout 60m "${args[@]}"
}

usage() {
  cat <<'EOF'
usage: ./do COMMAND [ARGS...]

  run [ARGS]     run the panel: go run ./cmd/orchestra serve ARGS
  test [ARGS]    install what is missing (Go, gcc, PostgreSQL, MariaDB...), check
                 generated code, gofmt and go vet, then go test -race ./... against a
                 throwaway PostgreSQL database. ARGS replace ./... and are passed
                 to go test, e.g.: ./do test -run TestX ./internal/api/
  bench [ARGS]   go run ./cmd/orchestra-bench ARGS (load generator: wrk)
  help           this text

Environment: ORCHESTRA_TEST_PG_ADMIN, a PostgreSQL URL of a role that can create
databases (default: postgres@127.0.0.1:5432 with trust auth, else a local
orchestra_test role made through the postgres OS user).
EOF
}

case ${1:-help} in
  run) shift; ensure_go; CGO_ENABLED=0 exec go run ./cmd/orchestra serve "$@" ;;
  test) shift; cmd_test "$@" ;;
  bench) shift; ensure_go; ensure_pkgs wrk; exec go run ./cmd/orchestra-bench "$@" ;;
  # internal steps, callable on their own
  ensure_go) ensure_go; go version ;;
  ensure_pkgs) shift; ensure_pkgs "$@" ;;
  ensure_sshd_testbed) shift; ensure_sshd_testbed "${1:-2}"; env | grep '^ORCHESTRA_TEST_SSH' ;;
  stop_sshd_testbed) stop_sshd_testbed ;;
  ensure_bind9_testbed) ensure_bind9_testbed; env | grep '^ORCHESTRA_TEST_BIND' ;;
  stop_bind9_testbed) stop_bind9_testbed ;;
  ensure_mail_testbed) ensure_mail_testbed; env | grep '^ORCHESTRA_TEST_MAIL' ;;
  stop_mail_testbed) stop_mail_testbed ;;
  ensure_web_testbed) ensure_web_testbed; env | grep '^ORCHESTRA_TEST_WEB' ;;
  stop_web_testbed) stop_web_testbed ;;
  ensure_pebble_testbed) ensure_pebble_testbed; env | grep '^ORCHESTRA_TEST_PEBBLE' ;;
  stop_pebble_testbed) stop_pebble_testbed ;;
  ensure_mariadb) ensure_mariadb; env | grep '^ORCHESTRA_TEST_MYSQL' ;;
  ensure_postgres) ensure_postgres; sed -E 's#(//[^:/@]+:)[^@]*@#\1***@#' <<<"$ORCHESTRA_TEST_PG_ADMIN" ;;
  help | -h | --help) usage ;;
  *) usage >&2; exit 2 ;;
esac
