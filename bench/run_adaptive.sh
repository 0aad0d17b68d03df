#!/usr/bin/env bash
# Benchmarks igx's error-controlled integration on the shipped models' test splits: for each
# tolerance, the fraction of instances certified and the gradient evaluations and wall time per
# instance of interval-adaptive Simpson, of doubling (riemann_right from 16 steps), and of the
# smallest fixed step count of riemann_right and of gausslegendre that brings as many instances
# within the tolerance as interval-adaptive certifies. Prints a Markdown table.
#
# Usage: bench/run_adaptive.sh [build-dir]            runs the sweeps, then prints the table
#        bench/run_adaptive.sh --table-only [out-dir]  prints the table of sweeps already run
#
# Settings (environment): MNIST_N=200 and TEXT_N=200 instances (spread over each test split),
# MNIST_STEPS and TEXT_STEPS (the fixed step counts searched; default 16,32,...,4096),
# TOLERANCES=0.05,0.01, MAX_STEPS=4096, THREADS=0 (all cores), OUT=out/bench-adaptive,
# INITIAL_INTERVALS=4 (interval-adaptive's first Simpson panels),
# STRATEGIES=doubling,adaptive,adaptive-completeness (adaptive certifies the sum of the Simpson
# panels' |errors|, adaptive-completeness |delta| itself, the criterion doubling uses),
# ATTRIBUTION_TOLERANCE=0.05 (every strategy's attribution-vector criterion, the library's
# default; 0 = completeness alone).
# Needs the data splits: bash scripts/fetch_data.sh.
set -euo pipefail

powers_of_two=16,32,64,128,256,512,1024,2048,4096
out=${OUT:-out/bench-adaptive}
if [ "${1:-}" = "--table-only" ]; then
  out=${2:-$out}
else
  build=${1:-build}
  run_model() {  # model, instances, fixed step counts
    echo "bench: igx sweep --model $1 --n $2 --steps $3" >&2
    "$build/igx" sweep --model "$1" --n "$2" --pick spread --steps "$3" --rules riemann_right,gausslegendre \
      --tolerances "${TOLERANCES:-0.05,0.01}" --strategies "${STRATEGIES:-doubling,adaptive,adaptive-completeness}" --max-steps "${MAX_STEPS:-4096}" \
      --initial-intervals "${INITIAL_INTERVALS:-4}" --attribution-tolerance "${ATTRIBUTION_TOLERANCE:-0.05}" \
      --threads "${THREADS:-0}" --out-dir "$out/$1" --force > "$out/$1.log" 2>&1
  }
  mkdir -p "$out"
  run_model mnist-cnn "${MNIST_N:-200}" "${MNIST_STEPS:-$powers_of_two}"
  run_model spam-transformer "${TEXT_N:-200}" "${TEXT_STEPS:-$powers_of_two}"
fi

/usr/bin/python3 - "$out" <<'PY'
import json, os, sys

out = sys.argv[1]
def pct(x):
    return "–" if x is None else f"{100 * x:.1f}%"
def num(x, fmt="{:.1f}"):
    return "–" if x is None else fmt.format(x)
def ms(x):
    return "–" if x is None else f"{1000 * x:.1f}"

print("| model | instances | tolerance | method | certified | evaluations mean | median | p99 | time mean (ms) | median | p99 |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
goals = []
for model in ("mnist-cnn", "spam-transformer"):
    path = os.path.join(out, model, "summary.json")
    if not os.path.exists(path):
        continue
    summary = json.load(open(path))
    n = summary["instances"]
    by = {(e["strategy"], e["tolerance"]): e for e in summary["strategy_results"]}
    names = {"adaptive": "interval-adaptive, certify panels", "adaptive-completeness": "interval-adaptive, certify completeness",
             "doubling": "doubling (riemann_right)"}
    for tolerance in summary["tolerances"]:
        adaptive, doubling = by[("adaptive", tolerance)], by[("doubling", tolerance)]
        for strategy in ("adaptive", "adaptive-completeness", "doubling"):
            if (strategy, tolerance) not in by:
                continue
            name, e = names[strategy], by[(strategy, tolerance)]
            g, s = e["gradient_evaluations"], e["seconds"]
            print(f"| {model} | {n} | {pct(tolerance)} | {name} | {pct(e['certified'])} | {num(g['mean'])} | "
                  f"{num(g['median'], '{:.0f}')} | {num(g['p99'], '{:.0f}')} | {ms(s['mean'])} | {ms(s['median'])} | {ms(s['p99'])} |")
        for rule in ("riemann_right", "gausslegendre"):
            equivalent = adaptive["fixed_equivalent"].get(rule, {})
            if equivalent.get("n") is None:
                print(f"| {model} | {n} | {pct(tolerance)} | fixed {rule}: no n up to {summary['steps'][-1]} reaches "
                      f"{pct(adaptive['certified'])} | | | | | | | |")
                continue
            row = next(r for r in summary["fixed"][rule] if r["n"] == equivalent["n"])
            s = row["seconds"]
            print(f"| {model} | {n} | {pct(tolerance)} | fixed {rule}, n = {equivalent['n']} | "
                  f"{pct(equivalent['within_tolerance'])} | {equivalent['n']} | {equivalent['n']} | {equivalent['n']} | "
                  f"{ms(s['mean'])} | {ms(s['median'])} | {ms(s['p99'])} |")
        for strategy in ("adaptive", "adaptive-completeness"):
            if (strategy, tolerance) not in by:
                continue
            e = by[(strategy, tolerance)]
            ratio = e["gradient_evaluations"]["mean"] / doubling["gradient_evaluations"]["mean"]
            goals.append(f"- {model}, tolerance {pct(tolerance)}: {names[strategy]} uses {ratio:.2f}× doubling's mean "
                         f"gradient evaluations (goal ≤ 0.25: {'met' if ratio <= 0.25 else 'not met'}) and certifies "
                         f"{pct(e['certified'])} within {summary['max_steps']} steps (goal ≥ 99.5%: "
                         f"{'met' if e['certified'] >= 0.995 else 'not met'}).")
print()
print("\n".join(goals))
PY
