#include "igx/tokenizer.h"

#include <algorithm>
#include <iterator>
#include <string_view>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx {
namespace {

// ---------------------------------------------------------------------------------------------
// UTF-8

/// A code point of the (normalised) text with the byte range of the source code point it comes
/// from, so that tokens can point back into the original text.
struct SourceChar {
  char32_t code_point;
  size_t begin;
  size_t end;
};

std::string hex_byte(unsigned char byte) {
  static const char* digits = "0123456789abcdef";
  return std::string("0x") + digits[byte >> 4] + digits[byte & 0xF];
}

[[noreturn]] void throw_invalid_utf8(size_t sequence_start, const std::string& problem) {
  throw Error("text is not valid UTF-8 at byte offset " + std::to_string(sequence_start) + ": " +
              problem);
}

/// Strict decoding (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
std::vector<SourceChar> decode_utf8(const std::string& text) {
  std::vector<SourceChar> chars;
  chars.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    if (lead < 0x80) {
      chars.push_back({lead, i, i + 1});
      ++i;
      continue;
    }
    // Sequence length, payload of the lead byte, and the range allowed for the second byte, which
    // excludes overlong forms (after E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
    size_t length;
    char32_t code_point;
    unsigned char second_min = 0x80, second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
      code_point = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      code_point = lead & 0x0F;
      if (lead == 0xE0) second_min = 0xA0;
      if (lead == 0xED) second_max = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      code_point = lead & 0x07;
      if (lead == 0xF0) second_min = 0x90;
      if (lead == 0xF4) second_max = 0x8F;
    } else {
      throw_invalid_utf8(i, "byte " + hex_byte(lead) +
                                " cannot start a character; expected 0x00-0x7f or 0xc2-0xf4");
    }
    if (i + length > text.size()) {
      throw_invalid_utf8(i, "the text ends inside a " + std::to_string(length) + "-byte sequence");
    }
    for (size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<unsigned char>(text[i + k]);
      const unsigned char min = k == 1 ? second_min : 0x80;
      const unsigned char max = k == 1 ? second_max : 0xBF;
      if (byte < min || byte > max) {
        throw_invalid_utf8(i, "byte " + hex_byte(byte) + " at offset " + std::to_string(i + k) +
                                  " after lead byte " + hex_byte(lead) + "; expected " +
                                  hex_byte(min) + "-" + hex_byte(max));
      }
      code_point = (code_point << 6) | (byte & 0x3F);
    }
    chars.push_back({code_point, i, i + length});
    i += length;
  }
  return chars;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// ---------------------------------------------------------------------------------------------
// Character classes (coverage documented in tokenizer.h)

struct Range {
  char32_t first;
  char32_t last;
};

template <size_t N>
bool in_ranges(char32_t cp, const Range (&ranges)[N]) {
  return std::any_of(std::begin(ranges), std::end(ranges),
                     [cp](const Range& r) { return cp >= r.first && cp <= r.last; });
}

/// BERT's _is_control: Unicode category C* except \t \n \r (which are whitespace).
bool is_control(char32_t cp) {
  static constexpr Range kControlOrFormat[] = {
      {0x0000, 0x0008}, {0x000B, 0x000C}, {0x000E, 0x001F}, {0x007F, 0x009F},  // Cc
      {0x00AD, 0x00AD}, {0x0600, 0x0605}, {0x061C, 0x061C}, {0x06DD, 0x06DD},  // Cf ...
      {0x070F, 0x070F}, {0x0890, 0x0891}, {0x08E2, 0x08E2}, {0x180E, 0x180E},
      {0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x2064}, {0x2066, 0x206F},
      {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0xE0001, 0xE0001}, {0xE0020, 0xE007F},
      {0xE000, 0xF8FF},  // Co (the supplementary private-use planes are tested below)
  };
  return cp >= 0xF0000 || in_ranges(cp, kControlOrFormat);
}

