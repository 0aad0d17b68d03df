#pragma once
// The pruning study of Lundstrom et al. (ICML 2022): rank the neurons of a layer by their share
// of an input patch's attribution (patch -> neuron IG_{S,j}), zero the top k, and see where the
// input attribution of the pruned model goes. If IG_{S,j} says which neurons carry the patch's
// contribution, removing them should drain the attribution inside the patch more than outside
// it, and more than removing neurons ranked by conductance or at random.
//
// The pruned model is a composition, upper(m ⊙ lower(x)), with the 0/1 mask m an extra input of
// one row per example: one integrated_gradients call then explains every pruned model of the
// study at once, and the batched forward+backward stays in the Integrator.

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "igx/integrated_gradients.h"
#include "igx/layer.h"

namespace igx {

/// What one pruning step removes: a whole channel (all its positions), or one unit of the layer.
enum class PruneUnit {
  Channel,  ///< the activation's first dimension ([C, H, W] -> C units)
  Neuron,   ///< every entry of the activation (C * H * W units)
};

std::string prune_unit_name(PruneUnit unit);        ///< "channel", "neuron"
PruneUnit parse_prune_unit(const std::string& name);

/// F_m(x) = upper(m ⊙ lower(x)). The mask m is the last extra input, one row per example with
/// the activation's shape (or one broadcastable to it, e.g. [N, C, 1, 1]); the other extra
/// inputs go to both parts as in SplitModel.
class PrunedModel : public Model {
 public:
  explicit PrunedModel(SplitModel split);
  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override;
  std::string describe() const override;
  torch::Device device() const override { return split_.upper->device(); }

 private:
  SplitModel split_;
};

/// The 0/1 mask of one example's activation shape with the `pruned` units (indices into the
/// units of `unit`) set to 0. igx::Error for an index outside the units.
torch::Tensor prune_mask(c10::IntArrayRef activation_shape, PruneUnit unit, const std::vector<int64_t>& pruned);

/// The number of units of an activation shape: C for channels, the product for neurons.
int64_t unit_count(c10::IntArrayRef activation_shape, PruneUnit unit);

/// One score per unit from per-neuron values of one example ([C, ...]): channel sums, or the
/// flattened values. float64.
torch::Tensor unit_scores(const torch::Tensor& neuron_values, PruneUnit unit);

/// The units by descending score, ties in index order ([U] int64). By magnitude: by |score|.
torch::Tensor rank_by_score(const torch::Tensor& scores, bool magnitude = false);

/// A uniformly random order of `count` units, the same for the same seed ([U] int64).
torch::Tensor random_ranking(int64_t count, uint64_t seed);

/// The size x size window of an image [C, H, W] holding the most ink (largest pixel sum; the
/// first in row-major order on ties), as {x0, y0, x1, y1} with x1, y1 excluded: a patch on the
/// stroke of a digit when none is given.
std::array<int64_t, 4> densest_window(const torch::Tensor& image, int64_t size);

struct PruneStudyOptions {
  /// Baseline, rule, steps, output kind and batch size of every IG and of the rankings. Fixed
  /// steps only, so that Σ_j IG_{S,j} matches the patch's input IG at k = 0. Its target is
  /// replaced by the unpruned model's class, kept for every pruned model.
  TORCH_ARG(IgOptions, ig) = IgOptions().n_steps(32);
  TORCH_ARG(PruneUnit, unit) = PruneUnit::Neuron;  ///< the paper prunes single neurons
  TORCH_ARG(int64_t, max_k) = 16;      ///< prune k = 1 .. max_k units of each ranking
  TORCH_ARG(uint64_t, seed) = 0;       ///< of the random ranking
  TORCH_ARG(bool, magnitude) = false;  ///< rank by |score| instead of the signed score
};

/// One pruned model of the study, explained at the input.
struct PruneRecord {
  std::string ranking;          ///< "patch-ig", "conductance" or "random" (all three share k = 0)
  int64_t k = 0;                ///< units zeroed: the first k of the ranking
  double inside = 0;            ///< Σ_{i∈S} IG_i of the pruned model
  double outside = 0;           ///< Σ_{i∉S} IG_i
  double inside_share = 0;      ///< Σ_{i∈S} |IG_i| / Σ_i |IG_i| (NaN when every IG_i is 0)
  double outside_share = 0;     ///< Σ_{i∉S} |IG_i| / Σ_i |IG_i|
  double logit = 0;             ///< the target's logit F_m(x)
  double probability = 0;       ///< softmax probability of the target
  int64_t predicted = 0;        ///< argmax class of the pruned model
  double output_input = 0;      ///< F_m(x) in the explained output kind
  double output_baseline = 0;   ///< F_m(x')
  double delta = 0;             ///< completeness error of the pruned model's IG
};

struct PruneStudy {
  int64_t target = 0;                      ///< the unpruned model's class, explained throughout
  int64_t units = 0;                       ///< units of the layer
  torch::Tensor patch_scores;              ///< [U] IG_{S,j} per unit (float64)
  torch::Tensor conductance_scores;        ///< [U] conductance per unit (float64)
  std::vector<std::string> ranking_names;  ///< "patch-ig", "conductance", "random"
  std::vector<torch::Tensor> rankings;     ///< [U] int64 per name, best first
  double patch_neuron_sum = 0;             ///< Σ_j IG_{S,j}; equals the k = 0 record's inside
  /// For each ranking in turn, k = 0 .. max_k. k = 0 is the unpruned model, explained once and
  /// repeated under each ranking so that every ranking's curve starts at the same point.
  std::vector<PruneRecord> records;
  torch::Tensor attribution;               ///< input IG of the unpruned model, [C, H, W] like one input
  EvaluationCounts counts;                 ///< model rows of the pruned models' IG
};

/// The study for one example `input` [1, ...] and patch `patch` (one example's shape, non-zero
/// inside S). `split`'s activations must have a channel dimension first for PruneUnit::Channel.
PruneStudy prune_study(SplitModel& split, const torch::Tensor& input, const torch::Tensor& patch,
                       const PruneStudyOptions& options = {}, const ExtraInputs& extras = {});

}  // namespace igx
