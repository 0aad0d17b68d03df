"""Exports the small TorchScript models the C++ tests load (run by CMake with /usr/bin/python3).

Each model has a closed-form Integrated Gradients answer that tests/test_torchscript.cpp checks.
"""
import json
import os
import sys
from typing import Dict

import torch


class Linear3(torch.nn.Module):
    """F(x) = x @ W.T + b with W = [[1, 2, 3], [-1, 0.5, 0]]: IG = W[t] * (x - x') exactly."""

    def __init__(self):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.tensor([[1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]]))
        self.bias = torch.nn.Parameter(torch.tensor([0.5, -0.25]))

    def forward(self, x):
        return x @ self.weight.t() + self.bias

    @torch.jit.export
    def logits_scaled(self, x, scale):
        """A second entry point with an extra per-row input: F = scale * (x @ W.T + b)."""
        return scale.unsqueeze(1) * (x @ self.weight.t() + self.bias)


class TwoReluA(torch.nn.Module):
    """f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)); IG at (3, 1) from 0 is (1.5, -0.5)."""

    def forward(self, x):
        return torch.relu(torch.relu(x[:, 0]) - 1 - torch.relu(x[:, 1])).unsqueeze(1)


class TwoReluB(torch.nn.Module):
    """f(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)): the same function as TwoReluA, built differently."""

    def forward(self, x):
        return torch.relu(torch.relu(x[:, 0] - 1) - torch.relu(x[:, 1])).unsqueeze(1)


class NanInTheMiddle(torch.nn.Module):
    """F = sum(x), except NaN where 1 < sum(x) < 2: from 0 to x = (1, 1, 1) the path crosses it
    at 1/3 < alpha < 2/3 while F(x) and F(x') are finite (a model that fails on some inputs)."""

    def forward(self, x):
        total = x.sum(1)
        return torch.where((total > 1) & (total < 2), torch.full_like(total, float("nan")), total).unsqueeze(1)


class NanGradient(torch.nn.Module):
    """F = x0 for x0 < 0.5, sqrt(x0 - 0.5) beyond: finite everywhere, but the gradient is NaN where
    x0 < 0.5 (the unselected branch of torch.where, the classic source of NaN gradients)."""

    def forward(self, x):
        first = x[:, 0]
        return torch.where(first < 0.5, first, torch.sqrt(first - 0.5)).unsqueeze(1)


class Constant(torch.nn.Module):
    """Outputs that do not depend on the input at all."""

    def forward(self, x):
        return torch.ones(x.size(0), 2)


class NoClasses(torch.nn.Module):
    """Outputs [B, 0]: no class to explain."""

    def forward(self, x):
        return x[:, :0]


class Mlp(torch.nn.Module):
    """A seeded random MLP 8 -> 16 -> 16 -> 3 with tanh, for completeness checks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(8, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
            torch.nn.Linear(16, 3))

    def forward(self, x):
        return self.layers(x)


class ReturnsTuple(torch.nn.Module):
    """A model whose forward returns a tuple, which igx must reject clearly."""

    def forward(self, x):
        return x, x


TINY_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "igx", "probes", "this", "model", ".",
                   "hello", "world"]


class TinyText(torch.nn.Module):
    """A text classifier in the bundle contract: word + position embeddings (8 positions), mean
    over the attention mask, linear to 2 logits. `embed_adds_positions` breaks the contract the
    way a hand-written export does: embed returns the full embedding output, which forward_embeds
    then adds the positions to again."""

    def __init__(self, embed_adds_positions: bool = False):
        super().__init__()
        torch.manual_seed(1)
        self.words = torch.nn.Embedding(len(TINY_VOCABULARY), 4)
        self.positions = torch.nn.Embedding(8, 4)
        self.classifier = torch.nn.Linear(4, 2)
        self.embed_adds_positions = embed_adds_positions

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_embeds(self.words(input_ids), attention_mask)

    @torch.jit.export
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        if self.embed_adds_positions:
            return self.words(input_ids) + self.positions(torch.arange(input_ids.size(1)))
        return self.words(input_ids)

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = torch.tanh(embeds + self.positions(torch.arange(embeds.size(1))))
        weights = attention_mask.unsqueeze(2).to(hidden.dtype)
        return self.classifier((hidden * weights).sum(1) / weights.sum(1))

    @torch.jit.export
    def word_embeddings(self) -> torch.Tensor:
        return self.words.weight


class TinyTextDict(TinyText):
    """TinyText returning a dict with "logits", as Hugging Face models do."""

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        return {"logits": self.forward_embeds(self.words(input_ids), attention_mask)}


def write_text_bundle(folder, module):
    """A bundle folder: model.pt, vocab.txt and igx.json."""
    os.makedirs(folder, exist_ok=True)
    torch.jit.script(module.eval()).save(os.path.join(folder, "model.pt"))
    with open(os.path.join(folder, "vocab.txt"), "w") as f:
        f.write("\n".join(TINY_VOCABULARY) + "\n")
    config = {"name": os.path.basename(folder), "task": "text", "labels": ["no", "yes"], "max_length": 8,
              "tokenizer": {"type": "wordpiece", "vocab": "vocab.txt", "lowercase": True},
              "special_tokens": {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4},
              "embedding_dim": 4, "vocab_size": len(TINY_VOCABULARY)}
    with open(os.path.join(folder, "igx.json"), "w") as f:
        json.dump(config, f, indent=2)


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, module in [("linear3", Linear3()), ("two_relu_a", TwoReluA()),
                         ("two_relu_b", TwoReluB()), ("mlp", Mlp()), ("nan_in_the_middle", NanInTheMiddle()),
                         ("nan_gradient", NanGradient()), ("constant", Constant()), ("no_classes", NoClasses()),
                         ("returns_tuple", ReturnsTuple())]:
        torch.jit.script(module.eval()).save(os.path.join(out_dir, name + ".pt"))
    write_text_bundle(os.path.join(out_dir, "tiny-text"), TinyText())
    write_text_bundle(os.path.join(out_dir, "tiny-text-embed-with-positions"), TinyText(embed_adds_positions=True))
    write_text_bundle(os.path.join(out_dir, "tiny-text-dict"), TinyTextDict())
    with open(os.path.join(out_dir, "not_a_model.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    main(sys.argv[1])
