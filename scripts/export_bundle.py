#!/usr/bin/env python3
"""Turns a PyTorch classifier into an igx model bundle and checks the result (docs/bundles.md).

Run it with the Python that has torch (on Debian: /usr/bin/python3, torch 1.13, the version igx's
LibTorch loads):

    # A text classifier: a function in a Python file returns the nn.Module (weights loaded).
    /usr/bin/python3 scripts/export_bundle.py text --model my_model.py:load_model \\
        --vocab vocab.txt --labels ham,spam --out my-bundle
    # A Hugging Face checkpoint folder (needs the `transformers` package).
    /usr/bin/python3 scripts/export_bundle.py text --hf-checkpoint path/to/checkpoint --out my-bundle
    # An image classifier; normalisation goes inside the exported model.
    /usr/bin/python3 scripts/export_bundle.py image --model my_cnn.py:load --input-shape 3,32,32 \\
        --mean 0.49,0.48,0.45 --std 0.25,0.24,0.26 --labels-file labels.txt --split features:classifier \\
        --out my-bundle

From Python: `export_text(model, vocab_path, out_dir, labels=...)`, `export_image(model, out_dir,
input_shape=..., labels=...)`.

A text bundle exports forward(input_ids, attention_mask), embed(input_ids) (the word embeddings
only: the attribution space), forward_embeds(embeds, attention_mask) and word_embeddings() [V, D].
forward_embeds goes through the model's `inputs_embeds` argument when its forward has one (as
Hugging Face models do); otherwise the word-embedding layer's output is replaced by the given
embeddings (a forward hook, so the export is traced). The wrapper is scripted when the model is
scriptable and traced (`torch.jit.trace_module`, every method) when it is not. A model returning a
dict (or an object with `.logits`) gives its `logits`; a tuple, its first element.

Checks, on the saved and reloaded model.pt, refusing the bundle when one fails:
 - forward equals the original model on probe texts, at a length the trace did not see;
 - forward(ids) equals forward_embeds(embed(ids)); embed(ids) are rows of word_embeddings();
 - the vocabulary has one line per row of the embedding matrix; the special tokens are in it;
 - the labels are as many as the outputs; max_length tokens run (position embeddings).
The bundle is written to a temporary folder beside --out and moved into place only when every
check passes; an existing --out is never replaced without --force.
"""

import argparse
import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
for folder in (os.path.join(HERE, "..", "models"), HERE):  # the source tree, or an installed share/igx
    if os.path.exists(os.path.join(folder, "wordpiece.py")):
        sys.path.insert(0, folder)
        break
import wordpiece  # noqa: E402  (igx's reference WordPiece tokenizer)

ROLES = ("pad", "unk", "cls", "sep", "mask")
BERT_SPECIAL_TOKENS = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
PROBE_TEXTS = ["igx checks the exported model on these probe texts.",
               "A second, longer text: the quick brown fox jumps over the lazy dog, twice; then it rests."]
TOLERANCE = 1e-4  # relative to the size of the logits: float rounding differs between paths


class ExportError(Exception):
    """A model that cannot become a bundle, with what to change."""


def logits_of(output):
    """The logits in a model's output: a tensor, a dict's (or ModelOutput's) `logits`, a tuple's first."""
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, Mapping) and "logits" in output:
        return output["logits"]
    if hasattr(output, "logits"):
        return output.logits
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise ExportError(f"the model returns {type(output).__name__}; expected the logits as a tensor, a dict "
                      "with 'logits', or a tuple starting with them")


def output_kind(output) -> str:
    if isinstance(output, torch.Tensor):
        return "tensor"
    if isinstance(output, dict) and "logits" in output:
        return "dict"
    if isinstance(output, tuple):
        return "tuple"
    return "other"  # ModelOutput and the like: traced only


# --------------------------------------------------------------------------------------------
# Text


