// Finding bundles by name, and what a bundle's loader checks: igx.json's fields, the declared
// tokenizer and special tokens, and the model against igx.json on a probe input.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>

#include "igx/bundle.h"
#include "igx/image.h"
#include "igx/text.h"
#include "cli_test.h"
#include "test_support.h"

namespace {

namespace fs = std::filesystem;
using igx_test::contains;
using igx_test::error_of;
using igx_test::shipped_model;

const std::string kTestModels = IGX_TEST_MODELS_DIR;

// A fresh folder under the temporary directory, removed at the end of the test.
class ScratchFolder {
 public:
  explicit ScratchFolder(const std::string& name)
      : path_(fs::temp_directory_path() / ("igx_" + name + "_" + std::to_string(::getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~ScratchFolder() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Sets an environment variable for the scope, then restores it.
class ScopedEnvironment {
 public:
  ScopedEnvironment(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnvironment() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

void make_named_bundle(const fs::path& folder) {
  fs::create_directories(folder);
  std::ofstream(folder / "igx.json") << "{\"task\": \"text\"}\n";
}

TEST(ModelLookup, ModelPathEntriesComeFirstInOrder) {
  ScratchFolder scratch("model_path");
  make_named_bundle(scratch.path() / "first" / "shared");
  make_named_bundle(scratch.path() / "second" / "shared");
  make_named_bundle(scratch.path() / "second" / "own");
  make_named_bundle(scratch.path() / "second" / "mnist-cnn");  // shadows the shipped one
  const ScopedEnvironment path("IGX_MODEL_PATH",
                               (scratch.path() / "first").string() + "::" + (scratch.path() / "second").string());
  EXPECT_EQ(fs::path(igx::find_bundle("shared")), scratch.path() / "first" / "shared");
  EXPECT_EQ(fs::path(igx::find_bundle("own")), scratch.path() / "second" / "own");
  EXPECT_EQ(fs::path(igx::find_bundle("mnist-cnn")), scratch.path() / "second" / "mnist-cnn");
  const std::vector<std::string> folders = igx::model_search_path();
  ASSERT_GE(folders.size(), 3u);
  EXPECT_EQ(folders[0], (scratch.path() / "first").string());
  EXPECT_EQ(folders[1], (scratch.path() / "second").string());
}

// The shipped models are found from any working folder, wherever the build folder is: the
// source tree's models/ is on the search path of a library built from it.
TEST(ModelLookup, ShippedModelsFromAnyWorkingFolder) {
  ScratchFolder scratch("elsewhere");
  const fs::path before = fs::current_path();
  fs::current_path(scratch.path());
  const std::string found = igx::find_bundle("spam-transformer");
  fs::current_path(before);
  EXPECT_EQ(fs::path(found), fs::canonical(shipped_model("spam-transformer")));
}

TEST(ModelLookup, ErrorListsEveryFolderSearched) {
  ScratchFolder scratch("lookup_error");
  const ScopedEnvironment path("IGX_MODEL_PATH", scratch.path().string());
  const std::string message = error_of([] { igx::find_bundle("no-such-model"); });
  EXPECT_TRUE(contains(message, "'no-such-model'")) << message;
  for (const std::string& folder : igx::model_search_path()) EXPECT_TRUE(contains(message, folder)) << message;
  EXPECT_TRUE(contains(message, (fs::path(IGX_SOURCE_DIR) / "models").lexically_normal().string())) << message;
  EXPECT_TRUE(contains(message, "docs/bundles.md")) << message;
  EXPECT_TRUE(contains(error_of([] { igx::find_bundle("some/missing/folder"); }), "is not a folder"));
  // An existing folder is taken as it is, even one that is not a bundle: loading it says why.
  EXPECT_EQ(igx::find_bundle(scratch.path().string()), scratch.path().string());
  EXPECT_TRUE(contains(error_of([&] { igx::load_bundle_config(scratch.path().string()); }), "has no igx.json"));
}

TEST(ModelLookup, CliFindsShippedModelsFromAnotherFolder) {
  ScratchFolder scratch("cli_elsewhere");
  const fs::path before = fs::current_path();
  fs::current_path(scratch.path());
  const auto result = igx_test::run_igx("explain 'win a free cruise' --steps 8 --out-dir out --no-color");
  fs::current_path(before);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  EXPECT_TRUE(fs::exists(scratch.path() / "out" / "explanation.json"));
}

// A copy of a bundle whose igx.json can be edited.
class EditableBundle {
 public:
  explicit EditableBundle(const std::string& source) : scratch_("editable_bundle") {
    fs::copy(source, folder(), fs::copy_options::recursive);
    std::ifstream(folder() / "igx.json") >> json_;
  }
  fs::path folder() const { return scratch_.path() / "bundle"; }
  nlohmann::json& json() { return json_; }
  std::string save() {
    std::ofstream(folder() / "igx.json") << json_.dump(2);
    return folder().string();
  }

 private:
  ScratchFolder scratch_;
  nlohmann::json json_;
};

std::string text_load_error(EditableBundle& bundle) {
  const std::string folder = bundle.save();
  return error_of([&] { igx::TextClassifier::load(folder); });
}

TEST(BundleValidation, FieldTypesAreNamed) {
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& j) { j["tokenizer"]["lowercase"] = "yes"; },
       "field 'tokenizer.lowercase' is \"yes\"; expected true or false"},
      {[](nlohmann::json& j) { j["labels"] = {"no", 1}; }, "field 'labels' is [\"no\",1]; expected a list of strings"},
      {[](nlohmann::json& j) { j["max_length"] = -4; }, "field 'max_length' is -4; expected a positive integer"},
      {[](nlohmann::json& j) { j["special_tokens"]["padding"] = 0; }, "field 'special_tokens.padding'"},
      {[](nlohmann::json& j) { j["special_tokens"]["pad"] = 0.5; }, "expected a token id or the token itself"},
      {[](nlohmann::json& j) { j["methods"]["embed"] = 3; }, "field 'methods.embed' is 3; expected a method name"},
      {[](nlohmann::json& j) { j.erase("task"); }, "field 'task' is missing"},
      {[](nlohmann::json& j) { j["task"] = "audio"; }, "field 'task' is 'audio'"},
      // Found by the bundle_config fuzzer (CI, session 5): an empty label named a class as nothing.
      {[](nlohmann::json& j) { j["labels"] = {"ham", ""}; }, "labels[1] is empty; expected a name for every class"},
  };
  for (const auto& [edit, expected] : cases) {
    EditableBundle bundle(kTestModels + "/tiny-text");
    edit(bundle.json());
    const std::string message = text_load_error(bundle);
    EXPECT_TRUE(contains(message, expected)) << message;
    EXPECT_TRUE(contains(message, "igx.json")) << message;
  }
}

TEST(BundleValidation, DeclaredSizesMustMatchTheModel) {
  const std::vector<std::pair<std::function<void(nlohmann::json&)>, std::string>> cases = {
      {[](nlohmann::json& j) { j["labels"] = {"a", "b", "c"}; },
       "labels has 3 names but 'forward' returns 2 outputs per text"},
      {[](nlohmann::json& j) { j["vocab_size"] = 30522; }, "vocab_size is 30522 but the vocabulary"},
      {[](nlohmann::json& j) { j["embedding_dim"] = 768; }, "embedding_dim is 768 but 'embed' returns embeddings of 4"},
      {[](nlohmann::json& j) { j["special_tokens"]["pad"] = 12; }, "special_tokens.pad is id 12, outside the vocabulary"},
      {[](nlohmann::json& j) { j["special_tokens"]["cls"] = "<s>"; }, "special_tokens.cls is '<s>', which the vocabulary"},
      {[](nlohmann::json& j) { j["tokenizer"]["type"] = "bpe"; }, "tokenizer.type 'bpe' is not supported"},
      // 8 position embeddings: a probe of 9 tokens fails inside the model.
      {[](nlohmann::json& j) { j["max_length"] = 9; }, "on a probe of 9 tokens; if the model has fewer position"},
  };
  for (const auto& [edit, expected] : cases) {
    EditableBundle bundle(kTestModels + "/tiny-text");
    edit(bundle.json());
    const std::string message = text_load_error(bundle);
    EXPECT_TRUE(contains(message, expected)) << message;
    EXPECT_TRUE(contains(message, "docs/bundles.md")) << message;
  }
  EditableBundle image(shipped_model("mnist-cnn"));
  image.json()["labels"] = {"zero", "one"};
  const std::string folder = image.save();
  const std::string message = error_of([&] { igx::ImageClassifier::load(folder); });
  EXPECT_TRUE(contains(message, "labels has 2 names but 'forward' returns 10 outputs per image")) << message;
}

// The failure of a hand-written export: embed returns word + position embeddings, and
// forward_embeds adds the positions again. Refused at load with the difference.
TEST(BundleValidation, ForwardEmbedsOfEmbedMustEqualForward) {
  const std::string message =
      error_of([] { igx::TextClassifier::load(kTestModels + "/tiny-text-embed-with-positions"); });
  EXPECT_TRUE(contains(message, "forward_embeds(embed(ids)) differs from forward(ids) by")) << message;
  EXPECT_TRUE(contains(message, "embed must return the word embeddings only")) << message;
  EXPECT_NO_THROW(igx::TextClassifier::load(kTestModels + "/tiny-text"));
}

// Hugging Face models return a dict: its "logits" are the output.
TEST(BundleValidation, DictWithLogitsIsAccepted) {
  auto plain = igx::TextClassifier::load(kTestModels + "/tiny-text");
  auto dict = igx::TextClassifier::load(kTestModels + "/tiny-text-dict");
  const igx::TextBatch batch = plain.encode({"hello world", "this model"});
  EXPECT_TRUE(torch::equal(plain.logits(batch.ids, batch.mask), dict.logits(batch.ids, batch.mask)));
}

// A vocabulary whose special tokens have other names (RoBERTa's) works once igx.json declares
// them, by id or by name, and gives the same tokens ids and logits as BERT's names.
TEST(BundleValidation, DeclaredSpecialTokensAreHonoured) {
  auto bert = igx::TextClassifier::load(kTestModels + "/tiny-text");
  const std::vector<std::string> renamed = {"<pad>", "<unk>", "<s>", "</s>", "<mask>"};
  for (const bool by_name : {false, true}) {
    EditableBundle bundle(kTestModels + "/tiny-text");
    std::vector<std::string> lines;
    {
      std::ifstream vocabulary(bundle.folder() / "vocab.txt");
      for (std::string line; std::getline(vocabulary, line);) lines.push_back(line);
    }
    std::ofstream vocabulary(bundle.folder() / "vocab.txt");
    for (size_t i = 0; i < lines.size(); ++i) vocabulary << (i < renamed.size() ? renamed[i] : lines[i]) << "\n";
    vocabulary.close();
    if (by_name) {
      bundle.json()["special_tokens"] = {
          {"pad", "<pad>"}, {"unk", "<unk>"}, {"cls", "<s>"}, {"sep", "</s>"}, {"mask", "<mask>"}};
    }
    auto roberta = igx::TextClassifier::load(bundle.save());
    const igx::TextBatch ours = roberta.encode({"hello, unknown world"});
    const igx::TextBatch theirs = bert.encode({"hello, unknown world"});
    EXPECT_EQ(ours.encodings[0].tokens,
              (std::vector<std::string>{"<s>", "hello", "<unk>", "<unk>", "world", "</s>"}));
    EXPECT_EQ(ours.encodings[0].ids, theirs.encodings[0].ids);
    EXPECT_TRUE(torch::equal(roberta.logits(ours.ids, ours.mask), bert.logits(theirs.ids, theirs.mask)));
    EXPECT_EQ(roberta.tokenizer().mask_id(), 4);
  }
  // Undeclared, the BERT names are looked for, and the message says how to declare others.
  EditableBundle bundle(kTestModels + "/tiny-text");
  bundle.json().erase("special_tokens");
  bundle.json().erase("vocab_size");
  std::ofstream(bundle.folder() / "vocab.txt") << "<pad>\n<unk>\n<s>\n</s>\nhello\n";
  const std::string message = text_load_error(bundle);
  EXPECT_TRUE(contains(message, "has no [PAD] token (pad)")) << message;
  EXPECT_TRUE(contains(message, "special_tokens.pad")) << message;
}

}  // namespace
