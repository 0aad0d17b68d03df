"""The same network through every route gives the same attributions: nn.Module (called back from
C++) and its scripted twin (run in C++), any internal_batch_size, extra arguments per example."""

import copy

import pytest
import torch

import igx


def images(count=5):
    generator = torch.Generator().manual_seed(3)
    return torch.rand(count, 1, 8, 8, generator=generator)


@pytest.mark.parametrize("options", [
    dict(n_steps=40),
    dict(n_steps=17, method="riemann_trapezoid", baselines=0.5),
    dict(tolerance=1e-3),
    dict(tolerance=1e-3, strategy="doubling"),
])
def test_module_and_scripted_twin_are_identical(small_cnn, options):
    x = images()
    eager, eager_report = igx.IntegratedGradients(small_cnn).attribute(x, return_report=True, **options)
    scripted, scripted_report = igx.IntegratedGradients(torch.jit.script(small_cnn)).attribute(
        x, return_report=True, **options)
    assert torch.equal(eager, scripted)
    assert eager_report == scripted_report
    assert eager_report.counts == scripted_report.counts


def test_module_ends_are_computed_in_float64_on_a_copy(small_cnn):
    """Certified runs check completeness against F(x), F(x') in float64, from a float64 copy of
    the nn.Module as from a TorchScript module; the user's module stays float32."""
    x = images(3)
    _, report = igx.IntegratedGradients(small_cnn).attribute(x, tolerance=1e-3, return_report=True)
    assert all(parameter.dtype == torch.float32 for parameter in small_cnn.parameters())
    targets = [example.target for example in report]
    with torch.no_grad():
        float64_outputs = copy.deepcopy(small_cnn).double()(x.double())
    for row, example in enumerate(report):
        assert example.output_input == pytest.approx(float64_outputs[row, targets[row]].item(), rel=0, abs=1e-12)


def test_scripted_method_is_a_model(masked_mlp):
    class Exported(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.zeros(x.shape[0], 4)

        @torch.jit.export
        def scaled(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
            return self.inner(x, scale)

    scripted = torch.jit.script(Exported(masked_mlp))
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    scale = torch.tensor([[1.0], [0.5], [2.0], [1.5]])
    direct = igx.IntegratedGradients(masked_mlp).attribute(x, target=2, additional_forward_args=(scale,))
    through_method = igx.IntegratedGradients(scripted.scaled).attribute(x, target=2, additional_forward_args=scale)
    assert torch.equal(direct, through_method)


@pytest.mark.parametrize("scripted", [False, True])
def test_internal_batch_size_does_not_change_results(small_cnn, scripted):
    model = torch.jit.script(small_cnn) if scripted else small_cnn
    x = images(4)
    reference, reference_report = igx.IntegratedGradients(model).attribute(x, n_steps=30, return_report=True)
    for rows in (1, 7, 64):
        values, report = igx.IntegratedGradients(model).attribute(
            x, n_steps=30, internal_batch_size=rows, return_report=True)
        assert torch.allclose(values, reference, rtol=1e-5, atol=1e-7)
        assert [e.target for e in report] == [e.target for e in reference_report]
        for ours, theirs in zip(report, reference_report):
            assert ours.delta == pytest.approx(theirs.delta, abs=1e-6)
        assert report.counts["gradient_rows"] == reference_report.counts["gradient_rows"]
        assert report.counts["batches"] > reference_report.counts["batches"]


def test_adaptive_internal_batch_size_does_not_change_results(small_cnn):
    x = images(3)
    reference, report = igx.IntegratedGradients(small_cnn).attribute(x, tolerance=1e-3, return_report=True)
    values, other = igx.IntegratedGradients(small_cnn).attribute(
        x, tolerance=1e-3, internal_batch_size=5, return_report=True)
    assert torch.allclose(values, reference, rtol=1e-5, atol=1e-7)
    assert [e.steps for e in report] == [e.steps for e in other]


def test_additional_forward_args_rows_follow_their_examples(masked_mlp):
    # Each example's scale must reach its own points: compare with one example at a time.
    x = torch.randn(3, 6, generator=torch.Generator().manual_seed(5))
    scale = torch.tensor([[1.0], [0.25], [3.0]])
    ig = igx.IntegratedGradients(masked_mlp)
    together = ig.attribute(x, target=1, additional_forward_args=(scale,), n_steps=20, internal_batch_size=7)
    for b in range(3):
        alone = ig.attribute(x[b:b + 1], target=1, additional_forward_args=(scale[b:b + 1],), n_steps=20)
        assert torch.allclose(together[b], alone[0], rtol=1e-5, atol=1e-7)


def test_non_tensor_arguments_are_passed_unchanged(masked_mlp):
    calls = []

    def forward(x, scale, label):
        calls.append(label)
        return masked_mlp(x, scale)

    x = torch.randn(2, 6, generator=torch.Generator().manual_seed(2))
    scale = torch.ones(2, 1)
    with_label = igx.IntegratedGradients(forward).attribute(x, target=0, additional_forward_args=(scale, "tag"))
    plain = igx.IntegratedGradients(masked_mlp).attribute(x, target=0, additional_forward_args=scale)
    assert torch.equal(with_label, plain)
    assert set(calls) == {"tag"}


def test_works_under_no_grad_and_leaves_the_model_untouched(small_cnn):
    x = images(2)
    expected = igx.IntegratedGradients(small_cnn).attribute(x, target=1)
    before = [p.detach().clone() for p in small_cnn.parameters()]
    with torch.no_grad():
        inside = igx.IntegratedGradients(small_cnn).attribute(x, target=1)
    assert torch.equal(expected, inside)
    assert all(torch.equal(a, b) for a, b in zip(before, small_cnn.parameters()))
    assert all(p.grad is None for p in small_cnn.parameters())
    assert not x.requires_grad
