#!/usr/bin/env bash
# DIG's cost per sentence (bench/bench_dig.cpp): one process per benchmark, so that each row's
# peak memory (max RSS, libtorch and the data included) is its own. Prints a Markdown table.
# Usage: bench/run_dig.sh [build-dir]
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
benchmarks=(
  "BM_ShippedLoad"
  "BM_ShippedIndexAll"
  "BM_ShippedPaths/maxcount:0/warm:0" "BM_ShippedPaths/maxcount:1/warm:0"
  "BM_ShippedPaths/maxcount:0/warm:1" "BM_ShippedPaths/maxcount:1/warm:1"
  "BM_ShippedPathsStream"
  "BM_ShippedGradients"
  "BM_SyntheticLoad"
  "BM_SyntheticIndexAll"
  "BM_SyntheticPaths/tokens:32/warm:0" "BM_SyntheticPaths/tokens:32/warm:1"
  "BM_SyntheticPaths/tokens:128/warm:0" "BM_SyntheticPaths/tokens:128/warm:1"
  "BM_SyntheticGradients/tokens:32" "BM_SyntheticGradients/tokens:128"
)
i=0
for name in "${benchmarks[@]}"; do
  i=$((i + 1))
  /usr/bin/time -f "%M" -o "$work/$i.rss" "$build/bench/bench_dig" --benchmark_filter="^${name}(/|\$)" \
    --benchmark_format=json > "$work/$i.json" 2> /dev/null
done
/usr/bin/python3 - "$work" "${#benchmarks[@]}" <<'PY'
import json, sys
work, count = sys.argv[1], int(sys.argv[2])
print("| benchmark | wall (ms) | CPU of the main thread (ms) | counters | peak RSS (MiB) |")
print("|---|---|---|---|---|")
host = None
for i in range(1, count + 1):
    runs = json.load(open(f"{work}/{i}.json"))
    host = host or runs["context"]
    rss = int(open(f"{work}/{i}.rss").read().split()[-1]) / 1024
    for b in runs["benchmarks"]:
        counters = {k: v for k, v in b.items()
                    if k not in {"name", "run_name", "run_type", "repetitions", "repetition_index", "threads",
                                 "iterations", "real_time", "cpu_time", "time_unit", "family_index",
                                 "per_family_instance_index", "aggregate_name", "aggregate_unit"}}
        text = ", ".join(f"{k}={v:g}" for k, v in counters.items())
        print(f"| {b['run_name']} | {b['real_time']:.1f} | {b['cpu_time']:.1f} | {text} | {rss:.0f} |")
print()
print(f"host: {host['host_name']}, {host['num_cpus']} CPUs, load average {host.get('load_avg', '?')}, {host['date']}")
PY
