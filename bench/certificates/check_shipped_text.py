#!/usr/bin/python3
"""Do igx's certificates hold on the shipped text model? Checked from outside igx.

Runs `igx explain` with its defaults (adaptive, 1 % tolerance, [PAD] baseline) on texts of the
spam test split and the everyday short texts recorded in the bundle's igx.json, for the outputs
logit (the default), prob and logprob; then, from the bundle's model.pt cast to float64, recomputes
F(x), F(x') and reference attributions (Gauss-Legendre with 512 nodes and the midpoint rule with
1024, which must agree to 1e-3) and checks every certified example: completeness within the tolerance,
the attribution vector's relative L1 error within the attribution tolerance and not above igx's
own estimate. Prints one line per output and exits 1 on any wrong certificate.

Usage (after scripts/build.sh and scripts/fetch_data.sh):
    /usr/bin/python3 bench/certificates/check_shipped_text.py [--cli build/igx] [--texts 40]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
BUNDLE = ROOT / "models" / "spam-transformer"
TOLERANCE = 0.01
ATTRIBUTION_TOLERANCE = 0.05
PAD = 0


def explained(logits, output, target):
    if output == "prob":
        return torch.softmax(logits, -1)[..., target]
    if output == "logprob":
        return torch.log_softmax(logits, -1)[..., target]
    return logits[..., target]


def quadrature(name, n):
    if name == "gauss-legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return torch.tensor((nodes + 1) / 2), torch.tensor(weights / 2)
    return (torch.arange(n, dtype=torch.float64) + 0.5) / n, torch.full((n,), 1.0 / n, dtype=torch.float64)


def reference(model, x, baseline, mask, output, target, rule, n, batch=256):
    """(x - x') * sum_k w_k grad F(x' + a_k (x - x')), float64."""
    alphas, weights = quadrature(rule, n)
    total = torch.zeros_like(x)
    for begin in range(0, n, batch):
        a = alphas[begin:begin + batch]
        points = (baseline[None] + a[:, None, None] * (x - baseline)[None]).requires_grad_(True)
        f = explained(model.forward_embeds(points, mask.expand(points.shape[0], -1)), output, target)
        (gradients,) = torch.autograd.grad(f.sum(), points)
        total += (weights[begin:begin + batch, None, None] * gradients).sum(0)
    return total * (x - baseline)


def relative_l1(a, b):
    return float(np.abs(a - b).sum() / np.abs(b).sum())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cli", default=str(ROOT / "build" / "igx"))
    parser.add_argument("--texts", type=int, default=40, help="texts of the test split (the everyday ones are added)")
    parser.add_argument("--outputs", default="logit,prob,logprob")
    args = parser.parse_args()

    meta = json.loads((BUNDLE / "igx.json").read_text())
    texts = [item["text"] for item in meta["everyday_texts"]]
    test_split = ROOT / ".cache" / "data" / "spam" / "test.jsonl"
    if test_split.exists():
        with open(test_split) as f:
            texts += [json.loads(line)["text"][:400] for _, line in zip(range(args.texts), f)]
    else:
        print(f"note: {test_split} is missing (scripts/fetch_data.sh); everyday texts only", file=sys.stderr)
    model = torch.jit.load(str(BUNDLE / "model.pt")).eval().double()
    folder = Path(tempfile.mkdtemp(prefix="igx-shipped-certificates-"))
    wrong = 0
    for output in args.outputs.split(","):
        report_path, npy_path = folder / f"{output}.json", folder / f"{output}.npy"
        command = [args.cli, "explain", *texts, "--model", str(BUNDLE), "--output", output, "--threads", "1",
                   "--out-dir", str(folder / output), "--out", str(report_path), "--npy", str(npy_path), "--force"]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"igx failed: {' '.join(command)}\n{done.stderr}")
        report = json.loads(report_path.read_text())
        attributions = np.load(npy_path).astype(np.float64)
        certified = ends_off = worst_completeness = worst_vector = 0.0
        steps = []
        for b, example in enumerate(report["examples"]):
            ids = torch.tensor(example["token_ids"])[None]
            mask = torch.ones_like(ids)
            baseline_ids = ids.clone()
            baseline_ids[0, 1:-1] = PAD  # [CLS] and [SEP] stay: igx's [PAD] baseline
            with torch.no_grad():
                x = model.embed(ids)[0]
                baseline = model.embed(baseline_ids)[0]
                f_input = float(explained(model.forward_embeds(x[None], mask), output, example["target"])[0])
                f_baseline = float(explained(model.forward_embeds(baseline[None], mask), output, example["target"])[0])
            # The baseline is what igx explained from, if F(x') agrees with igx's own value.
            ends_off = max(ends_off, abs(f_baseline - example["output_baseline"]), abs(f_input - example["output_input"]))
            steps.append(example["steps"])
            if not example["certified"]:
                continue
            certified += 1
            length = ids.shape[1]
            a = attributions[b, :length]
            gap = f_input - f_baseline
            completeness = abs(a.sum() - gap) / abs(gap)
            fine = reference(model, x, baseline, mask, output, example["target"], "gauss-legendre", 512).numpy()
            finer = reference(model, x, baseline, mask, output, example["target"], "midpoint", 1024).numpy()
            agreement = relative_l1(finer, fine)
            vector = relative_l1(a, fine)
            worst_completeness = max(worst_completeness, completeness)
            worst_vector = max(worst_vector, vector)
            where = f"{output} example {b} ({example['text'][:40]!r})"
            if agreement > 1e-3:
                print(f"{where}: the references disagree ({agreement:.2e}); not judged", file=sys.stderr)
                continue
            if completeness > TOLERANCE or vector > ATTRIBUTION_TOLERANCE or example["attribution_error"] < vector:
                wrong += 1
                print(f"WRONG {where}: completeness {completeness:.4f}, vector {vector:.4f}, "
                      f"igx's estimate {example['attribution_error']:.4f}", file=sys.stderr)
        print(f"{output}: {len(report['examples'])} texts, certified {int(certified)}, wrong certificates {wrong}, "
              f"worst completeness error {worst_completeness:.2e} (tolerance {TOLERANCE}), worst vector error "
              f"{worst_vector:.2e} (tolerance {ATTRIBUTION_TOLERANCE}), F's ends off igx's by at most {ends_off:.1e}, "
              f"gradient evaluations median {int(np.median(steps))} (max {max(steps)})")
    sys.exit(1 if wrong else 0)


if __name__ == "__main__":
    main()
