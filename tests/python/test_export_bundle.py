"""scripts/export_bundle.py on a Hugging Face-layout BERT (models/hf_bert.py) with a WordPiece
vocabulary, and on a small CNN: the bundles it writes pass its checks and igx explains with them.

Run by ctest: /usr/bin/python3 tests/python/test_export_bundle.py, with $IGX_CLI the built igx.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import torch
import torch.nn as nn

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(SOURCE, "scripts"))
sys.path.insert(0, os.path.join(SOURCE, "models"))
import export_bundle  # noqa: E402
from export_bundle import ExportError  # noqa: E402
from hf_bert import BertConfig, BertForSequenceClassification  # noqa: E402

VOCAB = os.path.join(SOURCE, "models", "spam-transformer", "vocab.txt")  # a WordPiece vocabulary, 8000 lines
CLI = os.environ.get("IGX_CLI", os.path.join(SOURCE, "build", "igx"))
SPAM = "Congratulations! You have WON a free cruise. Click here to claim your prize"


def small_bert():
    """Untrained, with weights 10x BERT's initial spread so that its output depends on the text."""
    torch.manual_seed(0)
    return BertForSequenceClassification(BertConfig(
        vocab_size=8000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
        max_position_embeddings=64, num_labels=2, initializer_range=0.2)).eval()


class TupleWithoutInputsEmbeds(nn.Module):
    """A classifier whose forward takes ids only and returns (logits, pooled): exported through a
    hook on its word embeddings, traced."""

    def __init__(self):
        super().__init__()
        self.bert = small_bert()

    def forward(self, input_ids, attention_mask):
        logits = self.bert.logits(input_ids, attention_mask)
        return logits, logits.sum(1)


class InconsistentEmbeds(nn.Module):
    """Its inputs_embeds path skips the scaling its input_ids path applies: forward and
    forward_embeds(embed(ids)) disagree."""

    def __init__(self):
        super().__init__()
        self.bert = small_bert()

    def forward(self, input_ids=None, attention_mask=None, inputs_embeds=None):
        if inputs_embeds is None:
            inputs_embeds = self.bert.get_input_embeddings()(input_ids) * 2.0
        return self.bert.logits(None, attention_mask, None, inputs_embeds)

    def get_input_embeddings(self):
        return self.bert.get_input_embeddings()


