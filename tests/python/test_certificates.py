"""igx's certificates checked from outside igx: a saturated BERT-architecture classifier with Hugging
Face's layout (models/hf_bert.py, random weights, scaled layers; bench/certificates/make_models.py
builds it) is exported in float32 and explained by the built igx CLI with its defaults; then, in
float64 from the same weights, this file recomputes F(x) and F(x') and fine reference attribution
vectors (Gauss-Legendre with 2048 nodes and the midpoint rule with 4096, which must agree), and
checks every example igx certified:
  - its recomputed relative completeness error is within --tolerance;
  - its attribution vector's relative L1 error against the reference is within
    --attribution-tolerance, and igx's own attribution_error is not below it.
Examples igx does not certify must say why (precision_limited, or a criterion not held).

ctest runs it as certificates_independent (about 20 s on an idle machine); by hand:
IGX_CLI=build/igx /usr/bin/python3 tests/python/test_certificates.py
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np
import torch

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "bench", "certificates"))
from make_models import EmbedsClassifier, build  # noqa: E402

CLI = os.environ.get("IGX_CLI", os.path.join(SOURCE, "build", "igx"))
TOLERANCE = 0.01
ATTRIBUTION_TOLERANCE = 0.05  # igx's default
TARGET = 1


def output_of(logits, output):
    """F: the explained class's probability or log-probability."""
    if output == "logprob":
        return torch.log_softmax(logits, dim=-1)[:, TARGET]
    return torch.softmax(logits, dim=-1)[:, TARGET]


def explained_output(model, points, output):
    with torch.no_grad():
        return output_of(model(points), output)


def integrated_gradients(model, x, alphas, weights, output, batch=512):
    """sum_k w_k grad F(alpha_k x) * x (zero baseline), float64."""
    total = torch.zeros_like(x)
    for begin in range(0, alphas.numel(), batch):
        a = alphas[begin:begin + batch]
        points = (a[:, None, None] * x[None]).requires_grad_(True)
        f = output_of(model(points), output)
        (gradients,) = torch.autograd.grad(f.sum(), points)
        total += (weights[begin:begin + batch, None, None] * gradients).sum(0)
    return total * x


def gauss_legendre(n):
    nodes, weights = np.polynomial.legendre.leggauss(n)
    return torch.tensor((nodes + 1) / 2), torch.tensor(weights / 2)


def midpoint(n):
    return (torch.arange(n, dtype=torch.float64) + 0.5) / n, torch.full((n,), 1.0 / n, dtype=torch.float64)


def relative_l1(a, b):
    return float(np.abs(a - b).sum() / np.abs(b).sum())