/// BERT's _is_whitespace (\t \n \r and Zs), plus U+2028/U+2029, which survive BERT's cleaning
/// and are then split on by Python's str.split().
bool is_whitespace(char32_t cp) {
  static constexpr Range kWhitespace[] = {
      {0x0009, 0x000A}, {0x000D, 0x000D}, {0x0020, 0x0020}, {0x00A0, 0x00A0}, {0x1680, 0x1680},
      {0x2000, 0x200A}, {0x2028, 0x2029}, {0x202F, 0x202F}, {0x205F, 0x205F}, {0x3000, 0x3000},
  };
  return in_ranges(cp, kWhitespace);
}

/// BERT's _is_punctuation: the ASCII non-alphanumeric printables, plus Unicode category P*.
bool is_punctuation(char32_t cp) {
  static constexpr Range kPunctuation[] = {
      // ASCII: BERT treats all of these as punctuation, symbols included.
      {0x0021, 0x002F}, {0x003A, 0x0040}, {0x005B, 0x0060}, {0x007B, 0x007E},
      // Latin-1: ¡ § « ¶ · » ¿
      {0x00A1, 0x00A1}, {0x00A7, 0x00A7}, {0x00AB, 0x00AB}, {0x00B6, 0x00B7}, {0x00BB, 0x00BB},
      {0x00BF, 0x00BF},
      // Greek question mark and ano teleia, Armenian, Hebrew, Arabic, Devanagari danda.
      {0x037E, 0x037E}, {0x0387, 0x0387}, {0x055A, 0x055F}, {0x0589, 0x058A}, {0x05BE, 0x05BE},
      {0x05C0, 0x05C0}, {0x05C3, 0x05C3}, {0x05C6, 0x05C6}, {0x05F3, 0x05F4}, {0x0609, 0x060A},
      {0x060C, 0x060D}, {0x061B, 0x061B}, {0x061D, 0x061F}, {0x066A, 0x066D}, {0x06D4, 0x06D4},
      {0x0964, 0x0965},
      // General Punctuation (its spaces, format characters and the two math symbols excluded),
      // super/subscript parentheses.
      {0x2010, 0x2027}, {0x2030, 0x2043}, {0x2045, 0x2051}, {0x2053, 0x205E}, {0x207D, 0x207E},
      {0x208D, 0x208E},
      // Brackets of Miscellaneous Technical, Dingbats and the mathematical blocks.
      {0x2308, 0x230B}, {0x2329, 0x232A}, {0x2768, 0x2775}, {0x27C5, 0x27C6}, {0x27E6, 0x27EF},
      {0x2983, 0x2998}, {0x29D8, 0x29DB}, {0x29FC, 0x29FD},
      // Supplemental Punctuation.
      {0x2E00, 0x2E2E}, {0x2E30, 0x2E4F}, {0x2E52, 0x2E5D},
      // CJK Symbols and Punctuation, Katakana double hyphen and middle dot.
      {0x3001, 0x3003}, {0x3008, 0x3011}, {0x3014, 0x301F}, {0x3030, 0x3030}, {0x303D, 0x303D},
      {0x30A0, 0x30A0}, {0x30FB, 0x30FB},
      // CJK vertical and small forms, fullwidth and halfwidth punctuation (symbols excluded).
      {0xFE10, 0xFE19}, {0xFE30, 0xFE52}, {0xFE54, 0xFE61}, {0xFE63, 0xFE63}, {0xFE68, 0xFE68},
      {0xFE6A, 0xFE6B}, {0xFF01, 0xFF03}, {0xFF05, 0xFF0A}, {0xFF0C, 0xFF0F}, {0xFF1A, 0xFF1B},
      {0xFF1F, 0xFF20}, {0xFF3B, 0xFF3D}, {0xFF3F, 0xFF3F}, {0xFF5B, 0xFF5B}, {0xFF5D, 0xFF5D},
      {0xFF5F, 0xFF65},
  };
  return in_ranges(cp, kPunctuation);
}

/// BERT's _is_chinese_char: the CJK Unified Ideographs blocks (not Japanese kana, not Hangul).
bool is_cjk_ideograph(char32_t cp) {
  static constexpr Range kCjk[] = {
      {0x4E00, 0x9FFF}, {0x3400, 0x4DBF}, {0x20000, 0x2A6DF}, {0x2A700, 0x2B73F},
      {0x2B740, 0x2B81F}, {0x2B820, 0x2CEAF}, {0xF900, 0xFAFF}, {0x2F800, 0x2FA1F},
  };
  return in_ranges(cp, kCjk);
}

