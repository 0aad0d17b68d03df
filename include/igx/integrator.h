#pragma once
// The one place where the model is run: batched forward (+ backward) over the points of many
// paths of many examples, packed into batches of at most `internal_batch_size` rows.

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "igx/model.h"
#include "igx/path.h"
#include "igx/target.h"

namespace igx {

/// A path to evaluate and the example it belongs to (its row in the targets and extra inputs).
struct PathJob {
  const Path* path;             ///< not owned; must outlive the call
  int64_t example;              ///< index into the batch of examples
  bool keep_gradients = false;  ///< also return each point's gradient (adaptive refinement needs them)
};

/// What evaluating one path gives.
struct PathResult {
  torch::Tensor weighted_gradient_sum;  ///< sum_k weight_k * grad F(point_k), float64, example shape
  std::vector<double> values;           ///< F(point_k) for each point
  std::vector<double> output_magnitudes;  ///< max |raw model output| at each point (the scale of F's rounding)
  torch::Tensor gradients;              ///< [K, ...] grad F(point_k), when the job asked to keep them
};

/// Counts of model rows evaluated, for step reports and benchmarks.
struct EvaluationCounts {
  int64_t gradient_rows = 0;  ///< rows run forward and backward
  int64_t forward_rows = 0;   ///< rows run forward only
  int64_t batches = 0;        ///< model calls
};

class Integrator {
 public:
  /// `extras`: each [B, ...]; `internal_batch_size`: the most rows per model call, 0 for no
  /// limit. Targets ([B] int64, one class per example) are set before values or integrate.
  Integrator(Model& model, ExtraInputs extras, OutputKind output, int64_t internal_batch_size);

  /// Runs every path's points forward and backward and accumulates their weighted gradients.
  /// Points of several paths share a batch; a path longer than a batch spans several.
  std::vector<PathResult> integrate(const std::vector<PathJob>& jobs);

  /// F at `points` [N, ...] of the given examples [N], forward only.
  torch::Tensor values(const torch::Tensor& points, const torch::Tensor& examples);

  /// The model's raw outputs at `points` [N, ...] of the given examples, forward only (to pick
  /// the predicted class before the targets are known).
  torch::Tensor outputs(const torch::Tensor& points, const torch::Tensor& examples);

  /// Sets the class explained for each example ([B] int64).
  void set_targets(torch::Tensor targets) {
    targets_ = std::move(targets);
    targets_checked_ = false;
  }

  const torch::Tensor& targets() const { return targets_; }
  const EvaluationCounts& counts() const { return counts_; }

 private:
  torch::Tensor run_forward(const torch::Tensor& points, const torch::Tensor& examples);
  void check_targets_once(const torch::Tensor& outputs);
  Model& model_;
  torch::Tensor targets_;
  ExtraInputs extras_;
  OutputKind output_;
  int64_t max_rows_;
  EvaluationCounts counts_;
  bool targets_checked_ = false;
};

/// Checks a model's output for a batch of `rows` rows: a floating [rows, C] or [rows] tensor.
void check_model_output(const torch::Tensor& outputs, int64_t rows, const Model& model);

}  // namespace igx