class SaturatedBertCertificates(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="igx-certificates-")
        torch.manual_seed(0)
        model, _ = build(seed=1, scale=16.0, classifier_scale=100.0, layers=2, hidden=32, vocab=200)
        generator = torch.Generator().manual_seed(7)
        ids = torch.randint(1, 200, (12, 6), generator=generator)
        with torch.no_grad():
            cls.inputs = model.bert.embeddings.word_embeddings(ids).float()
        cls.model_path = os.path.join(cls.folder, "model.pt")
        torch.jit.script(EmbedsClassifier(model)).save(cls.model_path)
        np.save(os.path.join(cls.folder, "inputs.npy"), cls.inputs.numpy())
        # The reference side: the exported file itself, cast to float64.
        cls.exact = torch.jit.load(cls.model_path).eval().double()
        cls.references_by_output = {}  # output kind -> (gaps, fine, finer), computed once

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder, ignore_errors=True)

    def explain(self, label, *flags, output="prob"):
        json_path = os.path.join(self.folder, label + ".json")
        npy_path = os.path.join(self.folder, label + ".npy")
        command = [CLI, "explain", "--model", self.model_path, "--input", os.path.join(self.folder, "inputs.npy"),
                   "--output", output, "--target", str(TARGET), "--threads", "1", "--out", json_path, "--npy",
                   npy_path, "--force", *flags]
        done = subprocess.run(command, capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(json_path) as f:
            return json.load(f), np.load(npy_path).astype(np.float64), done.stdout

    def references(self, output):
        cache = type(self).references_by_output
        if output in cache:
            return cache[output]
        x = self.inputs.double()
        gap = (explained_output(self.exact, x, output) - explained_output(self.exact, torch.zeros_like(x), output)).numpy()
        fine, finer = [], []
        for b in range(x.shape[0]):
            fine.append(integrated_gradients(self.exact, x[b], *gauss_legendre(2048), output).numpy())
            finer.append(integrated_gradients(self.exact, x[b], *midpoint(4096), output).numpy())
        cache[output] = (gap, fine, finer)
        return cache[output]

    def check_certificates(self, report, attributions, output="prob"):
        gap, fine, finer = self.references(output)
        certified = 0
        for b, example in enumerate(report["examples"]):
            self.assertIn("certified", example)
            where = f"example {b}: {json.dumps({k: example.get(k) for k in ('certified', 'completeness_certified', 'attribution_certified', 'error_bound', 'attribution_error', 'precision_limited', 'steps')})}"
            if not example["certified"]:
                # It says why: a criterion that did not hold, or the precision that limits it.
                self.assertTrue(example["precision_limited"] or not example["completeness_certified"] or
                                not example.get("attribution_certified", True), where)
                continue
            certified += 1
            self.assertTrue(example["completeness_certified"], where)
            completeness = abs(attributions[b].sum() - gap[b])
            if abs(gap[b]) > 1e-6:
                self.assertLessEqual(completeness / abs(gap[b]), TOLERANCE, where)
            else:
                self.assertLessEqual(completeness, max(1e-6, abs(gap[b])), where)
            # The references agree with each other far below the attribution tolerance.
            self.assertLess(relative_l1(finer[b], fine[b]), 1e-3, f"references disagree on example {b}")
            if "attribution_certified" in example:
                self.assertTrue(example["attribution_certified"], where)
                vector = relative_l1(attributions[b], fine[b])
                self.assertLessEqual(vector, ATTRIBUTION_TOLERANCE, where)
                self.assertGreaterEqual(example["attribution_error"], vector, where)
        return certified

    def test_adaptive_defaults_hold(self):
        report, attributions, stdout = self.explain("adaptive")
        self.assertIn("certified:", stdout)
        self.assertGreaterEqual(self.check_certificates(report, attributions), len(report["examples"]) // 2)
        for example in report["examples"]:
            # The scan: the points k / 32 that are not first nodes (24), at most the 32 points k / 64
            # between them, and at most the 24 points k / 256 between each two first nodes (8
            # intervals).
            self.assertGreaterEqual(example["forward_steps"], 24)
            self.assertLessEqual(example["forward_steps"], 24 + 32 + 8 * 24)
            # Every certificate states its resolution: F evaluated at least every 1/32 of the path.
            self.assertGreater(example["scan_resolution"], 0)
            self.assertLessEqual(example["scan_resolution"], 1 / 32)
            self.assertTrue(example["attribution_error_features"])  # where the error is
        self.assertIn("; scan resolution 1/", stdout)

    def test_adaptive_panels_hold(self):
        report, attributions, _ = self.explain("panels", "--certify", "panels")
        self.check_certificates(report, attributions)

    def test_adaptive_log_probability_holds(self):
        # log p is 0 where the softmax saturates: F's rounding there is about eps, not eps |logits|.
        report, attributions, _ = self.explain("adaptive-logprob", output="logprob")
        self.assertGreaterEqual(self.check_certificates(report, attributions, "logprob"), len(report["examples"]) // 2)

    def test_doubling_holds(self):
        report, attributions, _ = self.explain("doubling", "--strategy", "doubling")
        self.assertGreaterEqual(self.check_certificates(report, attributions), 1)


if __name__ == "__main__":
    unittest.main()
