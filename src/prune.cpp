#include "igx/prune.h"

#include <cmath>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

std::string unit_noun(PruneUnit unit) { return unit == PruneUnit::Channel ? "channels" : "neurons"; }

// The first `count` rows of `tensor` repeated to `rows` rows (extras and inputs of one example
// for every pruned model).
torch::Tensor repeat_rows(const torch::Tensor& tensor, int64_t rows) {
  std::vector<int64_t> repeats(tensor.dim(), 1);
  repeats[0] = rows;
  return tensor.narrow(0, 0, 1).repeat(repeats);
}

}  // namespace

std::string prune_unit_name(PruneUnit unit) { return unit == PruneUnit::Channel ? "channel" : "neuron"; }

PruneUnit parse_prune_unit(const std::string& name) {
  if (name == "channel" || name == "channels") return PruneUnit::Channel;
  if (name == "neuron" || name == "neurons") return PruneUnit::Neuron;
  throw UsageError("prune unit '" + name + "' is not known; expected channel or neuron");
}

PrunedModel::PrunedModel(SplitModel split) : split_(std::move(split)) {
  if (!split_.lower || !split_.upper) throw Error("split model at '" + split_.layer + "' lacks its lower or upper part");
}

torch::Tensor PrunedModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  if (extras.empty()) {
    throw Error("the pruned model at '" + split_.layer + "' needs its mask as the last extra input; got no extra inputs");
  }
  const ExtraInputs shared(extras.begin(), extras.end() - 1);
  const torch::Tensor hidden = split_.lower->forward(points, shared);
  const torch::Tensor mask = extras.back().to(hidden.device(), hidden.scalar_type());
  if (mask.dim() != hidden.dim() || mask.size(0) != hidden.size(0)) {
    throw Error("pruning mask has shape " + shape_string(mask) + "; expected one row per point like the activations " +
                shape_string(hidden) + " at '" + split_.layer + "'");
  }
  return split_.upper->forward(hidden * mask, shared);
}

std::string PrunedModel::describe() const { return split_.upper->describe() + " after pruned " + split_.layer; }

int64_t unit_count(c10::IntArrayRef activation_shape, PruneUnit unit) {
  if (activation_shape.empty()) throw Error("a layer without dimensions has no units to prune");
  if (unit == PruneUnit::Channel) return activation_shape[0];
  int64_t count = 1;
  for (int64_t size : activation_shape) count *= size;
  return count;
}

torch::Tensor prune_mask(c10::IntArrayRef activation_shape, PruneUnit unit, const std::vector<int64_t>& pruned) {
  const int64_t units = unit_count(activation_shape, unit);
  torch::Tensor mask = torch::ones(activation_shape, torch::kFloat);
  // Channel c is the c-th slice of the first dimension, neuron j the j-th entry in row-major order.
  torch::Tensor by_unit = mask.view({units, -1});
  for (int64_t index : pruned) {
    if (index < 0 || index >= units) {
      throw Error("unit " + std::to_string(index) + " is outside the " + std::to_string(units) + " " + unit_noun(unit) +
                  " of the layer; expected 0.." + std::to_string(units - 1));
    }
    by_unit[index].fill_(0.0);
  }
  return mask;
}

torch::Tensor unit_scores(const torch::Tensor& neuron_values, PruneUnit unit) {
  const torch::Tensor values = neuron_values.detach().to(torch::kCPU, torch::kDouble);
  if (unit == PruneUnit::Neuron || values.dim() <= 1) return values.flatten();
  return values.flatten(1).sum(1);
}

torch::Tensor rank_by_score(const torch::Tensor& scores, bool magnitude) {
  const torch::Tensor key = magnitude ? scores.abs() : scores;
  // Stable, so that equal scores (many neurons receive exactly 0) keep their index order.
  return std::get<1>(torch::sort(key.flatten(), /*stable=*/true, /*dim=*/0, /*descending=*/true));
}

torch::Tensor random_ranking(int64_t count, uint64_t seed) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randperm(count, generator, torch::TensorOptions().dtype(torch::kLong));
}

std::array<int64_t, 4> densest_window(const torch::Tensor& image, int64_t size) {
  if (image.dim() != 3) throw Error("densest_window needs an image [C, H, W], got " + shape_string(image));
  const int64_t height = image.size(1), width = image.size(2);
  if (size < 1 || size > std::min(height, width)) {
    throw Error("window size " + std::to_string(size) + " does not fit the " + std::to_string(width) + "x" +
                std::to_string(height) + " image; expected 1.." + std::to_string(std::min(height, width)));
  }
  const torch::Tensor ink = image.detach().to(torch::kCPU, torch::kDouble).sum(0).view({1, 1, height, width});
  const torch::Tensor sums = torch::avg_pool2d(ink, {size, size}, {1, 1}).view(-1);
  const int64_t best = sums.argmax().item<int64_t>();  // the first maximum, row-major
  const int64_t columns = width - size + 1;
  const int64_t y0 = best / columns, x0 = best % columns;
  return {x0, y0, x0 + size, y0 + size};
}

