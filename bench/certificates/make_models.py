"""Builds the saturated BERT-architecture test models of the certificate benchmark and exports them.

Each model is models/hf_bert.py's BertForSequenceClassification (Hugging Face's module layout:
embeddings / encoder / pooler / classifier, the `inputs_embeds` path) with random weights,
word embeddings scaled up so that the path from the zero baseline moves the network, and the
attention query/key and feed-forward weights of every layer and the classifier scaled with
hf_bert.saturate, so that attention and the output softmax saturate: probabilities near 0 and 1
that switch over short stretches of the IG path. This is the kind of model on which a fixed step
count, and a certificate that only looks at completeness, go wrong.

For each model MODEL (a folder under OUT) it writes
  model.pt     TorchScript, forward(embeds [B, T, D] float32) -> logits [B, 2] (every token
               attended; the attribution space is the word-embedding space, as for igx text bundles)
  inputs.npy   [N, T, D] float32: the word embeddings of N random token sequences (the inputs)
  model.json   how it was made (seed, sizes, scales), for the record
The baseline is zero (the [PAD] embedding of hf_bert's initialisation).

    /usr/bin/python3 bench/certificates/make_models.py OUT [--examples 20] [--tokens 16]
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "models"))
from hf_bert import BertConfig, BertForSequenceClassification, saturate  # noqa: E402

# name, seed, scale of attention/feed-forward weights, scale of the classifier
MODELS = [
    ("bert-sat16", 1, 16.0, 100.0),
    ("bert-sat32", 2, 32.0, 300.0),
    ("bert-sat8", 3, 8.0, 100.0),
]
WORD_EMBEDDING_SCALE = 5.0


class EmbedsClassifier(torch.nn.Module):
    """logits = BERT(inputs_embeds = embeds) with every token attended."""

    def __init__(self, model: BertForSequenceClassification):
        super().__init__()
        self.model = model

    def forward(self, embeds: torch.Tensor) -> torch.Tensor:
        return self.model.logits(None, None, None, embeds)


def build(seed: int, scale: float, classifier_scale: float, layers: int, hidden: int, vocab: int):
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=vocab, hidden_size=hidden, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=4 * hidden, num_labels=2)
    model = BertForSequenceClassification(config).eval()
    with torch.no_grad():
        model.bert.embeddings.word_embeddings.weight.mul_(WORD_EMBEDDING_SCALE)
    saturate(model, scale=scale, classifier_scale=classifier_scale)
    return model, config


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out")
    parser.add_argument("--examples", type=int, default=20, help="token sequences per model")
    parser.add_argument("--tokens", type=int, default=16, help="tokens per sequence")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--vocab", type=int, default=1000)
    parser.add_argument("--models", default=",".join(name for name, *_ in MODELS), help="which of the models")
    args = parser.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    chosen = set(args.models.split(","))
    for name, seed, scale, classifier_scale in MODELS:
        if name not in chosen:
            continue
        folder = os.path.join(args.out, name)
        os.makedirs(folder, exist_ok=True)
        model, config = build(seed, scale, classifier_scale, args.layers, args.hidden, args.vocab)
        generator = torch.Generator().manual_seed(1000 + seed)
        ids = torch.randint(1, args.vocab, (args.examples, args.tokens), generator=generator)
        with torch.no_grad():
            inputs = model.bert.embeddings.word_embeddings(ids).float()
        scripted = torch.jit.script(EmbedsClassifier(model))
        path = os.path.join(folder, "model.pt")
        scripted.save(path)
        reloaded = torch.jit.load(path)
        with torch.no_grad():
            assert torch.allclose(reloaded(inputs), model.logits(None, None, None, inputs), atol=1e-5)
        np.save(os.path.join(folder, "inputs.npy"), inputs.numpy())
        with open(os.path.join(folder, "model.json"), "w") as f:
            json.dump({"name": name, "seed": seed, "attention_feed_forward_scale": scale,
                       "classifier_scale": classifier_scale, "word_embedding_scale": WORD_EMBEDDING_SCALE,
                       "layers": args.layers, "hidden": args.hidden, "vocab": args.vocab,
                       "examples": args.examples, "tokens": args.tokens, "baseline": "zero",
                       "layout": "models/hf_bert.py BertForSequenceClassification"}, f, indent=1)
        print(f"{folder}: {args.examples} inputs [{args.tokens}, {args.hidden}]", file=sys.stderr)


if __name__ == "__main__":
    main()