/// Combining marks (category Mn) that accent stripping drops.
bool is_nonspacing_mark(char32_t cp) {
  static constexpr Range kMarks[] = {
      // Combining Diacritical Marks, Cyrillic.
      {0x0300, 0x036F}, {0x0483, 0x0487},
      // Hebrew points, Arabic harakat.
      {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2}, {0x05C4, 0x05C5}, {0x05C7, 0x05C7},
      {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670},
      // Combining Diacritical Marks Extended and Supplement, for Symbols, Half Marks.
      {0x1AB0, 0x1ABD}, {0x1ABF, 0x1ACE}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20DC}, {0x20E1, 0x20E1},
      {0x20E5, 0x20F0}, {0xFE20, 0xFE2F},
  };
  return in_ranges(cp, kMarks);
}

/// Lower-case as Python's str.lower() does, for the scripts listed in tokenizer.h. U+0130 (İ)
/// lower-cases to "i" + U+0307 in Python; accent stripping then leaves "i", returned directly.
char32_t to_lower(char32_t cp) {
  const bool even = cp % 2 == 0;
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  if (cp < 0xC0) return cp;
  if (cp <= 0xDE) return cp == 0xD7 ? cp : cp + 0x20;  // Latin-1, except ×
  if (cp >= 0x100 && cp <= 0x17F) {                    // Latin Extended-A: case pairs
    if (cp == 0x130) return 'i';
    if (cp == 0x178) return 0xFF;  // Ÿ -> ÿ
    if ((cp <= 0x137 && cp != 0x131) || (cp >= 0x14A && cp <= 0x177)) return even ? cp + 1 : cp;
    if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E)) return even ? cp : cp + 1;
    return cp;  // ı ĸ ŉ ſ
  }
  if (cp >= 0x386 && cp <= 0x3AB) {  // Greek capitals
    if (cp == 0x386) return 0x3AC;
    if (cp >= 0x388 && cp <= 0x38A) return cp + 0x25;
    if (cp == 0x38C) return 0x3CC;
    if (cp == 0x38E || cp == 0x38F) return cp + 0x3F;
    if (cp >= 0x391 && cp != 0x3A2) return cp + 0x20;
    return cp;
  }
  if (cp >= 0x400 && cp <= 0x52F) {  // Cyrillic
    if (cp <= 0x40F) return cp + 0x50;
    if (cp <= 0x42F) return cp + 0x20;
    if ((cp >= 0x460 && cp <= 0x481) || (cp >= 0x48A && cp <= 0x4BF) || cp >= 0x4D0) {
      return even ? cp + 1 : cp;
    }
    if (cp == 0x4C0) return 0x4CF;
    if (cp >= 0x4C1 && cp <= 0x4CE) return even ? cp : cp + 1;
    return cp;
  }
  if (cp >= 0x531 && cp <= 0x556) return cp + 0x30;    // Armenian
  if (cp >= 0xFF21 && cp <= 0xFF3A) return cp + 0x20;  // fullwidth Latin
  return cp;
}

constexpr char32_t kCapitalSigma = 0x3A3;
constexpr char32_t kSmallSigma = 0x3C3;
constexpr char32_t kFinalSigma = 0x3C2;

/// Approximates Unicode's Cased property for the Final_Sigma rule: the letters of the Latin,
/// Greek and Cyrillic blocks that tokenizer.h lists.
bool is_cased(char32_t cp) {
  return (cp >= 'A' && cp <= 'Z') || (cp >= 'a' && cp <= 'z') ||
         (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x386 && cp <= 0x3FF) ||
         (cp >= 0x400 && cp <= 0x52F && !(cp >= 0x482 && cp <= 0x489));
}

/// Approximates Case_Ignorable: combining marks, modifier symbols and the apostrophes and points
/// that may stand inside a word.
bool is_case_ignorable(char32_t cp) {
  static constexpr Range kIgnorable[] = {
      {'\'', '\''},   {'.', '.'},       {':', ':'},       {'^', '^'},   {'`', '`'},
      {0xA8, 0xA8},     {0xAF, 0xAF},     {0xB4, 0xB4},     {0xB7, 0xB8}, {0x387, 0x387},
      {0x2018, 0x2019}, {0x2024, 0x2024}, {0x2027, 0x2027},
  };
  return is_nonspacing_mark(cp) || in_ranges(cp, kIgnorable);
}

