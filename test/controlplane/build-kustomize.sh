#!/usr/bin/env bash
# Builds kustomize (the sigs.k8s.io/kustomize/kustomize/v5 Go module) into the same cache directory
# as build.sh, outside the repository. Reused when present. Prints the binary's path.
# v5.8.1 needs Go >= 1.24 (like build.sh); v5.8.2+ need newer Go toolchains.
set -euo pipefail

KUSTOMIZE_VERSION="${KUSTOMIZE_VERSION:-5.8.1}"
CACHE_ROOT="${GANG_LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler}"
BIN="$CACHE_ROOT/kustomize-v$KUSTOMIZE_VERSION/bin"

if [ -x "$BIN/kustomize" ]; then echo "$BIN/kustomize"; exit 0; fi
command -v go >/dev/null || { echo "build-kustomize.sh: Go is required to build kustomize (install Go >= 1.24)" >&2; exit 1; }
mkdir -p "$BIN"
start=$(date +%s)
# `go install module@version` builds in module mode without a go.mod of our own; GOBIN puts the
# binary in the cache instead of ~/go/bin.
GOBIN="$BIN.tmp" go install -trimpath -ldflags "-s -w" "sigs.k8s.io/kustomize/kustomize/v5@v$KUSTOMIZE_VERSION"
mv "$BIN.tmp/kustomize" "$BIN/kustomize"
rmdir "$BIN.tmp" 2>/dev/null || true
echo "build-kustomize.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN/kustomize"
