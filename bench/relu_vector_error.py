#!/usr/bin/env python3
"""How igx's attribution_error compares with the true error of the attribution vector on the
shipped ReLU CNN (mnist-cnn), and how many linear regions its straight paths cross.

For N test images spread over the split (black baseline, logit of the predicted class) it computes
a reference IG with the midpoint rule at --reference-steps nodes (the integrand is piecewise
constant: its error falls as 1/n, and 8192 nodes leave about 1e-4 of the vector), runs
`igx explain` once per flag set given, and prints per run: mean gradient evaluations, the true
relative L1 error of the vector (mean, max), igx's attribution_error (mean), their smallest ratio
(below 1: the estimate was below the true error somewhere), and how many examples were certified
while more than 5 % off. With --regions K it also counts the distinct gradients (linear regions)
along the first K paths at 4097 points.

Usage: /usr/bin/python3 bench/relu_vector_error.py [--igx build/igx] [--images 40]
           [--reference-steps 8192] [--regions 4] [--out out/relu-vector-error] [FLAGS ...]
       FLAGS: one quoted igx flag set per run, e.g. "" "--attribution-tolerance 0"
Needs the data splits: bash scripts/fetch_data.sh.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

import numpy as np
import torch

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MEAN, STD = 0.1307, 0.3081  # models/mnist-cnn/igx.json


def paths(model, images, steps):
    """Yields (image index, alphas, gradients [n, 1, 28, 28] in float64, difference) per image."""
    baseline = torch.full_like(images[0], float(np.float32(-MEAN / STD)))
    for i in range(images.shape[0]):
        with torch.no_grad():
            target = model(images[i:i + 1]).argmax().item()
        for start in range(0, len(steps), 4096):
            alphas = steps[start:start + 4096]
            points = (baseline.double() + alphas[:, None, None, None] * (images[i] - baseline).double()).float()
            points.requires_grad_(True)
            (gradients,) = torch.autograd.grad(model(points)[:, target].sum(), points)
            yield i, start, gradients.double(), (images[i] - baseline).double()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--igx", default=os.path.join(root, "build", "igx"))
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--reference-steps", type=int, default=8192)
    parser.add_argument("--regions", type=int, default=0)
    parser.add_argument("--out", default=os.path.join(root, "out", "relu-vector-error"))
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    model = torch.jit.load(os.path.join(root, "models", "mnist-cnn", "model.pt")).eval()
    pixels = np.load(os.path.join(root, ".cache", "data", "mnist", "test.npy"))
    chosen = np.linspace(0, len(pixels) - 1, args.images).round().astype(int)
    images = torch.tensor((pixels[chosen] / 255.0 - MEAN) / STD, dtype=torch.float32)[:, None]
    inputs = os.path.join(args.out, "inputs.npy")
    np.save(inputs, images.numpy())

    if args.regions:
        grid = torch.linspace(0, 1, 4097, dtype=torch.float64)
        for i, _, gradients, difference in paths(model, images[:args.regions], grid):
            flat = gradients.reshape(len(grid), -1)
            changes = (flat[1:] != flat[:-1]).any(1)
            jumps = ((flat[1:] - flat[:-1]).abs() * difference.reshape(-1).abs()).sum(1)
            print(f"image {chosen[i]}: {int(changes.sum()) + 1} distinct gradients along the path at 4097 points, "
                  f"largest jumps of |grad| . |x - x'|: {np.round(np.sort(jumps.numpy())[::-1][:3], 2).tolist()}")

    midpoints = (torch.arange(args.reference_steps, dtype=torch.float64) + 0.5) / args.reference_steps
    reference = np.zeros((args.images, 1, 28, 28))
    for i, _, gradients, difference in paths(model, images, midpoints):
        reference[i] += (gradients.sum(0) / args.reference_steps * difference).numpy()
    norms = np.abs(reference).reshape(args.images, -1).sum(1)

    print("| igx flags | evaluations mean | true vector error mean | max | attribution_error mean | "
          "smallest attribution_error / true | certified | certified and > 5 % off |")
    print("|---|---|---|---|---|---|---|---|")
    baseline = repr(float(np.float32(-MEAN / STD)))
    for k, flags in enumerate(args.flags or [""]):
        out, npy = os.path.join(args.out, f"run{k}.json"), os.path.join(args.out, f"run{k}.npy")
        subprocess.run([args.igx, "explain", "--model", os.path.join(root, "models", "mnist-cnn", "model.pt"),
                        "--input", inputs, f"--baseline={baseline}", "--threads", "1", "--out", out, "--npy", npy,
                        "--force", *shlex.split(flags)], check=True, stdout=subprocess.DEVNULL)
        examples = json.load(open(out))["examples"]
        values = np.load(npy).astype(np.float64)
        true = np.abs(values - reference).reshape(args.images, -1).sum(1) / norms
        estimate = np.array([e.get("attribution_error") or np.nan for e in examples])
        certified = np.array([bool(e.get("certified")) for e in examples])
        ratio = np.nanmin(estimate / true) if np.isfinite(estimate).any() else float("nan")
        print(f"| `{flags}` | {np.mean([e['steps'] for e in examples]):.1f} | {100 * true.mean():.2f} % | "
              f"{100 * true.max():.2f} % | {100 * np.nanmean(estimate) if np.isfinite(estimate).any() else float('nan'):.2f} % | "
              f"{ratio:.2f} | {certified.sum()} / {args.images} | {(certified & (true > 0.05)).sum()} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
