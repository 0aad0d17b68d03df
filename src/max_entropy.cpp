#include "igx/max_entropy.h"

#include <algorithm>
#include <cmath>

#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// Entropy of softmax(outputs) per row, differentiable, in the outputs' dtype.
torch::Tensor entropy_of(const torch::Tensor& outputs) {
  const torch::Tensor log_probabilities = torch::log_softmax(outputs, 1);
  return -(log_probabilities.exp() * log_probabilities).sum(1);
}

void check_outputs(const torch::Tensor& outputs, const std::string& who) {
  if (outputs.dim() != 2 || outputs.size(1) < 2) {
    throw Error(who + " has outputs of shape " + shape_string(outputs) +
                "; the maximum-entropy baseline needs [N, C] class outputs with C >= 2");
  }
}

// Each extra input, given for one row ([1, ...]), repeated for `rows` rows on `device`.
ExtraInputs expand_extras(const ExtraInputs& extras, int64_t rows, torch::Device device) {
  ExtraInputs expanded;
  for (const torch::Tensor& extra : extras) {
    if (extra.dim() < 1 || extra.size(0) != 1) {
      throw Error("extra input of shape " + shape_string(extra) + "; expected one row [1, ...] to repeat for the candidates");
    }
    std::vector<int64_t> shape = extra.sizes().vec();
    shape[0] = rows;
    expanded.push_back(extra.to(device).expand(shape).contiguous());
  }
  return expanded;
}

}  // namespace

std::string max_entropy_form_name(MaxEntropyForm form) { return form == MaxEntropyForm::Data ? "data" : "optimize"; }

MaxEntropyForm parse_max_entropy_form(const std::string& name) {
  if (name == "data") return MaxEntropyForm::Data;
  if (name == "optimize") return MaxEntropyForm::Optimize;
  throw UsageError("unknown maximum-entropy form '" + name + "'; expected data or optimize");
}

torch::Tensor output_entropy(const torch::Tensor& outputs) {
  check_outputs(outputs, "model");
  return entropy_of(outputs.detach().to(torch::kCPU, torch::kDouble));
}

EntropyChoice most_uncertain(Model& model, const torch::Tensor& candidates, const ExtraInputs& extras,
                             const MaxEntropyOptions& options) {
  if (!candidates.defined() || candidates.dim() < 1 || candidates.size(0) < 1) {
    throw Error("no candidates for the maximum-entropy baseline; expected at least one");
  }
  if (options.internal_batch_size() < 0) {
    throw Error("internal batch size " + std::to_string(options.internal_batch_size()) + " is negative; expected >= 0");
  }
  torch::NoGradGuard no_grad;
  const int64_t count = candidates.size(0);
  const int64_t chunk = options.internal_batch_size() == 0 ? count : options.internal_batch_size();
  EntropyChoice best;
  best.entropy = -1.0;
  for (int64_t first = 0; first < count; first += chunk) {
    const int64_t rows = std::min(chunk, count - first);
    const torch::Tensor outputs =
        model.forward(candidates.narrow(0, first, rows).to(model.device()), expand_extras(extras, rows, model.device()))
            .to(torch::kCPU, torch::kDouble);
    check_outputs(outputs, model.describe());
    const torch::Tensor entropy = entropy_of(outputs);
    const int64_t row = entropy.argmax().item<int64_t>();  // the first among equals
    const double value = entropy[row].item<double>();
    if (value > best.entropy) best = {first + row, value, outputs[row].clone()};
  }
  return best;
}

