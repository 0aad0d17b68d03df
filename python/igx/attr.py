"""Attribution to the inputs, in Captum's vocabulary: Integrated Gradients (fixed steps, or per
example to a certified tolerance), Saliency, Input x Gradient, noise tunnel, and IG against a
distribution of baselines (deterministic, or sampled: Expected Gradients / GradientShap)."""

import numbers

import torch

from . import _C
from ._core import (
    ForwardArgs,
    baseline_arg,
    batch_size_arg,
    check_forward_func,
    check_inputs,
    describe_value,
    engine_model,
    integration_options,
    pack,
    prepare_inputs,
    target_arg,
)


class IntegratedGradients:
    """Integrated Gradients of forward_func(inputs, *additional_forward_args) -> [B, classes] or [B].

    A torch.jit.ScriptModule (or one of its methods, e.g. ``scripted.forward_embeds``) runs inside
    C++ with the GIL released; an nn.Module or any other callable is called for every batch of
    path points, and differentiated by the same autograd.
    """

    def __init__(self, forward_func, multiply_by_inputs: bool = True):
        check_forward_func(forward_func)
        self.forward_func = forward_func
        self.multiply_by_inputs = bool(multiply_by_inputs)

    def attribute(
        self,
        inputs,
        baselines=None,
        target=None,
        additional_forward_args=None,
        n_steps: int = 50,
        method=None,
        internal_batch_size=None,
        return_convergence_delta: bool = False,
        *,
        tolerance=None,
        max_steps: int = 4096,
        strategy=None,
        certify: str = "panels",
        output: str = "logit",
        return_report: bool = False,
    ):
        """Attributions shaped like `inputs` (and, as asked, the delta per example and the report).

        Captum's arguments mean what they mean in Captum; ``method`` (default gausslegendre)
        names the rule of fixed steps or doubling. igx's own:

        - ``tolerance``: integrate each example until its relative completeness error is
          certified at most this (strategy adaptive by default), spending at most ``max_steps``
          gradient evaluations on it; ``report[i].certified`` says whether it was.
        - ``strategy``: ``"fixed"`` (n_steps for every example, the default without a tolerance),
          ``"adaptive"`` (Simpson panels bisected where the exact error is) or ``"doubling"``
          (n, 2n, ... nested nodes of ``method``, default riemann_right).
        - ``certify``: adaptive only, ``"panels"`` (sum of the panels' |errors|, no cancellation)
          or ``"completeness"`` (|delta| itself).
        - ``output``: the explained scalar, ``"logit"`` (the output as is), ``"prob"`` (softmax)
          or ``"logprob"``.
        - ``return_report``: also return the igx.Report (F(x), F(x'), delta, relative error,
          steps, certified, bound per example).

        ``target=None`` explains the predicted class (argmax of the output). A tuple of inputs
        (and of baselines) gives a tuple of attributions; its forward runs from Python.
        """
        forward, inputs, baselines, unpack = prepare_inputs(self.forward_func, inputs, baselines)
        arguments = ForwardArgs(additional_forward_args, inputs.shape[0])
        model = engine_model(forward, arguments, inputs.device)
        options = integration_options(n_steps, method, tolerance, max_steps, strategy, certify, output)
        values, reports, counts = _C.integrated_gradients(
            model,
            inputs,
            arguments.extras,
            baseline=baseline_arg(baselines),
            target=target_arg(target, inputs.shape[0]),
            internal_batch_size=batch_size_arg(internal_batch_size),
            multiply_by_inputs=self.multiply_by_inputs,
            **options,
        )
        return pack(unpack(values), reports, counts, return_convergence_delta, return_report)

    def has_convergence_delta(self) -> bool:
        return True


class _GradientMethod:
    _method = ""

    def __init__(self, forward_func):
        check_forward_func(forward_func)
        self.forward_func = forward_func

    def _run(self, inputs, target, additional_forward_args, absolute, output, internal_batch_size, return_report):
        forward, inputs, _, unpack = prepare_inputs(self.forward_func, inputs, None)
        arguments = ForwardArgs(additional_forward_args, inputs.shape[0])
        model = engine_model(forward, arguments, inputs.device)
        values, reports, counts = _C.gradient_method(
            self._method,
            model,
            inputs,
            arguments.extras,
            target_arg(target, inputs.shape[0]),
            output,
            batch_size_arg(internal_batch_size),
            absolute,
        )
        return pack(unpack(values), reports, counts, False, return_report)


class Saliency(_GradientMethod):
    """The gradient dF/dx at the inputs (its absolute value by default, as Captum)."""

    _method = "saliency"

    def attribute(self, inputs, target=None, abs: bool = True, additional_forward_args=None, *,
                  output: str = "logit", internal_batch_size=None, return_report: bool = False):
        return self._run(inputs, target, additional_forward_args, bool(abs), output, internal_batch_size, return_report)


