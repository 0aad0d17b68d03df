#!/usr/bin/python3
"""igx against Captum on the shipped spam-transformer: the same TorchScript model, the same texts
(spread over the test split, one at a time), [PAD] baseline with [CLS]/[SEP] kept, logit of the
predicted class, Gauss-Legendre n = 50, at several internal batch sizes; plus igx's adaptive
integration certified to 1 %. Prints a Markdown table of seconds for all texts and the ratios.

    bench/compare_captum_text.py [--build build] [--texts 20] [--batch-sizes 16,50,256] [--threads 1]
                            [--repeats 3] [--pairing cell|pass] [--captum .cache/captum]
                            [--before OTHER_BUILD]

igx runs in a subprocess (build/bench/bench_text); Captum (github.com/pytorch/captum, imported
from its source folder: `--captum DIR` or $CAPTUM_DIR, which holds the `captum` package) runs in
this process when it is importable; otherwise only igx's part is printed. The passes are paired
so that load on a shared machine hits both alike: for each batch size (`--pairing cell`, the
default) an igx process and a Captum pass run one right after the other, igx first in even repeats
and Captum first in odd ones; each ratio is taken within a pair, and the table gives the median of
the `--repeats` pairs' ratios with the smallest and largest (one noisy pass moves the range, not
the median). `--pairing pass` runs one igx process for all batch sizes, then Captum at each (as
before). Attributions of both are compared (largest absolute difference). Each igx
process goes over the texts `--igx-passes` times (2) and the last pass is timed: Captum runs in
this long-lived process, and a fresh process's first calls cost more (docs/benchmarks.md).
`--before OTHER_BUILD` runs a second igx build (fixed steps and adaptive integration) in the same
passes (a before/after comparison measured in one run) and adds its columns.

Threads: both sides run `--threads` threads. torch.set_num_threads sizes only LibTorch's own pool;
the OpenBLAS pool that Debian's LibTorch multiplies matrices with starts with one thread per core,
and an idle core lets its threads spin (Captum's process then used 2 CPU-seconds per wall-clock
second at `--threads 1`). igx sizes OpenBLAS's pool with its thread count, so Captum's is set to
`--threads` too (openblas_set_num_threads). `--captum-blas-threads 1,2` times Captum with each
OpenBLAS pool size in the same passes; the first is the table's, the others get a line of their own.

Memory: igx keeps the memory its batches free for the next batch (src/integrator.cpp); Captum's
Python process runs with glibc's settings, and pays page faults for its freed batch memory as far
as glibc's thresholds, grown by what the process freed before, leave it. `--captum-malloc kept`
runs Captum's process with freed memory kept too (glibc tunables): the ratio then compares the
computation alone.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_captum(folder):
    for candidate in [folder, os.environ.get("CAPTUM_DIR"), str(ROOT / ".cache" / "captum")]:
        if candidate and (Path(candidate) / "captum").is_dir():
            sys.path.insert(0, candidate)
            break
    try:
        from captum.attr import IntegratedGradients  # noqa: F401
        return IntegratedGradients
    except Exception as error:  # noqa: BLE001 - any import failure means: no Captum here
        print(f"compare_captum_text: Captum is not importable ({error}); igx only", file=sys.stderr)
        return None


# --captum-malloc kept: glibc's malloc keeps freed memory in Captum's process as igx keeps it in its
# own (src/integrator.cpp: blocks up to 32 MiB from the heap, the heap's top not given back), so
# neither pays page faults for memory it has just freed and the ratio compares the computation.
# With glibc's defaults the thresholds in Captum's process depend on what it freed before: its
# time then moves with its history (docs/benchmarks.md, session 7).
KEPT_MALLOC = "glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=1073741824"
ORIGINAL_TUNABLES = "IGX_COMPARE_ORIGINAL_GLIBC_TUNABLES"  # set once the script re-ran itself with KEPT_MALLOC


def restart_with_kept_malloc():
    """Runs this script again with KEPT_MALLOC (glibc reads it at start-up only)."""
    if ORIGINAL_TUNABLES in os.environ:
        return
    env = dict(os.environ)
    env[ORIGINAL_TUNABLES] = env.get("GLIBC_TUNABLES", "")
    env["GLIBC_TUNABLES"] = ":".join(filter(None, [env[ORIGINAL_TUNABLES], KEPT_MALLOC]))
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def run_igx(args, batch_sizes, strategies, build=None):
    env = dict(os.environ)
    if ORIGINAL_TUNABLES in env:  # igx as shipped: it sets its own malloc thresholds
        env["GLIBC_TUNABLES"] = env.pop(ORIGINAL_TUNABLES)
        if not env["GLIBC_TUNABLES"]:
            del env["GLIBC_TUNABLES"]
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [str(Path(build or args.build) / "bench" / "bench_text"), "--texts", str(args.texts), "--threads",
                   str(args.threads), "--steps", str(args.steps), "--tolerance", str(args.tolerance),
                   "--batch-sizes", ",".join(map(str, batch_sizes)), "--strategies", ",".join(strategies),
                   "--repeats", str(args.igx_passes), "--out", out.name]
        subprocess.run(command, check=True, env=env)
        return json.load(open(out.name))


class CaptumRunner:
    def __init__(self, integrated_gradients, args):
        import torch
        self.torch = torch
        torch.set_num_threads(args.threads if args.threads > 0 else os.cpu_count())
        bundle = ROOT / "models" / "spam-transformer"
        config = json.load(open(bundle / "igx.json"))
        self.special = config["special_tokens"]
        self.model = torch.jit.load(str(bundle / "model.pt"))
        self.model.eval()
        self.ig = integrated_gradients(lambda embeds, mask: self.model.forward_embeds(embeds, mask))
        self.steps = args.steps
        try:  # the OpenBLAS LibTorch is linked with (Debian); None: another BLAS, left as it is
            import ctypes
            self.openblas = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        except OSError:
            self.openblas = None

    def set_blas_threads(self, threads):
        """Sizes OpenBLAS's pool; returns the size it has (None: no OpenBLAS in this process)."""
        if self.openblas is None:
            return None
        self.openblas.openblas_set_num_threads(threads)
        return self.openblas.openblas_get_num_threads()

    def explain(self, ids, batch_size):
        torch = self.torch
        ids = torch.tensor([ids], dtype=torch.long)
        mask = torch.ones_like(ids)
        with torch.no_grad():
            target = int(self.model.forward(ids, mask).argmax(1))
            inputs = self.model.embed(ids)
            ordinary = (ids != self.special["cls"]) & (ids != self.special["sep"])
            baselines = self.model.embed(torch.where(ordinary, torch.full_like(ids, self.special["pad"]), ids))
        attributions, delta = self.ig.attribute(inputs, baselines=baselines, additional_forward_args=(mask,),
                                                target=target, n_steps=self.steps, method="gausslegendre",
                                                internal_batch_size=batch_size, return_convergence_delta=True)
        return target, attributions[0].detach().double(), float(delta)

    def run(self, texts, batch_size):
        self.explain(texts[0]["ids"], batch_size)  # the executor's first shapes, as igx's first call
        total, cpu_total, outputs = 0.0, 0.0, []
        for text in texts:
            start, cpu_start = time.perf_counter(), time.process_time()
            outputs.append(self.explain(text["ids"], batch_size))
            total += time.perf_counter() - start
            cpu_total += time.process_time() - cpu_start
        return total, cpu_total, outputs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--texts", type=int, default=20)
    parser.add_argument("--batch-sizes", default="16,50,256")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--tolerance", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3,
                        help="pairs of igx and Captum passes per cell (the ratios' medians are over them)")
    parser.add_argument("--pairing", choices=["cell", "pass"], default="cell",
                        help="cell: an igx process and a Captum pass per batch size, one after the other (the "
                             "order alternates with each repeat); pass: one igx process for all batch sizes, "
                             "then Captum at each (the older, coarser interleaving)")
    parser.add_argument("--captum", default=None, help="folder holding Captum's `captum` package")
    parser.add_argument("--no-adaptive", action="store_true", help="leave out igx's adaptive runs")
    parser.add_argument("--before", default=None, help="another igx build to time alongside")
    parser.add_argument("--extra-strategies", default="",
                        help="more of bench_text's strategies to time in the same igx processes (e.g. "
                             "adaptive-scan16: the scan at another resolution), a line each under the table")
    parser.add_argument("--captum-blas-threads", default=None,
                        help="OpenBLAS pool sizes to time Captum with, comma-separated (default: --threads, "
                             "0 = all cores); the first one is the table's")
    parser.add_argument("--igx-passes", type=int, default=2,
                        help="passes over the texts inside each igx process; the last one is timed (a warm "
                             "process, as Captum's)")
    parser.add_argument("--captum-malloc", choices=["default", "kept"], default="default",
                        help="default: Captum's process with glibc's malloc settings; kept: with freed memory "
                             "kept for reuse, as igx's process keeps it (GLIBC_TUNABLES=" + KEPT_MALLOC + "; igx's "
                             "processes are started without it)")
    args = parser.parse_args()
    if args.captum_malloc == "kept":
        restart_with_kept_malloc()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    strategies = ["fixed"] + ([] if args.no_adaptive else ["adaptive"])
    extra_strategies = [name for name in args.extra_strategies.split(",") if name]

    integrated_gradients = load_captum(args.captum)
    captum = CaptumRunner(integrated_gradients, args) if integrated_gradients else None
    all_threads = args.threads if args.threads > 0 else os.cpu_count()
    blas_settings = [int(t) if int(t) > 0 else os.cpu_count()
                     for t in (args.captum_blas_threads or str(all_threads)).split(",")]

    # times[key][repeat] = (wall-clock seconds, process CPU seconds) of one timed pass over the texts;
    # keys ("igx", strategy, batch), ("before", strategy, batch), ("captum", batch, OpenBLAS threads).
    # With one thread on a loaded machine the CPU time measures the work; the wall clock adds the
    # waiting for a core. A ratio is taken within each repeat (a pair of passes run minutes apart
    # at most, one right after the other with --pairing cell) and the table gives the pairs' median.
    times, runs, before_runs, blas_used, texts, loads = {}, {}, {}, {}, None, []

    def time_igx(repeat, cell_batches):
        nonlocal texts
        result = run_igx(args, cell_batches, strategies + extra_strategies)
        for run in result["runs"]:
            times.setdefault(("igx", run["strategy"], run["batch_size"]), {})[repeat] = (
                run["seconds"][-1], run["cpu_seconds"][-1])
            runs[(run["strategy"], run["batch_size"])] = run
        runs["load_seconds"] = result["load_seconds"]
        runs["threads"] = result["threads"]
        texts = texts or result["runs"][0]["examples"]
        if args.before:
            for run in run_igx(args, cell_batches, strategies, build=args.before)["runs"]:
                times.setdefault(("before", run["strategy"], run["batch_size"]), {})[repeat] = (
                    run["seconds"][-1], run["cpu_seconds"][-1])
                before_runs[(run["strategy"], run["batch_size"])] = run

    def time_captum(repeat, cell_batches):
        for blas_threads in blas_settings:
            blas_used[blas_threads] = captum.set_blas_threads(blas_threads)
            for batch in cell_batches:
                seconds, cpu_seconds, outputs = captum.run(texts, batch if batch else 256)
                times.setdefault(("captum", batch, blas_threads), {})[repeat] = (seconds, cpu_seconds)
                if blas_threads == blas_settings[0]:
                    runs[("captum", batch)] = outputs

    cells = [[batch] for batch in batch_sizes] if args.pairing == "cell" else [batch_sizes]
    for repeat in range(args.repeats):
        for cell_batches in cells:
            loads.append(os.getloadavg()[0])
            # igx first in even repeats, Captum first in odd ones (Captum needs igx's token ids once).
            if captum and repeat % 2 == 1 and texts is not None:
                time_captum(repeat, cell_batches)
                time_igx(repeat, cell_batches)
            else:
                time_igx(repeat, cell_batches)
                if captum:
                    time_captum(repeat, cell_batches)

    import numpy as np
    median = statistics.median

    def seconds(key):  # "wall s (CPU s)", medians over the repeats
        samples = times[key].values()
        return f"{median(s[0] for s in samples):.2f} ({median(s[1] for s in samples):.2f})"

    def ratio(key, reference_key):
        """The pairs' ratios of key to reference_key: "median [min–max]" of the wall clock, then of CPU."""
        pairs = [(times[key][r], times[reference_key][r]) for r in times[key] if r in times[reference_key]]
        text = []
        for part in (0, 1):
            values = [ours[part] / theirs[part] for ours, theirs in pairs]
            text.append(f"{median(values):.2f} [{min(values):.2f}–{max(values):.2f}]")
        return f"{text[0]} ({text[1]})"

    print(f"spam-transformer, {args.texts} test texts one at a time, {runs['threads']} thread(s), "
          f"{args.repeats} pairs of igx and Captum passes per cell (paired by {args.pairing}); load average "
          f"{min(loads):.1f}-{max(loads):.1f} during the run, {os.cpu_count()} CPUs"
          + (f"; Captum's OpenBLAS pool: {blas_used[blas_settings[0]]} thread(s), its malloc: "
             + ("freed memory kept (GLIBC_TUNABLES=" + os.environ["GLIBC_TUNABLES"] + ")"
                if args.captum_malloc == "kept" else "glibc's settings") if captum else ""))
    print()
    print(f"| internal batch rows | igx fixed n={args.steps} | Captum n={args.steps} | igx / Captum | "
          f"max \\|igx − Captum\\| | igx adaptive {100 * args.tolerance:g} % | adaptive / Captum | "
          "evaluations/text | certified |" + (" fixed, before | before / Captum | adaptive, before | "
                                              "before / Captum | evaluations/text, before |" if args.before else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|---|---|---|" if args.before else ""))
    reference_threads = blas_settings[0]
    for batch in batch_sizes:
        row = [str(batch) if batch else "auto", seconds(("igx", "fixed", batch))]
        reference = ("captum", batch, reference_threads) if captum else None
        if reference:
            largest = 0.0
            for example, (target, values, _) in zip(runs[("fixed", batch)]["examples"], runs[("captum", batch)]):
                assert example["target"] == target, "igx and Captum explain different classes"
                ours = np.array(example["attributions"]).reshape(example["shape"])
                largest = max(largest, float(np.abs(ours - values.numpy()).max()))
            row += [seconds(reference), ratio(("igx", "fixed", batch), reference), f"{largest:.1e}"]
        else:
            row += ["–", "–", "–"]
        if ("adaptive", batch) in runs:
            examples = runs[("adaptive", batch)]["examples"]
            row += [seconds(("igx", "adaptive", batch)),
                      ratio(("igx", "adaptive", batch), reference) if reference else "–",
                      f"{statistics.mean(e['steps'] for e in examples):.1f}",
                      f"{sum(e['certified'] for e in examples)}/{len(examples)}"]
        else:
            row += ["–", "–", "–", "–"]
        if args.before:
            for strategy in strategies:
                row += [seconds(("before", strategy, batch)),
                          ratio(("before", strategy, batch), reference) if reference else "–"]
            if "adaptive" in strategies:
                examples = before_runs[("adaptive", batch)]["examples"]
                row += [f"{statistics.mean(e['steps'] for e in examples):.1f}"]
            else:
                row += ["–", "–", "–"]
        print("| " + " | ".join(row) + " |")
    print()
    print("Cells: wall-clock seconds for all texts (process CPU seconds in brackets), medians over the passes; "
          "ratios: the median of the ratios of the paired passes [smallest–largest], wall clock (CPU).")
    for strategy in extra_strategies:
        print()
        print(f"igx {strategy}, same processes:")
        for batch in batch_sizes:
            examples = runs[(strategy, batch)]["examples"]
            line = (f"- {batch if batch else 'auto'} rows: {seconds(('igx', strategy, batch))}, "
                    f"{statistics.mean(e['steps'] for e in examples):.1f} evaluations/text, "
                    f"{runs[(strategy, batch)]['forward_rows'] / len(examples):.1f} forward rows/text, "
                    f"{sum(e['certified'] for e in examples)}/{len(examples)} certified")
            if captum:
                line += ", / Captum " + ratio(("igx", strategy, batch), ("captum", batch, reference_threads))
            print(line)
    for blas_threads in blas_settings[1:] if captum else []:
        print()
        print(f"Captum with its OpenBLAS pool at {blas_used[blas_threads]} thread(s), same passes:")
        for batch in batch_sizes:
            other = ("captum", batch, blas_threads)
            line = (f"- {batch if batch else 'auto'} rows: Captum {seconds(other)}, igx fixed / Captum "
                    + ratio(("igx", "fixed", batch), other))
            if ("igx", "adaptive", batch) in times:
                line += ", igx adaptive / Captum " + ratio(("igx", "adaptive", batch), other)
            print(line)
    print()
    firsts = ", ".join(f"{strategy} batch {batch}: {runs[(strategy, batch)]['first_seconds']:.2f} s"
                       for strategy in strategies + extra_strategies for batch in batch_sizes)
    print(f"igx model load {runs['load_seconds']:.2f} s; first (untimed) text per configuration: {firsts}")


if __name__ == "__main__":
    main()
