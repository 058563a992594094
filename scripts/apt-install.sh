#!/usr/bin/env bash
# Installs Debian packages the tests need (Chromium for the editor test, Redis and PostgreSQL for the
# queue-mode suite): `scripts/apt-install.sh <package>...`. The toolchain calls it only when what the
# packages provide is missing, with this script's output going to a log under .cache/.
#  - `apt-get install` first; `apt-get update` only when that fails (stale or empty package lists),
#    so a machine with fresh lists does not pay for an update;
#  - sudo only when not root.
set -euo pipefail
if [ "$#" -eq 0 ]; then echo "usage: scripts/apt-install.sh <package>..." >&2; exit 2; fi

if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo -n)
else
  echo "[apt-install] this user is not root and has no sudo: install $* (apt-get) by hand" >&2
  exit 1
fi

apt_install() {
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
}

echo "[apt-install] installing $* with apt-get"
if ! apt_install "$@"; then
  echo "--- apt-get install failed; running apt-get update, then installing again ---"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
  apt_install "$@"
fi
