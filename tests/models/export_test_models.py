"""Exports the small TorchScript models the C++ tests load (run by CMake with /usr/bin/python3).

Each model has a closed-form Integrated Gradients answer that tests/test_torchscript.cpp checks.
"""
import os
import sys

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


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, module in [("linear3", Linear3()), ("two_relu_a", TwoReluA()),
                         ("two_relu_b", TwoReluB()), ("mlp", Mlp()),
                         ("returns_tuple", ReturnsTuple())]:
        torch.jit.script(module.eval()).save(os.path.join(out_dir, name + ".pt"))
    with open(os.path.join(out_dir, "not_a_model.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    main(sys.argv[1])
