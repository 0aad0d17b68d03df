#!/usr/bin/env python3
"""The CLI's default thread setting against --threads 1, whole processes (issue 13's goal: the
default never more than 5 % slower).

One short text through `igx explain` with the shipped spam-transformer, ROUNDS rounds; each round
runs every setting once, in an order that rotates from round to round, so that a change of the
machine's load hits all settings alike. Per process: wall-clock seconds (start-up included), CPU
seconds (user + system, all threads) and the run's own `run.seconds` (compute after the model is
loaded). The ratio column is the median over rounds of default / --threads 1 of the same round.
`--before OTHER_IGX` adds the same two settings for another build (e.g. the binary of an earlier
commit), measured in the same rounds; `--busy-loops N` repeats everything with N busy loops
competing for the cores.

Usage: /usr/bin/python3 bench/run_cli_start.py [--igx build/igx] [--before /tmp/igx-old]
                                                [--rounds 20] [--busy-loops 0]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TEXT = "Congratulations! You have WON a free cruise, call now to claim your prize"
MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models", "spam-transformer")


def load_average():
    return open("/proc/loadavg").read().split()[0]


def run_once(binary, extra, out):
    command = [binary, "explain", "--model", MODEL, TEXT, "--out", out, "--force"] + extra
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    with open(out) as report:
        seconds = json.load(report)["run"]["seconds"]
    return wall, cpu, seconds


def measure(builds, rounds, out):
    settings = [(name, binary, label, extra) for name, binary in builds
                for label, extra in (("--threads 1", ["--threads", "1"]), ("default", []))]
    results = {(name, label): [] for name, _, label, _ in settings}
    for round_index in range(rounds):
        shift = round_index % len(settings)
        for name, binary, label, extra in settings[shift:] + settings[:shift]:
            results[(name, label)].append(run_once(binary, extra, out))
    return results


def report(results, builds, machine):
    for name, _ in builds:
        one = results[(name, "--threads 1")]
        for label in ("--threads 1", "default"):
            values = results[(name, label)]
            walls = [v[0] for v in values]
            cpus = [v[1] for v in values]
            runs = [v[2] for v in values]
            ratio = statistics.median(v[0] / o[0] for v, o in zip(values, one))
            print(f"| {machine} | {name} | {label} | {statistics.median(walls):.3f} ({min(walls):.3f}-{max(walls):.3f}) "
                  f"| {statistics.median(cpus):.3f} | {statistics.median(runs):.4f} ({min(runs):.4f}) | {ratio:.3f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--igx", default="build/igx")
    parser.add_argument("--before", help="another igx binary measured in the same rounds")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--busy-loops", type=int, default=0)
    args = parser.parse_args()
    builds = [("this build", args.igx)] + ([("before", args.before)] if args.before else [])
    for variable in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        if variable in os.environ:
            print(f"note: {variable}={os.environ[variable]} is set: igx leaves that setting to you", file=sys.stderr)
    print("| machine | build | setting | process wall s, median (min-max) | CPU s, median | run.seconds, median (min) "
          "| wall / --threads 1, median of rounds |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as folder:
        out = os.path.join(folder, "run.json")
        load = load_average()
        results = measure(builds, args.rounds, out)
        report(results, builds, f"load {load}-{load_average()}, {args.rounds} rounds")
        if args.busy_loops > 0:
            loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.busy_loops)]
            try:
                time.sleep(1)
                results = measure(builds, args.rounds, out)
            finally:
                for loop in loops:
                    loop.kill()
                    loop.wait()
            report(results, builds, f"+ {args.busy_loops} busy loops")


if __name__ == "__main__":
    main()