/// Python lower-cases Σ to ς at the end of a word (Unicode's Final_Sigma condition): preceded
/// by a cased letter and not followed by one, case-ignorable characters skipped.
bool is_final_sigma(const std::vector<SourceChar>& word, size_t position) {
  auto cased_at = [&word](size_t i) { return is_cased(word[i].code_point); };
  auto ignorable_at = [&word](size_t i) { return is_case_ignorable(word[i].code_point); };
  size_t before = position;
  while (before > 0 && ignorable_at(before - 1)) --before;
  if (before == 0 || !cased_at(before - 1)) return false;
  size_t after = position + 1;
  while (after < word.size() && ignorable_at(after)) ++after;
  return after == word.size() || !cased_at(after);
}

/// Base letter of a precomposed letter (its NFD without the combining marks), or cp itself.
/// Latin capitals map to capital bases, so the caller lower-cases the result again.
char32_t strip_accent(char32_t cp) {
  // Latin blocks, one character per code point from `first`: the ASCII base letter, or '.' for
  // a letter without canonical decomposition (Æ Ð Ø Þ ß đ ħ ı ĳ ł œ ƀ ...) or with a non-ASCII
  // base (Ǣ, ǯ, Ǿ, ẛ).
  struct LatinBlock {
    char32_t first;
    const char* bases;
  };
  static constexpr LatinBlock kLatin[] = {
      {0x00C0, "AAAAAA.CEEEEIIII.NOOOOO..UUUUY..aaaaaa.ceeeeiiii.nooooo..uuuuy.y"},  // Latin-1
      {0x0100,  // Latin Extended-A
       "AaAaAaCcCcCcCcDd..EeEeEeEeEeGgGgGgGgHh..IiIiIiIiI...JjKk.LlLlLl....NnNnNn...OoOo"
       "Oo..RrRrRrSsSsSsSsTtTt..UuUuUuUuUuUuWwYyYZzZzZz."},
      {0x01A0,  // Latin Extended-B, the part with precomposed letters (U+01A0-U+0233)
       "Oo.............Uu............................AaIiOoUuUuUuUuUu.AaAa....GgKkOoOo..j..."
       "Gg..NnAa....AaAaEeEeIiIiOoOoRrRrUuUuSsTt..Hh......AaEeOoOoOoOoYy"},
      {0x1E00,  // Latin Extended Additional (Vietnamese, Welsh, transliterations)
       "AaBbBbBbCcDdDdDdDdDdEeEeEeEeEeFfGgHhHhHhHhHhIiIiKkKkKkLlLlLlLlMm"
       "MmMmNnNnNnNnOoOoOoOoPpPpRrRrRrRrSsSsSsSsSsTtTtTtTtUuUuUuUuUuVvVv"
       "WwWwWwWwWwXxXxYyZzZzZzhtwy......AaAaAaAaAaAaAaAaAaAaAaAaEeEeEeEe"
       "EeEeEeEeIiIiOoOoOoOoOoOoOoOoOoOoOoOoUuUuUuUuUuUuUuYyYyYyYy......"},
  };
  // Greek (monotonic) and Cyrillic, lower case only: capitals are lower-cased before stripping.
  static constexpr std::pair<char32_t, char32_t> kGreekCyrillic[] = {
      {0x37E, ';'},   {0x387, 0xB7},  {0x390, 0x3B9}, {0x3AC, 0x3B1}, {0x3AD, 0x3B5},
      {0x3AE, 0x3B7}, {0x3AF, 0x3B9}, {0x3B0, 0x3C5}, {0x3CA, 0x3B9}, {0x3CB, 0x3C5},
      {0x3CC, 0x3BF}, {0x3CD, 0x3C5}, {0x3CE, 0x3C9}, {0x3D3, 0x3D2}, {0x3D4, 0x3D2},
      {0x439, 0x438}, {0x450, 0x435}, {0x451, 0x435}, {0x453, 0x433}, {0x457, 0x456},
      {0x45C, 0x43A}, {0x45D, 0x438}, {0x45E, 0x443}, {0x477, 0x475}, {0x4C2, 0x436},
      {0x4D1, 0x430}, {0x4D3, 0x430}, {0x4D7, 0x435}, {0x4DB, 0x4D9}, {0x4DD, 0x436},
      {0x4DF, 0x437}, {0x4E3, 0x438}, {0x4E5, 0x438}, {0x4E7, 0x43E}, {0x4EB, 0x4E9},
      {0x4ED, 0x44D}, {0x4EF, 0x443}, {0x4F1, 0x443}, {0x4F3, 0x443}, {0x4F5, 0x447},
      {0x4F9, 0x44B},
  };
  if (cp < 0xC0) return cp;
  for (const LatinBlock& block : kLatin) {
    const std::string_view bases = block.bases;
    if (cp >= block.first && cp - block.first < bases.size()) {
      const char base = bases[cp - block.first];
      return base == '.' ? cp : static_cast<char32_t>(base);
    }
  }
  for (const auto& [precomposed, letter] : kGreekCyrillic) {
    if (cp == precomposed) return letter;
  }
  return cp;
}