class SmallCnn(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4))
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(4 * 7 * 7, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


def run_igx(*arguments):
    result = subprocess.run([CLI, *arguments], capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


class ExportText(unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="igx_export_")

    def tearDown(self):
        shutil.rmtree(self.folder)

    def explain(self, bundle, *extra):
        out = os.path.join(self.folder, "out-" + os.path.basename(bundle))
        code, output = run_igx("explain", SPAM, "--model", bundle, "--out-dir", out, "--no-color", *extra)
        self.assertEqual(code, 0, output)
        with open(os.path.join(out, "explanation.json")) as f:
            return json.load(f)["examples"][0]

    def test_hf_layout_bert_is_scripted_and_explained(self):
        model = small_bert()
        bundle = os.path.join(self.folder, "bert")
        config = export_bundle.export_text(model, VOCAB, bundle, labels=["ham", "spam"], log=lambda _: None)
        self.assertFalse(config["export"]["traced"])
        self.assertEqual(config["export"]["forward_embeds_via"], "inputs_embeds")
        self.assertEqual(config["max_length"], 64)  # the model's position embeddings
        self.assertEqual(config["special_tokens"], {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4})
        self.assertEqual((config["vocab_size"], config["embedding_dim"]), (8000, 32))
        for name, difference in config["export"]["checks"].items():
            self.assertLess(difference, 1e-5, name)
        example = self.explain(bundle, "--tolerance", "0.001")
        # igx's logits are the original model's: its F(x) matches the Python forward.
        ids = torch.tensor([example["token_ids"]])
        logits = model(input_ids=ids, attention_mask=torch.ones_like(ids))["logits"][0]
        self.assertAlmostEqual(example["output_input"], logits[example["target"]].item(), places=4)
        self.assertTrue(example["certified"])
        self.assertEqual(example["tokens"][0], "[CLS]")

    def test_traced_export_equals_scripted(self):
        model = small_bert()
        scripted = os.path.join(self.folder, "scripted")
        traced = os.path.join(self.folder, "traced")
        export_bundle.export_text(model, VOCAB, scripted, labels=["ham", "spam"], log=lambda _: None)
        config = export_bundle.export_text(model, VOCAB, traced, labels=["ham", "spam"], how="trace",
                                           log=lambda _: None)
        self.assertTrue(config["export"]["traced"])
        ids = torch.tensor([[2, 100, 200, 300, 3], [2, 400, 3, 0, 0]])
        mask = (ids != 0).long()
        a, b = torch.jit.load(os.path.join(scripted, "model.pt")), torch.jit.load(os.path.join(traced, "model.pt"))
        self.assertTrue(torch.allclose(a(ids, mask), b(ids, mask), atol=1e-6))
        self.assertTrue(torch.allclose(a.forward_embeds(a.embed(ids), mask), b(ids, mask), atol=1e-6))

    def test_tuple_output_without_inputs_embeds_goes_through_a_hook(self):
        bundle = os.path.join(self.folder, "tuple")
        config = export_bundle.export_text(TupleWithoutInputsEmbeds(), VOCAB, bundle, labels=["ham", "spam"],
                                           max_length=64, log=lambda _: None)
        self.assertTrue(config["export"]["traced"])
        self.assertEqual(config["export"]["forward_embeds_via"], "word-embedding hook")
        self.assertLess(config["export"]["checks"]["forward_embeds_vs_forward_probe"], 1e-5)
        self.explain(bundle, "--steps", "16")

    def test_roberta_style_special_tokens(self):
        with open(VOCAB) as f:
            vocab = f.read().split("\n")
        vocab[:5] = ["<pad>", "<unk>", "<s>", "</s>", "<mask>"]
        renamed = os.path.join(self.folder, "vocab.txt")
        with open(renamed, "w") as f:
            f.write("\n".join(vocab))
        with self.assertRaisesRegex(ExportError, r"no \[PAD\] token \(pad\).*--special-tokens pad=TOKEN"):
            export_bundle.export_text(small_bert(), renamed, os.path.join(self.folder, "refused"), log=lambda _: None)
        bundle = os.path.join(self.folder, "roberta")
        config = export_bundle.export_text(
            small_bert(), renamed, bundle, labels=["ham", "spam"], log=lambda _: None,
            special_tokens={"pad": "<pad>", "unk": "<unk>", "cls": "<s>", "sep": "</s>", "mask": "<mask>"})
        self.assertEqual(config["special_tokens"], {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4})
        example = self.explain(bundle, "--baseline", "mask", "--steps", "16")
        self.assertEqual((example["tokens"][0], example["tokens"][-1]), ("<s>", "</s>"))

    def test_refusals_name_the_problem(self):
        short_vocab = os.path.join(self.folder, "short.txt")
        with open(VOCAB) as f, open(short_vocab, "w") as g:
            g.write("".join(f.readlines()[:7999]))
        cases = [
            (lambda out: export_bundle.export_text(small_bert(), short_vocab, out),
             "the vocabulary has 7999 lines but the word-embedding matrix has 8000 rows"),
            (lambda out: export_bundle.export_text(small_bert(), VOCAB, out, labels=["a", "b", "c"]),
             r"3 labels but the model gives logits \(2, 2\)"),
            (lambda out: export_bundle.export_text(InconsistentEmbeds(), VOCAB, out, labels=["a", "b"]),
             r"forward_embeds\(embed\(ids\)\) differs from forward\(ids\) by"),
            (lambda out: export_bundle.export_text(small_bert(), VOCAB, out, max_length=65, labels=["a", "b"]),
             "fails on 65 tokens"),
        ]
        for action, message in cases:
            out = os.path.join(self.folder, "refused")
            with self.assertRaisesRegex(ExportError, message):
                action(out)
            self.assertFalse(os.path.exists(out))  # nothing half-written
            self.assertEqual([name for name in os.listdir(self.folder) if name.startswith(".igx-bundle-")], [])
        existing = os.path.join(self.folder, "existing")
        os.makedirs(existing)
        with self.assertRaisesRegex(ExportError, "exists; choose another --out or pass --force"):
            export_bundle.export_text(small_bert(), VOCAB, existing, labels=["a", "b"], log=lambda _: None)

    def test_command_line(self):
        factory = os.path.join(self.folder, "factory.py")
        with open(factory, "w") as f:
            f.write(f"import sys\nsys.path.insert(0, {os.path.join(SOURCE, 'models')!r})\n"
                    "from hf_bert import BertConfig, BertForSequenceClassification\n"
                    "def load():\n"
                    "    return BertForSequenceClassification(BertConfig(vocab_size=8000, hidden_size=16,\n"
                    "        num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_position_embeddings=32))\n")
        bundle = os.path.join(self.folder, "cli")
        script = os.path.join(SOURCE, "scripts", "export_bundle.py")
        result = subprocess.run([sys.executable, script, "text", "--model", factory + ":load", "--vocab", VOCAB,
                                 "--labels", "ham,spam", "--out", bundle], capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("checks passed", result.stdout)
        result = subprocess.run([sys.executable, script, "text", "--model", factory + ":load", "--vocab", VOCAB,
                                 "--out", bundle], capture_output=True, text=True)
        self.assertEqual(result.returncode, 1)
        self.assertIn("export_bundle: error: ", result.stderr)
        try:
            import transformers  # noqa: F401
        except ImportError:
            result = subprocess.run([sys.executable, script, "text", "--hf-checkpoint", self.folder, "--out",
                                     os.path.join(self.folder, "hf")], capture_output=True, text=True)
            self.assertEqual(result.returncode, 1)
            self.assertIn("needs the Python package 'transformers'", result.stderr)


class ExportImage(unittest.TestCase):
    def test_small_cnn_with_split(self):
        folder = tempfile.mkdtemp(prefix="igx_export_image_")
        try:
            model = SmallCnn().eval()
            bundle = os.path.join(folder, "cnn")
            config = export_bundle.export_image(model, bundle, [1, 28, 28], labels=[str(d) for d in range(10)],
                                                mean=[0.1307], std=[0.3081], split="features:classifier",
                                                log=lambda _: None)
            self.assertFalse(config["export"]["traced"])
            self.assertEqual(config["layers"]["features"]["output_shape"], [4, 7, 7])
            for name, difference in config["export"]["checks"].items():
                self.assertLess(difference, 1e-5, name)
            # The normalisation is inside: forward takes pixels in [0, 1].
            exported = torch.jit.load(os.path.join(bundle, "model.pt"))
            pixels = torch.rand(2, 1, 28, 28)
            self.assertTrue(torch.allclose(exported(pixels), model((pixels - 0.1307) / 0.3081), atol=1e-5))
            digit = os.path.join(SOURCE, "models", "mnist-cnn", "samples", "digit_7_0.png")
            code, output = run_igx("explain", "--image", digit, "--model", bundle, "--out-dir",
                                   os.path.join(folder, "out"), "--steps", "16")
            self.assertEqual(code, 0, output)
            code, output = run_igx("layer", "--image", digit, "--model", bundle, "--method", "conductance",
                                   "--out-dir", os.path.join(folder, "layer"), "--steps", "16")
            self.assertEqual(code, 0, output)
        finally:
            shutil.rmtree(folder)


if __name__ == "__main__":
    unittest.main()
