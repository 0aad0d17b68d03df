"""Integrated Gradients against closed forms, through every kind of forward function."""

import pytest
import torch

import igx
from conftest import Saturating, TwoRelu

RULES = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]


def forward_kinds(module):
    """The same function as an nn.Module, its scripted twin, and a plain Python function."""
    return {
        "module": module,
        "scripted": torch.jit.script(module),
        "function": lambda x: module(x),
    }


@pytest.mark.parametrize("kind", ["module", "scripted", "function"])
def test_two_relu_network_closed_form(kind):
    # Along (3a, a), f = ReLU(2a - 1): the gradient is (1, -1) after a = 1/2, 0 before; the
    # midpoint rule with an even n never evaluates at the kink, so the integral is exact.
    forward = forward_kinds(TwoRelu())[kind]
    x = torch.tensor([[3.0, 1.0]], dtype=torch.float64)
    attributions, delta = igx.IntegratedGradients(forward).attribute(
        x, target=0, n_steps=50, method="riemann_middle", return_convergence_delta=True)
    assert attributions.dtype == torch.float64
    assert attributions[0, 0].item() == pytest.approx(1.5, abs=1e-12)
    assert attributions[0, 1].item() == pytest.approx(-0.5, abs=1e-12)
    assert delta.shape == (1,) and abs(delta.item()) < 1e-12


@pytest.mark.parametrize("kind", ["module", "scripted", "function"])
def test_sensitivity_ig_sees_what_the_gradient_misses(kind):
    # f(x) = 1 - ReLU(1 - x) at 2 from 0: the gradient at x is 0, IG gives F(2) - F(0) = 1.
    forward = forward_kinds(Saturating())[kind]
    x = torch.tensor([[2.0]], dtype=torch.float64)
    ig = igx.IntegratedGradients(forward).attribute(x, target=0, n_steps=50, method="riemann_middle")
    gradient_times_input = igx.InputXGradient(forward).attribute(x, target=0)
    assert ig.item() == pytest.approx(1.0, abs=1e-12)
    assert gradient_times_input.item() == 0.0


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n_steps", [2, 3, 50])
def test_linear_model_is_exact_with_every_rule(rule, n_steps):
    weight = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, 2.0, 2.0]], dtype=torch.float64)
    bias = torch.tensor([0.1, -0.3], dtype=torch.float64)
    x = torch.tensor([[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.25, 2.0]], dtype=torch.float64)
    baseline = torch.tensor([0.5, 0.5, -0.5, 1.0], dtype=torch.float64)
    attributions, report = igx.IntegratedGradients(lambda v: v @ weight.T + bias).attribute(
        x, baselines=baseline, target=[1, 0], n_steps=n_steps, method=rule, return_report=True)
    expected = torch.stack([weight[1], weight[0]]) * (x - baseline)
    assert torch.allclose(attributions, expected, rtol=0, atol=1e-12)
    assert [example.target for example in report] == [1, 0]
    for example in report:
        assert abs(example.delta) < 1e-12
        assert example.steps == n_steps
        assert example.certified is None  # fixed steps certify nothing


def test_polynomial_delta_is_the_rules_closed_form_error():
    # F = (w.x)^3 from 0: F(gamma(a)) = (a c)^3, so riemann_right with n steps has
    # delta = c^3 (3 * sum_k (k/n)^2 / n - 1), which igx must report exactly.
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64)
    x = torch.tensor([[1.0, 0.25, 1.0]], dtype=torch.float64)
    c = (w * x).sum().item()
    for n in (1, 4, 33):
        _, delta = igx.IntegratedGradients(lambda v: ((v * w).sum(1)) ** 3).attribute(
            x, n_steps=n, method="riemann_right", return_convergence_delta=True)
        expected = c ** 3 * (3 * sum((k / n) ** 2 for k in range(1, n + 1)) / n - 1)
        assert delta.item() == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("strategy, method", [("adaptive", None), ("doubling", "riemann_trapezoid")])
def test_tolerance_is_certified_and_holds(strategy, method):
    # tanh(3 w.x) is far from linear: 4 fixed steps miss by more than 1 %, the tolerance is met.
    w = torch.tensor([0.7, -1.3, 2.1, 0.4], dtype=torch.float64)
    forward = lambda v: torch.tanh(3.0 * (v * w).sum(1))  # noqa: E731
    x = torch.tensor([[1.0, -0.5, 0.8, 0.3], [0.2, 0.1, -0.4, 1.0]], dtype=torch.float64)
    _, coarse = igx.IntegratedGradients(forward).attribute(x, n_steps=4, method="riemann_right", return_report=True)
    assert max(example.relative_error for example in coarse) > 0.01
    attributions, report = igx.IntegratedGradients(forward).attribute(
        x, tolerance=1e-4, strategy=strategy, method=method, return_report=True)
    assert report.certified
    for b, example in enumerate(report):
        gap = forward(x[b:b + 1]).item() - forward(torch.zeros(1, 4, dtype=torch.float64)).item()
        assert example.output_input - example.output_baseline == pytest.approx(gap, abs=1e-12)
        assert abs(attributions[b].sum().item() - gap) <= 1e-4 * abs(gap)
        assert example.relative_error <= example.error_bound <= 1e-4
        assert example.steps <= 4096


def test_tuple_inputs_give_a_tuple_of_attributions():
    # F(a, b) = a.flat @ Wa + b @ Wb: IG of each input is its weights times its difference, exactly.
    generator = torch.Generator().manual_seed(0)
    wa = torch.randn(6, 2, dtype=torch.float64, generator=generator)
    wb = torch.randn(4, 2, dtype=torch.float64, generator=generator)
    a = torch.randn(2, 2, 3, dtype=torch.float64, generator=generator)
    b = torch.randn(2, 4, dtype=torch.float64, generator=generator)
    ig = igx.IntegratedGradients(lambda first, second: first.flatten(1) @ wa + second @ wb)
    (for_a, for_b), delta = ig.attribute((a, b), baselines=(0.5, torch.ones(4, dtype=torch.float64)), target=1,
                                         n_steps=3, return_convergence_delta=True)
    assert torch.allclose(for_a, wa[:, 1].view(2, 3) * (a - 0.5), atol=1e-12)
    assert torch.allclose(for_b, wb[:, 1] * (b - 1.0), atol=1e-12)
    assert torch.allclose(delta, torch.zeros(2, dtype=torch.float64), atol=1e-12)
    saliency_a, saliency_b = igx.Saliency(ig.forward_func).attribute((a, b), target=0, abs=False)
    assert torch.allclose(saliency_a, wa[:, 0].view(2, 3).expand_as(a)) and torch.allclose(saliency_b, wb[:, 0].expand_as(b))
    with pytest.raises(ValueError, match=r"baselines\[1\] has shape \[3\]; expected \[2, 4\]"):
        ig.attribute((a, b), baselines=(0.0, torch.zeros(3)), target=0)
    with pytest.raises(ValueError, match=r"inputs\[1\] has 3 examples where inputs\[0\] has 2"):
        ig.attribute((a, torch.zeros(3, 4, dtype=torch.float64)), target=0)