class InputXGradient(_GradientMethod):
    """x * dF/dx: IG with one right-Riemann step from the zero baseline."""

    _method = "inputxgradient"

    def attribute(self, inputs, target=None, additional_forward_args=None, *,
                  output: str = "logit", internal_batch_size=None, return_report: bool = False):
        return self._run(inputs, target, additional_forward_args, True, output, internal_batch_size, return_report)


_NOISE_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")


class NoiseTunnel:
    """Runs an igx IntegratedGradients, Saliency or InputXGradient on noisy copies of every input
    (all copies in one batched engine call) and combines their attributions: smoothgrad (mean),
    smoothgrad_sq (mean of squares) or vargrad (variance)."""

    def __init__(self, attribution_method):
        if not isinstance(attribution_method, (IntegratedGradients, Saliency, InputXGradient)):
            raise ValueError(
                f"NoiseTunnel wraps {describe_value(attribution_method)}; expected an igx IntegratedGradients, "
                "Saliency or InputXGradient"
            )
        self.attribution_method = attribution_method

    def attribute(
        self,
        inputs,
        nt_type: str = "smoothgrad",
        nt_samples: int = 5,
        nt_samples_batch_size=None,
        stdevs: float = 1.0,
        draw_baseline_from_distrib: bool = False,
        *,
        seed: int = 0,
        **kwargs,
    ):
        """kwargs are the wrapped method's attribute() arguments (target, baselines,
        additional_forward_args, n_steps, method, tolerance, ..., return_convergence_delta,
        return_report). Rows per model call are bounded by internal_batch_size; the noisy copies
        are not batched separately, so nt_samples_batch_size is accepted and has no effect."""
        del nt_samples_batch_size  # the engine packs every copy's points into internal_batch_size rows
        if nt_type not in _NOISE_TYPES:
            raise ValueError(f"nt_type is {nt_type!r}; expected one of {', '.join(_NOISE_TYPES)}")
        if draw_baseline_from_distrib:
            raise ValueError(
                "draw_baseline_from_distrib=True is not supported; for a distribution of baselines use "
                "igx.DistributionIntegratedGradients or igx.ExpectedGradients"
            )
        if isinstance(nt_samples, bool) or not isinstance(nt_samples, numbers.Integral) or nt_samples < 1:
            raise ValueError(f"nt_samples is {nt_samples!r}; expected a positive integer")
        if isinstance(stdevs, bool) or not isinstance(stdevs, numbers.Real) or not stdevs >= 0:
            raise ValueError(f"stdevs is {stdevs!r}; expected one standard deviation >= 0")
        wrapped = self.attribution_method
        allowed = {"target", "additional_forward_args", "internal_batch_size", "return_convergence_delta",
                   "return_report", "output"}
        if isinstance(wrapped, IntegratedGradients):
            allowed |= {"baselines", "n_steps", "method", "tolerance", "max_steps", "strategy", "certify"}
        if isinstance(wrapped, Saliency):
            allowed |= {"abs"}
        unknown = sorted(set(kwargs) - allowed)
        if unknown:
            raise ValueError(f"{type(wrapped).__name__} under NoiseTunnel takes no argument {unknown[0]!r}")
        if isinstance(wrapped, Saliency) and not kwargs.get("abs", True):
            raise ValueError("NoiseTunnel over Saliency uses |gradient|; abs=False is not supported")

        forward, inputs, baselines, unpack = prepare_inputs(wrapped.forward_func, inputs, kwargs.get("baselines"))
        arguments = ForwardArgs(kwargs.get("additional_forward_args"), inputs.shape[0])
        model = engine_model(forward, arguments, inputs.device)
        if isinstance(wrapped, IntegratedGradients):
            options = integration_options(
                kwargs.get("n_steps", 50), kwargs.get("method"), kwargs.get("tolerance"), kwargs.get("max_steps", 4096),
                kwargs.get("strategy"), kwargs.get("certify", "panels"), kwargs.get("output", "logit"))
            method = options.pop("method", "gausslegendre")
            options["multiply_by_inputs"] = wrapped.multiply_by_inputs
            options["baseline"] = baseline_arg(baselines)
        else:
            method = wrapped._method
            options = {"output": kwargs.get("output", "logit")}
        values, reports, counts = _C.noise_tunnel(
            model, inputs, method, arguments.extras, nt_samples, float(stdevs), nt_type, seed,
            target=target_arg(kwargs.get("target"), inputs.shape[0]),
            internal_batch_size=batch_size_arg(kwargs.get("internal_batch_size")),
            **options,
        )
        return pack(unpack(values), reports, counts, kwargs.get("return_convergence_delta", False),
                    kwargs.get("return_report", False))


