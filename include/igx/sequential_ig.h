#pragma once
// Sequential Integrated Gradients (Enguehard, ACL 2023): one straight path per token, on which
// only that token moves from its baseline (the [MASK] embedding) to the input while every other
// token stays at the input. The token's attribution is taken from its own path.
//
// Completeness holds per token: along token t's path only x_t moves, so the integral of
// grad F . dx is exactly F(x) - F(x with token t at its baseline) =: gap_t, and
// sum_d A_{t,d} = gap_t up to the quadrature error delta_t. There is no single baseline for the
// whole sequence; the per-token reports are the exact statement, and the example's report
// aggregates them (see sequential_integrated_gradients).

#include <torch/torch.h>

#include <vector>

#include "igx/integrated_gradients.h"

namespace igx {

/// The completeness report of one token's own path.
struct TokenReport {
  int64_t position = 0;  ///< the token's index in the sequence
  /// output_input F(x); output_baseline F(x with this token at its baseline); attribution_sum the
  /// token's A_t; delta, relative_error, steps, certified and error_bound as for IG on that path.
  ExampleReport report;
};

struct SequentialAttribution {
  /// values [B, T, ...]: row t is token t's attribution from its own path, 0 where a token does
  /// not move. Each example's report aggregates its tokens': output_input F(x); output_baseline
  /// F(x) - sum_t gap_t, so that delta = attribution_sum - sum_t gap_t = sum_t delta_t; steps
  /// summed; relative_error = sum_t |delta_t| / sum_t |gap_t| (tokens' errors do not cancel;
  /// undefined when sum_t |gap_t| is too small); certified when every token is; error_bound =
  /// sum_t bound_t |gap_t| / sum_t |gap_t| when every token has a bound.
  Attribution attribution;
  std::vector<std::vector<TokenReport>> tokens;  ///< per example, its moving tokens in order
};

/// SIG on sequences `inputs` [B, T, ...] (e.g. word embeddings [B, T, D]): token t of example b
/// moves from `baselines`[b, t] to `inputs`[b, t] when `moving`[b, t] (bool [B, T]) is true.
/// The paths of all tokens of all examples are integrated together by integrated_gradients with
/// `options` (any rule or strategy; options.baseline() is ignored), the target fixed per example
/// to the class `options.target()` gives at the input. `extras` have one row per example.
SequentialAttribution sequential_integrated_gradients(Model& model, const torch::Tensor& inputs,
                                                      const torch::Tensor& baselines, const torch::Tensor& moving,
                                                      const IgOptions& options = {}, const ExtraInputs& extras = {});

}  // namespace igx
