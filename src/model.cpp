#include "igx/model.h"

#include <filesystem>
#include <fstream>

#include "igx/error.h"

namespace igx {
namespace {

// The first line of a LibTorch error: the rest is a C++ stack trace nobody asked for.
std::string first_line(const std::string& message) { return message.substr(0, message.find('\n')); }

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

}  // namespace

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

TorchScriptModel::TorchScriptModel(std::shared_ptr<torch::jit::Module> module, std::string path,
                                   std::string method, torch::Device device)
    : module_(std::move(module)), path_(std::move(path)), method_(std::move(method)), device_(device) {}

std::shared_ptr<TorchScriptModel> TorchScriptModel::load(const std::string& path,
                                                         const std::string& method,
                                                         torch::Device device) {
  if (!std::filesystem::exists(path)) {
    throw Error("model file '" + path + "' does not exist; expected a TorchScript .pt file");
  }
  if (!std::ifstream(path).good()) throw Error("model file '" + path + "' cannot be read");
  auto module = std::make_shared<torch::jit::Module>();
  try {
    *module = torch::jit::load(path, device);
  } catch (const c10::Error& error) {
    throw Error("cannot load '" + path + "' as a TorchScript model (saved with torch.jit.save?): " +
                first_line(error.what()));
  }
  module->eval();
  std::shared_ptr<TorchScriptModel> model(new TorchScriptModel(module, path, method, device));
  if (!model->has_method(method)) {
    throw Error("model '" + path + "' has no method '" + method +
                "'; its methods are: " + join(method_names(*module)));
  }
  return model;
}

bool TorchScriptModel::has_method(const std::string& method) const {
  return module_->find_method(method).has_value();
}

std::shared_ptr<TorchScriptModel> TorchScriptModel::with_method(const std::string& method) const {
  if (!has_method(method)) {
    throw Error("model '" + path_ + "' has no method '" + method +
                "'; its methods are: " + join(method_names(*module_)));
  }
  return std::shared_ptr<TorchScriptModel>(new TorchScriptModel(module_, path_, method, device_));
}

std::string TorchScriptModel::describe() const {
  return "model '" + path_ + "' method '" + method_ + "'";
}

torch::Tensor TorchScriptModel::call(const std::string& method, std::vector<torch::IValue> arguments) {
  if (!has_method(method)) {
    throw Error("model '" + path_ + "' has no method '" + method +
                "'; its methods are: " + join(method_names(*module_)));
  }
  torch::IValue result;
  try {
    result = module_->get_method(method)(std::move(arguments));
  } catch (const c10::Error& error) {
    throw Error("model '" + path_ + "' method '" + method + "' failed: " + first_line(error.what()));
  }
  if (!result.isTensor()) {
    throw Error("model '" + path_ + "' method '" + method + "' returned " +
                result.tagKind() + "; expected a tensor");
  }
  return result.toTensor();
}

torch::Tensor TorchScriptModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  std::vector<torch::IValue> arguments;
  arguments.reserve(1 + extras.size());
  arguments.emplace_back(points);
  for (const auto& extra : extras) arguments.emplace_back(extra.to(device_));
  return call(method_, std::move(arguments));
}

}  // namespace igx