// ---------------------------------------------------------------------------------------------
// Basic tokenisation

using Word = std::vector<SourceChar>;

/// Hangul syllables decompose (NFD) into 2 or 3 conjoining jamo, which are letters, not marks:
/// accent stripping turns Korean text into jamo, as BERT does.
constexpr char32_t kHangulFirst = 0xAC00, kHangulLast = 0xD7A3;

void append_hangul_jamo(const SourceChar& syllable, Word& out) {
  constexpr char32_t kLeadBase = 0x1100, kVowelBase = 0x1161, kTrailBase = 0x11A7;
  constexpr char32_t kVowelCount = 21, kTrailCount = 28;
  const char32_t index = syllable.code_point - kHangulFirst;
  out.push_back({kLeadBase + index / (kVowelCount * kTrailCount), syllable.begin, syllable.end});
  out.push_back({kVowelBase + index % (kVowelCount * kTrailCount) / kTrailCount, syllable.begin,
                 syllable.end});
  if (index % kTrailCount != 0) {
    out.push_back({kTrailBase + index % kTrailCount, syllable.begin, syllable.end});
  }
}

/// Lower-cases and strips accents in place. A dropped mark extends the previous character's
/// byte range, so that offsets cover the whole visible letter.
void lower_case_and_strip_accents(Word& word) {
  Word normalised;
  normalised.reserve(word.size());
  for (size_t i = 0; i < word.size(); ++i) {
    SourceChar c = word[i];
    if (c.code_point == kCapitalSigma) {
      c.code_point = is_final_sigma(word, i) ? kFinalSigma : kSmallSigma;
    } else if (c.code_point >= kHangulFirst && c.code_point <= kHangulLast) {
      append_hangul_jamo(c, normalised);
      continue;
    } else {
      c.code_point = to_lower(strip_accent(to_lower(c.code_point)));
    }
    if (is_nonspacing_mark(c.code_point)) {
      if (!normalised.empty()) normalised.back().end = c.end;
      continue;
    }
    normalised.push_back(c);
  }
  word = std::move(normalised);
}

/// Splits a whitespace-delimited token so that every punctuation character stands alone.
void split_on_punctuation(const Word& token, std::vector<Word>& words) {
  Word current;
  for (const SourceChar& c : token) {
    if (is_punctuation(c.code_point)) {
      if (!current.empty()) words.push_back(std::move(current));
      current.clear();
      words.push_back({c});
    } else {
      current.push_back(c);
    }
  }
  if (!current.empty()) words.push_back(std::move(current));
}

