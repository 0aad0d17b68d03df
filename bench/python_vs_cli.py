#!/usr/bin/python3
"""igx from Python against the igx CLI, and the cost of calling an nn.Module back from C++.

1. The shipped spam-transformer on the same texts and settings, through `build/igx explain` and
   through igx.load_bundle(...).explain(...) (the same explanation service; the bundle's
   ScriptModule runs inside C++): wall time of the whole process, and of the request alone (both
   record it as run.seconds).
2. The same network as an nn.Module (called back from C++ per batch) and as its scripted twin,
   on a BERT with Hugging Face's layout (models/hf_bert.py) and on a small CNN: the callback's
   overhead as a ratio of attribution times.

Repetitions alternate between the sides so that drift on a shared machine hits both alike; the
tables give medians and ratios of medians. Usage (after scripts/build.sh):

    PYTHONPATH=build/python /usr/bin/python3 bench/python_vs_cli.py [--repeats 7] [--threads 2]
"""

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))

TEXTS = [
    "Congratulations! You have WON a free cruise. Click here to claim your prize before midnight",
    "Hi Bob, the meeting moved to Tuesday at 10; can you bring the quarterly numbers?",
    "URGENT: your account has been suspended, verify your password at the link below",
    "I pushed the fix for the build failure, the tests pass again on my machine",
    "Lowest mortgage rates guaranteed!!! Apply now, no credit check, limited offer",
    "Thanks for the review. I will update the patch and resend it tomorrow morning",
    "Buy cheap meds online, discreet shipping worldwide, best prices on the web",
    "The seminar on numerical integration starts at three in room 2.14",
]

PYTHON_EXPLAIN = r"""
import json, sys, time
import torch
import igx
settings = json.loads(sys.argv[1])
torch.set_num_threads(settings["threads"])
bundle = igx.load_bundle(settings["bundle"])
explanation = bundle.explain(settings["texts"], batch_size=256, baseline="pad", **settings["options"])
json.dump({"attribution_seconds": explanation.run["seconds"], "steps": [e.steps for e in explanation.report]},
          sys.stdout)
"""


def run_cli(cli, settings, out_dir):
    command = [cli, "explain", "--model", settings["bundle"], *settings["texts"], "--out-dir", out_dir, "--force",
               "--threads", str(settings["threads"]), "--batch-size", "256", "--baseline", "pad",
               *settings["cli_flags"]]
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    result = json.load(open(Path(out_dir) / "explanation.json"))
    return wall, result["run"]["seconds"], [e["steps"] for e in result["examples"]]


def run_python(settings):
    environment = dict(os.environ, PYTHONPATH=str(ROOT / "build" / "python"))
    start = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", PYTHON_EXPLAIN, json.dumps(settings)], check=True,
                            capture_output=True, text=True, env=environment).stdout
    wall = time.perf_counter() - start
    result = json.loads(output)
    return wall, result["attribution_seconds"], result["steps"]


def cli_versus_python(arguments):
    cli = str(ROOT / "build" / "igx")
    settings_list = [
        ("64 Gauss-Legendre steps", ["--steps", "64", "--method", "gausslegendre"],
         {"steps": 64, "method": "gausslegendre"}),
        ("adaptive, tolerance 1 %", ["--tolerance", "0.01"], {"tolerance": 0.01}),
        ("sig, tolerance 1 %", ["--method", "sig", "--tolerance", "0.01"], {"method": "sig", "tolerance": 0.01}),
    ]
    print(f"### igx explain against igx.load_bundle().explain(), {len(TEXTS)} texts, {arguments.threads} threads, "
          f"median of {arguments.repeats}\n")
    print("| bundle | settings | CLI process (s) | Python process (s) | ratio | CLI request (s) | Python request (s) | ratio | same steps |")
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as out_dir:
        for name, (label, cli_flags, options) in itertools.product(arguments.bundles.split(","), settings_list):
            bundle = str(ROOT / "models" / name)
            settings = {"texts": TEXTS, "threads": arguments.threads, "bundle": bundle, "cli_flags": cli_flags,
                        "options": options}
            cli_runs, python_runs = [], []
            for _ in range(arguments.repeats):
                cli_runs.append(run_cli(cli, settings, out_dir))
                python_runs.append(run_python(settings))
            same_steps = cli_runs[0][2] == python_runs[0][2]
            cli_wall = statistics.median(r[0] for r in cli_runs)
            cli_attr = statistics.median(r[1] for r in cli_runs)
            py_wall = statistics.median(r[0] for r in python_runs)
            py_attr = statistics.median(r[1] for r in python_runs)
            print(f"| {name} | {label} | {cli_wall:.3f} | {py_wall:.3f} | {py_wall / cli_wall:.3f} | {cli_attr:.3f} | "
                  f"{py_attr:.3f} | {py_attr / cli_attr:.3f} | {'yes' if same_steps else 'NO'} |")
    print()


