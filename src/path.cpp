#include "igx/path.h"

#include <ATen/Parallel.h>
#include <ATen/TensorIterator.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <type_traits>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

torch::Tensor column(const std::vector<double>& values, int64_t begin, int64_t end) {
  return torch::tensor(std::vector<double>(values.begin() + begin, values.begin() + end),
                       torch::kDouble);
}

// On the CPU, a batch's points up to this many elements are written on the calling thread (igx's
// loop, or ATen's lerp in runs of rows below its grain, at::internal::GRAIN_SIZE). Written in
// parallel, a 100-row MLP batch (78 400 elements) woke LibTorch's OpenMP pool, whose workers then
// spun against OpenBLAS's threads in a model that otherwise never enters an OpenMP region
// (docs/benchmarks.md). Larger batches are worth the pool.
constexpr int64_t kSerialElements = int64_t{1} << 20;

// Points are ATen's lerp, bit for bit (the end points x' and x exactly, and every point the same
// whichever batch computes it), but written by igx's own loop: ATen 1.13's lerp is a scalar
// TensorIterator kernel that cost ~0.6 ns an entry plus a few microseconds a call, ~5 % of an MLP's
// IG call (docs/benchmarks.md, session 7); the loop below is ~6x faster. ATen's formula (Lerp.h):
// a < 1/2 ? x' + a (x - x') : x - (x - x')(1 - a). Its kernels are compiled once per CPU
// capability, and those built with FMA fuse each product into its sum, so which rounding ATen
// uses is a property of the build and the CPU: it is probed once per process and dtype
// (lerp_matching_aten), and where neither variant reproduces ATen, ATen's lerp writes the points.
enum class LerpRounding { Separate, Fused, Aten };

template <typename T>
void lerp_rows_separate(const T* start, const T* end, const double* nodes, int64_t rows, int64_t size, T* out,
                        int64_t out_row_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const T weight = static_cast<T>(nodes[r]);
    T* row = out + r * out_row_stride;
    if (std::abs(weight) < T(0.5)) {
      for (int64_t i = 0; i < size; ++i) row[i] = start[i] + weight * (end[i] - start[i]);
    } else {
      const T complement = T(1) - weight;
      for (int64_t i = 0; i < size; ++i) row[i] = end[i] - (end[i] - start[i]) * complement;
    }
  }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define IGX_FUSED_LERP 1
template <typename T>
__attribute__((target("fma"))) void lerp_rows_fused(const T* start, const T* end, const double* nodes, int64_t rows,
                                                    int64_t size, T* out, int64_t out_row_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const T weight = static_cast<T>(nodes[r]);
    T* row = out + r * out_row_stride;
    if (std::abs(weight) < T(0.5)) {
      for (int64_t i = 0; i < size; ++i) row[i] = __builtin_fma(weight, end[i] - start[i], start[i]);
    } else {
      const T complement = T(1) - weight;
      for (int64_t i = 0; i < size; ++i) row[i] = __builtin_fma(start[i] - end[i], complement, end[i]);
    }
  }
}
// __builtin_fma is the double one; for float the float one (a double fma of floats rounds twice).
template <>
__attribute__((target("fma"))) void lerp_rows_fused<float>(const float* start, const float* end, const double* nodes,
                                                          int64_t rows, int64_t size, float* out,
                                                          int64_t out_row_stride) {
  for (int64_t r = 0; r < rows; ++r) {
    const float weight = static_cast<float>(nodes[r]);
    float* row = out + r * out_row_stride;
    if (std::abs(weight) < 0.5f) {
      for (int64_t i = 0; i < size; ++i) row[i] = __builtin_fmaf(weight, end[i] - start[i], start[i]);
    } else {
      const float complement = 1.0f - weight;
      for (int64_t i = 0; i < size; ++i) row[i] = __builtin_fmaf(start[i] - end[i], complement, end[i]);
    }
  }
}
#endif

template <typename T>
void lerp_rows(LerpRounding rounding, const T* start, const T* end, const double* nodes, int64_t rows, int64_t size,
               T* out, int64_t out_row_stride) {
#ifdef IGX_FUSED_LERP
  if (rounding == LerpRounding::Fused) return lerp_rows_fused(start, end, nodes, rows, size, out, out_row_stride);
#endif
  lerp_rows_separate(start, end, nodes, rows, size, out, out_row_stride);
}

