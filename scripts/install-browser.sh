#!/usr/bin/env bash
# Installs the browser the editor test (test/browser) drives: Debian's Chromium, plus fonts so text
# renders with real metrics in screenshots. Once: nothing happens when /usr/bin/chromium exists.
# Playwright never downloads a browser here (PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD, executablePath).
#  - `apt-get install` first; `apt-get update` only when that fails (stale or empty package lists),
#    so a machine with fresh lists does not pay for an update;
#  - sudo only when not root;
#  - quiet: apt's output goes to a log under .cache/; one progress line; the log's path on failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi

LOG="$ROOT/.cache/install-browser.log"
mkdir -p "$(dirname "$LOG")"
: > "$LOG"

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo -n)
else
  echo "[install-browser] $CHROMIUM is missing and this user is not root and has no sudo: install chromium and fonts-liberation (apt-get) by hand" >&2
  exit 1
fi

PACKAGES=(chromium fonts-liberation)
apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}" >>"$LOG" 2>&1
}

echo "[install-browser] installing ${PACKAGES[*]} with apt-get (log: $LOG)" >&2
if ! apt_install; then
  echo "--- apt-get install failed; running apt-get update, then installing again ---" >>"$LOG"
  if ! { "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update >>"$LOG" 2>&1 && apt_install; }; then
    echo "[install-browser] failed to install ${PACKAGES[*]}; see $LOG" >&2
    exit 1
  fi
fi
if [ ! -x "$CHROMIUM" ]; then
  echo "[install-browser] apt-get succeeded but $CHROMIUM is still missing; see $LOG" >&2
  exit 1
fi
