#pragma once
// The model: anything that maps a batch of points in the attribution space to outputs. It is the
// only thing in igx that touches the network.

#include <torch/script.h>
#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace igx {

/// Inputs a model needs besides the points, constant along every path (an attention mask, say).
/// Each tensor has one row per example; the engine hands the model the rows of the points' examples.
using ExtraInputs = std::vector<torch::Tensor>;

/// A differentiable map from points [N, ...] (plus extra inputs, each [N, ...]) to outputs [N, C]
/// or [N]. Rows must not interact: output row i depends on input row i only.
class Model {
 public:
  virtual ~Model() = default;
  virtual torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) = 0;
  /// A short name for messages ("model 'spam.pt' method 'forward_embeds'").
  virtual std::string describe() const = 0;
  /// Where the model's parameters live; points are moved there.
  virtual torch::Device device() const { return torch::kCPU; }
  /// The same model computing in float64, or nullptr when it has none (the default). The
  /// error-controlled strategies evaluate F(x) and F(x') with it to check completeness against
  /// ends free of the model's rounding; they check that it does return float64.
  virtual std::shared_ptr<Model> in_float64() { return nullptr; }
};

/// One readable line for a LibTorch error: the cause of a TorchScript runtime error, or the first
/// line of any other (without the C++ backtrace).
std::string torch_error_summary(const std::exception& error);

/// A C++ callable as a model.
class FunctionModel : public Model {
 public:
  using Function = std::function<torch::Tensor(const torch::Tensor&, const ExtraInputs&)>;
  explicit FunctionModel(Function function, std::string name = "function");
  /// For the common case of a model without extra inputs.
  explicit FunctionModel(std::function<torch::Tensor(const torch::Tensor&)> function,
                         std::string name = "function");
  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override;
  std::string describe() const override { return name_; }
  /// The same function: in float64 when it computes in its input's dtype.
  std::shared_ptr<Model> in_float64() override;

 private:
  Function function_;
  std::string name_;
};

/// A TorchScript module; any of its exported methods can serve as the model.
class TorchScriptModel : public Model {
 public:
  /// Loads `path` onto `device` and checks that `method` exists. Throws igx::Error naming the
  /// file when it is missing or unreadable, and naming the method and the ones the module has.
  static std::shared_ptr<TorchScriptModel> load(const std::string& path,
                                                const std::string& method = "forward",
                                                torch::Device device = torch::kCPU);
  /// A module already in memory (from Python, say), shared, not copied: its parameters are the
  /// caller's. `name` stands for the file in messages. Unlike load(), the module's training mode
  /// is left as it is. Throws igx::Error naming the method and the ones the module has.
  static std::shared_ptr<TorchScriptModel> from_module(torch::jit::Module module, std::string name,
                                                       const std::string& method = "forward",
                                                       torch::Device device = torch::kCPU);

  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override;
  std::string describe() const override;
  torch::Device device() const override { return device_; }

  /// Calls another exported method (e.g. "embed"), expecting a tensor back.
  torch::Tensor call(const std::string& method, std::vector<torch::IValue> arguments);
  bool has_method(const std::string& method) const;
  /// A model over the same module that runs `method` instead (with the same executor setting).
  std::shared_ptr<TorchScriptModel> with_method(const std::string& method) const;
  /// Whether TorchScript's optimising executor runs the module (default: no). It profiles and
  /// re-specialises the graph for every new input shape, and igx's batches change shape from
  /// call to call (a path's last partial batch, adaptive rounds, texts of other lengths): each new
  /// shape cost several slower calls. Unoptimised, the interpreter runs the graph as written,
  /// with LibTorch's autograd; on the CPU the steady-state speed is the same
  /// (docs/benchmarks.md). Turn it on for a model that gains from TorchScript's fusers.
  void set_optimized_execution(bool optimized) { optimized_execution_ = optimized; }
  bool optimized_execution() const { return optimized_execution_; }
  const std::string& path() const { return path_; }
  /// A copy of the module with float64 parameters (made on first use and kept: it costs twice
  /// the float32 parameters' memory), running the same method with the same executor setting;
  /// nullptr when the copy fails.
  std::shared_ptr<Model> in_float64() override;

 private:
  TorchScriptModel(std::shared_ptr<torch::jit::Module> module, std::string path,
                   std::string method, torch::Device device);
  torch::Tensor invoke(const std::string& method, std::vector<torch::IValue> arguments);
  std::shared_ptr<torch::jit::Module> module_;  // shared by models made with with_method
  std::string path_;
  std::string method_;
  torch::Device device_;
  std::shared_ptr<Model> float64_;
  bool float64_tried_ = false;
  bool optimized_execution_ = false;
};

}  // namespace igx
