#!/usr/bin/env bash
# Set up what the test suite needs, then run pytest with this script's arguments.
# It installs the package with its development tools into .venv, and the pinned npm tools (the MCP Bundle
# CLI, the MCP Inspector and Node 22) into .ci/node/. The HTTP replica tests also need a redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
bash tests/tools/install-node-tools.sh

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "tests/run.sh: installing redis-server with apt-get" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "tests/run.sh: redis-server is missing; install it (Debian or Ubuntu: sudo apt-get install redis-server," \
      "macOS: brew install redis) and run this again." >&2
    exit 1
  fi
fi

exec .venv/bin/python -m pytest "$@"
