// DIG's cost per sentence, split into its two parts: building the path (nearest neighbours and
// anchor search) and evaluating the gradients on it. Run by bench/run_dig.sh, which starts one
// process per benchmark to read each one's peak memory; docs/dig.md has the results.
//
//   build/bench/bench_dig --benchmark_filter=Shipped     the shipped spam-transformer, test texts
//   build/bench/bench_dig --benchmark_filter=Synthetic   a random 30,000 x 768 vocabulary
//   bench/run_dig.sh                                     every benchmark in its own process, a table
//
// Neighbour lists: "cold" starts every sentence from an empty NeighbourIndex (each list is
// computed when the search first needs it), "warm" from one where every list is known
// (prepare_all, timed on its own by *IndexAll), and "Stream" runs many sentences through one
// index, as `igx eval` does.
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <memory>

#include "igx/datasets.h"
#include "igx/dig.h"
#include "igx/igx.h"
#include "igx/text.h"

namespace {

constexpr int64_t kNeighbours = 500;
constexpr int64_t kAnchors = 30;

igx::DigOptions options_for(int64_t strategy) {
  return igx::DigOptions()
      .strategy(strategy == 0 ? igx::AnchorStrategy::Greedy : igx::AnchorStrategy::MaxCount)
      .anchors(kAnchors)
      .neighbours(kNeighbours)
      .internal_batch_size(256);
}

// ---- the shipped model ----

struct Shipped {
  std::unique_ptr<igx::TextClassifier> classifier;
  std::vector<igx::TextBatch> sentences;  // the first test texts, one batch each
  torch::Tensor vocabulary;
};

Shipped& shipped() {
  static Shipped data = [] {
    igx::set_num_threads(0);
    Shipped loaded;
    loaded.classifier = std::make_unique<igx::TextClassifier>(
        igx::TextClassifier::load(igx::find_bundle("spam-transformer")));
    const igx::TextDataset test = igx::read_spam_split(igx::find_data_directory(), "test");
    for (size_t i = 0; i < 64 && i < test.size(); ++i) loaded.sentences.push_back(loaded.classifier->encode({test.texts[i]}));
    loaded.vocabulary = loaded.classifier->embedding_matrix();
    return loaded;
  }();
  return data;
}

// Loading the model and the texts only: the memory every Shipped row starts from.
void BM_ShippedLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(shipped().vocabulary.size(0));
}

void BM_ShippedIndexAll(benchmark::State& state) {
  Shipped& data = shipped();
  for (auto _ : state) {
    igx::NeighbourIndex index(data.vocabulary, kNeighbours);
    index.prepare_all();
    benchmark::DoNotOptimize(index.known());
  }
}

// The same on the spam-bert bundle's word embeddings (8000 x 256), for bench/neighbours_vs_sklearn.py.
void BM_ShippedBertIndexAll(benchmark::State& state) {
  igx::set_num_threads(0);
  static const torch::Tensor vocabulary =
      igx::TextClassifier::load(igx::find_bundle("spam-bert")).embedding_matrix();
  for (auto _ : state) {
    igx::NeighbourIndex index(vocabulary, kNeighbours);
    index.prepare_all();
    benchmark::DoNotOptimize(index.known());
  }
}

// Per sentence (one iteration = one of the first 8 test texts, in turn): path construction only.
void BM_ShippedPaths(benchmark::State& state) {
  Shipped& data = shipped();
  const bool warm = state.range(1) == 1;
  igx::NeighbourIndex warm_index(data.vocabulary, warm ? kNeighbours : 1);
  if (warm) warm_index.prepare_all();
  size_t next = 0;
  int64_t tokens = 0;
  for (auto _ : state) {
    const igx::TextBatch& batch = data.sentences[next++ % 8];
    std::unique_ptr<igx::NeighbourIndex> cold_index;
    if (!warm) cold_index = std::make_unique<igx::NeighbourIndex>(data.vocabulary, kNeighbours);
    igx::NeighbourIndex& index = warm ? warm_index : *cold_index;
    benchmark::DoNotOptimize(igx::build_dig_paths(index, batch.ids, data.classifier->ordinary_tokens(batch),
                                                  data.classifier->tokenizer().pad_id(), options_for(state.range(0))));
    tokens += batch.ids.size(1);
  }
  state.counters["tokens"] = static_cast<double>(tokens) / static_cast<double>(next);
}

// Many sentences through one index that starts empty: what on-demand neighbours cost in eval.
void BM_ShippedPathsStream(benchmark::State& state) {
  Shipped& data = shipped();
  int64_t known = 0;
  for (auto _ : state) {
    igx::NeighbourIndex index(data.vocabulary, kNeighbours);
    for (const igx::TextBatch& batch : data.sentences) {
      benchmark::DoNotOptimize(igx::build_dig_paths(index, batch.ids, data.classifier->ordinary_tokens(batch),
                                                    data.classifier->tokenizer().pad_id(), options_for(0)));
    }
    known = index.known();
  }
  state.counters["sentences"] = static_cast<double>(data.sentences.size());
  state.counters["lists_computed"] = static_cast<double>(known);
  state.counters["vocabulary"] = static_cast<double>(data.vocabulary.size(0));
}

