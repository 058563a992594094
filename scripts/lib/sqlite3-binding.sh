# Sourced by scripts/install-n8n.sh (after scripts/lib/install-host.sh).
# sqlite3's native binding, built once for every n8n version installed here. n8n 2.x and 1.x pin the
# same sqlite3, whose prebuilt binaries are on github.com (out of reach), so node-gyp compiles SQLite's
# amalgamation: about a minute of one core. Built for N-API 6 (the newest sqlite3 5.x declares), one
# binding loads under Node 20 and 24 alike; the default, Node 24's N-API 10, crashes Node 20 at its first
# query (measured). The build runs in .cache/sqlite3-<version> from the lockfile in
# scripts/host-locks/sqlite3-<version>, beside n8n's own `npm ci` instead of after it.

# The sqlite3 version a committed n8n lockfile pins (empty when there is none, or a version without a host lock).
sqlite3_pinned_version() {
  local lock="$ROOT/scripts/host-locks/n8n-$1/package-lock.json"
  [ -f "$lock" ] || return 0
  local version
  version="$(node -p "require('$lock').packages['node_modules/sqlite3']?.version ?? ''")"
  [ -f "$ROOT/scripts/host-locks/sqlite3-$version/package-lock.json" ] && echo "$version"
  return 0
}

# Whether the process that holds a build lock still runs (or has not written its PID yet).
holder_alive() {
  local pid
  pid="$(cat "$1/pid" 2>/dev/null)"
  [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null
}

# start_sqlite3_build VERSION: starts the build in the background, unless it is built or being built.
start_sqlite3_build() {
  local dir="$ROOT/.cache/sqlite3-$1"
  [ -f "$dir/.built" ] && return 0
  local lock="$dir.lock"
  # A lock left by a build that died (a stopped run) is taken over.
  if [ -d "$lock" ] && ! holder_alive "$lock"; then rm -rf "$lock"; fi
  mkdir -p "$ROOT/.cache"
  mkdir "$lock" 2>/dev/null || return 0
  (
    echo "$BASHPID" > "$lock/pid"
    NPM_FLAGS=(--ignore-scripts --no-audit --no-fund)
    if install_host "$dir" && (cd "$dir" && npm_config_napi_build_version=6 npm rebuild sqlite3 --foreground-scripts --ignore-scripts=false); then
      touch "$dir/.built"
    fi
    rm -rf "$lock"
  ) > "$dir.log" 2>&1 &
}

# use_sqlite3_build VERSION TARGET: waits for the build (at most 15 min) and copies the binding into the
# n8n install TARGET; fails when there is none (the caller then builds TARGET's own).
use_sqlite3_build() {
  local dir="$ROOT/.cache/sqlite3-$1" lock="$ROOT/.cache/sqlite3-$1.lock" waited=0
  while [ ! -f "$dir/.built" ] && [ -d "$lock" ] && [ "$waited" -lt 900 ]; do
    if ! holder_alive "$lock" || { [ ! -s "$lock/pid" ] && [ "$waited" -ge 5 ]; }; then break; fi
    sleep 1
    waited=$((waited + 1))
  done
  if [ ! -f "$dir/.built" ]; then
    echo "[install-n8n] the shared sqlite3 build is missing (log: ${dir#$ROOT/}.log); building this install's own"
    return 1
  fi
  mkdir -p "$2/node_modules/sqlite3/build/Release"
  cp "$dir/node_modules/sqlite3/build/Release/node_sqlite3.node" "$2/node_modules/sqlite3/build/Release/"
  echo "[install-n8n] sqlite3 $1: the binding built in ${dir#$ROOT/} (N-API 6)"
}
