#pragma once
// A Python callable as an igx::Model: the engine calls it for every batch of path points, with
// the GIL taken for the call only, and differentiates what it returns with the same autograd.

#include <torch/extension.h>

#include <memory>
#include <string>

#include "igx/model.h"

namespace igx::python {

class PythonModel : public Model {
 public:
  /// `function(points, extras)` must return a tensor [N, C] or [N]; `extras` is the list of the
  /// points' rows of every extra input.
  /// `float64_factory`, when not None, is called once (on the first in_float64()) and returns the
  /// same function computing in float64 (e.g. over a float64 copy of an nn.Module), or None.
  PythonModel(pybind11::object function, std::string name, torch::Device device,
              pybind11::object float64_factory = pybind11::none());
  ~PythonModel() override;

  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override;
  std::string describe() const override { return name_; }
  torch::Device device() const override { return device_; }
  std::shared_ptr<Model> in_float64() override;

  /// A Python exception raised by the callable is kept here (the engine only sees a C++ error
  /// saying so) and raised again by this, so that Python code gets its own exception back.
  /// Call it with the GIL held; it does nothing when the callable did not fail.
  void raise_pending_error();

 private:
  pybind11::object function_;
  std::string name_;
  torch::Device device_;
  std::unique_ptr<pybind11::error_already_set> pending_error_;
  pybind11::object float64_factory_;
  std::shared_ptr<Model> float64_;
  bool float64_tried_ = false;
};

}  // namespace igx::python
