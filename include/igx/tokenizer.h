#pragma once
// BERT WordPiece tokenizer: the tokenisation of HuggingFace's BertTokenizer (BasicTokenizer +
// WordpieceTokenizer) reading a BERT `vocab.txt`, without any dependency.
//
// Pipeline, as in BERT:
//  1. The text must be valid UTF-8 (igx::Error naming the byte offset of the first bad byte).
//  2. Cleaning: NUL, U+FFFD and control/format characters (Unicode category C*) are removed;
//     whitespace (\t \n \r, Zs, U+2028/U+2029) becomes a word boundary. Note that \v, \f and
//     U+0085 are control characters for BERT: removed, not boundaries.
//  3. CJK ideographs (BERT's ranges) become words of their own.
//  4. If lower-casing: lower-case, then strip accents (NFD, then drop combining marks Mn).
//  5. Punctuation characters become words of their own.
//  6. WordPiece: greedy longest-match-first with `##` continuation pieces; a word longer than
//     100 code points, or one that cannot be fully segmented, becomes a single [UNK].
//
// Unicode coverage (BERT uses Python's full Unicode database; igx carries compact tables):
//  - Lower-casing: ASCII, Latin-1, Latin Extended-A, the accented letters of Latin Extended-B
//    and Latin Extended Additional, Greek (U+0386-U+03AB, with the final-sigma rule), Cyrillic
//    (U+0400-U+052F), Armenian, fullwidth Latin. Other letters are left as they are.
//  - Accent stripping: the precomposed letters of Latin-1, Latin Extended-A/B and Latin Extended
//    Additional (Vietnamese), monotonic Greek, Cyrillic (ё й ў ї ...), and Hangul syllables
//    (into jamo, as NFD does); combining marks (Mn) are dropped in the Combining Diacritical
//    Marks blocks, Cyrillic, Hebrew and Arabic. Other precomposed letters (polytonic Greek,
//    Japanese kana with voicing marks) and other scripts' marks (Indic vowel signs) are kept.
//  - Punctuation: ASCII (BERT's rule, which includes $ + < = > ^ ` | ~), the P* characters of
//    Latin-1, Greek, Armenian, Hebrew, Arabic, Devanagari, General Punctuation, Supplemental
//    Punctuation, CJK Symbols and Punctuation, Katakana, CJK vertical/small forms and fullwidth
//    ASCII. Symbols outside ASCII (€ © °) are not punctuation for BERT either.
//  - Control characters: C0/C1 controls, the format characters (Cf) and private-use areas;
//    unassigned code points, which BERT also removes, are kept.
//  - No NFC composition: a cased tokenizer (lowercase = false) sees the text as written.
//  - Strings such as "[CLS]" inside the text are tokenised as ordinary text ("[", "cls", "]"),
//    as BERT's original tokenizer does, so user text cannot inject special tokens.

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace igx {

/// The vocabulary entries with a special role. BERT's names by default; a model trained with
/// other names (RoBERTa's <s> </s> <pad> <unk> <mask>) declares them in igx.json.
struct SpecialTokens {
  std::string pad = "[PAD]";    ///< fills texts to a common length; the default text baseline
  std::string unk = "[UNK]";    ///< stands for a word WordPiece cannot segment
  std::string cls = "[CLS]";    ///< opens every text
  std::string sep = "[SEP]";    ///< closes every text
  std::string mask = "[MASK]";  ///< the mask baseline and Sequential IG's
};

/// A tokenised text ready for a BERT-style model: [CLS] pieces [SEP].
struct Encoding {
  std::vector<std::string> tokens;  ///< WordPiece tokens, specials included
  std::vector<int64_t> ids;         ///< vocabulary id of each token
  std::vector<int> word_ids;        ///< basic-tokenizer word of each token, -1 for specials
  /// [begin, end) bytes of each token in the text ({0, 0} for specials); an [UNK] covers its word
  std::vector<std::pair<size_t, size_t>> offsets;
  bool truncated = false;  ///< true when pieces were dropped to fit max_length
};

/// BERT WordPiece tokenizer over a `vocab.txt` (one token per line, id = 0-based line number).
class WordPieceTokenizer {
 public:
  /// Longest word, in code points, that WordPiece segments; longer words become [UNK].
  static constexpr size_t kMaxCharsPerWord = 100;
  /// Largest vocabulary file read (BERT's is 230 KB; multilingual ones a few MB).
  static constexpr size_t kMaxVocabularyBytes = size_t{64} << 20;

  /// Reads a vocabulary; throws igx::Error naming the path if it is unreadable, a folder, larger
  /// than kMaxVocabularyBytes, or empty.
  static WordPieceTokenizer from_file(const std::string& vocab_path, bool lowercase = true);

  /// The words of BERT's basic tokenisation (steps 1-5), before WordPiece.
  std::vector<std::string> basic_tokenize(const std::string& text) const;

  /// WordPiece tokens of the text, without special tokens. Empty for blank text.
  std::vector<std::string> tokenize(const std::string& text) const;

  /// [CLS] pieces [SEP], at most max_length tokens: trailing pieces are cut, [SEP] is kept.
  /// Throws igx::Error if max_length < 2.
  Encoding encode(const std::string& text, size_t max_length) const;

  int64_t token_to_id(const std::string& token) const;  ///< throws igx::Error if absent
  const std::string& id_to_token(int64_t id) const;     ///< throws igx::Error if out of range

  // Special tokens, looked up by name; igx::Error if the vocabulary lacks the one asked for.
  int64_t pad_id() const;   ///< [PAD]
  int64_t unk_id() const;   ///< [UNK]
  int64_t cls_id() const;   ///< [CLS]
  int64_t sep_id() const;   ///< [SEP]
  int64_t mask_id() const;  ///< [MASK]
  const SpecialTokens& special_tokens() const { return special_tokens_; }
  /// Uses `tokens` as the special tokens from now on (they are looked up when asked for).
  void set_special_tokens(SpecialTokens tokens) { special_tokens_ = std::move(tokens); }

  size_t vocab_size() const { return tokens_.size(); }
  bool lowercase() const { return lowercase_; }
  const std::string& vocab_path() const { return vocab_path_; }

 private:
  WordPieceTokenizer(std::string vocab_path, std::vector<std::string> tokens, bool lowercase);
  int64_t special_id(const std::string& token, const char* role) const;

  std::string vocab_path_;
  std::vector<std::string> tokens_;               ///< id -> token
  /// token -> id; a token listed twice keeps its last line, as in BERT
  std::unordered_map<std::string, int64_t> ids_;
  bool lowercase_;
  SpecialTokens special_tokens_;
};

/// Throws igx::Error if the encoding holds no piece besides the specials: the text was empty,
/// blank, or only control characters. The tokenizer itself accepts such text.
void require_tokens(const Encoding& encoding, const std::string& text);

/// Scores summed per word, for word-level attributions.
struct WordScores {
  std::vector<std::string> words;  ///< pieces joined without their `##`
  std::vector<double> scores;      ///< sum of the scores of the word's pieces
};

/// Groups WordPiece tokens into words (a `##` piece continues the previous token) and sums
/// their scores. Special tokens stay words of their own. Throws igx::Error on a size mismatch.
WordScores sum_scores_by_word(const std::vector<std::string>& tokens,
                              const std::vector<double>& scores);

}  // namespace igx
