"""igx.load_bundle: the explanation service (include/igx/explainer.h) from Python. The results are
checked against the model run outside igx, and against `igx explain` (the same service from the
command line) where ctest names the build folder."""

import ctypes
import json
import os
import subprocess
import warnings
from pathlib import Path

import pytest
import torch

import igx
from conftest import SOURCE_DIR

SPAM = SOURCE_DIR / "models" / "spam-transformer"
MNIST = SOURCE_DIR / "models" / "mnist-cnn"
TEXTS = ["Congratulations, you WON a free cruise! Click here to claim your prize",
         "the seminar on numerical integration starts at three"]


@pytest.fixture(scope="module")
def spam():
    return igx.load_bundle(str(SPAM))


@pytest.fixture(scope="module")
def scripted_spam():
    return torch.jit.load(str(SPAM / "model.pt")).eval()


def test_a_text_is_explained_to_its_tolerance_recomputed_outside_igx(spam, scripted_spam):
    tolerance = 1e-3
    explanation = spam.explain(TEXTS[0], tolerance=tolerance)
    assert spam.modality == "text" and len(explanation) == 1
    assert explanation.tokens[0] == "[CLS]" and explanation.tokens[-1] == "[SEP]"
    assert "free" in explanation.tokens and "##ise" in explanation.tokens  # WordPiece: cr ##u ##ise
    example, report = explanation.examples[0], explanation.report[0]
    assert len(explanation.scores) == len(explanation.tokens) == len(example.token_ids)
    assert explanation.attributions.shape == (1, len(explanation.tokens), 64)
    # F(x) and F(x') recomputed with the bundle's TorchScript methods: the baseline is [PAD] at every
    # ordinary token, [CLS] and [SEP] stay.
    ids = torch.tensor([example.token_ids])
    mask = torch.ones_like(ids)
    baseline_ids = ids.clone()
    baseline_ids[0, 1:-1] = 0
    with torch.no_grad():
        at_input = scripted_spam.forward(ids, mask).double()[0]
        at_baseline = scripted_spam.forward_embeds(scripted_spam.embed(baseline_ids), mask).double()[0]
    assert example.prediction == int(at_input.argmax()) == report.target
    assert example.prediction_label == ["ham", "spam"][example.prediction] == example.target_label
    assert example.probability == pytest.approx(torch.softmax(at_input, 0)[example.prediction].item(), abs=1e-6)
    gap = at_input[report.target].item() - at_baseline[report.target].item()
    assert report.output_input == pytest.approx(at_input[report.target].item(), abs=1e-5)
    assert report.output_baseline == pytest.approx(at_baseline[report.target].item(), abs=1e-5)
    assert report.certified and report.error_bound <= tolerance
    assert sum(explanation.scores) == pytest.approx(report.attribution_sum, abs=1e-6)
    assert abs(sum(explanation.scores) - gap) <= tolerance * abs(gap) + 1e-5
    assert explanation.scores == pytest.approx(explanation.attributions[0].double().sum(-1).tolist(), abs=1e-6)


def test_the_html_page_shows_every_token_with_its_score(spam):
    explanation = spam.explain(TEXTS[1], steps=16, words=True)
    page = explanation.to_html()
    assert page.startswith("<!DOCTYPE html>") and "igx: " in page
    example = explanation.examples[0]
    assert example.words and len(example.words) == len(example.word_scores) < len(example.tokens) + 1
    assert page.count('class="igx-token"') == len(example.words)  # words=True: the page shows words
    for word in example.words[1:-1]:
        assert word in page
    assert explanation._repr_html_() == page


def test_short_texts_get_the_probabilities_the_training_script_recorded(spam):
    # The training script records P(spam) of hand-written everyday texts and of the README's demo
    # text, computed with the Python tokenizer on the model in training; igx (C++ WordPiece, the
    # exported TorchScript) must give the same on these short texts, and the demo text is spam.
    meta = json.loads((SPAM / "igx.json").read_text())
    recorded = meta["everyday_texts"]
    explanation = spam.explain([item["text"] for item in recorded], method="saliency")
    for item, example in zip(recorded, explanation.examples):
        p_spam = example.probability if example.prediction == 1 else 1.0 - example.probability
        assert p_spam == pytest.approx(item["p_spam"], abs=2e-5), item["text"]
    demo = spam.explain("Congratulations! You have WON a free cruise. Click here to claim your prize now",
                        method="saliency").examples[0]
    assert demo.prediction_label == "spam" and demo.probability == pytest.approx(meta["metrics"]["demo_text_p_spam"], abs=2e-5)


def test_several_texts_with_ids_and_the_json_schema(spam):
    explanation = spam.explain(TEXTS, ids=["a", "b"], method="riemann_middle", steps=8, target=[1, 0])
    data = explanation.to_dict()
    assert data["schema"] == "igx.explanation/1" and data["modality"] == "text"
    assert [e["id"] for e in data["examples"]] == ["a", "b"] == [e.id for e in explanation.examples]
    assert [e.target for e in explanation.report] == [1, 0]
    assert [e.steps for e in explanation.report] == [8, 8]
    assert explanation.counts["gradient_rows"] == 16
    assert json.loads(explanation.to_json()) == data
    with pytest.raises(ValueError, match="has 2 examples"):
        explanation.tokens
    assert "explaining class" in str(explanation)  # the summary lines of the C++ library