def _check_baseline_set(baselines, inputs):
    if not torch.is_tensor(baselines):
        raise ValueError(
            f"baselines is {describe_value(baselines)}; expected a tensor of baselines [M, ...] (shared) or "
            f"[B, M, ...] (one set per example) for inputs of shape {list(inputs.shape)}"
        )
    return baselines


class DistributionIntegratedGradients:
    """IG averaged over a set of baselines (Lundstrom et al., ICML 2022), every pair integrated by
    the rule or to the tolerance; completeness: sum(A) = F(x) - mean_j F(x'_j). With a tolerance,
    the mean is what is certified."""

    def __init__(self, forward_func, multiply_by_inputs: bool = True):
        check_forward_func(forward_func)
        self.forward_func = forward_func
        self.multiply_by_inputs = bool(multiply_by_inputs)

    def attribute(self, inputs, baselines, target=None, additional_forward_args=None, n_steps: int = 50,
                  method=None, internal_batch_size=None, return_convergence_delta: bool = False, *,
                  tolerance=None, max_steps: int = 4096, strategy=None, certify: str = "panels",
                  output: str = "logit", return_report: bool = False):
        """`baselines`: [M, ...] shared by every example, or [B, M, ...] one set per example."""
        check_inputs(inputs)
        _check_baseline_set(baselines, inputs)
        arguments = ForwardArgs(additional_forward_args, inputs.shape[0])
        model = engine_model(self.forward_func, arguments, inputs.device)
        options = integration_options(n_steps, method, tolerance, max_steps, strategy, certify, output)
        values, reports, counts = _C.distribution_integrated_gradients(
            model, inputs, baselines, arguments.extras,
            target=target_arg(target, inputs.shape[0]),
            internal_batch_size=batch_size_arg(internal_batch_size),
            multiply_by_inputs=self.multiply_by_inputs,
            **options,
        )
        return pack(values, reports, counts, return_convergence_delta, return_report)


class ExpectedGradients:
    """Expected Gradients: each sample draws a baseline from the set and alpha ~ U(0, 1);
    A = mean over samples of (x - x') * grad F(x' + alpha (x - x')). The report carries the
    standard error of every attribution (report.standard_error) and of their sum."""

    def __init__(self, forward_func):
        check_forward_func(forward_func)
        self.forward_func = forward_func

    def attribute(self, inputs, baselines, target=None, additional_forward_args=None, n_samples: int = 200,
                  internal_batch_size=None, return_convergence_delta: bool = False, *, seed: int = 0,
                  output: str = "logit", return_report: bool = False):
        """`baselines`: [M, ...] shared by every example, or [B, M, ...] one set per example."""
        check_inputs(inputs)
        _check_baseline_set(baselines, inputs)
        if isinstance(n_samples, bool) or not isinstance(n_samples, numbers.Integral) or n_samples < 1:
            raise ValueError(f"n_samples is {n_samples!r}; expected a positive integer")
        arguments = ForwardArgs(additional_forward_args, inputs.shape[0])
        model = engine_model(self.forward_func, arguments, inputs.device)
        (values, reports, counts), standard_error, sum_standard_error = _C.expected_gradients(
            model, inputs, baselines, arguments.extras, int(n_samples), int(seed),
            target_arg(target, inputs.shape[0]), output, batch_size_arg(internal_batch_size))
        return pack(values, reports, counts, return_convergence_delta, return_report,
                    sum_standard_error=sum_standard_error, standard_error=standard_error)


class GradientShap(ExpectedGradients):
    """Captum's GradientShap without input noise (stdevs=0), which is Expected Gradients."""

    def __init__(self, forward_func, multiply_by_inputs: bool = True):
        if not multiply_by_inputs:
            raise ValueError("GradientShap with multiply_by_inputs=False is not supported; igx's Expected Gradients "
                             "multiplies by (x - x')")
        super().__init__(forward_func)

    def attribute(self, inputs, baselines, n_samples: int = 5, stdevs: float = 0.0, target=None,
                  additional_forward_args=None, return_convergence_delta: bool = False, *, seed: int = 0,
                  internal_batch_size=None, output: str = "logit", return_report: bool = False):
        if stdevs != 0:
            raise ValueError(
                f"stdevs={stdevs!r}: igx's GradientShap is Expected Gradients without input noise; expected "
                "stdevs=0 (for noise around the input, pass noisy copies as the baselines)"
            )
        return super().attribute(inputs, baselines, target, additional_forward_args, n_samples, internal_batch_size,
                                 return_convergence_delta, seed=seed, output=output, return_report=return_report)
