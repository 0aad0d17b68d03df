"""The path methods for language models, on the word-embedding layer of an nn.Module (found by
forward hooks, as LayerIntegratedGradients does): Sequential IG (Enguehard, ACL 2023) and
Discretized IG (Sanyal & Ren, EMNLP 2021)."""

import numbers

import torch

from . import _C
from ._core import ForwardArgs, batch_size_arg, describe_value, forward_name, integration_options, pack, python_model, target_arg
from .layer import LayerHooks


def _token_ids(inputs):
    if not torch.is_tensor(inputs) or inputs.dim() != 2 or inputs.is_floating_point() or inputs.shape[0] < 1:
        raise ValueError(f"inputs is {describe_value(inputs)}; expected token ids [batch, tokens] (an integer tensor)")
    return inputs


def _moving_mask(moving, ids):
    if moving is None:
        return torch.ones(ids.shape, dtype=torch.bool)
    if not torch.is_tensor(moving) or moving.shape != ids.shape:
        raise ValueError(f"moving is {describe_value(moving)}; expected a bool tensor shaped like the ids, "
                         f"{list(ids.shape)} (True where the token moves)")
    return moving.to(torch.bool).cpu()


class _EmbeddingMethod:
    def __init__(self, forward_func, layer):
        self.hooks = LayerHooks(forward_func, layer)
        self.forward_func = forward_func

    def _prepare(self, ids, additional_forward_args):
        arguments = ForwardArgs(additional_forward_args, ids.shape[0], leading=(ids,))
        hooks = self.hooks

        def on_embeddings(points, extras):
            return hooks.replaced(points, extras[:1], arguments.arguments(extras))

        model = python_model(on_embeddings, f"forward_func {forward_name(self.forward_func)} after {hooks.name}",
                             ids.device)
        return arguments, model

    def _embed(self, ids, arguments):
        with torch.no_grad():
            return self.hooks.capture((ids,), arguments.arguments(arguments.extras)).detach()


class SequentialIntegratedGradients(_EmbeddingMethod):
    """One straight path per token: only that token's embedding moves from the baseline token's to
    its own, the others stay at the input; each token's attribution comes from its own path, and
    completeness holds per token (report[i].tokens)."""

    def attribute(self, inputs, baselines, target=None, additional_forward_args=None, moving=None,
                  n_steps: int = 50, method=None, internal_batch_size=None, return_convergence_delta: bool = False,
                  *, tolerance=None, max_steps: int = 4096, strategy=None, certify: str = "panels",
                  output: str = "logit", return_report: bool = False):
        """`inputs`: token ids [B, T]. `baselines`: the baseline token's id (the method's is
        [MASK]) or ids shaped like the inputs. `moving`: bool [B, T], the tokens to explain
        (default all; [CLS], [SEP] and padding usually stay). Attributions [B, T, D]."""
        ids = _token_ids(inputs)
        if isinstance(baselines, numbers.Integral) and not isinstance(baselines, bool):
            baseline_ids = torch.full_like(ids, int(baselines))
        elif torch.is_tensor(baselines) and baselines.shape == ids.shape and not baselines.is_floating_point():
            baseline_ids = baselines.to(ids.device)
        else:
            raise ValueError(f"baselines is {describe_value(baselines)}; expected a token id or ids shaped like "
                             f"the inputs, {list(ids.shape)}")
        arguments, model = self._prepare(ids, additional_forward_args)
        options = integration_options(n_steps, method, tolerance, max_steps, strategy, certify, output)
        (values, reports, counts), tokens = _C.sequential_integrated_gradients(
            model, self._embed(ids, arguments), self._embed(baseline_ids, arguments), _moving_mask(moving, ids),
            arguments.extras,
            target=target_arg(target, ids.shape[0]), internal_batch_size=batch_size_arg(internal_batch_size), **options)
        return pack(values, reports, counts, return_convergence_delta, return_report, token_dicts=tokens)


class DiscretizedIntegratedGradients(_EmbeddingMethod):
    """A path through real word embeddings, made monotone, from the baseline word to each token;
    the left sum along it, with the completeness error and a bound per example. `layer` is the
    word-embedding nn.Embedding: its weight is the vocabulary the anchors come from."""

    _STRATEGIES = ("greedy", "maxcount")

    def __init__(self, forward_func, layer):
        super().__init__(forward_func, layer)
        if not isinstance(layer, torch.nn.Embedding):
            raise ValueError(f"layer is {describe_value(layer)}; DIG needs the word-embedding torch.nn.Embedding "
                             "(its weight is the vocabulary)")
        self._index = None
        self._index_key = None

    def _neighbour_index(self, neighbours):
        weight = self.hooks.layer.weight
        key = (neighbours, weight.data_ptr(), weight._version)
        if self._index_key != key:  # kept between calls: the neighbour lists are the costly part
            self._index = _C.NeighbourIndex(weight.detach(), neighbours)
            self._index_key = key
        return self._index

    def attribute(self, inputs, baseline_token_id: int, target=None, additional_forward_args=None, moving=None,
                  anchors: int = 30, neighbours: int = 500, strategy: str = "greedy", upscale: int = 1,
                  internal_batch_size=None, return_convergence_delta: bool = False, *, output: str = "logit",
                  return_report: bool = False):
        """`inputs`: token ids [B, T]; `baseline_token_id`: the word the paths end at (DIG's is
        [PAD]); `anchors` m, `neighbours` K, `upscale` u as in the paper. Attributions [B, T, D]."""
        ids = _token_ids(inputs)
        if strategy not in self._STRATEGIES:
            raise ValueError(f"strategy is {strategy!r}; expected one of {', '.join(self._STRATEGIES)}")
        if isinstance(baseline_token_id, bool) or not isinstance(baseline_token_id, numbers.Integral):
            raise ValueError(f"baseline_token_id is {describe_value(baseline_token_id)}; expected a token id")
        arguments, model = self._prepare(ids, additional_forward_args)
        values, reports, counts = _C.discretized_integrated_gradients(
            model, self._neighbour_index(int(neighbours)), ids.cpu(), _moving_mask(moving, ids),
            int(baseline_token_id), arguments.extras, strategy, int(anchors), int(upscale),
            target_arg(target, ids.shape[0]), output, batch_size_arg(internal_batch_size))
        return pack(values, reports, counts, return_convergence_delta, return_report)