// Which of igx's loops gives ATen's lerp bit for bit on this CPU, for dtype T: both are compared
// with torch::lerp on 32 weights (0, 1/2, 1, and irrational fractions on both sides of 1/2) times
// 1000 entries of mixed signs and magnitudes; under one variant ~25 % of them differ from the other.
template <typename T>
LerpRounding probe_lerp_rounding() {
  constexpr int64_t kRows = 32;  // 32 000 entries: below ATen's grain, no OpenMP region
  constexpr int64_t kSize = 1000;
  std::vector<double> nodes(kRows);
  for (int64_t r = 0; r < kRows; ++r) nodes[r] = r == kRows - 1 ? 1.0 : std::fmod(static_cast<double>(r) * 0.6180339887498949, 1.0);
  nodes[0] = 0.0;
  nodes[1] = 0.5;
  const auto dtype = std::is_same_v<T, float> ? torch::kFloat : torch::kDouble;
  const torch::Tensor start = torch::empty({kSize}, dtype);
  const torch::Tensor end = torch::empty({kSize}, dtype);
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  const auto next = [&state] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / 9007199254740992.0 - 0.5;  // [-0.5, 0.5)
  };
  for (int64_t i = 0; i < kSize; ++i) {
    start.data_ptr<T>()[i] = static_cast<T>(next() * std::pow(10.0, static_cast<double>(i % 7) - 3.0));
    end.data_ptr<T>()[i] = static_cast<T>(next() * std::pow(10.0, static_cast<double>(i % 5) - 2.0));
  }
  const torch::Tensor alpha = torch::tensor(nodes, torch::kDouble).to(dtype).view({kRows, 1});
  const torch::Tensor expected = torch::lerp(start.unsqueeze(0), end.unsqueeze(0), alpha).contiguous();
  torch::Tensor ours = torch::empty({kRows, kSize}, dtype);
  for (const LerpRounding rounding : {LerpRounding::Separate, LerpRounding::Fused}) {
#ifndef IGX_FUSED_LERP
    if (rounding == LerpRounding::Fused) continue;
#else
    if (rounding == LerpRounding::Fused && !__builtin_cpu_supports("fma")) continue;
#endif
    lerp_rows(rounding, start.data_ptr<T>(), end.data_ptr<T>(), nodes.data(), kRows, kSize, ours.data_ptr<T>(), kSize);
    if (std::memcmp(ours.data_ptr<T>(), expected.data_ptr<T>(), sizeof(T) * kRows * kSize) == 0) return rounding;
  }
  return LerpRounding::Aten;
}

template <typename T>
LerpRounding lerp_matching_aten() {
  static const LerpRounding rounding = probe_lerp_rounding<T>();
  return rounding;
}

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
  const int64_t rows = end - begin;
  const int64_t row_size = input_.numel();
  const auto dtype = input_.scalar_type();
  // igx's loop where it reproduces ATen's lerp: CPU, float or double, contiguous rows.
  if (rows > 0 && row_size > 0 && out.device().is_cpu() && input_.device().is_cpu() && baseline_.device().is_cpu() &&
      (dtype == torch::kFloat || dtype == torch::kDouble) && baseline_.scalar_type() == dtype &&
      out.scalar_type() == dtype && input_.is_contiguous() && baseline_.is_contiguous() && out[0].is_contiguous()) {
    const LerpRounding rounding =
        dtype == torch::kFloat ? lerp_matching_aten<float>() : lerp_matching_aten<double>();
    if (rounding != LerpRounding::Aten) {
      // Rows [first, last) of this call; a row's value does not depend on the split.
      const auto write = [&](int64_t first, int64_t last) {
        const double* nodes = quadrature_.nodes.data() + begin + first;
        if (dtype == torch::kFloat) {
          lerp_rows(rounding, baseline_.data_ptr<float>(), input_.data_ptr<float>(), nodes, last - first, row_size,
                    out.data_ptr<float>() + first * out.stride(0), out.stride(0));
        } else {
          lerp_rows(rounding, baseline_.data_ptr<double>(), input_.data_ptr<double>(), nodes, last - first, row_size,
                    out.data_ptr<double>() + first * out.stride(0), out.stride(0));
        }
      };
      if (rows * row_size <= kSerialElements) {
        write(0, rows);
      } else {
        at::parallel_for(0, rows, std::max<int64_t>(1, at::internal::GRAIN_SIZE / row_size), write);
      }
      return;
    }
  }
  std::vector<int64_t> shape(input_.dim() + 1, 1);
  shape[0] = end - begin;
  // The nodes are read in place (no copy into a tensor of their own before the conversion).
  const torch::Tensor alpha = torch::from_blob(const_cast<double*>(quadrature_.nodes.data()) + begin, shape, torch::kDouble)
                                  .to(point_options());
  // lerp is exactly x' at a = 0 and exactly x at a = 1 (it switches to x - (1 - a)(x - x')
  // for a >= 1/2), so end-point evaluations reproduce F(x') and F(x) bit for bit. Each row's
  // value does not depend on how the rows are split into calls.
  const int64_t rows_per_call = !out.device().is_cpu() || rows * std::max<int64_t>(row_size, 1) > kSerialElements
                                   ? rows
                                   : std::max<int64_t>(1, (at::internal::GRAIN_SIZE - 1) / std::max<int64_t>(row_size, 1));
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
