"""What every method shares: forward functions as engine models, Captum's arguments checked and
turned into the engine's options, and results packed the way Captum returns them."""

import copy
import numbers

import torch

from . import _C
from .report import make_report

RULES = ("riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre")
STRATEGIES = ("fixed", "doubling", "adaptive")


def describe_value(value) -> str:
    """A short description of a value for error messages."""
    if torch.is_tensor(value):
        return f"a tensor of shape {list(value.shape)} ({value.dtype})"
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    return f"{value!r} ({type(value).__name__})"


def forward_name(forward_func) -> str:
    """How messages name the forward function: its class for a module, its name for a function."""
    if isinstance(forward_func, torch.jit.ScriptModule):
        return getattr(forward_func, "original_name", type(forward_func).__name__)
    if isinstance(forward_func, torch.nn.Module):
        return type(forward_func).__name__
    if isinstance(forward_func, torch._C.ScriptMethod):
        return forward_func.name
    return getattr(forward_func, "__qualname__", None) or type(forward_func).__name__


def script_parts(forward_func):
    """(the C++ module, method name) of a ScriptModule or of one of its methods; None otherwise."""
    if isinstance(forward_func, torch.jit.ScriptModule):
        return forward_func._c, "forward"
    if isinstance(forward_func, torch._C.ScriptMethod):
        return forward_func.owner, forward_func.name
    return None


def check_forward_func(forward_func, what="forward_func"):
    if not callable(forward_func):
        raise ValueError(f"{what} is {describe_value(forward_func)}; expected a torch.nn.Module, a ScriptModule or a callable")


def check_inputs(inputs, name="inputs") -> torch.Tensor:
    if not torch.is_tensor(inputs):
        raise ValueError(f"{name} is {describe_value(inputs)}; expected a torch.Tensor [batch, ...]")
    if inputs.dim() < 1 or inputs.shape[0] < 1:
        raise ValueError(f"{name} has shape {list(inputs.shape)}; expected a batch [B, ...] with at least one example")
    return inputs


def as_input_tuple(inputs, name="inputs"):
    """Captum's inputs: one tensor or a tuple of tensors, the same batch size in each."""
    parts = inputs if isinstance(inputs, tuple) else (inputs,)
    if not parts:
        raise ValueError(f"{name} is an empty tuple; expected a tensor [batch, ...] or a tuple of them")
    for index, part in enumerate(parts):
        label = f"{name}[{index}]" if isinstance(inputs, tuple) else name
        if not torch.is_tensor(part):
            raise ValueError(f"{label} is {describe_value(part)}; expected a torch.Tensor [batch, ...]")
        if part.dim() < 1 or part.shape[0] < 1:
            raise ValueError(f"{label} has shape {list(part.shape)}; expected a batch [B, ...] with at least one example")
        if part.shape[0] != parts[0].shape[0]:
            raise ValueError(f"{label} has {part.shape[0]} examples where {name}[0] has {parts[0].shape[0]}")
    return parts


def baselines_like(baselines, inputs, name="baselines"):
    """Captum's baselines for every input: None (zeros), a number, or a tensor shaped like one
    example, like a batch of one, or like the inputs; expanded to the inputs' shape and dtype."""
    parts = baselines if isinstance(baselines, tuple) else (baselines,) * len(inputs)
    if len(parts) != len(inputs):
        raise ValueError(f"{name} has {len(parts)} entries for {len(inputs)} inputs; expected one per input")
    expanded = []
    for index, (baseline, example) in enumerate(zip(parts, inputs)):
        label = f"{name}[{index}]" if isinstance(baselines, tuple) else name
        if baseline is None:
            expanded.append(torch.zeros_like(example))
        elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
            if not example.is_floating_point() and baseline != int(baseline):
                raise ValueError(f"{label} is {baseline!r}; expected an integer for inputs of dtype {example.dtype}")
            expanded.append(torch.full_like(example, baseline))
        elif torch.is_tensor(baseline):
            value = baseline.to(example.device, example.dtype)
            if value.shape == example.shape[1:]:
                value = value.unsqueeze(0)
            if value.dim() != example.dim() or value.shape[1:] != example.shape[1:] or value.shape[0] not in (1, example.shape[0]):
                raise ValueError(
                    f"{label} has shape {list(baseline.shape)}; expected {list(example.shape)} (one per example), "
                    f"{[1] + list(example.shape[1:])} or {list(example.shape[1:])} (shared by all examples)"
                )
            expanded.append(value.expand_as(example))
        else:
            raise ValueError(f"{label} is {describe_value(baseline)}; expected None (zero), a number or a tensor")
    return tuple(expanded)


