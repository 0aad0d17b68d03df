#!/usr/bin/env python3
"""How igx's attribution_error compares with the true error of the attribution vector on ReLU
networks — the shipped CNN (mnist-cnn), or with --mlp a seeded random ReLU MLP (16 -> 32 -> 32 -> 4,
float32, written to OUT/mlp.pt, inputs N(0, 4), baseline 0) — and how many linear regions their
straight paths cross.

For N test images spread over the split (black baseline, logit of the predicted class) it computes
a reference IG with the midpoint rule at --reference-steps nodes (the integrand is piecewise
constant: its error falls as 1/n, and 8192 nodes leave about 1e-4 of the vector), runs
`igx explain` once per flag set given, and prints per run: mean gradient evaluations, the true
relative L1 error of the vector (mean, max), igx's attribution_error (mean), their smallest ratio
(below 1: the estimate was below the true error somewhere), and how many examples were certified
while more than 5 % off. With --regions K it also counts the linear regions along the first K paths:
1 + the changes of the gradient between consecutive points of 4097 (a change: sum_i |g_i - g'_i| |x_i
- x'_i| above 1e-5 of the two gradients' sum_i |g_i| |x_i - x'_i|; float32 rounding alone makes the
gradients of one region differ in the last bits, which an exact comparison would count).

Usage: /usr/bin/python3 bench/relu_vector_error.py [--igx build/igx] [--images 40] [--mlp]
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


def gradients_along(model, image, baseline_value, alphas):
    """The gradients of the predicted class's logit at x' + alpha (x - x') (float64, [n, ...]) and
    x - x', from the constant baseline."""
    baseline = torch.full_like(image, baseline_value)
    difference = (image - baseline).double()
    with torch.no_grad():
        target = model(image[None]).argmax().item()
    parts = []
    for start in range(0, len(alphas), 4096):
        chunk = alphas[start:start + 4096]
        along = chunk.view((-1,) + (1,) * image.dim())
        points = (baseline.double() + along * difference).float().requires_grad_(True)
        (gradients,) = torch.autograd.grad(model(points)[:, target].sum(), points)
        parts.append(gradients.double())
    return torch.cat(parts), difference


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--igx", default=os.path.join(root, "build", "igx"))
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--reference-steps", type=int, default=8192)
    parser.add_argument("--regions", type=int, default=0)
    parser.add_argument("--mlp", action="store_true", help="a seeded random ReLU MLP instead of mnist-cnn")
    parser.add_argument("--out", default=os.path.join(root, "out", "relu-vector-error"))
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    os.makedirs(args.out, exist_ok=True)
    if args.mlp:
        torch.manual_seed(0)
        layers = [torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4)]
        model_path = os.path.join(args.out, "mlp.pt")
        torch.jit.script(torch.nn.Sequential(*layers).eval()).save(model_path)
        images = torch.randn(args.images, 16) * 2
        chosen = np.arange(args.images)
        baseline_value = 0.0
    else:
        model_path = os.path.join(root, "models", "mnist-cnn", "model.pt")
        pixels = np.load(os.path.join(root, ".cache", "data", "mnist", "test.npy"))
        chosen = np.linspace(0, len(pixels) - 1, args.images).round().astype(int)
        images = torch.tensor((pixels[chosen] / 255.0 - MEAN) / STD, dtype=torch.float32)[:, None]
        baseline_value = float(np.float32(-MEAN / STD))
    model = torch.jit.load(model_path).eval()
    inputs = os.path.join(args.out, "inputs.npy")
    np.save(inputs, images.numpy())

    if args.regions:
        grid = torch.linspace(0, 1, 4097, dtype=torch.float64)
        for i in range(args.regions):
            gradients, difference = gradients_along(model, images[i], baseline_value, grid)
            flat = gradients.reshape(len(grid), -1)
            scale = difference.reshape(-1).abs()
            magnitudes = (flat.abs() * scale).sum(1)
            jumps = ((flat[1:] - flat[:-1]).abs() * scale).sum(1)
            changes = jumps > 1e-5 * (magnitudes[1:] + magnitudes[:-1])
            print(f"input {chosen[i]}: {int(changes.sum()) + 1} linear regions along the path (4097 points), "
                  f"largest jumps of |grad| . |x - x'|: {np.round(np.sort(jumps.numpy())[::-1][:3], 2).tolist()}")

    midpoints = (torch.arange(args.reference_steps, dtype=torch.float64) + 0.5) / args.reference_steps
    reference = np.zeros(tuple(images.shape))
    for i in range(args.images):
        gradients, difference = gradients_along(model, images[i], baseline_value, midpoints)
        reference[i] = (gradients.sum(0) / args.reference_steps * difference).numpy()
    norms = np.abs(reference).reshape(args.images, -1).sum(1)

    print("| igx flags | evaluations mean | true vector error mean | max | attribution_error mean | "
          "smallest attribution_error / true | certified | certified and > 5 % off |")
    print("|---|---|---|---|---|---|---|---|")
    baseline = repr(baseline_value)
    for k, flags in enumerate(args.flags or [""]):
        out, npy = os.path.join(args.out, f"run{k}.json"), os.path.join(args.out, f"run{k}.npy")
        subprocess.run([args.igx, "explain", "--model", model_path,
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
