#!/usr/bin/env bash
# Configures and builds igx (Release) into ./build.
# Usage: scripts/build.sh [TARGET...]   (default: everything; e.g. igx_cli for the CLI alone)
# Extra CMake arguments: IGX_CMAKE_ARGS="-DIGX_BUILD_BENCH=OFF" scripts/build.sh
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a cmake_args <<<"${IGX_CMAKE_ARGS:-}"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" >/dev/null
targets=()
for target in "$@"; do targets+=(--target "$target"); done
cmake --build build -j "$(nproc)" "${targets[@]}"
