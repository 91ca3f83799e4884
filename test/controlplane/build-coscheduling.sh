#!/usr/bin/env bash
# Builds the benchmark peer: kube-scheduler with scheduler-plugins' Coscheduling plugin (the PodGroup
# CRD form), from the sigs.k8s.io/scheduler-plugins and k8s.io/kubernetes Go modules, into a cache
# directory outside the repository. Reused when present. Prints the binary's path on stdout.
#
# Used only by `npm run bench:cluster` (bench/cluster.ts). Nothing from the module is committed: the
# wrapper module is generated in the cache, and the PodGroup CRD is read at run time from GOMODCACHE
# (`--crd` prints its path).
#
# Version: scheduler-plugins has no v0.35.x release on the module proxy (only v0.34.7 and the tag
# v0.35.4-devel, which is the "upgrade k8s to v1.35" merge and pins k8s.io/kubernetes v1.35.4 exactly,
# the same version as test/controlplane/build.sh). So both schedulers in the benchmark are v1.35.4.
#
# As in build.sh, k8s.io/kubernetes pins its staging modules at v0.0.0 with local replaces, and replace
# directives of dependencies are ignored, so the wrapper replaces each staging module with the
# matching v0.<minor>.<patch> tag (read from the upstream go.mod, never hard-coded).
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.35.4}"
SP_VERSION="${SCHEDULER_PLUGINS_VERSION:-v0.35.4-devel}"
STAGING_VERSION="0.${K8S_VERSION#1.}"
CACHE_ROOT="${GANG_LVM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gang-lvm-scheduler}"
BIN="$CACHE_ROOT/coscheduling-$SP_VERSION-k8s-v$K8S_VERSION/bin"
WORK="$CACHE_ROOT/build/coscheduling-$SP_VERSION-k8s-v$K8S_VERSION"

command -v go >/dev/null || { echo "build-coscheduling.sh: Go is required (install Go >= 1.25)" >&2; exit 1; }

if [ "${1:-}" = "--crd" ]; then
  # The PodGroup CRD shipped in the module (config/crd/bases is what `make manifests` generates).
  dir=$(go mod download -json "sigs.k8s.io/scheduler-plugins@$SP_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  crd="$dir/config/crd/bases/scheduling.x-k8s.io_podgroups.yaml"
  [ -f "$crd" ] || { echo "build-coscheduling.sh: PodGroup CRD not found at $crd" >&2; exit 1; }
  echo "$crd"
  exit 0
fi

if [ -x "$BIN/kube-scheduler" ]; then echo "$BIN/kube-scheduler"; exit 0; fi
mkdir -p "$BIN" "$WORK"
start=$(date +%s)
cd "$WORK"
if [ ! -f go.mod ]; then
  go mod init local.test/coscheduling >/dev/null 2>&1
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  [ -f "$gomod" ] || { echo "build-coscheduling.sh: could not download k8s.io/kubernetes@v$K8S_VERSION go.mod" >&2; exit 1; }
  go mod edit -require="k8s.io/kubernetes@v$K8S_VERSION" -require="sigs.k8s.io/scheduler-plugins@$SP_VERSION"
  for m in $(awk '/=> \.\/staging\/src\//{print $1}' "$gomod"); do
    go mod edit -replace="$m=$m@v$STAGING_VERSION"
  done
  # The same shape as scheduler-plugins' cmd/scheduler/main.go, with only Coscheduling registered.
  cat > main.go <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // rest client metrics
	_ "k8s.io/component-base/metrics/prometheus/version"  // version metric
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"sigs.k8s.io/scheduler-plugins/pkg/coscheduling"

	// Registers CoschedulingArgs so the KubeSchedulerConfiguration's pluginConfig decodes.
	_ "sigs.k8s.io/scheduler-plugins/apis/config/scheme"
)

func main() {
	command := app.NewSchedulerCommand(app.WithPlugin(coscheduling.Name, coscheduling.New))
	os.Exit(cli.Run(command))
}
GO
  go mod tidy
fi
minor=$(echo "$K8S_VERSION" | cut -d. -f2)
ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
go build -trimpath -ldflags "$ldf" -o "$BIN/kube-scheduler.tmp" .
mv "$BIN/kube-scheduler.tmp" "$BIN/kube-scheduler"
echo "build-coscheduling.sh: built in $(( $(date +%s) - start ))s" >&2
echo "$BIN/kube-scheduler"
