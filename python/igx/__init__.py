"""igx: Integrated Gradients with a measured, controlled numerical error, for PyTorch models.

The API follows Captum's, so code ports by changing the import::

    from igx import IntegratedGradients          # was: from captum.attr import IntegratedGradients
    ig = IntegratedGradients(model)
    attributions, delta = ig.attribute(x, target=3, return_convergence_delta=True)

and adds per-example error control: ``ig.attribute(x, target=3, tolerance=0.01,
return_report=True)`` integrates each example until its completeness error is certified within
1 % (or says it could not) and returns the report.

Bundles (a shipped model by name, a bundle folder, a TorchScript file) go through the library's
explanation service, as `igx explain` does::

    explanation = igx.load_bundle("spam-transformer").explain("win a free cruise", tolerance=0.001)
    explanation.tokens, explanation.scores, explanation.report, explanation.to_html()
"""

import torch  # first: the extension needs torch's libraries and Python types loaded

from . import _C
from ._C import Error, __version__
from .attr import (
    DistributionIntegratedGradients,
    ExpectedGradients,
    GradientShap,
    InputXGradient,
    IntegratedGradients,
    NoiseTunnel,
    Saliency,
)
from .bundle import Bundle, ExampleExplanation, Explanation, explain_options, load_bundle
from .layer import InternalInfluence, LayerConductance, LayerIntegratedGradients, NeuronConductance
from .report import ExampleReport, Report, TokenReport
from .runtime import set_num_threads
from .text import DiscretizedIntegratedGradients, SequentialIntegratedGradients

__all__ = [
    "Bundle",
    "DiscretizedIntegratedGradients",
    "DistributionIntegratedGradients",
    "Error",
    "ExampleExplanation",
    "ExampleReport",
    "ExpectedGradients",
    "Explanation",
    "GradientShap",
    "InputXGradient",
    "IntegratedGradients",
    "InternalInfluence",
    "LayerConductance",
    "LayerIntegratedGradients",
    "NeuronConductance",
    "NoiseTunnel",
    "Report",
    "Saliency",
    "SequentialIntegratedGradients",
    "TokenReport",
    "explain_options",
    "load_bundle",
    "set_num_threads",
]
