#!/usr/bin/env bash
# Sets everything up on a fresh Debian bookworm, builds igx and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