MaxEntropyBaseline maximize_entropy(Model& model, const torch::Tensor& start, const torch::Tensor& low,
                                    const torch::Tensor& high, const torch::Tensor& movable, const ExtraInputs& extras,
                                    const MaxEntropyOptions& options) {
  require_floating(start, "maximum-entropy start");
  if (options.max_iterations() < 0 || !(options.step_size() > 0) || !(options.step_decay() > 0) ||
      !(options.entropy_gap() >= 0)) {
    throw Error("maximum-entropy options: max_iterations " + std::to_string(options.max_iterations()) +
                ", step_size " + std::to_string(options.step_size()) + ", step_decay " +
                std::to_string(options.step_decay()) + ", entropy_gap " + std::to_string(options.entropy_gap()) +
                "; expected >= 0, > 0, > 0 and >= 0");
  }
  const torch::Device device = model.device();
  const torch::Tensor lower = low.to(device, start.scalar_type()).expand_as(start);
  const torch::Tensor upper = high.to(device, start.scalar_type()).expand_as(start);
  if (upper.lt(lower).any().item<bool>()) throw Error("maximum-entropy domain has low > high somewhere; expected low <= high");
  const torch::Tensor free = movable.defined() ? movable.to(device, start.scalar_type()).expand_as(start)
                                               : torch::ones_like(start, start.options().device(device));
  // Adam's step per entry: a fraction of the domain's width there, zero where nothing moves.
  const torch::Tensor rate = options.step_size() * (upper - lower) * free;
  torch::Tensor point = torch::maximum(torch::minimum(start.detach().to(device), upper), lower);
  torch::Tensor first_moment = torch::zeros_like(point), second_moment = torch::zeros_like(point);
  constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEpsilon = 1e-12;

  const int64_t batch = start.size(0);
  MaxEntropyBaseline result;
  result.baseline = point.clone();
  result.entropy.assign(static_cast<size_t>(batch), -1.0);
  result.chosen.assign(static_cast<size_t>(batch), options.max_iterations());
  std::vector<bool> done(static_cast<size_t>(batch), false);
  for (int64_t iteration = 0;; ++iteration) {
    const torch::Tensor variable = point.detach().requires_grad_(true);
    const torch::Tensor outputs = model.forward(variable, extras);
    check_outputs(outputs, model.describe());
    if (iteration == 0) {
      result.max_entropy = std::log(static_cast<double>(outputs.size(1)));
      result.outputs = torch::zeros({batch, outputs.size(1)}, torch::kDouble);
    }
    const torch::Tensor values = entropy_of(outputs.detach().to(torch::kCPU, torch::kDouble));
    bool all_done = true;
    for (int64_t b = 0; b < batch; ++b) {
      const double value = values[b].item<double>();
      if (!done[b] && value > result.entropy[b]) {
        result.entropy[b] = value;
        result.baseline[b].copy_(point[b]);
        result.outputs[b].copy_(outputs[b].detach().to(torch::kCPU, torch::kDouble));
      }
      if (!done[b] && result.max_entropy - result.entropy[b] <= options.entropy_gap()) {
        done[b] = true;
        result.chosen[b] = iteration;
      }
      all_done = all_done && done[b];
    }
    if (all_done || iteration == options.max_iterations()) break;
    // Ascent on -cross-entropy(uniform, softmax(F)) = mean_c log p_c, whose maximum is the
    // entropy's (uniform outputs) but whose gradient p - 1/C does not vanish where the softmax
    // saturates, as the entropy's does.
    const torch::Tensor objective = torch::log_softmax(outputs, 1).mean(1).sum();
    const torch::Tensor gradient = torch::autograd::grad({objective}, {variable})[0].detach();
    first_moment.mul_(kBeta1).add_(gradient, 1 - kBeta1);
    second_moment.mul_(kBeta2).addcmul_(gradient, gradient, 1 - kBeta2);
    const double correction1 = 1 - std::pow(kBeta1, static_cast<double>(iteration + 1));
    const double correction2 = 1 - std::pow(kBeta2, static_cast<double>(iteration + 1));
    const double decay = 1.0 / (1.0 + static_cast<double>(iteration) / options.step_decay());
    const torch::Tensor step =
        rate * decay * (first_moment / correction1) / ((second_moment / correction2).sqrt() + kEpsilon);
    point = torch::maximum(torch::minimum(point + step, upper), lower);
  }
  return result;
}

