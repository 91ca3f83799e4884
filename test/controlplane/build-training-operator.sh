#!/usr/bin/env bash
# Builds Kubeflow training-operator v1.8.1 (the manager, package
# github.com/kubeflow/training-operator/cmd/training-operator.v1 of the Go module, from the Go module proxy)
# into the same cache directory as build.sh, outside the repository. Reused when present. Prints the
# binary's path as its last stdout line; `--crds` prints the directory of the module's CRD YAMLs
# (manifests/base/crds: kubeflow.org_tfjobs.yaml and the other job kinds) instead.
#
# Used by test/e2e/training-operator.test.ts. Nothing from the module is committed: the module's own
# go.mod has no replace directives, so `go install module@version` builds it as the main module, with its
# own go.sum, and no wrapper module is needed; the CRDs are read at run time from GOMODCACHE.
set -euo pipefail

TO_VERSION="${TRAINING_OPERATOR_VERSION:-v1.8.1}"
MODULE="github.com/kubeflow/training-operator"
CACHE_ROOT="${GANG_LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler}"
BIN="$CACHE_ROOT/training-operator-$TO_VERSION/bin"

need_go() {
  command -v go >/dev/null || { echo "build-training-operator.sh: Go is required to build $MODULE@$TO_VERSION (install Go >= 1.22 and give it access to a Go module proxy)" >&2; exit 1; }
}

if [ "${1:-}" = "--crds" ]; then
  need_go
  json=$(go mod download -json "$MODULE@$TO_VERSION") || { echo "build-training-operator.sh: could not download the module $MODULE@$TO_VERSION (is GOPROXY reachable?)" >&2; exit 1; }
  dir=$(printf '%s\n' "$json" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  crds="$dir/manifests/base/crds"
  [ -f "$crds/kubeflow.org_tfjobs.yaml" ] || { echo "build-training-operator.sh: the TFJob CRD is not at $crds/kubeflow.org_tfjobs.yaml" >&2; exit 1; }
  echo "$crds"
  exit 0
fi

if [ -x "$BIN/training-operator" ]; then echo "$BIN/training-operator"; exit 0; fi
need_go
mkdir -p "$BIN"
start=$(date +%s)
# A temporary GOBIN of its own, so two builds at once cannot move each other's binary (as build-helm.sh).
tmpbin=$(mktemp -d "$BIN.tmp.XXXXXX")
trap 'rm -rf "$tmpbin"' EXIT
GOBIN="$tmpbin" go install -trimpath -ldflags "-s -w" "$MODULE/cmd/training-operator.v1@$TO_VERSION"
mv -f "$tmpbin/training-operator.v1" "$BIN/training-operator"
echo "build-training-operator.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN/training-operator"
