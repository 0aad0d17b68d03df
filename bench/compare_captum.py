#!/usr/bin/python3
"""igx's Python API against Captum on the same models and arguments: the largest difference of
the attributions per method (and of the convergence deltas), and the time of IG with fixed steps
on a BERT with Hugging Face's layout.

Captum is not a dependency of igx: fetch its source (github.com/pytorch/captum, v0.7.0 imports
on Debian's torch 1.13 once python3-tqdm is installed) and point CAPTUM_SRC at the folder that
holds the `captum` package. Usage (after scripts/build.sh):

    CAPTUM_SRC=/path/to/captum-src PYTHONPATH=build/python /usr/bin/python3 bench/compare_captum.py
"""

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "models"))
if "CAPTUM_SRC" not in os.environ:
    sys.exit("set CAPTUM_SRC to the folder that holds Captum's `captum` package (see the docstring)")
sys.path.insert(0, os.environ["CAPTUM_SRC"])
warnings.filterwarnings("ignore", message="Input Tensor 0 did not already require gradients")

import captum  # noqa: E402
import captum.attr as ca  # noqa: E402

import igx  # noqa: E402
from hf_bert import BertConfig, BertForSequenceClassification  # noqa: E402


class Cnn(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.act = torch.nn.Tanh()
        self.head = torch.nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.head(self.act(self.conv(x)).flatten(1))


def largest_difference(a, b):
    if isinstance(a, tuple):
        return max(largest_difference(x, y) for x, y in zip(a, b))
    return (a.double() - b.double()).abs().max().item()


def scale(a):
    if isinstance(a, tuple):
        return max(scale(x) for x in a)
    return a.double().abs().max().item()


def agreement():
    torch.manual_seed(0)
    model = Cnn().eval()
    x = torch.rand(4, 1, 8, 8)
    rows = []

    def compare(label, theirs, ours, note=""):
        rows.append((label, largest_difference(theirs, ours), scale(theirs), note))

    for rule in ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"):
        theirs, their_delta = ca.IntegratedGradients(model).attribute(x, target=1, n_steps=30, method=rule,
                                                                      return_convergence_delta=True)
        ours, our_delta = igx.IntegratedGradients(model).attribute(x, target=1, n_steps=30, method=rule,
                                                                   return_convergence_delta=True)
        compare(f"IntegratedGradients {rule}, n=30", theirs, ours,
                f"max abs delta: Captum {their_delta.abs().max().item():.1e}, igx {our_delta.abs().max().item():.1e}")
    compare("Saliency", ca.Saliency(model).attribute(x, target=2), igx.Saliency(model).attribute(x, target=2))
    compare("InputXGradient", ca.InputXGradient(model).attribute(x, target=2),
            igx.InputXGradient(model).attribute(x, target=2))
    compare("LayerIntegratedGradients (conv), n=20", ca.LayerIntegratedGradients(model, model.conv).attribute(
        x, target=0, n_steps=20), igx.LayerIntegratedGradients(model, model.conv).attribute(x, target=0, n_steps=20))
    compare("LayerConductance, Captum method=riemann_trapezoid", ca.LayerConductance(model, model.act).attribute(
        x, target=0, n_steps=20, method="riemann_trapezoid"),
        igx.LayerConductance(model, model.act).attribute(x, target=0, n_steps=20))
    compare("LayerConductance, Captum's default (gausslegendre grid)", ca.LayerConductance(model, model.act).attribute(
        x, target=0, n_steps=20), igx.LayerConductance(model, model.act).attribute(x, target=0, n_steps=20),
        "different grids: both approximate the same integral")
    compare("InternalInfluence, n=20", ca.InternalInfluence(model, model.act).attribute(x, target=0, n_steps=20),
            igx.InternalInfluence(model, model.act).attribute(x, target=0, n_steps=20))
    for rule in ("gausslegendre", "riemann_trapezoid"):
        compare(f"NeuronConductance (1, 3, 3), {rule}", ca.NeuronConductance(model, model.act).attribute(
            x, (1, 3, 3), target=0, n_steps=20, method=rule), igx.NeuronConductance(model, model.act).attribute(
            x, (1, 3, 3), target=0, n_steps=20, method=rule))
    compare("NoiseTunnel(IG), stdevs=0", ca.NoiseTunnel(ca.IntegratedGradients(model)).attribute(
        x, nt_samples=3, stdevs=0.0, target=0, n_steps=20), igx.NoiseTunnel(igx.IntegratedGradients(model)).attribute(
        x, nt_samples=3, stdevs=0.0, target=0, n_steps=20))
    a, b = torch.rand(3, 4), torch.rand(3, 5)
    two_inputs = torch.nn.Bilinear(4, 5, 2)
    compare("IntegratedGradients, a tuple of 2 inputs", ca.IntegratedGradients(two_inputs).attribute(
        (a, b), target=1, n_steps=16), igx.IntegratedGradients(two_inputs).attribute((a, b), target=1, n_steps=16))

    print(f"### Agreement with Captum {captum.__version__} (largest |difference| of the attributions)\n")
    print("| method | largest difference | largest attribution | note |")
    print("|---|---|---|---|")
    for label, difference, largest, note in rows:
        print(f"| {label} | {difference:.1e} | {largest:.1e} | {note} |")
    print()


def timing(repeats=5):
    torch.manual_seed(0)
    bert = BertForSequenceClassification(BertConfig(vocab_size=8000, hidden_size=128, num_hidden_layers=2,
                                                    num_attention_heads=4, intermediate_size=512)).eval()
    forward = lambda ids, mask: bert(ids, mask)["logits"]  # noqa: E731
    layer = bert.bert.embeddings.word_embeddings
    ids = torch.randint(5, 8000, (8, 32), generator=torch.Generator().manual_seed(1))
    mask = torch.ones_like(ids)
    times = {"captum": [], "igx": []}
    results = {}
    for _ in range(repeats):
        for name, method in (("captum", ca.LayerIntegratedGradients), ("igx", igx.LayerIntegratedGradients)):
            start = time.perf_counter()
            results[name] = method(forward, layer).attribute(ids, additional_forward_args=(mask,), target=1,
                                                             n_steps=50, internal_batch_size=100)
            times[name].append(time.perf_counter() - start)
    captum_time, igx_time = statistics.median(times["captum"]), statistics.median(times["igx"])
    print(f"### LayerIntegratedGradients on a BERT 2x128 (nn.Module), 8 x 32 tokens, n_steps=50, "
          f"internal_batch_size=100, {torch.get_num_threads()} threads, median of {repeats}\n")
    print("| Captum (s) | igx (s) | igx / Captum | largest difference |")
    print("|---|---|---|---|")
    print(f"| {captum_time:.3f} | {igx_time:.3f} | {igx_time / captum_time:.3f} | "
          f"{largest_difference(results['captum'], results['igx']):.1e} |")
    print()


if __name__ == "__main__":
    print(f"host: {os.uname().nodename}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start\n")
    agreement()
    timing()