def callback_overhead(arguments):
    import torch

    import igx
    from hf_bert import BertConfig, BertForSequenceClassification

    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    bert = BertForSequenceClassification(BertConfig(vocab_size=8000, hidden_size=128, num_hidden_layers=2,
                                                    num_attention_heads=4, intermediate_size=512,
                                                    return_logits_only=False)).eval()

    class Embedded(torch.nn.Module):
        """logits from word embeddings and the attention mask, through inputs_embeds"""

        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, embeddings: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            return self.model.logits(None, mask, None, embeddings)

    class Cnn(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.features = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 3, padding=1), torch.nn.ReLU(),
                                                torch.nn.MaxPool2d(2), torch.nn.Conv2d(16, 32, 3, padding=1),
                                                torch.nn.ReLU(), torch.nn.MaxPool2d(2))
            self.head = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(32 * 7 * 7, 64), torch.nn.ReLU(),
                                            torch.nn.Linear(64, 10))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.head(self.features(x))

    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(5, 8000, (8, 32), generator=generator)
    mask = torch.ones_like(ids)
    with torch.no_grad():
        embeddings = bert.bert.embeddings.word_embeddings(ids)
    cnn = Cnn().eval()
    images = torch.rand(8, 1, 28, 28, generator=generator)
    cases = [
        ("BERT 2x128, 8 x 32 tokens", Embedded(bert).eval(), embeddings, dict(additional_forward_args=mask)),
        ("CNN, 8 MNIST-sized images", cnn, images, {}),
    ]
    print(f"### nn.Module called back from C++ against its scripted twin, {arguments.threads} threads, "
          f"median of {arguments.repeats}\n")
    print("| model | settings | internal batch | ScriptModule (s) | nn.Module (s) | ratio |")
    print("|---|---|---|---|---|---|")
    for label, module, inputs, extra in cases:
        scripted = torch.jit.script(module)
        for setting, options in (("n_steps=50", dict(n_steps=50)), ("tolerance 1 %", dict(tolerance=0.01))):
            for rows in (None, 16):
                times = {"script": [], "module": []}
                for _ in range(arguments.repeats):
                    for name, model in (("script", scripted), ("module", module)):
                        start = time.perf_counter()
                        igx.IntegratedGradients(model).attribute(inputs, target=1, internal_batch_size=rows,
                                                                 **options, **extra)
                        times[name].append(time.perf_counter() - start)
                script_time = statistics.median(times["script"])
                module_time = statistics.median(times["module"])
                print(f"| {label} | {setting} | {rows or 'all'} | {script_time:.4f} | {module_time:.4f} | "
                      f"{module_time / script_time:.3f} |")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7, help="repetitions per side (default 7)")
    parser.add_argument("--bundles", default="spam-transformer,spam-bert",
                        help="shipped text bundles to compare on (default spam-transformer,spam-bert)")
    parser.add_argument("--threads", type=int, default=2, help="intra-op threads on both sides (default 2)")
    arguments = parser.parse_args()
    print(f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
    cli_versus_python(arguments)
    callback_overhead(arguments)


if __name__ == "__main__":
    main()
