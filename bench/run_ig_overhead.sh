#!/usr/bin/env bash
# Measures igx's engine overhead over the bare batched forward+backward (bench/bench_ig.cpp) and
# prints the ratios as a Markdown table. Usage: bench/run_ig_overhead.sh [build-dir]
set -euo pipefail
build=${1:-build}
json=$(mktemp)
"$build/bench/bench_ig" --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json > "$json"
/usr/bin/python3 - "$json" <<'PY'
import json, re, sys
runs = json.load(open(sys.argv[1]))
medians = {b["run_name"]: b["real_time"] for b in runs["benchmarks"] if b["aggregate_name"] == "median"}
print(f"host: {runs['context']['host_name']}, {runs['context']['num_cpus']} CPUs, {runs['context']['date']}")
print()
print("| model | internal batch | bare fwd+bwd (ms) | igx IG n=50 (ms) | ratio |")
print("|---|---|---|---|---|")
for name, bare in sorted(medians.items()):
    m = re.match(r"BM_BareForwardBackward<(\w+)>/(\d+)/(\d+)", name)
    if not m:
        continue
    ig = medians[name.replace("BM_BareForwardBackward", "BM_IntegratedGradients")]
    batch = "all 400 rows" if m.group(2) == "0" else m.group(2)
    print(f"| {m.group(1)} | {batch} | {bare:.2f} | {ig:.2f} | {ig / bare:.3f} |")
PY
rm -f "$json"
