"""Bad input gets a ValueError naming the value and what was expected."""

import pytest
import torch

import igx
from conftest import TwoRelu


@pytest.fixture
def ig():
    return igx.IntegratedGradients(torch.nn.Sequential(torch.nn.Linear(3, 2)))


def test_wrong_baseline_shape(ig):
    with pytest.raises(ValueError, match=r"baseline has shape \[2, 2\]; expected \[4, 3\]"):
        ig.attribute(torch.ones(4, 3), baselines=torch.zeros(2, 2), target=0)


def test_target_out_of_range(ig):
    with pytest.raises(ValueError, match=r"target 5 of example 0 is out of range; the model has 2 outputs"):
        ig.attribute(torch.ones(2, 3), target=5)
    with pytest.raises(ValueError, match=r"target -1 of example 1"):
        ig.attribute(torch.ones(2, 3), target=[0, -1])
    with pytest.raises(ValueError, match=r"got 3 targets for 2 examples"):
        ig.attribute(torch.ones(2, 3), target=[0, 1, 1])
    with pytest.raises(ValueError, match=r"target \(0, 1\) is not a list|target is a tuple"):
        ig.attribute(torch.ones(2, 3), target=(0, 1))


def test_nan_and_infinity(ig):
    x = torch.ones(2, 3)
    x[1, 2] = float("nan")
    with pytest.raises(ValueError, match=r"input has NaN at \[1, 2\]; expected finite numbers"):
        ig.attribute(x, target=0)
    with pytest.raises(ValueError, match=r"baseline has \+Inf at \[0, 0\]"):
        ig.attribute(torch.ones(2, 3), baselines=torch.tensor([[float("inf"), 0.0, 0.0]]), target=0)


def test_forward_returning_a_tuple():
    def forward(x):
        return x.sum(1, keepdim=True), x

    # The first call evaluates both examples' inputs and baselines: 4 points.
    with pytest.raises(ValueError, match=r"forward_func .*forward returned a tuple of 2 items for a batch of 4 points; expected a tensor"):
        igx.IntegratedGradients(forward).attribute(torch.ones(2, 3), target=0)


def test_forward_returning_a_dict_names_its_type():
    with pytest.raises(ValueError, match=r"returned dict .*\.logits"):
        igx.IntegratedGradients(lambda x: {"logits": x}).attribute(torch.ones(2, 3), target=0)


def test_output_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"returned shape \[.*, 3, 1\] .*expected \["):
        igx.IntegratedGradients(lambda x: x.unsqueeze(2)).attribute(torch.ones(2, 3), target=0)


def test_python_exceptions_in_forward_come_back_as_themselves():
    class Broken(Exception):
        pass

    def forward(x):
        raise Broken("inside the model")

    with pytest.raises(Broken, match="inside the model"):
        igx.IntegratedGradients(forward).attribute(torch.ones(2, 3), target=0)
    # and the model can be used again afterwards
    working = igx.IntegratedGradients(TwoRelu()).attribute(torch.tensor([[3.0, 1.0]]), target=0, n_steps=4)
    assert working.shape == (1, 2)


def test_scripted_model_errors_are_value_errors():
    scripted = torch.jit.script(torch.nn.Linear(3, 2))
    with pytest.raises(ValueError, match=r"failed on a batch of shape \[\d+, 4\]: .*"):
        igx.IntegratedGradients(scripted).attribute(torch.ones(2, 4), target=0)


@pytest.mark.parametrize("arguments, message", [
    (dict(method="simpson"), r"method is 'simpson'; expected one of riemann_left, .*gausslegendre"),
    (dict(strategy="smart"), r"strategy is 'smart'; expected one of fixed, doubling, adaptive"),
    (dict(tolerance=0.01, strategy="fixed"), r"tolerance=0.01 needs strategy 'adaptive' or 'doubling'"),
    (dict(tolerance=0.01, method="gausslegendre"), r"method='gausslegendre' sets the rule of fixed steps or doubling"),
    (dict(tolerance=-1.0), r"tolerance must be positive, got -1"),
    (dict(tolerance=0.01, strategy="doubling", method="gausslegendre"), r"doubling needs nested nodes"),
    (dict(n_steps=0), r"number of steps must be at least 1, got 0"),
    (dict(internal_batch_size=0), r"internal_batch_size is 0; expected a positive integer or None"),
    (dict(output="softmax"), r"unknown output kind 'softmax'; expected logit, prob or logprob"),
    (dict(baselines="zero"), r"baselines is 'zero' \(str\); expected None \(zero\), a number or a tensor"),
    (dict(additional_forward_args=torch.ones(3, 1)), r"additional_forward_args\[0\] has shape \[3, 1\]; expected one row per example, \[2, \.\.\.\]"),
])
def test_bad_options(ig, arguments, message):
    with pytest.raises(ValueError, match=message):
        ig.attribute(torch.ones(2, 3), **{"target": 0, **arguments})


def test_bad_inputs(ig):
    with pytest.raises(ValueError, match=r"inputs is \[\[1.0, 2.0, 3.0\]\] \(list\); expected a torch.Tensor"):
        ig.attribute([[1.0, 2.0, 3.0]], target=0)
    with pytest.raises(ValueError, match=r"input has dtype Long; expected a floating-point tensor"):
        ig.attribute(torch.ones(2, 3, dtype=torch.long), target=0)
    with pytest.raises(ValueError, match=r"forward_func is 3 \(int\); expected"):
        igx.IntegratedGradients(3)


def test_igx_errors_are_value_errors():
    assert issubclass(igx.Error, ValueError)
