# Shared by the deploy/local commands: where things live, how to install what is missing, how to
# run a command as the database user, and how to start and stop a process by its pid file.
# shellcheck shell=bash
# Some of these are read only by the scripts that source this file.
# shellcheck disable=SC2034

set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STATE_DIR="${BANK_STATE_DIR:-$REPO_ROOT/.run}"
LOG_DIR="$STATE_DIR/logs"
# Public endpoints (HAProxy): the primary, the API and the portal. BANK_PORT_OFFSET moves them all.
PG_PORT="${BANK_PG_PORT:-$((55432 + ${BANK_PORT_OFFSET:-0}))}"
LOGIC_PORT="${BANK_LOGIC_PORT:-$((8081 + ${BANK_PORT_OFFSET:-0}))}"
PORTAL_PORT="${BANK_PORTAL_PORT:-$((8080 + ${BANK_PORT_OFFSET:-0}))}"
PG_BIN="${PG_BIN:-/usr/lib/postgresql/15/bin}"
# The topology's own certificate authority and the certificates it issues (ensure_certificates):
# every service speaks TLS. curl and etcdctl trust this authority, and only it, in these commands.
TLS_DIR="$STATE_DIR/tls"
CA_FILE="$TLS_DIR/ca.crt"
export CURL_CA_BUNDLE="$CA_FILE" ETCDCTL_CACERT="$CA_FILE"
RELEASE_DIR="$REPO_ROOT/target/release"
# Tools installed from PyPI (Patroni, schemathesis), shared by every state directory: a system
# directory when root (the postgres user must be able to run Patroni), else under the home.
if [ "$(id -u)" = 0 ]; then
  TOOLS_DIR="${BANK_TOOLS_DIR:-/opt/bank-tools}"
else
  TOOLS_DIR="${BANK_TOOLS_DIR:-${XDG_DATA_HOME:-$HOME/.local/share}/bank-tools}"
fi

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() { printf 'error: %s\n' "$*" >&2; exit 1; }

is_root() { [ "$(id -u)" = 0 ]; }

