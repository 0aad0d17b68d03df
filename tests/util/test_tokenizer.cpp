#include "igx/tokenizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "igx/error.h"

namespace {

namespace fs = std::filesystem;
using Tokens = std::vector<std::string>;

/// Writes a vocabulary (one token per line) to a file named after the running test.
std::string write_vocab(const Tokens& tokens, const std::string& line_end = "\n") {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string name =
      std::string("igx_vocab_") + test->test_suite_name() + "_" + test->name() + ".txt";
  const fs::path path = fs::temp_directory_path() / name;
  std::ofstream file(path, std::ios::binary);
  for (const std::string& token : tokens) file << token << line_end;
  return path.string();
}

// Ids: the position in this list. "\u03bf\u03b4\u03bf\u03c2" is "οδος" with a final sigma.
const Tokens kVocab = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un",    "##aff", "##able",  // 0-7
    "the",   ",",     ".",     "!",     "hello",  "world", "##s",   "[",       // 8-15
    "]",     "cls",   "\u4e2d", "\u56fd", "a",      "##a",   "\u03bf\u03b4\u03bf\u03c2",  // 16-22
    "run",   "##ning"};                                                         // 23-24

class TokenizerTest : public ::testing::Test {
 protected:
  igx::WordPieceTokenizer tokenizer = igx::WordPieceTokenizer::from_file(write_vocab(kVocab));
};

