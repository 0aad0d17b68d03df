"""Models explained through igx's explanation service (include/igx/explainer.h), the one the CLI
uses: a bundle by name or folder (texts, images) or a TorchScript file (tensors), requests with
the CLI's options under their Python names, and the explanation of schema igx.explanation/1.

    bundle = igx.load_bundle("spam-transformer")
    explanation = bundle.explain("win a free cruise", tolerance=0.001, words=True)
    explanation.tokens, explanation.scores, explanation.report
    open("explanation.html", "w").write(explanation.to_html())
"""

import json
import numbers
import os
from dataclasses import dataclass, field
from typing import List, Optional

import torch

from . import _C
from ._core import describe_value
from .report import make_report


def explain_options() -> List[dict]:
    """Every option of Bundle.explain: name, placeholder, default (as help shows it; "" when
    none) and help, in the order of `igx explain --help` (the same table)."""
    return _C.explain_options()


def load_bundle(model, *, entry: str = "forward", device="cpu") -> "Bundle":
    """A bundle by name (found as `igx explain` finds it: $IGX_MODEL_PATH, the installed models,
    the repository's models/), a bundle folder, or a TorchScript file (tensor inputs, method
    `entry` explained). `device`: where the model and the computation live."""
    if not isinstance(model, (str, os.PathLike)):
        raise ValueError(f"model is {describe_value(model)}; expected a bundle name, a bundle folder or a "
                         "TorchScript file")
    return Bundle(_C.Explainer.load(os.fspath(model), entry, str(torch.device(device))))


def _option_text(name, value) -> str:
    """An option's value as the command line writes it (igx::set_explain_option parses it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, str):
        return value
    if torch.is_tensor(value) and not value.is_floating_point() and value.dim() <= 1:
        value = value.reshape(-1).tolist()
    if isinstance(value, (list, tuple)) and value and all(
            isinstance(item, numbers.Integral) and not isinstance(item, bool) for item in value):
        return ",".join(str(int(item)) for item in value)
    raise ValueError(f"{name} is {describe_value(value)}; expected a string, a number, a bool or a list of integers")


class Bundle:
    """A model loaded by the explanation service. explain() may be called from several threads
    at once (the engine runs without the GIL)."""

    def __init__(self, explainer):
        self._explainer = explainer

    @property
    def name(self) -> str:
        """The bundle's name, or the model file."""
        return self._explainer.name

    @property
    def modality(self) -> str:
        """"text", "image" or "tensor": what explain() takes."""
        return self._explainer.modality

    def label(self, index: int) -> str:
        """The label of class `index` (bundles), or the index as text."""
        return self._explainer.label(int(index))

    def __repr__(self) -> str:
        return f"<igx.Bundle {self.name!r} ({self.modality})>"

    def explain(self, inputs, *, ids=None, baseline=None, baselines=None, **options) -> "Explanation":
        """Explains `inputs`: a text or a list of texts (text bundles); an image file, a list of
        them, or pixels [B, C, H, W] / [C, H, W] in [0, 1] (image bundles); a tensor [B, ...]
        (TorchScript files). `ids`: one string per input, carried to the result.

        `options` are `igx explain`'s, named with underscores: method, strategy, tolerance,
        certify, max_steps, initial_intervals, steps, batch_size, anchors, neighbours, upscale,
        expected_gradients, seed, target, output, words, layer, patch, neuron
        (igx.explain_options() lists them with their defaults). `baseline` and `baselines` are
        the options' text ("mask", "blur:3", "train:16") or, for images and tensors, tensors
        (x' as [B, ...] or [...]; a distribution [M, ...] or [B, M, ...]). An option that does
        not apply to the input or the method raises ValueError, as on the command line."""
        texts, paths, images, tensors = [], [], None, None
        modality = self.modality
        if modality == "text":
            texts = [inputs] if isinstance(inputs, str) else inputs
            if not isinstance(texts, (list, tuple)) or not texts or not all(isinstance(t, str) for t in texts):
                raise ValueError(f"inputs is {describe_value(inputs)}; expected a text or a non-empty list of texts "
                                 f"for the text bundle {self.name!r}")
            texts = list(texts)
        elif modality == "image":
            if torch.is_tensor(inputs):
                images = inputs.unsqueeze(0) if inputs.dim() == 3 else inputs
            else:
                paths = [inputs] if isinstance(inputs, (str, os.PathLike)) else inputs
                if not isinstance(paths, (list, tuple)) or not paths or not all(
                        isinstance(p, (str, os.PathLike)) for p in paths):
                    raise ValueError(f"inputs is {describe_value(inputs)}; expected an image file, a list of them, or "
                                     f"pixels [B, C, H, W] in [0, 1] for the image bundle {self.name!r}")
                paths = [os.fspath(p) for p in paths]
        else:
            if not torch.is_tensor(inputs):
                raise ValueError(f"inputs is {describe_value(inputs)}; expected a tensor [B, ...] for the model "
                                 f"{self.name!r}")
            tensors = inputs
        ids = [] if ids is None else ([ids] if isinstance(ids, str) else list(ids))
        if not all(isinstance(i, str) for i in ids):
            raise ValueError(f"ids is {describe_value(ids)}; expected one string per input")
        named = []
        for name, value in (("baseline", baseline), ("baselines", baselines), *options.items()):
            if value is None or (name in ("baseline", "baselines") and torch.is_tensor(value)):
                continue
            named.append((name, _option_text(name, value)))
        as_tensor = lambda value: value if torch.is_tensor(value) else None  # noqa: E731
        result = self._explainer.explain(texts, paths, images, tensors, ids, named, as_tensor(baseline),
                                         as_tensor(baselines))
        return Explanation(result, self.name)


