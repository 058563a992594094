#!/usr/bin/env bash
# Installs a pinned n8n application into a git-ignored cache, once, from the lockfile in
# scripts/host-locks/n8n-<version> (see scripts/lib/install-host.sh). Runs under the Node on PATH
# (scripts/toolchain.cjs puts Node 24 there for 2.x and Node 20 for 1.x): sqlite3 is built for it.
# Flags measured in ../shared/N8N-NOTES.md:
#  --ignore-scripts: @confluentinc/kafka-javascript would download a binary from outside the registry;
#  then sqlite3's binding comes from its bundled sources (offline), built once for 2.x and 1.x
#  (scripts/lib/sqlite3-binding.sh);
#  1.x only: its xlsx dependency points outside the registry, so the host package overrides it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N8N_VERSION="${N8N_VERSION:-2.41.1}"
DIR="$ROOT/.cache/n8n-$N8N_VERSION"
if [ -f "$DIR/.installed" ]; then exit 0; fi
# npm hands its own config to the scripts it runs as npm_config_* variables: under `npm test` this
# project's .npmrc (ignore-scripts) would leak into n8n's install and leave sqlite3 unbuilt.
unset npm_config_ignore_scripts npm_config_legacy_peer_deps
LOG="$ROOT/.cache/install-n8n-$N8N_VERSION.log"
echo "[install-n8n] installing n8n@$N8N_VERSION under Node $(node -v) into $DIR (several minutes, once; log: ${LOG#$ROOT/})"
mkdir -p "$DIR"
# Without a committed lockfile (another N8N_VERSION), install_host resolves afresh: 1.x's package.json
# carries the xlsx override.
case "$N8N_VERSION" in
  1.*) [ -f "$ROOT/scripts/host-locks/n8n-$N8N_VERSION/package-lock.json" ] || echo '{"name":"n8n-host","private":true,"overrides":{"xlsx":"0.18.5"}}' > "$DIR/package.json" ;;
esac
source "$ROOT/scripts/lib/install-host.sh"
source "$ROOT/scripts/lib/sqlite3-binding.sh"
SQLITE3_VERSION="$(sqlite3_pinned_version "$N8N_VERSION")"
[ -z "$SQLITE3_VERSION" ] || start_sqlite3_build "$SQLITE3_VERSION"
NPM_FLAGS=(--ignore-scripts --no-audit --no-fund)
if ! { install_host "$DIR" "n8n@$N8N_VERSION" \
       && { { [ -n "$SQLITE3_VERSION" ] && use_sqlite3_build "$SQLITE3_VERSION" "$DIR"; } \
            || (cd "$DIR" && npm rebuild sqlite3 --foreground-scripts --ignore-scripts=false); }; } >"$LOG" 2>&1; then
  tail -n 40 "$LOG"; echo "[install-n8n] failed; the whole log is $LOG"; exit 1
fi
cd "$DIR"
test -x node_modules/.bin/n8n
# n8n cannot open its database without the native binding: fail here, not at n8n's first start (a
# binding built for a newer N-API loads, then crashes at the first query).
(cd node_modules/n8n && node -e "new (require('sqlite3').Database)(':memory:').get('select 1', (error) => process.exit(error ? 1 : 0))")
touch .installed
echo "[install-n8n] done"
