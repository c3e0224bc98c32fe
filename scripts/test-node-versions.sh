#!/bin/sh
# Runs the ava suite on the built addon under each pinned Node version, each in a private
# mount namespace as `npm test` does. The Node binaries are the npm registry's
# node-linux-<arch> packages, fetched with `npm pack` (which checks their integrity) and
# unpacked once into a cache.
#
# Usage: sh scripts/test-node-versions.sh [AVA_ARGS...]
#   OVERLAYFS_NODE_VERSIONS  the versions to run (default: the pinned ones below)
#   OVERLAYFS_NODE_CACHE     where the binaries are kept (default: node_modules/.cache/node)
# Build first (`npm run test:node-versions` does): this script only runs the tests.
set -eu
cd "$(dirname "$0")/.."

versions="${OVERLAYFS_NODE_VERSIONS:-22.23.5 24.22.3}"
cache="${OVERLAYFS_NODE_CACHE:-$PWD/node_modules/.cache/node}"
case "$(uname -m)" in
  x86_64) arch=x64 ;;
  aarch64) arch=arm64 ;;
  *) echo "test-node-versions: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac

# Unpacks bin/node of node-linux-$arch@$1 into $cache/$1 unless it is there already.
fetch() {
  dir="$cache/$1"
  [ -x "$dir/bin/node" ] && return 0
  tmp="$(mktemp -d)"
  npm pack "node-linux-$arch@$1" --pack-destination "$tmp" --silent >/dev/null
  mkdir -p "$dir"
  tar -xzf "$tmp/node-linux-$arch-$1.tgz" -C "$dir" --strip-components=1 package/bin/node
  rm -rf "$tmp"
}

summary=""
failed=0
for version in $versions; do
  fetch "$version"
  bin="$cache/$version/bin"
  echo "== Node $("$bin/node" --version): ava $*"
  # ava starts its workers with its own process.execPath, so the whole suite runs on $bin.
  if PATH="$bin:$PATH" OVERLAYFS_HOST_MNT_NS="$(readlink /proc/self/ns/mnt)" \
    unshare --mount --propagation private "$bin/node" node_modules/ava/entrypoints/cli.mjs "$@"
  then
    summary="$summary
Node $version: passed"
  else
    summary="$summary
Node $version: FAILED"
    failed=1
  fi
done

echo "$summary"
exit "$failed"
