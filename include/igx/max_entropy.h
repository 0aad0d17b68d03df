#pragma once
// The maximum-entropy baseline (Tan, IJCNN 2023; the baseline of the step-count study of
// Makino et al.): the input the model is least sure about, whose output distribution
// softmax(F(x')) is closest to uniform. Two forms:
//  - Data: as the paper defines it, chosen from data (a test set) by the entropy of the model's
//    output — for each example, the candidate whose output has the largest entropy;
//  - Optimize: gradient ascent on the output entropy from a starting baseline ([PAD], black),
//    projected into the input domain (a box), for when no data is at hand or none is uncertain
//    enough.
// Entropies are in nats; the largest possible is log C for C classes.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "igx/image.h"
#include "igx/model.h"
#include "igx/text.h"

namespace igx {

enum class MaxEntropyForm {
  Data,      ///< the candidate with the largest output entropy
  Optimize,  ///< gradient ascent on the output entropy within the domain
};
std::string max_entropy_form_name(MaxEntropyForm form);  ///< "data", "optimize"
/// "data" or "optimize"; igx::Error naming the text otherwise.
MaxEntropyForm parse_max_entropy_form(const std::string& name);

struct MaxEntropyOptions {
  TORCH_ARG(int64_t, internal_batch_size) = 256;  ///< Data: most candidates per forward pass; 0 = all
  TORCH_ARG(int64_t, max_iterations) = 300;       ///< Optimize: most gradient steps
  /// Optimize: Adam's step at first, as a fraction of each dimension's domain width; at
  /// iteration t it is step_size / (1 + t / step_decay).
  TORCH_ARG(double, step_size) = 0.003;
  TORCH_ARG(double, step_decay) = 50;
  /// Optimize: stop once log C - entropy is at most this for every example.
  TORCH_ARG(double, entropy_gap) = 1e-6;
};

/// A baseline per example and what the model says at it.
struct MaxEntropyBaseline {
  torch::Tensor baseline;       ///< [B, ...] like the inputs
  torch::Tensor outputs;        ///< [B, C] the model's outputs at the baseline (float64, CPU)
  std::vector<double> entropy;  ///< per example, of softmax(outputs), nats
  double max_entropy = 0;       ///< log C
  /// Data: per example, the row of the candidates chosen. Optimize: per example, the gradient
  /// steps taken until its gap was reached (or max_iterations).
  std::vector<int64_t> chosen;
};

/// The entropy of softmax(outputs) of each row, [N] float64 on the CPU. `outputs` [N, C], C >= 2;
/// igx::Error otherwise (one output has no distribution to be uniform).
torch::Tensor output_entropy(const torch::Tensor& outputs);

/// Data form for one example: of `candidates` [N, ...] (points the model takes, each with the
/// extra inputs `extras`, given for one row and expanded to N), the index of the one with the
/// largest output entropy (the first among equals), its entropy and outputs.
struct EntropyChoice {
  int64_t index = 0;
  double entropy = 0;
  torch::Tensor outputs;  ///< [C] float64
};
EntropyChoice most_uncertain(Model& model, const torch::Tensor& candidates, const ExtraInputs& extras = {},
                             const MaxEntropyOptions& options = {});

/// Optimize form: from `start` [B, ...], Adam ascent towards uniform outputs (on mean_c log p_c,
/// which peaks where the entropy does without vanishing gradients where the softmax
/// saturates), only on the entries where `movable` (bool, broadcastable to start; undefined =
/// all) is true, every step projected into [low, high] (broadcastable to start). The first point
/// is start itself, and each example keeps the point of largest entropy it reached.
MaxEntropyBaseline maximize_entropy(Model& model, const torch::Tensor& start, const torch::Tensor& low,
                                    const torch::Tensor& high, const torch::Tensor& movable = {},
                                    const ExtraInputs& extras = {}, const MaxEntropyOptions& options = {});

/// Texts. Data: for each text of `batch`, the candidate texts' ordinary tokens put in its
/// ordinary positions (cut at its length, [PAD] after a shorter candidate; [CLS], [SEP] and
/// padding stay), with its attention mask, and the one of largest entropy. Optimize: from the
/// [PAD] baseline, within the box of the vocabulary's embeddings (each dimension between its
/// smallest and largest value over the vocabulary). `candidates` are ignored by Optimize;
/// Data needs at least one (igx::Error otherwise).
MaxEntropyBaseline max_entropy_text_baseline(TextClassifier& classifier, const TextBatch& batch, MaxEntropyForm form,
                                             const std::vector<std::string>& candidates = {},
                                             const MaxEntropyOptions& options = {});

/// Images, pixels [B, C, H, W] in [0, 1]. Data: of `candidates` [N, C, H, W], the image of
/// largest entropy (the same for every example). Optimize: from black, within [0, 1].
MaxEntropyBaseline max_entropy_image_baseline(ImageClassifier& classifier, const torch::Tensor& pixels,
                                              MaxEntropyForm form, const torch::Tensor& candidates = {},
                                              const MaxEntropyOptions& options = {});

}  // namespace igx
