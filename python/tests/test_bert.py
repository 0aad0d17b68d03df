"""A BERT classifier with Hugging Face's layout (models/hf_bert.py): LayerIntegratedGradients on the
word embeddings, IntegratedGradients on precomputed embeddings, the scripted twin, and certified
examples recomputed independently."""

import pytest
import torch

import igx


def logits_of_ids(model):
    return lambda ids, mask: model(ids, mask)["logits"]


def logits_of_embeddings(model):
    # Hugging Face's inputs_embeds path: forward(input_ids=None, attention_mask, token_type_ids, inputs_embeds)
    return lambda embeddings, mask: model(None, mask, None, embeddings)["logits"]


def test_layer_ig_on_word_embeddings_equals_ig_on_precomputed_embeddings(tiny_bert, bert_batch):
    ids, mask, baseline_ids, _ = bert_batch
    word_embeddings = tiny_bert.bert.embeddings.word_embeddings
    layer_values, layer_report = igx.LayerIntegratedGradients(logits_of_ids(tiny_bert), word_embeddings).attribute(
        ids, baselines=baseline_ids, additional_forward_args=(mask,), n_steps=64, return_report=True)
    with torch.no_grad():
        embeddings, baseline_embeddings = word_embeddings(ids), word_embeddings(baseline_ids)
    values, report = igx.IntegratedGradients(logits_of_embeddings(tiny_bert)).attribute(
        embeddings, baselines=baseline_embeddings, additional_forward_args=(mask,), n_steps=64, return_report=True)
    assert layer_values.shape == (3, 8, 32)
    assert torch.equal(layer_values, values)
    assert layer_report == report
    # [CLS], [SEP] and padding sit at their own embedding on the baseline: no attribution.
    assert torch.count_nonzero(layer_values[ids == 2]) == 0


def test_scripted_bundle_wrapper_is_the_twin_of_the_module(tiny_bert, bert_batch):
    from hf_bert import IgxTextWrapper

    ids, mask, baseline_ids, _ = bert_batch
    scripted = torch.jit.script(IgxTextWrapper(tiny_bert))
    with torch.no_grad():
        embeddings, baseline_embeddings = scripted.embed(ids), scripted.embed(baseline_ids)
    arguments = dict(baselines=baseline_embeddings, additional_forward_args=mask, tolerance=0.01, return_report=True)
    eager, eager_report = igx.IntegratedGradients(logits_of_embeddings(tiny_bert)).attribute(embeddings, **arguments)
    in_cpp, cpp_report = igx.IntegratedGradients(scripted.forward_embeds).attribute(embeddings, **arguments)
    assert torch.allclose(eager, in_cpp, rtol=1e-5, atol=1e-6)
    assert [e.steps for e in eager_report] == [e.steps for e in cpp_report]
    assert [e.target for e in eager_report] == [e.target for e in cpp_report]


def test_fixed_steps_miss_and_certified_examples_are_within_tolerance(tiny_bert, bert_batch):
    ids, mask, baseline_ids, _ = bert_batch
    tolerance = 0.005
    lig = igx.LayerIntegratedGradients(logits_of_ids(tiny_bert), tiny_bert.bert.embeddings.word_embeddings)
    _, fixed = lig.attribute(ids, baselines=baseline_ids, additional_forward_args=(mask,), return_report=True)
    assert max(e.relative_error for e in fixed) > 0.1  # Captum's default, 50 Gauss-Legendre steps, misses
    values, report = lig.attribute(ids, baselines=baseline_ids, additional_forward_args=(mask,),
                                   tolerance=tolerance, max_steps=4096, return_report=True)
    assert report.certified
    # Recompute F independently: the full model on the ids, no igx involved.
    with torch.no_grad():
        at_input = tiny_bert(ids, mask)["logits"].double()
        at_baseline = tiny_bert(baseline_ids, mask)["logits"].double()
    for b, example in enumerate(report):
        assert example.target == int(at_input[b].argmax())
        f_input, f_baseline = at_input[b, example.target].item(), at_baseline[b, example.target].item()
        assert example.output_input == pytest.approx(f_input, abs=1e-5)
        assert example.output_baseline == pytest.approx(f_baseline, abs=1e-5)
        gap = f_input - f_baseline
        # float32 model: allow the rounding of the recomputation on top of the tolerance
        assert abs(gap) > 0.1
        assert abs(values[b].double().sum().item() - gap) <= tolerance * abs(gap) + 1e-5
        assert example.error_bound <= tolerance