MaxEntropyBaseline max_entropy_text_baseline(TextClassifier& classifier, const TextBatch& batch, MaxEntropyForm form,
                                             const std::vector<std::string>& candidates,
                                             const MaxEntropyOptions& options) {
  const torch::Tensor ordinary = classifier.ordinary_tokens(batch);  // [B, T] bool
  const torch::Tensor mask = batch.mask.to(classifier.device());
  if (form == MaxEntropyForm::Optimize) {
    const torch::Tensor vocabulary = classifier.embedding_matrix();
    const torch::Tensor start = classifier.baseline_embeddings(batch, TextBaseline::Pad).detach();
    const torch::Tensor low = std::get<0>(vocabulary.min(0)), high = std::get<0>(vocabulary.max(0));
    return maximize_entropy(classifier.embedding_model(), start, low.view({1, 1, -1}), high.view({1, 1, -1}),
                            ordinary.unsqueeze(2), {mask}, options);
  }
  if (candidates.empty()) {
    throw Error("the maximum-entropy baseline of the data form needs candidate texts (a test set); got none");
  }
  // Each candidate's ordinary token ids, in order.
  const TextBatch encoded = classifier.encode(candidates);
  const torch::Tensor candidate_ordinary = classifier.ordinary_tokens(encoded);
  std::vector<std::vector<int64_t>> pieces(candidates.size());
  for (size_t k = 0; k < candidates.size(); ++k) {
    const torch::Tensor ids = encoded.ids[static_cast<int64_t>(k)].masked_select(candidate_ordinary[static_cast<int64_t>(k)]);
    pieces[k].assign(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + ids.numel());
  }
  const int64_t texts = batch.ids.size(0), length = batch.ids.size(1);
  const int64_t pad = classifier.tokenizer().pad_id();
  MaxEntropyBaseline result;
  std::vector<torch::Tensor> baselines, outputs;
  for (int64_t b = 0; b < texts; ++b) {
    const torch::Tensor positions = ordinary[b].nonzero().flatten().contiguous();
    const int64_t* position = positions.data_ptr<int64_t>();
    torch::Tensor ids = batch.ids[b].unsqueeze(0).repeat({static_cast<int64_t>(candidates.size()), 1}).contiguous();
    int64_t* rows = ids.data_ptr<int64_t>();
    for (size_t k = 0; k < candidates.size(); ++k) {
      for (int64_t j = 0; j < positions.numel(); ++j) {
        rows[static_cast<int64_t>(k) * length + position[j]] = j < static_cast<int64_t>(pieces[k].size()) ? pieces[k][j] : pad;
      }
    }
    const torch::Tensor embeddings = classifier.embed(ids).detach();
    const EntropyChoice choice =
        most_uncertain(classifier.embedding_model(), embeddings, {mask[b].unsqueeze(0)}, options);
    baselines.push_back(embeddings[choice.index]);
    outputs.push_back(choice.outputs);
    result.entropy.push_back(choice.entropy);
    result.chosen.push_back(choice.index);
    result.max_entropy = std::log(static_cast<double>(choice.outputs.size(0)));
  }
  result.baseline = torch::stack(baselines);
  result.outputs = torch::stack(outputs);
  return result;
}

MaxEntropyBaseline max_entropy_image_baseline(ImageClassifier& classifier, const torch::Tensor& pixels,
                                              MaxEntropyForm form, const torch::Tensor& candidates,
                                              const MaxEntropyOptions& options) {
  if (form == MaxEntropyForm::Optimize) {
    const torch::Tensor start = classifier.baseline(pixels, ImageBaseline{});  // black
    return maximize_entropy(classifier.model(), start, torch::zeros({1}), torch::ones({1}), {}, {}, options);
  }
  if (!candidates.defined() || candidates.dim() != pixels.dim() || candidates.sizes().slice(1) != pixels.sizes().slice(1)) {
    throw Error("maximum-entropy candidate images have shape " +
                (candidates.defined() ? shape_string(candidates) : std::string("(none)")) +
                "; expected [N, C, H, W] with C, H, W those of the inputs " + shape_string(pixels));
  }
  const EntropyChoice choice = most_uncertain(classifier.model(), candidates, {}, options);
  const int64_t batch = pixels.size(0);
  MaxEntropyBaseline result;
  result.baseline = candidates[choice.index].unsqueeze(0).expand_as(pixels).to(pixels.device(), pixels.scalar_type());
  result.outputs = choice.outputs.unsqueeze(0).expand({batch, -1}).clone();
  result.entropy.assign(static_cast<size_t>(batch), choice.entropy);
  result.chosen.assign(static_cast<size_t>(batch), choice.index);
  result.max_entropy = std::log(static_cast<double>(choice.outputs.size(0)));
  return result;
}

}  // namespace igx
