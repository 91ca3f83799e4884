#!/usr/bin/env bash
# Builds Helm v3 (package helm.sh/helm/v3/cmd/helm of the helm.sh/helm/v3 Go module, from the Go module
# proxy) into the same cache directory as build.sh and build-kustomize.sh, outside the repository.
# Reused when present. Prints the binary's path. About 3-6 minutes cold on 2 cores.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-3.22.0}"
CACHE_ROOT="${GANG_LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler}"
BIN="$CACHE_ROOT/helm-v$HELM_VERSION/bin"

if [ -x "$BIN/helm" ]; then echo "$BIN/helm"; exit 0; fi
command -v go >/dev/null || { echo "build-helm.sh: Go is required to build helm v$HELM_VERSION (install Go >= 1.24; the module's go.mod may ask for a newer toolchain, which GOTOOLCHAIN=auto fetches)" >&2; exit 1; }
mkdir -p "$BIN"
start=$(date +%s)
# A temporary GOBIN of its own, so two builds at once cannot move each other's binary.
tmpbin=$(mktemp -d "$BIN.tmp.XXXXXX")
trap 'rm -rf "$tmpbin"' EXIT
# `go install module@version` builds in module mode without a go.mod of our own; GOBIN puts the
# binary in the cache instead of ~/go/bin. The ldflags are those of Helm's Makefile: the version `helm version`
# prints, and the default Kubernetes version of `helm template`/`helm lint` (capabilities without a cluster),
# which the Makefile derives from the client-go the module requires (v0.37 -> 1.37); without them it is 1.20.
K8S_MAJOR="${HELM_K8S_MAJOR:-1}" K8S_MINOR="${HELM_K8S_MINOR:-37}"
GOBIN="$tmpbin" go install -trimpath \
  -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR" \
  "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
mv -f "$tmpbin/helm" "$BIN/helm"
echo "build-helm.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN/helm"