class PackedInputs:
    """Captum's tuple of input tensors as the one tensor [B, F] the engine integrates over: every
    input flattened and concatenated (the straight path of the tuple is the straight path of the
    concatenation); the forward function gets them back in their own shapes."""

    def __init__(self, inputs, baselines):
        parts = as_input_tuple(inputs)
        for index, part in enumerate(parts):
            if not part.is_floating_point() or part.dtype != parts[0].dtype or part.device != parts[0].device:
                raise ValueError(f"inputs[{index}] is {describe_value(part)} on {part.device}; expected floating "
                                 f"tensors of one dtype and device ({parts[0].dtype} on {parts[0].device})")
            if not torch.isfinite(part).all():
                raise ValueError(f"inputs[{index}] has a NaN or an infinity; expected finite numbers")
        batch = parts[0].shape[0]
        self.shapes = [tuple(part.shape[1:]) for part in parts]
        self.sizes = [part[0].numel() for part in parts]
        self.tensor = torch.cat([part.reshape(batch, -1) for part in parts], dim=1)
        self.baseline = torch.cat([b.reshape(batch, -1) for b in baselines_like(baselines, parts)], dim=1)

    def split(self, flat):
        return tuple(chunk.reshape(flat.shape[0], *shape)
                     for chunk, shape in zip(flat.split(self.sizes, dim=1), self.shapes))

    def forward(self, forward_func):
        def packed(flat, *arguments):
            return forward_func(*self.split(flat), *arguments)

        packed.__qualname__ = forward_name(forward_func)
        return packed


def prepare_inputs(forward_func, inputs, baselines):
    """(forward function, input tensor, baselines, unpack) for one input tensor or a tuple of them."""
    if isinstance(inputs, tuple):
        packed = PackedInputs(inputs, baselines)
        return packed.forward(forward_func), packed.tensor, packed.baseline, packed.split
    check_inputs(inputs)
    return forward_func, inputs, baselines, lambda values: values


class ForwardArgs:
    """Captum's additional_forward_args. Tensors with one row per example go to the engine as extra
    inputs, and every batch of path points gets its examples' rows of them; anything else is
    passed to the forward function unchanged."""

    def __init__(self, additional_forward_args, batch_size: int, leading=()):
        if additional_forward_args is None:
            arguments = ()
        elif isinstance(additional_forward_args, tuple):
            arguments = additional_forward_args
        else:
            arguments = (additional_forward_args,)
        # `leading`: tensors the caller puts before the arguments (the original inputs of a layer method).
        self.extras = list(leading)
        self.slots = []  # per argument: ("extra", index into extras) or ("value", the argument)
        for position, argument in enumerate(arguments):
            if torch.is_tensor(argument):
                if argument.dim() == 0 or argument.shape[0] != batch_size:
                    raise ValueError(
                        f"additional_forward_args[{position}] has shape {list(argument.shape)}; expected one row per "
                        f"example, [{batch_size}, ...] (bind other tensors into forward_func, e.g. with functools.partial)"
                    )
                self.slots.append(("extra", len(self.extras)))
                self.extras.append(argument)
            else:
                self.slots.append(("value", argument))

    @property
    def all_tensors(self) -> bool:
        return all(kind == "extra" for kind, _ in self.slots)

    def arguments(self, extras):
        """The forward function's arguments after the points, with these rows of the extras."""
        return [extras[slot] if kind == "extra" else slot for kind, slot in self.slots]


def engine_model(forward_func, arguments: ForwardArgs, device, name=None):
    """forward_func(points, *additional_forward_args) as an engine model. A ScriptModule (or one
    of its methods) with tensor arguments only runs inside C++ without the GIL; anything else is
    called back from the engine for every batch."""
    name = name or forward_name(forward_func)
    parts = script_parts(forward_func)
    if parts is not None and arguments.all_tensors:
        module, method = parts
        return _C.script_model(module, method, name, str(device))

    def call(points, extras):
        return forward_func(points, *arguments.arguments(extras))

    return _C.python_model(call, f"forward_func {name}", str(device), float64_form(forward_func, arguments))


