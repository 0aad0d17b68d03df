"""Shared test models. Run with PYTHONPATH=<build>/python (ctest does), or after installing igx."""

import os
import sys
from pathlib import Path

import pytest
import torch

SOURCE_DIR = Path(os.environ.get("IGX_SOURCE_DIR", Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(SOURCE_DIR / "models"))  # hf_bert.py: the BERT with Hugging Face's layout


class TwoRelu(torch.nn.Module):
    """f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)); at (3, 1) from 0 its IG is (1.5, -0.5)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(torch.relu(x[:, 0]) - 1 - torch.relu(x[:, 1])).unsqueeze(1)


class Saturating(torch.nn.Module):
    """f(x) = 1 - ReLU(1 - x): flat at x = 2, so the gradient there says nothing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1 - torch.relu(1 - x)


class SmallCnn(torch.nn.Module):
    """A small image classifier [B, 1, 8, 8] -> [B, 3] with a mask argument, for twins and batch sizes."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.act = torch.nn.Tanh()
        self.head = torch.nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.act(self.conv(x)).flatten(1))


class MaskedMlp(torch.nn.Module):
    """[B, 6] and a per-example scale [B, 1] -> [B, 4]: an extra tensor argument per example."""

    def __init__(self):
        super().__init__()
        self.first = torch.nn.Linear(6, 16)
        self.hidden = torch.nn.Softplus()
        self.second = torch.nn.Linear(16, 4)

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.second(self.hidden(self.first(x * scale)))


@pytest.fixture
def small_cnn():
    torch.manual_seed(0)
    return SmallCnn().eval()


@pytest.fixture
def masked_mlp():
    torch.manual_seed(1)
    return MaskedMlp().eval()


@pytest.fixture(scope="module")
def tiny_bert():
    """A 2-layer BERT with Hugging Face's layout, scaled so that its outputs saturate along the IG
    path: Captum's default of 50 Gauss-Legendre steps misses one example by about 20 %."""
    from hf_bert import BertConfig, BertForSequenceClassification, saturate

    torch.manual_seed(7)
    config = BertConfig(vocab_size=60, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16, num_labels=3)
    model = BertForSequenceClassification(config).eval()
    saturate(model, scale=4.0, classifier_scale=10.0)
    with torch.no_grad():  # words far apart, attention values and pooler that carry them
        model.bert.embeddings.word_embeddings.weight.mul_(50.0)
        model.bert.pooler.dense.weight.mul_(30.0)
        for layer in model.bert.encoder.layer:
            layer.attention.self.value.weight.mul_(20.0)
            layer.attention.output.dense.weight.mul_(20.0)
    return model


@pytest.fixture(scope="module")
def bert_batch():
    """ids [3, 8] ([CLS]=1 ... [SEP]=2, [PAD]=0 after), the attention mask, and the [PAD] baseline
    ids that keep [CLS], [SEP] and padding at the input."""
    ids = torch.tensor([[1, 11, 25, 37, 8, 2, 0, 0],
                        [1, 40, 41, 42, 43, 44, 45, 2],
                        [1, 5, 2, 0, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    special = (ids == 0) | (ids == 1) | (ids == 2)
    baseline = torch.where(special, ids, torch.zeros_like(ids))
    return ids, mask, baseline, ~special
