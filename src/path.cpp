#include "igx/path.h"

#include <ATen/TensorIterator.h>

#include <algorithm>
#include <cstdio>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

torch::Tensor column(const std::vector<double>& values, int64_t begin, int64_t end) {
  return torch::tensor(std::vector<double>(values.begin() + begin, values.begin() + end),
                       torch::kDouble);
}

// On the CPU, a batch's points up to this many elements are written in runs of rows below ATen's
// grain (at::internal::GRAIN_SIZE), which it runs on the calling thread. In one call, a 100-row MLP
// batch (78 400 elements) woke LibTorch's OpenMP pool, whose workers then spun against
// OpenBLAS's threads in a model that otherwise never enters an OpenMP region
// (docs/benchmarks.md). Larger batches are worth the pool: one call.
constexpr int64_t kSerialElements = int64_t{1} << 20;

void check_range(int64_t begin, int64_t end, int64_t size) {
  if (begin < 0 || end > size || begin > end) {
    throw Error("path rows [" + std::to_string(begin) + ", " + std::to_string(end) +
                ") are outside the path's " + std::to_string(size) + " points");
  }
}

}  // namespace

StraightLinePath::StraightLinePath(torch::Tensor baseline, torch::Tensor input, Quadrature quadrature)
    : baseline_(std::move(baseline)), input_(std::move(input)), quadrature_(std::move(quadrature)) {
  if (baseline_.sizes() != input_.sizes()) {
    throw Error("straight-line path: baseline shape " + shape_string(baseline_) +
                " differs from input shape " + shape_string(input_));
  }
}

torch::Tensor StraightLinePath::points(int64_t begin, int64_t end) const {
  std::vector<int64_t> shape = point_shape();
  shape.insert(shape.begin(), end - begin);
  torch::Tensor out = torch::empty(shape, point_options());
  write_points(begin, end, out);
  return out;
}

void StraightLinePath::write_points(int64_t begin, int64_t end, torch::Tensor out) const {
  check_range(begin, end, size());
  std::vector<int64_t> shape(input_.dim() + 1, 1);
  shape[0] = end - begin;
  // The nodes are read in place (no copy into a tensor of their own before the conversion).
  const torch::Tensor alpha = torch::from_blob(const_cast<double*>(quadrature_.nodes.data()) + begin, shape, torch::kDouble)
                                  .to(point_options());
  // lerp is exactly x' at a = 0 and exactly x at a = 1 (it switches to x - (1 - a)(x - x')
  // for a >= 1/2), so end-point evaluations reproduce F(x') and F(x) bit for bit. Each row's
  // value does not depend on how the rows are split into calls.
  const int64_t rows = end - begin;
  const int64_t row_size = std::max<int64_t>(input_.numel(), 1);
  const int64_t rows_per_call = !out.device().is_cpu() || rows * row_size > kSerialElements
                                   ? rows
                                   : std::max<int64_t>(1, (at::internal::GRAIN_SIZE - 1) / row_size);
  for (int64_t first = 0; first < rows; first += rows_per_call) {
    const int64_t count = std::min(rows_per_call, rows - first);
    torch::Tensor part = out.narrow(0, first, count);
    torch::lerp_out(part, baseline_.unsqueeze(0), input_.unsqueeze(0), alpha.narrow(0, first, count));
  }
}

std::string Path::describe_point(int64_t k) const {
  return "path point " + std::to_string(k) + " of " + std::to_string(size());
}

std::string StraightLinePath::describe_point(int64_t k) const {
  char text[48];
  std::snprintf(text, sizeof text, "alpha = %.6g", quadrature_.nodes.at(k));
  return text;
}

torch::Tensor StraightLinePath::weights(int64_t begin, int64_t end) const {
  check_range(begin, end, size());
  return column(quadrature_.weights, begin, end);
}

PointListPath::PointListPath(torch::Tensor points, torch::Tensor weights)
    : points_(std::move(points)), weights_(std::move(weights)) {
  if (weights_.dim() < 1 || weights_.size(0) != points_.size(0) ||
      (weights_.dim() > 1 && weights_.sizes() != points_.sizes())) {
    throw Error("path weights have shape " + shape_string(weights_) + "; expected [" +
                std::to_string(points_.size(0)) + "] or " + shape_string(points_));
  }
}

torch::Tensor PointListPath::points(int64_t begin, int64_t end) const {
  check_range(begin, end, size());
  return points_.slice(0, begin, end);
}

torch::Tensor PointListPath::weights(int64_t begin, int64_t end) const {
  check_range(begin, end, size());
  return weights_.slice(0, begin, end);
}

}  // namespace igx