std::vector<Word> basic_words(const std::string& text, bool lowercase) {
  // Cleaning, CJK spacing and whitespace splitting in one pass.
  std::vector<Word> whitespace_tokens;
  Word current;
  auto finish_token = [&]() {
    if (!current.empty()) whitespace_tokens.push_back(std::move(current));
    current.clear();
  };
  for (const SourceChar& c : decode_utf8(text)) {
    if (c.code_point == 0xFFFD || is_control(c.code_point)) continue;  // NUL is a control
    if (is_whitespace(c.code_point)) {
      finish_token();
    } else if (is_cjk_ideograph(c.code_point)) {
      finish_token();
      whitespace_tokens.push_back({c});
    } else {
      current.push_back(c);
    }
  }
  finish_token();

  std::vector<Word> words;
  for (Word& token : whitespace_tokens) {
    if (lowercase) lower_case_and_strip_accents(token);
    split_on_punctuation(token, words);
  }
  return words;
}

std::string to_utf8(const Word& word) {
  std::string out;
  for (const SourceChar& c : word) append_utf8(c.code_point, out);
  return out;
}

const std::string kContinuationPrefix = "##";

/// One WordPiece piece: its vocabulary entry and the characters [first, last) of its word.
struct Piece {
  std::string token;
  size_t first;
  size_t last;
};

/// Greedy longest-match-first segmentation; one `unknown_token` for a word that cannot be segmented.
std::vector<Piece> word_pieces(const Word& word, const std::unordered_map<std::string, int64_t>& vocabulary,
                               const std::string& unknown_token) {
  const std::vector<Piece> unknown = {{unknown_token, 0, word.size()}};
  if (word.size() > WordPieceTokenizer::kMaxCharsPerWord) return unknown;
  // The word's UTF-8 text and the byte position of each character, for cheap substrings.
  std::string text;
  std::vector<size_t> byte_at;
  for (const SourceChar& c : word) {
    byte_at.push_back(text.size());
    append_utf8(c.code_point, text);
  }
  byte_at.push_back(text.size());

  std::vector<Piece> pieces;
  size_t start = 0;
  while (start < word.size()) {
    bool found = false;
    for (size_t end = word.size(); end > start; --end) {
      std::string candidate = (start > 0 ? kContinuationPrefix : std::string()) +
                              text.substr(byte_at[start], byte_at[end] - byte_at[start]);
      if (vocabulary.count(candidate)) {
        pieces.push_back({std::move(candidate), start, end});
        start = end;
        found = true;
        break;
      }
    }
    if (!found) return unknown;
  }
  return pieces;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// WordPieceTokenizer

WordPieceTokenizer::WordPieceTokenizer(std::string vocab_path, std::vector<std::string> tokens,
                                       bool lowercase)
    : vocab_path_(std::move(vocab_path)), tokens_(std::move(tokens)), lowercase_(lowercase) {
  for (size_t id = 0; id < tokens_.size(); ++id) ids_[tokens_[id]] = static_cast<int64_t>(id);
}

WordPieceTokenizer WordPieceTokenizer::from_file(const std::string& vocab_path, bool lowercase) {
  const std::string text = read_file_bytes(vocab_path, WordPieceTokenizer::kMaxVocabularyBytes, "a vocabulary file");
  std::vector<std::string> tokens;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    tokens.push_back(std::move(line));
    begin = end + 1;
  }
  if (tokens.empty()) {
    throw Error("vocabulary file '" + vocab_path + "' is empty; expected one token per line");
  }
  return WordPieceTokenizer(vocab_path, std::move(tokens), lowercase);
}

std::vector<std::string> WordPieceTokenizer::basic_tokenize(const std::string& text) const {
  std::vector<std::string> words;
  for (const Word& word : basic_words(text, lowercase_)) words.push_back(to_utf8(word));
  return words;
}

std::vector<std::string> WordPieceTokenizer::tokenize(const std::string& text) const {
  std::vector<std::string> tokens;
  for (const Word& word : basic_words(text, lowercase_)) {
    for (Piece& piece : word_pieces(word, ids_, special_tokens_.unk)) tokens.push_back(std::move(piece.token));
  }
  return tokens;
}

