#!/usr/bin/env bash
# Installs n8n's verification scanner (@n8n/scan-community-package) into a folder of its own under .cache,
# once. Not a devDependency of the project because (measured, see ../shared/N8N-NOTES.md):
#  - it pins typescript@7.0.2, which has no JS API for typescript-estree (crash `ts.Extension.Cjs`):
#    typescript@5.9 installed beside it works;
#  - pinning that through `overrides` is forbidden by n8n's own package rules (no-overrides-field);
#  - its eslint plugin needs n8n-workflow resolvable (a peer).
# Needs Node 24 on PATH (scripts/toolchain.sh puts it there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCANNER_VERSION=0.32.0
DIR="$ROOT/.cache/scan-community-package-$SCANNER_VERSION"
if [ -f "$DIR/.installed" ]; then exit 0; fi
unset npm_config_ignore_scripts npm_config_legacy_peer_deps
mkdir -p "$DIR"
cd "$DIR"
echo '{"name":"scanner-host","private":true}' > package.json
npm install --ignore-scripts --legacy-peer-deps --no-audit --no-fund \
  "@n8n/scan-community-package@$SCANNER_VERSION" typescript@5.9.3 n8n-workflow@2.41.0
test -f node_modules/@n8n/scan-community-package/scanner/scanner.mjs
touch .installed