def float64_form(forward_func, arguments: ForwardArgs):
    """For an nn.Module: a factory of the same forward over a float64 copy (made only when the
    certificates ask for float64 ends, as igx does for TorchScript models), else None. The user's
    module is never changed."""
    if not isinstance(forward_func, torch.nn.Module):
        return None

    def factory():
        module = copy.deepcopy(forward_func).double()

        def call(points, extras):
            return module(points, *arguments.arguments(extras))

        return call

    return factory


def python_model(function, name, device):
    """function(points, extras) -> Tensor as an engine model."""
    return _C.python_model(function, name, str(device))


def target_arg(target, batch_size: int):
    """Captum's target as the engine's: None (the predicted class), one class, or one per example."""
    if target is None:
        return None
    if isinstance(target, bool):
        raise ValueError(f"target is {target!r}; expected a class index, a list or tensor of them, or None")
    if isinstance(target, numbers.Integral):
        return int(target)
    if torch.is_tensor(target):
        if target.is_floating_point() or target.is_complex():
            raise ValueError(f"target is {describe_value(target)}; expected integer class indices")
        if target.numel() == 1 and target.dim() <= 1:
            return int(target.reshape(()).item())
        if target.dim() != 1:
            raise ValueError(f"target has shape {list(target.shape)}; expected one class index per example, [{batch_size}]")
        return [int(value) for value in target.tolist()]
    if isinstance(target, list):
        if not all(isinstance(value, numbers.Integral) and not isinstance(value, bool) for value in target):
            raise ValueError(
                f"target {target!r} is not a list of class indices; igx explains one class of an output "
                "[N, classes] per example (tuple targets for outputs of more dimensions are not supported)"
            )
        return [int(value) for value in target]
    raise ValueError(
        f"target is {describe_value(target)}; expected a class index, a list or 1-D tensor of them (one per "
        "example), or None for the predicted class"
    )


def baseline_arg(baselines, name="baselines"):
    """Captum's baselines for one input tensor: None (zero), a number, or a tensor."""
    if baselines is None or torch.is_tensor(baselines):
        return baselines
    if isinstance(baselines, numbers.Real) and not isinstance(baselines, bool):
        return float(baselines)
    raise ValueError(f"{name} is {describe_value(baselines)}; expected None (zero), a number or a tensor")


def batch_size_arg(internal_batch_size) -> int:
    """Captum's internal_batch_size (None: all rows at once) as the engine's (0: no limit)."""
    if internal_batch_size is None:
        return 0
    if isinstance(internal_batch_size, bool) or not isinstance(internal_batch_size, numbers.Integral) or internal_batch_size < 1:
        raise ValueError(f"internal_batch_size is {internal_batch_size!r}; expected a positive integer or None")
    return int(internal_batch_size)


def integration_options(n_steps, method, tolerance, max_steps, strategy, certify, output) -> dict:
    """The engine's options for integrating IG's path: fixed steps as Captum does, or per example to
    a certified tolerance (strategy None: adaptive when a tolerance is given, else fixed)."""
    if strategy is None:
        strategy = "fixed" if tolerance is None else "adaptive"
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy is {strategy!r}; expected one of {', '.join(STRATEGIES)} (or None)")
    if method is not None and method not in RULES:
        raise ValueError(f"method is {method!r}; expected one of {', '.join(RULES)}")
    options = {"strategy": strategy, "output": output}
    if strategy == "fixed":
        if tolerance is not None:
            raise ValueError(
                f"tolerance={tolerance!r} needs strategy 'adaptive' or 'doubling' (strategy 'fixed' spends n_steps "
                "on every example)"
            )
        options.update(n_steps=n_steps, method=method or "gausslegendre")
        return options
    if strategy == "adaptive" and method is not None:
        raise ValueError(
            f"method={method!r} sets the rule of fixed steps or doubling; the adaptive strategy integrates with "
            "Simpson panels (drop method=, or pass strategy='doubling')"
        )
    if strategy == "doubling":
        options["method"] = method or "riemann_right"
    options.update(tolerance=0.01 if tolerance is None else tolerance, max_steps=max_steps, certify=certify)
    return options


def pack(values, report_dicts, counts, return_convergence_delta, return_report, **report_parts):
    """Captum's return: attributions, then the delta per example when asked; igx's report last.
    `report_parts`: make_report's optional parts (token reports, standard errors)."""
    report = make_report(report_dicts, counts, **report_parts)
    result = [values]
    if return_convergence_delta:
        result.append(torch.tensor([example.delta for example in report], dtype=torch.float64))
    if return_report:
        result.append(report)
    return result[0] if len(result) == 1 else tuple(result)
