#!/usr/bin/python3
"""igx against Captum on the shipped spam-transformer: the same TorchScript model, the same texts
(spread over the test split, one at a time), [PAD] baseline with [CLS]/[SEP] kept, logit of the
predicted class, Gauss-Legendre n = 50, at several internal batch sizes; plus igx's adaptive
integration certified to 1 %. Prints a Markdown table of seconds for all texts and the ratios.

    bench/compare_captum_text.py [--build build] [--texts 20] [--batch-sizes 16,50,256] [--threads 1]
                            [--repeats 3] [--captum .cache/captum] [--before OTHER_BUILD]

igx runs in a subprocess (build/bench/bench_text); Captum (github.com/pytorch/captum, imported
from its source folder: `--captum DIR` or $CAPTUM_DIR, which holds the `captum` package) runs in
this process when it is importable; otherwise only igx's part is printed. The passes alternate
(igx, Captum, igx, Captum, ...) so that load on a shared machine hits both alike; the table gives
the median over passes. Attributions of both are compared (largest absolute difference). Each igx
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


def run_igx(args, batch_sizes, strategies, build=None):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        command = [str(Path(build or args.build) / "bench" / "bench_text"), "--texts", str(args.texts), "--threads",
                   str(args.threads), "--steps", str(args.steps), "--tolerance", str(args.tolerance),
                   "--batch-sizes", ",".join(map(str, batch_sizes)), "--strategies", ",".join(strategies),
                   "--repeats", str(args.igx_passes), "--out", out.name]
        subprocess.run(command, check=True)
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
    parser.add_argument("--repeats", type=int, default=3, help="alternating passes of igx and Captum")
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
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    strategies = ["fixed"] + ([] if args.no_adaptive else ["adaptive"])
    extra_strategies = [name for name in args.extra_strategies.split(",") if name]

    integrated_gradients = load_captum(args.captum)
    captum = CaptumRunner(integrated_gradients, args) if integrated_gradients else None
    all_threads = args.threads if args.threads > 0 else os.cpu_count()
    blas_settings = [int(t) if int(t) > 0 else os.cpu_count()
                     for t in (args.captum_blas_threads or str(all_threads)).split(",")]

    # Wall-clock and process CPU seconds per configuration and pass. With one thread on a loaded
    # machine the CPU time measures the work; the wall clock adds the waiting for a core.
    igx_times, igx_cpu, captum_times, captum_cpu, igx_last, captum_last = {}, {}, {}, {}, None, {}
    before_last, blas_used = None, {}
    for _ in range(args.repeats):
        igx_last = run_igx(args, batch_sizes, strategies + extra_strategies)
        for run in igx_last["runs"]:
            igx_times.setdefault((run["strategy"], run["batch_size"]), []).append(run["seconds"][-1])
            igx_cpu.setdefault((run["strategy"], run["batch_size"]), []).append(run["cpu_seconds"][-1])
        if args.before:
            before_last = run_igx(args, batch_sizes, strategies, build=args.before)
            for run in before_last["runs"]:
                igx_times.setdefault(("before " + run["strategy"], run["batch_size"]), []).append(run["seconds"][-1])
                igx_cpu.setdefault(("before " + run["strategy"], run["batch_size"]), []).append(run["cpu_seconds"][-1])
        if captum:
            texts = igx_last["runs"][0]["examples"]
            for setting, blas_threads in enumerate(blas_settings):
                blas_used[blas_threads] = captum.set_blas_threads(blas_threads)
                for batch in batch_sizes:
                    seconds, cpu_seconds, outputs = captum.run(texts, batch if batch else 256)
                    # The table's Captum columns are the first setting's; the others are keyed
                    # (batch, OpenBLAS threads).
                    key = batch if setting == 0 else (batch, blas_threads)
                    captum_times.setdefault(key, []).append(seconds)
                    captum_cpu.setdefault(key, []).append(cpu_seconds)
                    if setting == 0:
                        captum_last[batch] = outputs

    import numpy as np
    runs = {(r["strategy"], r["batch_size"]): r for r in igx_last["runs"]}
    print(f"spam-transformer, {args.texts} test texts one at a time, {igx_last['threads']} thread(s), "
          f"{args.repeats} alternating passes (medians); load average {os.getloadavg()[0]:.1f}, "
          f"{os.cpu_count()} CPUs" + (f"; Captum's OpenBLAS pool: {blas_used[blas_settings[0]]} thread(s)"
                                      if captum else ""))
    print()
    print(f"| internal batch rows | igx fixed n={args.steps} | Captum n={args.steps} | igx / Captum | "
          f"max \\|igx − Captum\\| | igx adaptive {100 * args.tolerance:g} % | adaptive / Captum | "
          "evaluations/text | certified |" + (" fixed, before | before / Captum | adaptive, before | "
                                              "before / Captum | evaluations/text, before |" if before_last else ""))
    print("|---|---|---|---|---|---|---|---|---|" + ("---|---|---|---|---|" if before_last else ""))
    median = statistics.median

    def pair(wall, cpu):  # "wall s (CPU s)"
        return f"{wall:.2f} ({cpu:.2f})"

    for batch in batch_sizes:
        fixed, fixed_cpu = median(igx_times[("fixed", batch)]), median(igx_cpu[("fixed", batch)])
        cells = [str(batch) if batch else "auto", pair(fixed, fixed_cpu)]
        reference = reference_cpu = None
        if captum and batch in captum_times:
            reference, reference_cpu = median(captum_times[batch]), median(captum_cpu[batch])
            largest = 0.0
            for example, (target, values, _) in zip(runs[("fixed", batch)]["examples"], captum_last[batch]):
                assert example["target"] == target, "igx and Captum explain different classes"
                ours = np.array(example["attributions"]).reshape(example["shape"])
                largest = max(largest, float(np.abs(ours - values.numpy()).max()))
            cells += [pair(reference, reference_cpu), pair(fixed / reference, fixed_cpu / reference_cpu), f"{largest:.1e}"]
        else:
            cells += ["–", "–", "–"]
        if ("adaptive", batch) in runs:
            examples = runs[("adaptive", batch)]["examples"]
            adaptive, adaptive_cpu = median(igx_times[("adaptive", batch)]), median(igx_cpu[("adaptive", batch)])
            cells += [pair(adaptive, adaptive_cpu),
                      pair(adaptive / reference, adaptive_cpu / reference_cpu) if reference else "–",
                      f"{statistics.mean(e['steps'] for e in examples):.1f}",
                      f"{sum(e['certified'] for e in examples)}/{len(examples)}"]
        else:
            cells += ["–", "–", "–", "–"]
        if before_last:
            for strategy in strategies:
                before, before_cpu = median(igx_times[("before " + strategy, batch)]), median(igx_cpu[("before " + strategy, batch)])
                cells += [pair(before, before_cpu),
                          pair(before / reference, before_cpu / reference_cpu) if reference else "–"]
            if "adaptive" in strategies:
                examples = next(r for r in before_last["runs"]
                                if r["batch_size"] == batch and r["strategy"] == "adaptive")["examples"]
                cells += [f"{statistics.mean(e['steps'] for e in examples):.1f}"]
            else:
                cells += ["–", "–", "–"]
        print("| " + " | ".join(cells) + " |")
    print()
    print("Cells: wall-clock seconds for all texts (process CPU seconds in brackets); ratios of the same.")
    for strategy in extra_strategies:
        print()
        print(f"igx {strategy}, same processes:")
        for batch in batch_sizes:
            wall, cpu = median(igx_times[(strategy, batch)]), median(igx_cpu[(strategy, batch)])
            examples = runs[(strategy, batch)]["examples"]
            line = (f"- {batch if batch else 'auto'} rows: {pair(wall, cpu)}, "
                    f"{statistics.mean(e['steps'] for e in examples):.1f} evaluations/text, "
                    f"{runs[(strategy, batch)]['forward_rows'] / len(examples):.1f} forward rows/text, "
                    f"{sum(e['certified'] for e in examples)}/{len(examples)} certified")
            if captum and batch in captum_times:
                line += ", / Captum " + pair(wall / median(captum_times[batch]), cpu / median(captum_cpu[batch]))
            print(line)
    for blas_threads in blas_settings[1:] if captum else []:
        print()
        print(f"Captum with its OpenBLAS pool at {blas_used[blas_threads]} thread(s), same passes:")
        for batch in batch_sizes:
            wall, cpu = median(captum_times[(batch, blas_threads)]), median(captum_cpu[(batch, blas_threads)])
            line = f"- {batch if batch else 'auto'} rows: Captum {pair(wall, cpu)}, igx fixed / Captum " + pair(
                median(igx_times[("fixed", batch)]) / wall, median(igx_cpu[("fixed", batch)]) / cpu)
            if ("adaptive", batch) in igx_times:
                line += ", igx adaptive / Captum " + pair(median(igx_times[("adaptive", batch)]) / wall,
                                                          median(igx_cpu[("adaptive", batch)]) / cpu)
            print(line)
    print()
    firsts = ", ".join(f"{r['strategy']} batch {r['batch_size']}: {r['first_seconds']:.2f} s" for r in igx_last["runs"])
    print(f"igx model load {igx_last['load_seconds']:.2f} s; first (untimed) text per configuration: {firsts}")


if __name__ == "__main__":
    main()
