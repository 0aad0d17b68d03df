"""The other methods against closed forms: Saliency, noise tunnel, distribution baselines,
Expected Gradients, layer conductance, internal influence, neuron conductance."""

import pytest
import torch

import igx

W = torch.tensor([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]], dtype=torch.float64)


def linear(x):
    return x @ W.T


class TwoLayer(torch.nn.Module):
    """x -> tanh(A x + a) -> B h + b: a nonlinear lower part and a linear head."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.lower = torch.nn.Linear(3, 5).double()
        self.act = torch.nn.Tanh()
        self.head = torch.nn.Linear(5, 2).double()

    def forward(self, x):
        return self.head(self.act(self.lower(x)))


def test_saliency_and_input_x_gradient_are_the_gradient():
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    model = TwoLayer()
    inputs = x.clone().requires_grad_(True)
    gradient, = torch.autograd.grad(model(inputs)[0, 1], inputs)
    assert torch.allclose(igx.Saliency(model).attribute(x, target=1), gradient.abs(), atol=1e-15)
    assert torch.allclose(igx.Saliency(model).attribute(x, target=1, abs=False), gradient, atol=1e-15)
    assert torch.allclose(igx.InputXGradient(model).attribute(x, target=1), x * gradient, atol=1e-15)


def test_noise_tunnel_without_noise_is_the_method_itself():
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 1.0, 1.0]], dtype=torch.float64)
    model = TwoLayer()
    ig = igx.IntegratedGradients(model)
    plain = ig.attribute(x, target=0, n_steps=20)
    smooth = igx.NoiseTunnel(ig).attribute(x, nt_samples=4, stdevs=0.0, target=0, n_steps=20)
    assert torch.allclose(smooth, plain, atol=1e-14)
    variance = igx.NoiseTunnel(ig).attribute(x, nt_type="vargrad", nt_samples=4, stdevs=0.0, target=0, n_steps=20)
    assert torch.allclose(variance, torch.zeros_like(x), atol=1e-14)


def test_noise_tunnel_of_a_linear_model_is_exact_in_the_mean():
    # IG of a linear model is W (x_noisy - 0) per copy; their mean is W (mean of the copies).
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    values, delta, report = igx.NoiseTunnel(igx.IntegratedGradients(linear)).attribute(
        x, nt_samples=8, stdevs=0.3, target=1, n_steps=3, return_convergence_delta=True, return_report=True)
    assert abs(delta.item()) < 1e-12
    assert values.sum().item() == pytest.approx(report[0].output_input - report[0].output_baseline, abs=1e-12)
    assert not torch.allclose(values, W[1] * x)  # the noise moved the inputs
    assert report[0].steps == 8 * 3


def test_distribution_ig_of_a_linear_model():
    x = torch.tensor([[0.5, -1.0, 2.0], [1.0, 0.0, -1.0]], dtype=torch.float64)
    baselines = torch.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-1.0, 0.5, 0.0]], dtype=torch.float64)
    values, report = igx.DistributionIntegratedGradients(linear).attribute(
        x, baselines, target=0, n_steps=2, return_report=True)
    expected = W[0] * (x - baselines.mean(0))
    assert torch.allclose(values, expected, atol=1e-12)
    for b, example in enumerate(report):
        assert example.output_baseline == pytest.approx(linear(baselines)[:, 0].mean().item(), abs=1e-12)
        assert abs(example.delta) < 1e-12


def test_expected_gradients_with_one_baseline_is_exact():
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    baseline = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    values, report = igx.ExpectedGradients(linear).attribute(x, baseline, target=1, n_samples=16, return_report=True)
    assert torch.allclose(values, W[1] * (x - baseline), atol=1e-12)
    assert report.standard_error.shape == x.shape
    assert torch.allclose(report.standard_error, torch.zeros_like(x), atol=1e-12)
    assert report[0].sum_standard_error == pytest.approx(0.0, abs=1e-12)
    shap = igx.GradientShap(linear).attribute(x, baseline, n_samples=16, target=1)
    assert torch.equal(shap, values)
    with pytest.raises(ValueError, match=r"stdevs=0.09: .*expected stdevs=0"):
        igx.GradientShap(linear).attribute(x, baseline, stdevs=0.09, target=1)


def test_layer_conductance_with_a_linear_head_is_the_weight_times_the_change():
    # With G linear, conductance telescopes: cond_j = B_tj (h_j(x) - h_j(x')), exactly.
    model = TwoLayer()
    x = torch.tensor([[0.5, -1.0, 2.0], [0.1, 0.2, 0.3]], dtype=torch.float64)
    values, delta = igx.LayerConductance(model, model.act).attribute(x, target=1, n_steps=7,
                                                                     return_convergence_delta=True)
    with torch.no_grad():
        change = model.act(model.lower(x)) - model.act(model.lower(torch.zeros_like(x)))
    assert torch.allclose(values, model.head.weight[1] * change, atol=1e-12)
    assert torch.allclose(delta, torch.zeros(2, dtype=torch.float64), atol=1e-12)


def test_internal_influence_with_a_linear_head_is_the_weight():
    model = TwoLayer()
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    values = igx.InternalInfluence(model, model.act).attribute(x, target=0, n_steps=5)
    assert torch.allclose(values, model.head.weight[0].detach().unsqueeze(0), atol=1e-12)


def test_neuron_conductance_of_the_whole_layer_is_input_ig():
    model = TwoLayer()
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    every_neuron = igx.NeuronConductance(model, model.act).attribute(x, list(range(5)), target=1, n_steps=12)
    ig = igx.IntegratedGradients(model).attribute(x, target=1, n_steps=12, method="riemann_trapezoid")
    assert torch.allclose(every_neuron, ig, atol=1e-12)
    parts = sum(igx.NeuronConductance(model, model.act).attribute(x, j, target=1, n_steps=12) for j in range(5))
    assert torch.allclose(parts, ig, atol=1e-12)
    with pytest.raises(ValueError, match=r"neuron_selector 5 is not an index into the layer's units of shape \[5\]"):
        igx.NeuronConductance(model, model.act).attribute(x, 5, target=1)


def test_layer_ig_equals_ig_on_the_upper_part():
    model = TwoLayer()
    x = torch.tensor([[0.5, -1.0, 2.0]], dtype=torch.float64)
    layer_values = igx.LayerIntegratedGradients(model, model.act).attribute(x, target=0, n_steps=9)
    with torch.no_grad():
        hidden, hidden_baseline = model.act(model.lower(x)), model.act(model.lower(torch.zeros_like(x)))
    on_head = igx.IntegratedGradients(model.head).attribute(hidden, baselines=hidden_baseline, target=0, n_steps=9)
    assert torch.allclose(layer_values, on_head, atol=1e-14)


def test_layer_errors():
    model = TwoLayer()
    x = torch.ones(1, 3, dtype=torch.float64)
    outside = torch.nn.Linear(3, 3)
    with pytest.raises(ValueError, match=r"layer 'Linear' of TwoLayer was not called by forward_func"):
        igx.LayerIntegratedGradients(model, outside).attribute(x, target=0)
    with pytest.raises(ValueError, match=r"layer is 'act' \(str\); expected an nn.Module"):
        igx.LayerIntegratedGradients(model, "act")
    with pytest.raises(ValueError, match=r"baselines has shape \[2\]; expected \[1, 3\]"):
        igx.LayerIntegratedGradients(model, model.act).attribute(x, baselines=torch.zeros(2), target=0)
