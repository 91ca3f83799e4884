#!/usr/bin/env bash
# Makes the Containerfile's FROM image available locally without a container registry.
#
# If podman already has the image (pulled on a connected machine), it is used as it is. Otherwise a
# stand-in is built and tagged with the exact name the Containerfile uses:
#   a Debian bookworm minbase root file system (mmdebstrap, from the machine's Debian mirror) with
#   ca-certificates, lvm2 and util-linux (nsenter), plus this machine's Node 20 (`node`, and its npm),
#   imported with `podman import`.
# The root file system tarball is cached outside the repo, keyed by Node version, package list and this
# script: $EDGE_GANG_IMAGE_CACHE (default ~/.cache/gang-lvm-scheduler/image-base). Cold: about a
# minute; with the tarball cached: a few seconds (the import).
#
#   bash scripts/image/build-base.sh            # prints the base image name
#   BASE_IMAGE=... bash scripts/image/build-base.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
BASE_IMAGE=${BASE_IMAGE:-docker.io/library/node:20-bookworm-slim}
CACHE=${EDGE_GANG_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler/image-base}
SUITE=bookworm
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
PACKAGES=ca-certificates,lvm2,util-linux,passwd
STAND_IN_LABEL=io.edge-gang.image-base.stand-in

die() { echo "build-base: $*" >&2; exit 1; }
command -v podman >/dev/null || die "podman is not installed (apt-get install podman runc mmdebstrap skopeo)"

if podman image exists "$BASE_IMAGE"; then
  echo "build-base: $BASE_IMAGE is present ($(podman image inspect --format "{{index .Labels \"$STAND_IN_LABEL\"}}" "$BASE_IMAGE" 2>/dev/null | sed 's/^$/pulled image/;s/^<no value>$/pulled image/'))" >&2
  echo "$BASE_IMAGE"
  exit 0
fi

command -v mmdebstrap >/dev/null || die "$BASE_IMAGE is not in podman's storage and mmdebstrap is not installed to build a stand-in (apt-get install mmdebstrap)"
[ "$(id -u)" = 0 ] || die "building the stand-in base needs root (mmdebstrap --mode=root)"
node_bin=$(readlink -f "$(command -v node)") || die "no node on PATH to put in the stand-in base"
node_version=$("$node_bin" -p process.version)
case "$node_version" in v20.*) ;; *) die "the stand-in base needs Node 20 (the Containerfile's FROM is node:20); $node_bin is $node_version" ;; esac
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/package.json" ] || die "cannot find npm's package directory (from $(command -v npm))"
npm_version=$(node -p "require('$npm_dir/package.json').version")

key=$( (echo "$SUITE $MIRROR $PACKAGES $node_version $npm_version"; sha256sum "$node_bin"; cat "$0") | sha256sum | cut -c1-16)
tarball=$CACHE/$SUITE-minbase-node-$node_version-$key.tar
mkdir -p "$CACHE"
if [ ! -f "$tarball" ]; then
  echo "build-base: mmdebstrap $SUITE minbase + $PACKAGES + node $node_version (npm $npm_version) -> $tarball" >&2
  t0=$(date +%s)
  tmp="$CACHE/.partial-$$.tar"
  trap 'rm -f "$tmp"' EXIT
  # Like the slim image: no documentation, manual pages or locales but C; no apt lists in the image.
  mmdebstrap --quiet --mode=root --format=tar --variant=minbase --include="$PACKAGES" \
    --aptopt='APT::Install-Recommends "false"' \
    --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --customize-hook="mkdir -p \"\$1/usr/local/bin\" \"\$1/usr/local/lib/node_modules\" && cp \"$node_bin\" \"\$1/usr/local/bin/node\" && cp -a \"$npm_dir\" \"\$1/usr/local/lib/node_modules/npm\" && ln -sf ../lib/node_modules/npm/bin/npm-cli.js \"\$1/usr/local/bin/npm\" && ln -sf ../lib/node_modules/npm/bin/npx-cli.js \"\$1/usr/local/bin/npx\"" \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin "$1"/var/log/*.log "$1"/var/log/apt/*' \
    --customize-hook='chroot "$1" node -e "process.exit(process.version.startsWith(\"v20.\") ? 0 : 1)"' \
    "$SUITE" "$tmp" "$MIRROR" >&2
  mv "$tmp" "$tarball"
  trap - EXIT
  echo "build-base: root file system built in $(( $(date +%s) - t0 ))s ($(du -h "$tarball" | cut -f1))" >&2
  # Older tarballs of this cache (another Node or package list) are not needed any more.
  find "$CACHE" -maxdepth 1 -name "$SUITE-minbase-node-*.tar" ! -path "$tarball" -delete
fi

podman import --quiet \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --change "LABEL $STAND_IN_LABEL=\"debian $SUITE minbase (mmdebstrap) + node $node_version, built by scripts/image/build-base.sh\"" \
  --message "stand-in for $BASE_IMAGE" \
  "$tarball" "$BASE_IMAGE" >/dev/null
echo "build-base: imported stand-in $BASE_IMAGE from $tarball" >&2
echo "$BASE_IMAGE"
