// Engine overhead: IG at n = 50 against the bare batched forward+backward of the same rows.
//
//   build/bench/bench_ig --benchmark_format=json > ig.json   (or bench/run_ig_overhead.sh)
//
// Both sides evaluate the same B x n path points in batches of the same size; the difference is
// what igx adds: making the points, gathering targets, accumulating weighted gradients in float64,
// the end-point forward passes, and the completeness report. Models: an MLP and a CNN written in
// C++, and the shipped spam-transformer through TorchScript (forward_embeds with its mask).
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <thread>

#include "igx/bundle.h"
#include "igx/igx.h"

namespace {

constexpr int64_t kExamples = 8;
constexpr int64_t kSteps = 50;

struct MlpNet : torch::nn::Module {
  MlpNet() {
    layers = register_module("layers", torch::nn::Sequential(
        torch::nn::Flatten(), torch::nn::Linear(784, 256), torch::nn::ReLU(),
        torch::nn::Linear(256, 256), torch::nn::ReLU(), torch::nn::Linear(256, 10)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return layers->forward(x); }
  torch::nn::Sequential layers{nullptr};
};

struct CnnNet : torch::nn::Module {
  CnnNet() {
    layers = register_module("layers", torch::nn::Sequential(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)), torch::nn::ReLU(),
        torch::nn::MaxPool2d(2),
        torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)), torch::nn::ReLU(),
        torch::nn::MaxPool2d(2), torch::nn::Flatten(), torch::nn::Linear(32 * 7 * 7, 64),
        torch::nn::ReLU(), torch::nn::Linear(64, 10)));
  }
  torch::Tensor forward(const torch::Tensor& x) { return layers->forward(x); }
  torch::nn::Sequential layers{nullptr};
};

template <typename Net>
igx::FunctionModel make_model() {
  torch::manual_seed(0);
  auto net = std::make_shared<Net>();
  net->eval();
  return igx::FunctionModel([net](const torch::Tensor& x) { return net->forward(x); }, "bench");
}

torch::Tensor make_inputs() {
  torch::manual_seed(1);
  return torch::rand({kExamples, 1, 28, 28});
}

// The same rows IG evaluates, evaluated by hand: one forward, one backward per batch.
template <typename Net>
void BM_BareForwardBackward(benchmark::State& state) {
  igx::set_num_threads(static_cast<int>(state.range(1)));
  auto model = make_model<Net>();
  const int64_t batch_rows = state.range(0) == 0 ? kExamples * kSteps : state.range(0);
  const torch::Tensor inputs = make_inputs();
  const torch::Tensor alphas = torch::linspace(0, 1, kSteps).view({1, kSteps, 1, 1, 1});
  const torch::Tensor points = (inputs.unsqueeze(1) * alphas).reshape({kExamples * kSteps, 1, 28, 28});
  const torch::Tensor targets = torch::zeros({batch_rows, 1}, torch::kLong);
  for (auto _ : state) {
    for (int64_t begin = 0; begin < points.size(0); begin += batch_rows) {
      torch::Tensor rows = points.narrow(0, begin, std::min(batch_rows, points.size(0) - begin))
                               .detach().requires_grad_(true);
      const torch::Tensor outputs = model.forward(rows, {});
      const torch::Tensor values = outputs.gather(1, targets.narrow(0, 0, rows.size(0))).sum();
      benchmark::DoNotOptimize(torch::autograd::grad({values}, {rows})[0]);
    }
  }
  state.counters["rows"] = static_cast<double>(points.size(0));
}

template <typename Net>
void BM_IntegratedGradients(benchmark::State& state) {
  igx::set_num_threads(static_cast<int>(state.range(1)));
  auto model = make_model<Net>();
  const torch::Tensor inputs = make_inputs();
  const auto options = igx::IgOptions().n_steps(kSteps).internal_batch_size(state.range(0))
                           .batch_sizing(igx::BatchSizing::Fixed);  // the bare loop's batches
  for (auto _ : state) benchmark::DoNotOptimize(igx::integrated_gradients(model, inputs, options).values);
  state.counters["rows"] = static_cast<double>(kExamples * kSteps);
}

