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

/// How many rows a forward+backward batch holds.
enum class BatchSizing {
  /// internal_batch_size rows (fewer in a call's last batch).
  Fixed,
  /// On the CPU: the first batch (16 rows at most) measures the memory a row takes through
  /// forward and backward; the later ones hold as many rows as fit the CPU's last-level cache
  /// (per-row cost grows once a batch's working set spills out of it: docs/benchmarks.md), at
  /// most internal_batch_size, else a power of two (rows_fitting), at least 1. Other devices:
  /// internal_batch_size rows. Results do not depend on the choice beyond float rounding.
  Automatic,
};

class Integrator {
 public:
  /// `extras`: each [B, ...]; `internal_batch_size`: the most rows per model call, 0 for no
  /// limit. Targets ([B] int64, one class per example) are set before values or integrate.
  Integrator(Model& model, ExtraInputs extras, OutputKind output, int64_t internal_batch_size,
             BatchSizing sizing = BatchSizing::Automatic);

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
  /// Bytes one row took through forward and backward in the first batch (Automatic sizing on
  /// the CPU, once a batch has run; else 0).
  int64_t bytes_per_row() const { return bytes_per_row_; }

 private:
  torch::Tensor run_forward(const torch::Tensor& points, const torch::Tensor& examples);
  void check_targets_once(const torch::Tensor& outputs);
  /// Rows of the next forward+backward batch.
  int64_t gradient_batch_rows() const;
  Model& model_;
  torch::Tensor targets_;
  ExtraInputs extras_;
  OutputKind output_;
  int64_t max_rows_;
  BatchSizing sizing_;
  int64_t chosen_rows_ = 0;    // Automatic: rows per batch once measured; 0 before
  int64_t bytes_per_row_ = 0;  // Automatic: measured by the first batch
  EvaluationCounts counts_;
  bool targets_checked_ = false;
};

/// Automatic sizing's rule: `max_rows` when that many rows of `bytes_per_row` fit in
/// `cache_bytes`, else the largest power of two of rows that fits, at least 1.
int64_t rows_fitting(int64_t bytes_per_row, int64_t cache_bytes, int64_t max_rows);

/// Free memory igx's batches keep in the process (glibc's trim threshold): twice the largest
/// batch's peak so far, at least 64 MiB, so that a batch reuses what the one before freed instead
/// of page-faulting it in afresh; 0 where igx leaves malloc alone (not glibc, or the process was
/// started with malloc settings of its own: GLIBC_TUNABLES, MALLOC_TRIM_THRESHOLD_, ...).
int64_t batch_memory_kept_bytes();

/// Size of the CPU's last-level cache in bytes (Linux sysfs), or 32 MiB when unknown.
int64_t last_level_cache_bytes();

/// Checks a model's output for a batch of `rows` rows: a floating [rows, C] or [rows] tensor.
void check_model_output(const torch::Tensor& outputs, int64_t rows, const Model& model);

}  // namespace igx
