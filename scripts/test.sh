#!/usr/bin/env bash
# Sets everything up on a fresh Debian bookworm, builds igx and runs the whole test suite, then
# fuzzes the parsers for a bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
# The parsers of outside data under libFuzzer, AddressSanitizer and UBSan, from their committed
# seed corpora: IGX_FUZZ_SECONDS each (30 by default; 0 skips). docs/reliability.md has the figures.
if [ "${IGX_FUZZ_SECONDS:-30}" != 0 ]; then bash scripts/fuzz.sh "${IGX_FUZZ_SECONDS:-30}"; fi
