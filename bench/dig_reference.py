#!/usr/bin/python3
"""igx's DIG side by side with the authors' code (github.com/INK-USC/DIG).

Runs `igx explain --method dig-greedy|dig-maxcount` on test texts of a text bundle and, on the
same embedding matrix, the reference: its neighbour graph as its knn.py builds it
(scikit-learn's kneighbors_graph, mode='distance') and its paths from monotonic_paths.py
(find_word_path, make_monotonic_path through scale_inputs), imported from a checkout of the
authors' repository. Compares, per strategy:

  - the neighbour lists (igx's are not printed by the CLI: the anchors depend on them);
  - the anchors, the first and the later ones separately;
  - the token attributions: the left sum along the reference's path with igx's fixed target,
    computed here with the bundle's forward_embeds, against igx's token scores;
  - how often the reference's explained class (the largest logit at each path point, its
    nn_forward_func) is not the class predicted at the input;
  - the time of the neighbour graph and of the reference's path construction.

Usage (after scripts/fetch_data.sh and a build):

    git clone https://github.com/INK-USC/DIG /tmp/DIG      # or any checkout of it
    /usr/bin/python3 bench/dig_reference.py --reference /tmp/DIG --texts 5

Needs python3-sklearn and python3-tqdm (monotonic_paths imports tqdm). Prints a Markdown table;
docs/dig.md has the results.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent


def read_texts(path: Path, count: int) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f][:count]


def run_igx(igx: Path, bundle: Path, texts: list, method: str, anchors: int, neighbours: int, extra: list) -> tuple:
    """igx's explanation JSON of `texts` and the wall time of the command."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "out"
        command = [str(igx), "explain", "--model", str(bundle), "--method", method, "--anchors", str(anchors),
                   "--neighbours", str(neighbours), "--out-dir", str(out), "--no-color", *extra, *texts]
        started = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - started
        return json.loads((out / "explanation.json").read_text(encoding="utf-8")), seconds


def left_sum(model, points: torch.Tensor, target: int) -> tuple:
    """Token scores of sum_k grad F(p_k) . (p_{k+1} - p_k) for the fixed `target` along
    `points` [K, T, D], and the class of the largest logit at each point."""
    points = points.detach().clone().requires_grad_(True)
    mask = torch.ones(points.shape[:2], dtype=torch.int64)
    logits = model.forward_embeds(points, mask)
    gradients, = torch.autograd.grad(logits[:, target].sum(), points)
    steps = torch.cat([points[1:] - points[:-1], torch.zeros_like(points[:1])]).detach()
    return (gradients * steps).sum(dim=(0, 2)).double(), logits.argmax(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reference", type=Path, required=True, help="checkout of INK-USC/DIG (monotonic_paths.py)")
    parser.add_argument("--igx", type=Path, default=ROOT / "build/igx")
    parser.add_argument("--bundle", type=Path, default=ROOT / "models/spam-transformer")
    parser.add_argument("--data", type=Path, default=ROOT / ".cache/data/spam/test.jsonl")
    parser.add_argument("--texts", type=int, default=5)
    parser.add_argument("--anchors", type=int, default=30)
    parser.add_argument("--neighbours", type=int, default=500)
    parser.add_argument("--strategies", default="greedy,maxcount")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--igx-args", default="", help="more igx explain arguments, e.g. '--dig-score point'")
    args = parser.parse_args()

    sys.path.insert(0, str(args.reference))
    import monotonic_paths  # noqa: E402  (the authors' code)
    from sklearn.neighbors import kneighbors_graph  # noqa: E402

    torch.set_num_threads(args.threads)
    model = torch.jit.load(str(args.bundle / "model.pt"))
    meta = json.loads((args.bundle / "igx.json").read_text(encoding="utf-8"))
    vocab = (args.bundle / meta["tokenizer"]["vocab"]).read_text(encoding="utf-8").split("\n")[:-1]
    word_idx_map = {token: index for index, token in enumerate(vocab)}
    pad = meta["special_tokens"]["pad"]
    word_features = model.word_embeddings().numpy()

    started = time.perf_counter()
    graph = kneighbors_graph(word_features, args.neighbours, mode="distance", n_jobs=args.threads)  # as knn.py
    graph_seconds = time.perf_counter() - started
    auxiliary = (word_idx_map, word_features, graph)
    texts = read_texts(args.data, args.texts)

    print(f"vocabulary {word_features.shape[0]} x {word_features.shape[1]}, m = {args.anchors}, "
          f"K = {args.neighbours}, {len(texts)} texts; kneighbors_graph {graph_seconds:.2f} s")
    print()
    print("| strategy | first anchors equal | later anchors equal | max \\|score difference\\| / max \\|score\\| "
          "| points where the largest logit is not the target | reference path s/text | igx explain s/text |")
    print("|---|---|---|---|---|---|---|")
    for strategy in args.strategies.split(","):
        explanation, igx_seconds = run_igx(args.igx, args.bundle, texts, f"dig-{strategy}", args.anchors,
                                           args.neighbours, args.igx_args.split())
        first_equal = first_total = later_equal = later_total = switched = points_total = 0
        worst = 0.0
        path_seconds = 0.0
        for example in explanation["examples"]:
            ids = example["token_ids"]
            moving = [t for t, entry in enumerate(example["dig_anchors"]) if entry["anchors"]]
            reference_ids = [pad if t in moving else ids[t] for t in range(len(ids))]
            started = time.perf_counter()
            points = monotonic_paths.scale_inputs(ids, reference_ids, "cpu", auxiliary, steps=args.anchors,
                                                  factor=0, strategy=strategy)
            path_seconds += time.perf_counter() - started
            for t in moving:
                words = monotonic_paths.find_word_path(ids[t], pad, steps=args.anchors, strategy=strategy)[1:]
                ours = [word_idx_map[token] for token in example["dig_anchors"][t]["anchors"]]
                first_equal += words[0] == ours[0]
                first_total += 1
                later_equal += sum(a == b for a, b in zip(words[1:], ours[1:]))
                later_total += len(words) - 1
            # The reference keeps [CLS] and [SEP] on their own constant path, as igx does.
            scores, largest = left_sum(model, points, example["target"])
            ours = torch.tensor(example["token_scores"], dtype=torch.float64)
            worst = max(worst, float((scores - ours).abs().max() / ours.abs().max()))
            switched += int((largest != example["target"]).sum())
            points_total += largest.numel()
        count = len(explanation["examples"])
        print(f"| {strategy} | {first_equal}/{first_total} | {later_equal}/{later_total} | {worst:.2e} "
              f"| {switched}/{points_total} | {path_seconds / count:.2f} | {igx_seconds / count:.2f} |")


if __name__ == "__main__":
    main()
