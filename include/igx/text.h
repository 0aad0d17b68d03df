#pragma once
// Text classification bundles: WordPiece tokens in, attributions per token out. The attribution
// space is the word-embedding space; the model is the bundle's forward_embeds.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "igx/attribute.h"
#include "igx/bundle.h"
#include "igx/dig.h"
#include "igx/model.h"
#include "igx/sequential_ig.h"
#include "igx/tokenizer.h"

namespace igx {

/// What replaces each ordinary token on the baseline; [CLS] and [SEP] stay at the input.
enum class TextBaseline { Pad, Mask, Unk, Zero };
TextBaseline parse_text_baseline(const std::string& name);  ///< "pad", "mask", "unk", "zero"
std::string text_baseline_name(TextBaseline baseline);

/// Tokenised texts padded to a common length.
struct TextBatch {
  std::vector<Encoding> encodings;  ///< one per text
  torch::Tensor ids;                ///< [B, T] int64, [PAD] after each text's [SEP]
  torch::Tensor mask;               ///< [B, T] int64, 1 on real tokens
};

class TextClassifier {
 public:
  /// Loads a text bundle; igx::Error when a file or one of the methods forward, embed,
  /// forward_embeds is missing.
  static TextClassifier load(const std::string& bundle_directory, torch::Device device = torch::kCPU);

  /// Tokenises; igx::Error for an empty list, invalid UTF-8 or a text without any token.
  TextBatch encode(const std::vector<std::string>& texts) const;
  torch::Tensor embed(const torch::Tensor& ids);                             ///< [B, T, D]
  torch::Tensor logits(const torch::Tensor& ids, const torch::Tensor& mask);  ///< [B, C]
  torch::Tensor embedding_matrix();                                          ///< [V, D]
  /// The baseline's embeddings [B, T, D]: `baseline` for ordinary tokens, the input's own for
  /// [CLS], [SEP] and padding.
  torch::Tensor baseline_embeddings(const TextBatch& batch, TextBaseline baseline);
  /// [B, T] bool: the tokens that are neither [CLS], [SEP] nor padding.
  torch::Tensor ordinary_tokens(const TextBatch& batch) const;
  /// The vocabulary's nearest neighbours for DIG, made on first use and kept (remade when K changes).
  NeighbourIndex& neighbour_index(int64_t neighbours);

  /// forward_embeds(embeddings, attention_mask): the model attributions are computed on; its
  /// extra input is the attention mask.
  Model& embedding_model() { return *embedding_model_; }
  const BundleConfig& config() const { return config_; }
  const WordPieceTokenizer& tokenizer() const { return tokenizer_; }
  int64_t max_length() const { return max_length_; }
  torch::Device device() const { return device_; }

 private:
  TextClassifier(BundleConfig config, WordPieceTokenizer tokenizer, std::shared_ptr<TorchScriptModel> model,
                 int64_t max_length, torch::Device device);
  BundleConfig config_;
  WordPieceTokenizer tokenizer_;
  std::shared_ptr<TorchScriptModel> model_;            // "forward"
  std::shared_ptr<TorchScriptModel> embedding_model_;  // "forward_embeds"
  int64_t max_length_;
  torch::Device device_;
  std::shared_ptr<NeighbourIndex> neighbour_index_;
};

struct TextExplanation {
  TextBatch batch;
  Attribution attribution;      ///< values [B, T, D] on the word embeddings
  torch::Tensor token_scores;   ///< [B, T] float64: attributions summed over the embedding
  /// [B, T] float64: attribution.errors summed over the embedding, a token's estimated |error|
  /// (error-controlled strategies only; undefined otherwise).
  torch::Tensor token_errors;
  torch::Tensor probabilities;  ///< [B, C] softmax of the logits at the input
  std::vector<int64_t> predictions;
  std::vector<std::vector<TokenReport>> token_reports;  ///< sig: each moving token's own report
  /// dig-*: per example and position, the anchor words of its path (empty where tokens stay)
  std::vector<std::vector<std::vector<int64_t>>> anchors;
};

/// Texts made ready for an attribution method: tokens, the word embeddings x, the baseline's
/// embeddings x' and the prediction at the input.
struct PreparedTexts {
  TextBatch batch;
  torch::Tensor inputs;              ///< [B, T, D] word embeddings (detached)
  torch::Tensor baselines;           ///< [B, T, D] the baseline's (baseline_embeddings)
  ExtraInputs extras;                ///< the attention mask, on the model's device
  torch::Tensor probabilities;       ///< [B, C] softmax of the logits at the input, float64 on the CPU
  std::vector<int64_t> predictions;  ///< argmax at the input
  TextBaseline baseline = TextBaseline::Pad;
};

/// Tokenises, embeds and predicts `texts`, and makes the baseline's embeddings.
PreparedTexts prepare_texts(TextClassifier& classifier, const std::vector<std::string>& texts, TextBaseline baseline);

/// attribution_method_names() and the methods for text only: "dig-greedy", "dig-maxcount", "sig".
const std::vector<std::string>& text_method_names();

/// Explains each text with `method`: one of attribute()'s, or
///  - "dig-greedy", "dig-maxcount": Discretized IG (dig.h) with `dig`'s anchors, neighbours and
///    upscale factor, from the baseline word `baseline` (pad, mask or unk: a vocabulary word);
///  - "sig": Sequential IG (sequential_ig.h) with `options`' rule or strategy, each token moving
///    from `baseline` (the method's own is mask).
/// options.baseline() is ignored in favour of `baseline`; DIG takes target, output, batch size
/// and min_output_gap from `options`. The target defaults to the predicted class and stays
/// fixed along every path.
TextExplanation explain_text(TextClassifier& classifier, const std::vector<std::string>& texts,
                             const std::string& method, const IgOptions& options,
                             TextBaseline baseline = TextBaseline::Pad, const DigOptions& dig = {});

/// explain_text on texts already prepared (prepare_texts; the baseline is theirs).
TextExplanation explain_prepared_texts(TextClassifier& classifier, PreparedTexts prepared, const std::string& method,
                                       const IgOptions& options, const DigOptions& dig = {});

}  // namespace igx
