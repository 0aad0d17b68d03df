#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang-14, AddressSanitizer + UBSan) into build-fuzz/ and runs
# each for SECONDS (default 30) from its committed seed corpus in tests/fuzz/corpus/HARNESS/.
# New inputs libFuzzer finds stay in build-fuzz/corpus/ (the committed seeds are not touched);
# a crash or a sanitizer report is saved as build-fuzz/artifacts/HARNESS-crash-* and fails the
# script. Prints one line per harness: executions, coverage, crashes.
#
#   bash scripts/fuzz.sh              # every harness, 30 s each (CI runs this after the tests)
#   bash scripts/fuzz.sh 600 image    # one harness for 10 minutes
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-30}
shift || true
harnesses=("$@")

compiler=$(command -v clang++-14 || command -v clang++ || true)
if [ -z "$compiler" ]; then
  echo "igx fuzz: clang++-14 is missing (bash scripts/setup.sh installs clang-14 and libfuzzer-14-dev)" >&2
  exit 1
fi
# sweep_csv and serve_request link the engine of the main build (build/, made by scripts/test.sh
# before this): without it those harnesses are left out, with a note.
engine=()
if [ -f build/libigx.a ]; then engine=(-DIGX_BUILD_DIR="$PWD/build"); fi
cmake -S tests/fuzz -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$compiler" \
  "${engine[@]}" >/dev/null
cmake --build build-fuzz -j "$(nproc)" >/dev/null
if [ "${#harnesses[@]}" -eq 0 ]; then
  harnesses=(npy json_array image wordpiece bundle_config)
  if [ -x build-fuzz/fuzz_sweep_csv ] && [ -x build-fuzz/fuzz_serve_request ]; then
    harnesses+=(sweep_csv serve_request)
  else
    echo "igx fuzz: sweep_csv and serve_request left out: they link build/libigx.a, which is not built" >&2
  fi
fi

failed=0
for harness in "${harnesses[@]}"; do
  work=build-fuzz/corpus/$harness
  mkdir -p "$work" build-fuzz/artifacts
  log=build-fuzz/$harness.log
  dictionary=()
  if [ -f "tests/fuzz/$harness.dict" ]; then dictionary=(-dict="tests/fuzz/$harness.dict"); fi
  # -rss_limit_mb and -malloc_limit_mb: an input that makes igx allocate gigabytes is a finding.
  if ! "build-fuzz/fuzz_$harness" "$work" "tests/fuzz/corpus/$harness" "${dictionary[@]}" \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=1024 -print_final_stats=1 \
      -artifact_prefix="build-fuzz/artifacts/$harness-" >"$log" 2>&1; then
    failed=1
    echo "igx fuzz: $harness FAILED; see $log and build-fuzz/artifacts/" >&2
    grep -E "ERROR|SUMMARY|property failed|Test unit written" "$log" | head -5 >&2 || true
  fi
  runs=$(grep -oE "stat::number_of_executed_units: [0-9]+" "$log" | grep -oE "[0-9]+$" || echo "?")
  coverage=$(grep -oE "cov: [0-9]+" "$log" | tail -1 | grep -oE "[0-9]+" || echo "?")
  echo "igx fuzz: $harness: $runs executions in ${seconds} s, coverage $coverage edges, corpus $(ls "$work" | wc -l) inputs"
done
exit $failed
