#include "python_model.h"

#include <stdexcept>

#include "igx/error.h"

namespace py = pybind11;

namespace igx::python {

PythonModel::PythonModel(py::object function, std::string name, torch::Device device, py::object float64_factory)
    : function_(std::move(function)),
      name_(std::move(name)),
      device_(device),
      float64_factory_(std::move(float64_factory)) {}

PythonModel::~PythonModel() {
  // The last reference may go in a thread that does not hold the GIL.
  py::gil_scoped_acquire gil;
  function_ = py::object();
  float64_factory_ = py::object();
  pending_error_.reset();
}

std::shared_ptr<Model> PythonModel::in_float64() {
  if (float64_tried_) return float64_;
  float64_tried_ = true;
  py::gil_scoped_acquire gil;
  if (!float64_factory_ || float64_factory_.is_none()) return nullptr;
  try {
    py::object function = float64_factory_();
    // Its own model (and its own pending error): a failure in float64 only means no float64 ends.
    if (!function.is_none()) float64_ = std::make_shared<PythonModel>(function, name_ + " in float64", device_);
  } catch (py::error_already_set&) {
    float64_ = nullptr;  // a module that cannot be copied or cast: its ends stay in its own precision
  }
  float64_factory_ = py::object();
  return float64_;
}

torch::Tensor PythonModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  py::gil_scoped_acquire gil;
  py::object result;
  try {
    result = function_(points, extras);
  } catch (py::error_already_set& error) {
    pending_error_ = std::make_unique<py::error_already_set>(std::move(error));
    // Only a marker for the engine: raise_pending_error() gives Python its own exception back.
    throw std::runtime_error(name_ + " raised a Python exception");
  }
  if (!THPVariable_Check(result.ptr())) {
    const std::string type = py::str(py::type::handle_of(result).attr("__name__"));
    std::string what = type;
    if (py::isinstance<py::tuple>(result)) what = "a tuple of " + std::to_string(py::len(result)) + " items";
    throw Error(name_ + " returned " + what + " for a batch of " + std::to_string(points.size(0)) +
                " points; expected a tensor [N, classes] or [N] (pick the logits, e.g. "
                "lambda *args: model(*args)[0] or .logits)");
  }
  return THPVariable_Unpack(result.ptr());
}

void PythonModel::raise_pending_error() {
  if (!pending_error_) return;
  std::unique_ptr<py::error_already_set> error = std::move(pending_error_);
  throw py::error_already_set(*error);
}

}  // namespace igx::python
