"""Attribution to and through a layer of an nn.Module, found with forward hooks as Captum does:
the layer's output is read where the forward reaches it, and replaced by the path's points for
the rest of the forward (which sees the original inputs everywhere else, so the layer should be a
cut of the network: everything after it depends on the inputs through it)."""

import numbers

import torch

from . import _C
from ._core import (
    ForwardArgs,
    as_input_tuple,
    baselines_like,
    batch_size_arg,
    check_forward_func,
    describe_value,
    forward_name,
    integration_options,
    pack,
    python_model,
    target_arg,
)


class _Stop(Exception):
    """Ends a forward pass once the layer's value is read."""


def _layer_name(forward_func, layer) -> str:
    if isinstance(forward_func, torch.nn.Module):
        for name, module in forward_func.named_modules():
            if module is layer:
                return name or type(layer).__name__
    return type(layer).__name__


class LayerHooks:
    """forward_func with a hook on `layer`, to read its output (or first input) or replace it."""

    def __init__(self, forward_func, layer, to_layer_input: bool = False):
        check_forward_func(forward_func)
        if isinstance(layer, torch.jit.ScriptModule) or not isinstance(layer, torch.nn.Module):
            raise ValueError(
                f"layer is {describe_value(layer)}; expected an nn.Module inside forward_func (Python forward hooks "
                "find it; a ScriptModule's submodules cannot be hooked: explain the scripted method that takes the "
                "layer's output with IntegratedGradients instead)"
            )
        self.forward_func = forward_func
        self.layer = layer
        self.to_layer_input = to_layer_input
        self.name = f"layer '{_layer_name(forward_func, layer)}' of {forward_name(forward_func)}"

    def _register(self, hook):
        if self.to_layer_input:
            return self.layer.register_forward_pre_hook(lambda module, args: hook(module, args, None))
        return self.layer.register_forward_hook(hook)

    def _value(self, args, output):
        value = args[0] if self.to_layer_input else output
        if not torch.is_tensor(value):
            where = "first input" if self.to_layer_input else "output"
            raise ValueError(f"{self.name} has {describe_value(value)} as its {where}; expected a tensor")
        return value

    def capture(self, inputs, arguments):
        """The layer's value when forward_func(*inputs, *arguments) runs, without the rest of the forward."""
        captured = []

        def hook(module, args, output):
            captured.append(self._value(args, output))
            raise _Stop

        handle = self._register(hook)
        try:
            self.forward_func(*inputs, *arguments)
        except _Stop:
            pass
        finally:
            handle.remove()
        if not captured:
            raise ValueError(f"{self.name} was not called by forward_func; expected the layer to be part of its forward")
        return captured[0]

    def replaced(self, points, inputs, arguments):
        """forward_func(*inputs, *arguments) with the layer's value replaced by `points`."""
        calls = []

        def hook(module, args, output):
            calls.append(module)
            if len(calls) > 1:
                raise ValueError(f"{self.name} ran twice in one forward; igx replaces a layer that runs once")
            value = self._value(args, output)
            if value.shape != points.shape:
                raise ValueError(f"{self.name} gives shape {list(value.shape)} where the path has {list(points.shape)}")
            if self.to_layer_input:
                return (points, *args[1:])
            return points

        handle = self._register(hook)
        try:
            return self.forward_func(*inputs, *arguments)
        finally:
            handle.remove()


class _LayerMethod:
    """A split of forward_func at a layer: `lower` maps the inputs to the layer's value, `upper`
    runs the rest of the forward from it. Extra inputs: the original inputs first (for the
    replaced forward), then the tensor arguments."""

    def __init__(self, forward_func, layer, to_layer_input=False):
        self.forward_func = forward_func
        self.layer = layer
        self.hooks = LayerHooks(forward_func, layer, to_layer_input)

    def _prepare(self, inputs, additional_forward_args):
        parts = as_input_tuple(inputs)
        arguments = ForwardArgs(additional_forward_args, parts[0].shape[0], leading=parts)
        count = len(parts)
        hooks = self.hooks

        def upper(points, extras):
            return hooks.replaced(points, extras[:count], arguments.arguments(extras))

        upper_model = python_model(upper, f"forward_func {forward_name(self.forward_func)} after {hooks.name}",
                                   parts[0].device)
        return parts, arguments, upper_model

    def _lower_model(self, arguments, device):
        hooks = self.hooks

        def lower(points, extras):
            return hooks.capture((points,), arguments.arguments(extras))

        return python_model(lower, hooks.name, device)