def test_sequential_ig_reports_every_token(spam):
    explanation = spam.explain(TEXTS[1], method="sig", tolerance=0.01)
    report = explanation.report[0]
    moving = [t for t, token in enumerate(explanation.tokens) if token not in ("[CLS]", "[SEP]")]
    assert [token.position for token in report.tokens] == moving
    for token in report.tokens:
        assert token.report.certified
        assert token.report.attribution_sum == pytest.approx(explanation.scores[token.position], abs=1e-6)


def test_bad_requests_raise_value_errors_naming_the_option(spam):
    with pytest.raises(ValueError, match="anchors"):
        spam.explain(TEXTS[0], anchors=10)  # DIG's option without DIG
    with pytest.raises(ValueError, match="tolerance"):
        spam.explain(TEXTS[0], tolerance=-1)
    with pytest.raises(ValueError, match="no_such_option|no-such-option"):
        spam.explain(TEXTS[0], no_such_option=3)
    with pytest.raises(ValueError, match="expected a text or a non-empty list of texts"):
        spam.explain(torch.zeros(1, 3))
    with pytest.raises(ValueError, match="explanation has no token heat-map|text explanation"):
        igx.load_bundle(str(MNIST)).explain(torch.zeros(1, 1, 28, 28), steps=4).to_html()
    with pytest.raises(ValueError, match="no-such-bundle"):
        igx.load_bundle("no-such-bundle")


def test_image_bundle_takes_pixels_and_a_tensor_baseline():
    mnist = igx.load_bundle(str(MNIST))
    generator = torch.Generator().manual_seed(0)
    pixels = torch.rand(2, 1, 28, 28, generator=generator)
    baseline = torch.full((1, 28, 28), 0.25)
    explanation = mnist.explain(pixels, baseline=baseline, tolerance=0.01)
    assert mnist.modality == "image" and explanation.attributions.shape == (2, 1, 28, 28)
    # The bundle's network takes normalised pixels (igx.json: (pixel - mean) / std); igx applies it.
    normalization = json.loads((MNIST / "igx.json").read_text())["normalization"]
    scripted = torch.jit.load(str(MNIST / "model.pt")).eval().double()

    def network(p):
        return scripted((p.double() - normalization["mean"][0]) / normalization["std"][0])

    with torch.no_grad():
        at_input, at_baseline = network(pixels), network(baseline.unsqueeze(0))
    for b, report in enumerate(explanation.report):
        gap = at_input[b, report.target].item() - at_baseline[0, report.target].item()
        assert report.certified
        assert abs(explanation.attributions[b].double().sum().item() - gap) <= 0.01 * abs(gap) + 1e-5


def loaded_openblas():
    """OpenBLAS as this process runs it, or None when it runs another BLAS."""
    try:
        return ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD)
    except OSError:
        return None


def test_set_num_threads_sizes_torch_and_openblas_as_the_cli_does():
    openblas = loaded_openblas()
    threads = torch.get_num_threads()
    try:
        assert igx.set_num_threads(1) == 1
        assert torch.get_num_threads() == 1
        if openblas is not None:
            assert openblas.openblas_get_num_threads() == 1
        every_core = igx.set_num_threads(0)
        assert every_core == torch.get_num_threads() >= 1
        if openblas is not None:
            assert openblas.openblas_get_num_threads() == every_core
    finally:
        igx.set_num_threads(threads)


def test_set_num_threads_beyond_the_cores_warns_and_caps_as_the_cli_does():
    threads = torch.get_num_threads()
    cores = len(os.sched_getaffinity(0))
    try:
        with pytest.warns(UserWarning, match=rf"set_num_threads\({cores + 3}\) is more than the {cores} cores here; "
                                             rf"using {cores} .*force=True"):
            assert igx.set_num_threads(cores + 3) == cores
        assert torch.get_num_threads() == cores
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # at the cores, or forced beyond them: no warning
            assert igx.set_num_threads(cores) == cores
            assert igx.set_num_threads(cores + 1, force=True) == cores + 1
        assert torch.get_num_threads() == cores + 1
        with pytest.raises(igx.Error, match="thread count must be 0 .* got -1"):
            igx.set_num_threads(-1)
    finally:
        igx.set_num_threads(threads)


@pytest.mark.skipif("IGX_CMAKE_BUILD_DIR" not in os.environ, reason="run by ctest, which names its build folder")
def test_the_same_request_gives_what_igx_explain_writes(spam, tmp_path):
    options = ["--method", "sig", "--tolerance", "0.005", "--words", "--threads", "1"]
    cli = Path(os.environ["IGX_CMAKE_BUILD_DIR"]) / "igx"
    subprocess.run([str(cli), "explain", "--model", str(SPAM), TEXTS[0], *options, "--out-dir", str(tmp_path / "out")],
                   check=True, capture_output=True)
    from_cli = json.loads((tmp_path / "out" / "explanation.json").read_text())
    threads = torch.get_num_threads()
    igx.set_num_threads(1)  # what --threads 1 sets: LibTorch's and OpenBLAS's pools
    try:
        explanation = spam.explain(TEXTS[0], method="sig", tolerance=0.005, words=True)
    finally:
        igx.set_num_threads(threads)
    from_python = explanation.to_dict()
    for data in (from_cli, from_python):
        data["run"].pop("seconds")
    assert from_python == from_cli
    assert explanation.to_html() == (tmp_path / "out" / "explanation.html").read_text()