# The command's help: its header comment (from the second line to the first that is not a
# comment), which gives its usage, what it does and its exit statuses.
help_text() { sed -n '2,/^[^#]/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
# refuse_usage MESSAGE: a mistake in the command line, said with a pointer to --help; exit 2.
refuse_usage() { printf 'error: %s (see %s --help)\n' "$*" "${0#"$REPO_ROOT"/}" >&2; exit 2; }
# An argument as the shell would quote it: an empty one shows, and escapes or newlines in it
# reach the terminal as text.
quoted() { printf '%q' "$1"; }
# help_anywhere "$@": --help or -h among the arguments prints the help and does nothing else.
help_anywhere() {
  local arg
  for arg in "$@"; do
    case "$arg" in -h|--help) help_text; exit 0 ;; esac
  done
}
# no_options "$@": for a command that takes no arguments: --help anywhere prints the help and
# does nothing else; any other argument (an empty one too) is refused with exit status 2 before
# anything is done.
no_options() {
  help_anywhere "$@"
  [ $# -eq 0 ] || refuse_usage "unknown option $(quoted "$1")"
}

# Installs Debian packages that are not installed yet.
ensure_packages() {
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
      || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  step "installing ${missing[*]}"
  local sudo=()
  is_root || sudo=(sudo)
  # The bank makes its own clusters; Debian's default cluster would only take a port.
  "${sudo[@]}" mkdir -p /etc/postgresql-common
  if [ ! -f /etc/postgresql-common/createcluster.conf ]; then
    echo "create_main_cluster = false" | "${sudo[@]}" tee /etc/postgresql-common/createcluster.conf >/dev/null
  fi
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

# The contract tester, from PyPI, in a venv of its own; prints the path of its executable.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="$TOOLS_DIR/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    ensure_packages python3-venv >&2
    step "installing schemathesis $SCHEMATHESIS_VERSION from PyPI" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2
  fi
  echo "$venv/bin/schemathesis"
}

# kubernetes-validate, from PyPI, with the Kubernetes API's own schemas inside it (no download at
# run time), in a venv of its own; its jsonschema and PyYAML check the CloudNativePG resources.
# Prints the venv's bin directory.
KUBERNETES_VALIDATE_VERSION=1.37.0
ensure_kubernetes_validate() {
  local venv="$TOOLS_DIR/kubernetes-validate-$KUBERNETES_VALIDATE_VERSION"
  if [ ! -x "$venv/bin/kubernetes-validate" ]; then
    ensure_packages python3-venv >&2
    step "installing kubernetes-validate $KUBERNETES_VALIDATE_VERSION from PyPI" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "jsonschema==4.26.0" "PyYAML==6.0.4" >&2
  fi
  echo "$venv/bin"
}

# ensure_npm_package PACKAGE VERSION: PACKAGE@VERSION from the npm registry (npm from Debian when
# the machine has none), installed once into a directory of its own under the tools directory;
# prints that directory.
ensure_npm_package() {
  local package=$1 version=$2
  local dir="$TOOLS_DIR/${package##*/}-$version"
  if [ ! -s "$dir/node_modules/$package/package.json" ]; then
    command -v npm >/dev/null || ensure_packages npm >&2
    step "installing $package $version from the npm registry" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --silent "$package@$version" >&2
  fi
  echo "$dir"
}

# axe-core, the accessibility engine the browser tests run in each page. Prints the path of its
# browser bundle.
AXE_CORE_VERSION=4.14.1
ensure_axe_core() {
  echo "$(ensure_npm_package axe-core "$AXE_CORE_VERSION")/node_modules/axe-core/axe.min.js"
}

# The OpenAPI tools of the contract step, in a venv of their own: openapi-spec-validator checks
# the served document, openapi-python-client generates the client that makes a transfer with it
# (ruff, which it formats with, comes along). Prints the venv's bin directory.
OPENAPI_PYTHON_CLIENT_VERSION=0.29.1
OPENAPI_SPEC_VALIDATOR_VERSION=0.9.0
ensure_openapi_tools() {
  local venv="$TOOLS_DIR/openapi-tools-$OPENAPI_PYTHON_CLIENT_VERSION-$OPENAPI_SPEC_VALIDATOR_VERSION"
  if [ ! -x "$venv/bin/openapi-python-client" ] || [ ! -x "$venv/bin/openapi-spec-validator" ]; then
    ensure_packages python3-venv >&2
    step "installing openapi-python-client and openapi-spec-validator from PyPI" >&2
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check \
      "openapi-python-client==$OPENAPI_PYTHON_CLIENT_VERSION" \
      "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION" >&2
  fi
  echo "$venv/bin"
}

# cargo-deny checks the licences, banned crates and sources of every dependency (deny.toml); it is
# built from crates.io into a root of its own under $TOOLS_DIR. Prints the binary's path.
CARGO_DENY_VERSION=0.20.2
ensure_cargo_deny() {
  local root="$TOOLS_DIR/cargo-deny-$CARGO_DENY_VERSION"
  if [ ! -x "$root/bin/cargo-deny" ]; then
    step "installing cargo-deny $CARGO_DENY_VERSION from crates.io (once)" >&2
    cargo install --quiet --locked --root "$root" "cargo-deny@$CARGO_DENY_VERSION" >&2
  fi
  echo "$root/bin/cargo-deny"
}

ensure_toolchain() {
  command -v cargo >/dev/null 2>&1 || fail "cargo is not installed; install the Rust toolchain (rustup) first"
}

# Runs a command as the database's owner: the postgres user when we are root (PostgreSQL refuses
# to run as root), ourselves otherwise.
as_db_user() {
  if is_root; then
    setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"
  else
    "$@"
  fi
}

# wait_http URL SECONDS: waits until URL answers 2xx.
wait_http() {
  local url=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 10))); do
    curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# port_free PORT: whether nothing listens on 127.0.0.1:PORT.
port_free() {
  ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# require_free_port NAME PORT VARIABLE: stops with a clear message if another program has the port.
require_free_port() {
  port_free "$2" || fail "port $2 (for $1) is taken by another program; free it or set $3"
}

# Over TLS, the server's certificate checked against the topology's authority and its address.
database_url() {
  echo "postgres://bank:$(cat "$STATE_DIR/secrets/db-password")@127.0.0.1:$PG_PORT/bank?sslmode=verify-full&sslrootcert=$CA_FILE"
}

# The logic tier's server key, which seals second-factor secrets and keys the recovery codes'
# HMAC: made once (openssl rand -hex 32, mode 0600) and never replaced, since the secrets sealed
# under it open under no other. It lives beside the topology, not in the database: back it up
# apart from the database's backups.
SERVER_KEY_FILE="$STATE_DIR/secrets/server.key"
ensure_server_key() {
  if [ ! -s "$SERVER_KEY_FILE" ]; then
    (umask 077 && openssl rand -hex 32 > "$SERVER_KEY_FILE.new")
    mv "$SERVER_KEY_FILE.new" "$SERVER_KEY_FILE"
  fi
  chmod 600 "$SERVER_KEY_FILE"
}

# The schema owner's, for migrations only.
owner_database_url() {
  echo "postgres://bank_owner:$(cat "$STATE_DIR/secrets/db-owner-password")@127.0.0.1:$PG_PORT/bank?sslmode=verify-full&sslrootcert=$CA_FILE"
}
