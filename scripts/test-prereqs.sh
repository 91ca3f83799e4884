#!/usr/bin/env bash
# Runs before `npm test` (the pretest script). Makes a fresh machine able to run the whole suite:
#  - as root with apt-get, installs the LVM and filesystem tools the node agent's real-LVM tests use;
#  - builds the local control plane (kube-apiserver, kube-scheduler, etcd) into the cache if absent.
# It never fails the run by itself: a test that lacks something fails with a message naming it.
set -u
need=()
command -v pvcreate >/dev/null 2>&1 || need+=(lvm2)
command -v mkfs.ext4 >/dev/null 2>&1 || need+=(e2fsprogs)
command -v sfdisk >/dev/null 2>&1 || need+=(fdisk)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test-prereqs: installing ${need[*]} (real-LVM tests)"
    (apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq "${need[@]}" >/dev/null 2>&1; }) \
      || echo "test-prereqs: could not install ${need[*]}; the real-LVM tests will fail and say so"
  else
    echo "test-prereqs: missing ${need[*]}; run as root with apt-get, or install them, for the real-LVM tests"
  fi
fi
if command -v go >/dev/null 2>&1; then
  bash "$(dirname "$0")/../test/controlplane/build.sh" >/dev/null || echo "test-prereqs: control plane build failed; the end-to-end tests will say why"
else
  echo "test-prereqs: Go is not installed; the end-to-end tests need it to build kube-apiserver and kube-scheduler (Go >= 1.24)"
fi
exit 0