class _TextBundle(nn.Module):
    """embed and word_embeddings; the subclasses call the model and pick its logits. (Traced
    wrappers must not carry @torch.jit.export methods: the scriptable ones declare them again.)"""

    def __init__(self, model: nn.Module, word_embeddings: nn.Embedding):
        super().__init__()
        self.model = model
        self.word_embedding = word_embeddings

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.word_embedding(input_ids)

    def word_embeddings(self) -> torch.Tensor:
        return self.word_embedding.weight.detach()


class _ScriptableTextBundle(_TextBundle):
    @torch.jit.export
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.word_embedding(input_ids)

    @torch.jit.export
    def word_embeddings(self) -> torch.Tensor:
        return self.word_embedding.weight.detach()


class _TensorTextBundle(_ScriptableTextBundle):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask)

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=embeds, attention_mask=attention_mask)


class _DictTextBundle(_ScriptableTextBundle):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask)["logits"]

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=embeds, attention_mask=attention_mask)["logits"]


class _TupleTextBundle(_ScriptableTextBundle):
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids, attention_mask=attention_mask)[0]

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.model(inputs_embeds=embeds, attention_mask=attention_mask)[0]


class _AnyOutputTextBundle(_TextBundle):
    """For tracing: any output type, through inputs_embeds or through a hook that replaces the
    word-embedding layer's output by the given embeddings."""

    def __init__(self, model: nn.Module, word_embeddings: nn.Embedding, has_inputs_embeds: bool):
        super().__init__(model, word_embeddings)
        self.has_inputs_embeds = has_inputs_embeds

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return logits_of(self.model(input_ids=input_ids, attention_mask=attention_mask))

    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.has_inputs_embeds:
            return logits_of(self.model(inputs_embeds=embeds, attention_mask=attention_mask))
        placeholder_ids = torch.zeros(embeds.shape[:2], dtype=torch.long, device=embeds.device)
        handle = self.word_embedding.register_forward_hook(lambda module, inputs, output: embeds)
        try:
            return logits_of(self.model(input_ids=placeholder_ids, attention_mask=attention_mask))
        finally:
            handle.remove()


def find_word_embeddings(model: nn.Module, vocab_size: int, attribute: Optional[str]) -> nn.Embedding:
    """The word-embedding layer: `attribute` (a dotted path), get_input_embeddings(), or the one
    nn.Embedding with a row per vocabulary entry."""
    if attribute:
        layer = model
        for part in attribute.split("."):
            if not hasattr(layer, part):
                raise ExportError(f"the model has no attribute '{attribute}' (no '{part}')")
            layer = getattr(layer, part)
    elif hasattr(model, "get_input_embeddings"):
        layer = model.get_input_embeddings()
    else:
        candidates = [m for m in model.modules() if isinstance(m, nn.Embedding) and m.num_embeddings == vocab_size]
        if len(candidates) != 1:
            sizes = [m.num_embeddings for m in model.modules() if isinstance(m, nn.Embedding)]
            raise ExportError(f"cannot tell the word-embedding layer: {len(candidates)} nn.Embedding layers have "
                              f"{vocab_size} rows (the vocabulary's lines; the model's embeddings have {sizes} rows); "
                              "name it with --word-embeddings, e.g. embeddings.word_embeddings")
        layer = candidates[0]
    if not isinstance(layer, nn.Embedding):
        raise ExportError(f"the word-embedding layer is a {type(layer).__name__}; expected an nn.Embedding")
    if layer.num_embeddings != vocab_size:
        raise ExportError(f"the vocabulary has {vocab_size} lines but the word-embedding matrix has "
                          f"{layer.num_embeddings} rows; expected one row per vocabulary line (the vocab.txt "
                          "the model was trained with)")
    return layer


