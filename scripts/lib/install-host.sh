# Sourced by scripts/install-n8n.sh and scripts/install-scanner.sh.
# install_host DIR PACKAGE...
# Installs a tool into DIR (under .cache) from the lockfile committed in scripts/host-locks/<basename DIR>,
# with `npm ci`: the same versions on every machine, and no new resolution against the registry, which
# once answered a fresh `npm install n8n@2.41.1` with a dependency (@babel/types 7.29.17) whose own
# dependency it did not list yet (CI, 2026-12-04). Without a committed lockfile it falls back to
# `npm install PACKAGE...`. A failed install is tried once more after 30 s (a registry hiccup).
# The caller sets the npm flags it needs in NPM_FLAGS (an array).
install_host() {
  local dir="$1"; shift
  local lock="$ROOT/scripts/host-locks/$(basename "$dir")"
  mkdir -p "$dir"
  local attempt
  for attempt in 1 2; do
    if [ -f "$lock/package-lock.json" ]; then
      cp "$lock/package.json" "$lock/package-lock.json" "$dir/"
      (cd "$dir" && npm ci "${NPM_FLAGS[@]}") && return 0
    else
      # A package.json of its own, or npm would install into the project around it.
      [ -f "$dir/package.json" ] || echo '{"name":"tool-host","private":true}' > "$dir/package.json"
      (cd "$dir" && npm install "${NPM_FLAGS[@]}" "$@") && return 0
    fi
    if [ "$attempt" = 1 ]; then echo "[install-host] npm failed in $dir; trying once more in 30 s"; sleep 30; fi
  done
  return 1
}
