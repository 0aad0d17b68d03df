#!/usr/bin/python3
"""DIG's full neighbour index: igx's NeighbourIndex::prepare_all against scikit-learn's
kneighbors_graph (what the authors' knn.py runs) on the same matrices, in one run.

Matrices: the shipped spam-transformer's and spam-bert's word embeddings, and the random
30,000 x 768 vocabulary of bench/bench_dig.cpp (torch.randn with seed 0, times 0.05: the same
numbers as LibTorch's generator gives there). K = 500 as in the paper. igx's time comes from
bench_dig's BM_*IndexAll benchmarks, each in its own process; scikit-learn's from
kneighbors_graph(X, 500, mode='distance', n_jobs=THREADS), best of --repeats.

Usage: /usr/bin/python3 bench/neighbours_vs_sklearn.py [--build build] [--threads 2]
"""

import argparse
import json
import subprocess
import time
from pathlib import Path

import torch
from sklearn.neighbors import kneighbors_graph

ROOT = Path(__file__).resolve().parent.parent


def sklearn_seconds(matrix, neighbours: int, threads: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        kneighbors_graph(matrix, neighbours, mode="distance", n_jobs=threads)
        best = min(best, time.perf_counter() - started)
    return best


def igx_seconds(build: Path, benchmark: str) -> float:
    """Best wall time of one bench_dig benchmark, in seconds."""
    result = subprocess.run([str(build / "bench/bench_dig"), f"--benchmark_filter=^{benchmark}(/|$)",
                             "--benchmark_format=json"], check=True, capture_output=True, text=True)
    runs = json.loads(result.stdout)["benchmarks"]
    return min(run["real_time"] for run in runs) / 1000.0  # bench_dig reports milliseconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--skip-synthetic", action="store_true", help="only the shipped vocabularies")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = []
    for bundle, benchmark in (("spam-transformer", "BM_ShippedIndexAll"), ("spam-bert", "BM_ShippedBertIndexAll")):
        path = ROOT / "models" / bundle / "model.pt"
        if not path.exists():
            continue
        matrix = torch.jit.load(str(path)).word_embeddings().numpy()
        rows.append((f"{bundle} {matrix.shape[0]} x {matrix.shape[1]}",
                     sklearn_seconds(matrix, 500, args.threads, args.repeats), igx_seconds(args.build, benchmark)))
    if not args.skip_synthetic:
        generator = torch.Generator().manual_seed(0)
        matrix = (torch.randn(30000, 768, generator=generator) * 0.05).numpy()
        rows.append(("random 30000 x 768", sklearn_seconds(matrix, 500, args.threads, 1),
                     igx_seconds(args.build, "BM_SyntheticIndexAll")))

    print("| vocabulary | scikit-learn kneighbors_graph (s) | igx prepare_all (s) | scikit-learn / igx |")
    print("|---|---|---|---|")
    for name, reference, ours in rows:
        print(f"| {name} | {reference:.2f} | {ours:.2f} | {reference / ours:.2f} |")
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    print(f"\n{args.threads} threads each, K = 500; load average {load}")


if __name__ == "__main__":
    main()
