#!/usr/bin/env bash
# Builds kube-apiserver, kube-scheduler (from the k8s.io/kubernetes Go module) and etcd (from
# go.etcd.io/etcd/server/v3) into a cache directory outside the repository. Reused when present.
#
# The wrapper modules are generated in the cache directory, not committed: k8s.io/kubernetes pins its
# staging modules at v0.0.0 with local replaces, so a consumer must replace each one with the matching
# v0.<minor>.<patch> tag (the same thing scheduler-plugins' go.mod does). The staging list is read from
# the upstream go.mod the module proxy serves, so it is never hard-coded here.
#
# One cache directory per version: K8S_VERSION=1.37.2 bash test/controlplane/build.sh builds another
# version beside the default (src/localcluster/binaries.ts passes ControlPlaneOptions.k8sVersion this
# way; bench:cluster's gang-1.37 and ours-1.37 sides run on 1.37.2). Two builds of the same version
# must not run at once (they share $WORK).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
STAGING_VERSION="0.${K8S_VERSION#1.}"
CACHE_ROOT="${GANG_LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler}"
BIN="$CACHE_ROOT/k8s-v$K8S_VERSION-etcd-v$ETCD_VERSION/bin"
WORK="$CACHE_ROOT/build"

have() { [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-scheduler" ] && [ -x "$BIN/etcd" ]; }
if have; then echo "$BIN"; exit 0; fi
command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane (install Go >= 1.24)" >&2; exit 1; }
mkdir -p "$BIN" "$WORK"
start=$(date +%s)

# --- kube-apiserver + kube-scheduler ---
K="$WORK/k8s-v$K8S_VERSION"
mkdir -p "$K"
cd "$K"
if [ ! -f go.mod ]; then
  go mod init local.test/k8sbins >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || { echo "build.sh: could not download k8s.io/kubernetes@v$K8S_VERSION go.mod" >&2; exit 1; }
  go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION"
  for m in $(awk '/=> \.\/staging\/src\//{print $1}' "$gomod"); do
    go mod edit -replace="$m=$m@v$STAGING_VERSION"
  done
  cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
GO
  go mod tidy
fi
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
go build -trimpath -ldflags "$ldf" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
mv "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
go build -trimpath -ldflags "$ldf" -o "$BIN/kube-scheduler.tmp" k8s.io/kubernetes/cmd/kube-scheduler
mv "$BIN/kube-scheduler.tmp" "$BIN/kube-scheduler"

# --- etcd ---
E="$WORK/etcd-v$ETCD_VERSION"
mkdir -p "$E"
cd "$E"
if [ ! -f go.mod ]; then
  go mod init local.test/etcdbin >/dev/null 2>&1
  cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go mod tidy
fi
go build -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" .
mv "$BIN/etcd.tmp" "$BIN/etcd"

echo "build.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
