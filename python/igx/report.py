"""The completeness report of every explained example."""

from dataclasses import asdict, dataclass
from typing import List, Optional


@dataclass(frozen=True)
class ExampleReport:
    """How well one example's attributions add up: sum(A) against F(x) - F(x')."""

    target: int  #: explained class
    output_input: float  #: F(x)
    output_baseline: float  #: F(x') (distribution baselines: the mean over them)
    attribution_sum: float  #: sum of the attributions (multiplied by x - x')
    delta: float  #: attribution_sum - (F(x) - F(x')), signed; NaN where completeness does not apply
    #: |delta| / |F(x) - F(x')|; None when |F(x) - F(x')| is too small to divide by
    relative_error: Optional[float]
    steps: int  #: gradient evaluations spent on this example
    #: tolerance given: whether the error bound is at most the tolerance (never True when not)
    certified: Optional[bool] = None
    #: tolerance given: the certified relative quantity (adaptive: sum of the panels' |errors| / |gap|)
    error_bound: Optional[float] = None
    #: error_bound in output units (defined even when the gap is too small for a relative error)
    absolute_error_bound: Optional[float] = None
    #: adaptive with attribution_tolerance: estimated relative L1 error of the attribution vector
    attribution_error: Optional[float] = None
    #: Sequential IG: the report of every moving token's own path
    tokens: Optional[List["TokenReport"]] = None
    #: Expected Gradients: standard error of attribution_sum over the samples
    sum_standard_error: Optional[float] = None

    def to_dict(self) -> dict:
        """The fields as a dict (token reports as dicts too), for JSON."""
        return asdict(self)


@dataclass(frozen=True)
class TokenReport:
    """Sequential IG: one token's own path, from the token at its baseline to the input."""

    position: int  #: the token's index in the sequence
    report: ExampleReport


class Report(list):
    """One ExampleReport per example, in order, and the engine's evaluation counts."""

    def __init__(self, examples, counts=None, standard_error=None):
        super().__init__(examples)
        #: rows the model was run on: {"gradient_rows", "forward_rows", "batches"}
        self.counts = dict(counts or {})
        #: Expected Gradients: the standard error of every attribution, shaped like them
        self.standard_error = standard_error

    @property
    def certified(self) -> bool:
        """True when every example is certified to the tolerance."""
        return len(self) > 0 and all(example.certified is True for example in self)

    @property
    def steps(self) -> int:
        """Gradient evaluations over all examples."""
        return sum(example.steps for example in self)

    def to_dicts(self) -> List[dict]:
        return [example.to_dict() for example in self]

    def __str__(self) -> str:
        lines = ["example  target        F(x)       F(x')       delta   rel.error  steps  certified"]
        for index, example in enumerate(self):
            relative = "undefined" if example.relative_error is None else f"{example.relative_error:.3e}"
            certified = "-" if example.certified is None else ("yes" if example.certified else "NO")
            lines.append(
                f"{index:7d}  {example.target:6d}  {example.output_input:10.5g}  {example.output_baseline:10.5g}  "
                f"{example.delta:10.3e}  {relative:>10}  {example.steps:5d}  {certified:>9}"
            )
        return "\n".join(lines)


def make_report(report_dicts, counts=None, token_dicts=None, sum_standard_error=None, standard_error=None) -> Report:
    """A Report from the engine's dicts (igx._C returns plain dicts), with Sequential IG's token
    reports or Expected Gradients' standard errors when given."""
    examples = []
    for index, fields in enumerate(report_dicts):
        if sum_standard_error is not None:
            fields = dict(fields, sum_standard_error=sum_standard_error[index])
        tokens = None
        if token_dicts is not None:
            tokens = []
            for token in token_dicts[index]:
                token = dict(token)
                position = token.pop("position")
                tokens.append(TokenReport(position=position, report=ExampleReport(**token)))
        examples.append(ExampleReport(**fields, tokens=tokens))
    return Report(examples, counts, standard_error)


__all__ = ["ExampleReport", "TokenReport", "Report"]
