#include "igx/text.h"

#include <algorithm>

#include "bundle_checks.h"
#include "igx/error.h"

namespace igx {

TextBaseline parse_text_baseline(const std::string& name) {
  if (name == "pad") return TextBaseline::Pad;
  if (name == "mask") return TextBaseline::Mask;
  if (name == "unk") return TextBaseline::Unk;
  if (name == "zero") return TextBaseline::Zero;
  throw UsageError("unknown text baseline '" + name + "'; expected pad, mask, unk or zero");
}

std::string text_baseline_name(TextBaseline baseline) {
  switch (baseline) {
    case TextBaseline::Pad:
      return "pad";
    case TextBaseline::Mask:
      return "mask";
    case TextBaseline::Unk:
      return "unk";
    case TextBaseline::Zero:
      return "zero";
  }
  return "pad";
}

TextClassifier::TextClassifier(BundleConfig config, WordPieceTokenizer tokenizer,
                               std::shared_ptr<TorchScriptModel> model, int64_t max_length, torch::Device device)
    : config_(std::move(config)),
      tokenizer_(std::move(tokenizer)),
      model_(std::move(model)),
      embedding_model_(model_->with_method(config_.method("forward_embeds", "forward_embeds"))),
      max_length_(max_length),
      device_(device) {}

TextClassifier TextClassifier::load(const std::string& bundle_directory, torch::Device device) {
  BundleConfig config = load_bundle_config(bundle_directory);
  if (config.task != "text") {
    throw Error("model bundle '" + bundle_directory + "' is a " + config.task + " model; expected a text model");
  }
  WordPieceTokenizer tokenizer = detail::load_bundle_tokenizer(config);
  const int64_t max_length = config.json.value("max_length", 512);
  if (max_length < 3) throw Error(config.directory + "/igx.json: max_length " + std::to_string(max_length) + " is below 3");
  auto model = TorchScriptModel::load(config.model_path(), config.method("forward", "forward"), device);
  for (const char* role : {"embed", "forward_embeds"}) {
    const std::string method = config.method(role, role);
    if (!model->has_method(method)) {
      throw Error("text model '" + config.model_path() + "' lacks the method '" + method +
                  "' (" + role + "); see docs/bundles.md for the methods a text bundle exports");
    }
  }
  detail::check_text_model(config, tokenizer, *model, max_length);  // fail now, not mid-explanation
  return TextClassifier(std::move(config), std::move(tokenizer), std::move(model), max_length, device);
}

TextBatch TextClassifier::encode(const std::vector<std::string>& texts) const {
  if (texts.empty()) throw UsageError("no text to explain; expected at least one text");
  TextBatch batch;
  size_t longest = 0;
  for (const std::string& text : texts) {
    Encoding encoding = tokenizer_.encode(text, static_cast<size_t>(max_length_));
    require_tokens(encoding, text);
    longest = std::max(longest, encoding.ids.size());
    batch.encodings.push_back(std::move(encoding));
  }
  const int64_t count = static_cast<int64_t>(texts.size());
  batch.ids = torch::full({count, static_cast<int64_t>(longest)}, tokenizer_.pad_id(), torch::kLong);
  batch.mask = torch::zeros({count, static_cast<int64_t>(longest)}, torch::kLong);
  for (int64_t b = 0; b < count; ++b) {
    const auto& ids = batch.encodings[b].ids;
    const int64_t length = static_cast<int64_t>(ids.size());
    batch.ids[b].narrow(0, 0, length).copy_(torch::tensor(ids, torch::kLong));
    batch.mask[b].narrow(0, 0, length).fill_(1);
  }
  return batch;
}

torch::Tensor TextClassifier::embed(const torch::Tensor& ids) {
  torch::NoGradGuard no_grad;
  return model_->call(config_.method("embed", "embed"), {ids.to(device_)});
}

torch::Tensor TextClassifier::logits(const torch::Tensor& ids, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  return model_->call(config_.method("forward", "forward"), {ids.to(device_), mask.to(device_)});
}

torch::Tensor TextClassifier::embedding_matrix() {
  torch::NoGradGuard no_grad;
  return model_->call(config_.method("embedding_matrix", "word_embeddings"), {});
}

torch::Tensor TextClassifier::ordinary_tokens(const TextBatch& batch) const {
  return batch.mask.eq(1).logical_and(batch.ids.ne(tokenizer_.cls_id())).logical_and(batch.ids.ne(tokenizer_.sep_id()));
}

NeighbourIndex& TextClassifier::neighbour_index(int64_t neighbours) {
  if (!neighbour_index_ || neighbour_index_->neighbours() != neighbours) {
    neighbour_index_ = std::make_shared<NeighbourIndex>(embedding_matrix(), neighbours);
  }
  return *neighbour_index_;
}

torch::Tensor TextClassifier::baseline_embeddings(const TextBatch& batch, TextBaseline baseline) {
  const torch::Tensor ordinary = ordinary_tokens(batch);
  if (baseline == TextBaseline::Zero) {
    return embed(batch.ids) * ordinary.logical_not().unsqueeze(2).to(device_);
  }
  const int64_t replacement = baseline == TextBaseline::Pad    ? tokenizer_.pad_id()
                              : baseline == TextBaseline::Mask ? tokenizer_.mask_id()
                                                               : tokenizer_.unk_id();
  return embed(torch::where(ordinary, torch::full_like(batch.ids, replacement), batch.ids));
}

const std::vector<std::string>& text_method_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all = attribution_method_names();
    for (const char* name : {"dig-greedy", "dig-maxcount", "sig"}) all.emplace_back(name);
    return all;
  }();
  return names;
}

