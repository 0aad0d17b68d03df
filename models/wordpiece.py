"""BERT WordPiece tokenisation (reference implementation) and a WordPiece vocabulary learner.

The tokenizer reproduces BERT's BasicTokenizer + WordpieceTokenizer (as in Google's
tokenization.py and Hugging Face's BertTokenizer) so that igx's C++ tokenizer can be tested
against it (tests/data/wordpiece_golden.json) and so that vocabularies of exported BERT-family
models work unchanged:

1. clean: drop U+0000, U+FFFD and control characters (Unicode category C*, except tab, newline
   and carriage return); map whitespace (space, \\t, \\n, \\r, category Zs) to a space.
2. put spaces around CJK ideographs, so that each one becomes a word.
3. split on whitespace; lower-case each word and strip accents (NFD, drop category Mn).
4. split each word into runs of non-punctuation and single punctuation characters
   (ASCII 33-47, 58-64, 91-96, 123-126, and Unicode categories P*).
5. WordPiece: greedy longest-match-first against the vocabulary, continuation pieces prefixed
   with "##"; a word of more than 100 characters (code points), or one that cannot be covered
   completely, becomes a single [UNK].

The learner is the one Hugging Face's WordPiece trainer uses: byte-pair-style merges over the
words of the training text, starting from single characters (first character of a word bare,
the others "##c"), each merge adding the most frequent adjacent pair as a new piece.
"""

import collections
import heapq
import unicodedata

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
# Characters every learnt vocabulary covers, however rare in the training text: printable ASCII
# and the typographic symbols of ordinary modern prose (the 2002 mail corpus hardly has them).
BASE_CHARACTERS = "".join(chr(c) for c in range(33, 127)) + "\u00a3\u00a9\u00ae\u00b0\u00b1\u00d7\u00f7\u00a7\u2022\u2013\u2014\u2018\u2019\u201c\u201d\u2026\u20ac\u2122"
MAX_INPUT_CHARS_PER_WORD = 100
CONTINUATION = "##"


def is_whitespace(char: str) -> bool:
    if char in (" ", "\t", "\n", "\r"):
        return True
    return unicodedata.category(char) == "Zs"


def is_control(char: str) -> bool:
    # Tab, newline and carriage return are Cc but count as whitespace.
    if char in ("\t", "\n", "\r"):
        return False
    return unicodedata.category(char).startswith("C")


def is_punctuation(char: str) -> bool:
    # ASCII symbols such as "$", "^", "`" are not Unicode P* but BERT splits on them too.
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def is_cjk(cp: int) -> bool:
    """CJK Unified Ideographs blocks, as BERT defines them (not Hangul, Hiragana or Katakana)."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def clean_text(text: str) -> str:
    out = []
    for char in text:
        cp = ord(char)
        if cp == 0 or cp == 0xFFFD or is_control(char):
            continue
        out.append(" " if is_whitespace(char) else char)
    return "".join(out)


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def split_on_punctuation(word: str) -> list:
    pieces = []
    current = []
    for char in word:
        if is_punctuation(char):
            if current:
                pieces.append("".join(current))
                current = []
            pieces.append(char)
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def basic_tokenize(text: str, lowercase: bool = True) -> list:
    """BERT's BasicTokenizer: the list of words WordPiece then splits further."""
    text = clean_text(text)
    text = "".join(f" {c} " if is_cjk(ord(c)) else c for c in text)
    words = []
    for word in text.split():
        if lowercase:
            word = strip_accents(word.lower())
        words.extend(split_on_punctuation(word))
    return words


def wordpiece(word: str, vocab, unk_token: str = "[UNK]") -> list:
    """Greedy longest-match-first split of one word into vocabulary pieces."""
    if len(word) > MAX_INPUT_CHARS_PER_WORD:
        return [unk_token]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        piece = None
        while start < end:
            candidate = word[start:end] if start == 0 else CONTINUATION + word[start:end]
            if candidate in vocab:
                piece = candidate
                break
            end -= 1
        if piece is None:
            return [unk_token]
        pieces.append(piece)
        start = end
    return pieces


