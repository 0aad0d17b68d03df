#pragma once
// A path is data: the points of one example where gradients are evaluated, and the weight each
// gradient gets in the attribution, attribution = sum_k weight_k * grad F(point_k).
// Straight-line IG gives scalar weights (the quadrature weights, times x - x' afterwards);
// discrete paths such as DIG give vector weights (p_{k+1} - p_k).

#include <torch/torch.h>

#include <string>
#include <vector>

#include "igx/quadrature.h"

namespace igx {

class Path {
 public:
  virtual ~Path() = default;
  /// Number of points.
  virtual int64_t size() const = 0;
  /// Points begin..end-1, [end - begin, ...example shape], in the examples' dtype.
  virtual torch::Tensor points(int64_t begin, int64_t end) const = 0;
  /// The same points written into `out` (a view of a batch buffer).
  virtual void write_points(int64_t begin, int64_t end, torch::Tensor out) const { out.copy_(points(begin, end)); }
  /// Shape of one point (the example shape) and its dtype and device.
  virtual std::vector<int64_t> point_shape() const = 0;
  virtual torch::TensorOptions point_options() const = 0;
  /// Their weights: [end - begin] (float64 scalars) or [end - begin, ...example shape].
  virtual torch::Tensor weights(int64_t begin, int64_t end) const = 0;
  /// Where point k lies, for messages: "alpha = 0.25" on a straight line, "point 3 of 31".
  virtual std::string describe_point(int64_t k) const;
};

/// gamma(alpha) = x' + alpha (x - x') at the nodes of a quadrature; weights are the quadrature's.
/// Points are made on demand, so a long path costs memory only for the rows being evaluated.
class StraightLinePath : public Path {
 public:
  /// `baseline` and `input`: one example each, same shape, no batch dimension.
  StraightLinePath(torch::Tensor baseline, torch::Tensor input, Quadrature quadrature);

  int64_t size() const override { return static_cast<int64_t>(quadrature_.nodes.size()); }
  torch::Tensor points(int64_t begin, int64_t end) const override;
  void write_points(int64_t begin, int64_t end, torch::Tensor out) const override;
  torch::Tensor weights(int64_t begin, int64_t end) const override;
  std::vector<int64_t> point_shape() const override { return input_.sizes().vec(); }
  torch::TensorOptions point_options() const override { return input_.options(); }
  std::string describe_point(int64_t k) const override;
  const Quadrature& quadrature() const { return quadrature_; }

 private:
  torch::Tensor baseline_;
  torch::Tensor input_;
  Quadrature quadrature_;
};

/// An explicit list of points with explicit weights (for discrete paths).
class PointListPath : public Path {
 public:
  /// `points` [K, ...], `weights` [K] or [K, ...].
  PointListPath(torch::Tensor points, torch::Tensor weights);
  int64_t size() const override { return points_.size(0); }
  torch::Tensor points(int64_t begin, int64_t end) const override;
  torch::Tensor weights(int64_t begin, int64_t end) const override;
  std::vector<int64_t> point_shape() const override { return points_.sizes().slice(1).vec(); }
  torch::TensorOptions point_options() const override { return points_.options(); }

 private:
  torch::Tensor points_;
  torch::Tensor weights_;
};

}  // namespace igx
