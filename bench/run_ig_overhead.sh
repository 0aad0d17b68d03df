#!/usr/bin/env bash
# Measures igx's engine overhead over the bare batched forward+backward (bench/bench_ig.cpp) and
# prints the ratios as a Markdown table; then the CLI's default thread count against --threads 1
# (below). Usage: bench/run_ig_overhead.sh [build-dir]; ENGINE=0 or CLI=0 skips a part.
# Engine part: REPS repetitions (10) of the benchmarks matching FILTER (all); BEFORE=<another
# bench_ig binary> (e.g. one built from an older commit) runs it in the same rounds, one
# repetition of each binary a round, alternating which goes first, and adds its ratios.
# TIME=cpu_time compares the benchmark thread's CPU time instead of wall time (real_time): on a
# busy machine the fairer measure at 1 thread (at 2 threads it misses the second thread's work).
set -euo pipefail
build=${1:-build}
json=$(mktemp)
out=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$json" "$json".* "$out"
}
trap cleanup EXIT
if [ "${ENGINE:-1}" != 0 ]; then
# The library does not choose how libgomp's idle threads wait (the CLI does, tools/igx/wait_policy.cpp):
# on a busy machine, OMP_WAIT_POLICY=PASSIVE measures it as the CLI runs there; spinning workers
# make both sides 10-100x slower at 2 threads under load (docs/benchmarks.md, session 6).
echo "load average before the engine part: $(cut -d' ' -f1-3 /proc/loadavg);" \
  "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-(unset: libgomp spins)}" >&2
reps=${REPS:-10}
filter=${FILTER:-.}
if [ -z "${BEFORE:-}" ]; then
  # Repetitions are interleaved at random so that drift on a shared machine hits both sides alike.
  "$build/bench/bench_ig" --benchmark_repetitions="$reps" --benchmark_enable_random_interleaving=true \
    --benchmark_filter="$filter" --benchmark_format=json > "$json.after.0"
else
  for round in $(seq "$reps"); do
    order="after before"; [ $((round % 2)) = 0 ] && order="before after"
    for side in $order; do
      binary="$build/bench/bench_ig"; [ "$side" = before ] && binary=$BEFORE
      "$binary" --benchmark_filter="$filter" --benchmark_format=json > "$json.$side.$round"
    done
  done
fi
echo "load average after the engine part: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
/usr/bin/python3 - "$json" "${TIME:-real_time}" <<'PY'
import glob, json, re, statistics, sys
def read(side):
    times, context = {}, None
    for path in sorted(glob.glob(f"{sys.argv[1]}.{side}.*")):
        runs = json.load(open(path))
        context = runs["context"]
        for b in runs["benchmarks"]:
            if b.get("run_type") == "iteration":
                times.setdefault(b["run_name"], []).append(b[sys.argv[2]])
    return times, context
after, context = read("after")
before, _ = read("before")
def ratios(times, ig_name, name):
    return (statistics.median(times[ig_name]) / statistics.median(times[name]), min(times[ig_name]) / min(times[name]))
print(f"host: {context['host_name']}, {context['num_cpus']} CPUs, {context['date']}; times: {sys.argv[2]}")
print()
header = "| model | threads | internal batch | bare fwd+bwd, median (ms) | igx IG n=50, median (ms) | ratio of medians | ratio of minima |"
rule = "|---|---|---|---|---|---|---|"
if before:
    header += " before: ratio of medians | before: ratio of minima |"
    rule += "---|---|"
print(header)
print(rule)
for name in sorted(after):
    m = re.match(r"BM_BareForwardBackward(?:<(\w+)>|_(\w+))/(\d+)/(\d+)", name)
    if not m:
        continue
    ig_name = name.replace("BM_BareForwardBackward", "BM_IntegratedGradients")
    bare, ig = statistics.median(after[name]), statistics.median(after[ig_name])
    model = m.group(1) or m.group(2)
    batch = "all 400 rows" if m.group(3) == "0" else m.group(3)
    line = f"| {model} | {m.group(4)} | {batch} | {bare:.2f} | {ig:.2f} | %.3f | %.3f |" % ratios(after, ig_name, name)
    if before:
        line += " %.3f | %.3f |" % ratios(before, ig_name, name)
    print(line)
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
