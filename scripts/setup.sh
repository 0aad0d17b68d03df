#!/usr/bin/env bash
# Installs everything igx needs to build, test and train its models on Debian bookworm.
# Idempotent and non-interactive; run as root (or with sudo available).
set -euo pipefail

packages=(
  build-essential cmake ninja-build git pkg-config dpkg-dev
  libtorch-dev libopenblas0-pthread python3-torch python3-numpy
  libcli11-dev nlohmann-json3-dev libspdlog-dev libstb-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libopenmpi-dev openmpi-bin
  pybind11-dev python3-dev python3-pytest python3-pip python3-setuptools python3-wheel
  libcpp-httplib-dev prometheus-cpp-dev
  clang-14 libfuzzer-14-dev llvm-14
  chromium
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js with npm fetches the data packages; some images ship it outside dpkg.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
if [ "${#missing[@]}" -gt 0 ]; then
  echo "igx setup: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# OpenBLAS (pthread) must win over the reference BLAS: ~30x faster matmul on CPU.
blas=$(ls /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 2>/dev/null || true)
if [ -n "$blas" ]; then
  "${sudo_cmd[@]}" update-alternatives --set libblas.so.3-x86_64-linux-gnu "$blas" >/dev/null 2>&1 || true
fi
lapack=$(ls /usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3 2>/dev/null || true)
if [ -n "$lapack" ]; then
  "${sudo_cmd[@]}" update-alternatives --set liblapack.so.3-x86_64-linux-gnu "$lapack" >/dev/null 2>&1 || true
fi
echo "igx setup: dependencies ready"
