#!/usr/bin/env bash
# The Debian packages the container test (test/docker/imageInPodman.test.ts) needs: podman with runc runs the
# image, debootstrap makes its Debian base (no image registry is reachable from the machines this project is
# tested on). Without them that one test skips and says so; every other test needs only `npm ci`.
set -euo pipefail
need=()
for tool in podman runc debootstrap; do command -v "$tool" >/dev/null || need+=("$tool"); done
if [ ${#need[@]} -eq 0 ]; then
  echo "podman, runc and debootstrap are installed"
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "no apt-get here: install ${need[*]} with your package manager, or the container test skips" >&2
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
  sudo=()
elif command -v sudo >/dev/null; then
  sudo=(sudo)
else
  echo "not root and no sudo: install ${need[*]} as root (apt-get install ${need[*]}), or the container test skips" >&2
  exit 0
fi
# A fresh machine's package lists may be missing or stale; runc rather than podman's default crun, which refuses
# hybrid cgroup hierarchies (the test's containers.conf selects it).
"${sudo[@]}" apt-get update -qq
DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends podman runc debootstrap
