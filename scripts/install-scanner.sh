#!/usr/bin/env bash
# Installs n8n's verification tools into folders of their own under .cache, once:
#  - @n8n/node-cli (`n8n-node lint`, the linter n8n expects packages to be built with);
#  - the verification scanner (@n8n/scan-community-package).
# The scanner is Not a devDependency of the project because (measured, see ../shared/N8N-NOTES.md):
#  - it pins typescript@7.0.2, which has no JS API for typescript-estree (crash `ts.Extension.Cjs`):
#    typescript@5.9 installed beside it works;
#  - pinning that through `overrides` is forbidden by n8n's own package rules (no-overrides-field);
#  - its eslint plugin needs n8n-workflow resolvable (a peer).
# Needs Node 24 on PATH (scripts/toolchain.cjs puts it there).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCANNER_VERSION=0.32.0
NODE_CLI_VERSION=0.48.3
unset npm_config_ignore_scripts npm_config_legacy_peer_deps

source "$ROOT/scripts/lib/install-host.sh"
NPM_FLAGS=(--ignore-scripts --legacy-peer-deps --no-audit --no-fund)

# install_into DIR FILE-THAT-MUST-EXIST PACKAGE...
install_into() {
  local dir="$1" check="$2"; shift 2
  if [ -f "$dir/.installed" ]; then return; fi
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"name":"verification-tool-host","private":true}' > "$dir/package.json"
  # typescript 5.9 and n8n-workflow: the parser and the plugin's peer (see above).
  install_host "$dir" "$@" typescript@5.9.3 n8n-workflow@2.41.0
  (cd "$dir" && test -e "$check")
  touch "$dir/.installed"
}

install_into "$ROOT/.cache/scan-community-package-$SCANNER_VERSION" node_modules/@n8n/scan-community-package/scanner/scanner.mjs \
  "@n8n/scan-community-package@$SCANNER_VERSION"
install_into "$ROOT/.cache/node-cli-$NODE_CLI_VERSION" node_modules/.bin/n8n-node "@n8n/node-cli@$NODE_CLI_VERSION"
