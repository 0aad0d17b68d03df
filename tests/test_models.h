#pragma once
// Small models with known attributions, written in C++ (float64 unless said otherwise).

#include <torch/torch.h>

#include "igx/model.h"

namespace igx_test {

/// f(x1, x2) = ReLU(ReLU(x1) - 1 - ReLU(x2)), one output.
inline igx::FunctionModel two_relu_a() {
  return igx::FunctionModel(
      [](const torch::Tensor& x) {
        return torch::relu(torch::relu(x.select(1, 0)) - 1 - torch::relu(x.select(1, 1))).unsqueeze(1);
      },
      "two_relu_a");
}

/// f(x1, x2) = ReLU(ReLU(x1 - 1) - ReLU(x2)): the same function, another network.
inline igx::FunctionModel two_relu_b() {
  return igx::FunctionModel(
      [](const torch::Tensor& x) {
        return torch::relu(torch::relu(x.select(1, 0) - 1) - torch::relu(x.select(1, 1))).unsqueeze(1);
      },
      "two_relu_b");
}

/// f(x) = 1 - ReLU(1 - x), one input, one output.
inline igx::FunctionModel saturating() {
  return igx::FunctionModel([](const torch::Tensor& x) { return 1 - torch::relu(1 - x); }, "saturating");
}

/// F(x) = x @ W.T + b for a fixed W [C, D].
inline igx::FunctionModel linear(torch::Tensor weight, torch::Tensor bias) {
  return igx::FunctionModel(
      [weight, bias](const torch::Tensor& x) {
        return torch::matmul(x.flatten(1), weight.to(x.dtype()).t()) + bias.to(x.dtype());
      },
      "linear");
}

/// F(x) = (w . x)^power, one output: along the path from 0, F(gamma(a)) = (a c)^power.
inline igx::FunctionModel power_of_linear(torch::Tensor w, int power) {
  return igx::FunctionModel(
      [w, power](const torch::Tensor& x) {
        return torch::pow(torch::matmul(x, w.to(x.dtype())), power).unsqueeze(1);
      },
      "power_of_linear");
}

/// A seeded random MLP D -> H -> H -> C with tanh, in the given dtype.
struct Mlp : torch::nn::Module {
  Mlp(int64_t inputs, int64_t hidden, int64_t classes, torch::ScalarType dtype, uint64_t seed = 0) {
    torch::manual_seed(seed);
    first = register_module("first", torch::nn::Linear(inputs, hidden));
    second = register_module("second", torch::nn::Linear(hidden, hidden));
    out = register_module("out", torch::nn::Linear(hidden, classes));
    to(dtype);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    return out(torch::tanh(second(torch::tanh(first(x)))));
  }
  torch::nn::Linear first{nullptr}, second{nullptr}, out{nullptr};
};

inline igx::FunctionModel as_model(std::shared_ptr<Mlp> mlp) {
  return igx::FunctionModel([mlp](const torch::Tensor& x) { return mlp->forward(x); }, "mlp");
}

}  // namespace igx_test
