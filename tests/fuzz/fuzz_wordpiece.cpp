// WordPiece tokenisation of arbitrary bytes with the shipped spam-transformer vocabulary: either
// igx::Error (invalid UTF-8) or an encoding whose ids, pieces and offsets are consistent.
#include <string>

#include "fuzz_target.h"
#include "igx/error.h"
#include "igx/tokenizer.h"

namespace {

const igx::WordPieceTokenizer& tokenizer(bool lowercase) {
  static const std::string vocabulary = std::string(IGX_FUZZ_SOURCE_DIR) + "/models/spam-transformer/vocab.txt";
  static const igx::WordPieceTokenizer lower = igx::WordPieceTokenizer::from_file(vocabulary, true);
  static const igx::WordPieceTokenizer cased = igx::WordPieceTokenizer::from_file(vocabulary, false);
  return lowercase ? lower : cased;
}

}  // namespace

IGX_FUZZ_TARGET(wordpiece) {
  if (size == 0) return 0;
  // The first byte chooses lower-casing and the length limit; the rest is the text.
  const bool lowercase = data[0] & 1;
  const size_t max_length = 2 + (data[0] >> 1);
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const igx::WordPieceTokenizer& words = tokenizer(lowercase);
  igx::Encoding encoding;
  try {
    encoding = words.encode(text, max_length);
  } catch (const igx::Error&) {
    return 0;
  }
  const size_t count = encoding.tokens.size();
  igx_fuzz_check(count >= 2 && count <= max_length);
  igx_fuzz_check(encoding.ids.size() == count && encoding.word_ids.size() == count && encoding.offsets.size() == count);
  igx_fuzz_check(encoding.ids.front() == words.cls_id() && encoding.ids.back() == words.sep_id());
  size_t previous_begin = 0;
  for (size_t k = 0; k < count; ++k) {
    igx_fuzz_check(encoding.ids[k] >= 0 && static_cast<size_t>(encoding.ids[k]) < words.vocab_size());
    igx_fuzz_check(words.id_to_token(encoding.ids[k]) == encoding.tokens[k]);
    const auto [begin, end] = encoding.offsets[k];
    igx_fuzz_check(begin <= end && end <= text.size());
    if (k > 0 && k + 1 < count) {  // pieces point into the text in order
      igx_fuzz_check(begin >= previous_begin && end > begin);
      previous_begin = begin;
    }
  }
  // Without the limit, tokenize() gives the pieces that encode() keeps (a prefix when cut).
  const std::vector<std::string> pieces = words.tokenize(text);
  igx_fuzz_check(encoding.truncated == (pieces.size() + 2 > max_length));
  for (size_t k = 1; k + 1 < count; ++k) igx_fuzz_check(pieces[k - 1] == encoding.tokens[k]);
  return 0;
}