PruneStudy prune_study(SplitModel& split, const torch::Tensor& input, const torch::Tensor& patch,
                       const PruneStudyOptions& options, const ExtraInputs& extras) {
  if (input.dim() < 2 || input.size(0) != 1) {
    throw Error("the pruning study explains one example; input has shape " + shape_string(input) + ", expected [1, ...]");
  }
  if (patch.sizes() != input.sizes().slice(1)) {
    throw Error("patch has shape " + shape_string(patch) + "; expected one example's shape " +
                shape_string(input.sizes().slice(1)));
  }
  if (options.ig().strategy() != Strategy::Fixed) {
    throw Error("the pruning study integrates with fixed steps (strategy " + strategy_name(options.ig().strategy()) +
                " given), so that the neurons' IG_{S,j} and the input IG use the same nodes");
  }
  PrunedModel pruned(split);
  torch::Tensor hidden;
  {
    torch::NoGradGuard no_grad;
    hidden = split.lower->forward(input.to(split.lower->device()), extras);
  }
  const std::vector<int64_t> activation_shape = hidden.sizes().slice(1).vec();
  const int64_t units = unit_count(activation_shape, options.unit());
  const int64_t max_k = options.max_k();
  if (max_k < 1 || max_k > units) {
    throw Error("max_k " + std::to_string(max_k) + " is not a number of units to prune; layer '" + split.layer + "' has " +
                std::to_string(units) + " " + unit_noun(options.unit()) + ", expected 1.." + std::to_string(units));
  }

  // The class of the unpruned model, explained for every pruned one: pruning changes the
  // prediction, and following it would compare attributions of different outputs.
  const torch::Tensor all_units = torch::ones(activation_shape, torch::kFloat).unsqueeze(0);
  ExtraInputs unpruned_extras = extras;
  unpruned_extras.push_back(all_units);
  Integrator probe(pruned, unpruned_extras, options.ig().output(), options.ig().internal_batch_size());
  const torch::Tensor first_outputs = probe.outputs(input, torch::zeros({1}, torch::kLong));
  PruneStudy study;
  study.target = options.ig().target().resolve(1, first_outputs.to(torch::kCPU))[0].item<int64_t>();
  study.units = units;
  const IgOptions ig = IgOptions(options.ig()).target(Target::index(study.target));

  const Attribution patch_neurons = patch_neuron_attribution(split, input, patch, ig, extras);
  const Attribution conductance = layer_conductance(split, input, ig, extras);
  study.patch_scores = unit_scores(patch_neurons.values[0], options.unit());
  study.conductance_scores = unit_scores(conductance.values[0], options.unit());
  study.patch_neuron_sum = study.patch_scores.sum().item<double>();
  study.ranking_names = {"patch-ig", "conductance", "random"};
  study.rankings = {rank_by_score(study.patch_scores, options.magnitude()),
                    rank_by_score(study.conductance_scores, options.magnitude()),
                    random_ranking(units, options.seed())};

  // Row 0: the unpruned model; row 1 + r * max_k + (k - 1): ranking r with its first k units zeroed.
  const int64_t rankings = static_cast<int64_t>(study.rankings.size());
  const int64_t rows = 1 + rankings * max_k;
  std::vector<torch::Tensor> masks = {all_units.squeeze(0)};
  for (const torch::Tensor& ranking : study.rankings) {
    std::vector<int64_t> pruned_units;
    for (int64_t k = 1; k <= max_k; ++k) {
      pruned_units.push_back(ranking[k - 1].item<int64_t>());
      masks.push_back(prune_mask(activation_shape, options.unit(), pruned_units));
    }
  }
  ExtraInputs study_extras;
  for (const torch::Tensor& extra : extras) study_extras.push_back(repeat_rows(extra, rows));
  study_extras.push_back(torch::stack(masks));
  const torch::Tensor inputs = repeat_rows(input, rows);
  const Attribution attribution = integrated_gradients(pruned, inputs, ig, study_extras);
  study.counts = attribution.counts;

  Integrator forward(pruned, study_extras, OutputKind::Logit, options.ig().internal_batch_size());
  const torch::Tensor outputs =
      forward.outputs(inputs, torch::arange(rows, torch::kLong)).to(torch::kCPU, torch::kDouble);
  const torch::Tensor targets = torch::full({rows}, study.target, torch::kLong);
  const torch::Tensor logits = select_output(outputs, targets, OutputKind::Logit);
  const torch::Tensor probabilities = select_output(outputs, targets, OutputKind::Probability);
  const torch::Tensor predictions = outputs.dim() == 2 ? outputs.argmax(1) : torch::zeros({rows}, torch::kLong);

  const torch::Tensor values = attribution.values.detach().to(torch::kCPU, torch::kDouble).flatten(1);
  const torch::Tensor inside_mask = patch.ne(0).to(torch::kCPU, torch::kDouble).flatten();
  const torch::Tensor inside = (values * inside_mask).sum(1);
  const torch::Tensor outside = values.sum(1) - inside;
  const torch::Tensor magnitude_total = values.abs().sum(1);
  const torch::Tensor magnitude_inside = (values.abs() * inside_mask).sum(1);
  study.attribution = attribution.values[0].detach();

  auto record_of = [&](const std::string& name, int64_t k, int64_t row) {
    PruneRecord record;
    record.ranking = name;
    record.k = k;
    record.inside = inside[row].item<double>();
    record.outside = outside[row].item<double>();
    const double total = magnitude_total[row].item<double>();
    const double share = total > 0 ? magnitude_inside[row].item<double>() / total : std::nan("");
    record.inside_share = share;
    record.outside_share = total > 0 ? 1.0 - share : std::nan("");
    record.logit = logits[row].item<double>();
    record.probability = probabilities[row].item<double>();
    record.predicted = predictions[row].item<int64_t>();
    const ExampleReport& report = attribution.examples[row];
    record.output_input = report.output_input;
    record.output_baseline = report.output_baseline;
    record.delta = report.delta;
    return record;
  };
  for (int64_t r = 0; r < rankings; ++r) {
    study.records.push_back(record_of(study.ranking_names[r], 0, 0));
    for (int64_t k = 1; k <= max_k; ++k) study.records.push_back(record_of(study.ranking_names[r], k, 1 + r * max_k + (k - 1)));
  }
  return study;
}

}  // namespace igx