def resolve_special_tokens(vocab: List[str], declared: Optional[Dict[str, object]]) -> Dict[str, str]:
    """role -> token, from BERT's names or the declared ids or tokens; each must be in the vocabulary."""
    tokens = dict(BERT_SPECIAL_TOKENS)
    for role, value in (declared or {}).items():
        if role not in ROLES:
            raise ExportError(f"special token role '{role}' is unknown; expected one of {', '.join(ROLES)}")
        if isinstance(value, int):
            if not 0 <= value < len(vocab):
                raise ExportError(f"special token {role} is id {value}, outside the vocabulary (0 to {len(vocab) - 1})")
            value = vocab[value]
        tokens[role] = value
    present = set(vocab)
    for role in ("pad", "unk", "cls", "sep"):
        if tokens[role] not in present:
            raise ExportError(f"the vocabulary has no {tokens[role]} token ({role}); name the vocabulary's own with "
                              f"--special-tokens {role}=TOKEN")
    if tokens["mask"] not in present:
        del tokens["mask"]  # only the mask baseline and Sequential IG need one
    return tokens


def encode_texts(vocab: List[str], tokens: Dict[str, str], lowercase: bool, texts: Sequence[str],
                 max_length: int):
    """ids and attention mask [len(texts), longest], as igx encodes them."""
    tokenizer = wordpiece.WordPieceTokenizer(vocab, lowercase=lowercase, unk_token=tokens["unk"])
    ids = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))[: max_length - 2] for text in texts]
    ids = [[tokenizer.ids[tokens["cls"]]] + row + [tokenizer.ids[tokens["sep"]]] for row in ids]
    longest = max(len(row) for row in ids)
    pad = tokenizer.ids[tokens["pad"]]
    input_ids = torch.tensor([row + [pad] * (longest - len(row)) for row in ids], dtype=torch.long)
    mask = torch.tensor([[1] * len(row) + [0] * (longest - len(row)) for row in ids], dtype=torch.long)
    return input_ids, mask


def read_vocabulary(path: str) -> List[str]:
    with open(path, encoding="utf-8") as f:
        vocab = [line.rstrip("\n").rstrip("\r") for line in f]
    if not vocab:
        raise ExportError(f"vocabulary '{path}' is empty; expected one token per line")
    return vocab


def _close(a: torch.Tensor, b: torch.Tensor) -> float:
    """The largest difference, or inf for different shapes."""
    if a.shape != b.shape:
        return float("inf")
    return (a.double() - b.double()).abs().max().item()


def _tolerance(reference: torch.Tensor) -> float:
    return TOLERANCE * (1.0 + reference.abs().max().item())


def _script_or_trace(wrapper_for_script: Optional[nn.Module], wrapper_for_trace: nn.Module,
                     inputs: Dict[str, tuple], how: str, log):
    """(the TorchScript module, True when it was traced)."""
    if how in ("auto", "script") and wrapper_for_script is not None:
        try:
            return torch.jit.script(wrapper_for_script), False
        except Exception as error:  # TorchScript reports unsupported Python in many exception types
            if how == "script":
                raise ExportError(f"torch.jit.script failed: {str(error).splitlines()[0]}") from error
            log(f"export_bundle: the model is not scriptable ({str(error).strip().splitlines()[0]}); tracing it")
    elif how == "script":
        raise ExportError("this model can only be traced (its output or its embeddings path are not scriptable)")
    with torch.no_grad():
        return torch.jit.trace_module(wrapper_for_trace, inputs, check_trace=False), True


