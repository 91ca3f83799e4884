#!/usr/bin/env bash
# Builds the container image (Containerfile) with podman, named as the manifests name it:
# edge-gang-scheduler:<package.json version>. Without a registry the FROM image is a local stand-in
# (scripts/image/build-base.sh). npm inside the build uses the host network, the machine's npm registry
# and, when NODE_EXTRA_CA_CERTS is set, that CA bundle (a build secret: not stored in the image).
#
#   bash scripts/image/build.sh                       # build; prints the image name on stdout
#   bash scripts/image/build.sh --save out.oci.tar    # and export it as an OCI archive
#   IMAGE=registry.example/edge-gang-scheduler:0.1.0 bash scripts/image/build.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$here/containers.conf}
version=$(node -p "require('$root/package.json').version")
IMAGE=${IMAGE:-edge-gang-scheduler:$version}
save=
while [ $# -gt 0 ]; do
  case "$1" in
    --save) save=${2:?--save needs a path}; shift 2 ;;
    *) echo "usage: $0 [--save FILE.oci.tar]" >&2; exit 2 ;;
  esac
done
command -v podman >/dev/null || { echo "build: podman is not installed (apt-get install podman runc mmdebstrap skopeo)" >&2; exit 1; }

t0=$(date +%s)
base=$(bash "$here/build-base.sh")
t1=$(date +%s)
args=(--network host --pull=never --layers --build-arg "NODE_IMAGE=$base" -t "$IMAGE" -f "$root/Containerfile")
registry=$(npm config get registry 2>/dev/null || true)
[ -n "$registry" ] && args+=(--build-arg "NPM_CONFIG_REGISTRY=$registry")
[ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ] && args+=(--secret "id=npm-ca,src=$NODE_EXTRA_CA_CERTS")
podman build "${args[@]}" "$root" >&2
t2=$(date +%s)
echo "build: $IMAGE built in $((t2 - t1))s (base $((t1 - t0))s); $(podman image inspect --format '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}') unpacked" >&2
if [ -n "$save" ]; then
  rm -f "$save"
  podman save --quiet --format oci-archive -o "$save" "$IMAGE"
  echo "build: saved $save ($(du -h "$save" | cut -f1), OCI archive) in $(( $(date +%s) - t2 ))s" >&2
fi
echo "$IMAGE"
