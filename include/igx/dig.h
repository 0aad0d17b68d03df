#pragma once
// Discretized Integrated Gradients (Sanyal & Ren, EMNLP 2021): for language models, a path that
// runs through real word embeddings instead of the straight line, made monotone so that every
// point lies between the baseline and the input in every dimension.
//
// For each token, from its input word w towards the baseline word b:
//   1. candidates: the K nearest vocabulary words (Euclidean) of the previous anchor word,
//      minus b and the words already on this token's path;
//   2. each candidate c is scored against a reference r: with AnchorScore::Word (the default,
//      as the authors' code does) r is the previous anchor word's embedding, with
//      AnchorScore::Point the current path point p. Monotonizing c against r moves every
//      dimension d where c_d is not between b_d and r_d to r_d - (r_d - b_d) / m;
//   3. Greedy takes the candidate whose monotonized vector is closest to c; MaxCount the one
//      with the most dimensions already between b and r (ties: the nearer neighbour; scores
//      are computed in the vocabulary's dtype);
//   4. the chosen word is the next anchor, and the chosen word monotonized against the point p
//      (whatever the score) is the next point.
// m steps give m anchors (when no candidate is left, the path goes to b and stays there). The
// points, reversed, run b -> ... -> w; `upscale` u puts u - 1 evenly spaced points between
// consecutive ones. All tokens move jointly: path point k is the sequence of every token's
// k-th point; [CLS], [SEP] and padding stay at the input. The attribution is the left sum
// A = sum_k grad F(p_k) (.) (p_{k+1} - p_k) for one fixed target class (the reference explains
// the largest logit at each point instead, which can change class along the path).
//
// The reference is github.com/INK-USC/DIG (monotonic_paths.py, knn.py); docs/dig.md compares
// the two scores and reports a side-by-side run with it.

#include <torch/torch.h>

#include <string>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx {

/// The K nearest other words of vocabulary words by Euclidean distance, computed for the words
/// asked for (in batched passes) and kept. The ranking is by squared distances computed in
/// float64 from the rows (equal ones by id), so the lists are the same whether a word is
/// computed alone, in a batch, or by prepare_all(); a float32 matrix product per batch of words
/// screens the vocabulary first, with a proven bound on its error, so that only the words that
/// can be among the K nearest are computed in float64. Computing on demand is the default
/// because it measured cheaper (docs/dig.md): 64 test texts visit a third of the shipped
/// vocabulary.
class NeighbourIndex {
 public:
  /// `vocabulary` [V, D] floating (moved to the CPU); `neighbours` K >= 1 (at most V - 1 exist).
  NeighbourIndex(torch::Tensor vocabulary, int64_t neighbours);

  /// Computes the lists of the given words that are not known yet, in one batched pass.
  void prepare(const std::vector<int64_t>& words);
  /// Computes every word's list.
  void prepare_all();
  /// The neighbours of `word`, nearest first, equal distances by id; computed when needed.
  const std::vector<int64_t>& of(int64_t word);

  int64_t neighbours() const { return neighbours_; }  ///< K as asked
  int64_t vocabulary_size() const { return vocabulary_.size(0); }
  int64_t known() const { return known_; }            ///< words whose lists are computed
  const torch::Tensor& vocabulary() const { return vocabulary_; }                ///< [V, D] as given
  const torch::Tensor& vocabulary_double() const { return vocabulary_double_; }  ///< [V, D] float64

 private:
  void check_word(int64_t word) const;
  torch::Tensor vocabulary_;
  torch::Tensor vocabulary_double_;
  torch::Tensor vocabulary_single_;     // [V, D] float32, for screening
  torch::Tensor squared_norms_single_;  // [V] float32
  double largest_squared_norm_ = 0;
  int64_t neighbours_;
  std::vector<std::vector<int64_t>> lists_;  // empty until computed
  int64_t known_ = 0;
};

/// How the next anchor is chosen among the candidates.
enum class AnchorStrategy {
  Greedy,    ///< the candidate nearest to its monotonized vector
  MaxCount,  ///< the candidate with the most monotone dimensions
};
std::string anchor_strategy_name(AnchorStrategy strategy);  ///< "greedy", "maxcount"
AnchorStrategy parse_anchor_strategy(const std::string& name);

/// What the candidates for the next anchor are scored against (the path itself is always built
/// from the point).
enum class AnchorScore {
  Word,   ///< the previous anchor word's embedding, as the authors' code does
  Point,  ///< the current path point, so that Greedy measures the vector that enters the path
};
std::string anchor_score_name(AnchorScore score);  ///< "word", "point"
AnchorScore parse_anchor_score(const std::string& name);

struct DigOptions {
  TORCH_ARG(AnchorStrategy, strategy) = AnchorStrategy::Greedy;
  TORCH_ARG(AnchorScore, score) = AnchorScore::Word;  ///< what candidates are scored against
  TORCH_ARG(int64_t, anchors) = 30;      ///< m: anchors per token (the reference's `steps`)
  TORCH_ARG(int64_t, neighbours) = 500;  ///< K: candidates per step (the size of the NeighbourIndex)
  /// u: sub-intervals per anchor interval (u - 1 inserted points; the reference's factor f is u = 2^f).
  TORCH_ARG(int64_t, upscale) = 1;
  TORCH_ARG(Target, target) = Target::predicted();     ///< explained class, fixed along the path
  TORCH_ARG(OutputKind, output) = OutputKind::Logit;
  TORCH_ARG(int64_t, internal_batch_size) = 0;         ///< most rows per model call; 0 = all
  TORCH_ARG(double, min_output_gap) = 1e-6;            ///< as in IgOptions
};

/// The DIG path of one sequence.
struct DigPath {
  /// [K, T, D] in the vocabulary's dtype, K = (m + 1) u + 1: point 0 is the baseline, point K - 1
  /// the input; tokens that stay are at the input in every point.
  torch::Tensor points;
  /// Per position: its m anchor words, from the input side towards the baseline (the baseline
  /// word where the search ran out of candidates); empty for positions that stay.
  std::vector<std::vector<int64_t>> anchors;
};

/// Builds the paths of sequences `ids` [B, T] (int64 vocabulary ids); tokens where `moving`
/// [B, T] (bool) is false stay at the input. All moving tokens of all sequences advance one
/// anchor per round, so each round asks `index` for the neighbours of all current words at once.
std::vector<DigPath> build_dig_paths(NeighbourIndex& index, const torch::Tensor& ids, const torch::Tensor& moving,
                                     int64_t baseline_word, const DigOptions& options = {});

/// A = sum_k grad F(p_k) (.) (p_{k+1} - p_k) on each path (one batched Integrator call), with
/// F(x) and F(x') taken from the paths' end points. Reports: delta and relative error as for IG;
/// steps = K; error_bound = sum over segments of |grad F(p_k) . (p_{k+1} - p_k) - (F(p_{k+1}) -
/// F(p_k))| / |F(x) - F(x')| (each segment is straight, so its exact integral is the difference
/// of F), a bound on the relative error that does not count on segments cancelling. No
/// `certified`: the path is fixed, not refined to a tolerance.
Attribution integrate_dig_paths(Model& model, const std::vector<DigPath>& paths, const DigOptions& options = {},
                                const ExtraInputs& extras = {});

/// build_dig_paths, then integrate_dig_paths.
Attribution discretized_integrated_gradients(Model& model, NeighbourIndex& index, const torch::Tensor& ids,
                                             const torch::Tensor& moving, int64_t baseline_word,
                                             const DigOptions& options = {}, const ExtraInputs& extras = {});

}  // namespace igx