/// The message of the igx::Error that fn throws, or a failure if it throws none.
template <typename Fn>
std::string error_message(Fn&& fn) {
  try {
    fn();
  } catch (const igx::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected igx::Error";
  return "";
}

TEST_F(TokenizerTest, SplitsWordsIntoLongestPieces) {
  EXPECT_EQ(tokenizer.tokenize("unaffable"), (Tokens{"un", "##aff", "##able"}));
  EXPECT_EQ(tokenizer.tokenize("worlds running"), (Tokens{"world", "##s", "run", "##ning"}));
}

TEST_F(TokenizerTest, LowerCasesAndSplitsPunctuation) {
  EXPECT_EQ(tokenizer.tokenize("UNAFFABLE!"), (Tokens{"un", "##aff", "##able", "!"}));
  EXPECT_EQ(tokenizer.tokenize("hello,world!"), (Tokens{"hello", ",", "world", "!"}));
  EXPECT_EQ(tokenizer.tokenize("hello...the"), (Tokens{"hello", ".", ".", ".", "the"}));
  EXPECT_EQ(tokenizer.basic_tokenize("it's $5 (ok)"),
            (Tokens{"it", "'", "s", "$", "5", "(", "ok", ")"}));
  EXPECT_EQ(tokenizer.basic_tokenize("\u00bfqu\u00e9? \u00abhi\u00bb \u2014 no\u2026"),
            (Tokens{"\u00bf", "que", "?", "\u00ab", "hi", "\u00bb", "\u2014", "no", "\u2026"}));
  // Non-ASCII symbols are not punctuation for BERT.
  EXPECT_EQ(tokenizer.basic_tokenize("5\u20ac \u00a9x"), (Tokens{"5\u20ac", "\u00a9x"}));
}

TEST_F(TokenizerTest, StripsAccents) {
  EXPECT_EQ(tokenizer.tokenize("H\u00e9llo"), (Tokens{"hello"}));
  EXPECT_EQ(tokenizer.tokenize("H\u00c9LLO"), (Tokens{"hello"}));
  EXPECT_EQ(tokenizer.tokenize("He\u0301llo"), (Tokens{"hello"}));  // decomposed é
  EXPECT_EQ(tokenizer.basic_tokenize("\u0160\u00e7\u0151\u0142 \u0130\u015f \u00df\u00f8"),
            (Tokens{"scoł", "is", "\u00df\u00f8"}));  // ł ß ø have no decomposition
  EXPECT_EQ(tokenizer.basic_tokenize("Ti\u1ebfng Vi\u1ec7t \u0218\u01ce"),
            (Tokens{"tieng", "viet", "sa"}));  // Latin Extended Additional and B
}

TEST_F(TokenizerTest, LowerCasesGreekCyrillicAndKorean) {
  EXPECT_EQ(tokenizer.tokenize("\u039f\u0394\u039f\u03a3"), (Tokens{"\u03bf\u03b4\u03bf\u03c2"}));
  EXPECT_EQ(tokenizer.basic_tokenize("\u039f\u0394\u039f\u03a3 \u03a3\u0391"),
            (Tokens{"\u03bf\u03b4\u03bf\u03c2", "\u03c3\u03b1"}));
  EXPECT_EQ(tokenizer.basic_tokenize("\u0401\u043b\u043a\u0430 \u0419"),
            (Tokens{"\u0435\u043b\u043a\u0430", "\u0438"}));
  EXPECT_EQ(tokenizer.basic_tokenize("\ud55c"), (Tokens{"\u1112\u1161\u11ab"}));  // 한 -> jamo
}

TEST_F(TokenizerTest, UnknownWordsBecomeOneUnk) {
  EXPECT_EQ(tokenizer.tokenize("xyzzy"), (Tokens{"[UNK]"}));
  EXPECT_EQ(tokenizer.tokenize("hellox world"), (Tokens{"[UNK]", "world"}));  // no partial pieces
}

TEST_F(TokenizerTest, WordsLongerThan100CharactersAreUnknown) {
  Tokens hundred_pieces(100, "##a");
  hundred_pieces.front() = "a";
  EXPECT_EQ(tokenizer.tokenize(std::string(100, 'a')), hundred_pieces);
  EXPECT_EQ(tokenizer.tokenize(std::string(101, 'a')), (Tokens{"[UNK]"}));
}

TEST_F(TokenizerTest, CleansWhitespaceAndControlCharacters) {
  EXPECT_EQ(tokenizer.tokenize(" hello\tworld\r\nthe\u00a0a\u3000a "),
            (Tokens{"hello", "world", "the", "a", "a"}));
  // Control and format characters are removed, not word boundaries (BERT's _clean_text).
  EXPECT_EQ(tokenizer.basic_tokenize(std::string("he\x01ll\x0bo wor\u200bld\ufeff")),
            (Tokens{"hello", "world"}));
  EXPECT_EQ(tokenizer.basic_tokenize(std::string("a\0b", 3)), (Tokens{"ab"}));
}

TEST_F(TokenizerTest, BlankTextHasNoTokens) {
  EXPECT_TRUE(tokenizer.tokenize("").empty());
  EXPECT_TRUE(tokenizer.tokenize(" \t\n\u00a0\x01").empty());
  const igx::Encoding blank = tokenizer.encode("  \n ", 8);
  EXPECT_EQ(blank.tokens, (Tokens{"[CLS]", "[SEP]"}));
  EXPECT_NE(error_message([&] { igx::require_tokens(blank, "  \n "); }).find("no tokens"),
            std::string::npos);
  EXPECT_NO_THROW(igx::require_tokens(tokenizer.encode("hello", 8), "hello"));
}

TEST_F(TokenizerTest, SplitsCjkIdeographs) {
  EXPECT_EQ(tokenizer.tokenize("\u4e2d\u56fdhello"), (Tokens{"\u4e2d", "\u56fd", "hello"}));
}

TEST_F(TokenizerTest, SpecialTokenStringsInTextAreOrdinaryText) {
  EXPECT_EQ(tokenizer.tokenize("[CLS]"), (Tokens{"[", "cls", "]"}));
}

TEST_F(TokenizerTest, RejectsInvalidUtf8NamingTheOffset) {
  auto message_for = [&](const std::string& text) {
    return error_message([&] { tokenizer.tokenize(text); });
  };
  EXPECT_NE(message_for("\xff").find("byte offset 0"), std::string::npos);
  EXPECT_NE(message_for("ab\xe2\x82").find("byte offset 2"), std::string::npos);    // truncated
  EXPECT_NE(message_for("ab\xe2\x82z").find("byte offset 2"), std::string::npos);   // interrupted
  EXPECT_NE(message_for("\xc0\xaf").find("byte offset 0"), std::string::npos);      // overlong '/'
  EXPECT_NE(message_for("ok \xe0\x80\xaf").find("byte offset 3"), std::string::npos);  // overlong
  EXPECT_NE(message_for("ok \xed\xa0\x80").find("byte offset 3"), std::string::npos);  // surrogate
  EXPECT_NE(message_for("\xf4\x90\x80\x80").find("byte offset 0"), std::string::npos); // > U+10FFFF
  EXPECT_NE(message_for("\x80").find("not valid UTF-8"), std::string::npos);
  EXPECT_NO_THROW(tokenizer.tokenize("\xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf"));  // U+1F600, U+10FFFF
}

TEST_F(TokenizerTest, EncodeAddsSpecialsWordIdsAndOffsets) {
  const std::string text = "H\u00e9llo, unaffable!";
  const igx::Encoding encoding = tokenizer.encode(text, 16);
  EXPECT_EQ(encoding.tokens,
            (Tokens{"[CLS]", "hello", ",", "un", "##aff", "##able", "!", "[SEP]"}));
  EXPECT_EQ(encoding.ids, (std::vector<int64_t>{2, 12, 9, 5, 6, 7, 11, 3}));
  EXPECT_EQ(encoding.word_ids, (std::vector<int>{-1, 0, 1, 2, 2, 2, 3, -1}));
  using Offsets = std::vector<std::pair<size_t, size_t>>;
  EXPECT_EQ(encoding.offsets,
            (Offsets{{0, 0}, {0, 6}, {6, 7}, {8, 10}, {10, 13}, {13, 17}, {17, 18}, {0, 0}}));
  EXPECT_FALSE(encoding.truncated);
}

TEST_F(TokenizerTest, OffsetsCoverDroppedCombiningMarks) {
  const igx::Encoding encoding = tokenizer.encode("the\u0301 a", 8);  // "the" + U+0301: 5 bytes
  ASSERT_EQ(encoding.tokens, (Tokens{"[CLS]", "the", "a", "[SEP]"}));
  EXPECT_EQ(encoding.offsets[1], (std::pair<size_t, size_t>{0, 5}));
  EXPECT_EQ(encoding.offsets[2], (std::pair<size_t, size_t>{6, 7}));
}

TEST_F(TokenizerTest, EncodeTruncatesPiecesAndKeepsSep) {
  const igx::Encoding encoding = tokenizer.encode("unaffable hello world", 4);
  EXPECT_EQ(encoding.tokens, (Tokens{"[CLS]", "un", "##aff", "[SEP]"}));
  EXPECT_EQ(encoding.ids, (std::vector<int64_t>{2, 5, 6, 3}));
  EXPECT_TRUE(encoding.truncated);
  EXPECT_FALSE(tokenizer.encode("unaffable hello world", 7).truncated);  // exactly fits
  EXPECT_TRUE(tokenizer.encode("unaffable hello world", 6).truncated);
  EXPECT_EQ(tokenizer.encode("hello", 2).tokens, (Tokens{"[CLS]", "[SEP]"}));
  EXPECT_NE(error_message([&] { tokenizer.encode("hello", 1); }).find("max_length 1"),
            std::string::npos);
}

TEST_F(TokenizerTest, LooksUpTokensAndSpecialIds) {
  EXPECT_EQ(tokenizer.vocab_size(), kVocab.size());
  EXPECT_EQ(tokenizer.pad_id(), 0);
  EXPECT_EQ(tokenizer.unk_id(), 1);
  EXPECT_EQ(tokenizer.cls_id(), 2);
  EXPECT_EQ(tokenizer.sep_id(), 3);
  EXPECT_EQ(tokenizer.mask_id(), 4);
  EXPECT_EQ(tokenizer.token_to_id("##able"), 7);
  EXPECT_EQ(tokenizer.id_to_token(12), "hello");
  EXPECT_NE(error_message([&] { tokenizer.token_to_id("nope"); }).find("'nope'"),
            std::string::npos);
  EXPECT_NE(error_message([&] { tokenizer.id_to_token(25); }).find("25"), std::string::npos);
  EXPECT_NE(error_message([&] { tokenizer.id_to_token(-1); }).find("-1"), std::string::npos);
}

TEST(TokenizerFile, MissingSpecialTokenIsReportedWhenAsked) {
  const auto tokenizer = igx::WordPieceTokenizer::from_file(write_vocab({"[PAD]", "[UNK]", "a"}));
  EXPECT_EQ(tokenizer.unk_id(), 1);
  EXPECT_NE(error_message([&] { tokenizer.mask_id(); }).find("[MASK]"), std::string::npos);
  EXPECT_NE(error_message([&] { tokenizer.encode("a", 8); }).find("[CLS]"), std::string::npos);
}

TEST(TokenizerFile, ReadsCrLfLines) {
  const auto tokenizer =
      igx::WordPieceTokenizer::from_file(write_vocab({"[PAD]", "[UNK]", "hello"}, "\r\n"));
  EXPECT_EQ(tokenizer.token_to_id("hello"), 2);
  EXPECT_EQ(tokenizer.vocab_size(), 3u);
}

TEST(TokenizerFile, CasedTokenizerKeepsCaseAndAccents) {
  const auto tokenizer =
      igx::WordPieceTokenizer::from_file(write_vocab({"[UNK]", "H\u00e9llo"}), /*lowercase=*/false);
  EXPECT_EQ(tokenizer.tokenize("H\u00e9llo h\u00e9llo!"), (Tokens{"H\u00e9llo", "[UNK]", "[UNK]"}));
}

TEST(TokenizerFile, MissingOrEmptyVocabularyNamesThePath) {
  const std::string missing = (fs::temp_directory_path() / "igx_no_such_vocab.txt").string();
  EXPECT_NE(error_message([&] { igx::WordPieceTokenizer::from_file(missing); }).find(missing),
            std::string::npos);
  const std::string empty = write_vocab({});
  EXPECT_NE(error_message([&] { igx::WordPieceTokenizer::from_file(empty); }).find(empty),
            std::string::npos);
}

TEST(WordScores, SumsPiecesOfAWord) {
  const igx::WordScores words = igx::sum_scores_by_word(
      {"[CLS]", "un", "##aff", "##able", "!", "world", "##s", "[SEP]"},
      {0.5, 1.0, 2.0, 4.0, -1.0, 0.25, 0.25, 0.0});
  EXPECT_EQ(words.words, (Tokens{"[CLS]", "unaffable", "!", "worlds", "[SEP]"}));
  EXPECT_EQ(words.scores, (std::vector<double>{0.5, 7.0, -1.0, 0.5, 0.0}));
  EXPECT_NE(error_message([] { igx::sum_scores_by_word({"a", "b"}, {1.0}); }).find("2 tokens"),
            std::string::npos);
}

// Cases produced by models/wordpiece.py, the Python reference of BERT's tokenizer, with the
// shipped vocabulary.
TEST(WordPieceGolden, MatchesPythonReference) {
  const fs::path golden_path = fs::path(IGX_TEST_DATA_DIR) / "wordpiece_golden.json";
  if (!fs::exists(golden_path)) GTEST_SKIP() << golden_path << " does not exist yet";
  std::ifstream file(golden_path);
  const nlohmann::json golden = nlohmann::json::parse(file);
  const fs::path repository_root = fs::path(IGX_TEST_DATA_DIR) / ".." / "..";
  const auto tokenizer = igx::WordPieceTokenizer::from_file(
      (repository_root / golden.at("vocab").get<std::string>()).string(),
      golden.value("lowercase", true));
  ASSERT_FALSE(golden.at("cases").empty());
  for (const nlohmann::json& golden_case : golden.at("cases")) {
    const std::string text = golden_case.at("text").get<std::string>();
    const Tokens expected_tokens = golden_case.at("tokens").get<Tokens>();
    const Tokens tokens = tokenizer.tokenize(text);
    EXPECT_EQ(tokens, expected_tokens) << "text: " << text;
    std::vector<int64_t> ids;
    for (const std::string& token : tokens) ids.push_back(tokenizer.token_to_id(token));
    EXPECT_EQ(ids, golden_case.at("ids").get<std::vector<int64_t>>()) << "text: " << text;
  }
}

}  // namespace