namespace {

// The vocabulary word a DIG path ends at.
int64_t baseline_word(const TextClassifier& classifier, TextBaseline baseline) {
  switch (baseline) {
    case TextBaseline::Pad:
      return classifier.tokenizer().pad_id();
    case TextBaseline::Mask:
      return classifier.tokenizer().mask_id();
    case TextBaseline::Unk:
      return classifier.tokenizer().unk_id();
    case TextBaseline::Zero:
      break;
  }
  throw UsageError("DIG needs a baseline that is a vocabulary word (pad, mask or unk); got " + text_baseline_name(baseline));
}

void check_text_method(const std::string& method) {
  const auto& names = text_method_names();
  if (std::find(names.begin(), names.end(), method) == names.end()) {
    std::string known;
    for (const auto& name : names) known += (known.empty() ? "" : ", ") + name;
    throw UsageError("unknown attribution method '" + method + "'; expected one of: " + known);
  }
}

void explain_with_dig(TextClassifier& classifier, TextExplanation& explanation, const torch::Tensor& inputs,
                      AnchorStrategy strategy, const IgOptions& options, TextBaseline baseline, const DigOptions& dig) {
  const TextBatch& batch = explanation.batch;
  const int64_t word = baseline_word(classifier, baseline);
  NeighbourIndex& index = classifier.neighbour_index(dig.neighbours());
  // DIG's points are vocabulary rows: they must be the attribution space the model takes.
  const torch::Tensor rows = index.vocabulary().index_select(0, batch.ids.flatten()).view(inputs.sizes());
  if (!torch::allclose(rows.to(inputs.device(), inputs.scalar_type()), inputs, 1e-6, 1e-6)) {
    throw Error("model '" + classifier.config().name + "': embed(ids) differs from the rows of its embedding matrix; "
                "DIG needs the embedding matrix to be the attribution space");
  }
  const DigOptions dig_options = DigOptions(dig)
                                    .strategy(strategy)
                                    .target(options.target())
                                    .output(options.output())
                                    .internal_batch_size(options.internal_batch_size())
                                    .min_output_gap(options.min_output_gap());
  const std::vector<DigPath> paths = build_dig_paths(index, batch.ids, classifier.ordinary_tokens(batch), word, dig_options);
  explanation.attribution =
      integrate_dig_paths(classifier.embedding_model(), paths, dig_options, {batch.mask.to(classifier.device())});
  for (const DigPath& path : paths) explanation.anchors.push_back(path.anchors);
}

}  // namespace

PreparedTexts prepare_texts(TextClassifier& classifier, const std::vector<std::string>& texts, TextBaseline baseline) {
  PreparedTexts prepared;
  prepared.batch = classifier.encode(texts);
  prepared.baseline = baseline;
  const TextBatch& batch = prepared.batch;
  prepared.inputs = classifier.embed(batch.ids).detach();
  const torch::Tensor logits = classifier.logits(batch.ids, batch.mask);
  prepared.probabilities = torch::softmax(logits, 1).to(torch::kCPU, torch::kDouble);
  const torch::Tensor predicted = logits.argmax(1).to(torch::kCPU);
  prepared.predictions.assign(predicted.data_ptr<int64_t>(), predicted.data_ptr<int64_t>() + predicted.numel());
  prepared.baselines = classifier.baseline_embeddings(batch, baseline);
  prepared.extras = {batch.mask.to(classifier.device())};
  return prepared;
}

TextExplanation explain_text(TextClassifier& classifier, const std::vector<std::string>& texts,
                             const std::string& method, const IgOptions& options, TextBaseline baseline,
                             const DigOptions& dig) {
  check_text_method(method);
  return explain_prepared_texts(classifier, prepare_texts(classifier, texts, baseline), method, options, dig);
}

TextExplanation explain_prepared_texts(TextClassifier& classifier, PreparedTexts prepared, const std::string& method,
                                       const IgOptions& options, const DigOptions& dig) {
  check_text_method(method);
  TextExplanation explanation;
  explanation.batch = std::move(prepared.batch);
  explanation.probabilities = prepared.probabilities;
  explanation.predictions = prepared.predictions;
  const TextBatch& batch = explanation.batch;
  const torch::Tensor& inputs = prepared.inputs;
  const TextBaseline baseline = prepared.baseline;

  // The forward pass of prepare_texts already knows the predicted class: pass it on as an
  // explicit target.
  IgOptions text_options = IgOptions(options).baseline(Baseline::tensor(prepared.baselines));
  if (options.target().is_predicted()) text_options.target(Target::per_example(explanation.predictions));
  const ExtraInputs& extras = prepared.extras;
  if (method == "dig-greedy" || method == "dig-maxcount") {
    explain_with_dig(classifier, explanation, inputs,
                     method == "dig-greedy" ? AnchorStrategy::Greedy : AnchorStrategy::MaxCount, text_options, baseline,
                     dig);
  } else if (method == "sig") {
    SequentialAttribution sequential = sequential_integrated_gradients(
        classifier.embedding_model(), inputs, prepared.baselines,
        classifier.ordinary_tokens(batch).to(inputs.device()), text_options, extras);
    explanation.attribution = std::move(sequential.attribution);
    explanation.token_reports = std::move(sequential.tokens);
  } else {
    explanation.attribution = attribute(classifier.embedding_model(), inputs, method, text_options, extras);
  }
  explanation.token_scores = explanation.attribution.values.sum(2).to(torch::kCPU, torch::kDouble);
  if (explanation.attribution.errors.defined()) explanation.token_errors = explanation.attribution.errors.sum(2);
  return explanation;
}

}  // namespace igx