def test_probability_output_and_explicit_targets(tiny_bert, bert_batch):
    ids, mask, baseline_ids, _ = bert_batch
    values, report = igx.LayerIntegratedGradients(logits_of_ids(tiny_bert), tiny_bert.bert.embeddings.word_embeddings) \
        .attribute(ids, baselines=baseline_ids, target=torch.tensor([0, 1, 2]), additional_forward_args=(mask,),
                   tolerance=0.01, output="prob", return_report=True)
    with torch.no_grad():
        probabilities = torch.softmax(tiny_bert(ids, mask)["logits"].double(), dim=1)
    for b, example in enumerate(report):
        assert example.target == b
        assert example.output_input == pytest.approx(probabilities[b, b].item(), abs=1e-6)
        assert example.certified


def test_layer_input_attribution_equals_layer_output_of_the_previous_layer(tiny_bert, bert_batch):
    # The input of the first encoder layer is the output of the embeddings module.
    ids, mask, baseline_ids, _ = bert_batch
    forward = logits_of_ids(tiny_bert)
    arguments = dict(baselines=baseline_ids, additional_forward_args=(mask,), n_steps=16)
    to_input = igx.LayerIntegratedGradients(forward, tiny_bert.bert.encoder.layer[0]).attribute(
        ids, attribute_to_layer_input=True, **arguments)
    of_output = igx.LayerIntegratedGradients(forward, tiny_bert.bert.embeddings).attribute(ids, **arguments)
    assert torch.allclose(to_input, of_output, rtol=1e-5, atol=1e-6)


def test_sequential_ig_per_token_completeness(tiny_bert, bert_batch):
    ids, mask, _, moving = bert_batch
    mask_token = 3
    values, report = igx.SequentialIntegratedGradients(logits_of_ids(tiny_bert), tiny_bert.bert.embeddings.word_embeddings) \
        .attribute(ids, baselines=mask_token, additional_forward_args=(mask,), moving=moving, tolerance=0.01,
                   return_report=True)
    assert values.shape == (3, 8, 32)
    with torch.no_grad():
        logits = tiny_bert(ids, mask)["logits"].double()
    for b, example in enumerate(report):
        positions = [token.position for token in example.tokens]
        assert positions == [t for t in range(8) if moving[b, t]]
        for token in example.tokens:
            # gap_t = F(x) - F(x with token t at [MASK]), recomputed here
            masked = ids[b:b + 1].clone()
            masked[0, token.position] = mask_token
            with torch.no_grad():
                at_masked = tiny_bert(masked, mask[b:b + 1])["logits"].double()[0, example.target].item()
            gap = logits[b, example.target].item() - at_masked
            assert token.report.output_baseline == pytest.approx(at_masked, abs=1e-5)
            assert token.report.attribution_sum == pytest.approx(values[b, token.position].double().sum().item(), abs=1e-5)
            assert token.report.certified
            assert abs(token.report.attribution_sum - gap) <= 0.01 * abs(gap) + 1e-5
        assert torch.count_nonzero(values[b][~moving[b]]) == 0


def test_discretized_ig_completeness_against_the_pad_baseline(tiny_bert, bert_batch):
    ids, mask, baseline_ids, moving = bert_batch
    dig = igx.DiscretizedIntegratedGradients(logits_of_ids(tiny_bert), tiny_bert.bert.embeddings.word_embeddings)
    values, delta, report = dig.attribute(ids, baseline_token_id=0, additional_forward_args=(mask,), moving=moving,
                                          anchors=10, neighbours=20, return_convergence_delta=True, return_report=True)
    with torch.no_grad():
        at_input = tiny_bert(ids, mask)["logits"].double()
        at_baseline = tiny_bert(baseline_ids, mask)["logits"].double()
    for b, example in enumerate(report):
        gap = at_input[b, example.target].item() - at_baseline[b, example.target].item()
        assert example.output_input - example.output_baseline == pytest.approx(gap, abs=1e-5)
        assert delta[b].item() == pytest.approx(values[b].double().sum().item() - gap, abs=1e-4)
        assert example.steps == 12  # (m + 1) u + 1 points
        assert 0 <= example.relative_error <= example.error_bound * (1 + 1e-12)  # the bound cannot count on cancelling
    greedy_again = dig.attribute(ids, baseline_token_id=0, additional_forward_args=(mask,), moving=moving,
                                 anchors=10, neighbours=20)
    assert torch.equal(values, greedy_again)