@dataclass(frozen=True)
class ExampleExplanation:
    """One explained input: its report, its prediction, and what its modality adds."""

    index: int  #: position in the request
    report: "object"  #: igx.ExampleReport: F(x), F(x'), delta, relative error, steps, certified, bound
    prediction: int  #: the class the model predicts at the input
    id: Optional[str] = None  #: the request's id for it
    probability: Optional[float] = None  #: bundles: softmax probability of the prediction
    prediction_label: Optional[str] = None
    target_label: Optional[str] = None
    text: Optional[str] = None  #: texts: the text as given
    tokens: Optional[List[str]] = None  #: texts: WordPiece tokens, [CLS] and [SEP] included
    token_ids: Optional[List[int]] = None
    scores: Optional[List[float]] = None  #: texts: attributions summed over the embedding, one per token
    words: Optional[List[str]] = None  #: texts with words=True: ## pieces joined
    word_scores: Optional[List[float]] = None  #: texts with words=True: their summed scores
    truncated: bool = False  #: texts: only the beginning fitted the model
    image: Optional[str] = None  #: images: the file, when one was given
    fields: dict = field(default_factory=dict, repr=False)  #: the example's JSON object (igx.explanation/1)

    @property
    def target(self) -> int:
        """The explained class."""
        return self.report.target


class Explanation:
    """The service's answer to one request: attributions, one ExampleExplanation per input, and
    the JSON of schema igx.explanation/1 (docs/explanation-api.md)."""

    def __init__(self, result, model_name):
        self._result = result
        self._json = json.loads(result.json())
        self.modality = self._json["modality"]  #: "text", "image" or "tensor"
        self.run = self._json["run"]  #: model, method, output, baseline (in words), seconds
        #: texts [B, T, D] on the word embeddings; images [B, C, H, W]; tensors like the inputs
        self.attributions = result.attributions
        self.standard_errors = result.standard_errors  #: Expected Gradients: like attributions; else None
        token_reports = result.token_reports()
        sum_standard_errors = [fields.get("sum_standard_error") for fields in self._json["examples"]]
        #: igx.Report, one row per input (as attribute(..., return_report=True) gives)
        self.report = make_report(result.reports(), self._json["evaluations"],
                                  token_dicts=token_reports if any(token_reports) else None,
                                  sum_standard_error=sum_standard_errors if any(
                                      s is not None for s in sum_standard_errors) else None)
        self.examples = []
        for fields, report in zip(self._json["examples"], self.report):
            words = fields.get("words") or {}
            self.examples.append(ExampleExplanation(
                index=fields["index"], report=report, prediction=fields["prediction"], id=fields.get("id"),
                probability=fields.get("probability"), prediction_label=fields.get("prediction_label"),
                target_label=fields.get("target_label"), text=fields.get("text"), tokens=fields.get("tokens"),
                token_ids=fields.get("token_ids"), scores=fields.get("token_scores"), words=words.get("words"),
                word_scores=words.get("scores"), truncated=bool(fields.get("truncated", False)),
                image=fields.get("image"), fields=fields))
        self._model_name = model_name

    def _only(self, what):
        if len(self.examples) != 1:
            raise ValueError(f"this explanation has {len(self.examples)} examples; {what} is for one, use "
                             f".examples[i].{what}")
        return self.examples[0]

    @property
    def tokens(self) -> List[str]:
        """The tokens of the one text explained."""
        return self._only("tokens").tokens

    @property
    def scores(self) -> List[float]:
        """The token scores of the one text explained."""
        return self._only("scores").scores

    @property
    def counts(self) -> dict:
        """Model rows of the whole request: gradient_rows, forward_rows, batches."""
        return self.report.counts

    def to_dict(self) -> dict:
        """The explanation as JSON data, schema igx.explanation/1 (what `igx explain` writes)."""
        return json.loads(json.dumps(self._json))

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self._json, indent=indent)

    def to_html(self, title: Optional[str] = None) -> str:
        """Texts: a self-contained HTML page with a token heat-map per text (what `igx explain`
        writes to explanation.html). ValueError for images and tensors."""
        return self._result.html(title if title is not None else f"igx: {self._model_name}")

    def _repr_html_(self):  # Jupyter shows texts as their heat-map
        return self.to_html() if self.modality == "text" else None

    def __str__(self) -> str:
        return self._result.summary(10, 5)

    def __len__(self) -> int:
        return len(self.examples)

    def __repr__(self) -> str:
        return f"<igx.Explanation of {len(self.examples)} {self.modality} example(s), {self.run['method']}>"


__all__ = ["Bundle", "Explanation", "ExampleExplanation", "explain_options", "load_bundle"]
