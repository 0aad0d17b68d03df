#!/usr/bin/env bash
# Measures igx's engine overhead over the bare batched forward+backward (bench/bench_ig.cpp) and
# prints the ratios as a Markdown table; then the CLI's default thread count against --threads 1
# (below). Usage: bench/run_ig_overhead.sh [build-dir]; ENGINE=0 or CLI=0 skips a part.
set -euo pipefail
build=${1:-build}
json=$(mktemp)
out=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$json" "$out"
}
trap cleanup EXIT
if [ "${ENGINE:-1}" != 0 ]; then
# The library does not choose how libgomp's idle threads wait (the CLI does, tools/igx/wait_policy.cpp):
# on a busy machine, OMP_WAIT_POLICY=PASSIVE measures it as the CLI runs there; spinning workers
# make both sides 10-100x slower at 2 threads under load (docs/benchmarks.md, session 6).
echo "load average before the engine part: $(cut -d' ' -f1-3 /proc/loadavg);" \
  "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset: libgomp spins)}" >&2
# Repetitions are interleaved at random so that drift on a shared machine hits both sides alike.
"$build/bench/bench_ig" --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true \
  --benchmark_format=json > "$json"
echo "load average after the engine part: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
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
fi

# The CLI's default thread count against --threads 1: one short text with the shipped
# spam-transformer, RUNS alternating runs of each setting, idle and then with LOAD busy loops
# (default: one per core) competing for the cores. Wall-clock seconds of the whole process
# (start-up included) and the run's own run.seconds; "libgomp's spinning default" starts igx
# with GOMP_SPINCOUNT=300000, what libgomp does when nothing is set (igx then leaves it alone).
[ "${CLI:-1}" = 0 ] && exit 0
runs=${RUNS:-5}
load=${LOAD:-$(nproc)}
text="Congratulations! You have WON a free cruise, call now to claim your prize"
measure() {  # label, then the command's environment and extra flags
  local label=$1; shift
  local start end
  start=$(date +%s.%N)
  env "$@" --out "$out/run.json" --force >/dev/null 2>&1 || { echo "igx failed: $*" >&2; exit 1; }
  end=$(date +%s.%N)
  /usr/bin/python3 -c 'import json,sys; print(sys.argv[1], float(sys.argv[3]) - float(sys.argv[2]), json.load(open(sys.argv[4]))["run"]["seconds"])' \
    "$label" "$start" "$end" "$out/run.json"
}
cli_round() {
  for _ in $(seq "$runs"); do
    measure "--threads_1" "$build/igx" explain --model models/spam-transformer "$text" --threads 1
    measure "default" "$build/igx" explain --model models/spam-transformer "$text"
    measure "default,_libgomp_spinning" GOMP_SPINCOUNT=300000 "$build/igx" explain --model models/spam-transformer "$text"
  done
}
summarise() {  # machine label, file of measurements
  /usr/bin/python3 - "$1" "$2" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[2]):
    label, wall, run = line.split()
    rows.setdefault(label, []).append((float(wall), float(run)))
one = statistics.median(w for w, _ in rows["--threads_1"])
for label, values in rows.items():
    walls = [w for w, _ in values]
    runs = [r for _, r in values]
    print(f"| {sys.argv[1]} | {label.replace('_', ' ')} | {statistics.median(walls):.3f} ({min(walls):.3f}-{max(walls):.3f}) "
          f"| {statistics.median(runs):.4f} ({min(runs):.4f}-{max(runs):.4f}) | {statistics.median(walls) / one:.2f} |")
PY
}
echo
echo "| machine | setting | process wall s, median (min-max) | run.seconds, median (min-max) | wall / --threads 1 |"
echo "|---|---|---|---|---|"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
cli_round > "$out/idle.txt"
summarise "as found (load $(cut -d" " -f1 /proc/loadavg))" "$out/idle.txt"
for _ in $(seq "$load"); do (while :; do :; done) & pids+=($!); done
sleep 1
cli_round > "$out/loaded.txt"
summarise "+ $load busy loops" "$out/loaded.txt"
for pid in "${pids[@]}"; do kill "$pid"; done
pids=()
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
