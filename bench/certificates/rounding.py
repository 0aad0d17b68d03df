"""How far does a float32 model's F stray from the same model in float64? The measurement behind
igx's rounding allowance (src/certificate.h, Rounding).

For every model folder of make_models.py given, F is evaluated along the straight path from the
zero baseline to each input at POINTS + 1 points, in float32 (the exported model) and in float64
(the same model cast), for every class and output kind. The error is divided by the scale igx
uses, eps * (|F| + propagated) with Z the largest |logit| along the path and propagated = Z for a
logit, 2 F (1 - F) Z for a probability, 1 + 2 (1 - e^F) Z for a log-probability (printed too with
2 Z, its scale before session 6, as "logprob-2Z"). Prints the largest ratio per
output kind: igx allows Rounding::kRoundingFactor times the scale.

    /usr/bin/python3 bench/certificates/rounding.py OUT/bert-sat16 OUT/bert-sat32 ... [--points 128]
"""

import argparse
import os

import numpy as np
import torch

EPSILON = float(np.finfo(np.float32).eps)
TINY = float(np.finfo(np.float32).tiny)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("models", nargs="+")
    parser.add_argument("--points", type=int, default=128)
    args = parser.parse_args()
    worst = {"logit": 0.0, "prob": 0.0, "logprob": 0.0, "logprob-2Z": 0.0}
    alphas = torch.linspace(0, 1, args.points + 1, dtype=torch.float64)
    for folder in args.models:
        single = torch.jit.load(os.path.join(folder, "model.pt")).eval()
        double = torch.jit.load(os.path.join(folder, "model.pt")).eval().double()
        inputs = torch.tensor(np.load(os.path.join(folder, "inputs.npy")), dtype=torch.float64)
        for x in inputs:
            points = (alphas[:, None, None] * x[None]).float()
            with torch.no_grad():
                logits32 = single(points).double()
                logits64 = double(points.double())
            largest = logits32.abs().max().item()
            for kind in worst:
                if kind == "logit":
                    f32, f64 = logits32, logits64
                elif kind == "prob":
                    f32 = torch.softmax(logits32.float(), -1).double()
                    f64 = torch.softmax(logits64, -1)
                else:  # logprob, logprob-2Z
                    f32 = torch.log_softmax(logits32.float(), -1).double()
                    f64 = torch.log_softmax(logits64, -1)
                propagated = {"logit": largest, "prob": 2 * f32 * (1 - f32) * largest,
                              "logprob": 1 + 2 * (1 - f32.clamp(max=0).exp()) * largest, "logprob-2Z": 2 * largest}[kind]
                scale = f32.abs() + propagated
                # Below float32's smallest normal number F has fewer significant bits than eps says
                # (a probability of 1e-40 is off by ~1e-46): absolute errors no target can see.
                normal = f32.abs() >= TINY
                ratio = ((f32 - f64).abs()[normal] / (EPSILON * scale[normal])).max().item()
                worst[kind] = max(worst[kind], ratio)
        print(f"{folder}: " + ", ".join(f"{k} {v:.1f}" for k, v in worst.items()))
    print("largest |F32 - F64| / (eps * scale): " + ", ".join(f"{k} {v:.1f}" for k, v in worst.items()))


if __name__ == "__main__":
    main()
