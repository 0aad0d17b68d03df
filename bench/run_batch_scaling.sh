#!/usr/bin/env bash
# Throughput of igx batch in one process and in `mpirun -np 2`, one thread per process, on the
# shipped spam-transformer over the first N texts of the spam test split; checks that both runs
# wrote the same records (ids, attributions, reports) and prints a Markdown table with the
# scaling efficiency (throughput of 2 ranks / (2 x throughput of 1 process)) and the load average
# of the machine around each run (the figures mean little on a machine others are loading).
#
# Usage: bench/run_batch_scaling.sh [build-dir]
# Settings (environment): N=200 texts, RANKS=2, THREADS=1 per process, MODEL=spam-transformer,
# CHUNK=8 (--chunk-size), OUT=out/bench-batch. Needs the data: bash scripts/fetch_data.sh.
set -euo pipefail

build=${1:-build}
n=${N:-200}
ranks=${RANKS:-2}
threads=${THREADS:-1}
model=${MODEL:-spam-transformer}
chunk=${CHUNK:-8}
out=${OUT:-out/bench-batch}
python=${PYTHON:-/usr/bin/python3}
split=.cache/data/spam/test.jsonl
[ -f "$split" ] || { echo "bench: $split is missing; run bash scripts/fetch_data.sh" >&2; exit 1; }
mkdir -p "$out"
head -n "$n" "$split" > "$out/texts.jsonl"
launcher=(mpirun -np "$ranks" --oversubscribe --bind-to none)
[ "$(id -u)" = 0 ] && launcher+=(--allow-run-as-root)

run() {  # name, command...
  local name=$1
  shift
  rm -f "$out/$name.jsonl" "$out/$name.summary.json"
  echo "bench: $*" >&2
  cut -d' ' -f1 /proc/loadavg > "$out/$name.load-before"
  "$@" --model "$model" --data "$out/texts.jsonl" --out "$out/$name.jsonl" --threads "$threads" \
    --chunk-size "$chunk" > "$out/$name.log"
  cut -d' ' -f1 /proc/loadavg > "$out/$name.load-after"
}
run one "$build/igx" batch
run ranks "${launcher[@]}" "$build/igx" batch

"$python" - "$out" "$ranks" "$threads" "$n" <<'EOF'
import json, sys
out, ranks, threads, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])

def records(name):
    lines = [json.loads(line) for line in open(f"{out}/{name}.jsonl")]
    for record in lines[1:]:
        record.pop("seconds", None)
        record["run"].pop("seconds", None)
    return lines[0], lines[1:]

(header_one, one), (header_ranks, many) = records("one"), records("ranks")
assert header_one == header_ranks, "the runs' headers differ"
assert [r["id"] for r in one] == [r["id"] for r in many], "the runs' ids differ"
worst = 0.0
for a, b in zip(one, many):
    ea, eb = a["examples"][0], b["examples"][0]
    assert ea["steps"] == eb["steps"] and ea["certified"] == eb["certified"], a["id"]
    worst = max([worst] + [abs(x - y) for x, y in zip(ea["token_scores"], eb["token_scores"])])
summary = {name: json.load(open(f"{out}/{name}.summary.json")) for name in ("one", "ranks")}
load = {name: [open(f"{out}/{name}.load-{when}").read().strip() for when in ("before", "after")]
        for name in ("one", "ranks")}
rate = {name: summary[name]["this_run"]["inputs_per_second"] for name in summary}
efficiency = rate["ranks"] / (ranks * rate["one"])
print(f"| run | processes x threads | inputs/s | seconds | load average before/after |")
print(f"|---|---|---|---|---|")
for name, label, processes in (("one", "igx batch", 1), ("ranks", f"mpirun -np {ranks} igx batch", ranks)):
    this = summary[name]["this_run"]
    print(f"| {label} | {processes} x {threads} | {rate[name]:.2f} | {this['seconds']:.1f} | "
          f"{load[name][0]} / {load[name][1]} |")
print()
print(f"{n} texts, records equal (largest token score difference {worst:.2g}); "
      f"speed-up {rate['ranks'] / rate['one']:.2f}, scaling efficiency {100 * efficiency:.0f} %; "
      f"per rank: {summary['ranks']['this_run']['per_rank']}; "
      f"certified {summary['one']['certified']}/{summary['one']['certifiable']}, "
      f"steps mean {summary['one']['steps']['mean']:.1f}")
EOF
