#!/usr/bin/env bash
# Peak memory of interval-adaptive integration under --memory-budget: a synthetic ReLU CNN on one
# 3x224x224 input (588 KiB of float32 gradient per node), integrated to an attribution tolerance it
# does not reach within --max-steps, so that refinement keeps as many nodes as it may. For each budget: the
# process's peak RSS, gradient evaluations, whether certified, the run's seconds and the largest
# difference of the attributions from the unbounded run's, relative to
# the largest attribution. Prints a Markdown table.
#
# Usage: bench/run_memory.sh [build-dir]
# Settings (environment): BUDGETS="0 2G 256M 64M", MAX_STEPS=1024, TOLERANCE=1e-3,
# ATTRIBUTION_TOLERANCE=0.0002, THREADS=1.
set -euo pipefail
build=${1:-build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

/usr/bin/python3 - "$work" <<'PYTHON'
import sys

import numpy as np
import torch

torch.manual_seed(0)
network = torch.nn.Sequential(
    torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(4),
    torch.nn.Conv2d(8, 16, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(4),
    torch.nn.Flatten(), torch.nn.Linear(256, 10)).eval()
torch.jit.save(torch.jit.script(network), f"{sys.argv[1]}/cnn.pt")
np.save(f"{sys.argv[1]}/x.npy", torch.rand(1, 3, 224, 224).numpy())
PYTHON

echo "| --memory-budget | peak RSS (MiB) | gradient evaluations | certified | seconds | max \\|A − A₀\\| / max \\|A₀\\| (A₀: no budget) |"
echo "|---|---|---|---|---|---|"
for budget in ${BUDGETS:-0 2G 256M 64M}; do
  /usr/bin/time -f "%M" -o "$work/rss" "$build/igx" explain --model "$work/cnn.pt" --input "$work/x.npy" \
    --tolerance "${TOLERANCE:-1e-3}" --attribution-tolerance "${ATTRIBUTION_TOLERANCE:-0.0002}" --max-steps "${MAX_STEPS:-1024}" --memory-budget "$budget" \
    --threads "${THREADS:-1}" --out "$work/out-$budget.json" --npy "$work/out-$budget.npy" >/dev/null
  /usr/bin/python3 - "$work" "$budget" "$(tail -1 "$work/rss")" <<'PYTHON'
import json
import sys

import numpy as np

work, budget, rss_kib = sys.argv[1], sys.argv[2], int(sys.argv[3])
report = json.load(open(f"{work}/out-{budget}.json"))
example = report["examples"][0]
values = np.load(f"{work}/out-{budget}.npy")
unbounded = np.load(f"{work}/out-0.npy")
print(f"| {budget} | {rss_kib / 1024:.0f} | {example['steps']} | {example['certified']} | "
      f"{report['run']['seconds']:.1f} | {np.abs(values - unbounded).max() / np.abs(unbounded).max():.1e} |")
PYTHON
done
