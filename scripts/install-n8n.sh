#!/usr/bin/env bash
# Installs the pinned n8n application into a git-ignored cache, once. Needs Node 24 on PATH
# (scripts/toolchain.sh puts it there). Flags measured in ../shared/N8N-NOTES.md:
#  --ignore-scripts: @confluentinc/kafka-javascript would download a binary from outside the registry;
#  then sqlite3 is rebuilt from its bundled sources (offline).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N8N_VERSION="${N8N_VERSION:-2.41.1}"
DIR="$ROOT/.cache/n8n-$N8N_VERSION"
if [ -f "$DIR/.installed" ]; then exit 0; fi
# npm hands its own config to the scripts it runs as npm_config_* variables: under `npm test` this
# project's .npmrc (ignore-scripts) would leak into n8n's install and leave sqlite3 unbuilt.
unset npm_config_ignore_scripts npm_config_legacy_peer_deps
echo "[install-n8n] installing n8n@$N8N_VERSION into $DIR (several minutes, once)"
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || echo '{"name":"n8n-host","private":true}' > package.json
npm install --ignore-scripts --no-audit --no-fund "n8n@$N8N_VERSION"
npm rebuild sqlite3 --foreground-scripts --ignore-scripts=false
test -x node_modules/.bin/n8n
# n8n cannot open its database without the native binding: fail here, not at n8n's first start.
(cd node_modules/n8n && node -e "require('sqlite3')")
touch .installed
echo "[install-n8n] done"
