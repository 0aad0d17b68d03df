#!/usr/bin/python3
"""Checks the shipped model bundles the way igx uses them: loads each model.pt with
torch.jit.load in this (fresh) process, calls every method igx.json names, and verifies the
properties igx relies on. Exits non-zero on the first failure.

Usage: /usr/bin/python3 models/check_bundles.py
(With .cache/data present it also re-measures the recorded test accuracies.)
"""

import json
import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import torch

import wordpiece

ROOT = Path(__file__).resolve().parent.parent
TOLERANCE = 1e-5


def check(condition: bool, message: str):
    if not condition:
        sys.exit(f"FAIL: {message}")
    print(f"ok: {message}")


def batch_encode(tokenizer, texts, max_length):
    sequences = [tokenizer.encode(t, max_length) for t in texts]
    length = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), length, dtype=torch.int64)
    mask = torch.zeros_like(ids)
    for i, s in enumerate(sequences):
        ids[i, : len(s)] = torch.tensor(s)
        mask[i, : len(s)] = 1
    return ids, mask


def check_text_bundle(bundle_dir: Path):
    meta = json.loads((bundle_dir / "igx.json").read_text())
    model = torch.jit.load(str(bundle_dir / "model.pt"))
    methods = meta["methods"]
    forward, embed = getattr(model, methods["forward"]), getattr(model, methods["embed"])
    forward_embeds = getattr(model, methods["forward_embeds"])
    matrix = getattr(model, methods["embedding_matrix"])()

    vocab = (bundle_dir / meta["tokenizer"]["vocab"]).read_text(encoding="utf-8").split("\n")[:-1]
    check(len(vocab) == matrix.size(0) == meta["vocab_size"], f"vocab.txt has {len(vocab)} tokens = rows of the embedding matrix")
    specials = {"pad": "[PAD]", "unk": "[UNK]", "cls": "[CLS]", "sep": "[SEP]", "mask": "[MASK]"}
    check(all(vocab[meta["special_tokens"][k]] == v for k, v in specials.items()), "special token ids match vocab.txt")

    tokenizer = wordpiece.WordPieceTokenizer(vocab, lowercase=meta["tokenizer"]["lowercase"])
    texts = ["Congratulations! You have WON a free cruise, click here now",
             "Re: the meeting moved to Thursday, see the minutes attached",
             "short"]
    ids, mask = batch_encode(tokenizer, texts, meta["max_length"])
    with torch.no_grad():
        logits = forward(ids, mask)
        embeds = embed(ids)
        via_embeds = forward_embeds(embeds, mask)
    check(tuple(logits.shape) == (3, len(meta["labels"])), f"forward gives logits {tuple(logits.shape)}")
    check(tuple(embeds.shape) == (3, ids.size(1), meta["embedding_dim"]), f"embed gives {tuple(embeds.shape)}")
    difference = float((logits - via_embeds).abs().max())
    check(difference <= TOLERANCE, f"forward == forward_embeds(embed(ids)) (max diff {difference:.2e})")
    check(torch.equal(embeds[0, 0], matrix[ids[0, 0]]), "embed rows are rows of word_embeddings()")
    check(bool((embed(torch.zeros(1, 1, dtype=torch.int64)) == 0).all()), "the [PAD] embedding is zero")

    # The short text alone (no padding) must score as it does padded inside the batch.
    alone_ids, alone_mask = batch_encode(tokenizer, texts[2:], meta["max_length"])
    with torch.no_grad():
        alone = forward(alone_ids, alone_mask)
    difference = float((alone[0] - logits[2]).abs().max())
    check(difference <= TOLERANCE, f"padding does not change the logits (max diff {difference:.2e})")

    # Arbitrary embeddings: finite gradients, none flowing to padded positions.
    points = torch.randn(embeds.shape, requires_grad=True)
    forward_embeds(points, mask)[:, 1].sum().backward()
    gradient = points.grad
    check(bool(torch.isfinite(gradient).all()) and float(gradient[mask == 1].abs().sum()) > 0,
          "forward_embeds is differentiable at arbitrary points")
    check(float(gradient[mask == 0].abs().max()) == 0.0, "padded positions get zero gradient")

    test_split = ROOT / ".cache/data/spam/test.jsonl"
    if test_split.exists():
        rows = [json.loads(line) for line in test_split.read_text(encoding="utf-8").splitlines()]
        correct = 0
        for start in range(0, len(rows), 64):
            chunk = rows[start:start + 64]
            ids, mask = batch_encode(tokenizer, [r["text"] for r in chunk], meta["max_length"])
            with torch.no_grad():
                predictions = forward(ids, mask).argmax(1)
            correct += int((predictions == torch.tensor([r["label"] for r in chunk])).sum())
        measured = round(correct / len(rows), 5)
        check(measured == meta["metrics"]["test_accuracy"] and len(rows) == meta["metrics"]["test_examples"],
              f"test accuracy {measured} on {len(rows)} messages as recorded")


