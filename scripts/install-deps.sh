#!/usr/bin/env bash
# Installs every Debian package Ember needs to build and test, only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config git
  libxsimd-dev catch2 libbenchmark-dev nlohmann-json3-dev libcpp-httplib-dev curl
  clang libclang-rt-14-dev libomp-14-dev
  g++-aarch64-linux-gnu qemu-user
  python3 python3-venv python3-wheel python3-pytest python3-numpy python3-setuptools python3-jsonschema
  abi-dumper abi-compliance-checker
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