def check_text_bundle(folder: str, original: Optional[nn.Module] = None) -> Dict[str, float]:
    """Reloads a text bundle and checks it (see the module's docstring); ExportError on failure.
    Returns the measured differences."""
    with open(os.path.join(folder, "igx.json")) as f:
        config = json.load(f)
    vocab = read_vocabulary(os.path.join(folder, config["tokenizer"]["vocab"]))
    tokens = resolve_special_tokens(vocab, config.get("special_tokens"))
    module = torch.jit.load(os.path.join(folder, "model.pt"))
    module.eval()
    max_length = config["max_length"]
    # Probes at two lengths (the short one padded) and one of max_length tokens.
    long_text = " ".join(["igx probes this model."] * (max_length // 2 + 1))
    report = {}
    with torch.no_grad():
        for name, texts in (("probe", PROBE_TEXTS), ("max_length", [long_text, PROBE_TEXTS[0]])):
            ids, mask = encode_texts(vocab, tokens, config["tokenizer"]["lowercase"], texts, max_length)
            try:
                logits = module.forward(ids, mask)
            except Exception as error:
                raise ExportError(f"the exported forward fails on {ids.shape[1]} tokens "
                                  f"({str(error).strip().splitlines()[-1]}); if the model has fewer position "
                                  "embeddings, lower --max-length") from error
            if logits.dim() != 2 or logits.shape[0] != len(texts):
                raise ExportError(f"forward returns {tuple(logits.shape)} for {len(texts)} texts; expected "
                                  f"logits [{len(texts)}, classes]")
            if len(config["labels"]) != logits.shape[1]:
                raise ExportError(f"{len(config['labels'])} labels but the model gives {logits.shape[1]} outputs")
            embeds = module.embed(ids)
            via_embeds = module.forward_embeds(embeds, mask)
            difference = _close(via_embeds, logits)
            if not difference <= _tolerance(logits):
                raise ExportError(f"forward_embeds(embed(ids)) differs from forward(ids) by {difference:.4g} on the "
                                  f"{name} texts; embed must give the word embeddings only and forward_embeds "
                                  "must do all that forward does after them")
            report[f"forward_embeds_vs_forward_{name}"] = difference
            matrix = module.word_embeddings()
            if matrix.shape[0] != len(vocab):
                raise ExportError(f"word_embeddings() has {matrix.shape[0]} rows but the vocabulary {len(vocab)} lines")
            if _close(matrix[ids], embeds) > 1e-6:
                raise ExportError("embed(ids) are not the rows of word_embeddings() for those ids")
            if original is not None:
                reference = logits_of(original(input_ids=ids, attention_mask=mask))
                difference = _close(logits, reference)
                if not difference <= _tolerance(reference):
                    raise ExportError(f"the exported forward differs from the original model by {difference:.4g} on "
                                      f"the {name} texts ({ids.shape[1]} tokens); a traced model may have kept a "
                                      "shape or a branch of the example inputs: make the model scriptable")
                report[f"export_vs_original_{name}"] = difference
    return report


def export_text(model: nn.Module, vocab_path: str, out_dir: str, labels: Optional[List[str]] = None,
                max_length: Optional[int] = None, lowercase: bool = True,
                special_tokens: Optional[Dict[str, object]] = None, word_embeddings: Optional[str] = None,
                name: Optional[str] = None, how: str = "auto", force: bool = False, log=print) -> dict:
    """Exports `model` (forward(input_ids=..., attention_mask=...) -> logits, a dict or a tuple) as
    a text bundle in `out_dir`; returns its igx.json. `how`: auto, script or trace."""
    model.eval()
    vocab = read_vocabulary(vocab_path)
    tokens = resolve_special_tokens(vocab, special_tokens)
    embedding = find_word_embeddings(model, len(vocab), word_embeddings)
    model_config = getattr(model, "config", None)
    if max_length is None:  # BERT's 512, or fewer when the model has fewer position embeddings
        positions = [m.num_embeddings for name, m in model.named_modules()
                     if isinstance(m, nn.Embedding) and name.endswith("position_embeddings")]
        max_length = min([getattr(model_config, "max_position_embeddings", 512), 512] + positions)
    if max_length < 3:
        raise ExportError(f"max_length {max_length} is below 3; expected room for [CLS], a token and [SEP]")
    if labels is None:
        id2label = getattr(model_config, "id2label", None)
        labels = [str(id2label[i]) for i in range(len(id2label))] if id2label else None
    ids, mask = encode_texts(vocab, tokens, lowercase, PROBE_TEXTS[:1] + PROBE_TEXTS[:1], max_length)
    token_ids = {token: i for i, token in enumerate(vocab)}  # a token listed twice keeps its last line, as in BERT
    mask[1, ids.shape[1] // 2:] = 0  # the second row padded, so both mask values are traced
    ids[1, ids.shape[1] // 2:] = token_ids[tokens["pad"]]
    with torch.no_grad():
        output = model(input_ids=ids, attention_mask=mask)
    logits = logits_of(output)
    if labels is None:
        labels = [str(i) for i in range(logits.shape[1])]
        log(f"export_bundle: no labels given; naming the {len(labels)} classes 0..{len(labels) - 1}")
    if logits.dim() != 2 or len(labels) != logits.shape[1]:
        raise ExportError(f"{len(labels)} labels but the model gives logits {tuple(logits.shape)} for 2 texts; "
                          "expected one label per output")

    has_inputs_embeds = "inputs_embeds" in inspect.signature(model.forward).parameters
    scriptable_kinds = {"tensor": _TensorTextBundle, "dict": _DictTextBundle, "tuple": _TupleTextBundle}
    script_class = scriptable_kinds.get(output_kind(output)) if has_inputs_embeds else None
    with torch.no_grad():
        embeds = embedding(ids)
    exported, traced = _script_or_trace(
        script_class(model, embedding) if script_class else None,
        _AnyOutputTextBundle(model, embedding, has_inputs_embeds),
        {"forward": (ids, mask), "embed": (ids,), "forward_embeds": (embeds, mask), "word_embeddings": ()},
        how, log)

    config = {
        "name": name or os.path.basename(os.path.normpath(out_dir)),
        "task": "text",
        "labels": labels,
        "max_length": max_length,
        "tokenizer": {"type": "wordpiece", "vocab": "vocab.txt", "lowercase": lowercase},
        "special_tokens": {role: token_ids[token] for role, token in tokens.items()},
        "methods": {"forward": "forward", "embed": "embed", "forward_embeds": "forward_embeds",
                    "embedding_matrix": "word_embeddings"},
        "embedding_dim": embedding.embedding_dim,
        "vocab_size": len(vocab),
        "export": {"script": "scripts/export_bundle.py", "traced": traced,
                   "forward_embeds_via": "inputs_embeds" if has_inputs_embeds else "word-embedding hook",
                   "torch_version": torch.__version__},
    }

    def write(folder):
        exported.save(os.path.join(folder, "model.pt"))
        shutil.copyfile(vocab_path, os.path.join(folder, "vocab.txt"))
        with open(os.path.join(folder, "igx.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
        config["export"]["checks"] = check_text_bundle(folder, model)
        with open(os.path.join(folder, "igx.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")

    _write_bundle(out_dir, force, write)
    return config


# --------------------------------------------------------------------------------------------
# Image


class _LogitsOnly(nn.Module):
    """A model whose output is a dict or a tuple, reduced to its logits (traced only)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return logits_of(self.model(x))


class _ImageBundle(nn.Module):
    """forward(pixels in [0, 1]) with the normalisation inside."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float]):
        super().__init__()
        self.model = model
        channels = len(mean)
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, channels, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, channels, 1, 1))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.model((pixels - self.mean) / self.std)


class _SplitImageBundle(_ImageBundle):
    """Also features(pixels) and head(hidden), with head(features(x)) == forward(x)."""

    def __init__(self, model: nn.Module, mean: Sequence[float], std: Sequence[float], features: nn.Module,
                 head: nn.Module):
        super().__init__(model, mean, std)
        self.feature_layers = features
        self.head_layers = head

    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.feature_layers((pixels - self.mean) / self.std)

    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head_layers(hidden)


class _ScriptableSplitImageBundle(_SplitImageBundle):
    @torch.jit.export
    def features(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.feature_layers((pixels - self.mean) / self.std)

    @torch.jit.export
    def head(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.head_layers(hidden)


def check_image_bundle(folder: str, original: Optional[nn.Module] = None, mean=None, std=None) -> Dict[str, float]:
    with open(os.path.join(folder, "igx.json")) as f:
        config = json.load(f)
    module = torch.jit.load(os.path.join(folder, "model.pt"))
    module.eval()
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand([3] + config["input_shape"], generator=generator)
    report = {}
    with torch.no_grad():
        logits = module.forward(pixels)
        if logits.dim() != 2 or logits.shape[0] != 3:
            raise ExportError(f"forward returns {tuple(logits.shape)} for 3 images; expected logits [3, classes]")
        if len(config["labels"]) != logits.shape[1]:
            raise ExportError(f"{len(config['labels'])} labels but the model gives {logits.shape[1]} outputs")
        if "split_point" in config:
            layers = config["layers"]
            composed = getattr(module, layers["head"]["method"])(getattr(module, layers["features"]["method"])(pixels))
            report["head_of_features_vs_forward"] = _close(composed, logits)
            if not report["head_of_features_vs_forward"] <= _tolerance(logits):
                raise ExportError(f"head(features(x)) differs from forward(x) by {report['head_of_features_vs_forward']:.4g}; "
                                  "the split must cover the whole model")
        if original is not None:
            normalized = (pixels - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)
            reference = logits_of(original(normalized))
            report["export_vs_original"] = _close(logits, reference)
            if not report["export_vs_original"] <= _tolerance(reference):
                raise ExportError(f"the exported forward differs from the original model by "
                                  f"{report['export_vs_original']:.4g}")
    return report


def export_image(model: nn.Module, out_dir: str, input_shape: Sequence[int], labels: Optional[List[str]] = None,
                 mean: Optional[Sequence[float]] = None, std: Optional[Sequence[float]] = None,
                 split: Optional[str] = None, name: Optional[str] = None, how: str = "auto", force: bool = False,
                 log=print) -> dict:
    """Exports an image classifier (model(normalised [B, C, H, W]) -> logits) as a bundle whose
    forward takes pixels in [0, 1]. `split` "FEATURES:HEAD" names two attributes with
    head(features(x)) == model(x), for igx's layer attributions."""
    model.eval()
    input_shape = list(input_shape)
    if len(input_shape) != 3 or input_shape[0] not in (1, 3):
        raise ExportError(f"input shape {input_shape} is not [C, H, W] with C = 1 or 3")
    channels = input_shape[0]
    mean = list(mean) if mean is not None else [0.0] * channels
    std = list(std) if std is not None else [1.0] * channels
    if len(mean) != channels or len(std) != channels or not all(s > 0 for s in std):
        raise ExportError(f"mean {mean} and std {std} must have one value per channel ({channels}), std > 0")
    example = torch.rand([2] + input_shape, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        if not isinstance(model((example - torch.tensor(mean).view(1, -1, 1, 1)) / torch.tensor(std).view(1, -1, 1, 1)),
                          torch.Tensor):
            model = _LogitsOnly(model)  # a dict or a tuple: its logits, traced
    wrapper = scriptable = _ImageBundle(model, mean, std)
    if split:
        if split.count(":") != 1:
            raise ExportError(f"split '{split}' is not FEATURES:HEAD (two attribute names of the model)")
        names = split.split(":")
        for attribute in names:
            if not isinstance(getattr(model.model if isinstance(model, _LogitsOnly) else model, attribute, None),
                              nn.Module):
                raise ExportError(f"the model has no sub-module '{attribute}' (from --split {split})")
        owner = model.model if isinstance(model, _LogitsOnly) else model
        features, head = (getattr(owner, attribute) for attribute in names)
        wrapper = _SplitImageBundle(model, mean, std, features, head)
        scriptable = _ScriptableSplitImageBundle(model, mean, std, features, head)
    with torch.no_grad():
        logits = wrapper(example)
        hidden = wrapper.features(example) if split else None
    if labels is None:
        labels = [str(i) for i in range(logits.shape[1])]
    methods = {"forward": (example,)}
    if split:
        methods.update({"features": (example,), "head": (hidden,)})
    exported, traced = _script_or_trace(None if isinstance(model, _LogitsOnly) else scriptable, wrapper, methods,
                                        how, log)
    config = {"name": name or os.path.basename(os.path.normpath(out_dir)), "task": "image", "labels": labels,
              "input_shape": input_shape, "methods": {"forward": "forward"},
              "export": {"script": "scripts/export_bundle.py", "traced": traced,
                         "normalization_inside": {"mean": mean, "std": std},
                         "torch_version": torch.__version__}}
    if split:
        config["layers"] = {"features": {"method": "features", "output_shape": list(hidden.shape[1:])},
                            "head": {"method": "head"}}
        config["split_point"] = "features"

    def write(folder):
        exported.save(os.path.join(folder, "model.pt"))
        with open(os.path.join(folder, "igx.json"), "w") as f:
            json.dump(config, f, indent=2)
        config["export"]["checks"] = check_image_bundle(folder, model, mean, std)
        with open(os.path.join(folder, "igx.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")

    _write_bundle(out_dir, force, write)
    return config


# --------------------------------------------------------------------------------------------
# Common


def _write_bundle(out_dir: str, force: bool, write) -> None:
    """Writes into a temporary folder beside out_dir, then moves it into place."""
    out_dir = os.path.normpath(out_dir)
    if os.path.exists(out_dir) and not force:
        raise ExportError(f"'{out_dir}' exists; choose another --out or pass --force to replace it")
    parent = os.path.dirname(os.path.abspath(out_dir))
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".igx-bundle-", dir=parent)
    try:
        write(staging)
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        os.rename(staging, out_dir)
    finally:
        if os.path.exists(staging):
            shutil.rmtree(staging)


def load_factory(spec: str) -> nn.Module:
    """FILE.py:FUNCTION -> FUNCTION() from that file."""
    path, _, function = spec.rpartition(":")
    if not path or not function or not os.path.isfile(path):
        raise ExportError(f"--model '{spec}' is not FILE.py:FUNCTION naming an existing file")
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    loader = importlib.util.spec_from_file_location(os.path.splitext(os.path.basename(path))[0], path)
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    if not hasattr(module, function):
        raise ExportError(f"'{path}' has no function '{function}'")
    model = getattr(module, function)()
    if not isinstance(model, nn.Module):
        raise ExportError(f"{spec}() returned {type(model).__name__}; expected a torch.nn.Module")
    return model


def export_hf_checkpoint(checkpoint: str, out_dir: str, **options) -> dict:
    """A Hugging Face sequence-classification checkpoint folder (needs `transformers`)."""
    try:
        import transformers
    except ImportError as error:
        raise ExportError("--hf-checkpoint needs the Python package 'transformers'; without it, build the model "
                          "yourself and pass --model FILE.py:FUNCTION (see docs/bundles.md)") from error
    model = transformers.AutoModelForSequenceClassification.from_pretrained(checkpoint)
    tokenizer = transformers.AutoTokenizer.from_pretrained(checkpoint)
    with tempfile.TemporaryDirectory() as folder:
        files = tokenizer.save_vocabulary(folder)
        vocab_files = [f for f in files if os.path.basename(f) == "vocab.txt"]
        if not vocab_files:
            raise ExportError(f"the checkpoint's tokenizer ({type(tokenizer).__name__}) has no WordPiece vocab.txt "
                              f"(it saves {[os.path.basename(f) for f in files]}); igx tokenizes with WordPiece only")
        special_tokens = {role: getattr(tokenizer, role + "_token") for role in ROLES
                          if getattr(tokenizer, role + "_token", None) is not None}
        options.setdefault("lowercase", bool(getattr(tokenizer, "do_lower_case", True)))
        options.setdefault("max_length", min(tokenizer.model_max_length, model.config.max_position_embeddings))
        return export_text(model, vocab_files[0], out_dir, special_tokens=special_tokens, **options)


def _list(text: Optional[str], kind=str):
    return None if text is None else [kind(item) for item in text.split(",")]


def _labels(arguments) -> Optional[List[str]]:
    if arguments.labels_file:
        with open(arguments.labels_file, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f if line.strip()]
    return _list(arguments.labels)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="task", required=True)
    for task in ("text", "image"):
        command = commands.add_parser(task, help=f"export a {task} classifier")
        command.add_argument("--out", required=True, metavar="DIR", help="the bundle folder to write")
        command.add_argument("--force", action="store_true", help="replace --out if it exists")
        command.add_argument("--labels", metavar="A,B,...", help="class names, in output order")
        command.add_argument("--labels-file", metavar="FILE", help="class names, one a line")
        command.add_argument("--name", help="the bundle's name (default: the folder's)")
        command.add_argument("--how", choices=["auto", "script", "trace"], default="auto",
                             help="torch.jit.script the wrapper, trace it, or script and trace if that fails (default)")
        if task == "text":
            source = command.add_mutually_exclusive_group(required=True)
            source.add_argument("--model", metavar="FILE.py:FUNCTION", help="a function returning the nn.Module")
            source.add_argument("--hf-checkpoint", metavar="DIR", help="a Hugging Face checkpoint (needs transformers)")
            command.add_argument("--vocab", metavar="FILE", help="the WordPiece vocab.txt the model was trained with")
            command.add_argument("--max-length", type=int, help="most tokens per text (default: the model's "
                                 "max_position_embeddings, at most 512)")
            command.add_argument("--cased", action="store_true", help="do not lower-case (a cased vocabulary)")
            command.add_argument("--special-tokens", metavar="ROLE=TOKEN,...",
                                 help="the vocabulary's special tokens when not BERT's [PAD] [UNK] [CLS] [SEP] [MASK], "
                                      "e.g. pad=<pad>,unk=<unk>,cls=<s>,sep=</s>,mask=<mask> (or ids: pad=1)")
            command.add_argument("--word-embeddings", metavar="ATTRIBUTE",
                                 help="the word-embedding nn.Embedding, e.g. bert.embeddings.word_embeddings "
                                      "(default: get_input_embeddings(), or the one with a row per vocabulary line)")
        else:
            command.add_argument("--model", required=True, metavar="FILE.py:FUNCTION",
                                 help="a function returning the nn.Module (it takes normalised images)")
            command.add_argument("--input-shape", required=True, metavar="C,H,W")
            command.add_argument("--mean", metavar="M1,...", help="per-channel normalisation mean (default 0)")
            command.add_argument("--std", metavar="S1,...", help="per-channel normalisation std (default 1)")
            command.add_argument("--split", metavar="FEATURES:HEAD",
                                 help="two sub-modules with head(features(x)) == model(x), for igx layer")
    arguments = parser.parse_args(argv)
    common = {"labels": _labels(arguments), "name": arguments.name, "how": arguments.how, "force": arguments.force}
    try:
        if arguments.task == "text":
            special_tokens = None
            if arguments.special_tokens:
                special_tokens = {}
                for item in arguments.special_tokens.split(","):
                    role, _, token = item.partition("=")
                    special_tokens[role] = int(token) if token.isdigit() else token
            options = dict(common, max_length=arguments.max_length, word_embeddings=arguments.word_embeddings)
            if arguments.hf_checkpoint:
                if special_tokens or arguments.vocab:
                    raise ExportError("--hf-checkpoint takes the vocabulary and special tokens from the checkpoint")
                if arguments.cased:
                    options["lowercase"] = False  # otherwise the checkpoint's tokenizer says
                config = export_hf_checkpoint(arguments.hf_checkpoint, arguments.out, **options)
            else:
                if not arguments.vocab:
                    raise ExportError("--model needs --vocab, the vocab.txt the model was trained with")
                config = export_text(load_factory(arguments.model), arguments.vocab, arguments.out,
                                     special_tokens=special_tokens, lowercase=not arguments.cased, **options)
        else:
            config = export_image(load_factory(arguments.model), arguments.out, _list(arguments.input_shape, int),
                                  mean=_list(arguments.mean, float), std=_list(arguments.std, float),
                                  split=arguments.split, **common)
    except ExportError as error:
        print(f"export_bundle: error: {error}", file=sys.stderr)
        return 1
    checks = ", ".join(f"{key} {value:.2g}" for key, value in config["export"]["checks"].items())
    print(f"export_bundle: wrote {arguments.out} ({config['task']}, {len(config['labels'])} labels); checks passed: "
          f"{checks}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
