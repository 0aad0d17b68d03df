#pragma once
// Faithfulness of token attributions, as DIG (Sanyal & Ren, 2021) measures it: remove the tokens
// an explanation ranks highest and see how the prediction changes.
//
// With y the class predicted at the input, p(y) its probability, and the top k% of the ordinary
// tokens ranked by attribution (largest first; k% of n tokens is floor(k n / 100) tokens, as in
// DIG's code, and when that is 0 nothing changes and every score is 0):
//  - log-odds: the top tokens' embeddings replaced by [PAD]'s (attention kept);
//    LO = log p'(y) - log p(y), lower is better;
//  - comprehensiveness: the top tokens deleted; p(y) - p'(y), higher is better;
//  - sufficiency: only the top tokens kept; p(y) - p'(y), lower is better;
//  - AOPC: comprehensiveness and sufficiency averaged over k in {1, 5, 10, 20, 50}%.
// Deleting compacts the sequence (later tokens move up, so positions are renumbered as DIG's
// code does). Special tokens ([CLS], [SEP]) are never ranked and are kept by every
// perturbation; DIG's code ranks them with the rest and drops them for sufficiency, which a
// model pooled over [CLS] ... [SEP] was never trained on.

#include <torch/torch.h>

#include <functional>
#include <vector>

#include "igx/explanation.h"
#include "igx/text.h"

namespace igx {

/// Logits [N, C] of token sequences `ids` [N, T] (int64) with `attention_mask` [N, T].
using SequenceClassifier = std::function<torch::Tensor(const torch::Tensor& ids, const torch::Tensor& attention_mask)>;

struct FaithfulnessOptions {
  TORCH_ARG(double, percent) = 20.0;  ///< k of log-odds, comprehensiveness and sufficiency
  TORCH_ARG(std::vector<double>, aopc_percents) = std::vector<double>({1.0, 5.0, 10.0, 20.0, 50.0});
  TORCH_ARG(int64_t, batch_size) = 256;  ///< most sequences per classifier call; 0 = all
};

struct FaithfulnessScores {
  int64_t predicted = 0;            ///< y, the class predicted at the input
  double probability = 0;           ///< p(y) at the input
  double log_odds = 0;              ///< log p'(y) - log p(y), top k% replaced by [PAD]
  double comprehensiveness = 0;     ///< p(y) - p'(y), top k% deleted
  double sufficiency = 0;           ///< p(y) - p'(y), only the top k% kept
  double aopc_comprehensiveness = 0;
  double aopc_sufficiency = 0;
};

/// The tokens to remove: the floor(percent / 100 * n) highest-scoring of the n positions where
/// `rankable` is true (equal scores: the earlier position first). `scores` and `rankable` [T].
std::vector<int64_t> top_tokens(const torch::Tensor& scores, const torch::Tensor& rankable, double percent);

/// Scores every example: `ids`, `attention_mask` [B, T]; `rankable` [B, T] bool (the ordinary
/// tokens; positions with attention 0 are never rankable); `scores` [B, T] token attributions
/// for the predicted class; `pad_id` the replacement of log-odds. All perturbed sequences of
/// all examples go through `classifier` in batches. igx::Error for mismatched shapes or a
/// percent outside (0, 100].
std::vector<FaithfulnessScores> faithfulness(const SequenceClassifier& classifier, const torch::Tensor& ids,
                                             const torch::Tensor& attention_mask, const torch::Tensor& rankable,
                                             const torch::Tensor& scores, int64_t pad_id,
                                             const FaithfulnessOptions& options = {});

/// The same for texts of a bundle: `token_scores` [B, T] (e.g. TextExplanation::token_scores)
/// over `batch`; the ordinary tokens are ranked, [PAD] replaces for log-odds.
std::vector<FaithfulnessScores> faithfulness(TextClassifier& classifier, const TextBatch& batch,
                                             const torch::Tensor& token_scores, const FaithfulnessOptions& options = {});

/// The same for an explanation of texts of `classifier` (explainer.h): its examples' texts and
/// token scores (igx::Error for an explanation of another modality).
std::vector<FaithfulnessScores> faithfulness(TextClassifier& classifier, const Explanation& explanation,
                                             const FaithfulnessOptions& options = {});

/// Uniform random scores in [0, 1) [B, T] for the positions of `batch`, example i drawn from a
/// generator seeded with seed + i: the floor every attribution method must beat.
torch::Tensor random_token_scores(const TextBatch& batch, uint64_t seed);

}  // namespace igx