class LayerIntegratedGradients(_LayerMethod):
    """IG in the space of a layer's output (or input): the straight path from the layer's value at
    the baselines to its value at the inputs, the forward completed from each point by a hook that
    replaces the layer's output. The usual way to explain BERT: the layer is the word-embedding
    module, the inputs are token ids."""

    def __init__(self, forward_func, layer, device_ids=None, multiply_by_inputs: bool = True):
        if device_ids is not None:
            raise ValueError("device_ids (DataParallel) is not supported; pass the model on one device")
        super().__init__(forward_func, layer)
        self.multiply_by_inputs = bool(multiply_by_inputs)

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps: int = 50,
                  method=None, internal_batch_size=None, return_convergence_delta: bool = False,
                  attribute_to_layer_input: bool = False, *, tolerance=None, max_steps: int = 4096, strategy=None,
                  certify: str = "panels", output: str = "logit", return_report: bool = False):
        """Attributions shaped like the layer's output [B, ...]; the same options as
        IntegratedGradients.attribute. `inputs` may be integer token ids (and a tuple of inputs);
        `baselines` are in input space (default zeros: for token ids, id 0)."""
        self.hooks.to_layer_input = bool(attribute_to_layer_input)
        parts, arguments, upper_model = self._prepare(inputs, additional_forward_args)
        options = integration_options(n_steps, method, tolerance, max_steps, strategy, certify, output)
        values_at = arguments.arguments(arguments.extras)
        with torch.no_grad():
            hidden = self.hooks.capture(parts, values_at).detach()
            hidden_baseline = self.hooks.capture(baselines_like(baselines, parts), values_at).detach()
        values, reports, counts = _C.integrated_gradients(
            upper_model, hidden, arguments.extras,
            baseline=hidden_baseline,
            target=target_arg(target, parts[0].shape[0]),
            internal_batch_size=batch_size_arg(internal_batch_size),
            multiply_by_inputs=self.multiply_by_inputs,
            **options,
        )
        return pack(values, reports, counts, return_convergence_delta, return_report)


def _single_floating_input(inputs, method):
    if isinstance(inputs, tuple):
        if len(inputs) != 1:
            raise ValueError(f"{method} takes one input tensor; got a tuple of {len(inputs)}")
        inputs = inputs[0]
    parts = as_input_tuple(inputs)
    return parts[0]


def _uniform_grid_only(method, name):
    # Conductance is a sum over the uniform grid k/n, k = 0..n: Captum's with method="riemann_trapezoid".
    # Captum's default puts the grid at Gauss-Legendre nodes instead; say so rather than differ silently.
    if method not in (None, "riemann_trapezoid"):
        raise ValueError(f"method={method!r}: igx's {name} sums over the uniform grid k/n_steps, k = 0..n_steps "
                         "(Captum's method='riemann_trapezoid'); expected method=None or 'riemann_trapezoid'")