class WordPieceTokenizer:
    """BERT tokenizer over a vocab.txt (one token per line, id = line number)."""

    def __init__(self, vocab: list, lowercase: bool = True, unk_token: str = "[UNK]"):
        self.vocab = list(vocab)
        self.ids = {token: i for i, token in enumerate(self.vocab)}
        self.lowercase = lowercase
        self.unk_token = unk_token

    @classmethod
    def from_file(cls, path, lowercase: bool = True):
        with open(path, encoding="utf-8") as f:
            return cls([line.rstrip("\n") for line in f], lowercase=lowercase)

    def tokenize(self, text: str) -> list:
        tokens = []
        for word in basic_tokenize(text, self.lowercase):
            tokens.extend(wordpiece(word, self.ids, self.unk_token))
        return tokens

    def convert_tokens_to_ids(self, tokens: list) -> list:
        unk = self.ids[self.unk_token]
        return [self.ids.get(t, unk) for t in tokens]

    def encode(self, text: str, max_length: int) -> list:
        """Model input ids: [CLS] tokens [SEP], word pieces truncated to fit max_length."""
        ids = self.convert_tokens_to_ids(self.tokenize(text))[: max_length - 2]
        return [self.ids["[CLS]"]] + ids + [self.ids["[SEP]"]]


def _merge(left: str, right: str) -> str:
    return left + right[len(CONTINUATION):]


def learn_vocab(texts, vocab_size: int = 8000, min_char_documents: int = 5,
                min_word_count: int = 2, lowercase: bool = True) -> list:
    """Learns a WordPiece vocabulary of at most vocab_size tokens from training texts.

    Order: the special tokens ([PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4); then, sorted,
    BASE_CHARACTERS and every character seen in at least min_char_documents texts, each with
    its "##" form (so any word made of known characters tokenises without [UNK]); then merged
    pieces in the order they were learnt. Rarer characters become [UNK]: a single Chinese or
    Korean spam brings hundreds of code points that would otherwise take entries from real
    words. Words seen fewer than min_word_count times (hashes, ids, base64 debris) do not vote
    for merges. Deterministic: ties go to the lexicographically smaller pair.
    """
    word_counts = collections.Counter()
    char_documents = collections.Counter()
    for text in texts:
        words = basic_tokenize(text, lowercase)
        word_counts.update(words)
        char_documents.update(set("".join(words)))
    alphabet = {c for c, n in char_documents.items() if n >= min_char_documents}
    alphabet = sorted(alphabet | set("".join(basic_tokenize(BASE_CHARACTERS, lowercase))))
    vocab = list(SPECIAL_TOKENS)
    vocab += alphabet + [CONTINUATION + c for c in alphabet]
    known = set(vocab)
    if len(vocab) > vocab_size:
        raise ValueError(f"vocab_size {vocab_size} is smaller than the {len(vocab)} special tokens and characters")

    # Each word as a list of symbols; only words made entirely of alphabet characters.
    alphabet_set = set(alphabet)
    words, counts = [], []
    for word, count in sorted(word_counts.items()):
        if count >= min_word_count and len(word) > 1 and set(word) <= alphabet_set:
            words.append([word[0]] + [CONTINUATION + c for c in word[1:]])
            counts.append(count)

    pair_counts = collections.Counter()
    pair_words = collections.defaultdict(set)  # pair -> indices of words containing it
    for index, symbols in enumerate(words):
        for pair in zip(symbols, symbols[1:]):
            pair_counts[pair] += counts[index]
            pair_words[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)

    while len(vocab) < vocab_size and heap:
        negative_count, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative_count:
            continue  # stale entry: the count changed after it was pushed
        if negative_count == 0:
            break
        merged = _merge(*pair)
        if merged not in known:
            vocab.append(merged)
            known.add(merged)
        changed = collections.Counter()
        for index in sorted(pair_words.pop(pair)):
            symbols, count = words[index], counts[index]
            for old in zip(symbols, symbols[1:]):
                changed[old] -= count
            merged_symbols = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
                    merged_symbols.append(merged)
                    i += 2
                else:
                    merged_symbols.append(symbols[i])
                    i += 1
            words[index] = merged_symbols
            for new in zip(merged_symbols, merged_symbols[1:]):
                changed[new] += count
                pair_words[new].add(index)
        for changed_pair, delta in changed.items():
            if delta == 0:
                continue
            pair_counts[changed_pair] += delta
            if pair_counts[changed_pair] <= 0:
                del pair_counts[changed_pair]
            else:
                heapq.heappush(heap, (-pair_counts[changed_pair], changed_pair))
        pair_counts.pop(pair, None)
    return vocab