// The shipped text model on 8 texts of 64 tokens (random embeddings: the cost does not depend
// on the values), called as igx calls it: forward_embeds(points, mask rows).
constexpr int64_t kTokens = 64;

std::shared_ptr<igx::TorchScriptModel> text_model() {
  static const auto model = igx::TorchScriptModel::load(igx::find_bundle("spam-transformer") + "/model.pt",
                                                        "forward_embeds");
  return model;
}

torch::Tensor text_inputs() {
  torch::manual_seed(1);
  return torch::randn({kExamples, kTokens, 64});
}

torch::Tensor text_mask() { return torch::ones({kExamples, kTokens}, torch::kLong); }

void BM_BareForwardBackward_Text(benchmark::State& state) {
  igx::set_num_threads(static_cast<int>(state.range(1)));
  auto model = text_model();
  const int64_t batch_rows = state.range(0) == 0 ? kExamples * kSteps : state.range(0);
  const torch::Tensor inputs = text_inputs();
  const torch::Tensor alphas = torch::linspace(0, 1, kSteps).view({1, kSteps, 1, 1});
  const torch::Tensor points = (inputs.unsqueeze(1) * alphas).reshape({kExamples * kSteps, kTokens, 64});
  const torch::Tensor mask = torch::ones({batch_rows, kTokens}, torch::kLong);
  const torch::Tensor targets = torch::zeros({batch_rows, 1}, torch::kLong);
  for (auto _ : state) {
    for (int64_t begin = 0; begin < points.size(0); begin += batch_rows) {
      const int64_t rows_count = std::min(batch_rows, points.size(0) - begin);
      torch::Tensor rows = points.narrow(0, begin, rows_count).detach().requires_grad_(true);
      const torch::Tensor outputs = model->forward(rows, {mask.narrow(0, 0, rows_count)});
      const torch::Tensor values = outputs.gather(1, targets.narrow(0, 0, rows_count)).sum();
      benchmark::DoNotOptimize(torch::autograd::grad({values}, {rows})[0]);
    }
  }
  state.counters["rows"] = static_cast<double>(points.size(0));
}

void BM_IntegratedGradients_Text(benchmark::State& state) {
  igx::set_num_threads(static_cast<int>(state.range(1)));
  auto model = text_model();
  const torch::Tensor inputs = text_inputs();
  const auto options = igx::IgOptions().n_steps(kSteps).internal_batch_size(state.range(0))
                           .batch_sizing(igx::BatchSizing::Fixed);  // the bare loop's batches
  for (auto _ : state) benchmark::DoNotOptimize(igx::integrated_gradients(*model, inputs, options, {text_mask()}).values);
  state.counters["rows"] = static_cast<double>(kExamples * kSteps);
}

// Args: {internal batch size (0 = all rows at once), threads}; threads from 1 to all cores.
void batch_sizes(benchmark::internal::Benchmark* benchmark) {
  const int64_t cores = std::max(1u, std::thread::hardware_concurrency());
  for (int64_t threads = 1; threads <= cores; threads = threads < cores && threads * 2 > cores ? cores : threads * 2) {
    for (int64_t batch : {0, 100}) benchmark->Args({batch, threads});
  }
  benchmark->Unit(benchmark::kMillisecond)->MinTime(0.5);
}

BENCHMARK_TEMPLATE(BM_BareForwardBackward, MlpNet)->Apply(batch_sizes);
BENCHMARK_TEMPLATE(BM_IntegratedGradients, MlpNet)->Apply(batch_sizes);
BENCHMARK_TEMPLATE(BM_BareForwardBackward, CnnNet)->Apply(batch_sizes);
BENCHMARK_TEMPLATE(BM_IntegratedGradients, CnnNet)->Apply(batch_sizes);
BENCHMARK(BM_BareForwardBackward_Text)->Apply(batch_sizes);
BENCHMARK(BM_IntegratedGradients_Text)->Apply(batch_sizes);

}  // namespace

BENCHMARK_MAIN();