class LayerConductance(_LayerMethod):
    """Conductance of every unit of a layer: sum_k dF/dh_j(h(a_k)) (h_j(a_{k+1}) - h_j(a_k)) along
    the input path a_k = k/n; it sums to F(x) - F(x') up to the reported delta."""

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps: int = 50,
                  method=None, internal_batch_size=None, return_convergence_delta: bool = False,
                  attribute_to_layer_input: bool = False, *, output: str = "logit", return_report: bool = False):
        _uniform_grid_only(method, "LayerConductance")
        return self._run("conductance", inputs, baselines, target, additional_forward_args, n_steps, None,
                         internal_batch_size, return_convergence_delta, attribute_to_layer_input, output, return_report)

    def _run(self, kind, inputs, baselines, target, additional_forward_args, n_steps, method, internal_batch_size,
             return_convergence_delta, to_layer_input, output, return_report):
        self.hooks.to_layer_input = bool(to_layer_input)
        inputs = _single_floating_input(inputs, type(self).__name__)
        parts, arguments, upper_model = self._prepare(inputs, additional_forward_args)
        options = {"n_steps": n_steps, "output": output, "baseline": baselines_like(baselines, parts)[0],
                   "target": target_arg(target, inputs.shape[0]),
                   "internal_batch_size": batch_size_arg(internal_batch_size)}
        if method is not None:
            options["method"] = method
        lower_model = self._lower_model(arguments, inputs.device)
        values, reports, counts = _C.layer_method(kind, lower_model, upper_model, self.hooks.name, inputs,
                                                  arguments.extras, **options)
        return pack(values, reports, counts, return_convergence_delta, return_report)


class InternalInfluence(LayerConductance):
    """The gradient with respect to a layer's units integrated along the input path (no
    multiplication by a difference; no completeness)."""

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None, n_steps: int = 50,
                  method: str = "gausslegendre", internal_batch_size=None, attribute_to_layer_input: bool = False,
                  *, output: str = "logit", return_report: bool = False):
        return self._run("internal_influence", inputs, baselines, target, additional_forward_args, n_steps, method,
                         internal_batch_size, False, attribute_to_layer_input, output, return_report)


class NeuronConductance(_LayerMethod):
    """The attribution of one neuron (or a set of them) of a layer to every input feature:
    sum_{j in S} integral dF/dh_j dh_j/dx_i (x_i - x'_i) da."""

    def __init__(self, forward_func, layer, device_ids=None, multiply_by_inputs: bool = True):
        if device_ids is not None:
            raise ValueError("device_ids (DataParallel) is not supported; pass the model on one device")
        if not multiply_by_inputs:
            raise ValueError("NeuronConductance with multiply_by_inputs=False is not supported")
        super().__init__(forward_func, layer)

    def attribute(self, inputs, neuron_selector, baselines=None, target=None, additional_forward_args=None,
                  n_steps: int = 50, method: str = "riemann_trapezoid", internal_batch_size=None,
                  attribute_to_neuron_input: bool = False, *, output: str = "logit", return_report: bool = False):
        """`neuron_selector`: a neuron's index in the layer's output without the batch dimension
        (an int for a flat layer, a tuple of ints otherwise), or a list of them (their sum)."""
        self.hooks.to_layer_input = bool(attribute_to_neuron_input)
        inputs = _single_floating_input(inputs, "NeuronConductance")
        parts, arguments, upper_model = self._prepare(inputs, additional_forward_args)
        with torch.no_grad():
            shape = tuple(self.hooks.capture(parts, arguments.arguments(arguments.extras)).shape[1:])
        neurons = _flat_neurons(neuron_selector, shape)
        lower_model = self._lower_model(arguments, inputs.device)
        values, reports, counts = _C.neuron_conductance(
            lower_model, upper_model, self.hooks.name, inputs, neurons, arguments.extras,
            n_steps=n_steps, method=method, output=output, baseline=baselines_like(baselines, parts)[0],
            target=target_arg(target, inputs.shape[0]), internal_batch_size=batch_size_arg(internal_batch_size))
        return pack(values, reports, counts, False, return_report)


def _flat_neurons(neuron_selector, shape):
    selectors = neuron_selector if isinstance(neuron_selector, list) else [neuron_selector]
    flat = []
    for selector in selectors:
        index = (selector,) if isinstance(selector, numbers.Integral) else selector
        if (not isinstance(index, tuple) or len(index) != len(shape)
                or not all(isinstance(i, numbers.Integral) and 0 <= i < size for i, size in zip(index, shape))):
            raise ValueError(f"neuron_selector {selector!r} is not an index into the layer's units of shape "
                             f"{list(shape)}; expected {'an int' if len(shape) == 1 else 'a tuple of ' + str(len(shape)) + ' ints'} "
                             "in range, or a list of them")
        position = 0
        for i, size in zip(index, shape):
            position = position * size + int(i)
        flat.append(position)
    return flat