// Per sentence (the first 8 test texts in turn): the gradients on a built path (32 points:
// baseline, 30 anchors, input).
void BM_ShippedGradients(benchmark::State& state) {
  Shipped& data = shipped();
  igx::NeighbourIndex index(data.vocabulary, kNeighbours);
  std::vector<std::vector<igx::DigPath>> paths;
  for (size_t i = 0; i < 8; ++i) {
    const igx::TextBatch& batch = data.sentences[i];
    paths.push_back(igx::build_dig_paths(index, batch.ids, data.classifier->ordinary_tokens(batch),
                                         data.classifier->tokenizer().pad_id(), options_for(0)));
  }
  size_t next = 0;
  for (auto _ : state) {
    const size_t i = next++ % paths.size();
    benchmark::DoNotOptimize(
        igx::integrate_dig_paths(data.classifier->embedding_model(), paths[i], options_for(0), {data.sentences[i].mask}));
  }
}

// ---- a BERT-sized vocabulary ----

constexpr int64_t kSyntheticWords = 30000;
constexpr int64_t kSyntheticDimension = 768;

const torch::Tensor& synthetic_vocabulary() {
  static const torch::Tensor vocabulary = [] {
    igx::set_num_threads(0);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(0);
    // BERT's word embeddings have entries of about this size.
    return torch::randn({kSyntheticWords, kSyntheticDimension}, generator, torch::kFloat) * 0.05;
  }();
  return vocabulary;
}

torch::Tensor synthetic_sentence(int64_t length) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(1);
  return torch::randint(1, kSyntheticWords, {1, length}, generator, torch::kLong);
}

// Making the vocabulary only: the memory every Synthetic row starts from.
void BM_SyntheticLoad(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(synthetic_vocabulary().size(0));
}

void BM_SyntheticIndexAll(benchmark::State& state) {
  const torch::Tensor& vocabulary = synthetic_vocabulary();
  for (auto _ : state) {
    igx::NeighbourIndex index(vocabulary, kNeighbours);
    index.prepare_all();
    benchmark::DoNotOptimize(index.known());
  }
}

// One sentence of range(0) tokens, all moving, PAD (id 0) as the baseline word.
void BM_SyntheticPaths(benchmark::State& state) {
  const torch::Tensor& vocabulary = synthetic_vocabulary();
  const int64_t length = state.range(0);
  const bool warm = state.range(1) == 1;
  const torch::Tensor ids = synthetic_sentence(length);
  const torch::Tensor moving = torch::ones({1, length}, torch::kBool);
  igx::NeighbourIndex warm_index(warm ? vocabulary : vocabulary.narrow(0, 0, 2), kNeighbours);
  if (warm) igx::build_dig_paths(warm_index, ids, moving, 0, options_for(0));  // every list this sentence visits
  int64_t known = 0;
  for (auto _ : state) {
    std::unique_ptr<igx::NeighbourIndex> cold_index;
    if (!warm) cold_index = std::make_unique<igx::NeighbourIndex>(vocabulary, kNeighbours);
    igx::NeighbourIndex& index = warm ? warm_index : *cold_index;
    benchmark::DoNotOptimize(igx::build_dig_paths(index, ids, moving, 0, options_for(0)));
    known = index.known();
  }
  state.counters["lists_computed"] = static_cast<double>(known);
}

// A 2-layer Transformer encoder of BERT's width (768, 12 heads, 3072) with mean pooling and 2
// classes: a stand-in to time gradients on 768-wide embeddings, not a trained model.
struct Encoder : torch::nn::Module {
  Encoder() {
    torch::manual_seed(0);
    auto layer = torch::nn::TransformerEncoderLayerOptions(kSyntheticDimension, 12).dim_feedforward(3072).dropout(0.0);
    encoder = register_module("encoder", torch::nn::TransformerEncoder(torch::nn::TransformerEncoderOptions(layer, 2)));
    head = register_module("head", torch::nn::Linear(kSyntheticDimension, 2));
  }
  torch::Tensor forward(const torch::Tensor& embeddings) {
    return head(encoder(embeddings.transpose(0, 1)).mean(0));  // [T, B, D] in, as LibTorch 1.13 wants
  }
  torch::nn::TransformerEncoder encoder{nullptr};
  torch::nn::Linear head{nullptr};
};

void BM_SyntheticGradients(benchmark::State& state) {
  const torch::Tensor& vocabulary = synthetic_vocabulary();
  const int64_t length = state.range(0);
  const torch::Tensor ids = synthetic_sentence(length);
  igx::NeighbourIndex index(vocabulary, kNeighbours);
  const std::vector<igx::DigPath> paths =
      igx::build_dig_paths(index, ids, torch::ones({1, length}, torch::kBool), 0, options_for(0));
  auto encoder = std::make_shared<Encoder>();
  encoder->eval();
  igx::FunctionModel model([encoder](const torch::Tensor& x) { return encoder->forward(x); }, "encoder-768");
  for (auto _ : state) benchmark::DoNotOptimize(igx::integrate_dig_paths(model, paths, options_for(0)));
}

}  // namespace

BENCHMARK(BM_ShippedLoad)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ShippedIndexAll)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_ShippedBertIndexAll)->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_ShippedPaths)->ArgsProduct({{0, 1}, {0, 1}})->ArgNames({"maxcount", "warm"})->Unit(benchmark::kMillisecond)->Iterations(8);
BENCHMARK(BM_ShippedPathsStream)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_ShippedGradients)->Unit(benchmark::kMillisecond)->Iterations(8);
BENCHMARK(BM_SyntheticLoad)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_SyntheticIndexAll)->Unit(benchmark::kMillisecond)->Iterations(1);
BENCHMARK(BM_SyntheticPaths)->ArgsProduct({{32, 128}, {0, 1}})->ArgNames({"tokens", "warm"})->Unit(benchmark::kMillisecond)->Iterations(2);
BENCHMARK(BM_SyntheticGradients)->Arg(32)->Arg(128)->ArgName("tokens")->Unit(benchmark::kMillisecond)->Iterations(2);

BENCHMARK_MAIN();
