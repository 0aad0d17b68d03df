#!/usr/bin/env bash
# Measures igx's engine overhead over the bare batched forward+backward (bench/bench_ig.cpp) and
# prints the ratios as a Markdown table. Usage: bench/run_ig_overhead.sh [build-dir]
set -euo pipefail
build=${1:-build}
json=$(mktemp)
# Repetitions are interleaved at random so that drift on a shared machine hits both sides alike.
"$build/bench/bench_ig" --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
  --benchmark_format=json > "$json"
/usr/bin/python3 - "$json" <<'PY'
import json, re, statistics, sys
runs = json.load(open(sys.argv[1]))
times = {}
for b in runs["benchmarks"]:
    if b.get("run_type") == "iteration":
        times.setdefault(b["run_name"], []).append(b["real_time"])
medians = {name: statistics.median(values) for name, values in times.items()}
minima = {name: min(values) for name, values in times.items()}
print(f"host: {runs['context']['host_name']}, {runs['context']['num_cpus']} CPUs, {runs['context']['date']}")
print()
print("| model | threads | internal batch | bare fwd+bwd, median (ms) | igx IG n=50, median (ms) | ratio of medians | ratio of minima |")
print("|---|---|---|---|---|---|---|")
for name, bare in sorted(medians.items()):
    m = re.match(r"BM_BareForwardBackward(?:<(\w+)>|_(\w+))/(\d+)/(\d+)", name)
    if not m:
        continue
    ig_name = name.replace("BM_BareForwardBackward", "BM_IntegratedGradients")
    ig = medians[ig_name]
    model = m.group(1) or m.group(2)
    batch = "all 400 rows" if m.group(3) == "0" else m.group(3)
    print(f"| {model} | {m.group(4)} | {batch} | {bare:.2f} | {ig:.2f} | {ig / bare:.3f} | {minima[ig_name] / minima[name]:.3f} |")
PY
rm -f "$json"