def read_png_grey(path: Path) -> np.ndarray:
    """Reads the 8-bit greyscale, filter-0 PNGs that train_mnist_cnn.py writes."""
    data = path.read_bytes()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is a PNG")
    position, idat = 8, b""
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        body = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        position += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), dtype=np.uint8).reshape(height, width + 1)
    if not (depth == 8 and colour == 0 and (rows[:, 0] == 0).all()):
        sys.exit(f"FAIL: {path.name} is not an 8-bit greyscale filter-0 PNG")
    return rows[:, 1:]


def check_image_bundle(bundle_dir: Path):
    meta = json.loads((bundle_dir / "igx.json").read_text())
    model = torch.jit.load(str(bundle_dir / "model.pt"))
    forward = getattr(model, meta["methods"]["forward"])
    features = getattr(model, meta["layers"]["features"]["method"])
    head = getattr(model, meta["layers"]["head"]["method"])
    mean, std = meta["normalization"]["mean"][0], meta["normalization"]["std"][0]
    scale = meta["normalization"]["pixel_scale"]

    samples = json.loads((bundle_dir / "samples/samples.json").read_text())
    pixels = np.stack([read_png_grey(bundle_dir / "samples" / s["file"]) for s in samples])
    x = ((torch.from_numpy(pixels).float() / scale - mean) / std).unsqueeze(1)
    check(list(x.shape[1:]) == meta["input_shape"], f"sample input shape {list(x.shape[1:])}")
    with torch.no_grad():
        logits = forward(x)
        h = features(x)
        split = head(h)
    check(list(h.shape[1:]) == meta["layers"]["features"]["output_shape"], f"features gives {list(h.shape[1:])}")
    difference = float((logits - split).abs().max())
    check(difference <= TOLERANCE, f"forward == head(features(x)) (max diff {difference:.2e})")
    predicted = logits.argmax(1).tolist()
    check(predicted == [s["predicted"] for s in samples], f"sample predictions as recorded ({sum(p == s['label'] for p, s in zip(predicted, samples))}/{len(samples)} correct)")

    test_images = ROOT / ".cache/data/mnist/test.npy"
    if test_images.exists():
        images = torch.from_numpy(np.load(test_images)).float()
        labels = torch.from_numpy(np.load(ROOT / ".cache/data/mnist/test_labels.npy"))
        with torch.no_grad():
            predictions = forward(((images / scale - mean) / std).unsqueeze(1)).argmax(1)
        measured = round(float((predictions == labels).float().mean()), 5)
        check(measured == meta["metrics"]["test_accuracy"] and len(labels) == meta["metrics"]["test_examples"],
              f"test accuracy {measured} on {len(labels)} images as recorded")


def main():
    torch.set_num_threads(2)
    check_text_bundle(ROOT / "models/spam-transformer")
    check_text_bundle(ROOT / "models/spam-bert")
    check_image_bundle(ROOT / "models/mnist-cnn")
    print("all bundle checks passed")


if __name__ == "__main__":
    main()
