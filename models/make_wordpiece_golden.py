#!/usr/bin/python3
"""Writes tests/data/wordpiece_golden.json: golden tokenisations for igx's C++ WordPiece
tokenizer, produced by the reference tokenizer in models/wordpiece.py with the shipped
models/spam-transformer/vocab.txt.

Usage: /usr/bin/python3 models/make_wordpiece_golden.py   (rerun whenever vocab.txt changes)
"""

import json
import unicodedata
from pathlib import Path

import wordpiece

ROOT = Path(__file__).resolve().parent.parent
VOCAB = "models/spam-transformer/vocab.txt"
OUTPUT = ROOT / "tests/data/wordpiece_golden.json"

CASES = [
    # ordinary text, case and punctuation
    "Hello, World!",
    "UPPERCASE and MixedCase Words",
    "FREE!!! Click here >>> NOW <<<",
    "Subject: Re: [ILUG] meeting at 10:30am",
    "e.g. i.e. etc.",
    "don't won't it's rock'n'roll",
    "unaffable preprocessing tokenization antidisestablishmentarianism",
    "We are pleased to inform you that your application has been approved.",
    # ASCII symbols that are not Unicode punctuation but BERT splits on anyway
    "a+b=c <tag> x^2 `code` ~tilde | pipe $5",
    # numbers, money, URLs, e-mail addresses, markup
    "Win $1,000,000 now!!! 100% FREE",
    "Call 1-800-555-0199 today",
    "3.14159 2002 0x1F 1st 2nd",
    "price: \u00a350 or \u20ac60 or \u00a570",
    "Visit http://www.example.com/path?query=1&x=y",
    "https://secure.bank-login.example.org/verify",
    "Contact john.doe@example.com for info",
    "<html><body>Buy now</body></html>",
    # accents: composed, decomposed, upper case
    "Caf\u00e9 Na\u00efve r\u00e9sum\u00e9",
    "cafe\u0301 (decomposed accent)",
    "\u00dcn\u00efc\u00f6d\u00e9 \u00c0\u00c9\u00ce\u00d5\u00dc",
    "\u00bfQu\u00e9 tal? \u00a1Hola!",
    "stra\u00dfe",
    "\u0391\u0398\u0397\u039d\u0391 \u0395\u03bb\u03bb\u03b7\u03bd\u03b9\u03ba\u03ac",
    "\u041c\u043e\u0441\u043a\u0432\u0430",
    "\u0130stanbul",
    # Unicode punctuation (category P*)
    "quotes \u201csmart\u201d and \u2018single\u2019 \u2014 dashes \u2013 ellipsis\u2026",
    # whitespace and control characters
    "multiple   spaces\tand\ttabs\nand\n\nnewlines\r\n",
    "tab\tseparated\tvalues",
    "hello\u00a0world",
    "zero\u200bwidth space",
    "co\u00adoperate",
    "private\ue000use",
    "nul\u0000and\ufffdreplacement",
    # CJK ideographs split into single characters; kana and Hangul do not
    "\u4e2d\u6587\u5b57\u7b26\u6d4b\u8bd5",
    "Hello\u4e16\u754c",
    "\u65e5\u672c\u8a9e\u3068\u30ab\u30bf\u30ab\u30ca",
    "\ud55c\uad6d\uc5b4 \ud14d\uc2a4\ud2b8",
    # emoji and a ligature (NFD does not decompose it)
    "I love it \U0001f600\U0001f389",
    "\ufb01nance",
    # word length limit: 100 code points are split, 101 become [UNK]
    "ab" * 50,
    "a" * 101,
    "short " + "x" * 101 + " end",
    # empty-ish input
    "",
    "   \t\n  ",
    "\u0000\u0001\u0002",
]

NOTE = (
    "Tokens of models/wordpiece.py (BERT BasicTokenizer + WordpieceTokenizer, lowercase=true) "
    "without [CLS]/[SEP] and without truncation; ids are line numbers of the vocab. Cleaning drops "
    "U+0000, U+FFFD and every Unicode category C* character except \\t \\n \\r (as Hugging Face's "
    "BertTokenizer does; Google's original drops only Cc and Cf), whitespace is ' ', \\t, \\n, \\r "
    "and category Zs. CJK ideographs (BERT's _is_chinese_char ranges; not kana, not Hangul) become "
    "single-character words. Lower-casing is Python str.lower(), then NFD with category Mn removed; "
    "NFD also decomposes Hangul syllables into conjoining jamo. Word length is counted in code "
    "points; more than 100 gives [UNK]. Unicode data version: {unicode}."
)


def main():
    tokenizer = wordpiece.WordPieceTokenizer.from_file(ROOT / VOCAB)
    cases = []
    for text in CASES:
        tokens = tokenizer.tokenize(text)
        cases.append({"text": text, "tokens": tokens, "ids": tokenizer.convert_tokens_to_ids(tokens)})
    golden = {"vocab": VOCAB, "note": NOTE.format(unicode=unicodedata.unidata_version), "cases": cases}
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(golden, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUTPUT}")


if __name__ == "__main__":
    main()
