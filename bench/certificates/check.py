"""Checks igx's certificates against references computed here, independently of igx's code.

For one model folder of make_models.py (model.pt, inputs.npy) and the igx runs made on it, this
recomputes in float64 from the exported TorchScript model (cast to float64):
  - F(x) and F(x') of the explained class, and so every run's completeness error
    |sum A - (F(x) - F(x'))| / |F(x) - F(x')|;
  - a fine reference attribution vector by adaptive composite Gauss-Legendre (order 8; each panel
    compared with its two halves, refined until they agree to --reference-tolerance), with its own
    estimated error; each run's vector error is ||A - A_ref||_1 / ||A_ref||_1.
A certificate is wrong when igx says certified and the recomputed completeness error exceeds the
tolerance, or the vector error exceeds the attribution tolerance.

    /usr/bin/python3 bench/certificates/check.py MODEL_DIR --runs RUNS.json [--device cpu]

RUNS.json: [{"label": ..., "json": igx's --out, "npy": igx's --npy, "certifies": true|false}, ...]
Writes MODEL_DIR/reference.npz (cached) and prints one JSON object per run (per-example rows and
totals) to stdout.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch


def load_model(folder, device):
    model = torch.jit.load(os.path.join(folder, "model.pt"), map_location=device)
    model.eval()
    return model.double()


def output_of(logits, target, output):
    if output == "prob":
        return torch.softmax(logits, dim=-1)[:, target]
    if output == "logprob":
        return torch.log_softmax(logits, dim=-1)[:, target]
    return logits[:, target]


def values(model, points, target, output, batch):
    out = []
    with torch.no_grad():
        for begin in range(0, points.shape[0], batch):
            out.append(output_of(model(points[begin:begin + batch]), target, output))
    return torch.cat(out)


def gradient_sums(model, x, alphas, weights, owners, count, target, output, batch):
    """sum over k of w_k grad F(alpha_k x) for each owner group (baseline 0), float64."""
    totals = torch.zeros((count,) + tuple(x.shape), dtype=x.dtype, device=x.device)
    for begin in range(0, alphas.shape[0], batch):
        a = alphas[begin:begin + batch]
        points = (a[:, None, None] * x[None]).requires_grad_(True)
        f = output_of(model(points), target, output)
        (gradients,) = torch.autograd.grad(f.sum(), points)
        totals.index_add_(0, owners[begin:begin + batch], weights[begin:begin + batch, None, None] * gradients)
    return totals


def adaptive_reference(model, x, target, output, batch, tolerance, start=16, order=8, max_panels=4096):
    """IG by composite Gauss-Legendre (order 8), adaptive: each panel is compared with its two
    halves and accepted when the L1 difference of the attributions is within tolerance * ||A||_1 *
    width, else its halves are refined. Returns the attributions and the sum of the differences
    (an estimate of the reference's own L1 error that overestimates it: the halves are far more
    accurate than the whole). Independent of igx: another rule, another refinement."""
    nodes, weights = np.polynomial.legendre.leggauss(order)
    nodes = torch.tensor((nodes + 1) / 2, device=x.device)
    weights = torch.tensor(weights / 2, device=x.device)

    def integrate(panels):
        a = torch.tensor([p[0] for p in panels], device=x.device, dtype=torch.float64)
        w = torch.tensor([p[1] - p[0] for p in panels], device=x.device, dtype=torch.float64)
        alphas = (a[:, None] + w[:, None] * nodes[None]).flatten()
        ws = (w[:, None] * weights[None]).flatten()
        owners = torch.arange(len(panels), device=x.device).repeat_interleave(order)
        return gradient_sums(model, x, alphas, ws, owners, len(panels), target, output, batch) * x

    panels = [(k / start, (k + 1) / start) for k in range(start)]
    wholes = integrate(panels)
    accepted = torch.zeros_like(x)
    error = 0.0
    norm = wholes.sum(0).abs().sum().item()
    while panels:
        halves = []
        for a, b in panels:
            m = (a + b) / 2
            halves += [(a, m), (m, b)]
        integrated_halves = integrate(halves)
        refined = integrated_halves.view(len(panels), 2, *x.shape).sum(1)
        differences = (refined - wholes).abs().flatten(1).sum(1)
        norm = max(norm, (accepted + refined.sum(0)).abs().sum().item())
        next_panels, next_wholes = [], []
        for i, (a, b) in enumerate(panels):
            if differences[i].item() <= tolerance * norm * (b - a) or len(panels) + len(next_panels) >= max_panels:
                accepted += refined[i]
                error += differences[i].item()
            else:
                next_panels += [halves[2 * i], halves[2 * i + 1]]
                next_wholes += [integrated_halves[2 * i], integrated_halves[2 * i + 1]]
        panels = next_panels
        wholes = torch.stack(next_wholes) if next_wholes else None
    return accepted, error


def references(folder, target, output, tolerance, device, batch):
    path = os.path.join(folder, f"reference-{output}-{target}-{tolerance:g}.npz")
    if os.path.exists(path):
        data = np.load(path)
        return {k: data[k] for k in data.files}
    model = load_model(folder, device)
    inputs = torch.tensor(np.load(os.path.join(folder, "inputs.npy")), dtype=torch.float64, device=device)
    at_input = values(model, inputs, target, output, batch)
    at_baseline = values(model, torch.zeros_like(inputs), target, output, batch)
    attributions, errors = [], []
    for b in range(inputs.shape[0]):
        reference, error = adaptive_reference(model, inputs[b], target, output, batch, tolerance)
        attributions.append(reference.cpu().numpy())
        errors.append(error / max(np.abs(attributions[-1]).sum(), 1e-300))
        print(f"reference {folder} example {b}: estimated error {errors[-1]:.1e}", file=sys.stderr)
    result = {"output_input": at_input.cpu().numpy(), "output_baseline": at_baseline.cpu().numpy(),
              "attributions": np.stack(attributions), "error": np.array(errors)}
    np.savez(path, **result)
    return result


def relative_l1(a, b):
    return float(np.abs(a - b).sum() / max(np.abs(b).sum(), 1e-300))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model_dir")
    parser.add_argument("--runs", required=True)
    parser.add_argument("--target", type=int, default=1)
    parser.add_argument("--output", default="prob")
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--attribution-tolerance", type=float, default=0.05)
    parser.add_argument("--reference-tolerance", type=float, default=1e-4,
                        help="reference: relative L1 tolerance of the adaptive Gauss-Legendre reference")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    ref = references(args.model_dir, args.target, args.output, args.reference_tolerance, args.device, args.batch)
    reference = ref["attributions"]
    gap = ref["output_input"] - ref["output_baseline"]
    agreement = [float(e) for e in ref["error"]]
    runs = json.load(open(args.runs))
    for run in runs:
        report = json.load(open(run["json"]))
        attributions = np.load(run["npy"]).astype(np.float64)
        rows = []
        for b, example in enumerate(report["examples"]):
            a = attributions[b]
            completeness = float(abs(a.sum() - gap[b]) / abs(gap[b])) if abs(gap[b]) > 1e-6 else None
            vector = relative_l1(a, reference[b])
            row = {"example": b, "gap": float(gap[b]), "completeness_error": completeness, "vector_error": vector,
                   "reference_error": agreement[b], "steps": example["steps"],
                   "forward_steps": example.get("forward_steps", 0),
                   "certified": example.get("certified"),
                   "completeness_certified": example.get("completeness_certified"),
                   "attribution_certified": example.get("attribution_certified"),
                   "attribution_error": example.get("attribution_error"),
                   "precision_limited": example.get("precision_limited", False),
                   "igx_relative_error": example.get("relative_error")}
            # Without a relative error (|gap| <= 1e-6, igx's min_output_gap) igx certifies the
            # absolute error max(1e-6, |gap|) instead.
            absolute = float(abs(a.sum() - gap[b]))
            row["absolute_completeness_error"] = absolute
            exceeded = completeness > args.tolerance if completeness is not None else absolute > max(1e-6, abs(gap[b]))
            row["wrong_completeness"] = bool(bool(row["certified"] or row["completeness_certified"]) and exceeded)
            row["wrong_vector"] = bool(bool(row["certified"]) and bool(row["attribution_certified"]) and
                vector > args.attribution_tolerance)
            rows.append(row)
        print(json.dumps({"label": run["label"], "model": os.path.basename(os.path.normpath(args.model_dir)),
                          "rows": rows}))


if __name__ == "__main__":
    main()
