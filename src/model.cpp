#include "igx/model.h"

#include <filesystem>
#include <cctype>
#include <fstream>

#include <torch/csrc/jit/runtime/graph_executor.h>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx {
namespace {


std::vector<std::string> method_names(const torch::jit::Module& module) {
  std::vector<std::string> names;
  for (const auto& method : module.get_methods()) names.push_back(method.name());
  return names;
}

std::string join(const std::vector<std::string>& names) {
  std::string joined;
  for (const auto& name : names) joined += (joined.empty() ? "" : ", ") + name;
  return joined.empty() ? "(none)" : joined;
}

Error no_such_method(const std::string& path, const std::string& method, const torch::jit::Module& module) {
  return Error("model '" + path + "' has no method '" + method + "'; its methods are: " + join(method_names(module)));
}

}  // namespace

std::string torch_error_summary(const std::exception& error) {
  std::string message = error.what();
  // A TorchScript runtime error carries the script's traceback; the cause is its last line.
  if (message.find("The following operation failed in the TorchScript interpreter") != std::string::npos) {
    while (!message.empty() && std::isspace(static_cast<unsigned char>(message.back()))) message.pop_back();
    message = message.substr(message.find_last_of('\n') + 1);
    const std::string prefix = "RuntimeError: ";
    if (message.rfind(prefix, 0) == 0) message = message.substr(prefix.size());
    return message;
  }
  // Otherwise the first line: the rest is a C++ stack trace nobody asked for.
  return message.substr(0, message.find('\n'));
}

FunctionModel::FunctionModel(Function function, std::string name)
    : function_(std::move(function)), name_(std::move(name)) {}

FunctionModel::FunctionModel(std::function<torch::Tensor(const torch::Tensor&)> function,
                             std::string name)
    : function_([function = std::move(function)](const torch::Tensor& points, const ExtraInputs&) {
        return function(points);
      }),
      name_(std::move(name)) {}

torch::Tensor FunctionModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  return function_(points, extras);
}

std::shared_ptr<Model> FunctionModel::in_float64() { return std::make_shared<FunctionModel>(function_, name_); }

TorchScriptModel::TorchScriptModel(std::shared_ptr<torch::jit::Module> module, std::string path,
                                   std::string method, torch::Device device)
    : module_(std::move(module)), path_(std::move(path)), method_(std::move(method)), device_(device) {}

std::shared_ptr<TorchScriptModel> TorchScriptModel::load(const std::string& path,
                                                         const std::string& method,
                                                         torch::Device device) {
  if (!std::filesystem::exists(path)) {
    throw Error("model file '" + path + "' does not exist; expected a TorchScript .pt file");
  }
  require_readable_file(path, "model file");
  if (!std::ifstream(path).good()) throw Error("model file '" + path + "' cannot be read");
  auto module = std::make_shared<torch::jit::Module>();
  try {
    *module = torch::jit::load(path, device);
  } catch (const c10::Error& error) {
    throw Error("cannot load '" + path + "' as a TorchScript model (saved with torch.jit.save?): " +
                torch_error_summary(error));
  }
  module->eval();
  // igx differentiates with respect to inputs only. Parameters that require gradients make
  // autograd keep activations that only their gradients need; turned off, batches use less memory.
  for (torch::Tensor parameter : module->parameters()) parameter.requires_grad_(false);
  std::shared_ptr<TorchScriptModel> model(new TorchScriptModel(module, path, method, device));
  if (!model->has_method(method)) throw no_such_method(path, method, *module);
  return model;
}

std::shared_ptr<TorchScriptModel> TorchScriptModel::from_module(torch::jit::Module module, std::string name,
                                                              const std::string& method, torch::Device device) {
  auto shared = std::make_shared<torch::jit::Module>(std::move(module));
  std::shared_ptr<TorchScriptModel> model(new TorchScriptModel(shared, std::move(name), method, device));
  if (!model->has_method(method)) throw no_such_method(model->path_, method, *shared);
  return model;
}

bool TorchScriptModel::has_method(const std::string& method) const {
  return module_->find_method(method).has_value();
}

std::shared_ptr<TorchScriptModel> TorchScriptModel::with_method(const std::string& method) const {
  if (!has_method(method)) throw no_such_method(path_, method, *module_);
  std::shared_ptr<TorchScriptModel> model(new TorchScriptModel(module_, path_, method, device_));
  model->optimized_execution_ = optimized_execution_;
  return model;
}

std::shared_ptr<Model> TorchScriptModel::in_float64() {
  if (float64_tried_) return float64_;
  float64_tried_ = true;
  try {
    // Without autograd, the copied parameters are leaves that need no gradient (a module shared
    // with Python keeps parameters that do; their clones would otherwise record the copy).
    const torch::NoGradGuard no_grad;
    auto copy = std::make_shared<torch::jit::Module>(module_->clone());
    copy->to(torch::kDouble);
    auto twin = std::shared_ptr<TorchScriptModel>(new TorchScriptModel(copy, path_, method_, device_));
    twin->optimized_execution_ = optimized_execution_;
    float64_ = twin;
  } catch (const std::exception&) {
    float64_ = nullptr;  // a module that cannot be cast: its ends stay in its own precision
  }
  return float64_;
}

std::string TorchScriptModel::describe() const {
  return "model '" + path_ + "' method '" + method_ + "'";
}

torch::Tensor TorchScriptModel::call(const std::string& method, std::vector<torch::IValue> arguments) {
  if (!has_method(method)) throw no_such_method(path_, method, *module_);
  try {
    return invoke(method, std::move(arguments));
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {  // c10::Error, or TorchScript's own runtime errors
    throw Error("model '" + path_ + "' method '" + method + "' failed: " + torch_error_summary(error));
  }
}

torch::Tensor TorchScriptModel::invoke(const std::string& method, std::vector<torch::IValue> arguments) {
  // The setting is per thread; the guard restores the caller's on return.
  const torch::jit::GraphOptimizerEnabledGuard executor(optimized_execution_);
  const torch::IValue result = module_->get_method(method)(std::move(arguments));
  if (result.isTensor()) return result.toTensor();
  // Hugging Face models return a dict (ModelOutput) whose "logits" entry is the output.
  if (result.isGenericDict()) {
    for (const auto& entry : result.toGenericDict()) {
      if (entry.key().isString() && entry.key().toStringRef() == "logits" && entry.value().isTensor()) {
        return entry.value().toTensor();
      }
    }
  }
  throw Error("model '" + path_ + "' method '" + method + "' returned " + result.tagKind() +
              "; expected a tensor, or a dict with a 'logits' tensor (return the logits: "
              "scripts/export_bundle.py wraps such models, see docs/bundles.md)");
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  std::vector<torch::IValue> arguments;
  arguments.reserve(1 + extras.size());
  arguments.emplace_back(points);
  for (const auto& extra : extras) arguments.emplace_back(extra.to(device_));
  return invoke(method_, std::move(arguments));  // the engine reports errors with the batch shape
}

}  // namespace igx