Encoding WordPieceTokenizer::encode(const std::string& text, size_t max_length) const {
  if (max_length < 2) {
    throw Error("max_length " + std::to_string(max_length) +
                " leaves no room for " + special_tokens_.cls + " and " + special_tokens_.sep + "; expected at least 2");
  }
  Encoding encoding;
  auto append = [&encoding](std::string token, int64_t id, int word_id,
                            std::pair<size_t, size_t> offset) {
    encoding.tokens.push_back(std::move(token));
    encoding.ids.push_back(id);
    encoding.word_ids.push_back(word_id);
    encoding.offsets.push_back(offset);
  };
  append(special_tokens_.cls, cls_id(), -1, {0, 0});
  const std::vector<Word> words = basic_words(text, lowercase_);
  for (size_t word_id = 0; word_id < words.size() && !encoding.truncated; ++word_id) {
    const Word& word = words[word_id];
    for (Piece& piece : word_pieces(word, ids_, special_tokens_.unk)) {
      if (encoding.tokens.size() + 1 >= max_length) {  // keep room for [SEP]
        encoding.truncated = true;
        break;
      }
      const int64_t id = piece.token == special_tokens_.unk ? unk_id() : ids_.at(piece.token);
      append(std::move(piece.token), id, static_cast<int>(word_id),
             {word[piece.first].begin, word[piece.last - 1].end});
    }
  }
  append(special_tokens_.sep, sep_id(), -1, {0, 0});
  return encoding;
}

int64_t WordPieceTokenizer::token_to_id(const std::string& token) const {
  const auto found = ids_.find(token);
  if (found == ids_.end()) {
    throw Error("token '" + token + "' is not in the vocabulary '" + vocab_path_ + "'");
  }
  return found->second;
}

const std::string& WordPieceTokenizer::id_to_token(int64_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= tokens_.size()) {
    throw Error("token id " + std::to_string(id) + " is out of range; expected 0 <= id < " +
                std::to_string(tokens_.size()) + " (vocabulary '" + vocab_path_ + "')");
  }
  return tokens_[static_cast<size_t>(id)];
}

int64_t WordPieceTokenizer::special_id(const std::string& token, const char* role) const {
  const auto found = ids_.find(token);
  if (found == ids_.end()) {
    throw Error("vocabulary '" + vocab_path_ + "' has no " + token + " token (" + role +
                "); a BERT vocabulary defines [PAD] [UNK] [CLS] [SEP] [MASK], another names its own in "
                "igx.json special_tokens." + role + " (see docs/bundles.md)");
  }
  return found->second;
}

int64_t WordPieceTokenizer::pad_id() const { return special_id(special_tokens_.pad, "pad"); }
int64_t WordPieceTokenizer::unk_id() const { return special_id(special_tokens_.unk, "unk"); }
int64_t WordPieceTokenizer::cls_id() const { return special_id(special_tokens_.cls, "cls"); }
int64_t WordPieceTokenizer::sep_id() const { return special_id(special_tokens_.sep, "sep"); }
int64_t WordPieceTokenizer::mask_id() const { return special_id(special_tokens_.mask, "mask"); }

// ---------------------------------------------------------------------------------------------
// Free functions

void require_tokens(const Encoding& encoding, const std::string& text) {
  const bool has_piece = std::any_of(encoding.word_ids.begin(), encoding.word_ids.end(),
                                     [](int word_id) { return word_id >= 0; });
  if (has_piece) return;
  constexpr size_t kPreviewBytes = 40;
  std::string preview = text.substr(0, kPreviewBytes);
  if (text.size() > kPreviewBytes) preview += "...";
  throw Error("text '" + preview +
              "' has no tokens; expected text with at least one word (it is empty, blank or "
              "only control characters)");
}

WordScores sum_scores_by_word(const std::vector<std::string>& tokens,
                              const std::vector<double>& scores) {
  if (tokens.size() != scores.size()) {
    throw Error("cannot sum scores by word: " + std::to_string(tokens.size()) + " tokens but " +
                std::to_string(scores.size()) + " scores; expected one score per token");
  }
  WordScores result;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const bool continues = tokens[i].rfind(kContinuationPrefix, 0) == 0 && !result.words.empty();
    if (continues) {
      result.words.back() += tokens[i].substr(kContinuationPrefix.size());
      result.scores.back() += scores[i];
    } else {
      result.words.push_back(tokens[i]);
      result.scores.push_back(scores[i]);
    }
  }
  return result;
}

}  // namespace igx
