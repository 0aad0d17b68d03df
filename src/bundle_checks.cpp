#include "bundle_checks.h"

#include <torch/torch.h>

#include <algorithm>
#include <sstream>

#include "igx/error.h"

namespace igx::detail {
namespace {

const char* const kContract = " (see docs/bundles.md)";

std::string igx_json(const BundleConfig& config) { return config.directory + "/igx.json"; }

std::string shape_text(const torch::Tensor& tensor) {
  std::ostringstream text;
  text << tensor.sizes();
  return text.str();
}

// The vocabulary entry a declared special token names: an id (a line of the vocabulary) or the
// token itself.
std::string declared_token(const BundleConfig& config, const WordPieceTokenizer& tokenizer, const std::string& role,
                           const nlohmann::json& value) {
  const std::string field = "special_tokens." + role;
  if (value.is_number_integer()) {
    const int64_t id = value.get<int64_t>();
    if (id < 0 || id >= static_cast<int64_t>(tokenizer.vocab_size())) {
      throw Error(igx_json(config) + ": " + field + " is id " + std::to_string(id) + ", outside the vocabulary '" +
                  tokenizer.vocab_path() + "' (ids 0 to " + std::to_string(tokenizer.vocab_size() - 1) + ")" +
                  kContract);
    }
    return tokenizer.id_to_token(id);
  }
  const std::string token = value.get<std::string>();
  try {
    tokenizer.token_to_id(token);
  } catch (const Error&) {
    throw Error(igx_json(config) + ": " + field + " is '" + token + "', which the vocabulary '" +
                tokenizer.vocab_path() + "' does not contain" + kContract);
  }
  return token;
}

}  // namespace

WordPieceTokenizer load_bundle_tokenizer(const BundleConfig& config) {
  const nlohmann::json description = config.json.value("tokenizer", nlohmann::json::object());
  const std::string type = description.value("type", "wordpiece");
  if (type != "wordpiece") {
    throw Error(igx_json(config) + ": tokenizer.type '" + type +
                "' is not supported; igx tokenizes with BERT's WordPiece (tokenizer.type \"wordpiece\" and a "
                "vocab.txt)" + kContract);
  }
  WordPieceTokenizer tokenizer =
      WordPieceTokenizer::from_file(config.file(description.value("vocab", "vocab.txt")), description.value("lowercase", true));
  if (config.json.contains("vocab_size") && config.json["vocab_size"].get<int64_t>() != static_cast<int64_t>(tokenizer.vocab_size())) {
    throw Error(igx_json(config) + ": vocab_size is " + std::to_string(config.json["vocab_size"].get<int64_t>()) +
                " but the vocabulary '" + tokenizer.vocab_path() + "' has " + std::to_string(tokenizer.vocab_size()) +
                " lines" + kContract);
  }
  SpecialTokens tokens;
  const nlohmann::json declared = config.json.value("special_tokens", nlohmann::json::object());
  const std::pair<const char*, std::string*> roles[] = {
      {"pad", &tokens.pad}, {"unk", &tokens.unk}, {"cls", &tokens.cls}, {"sep", &tokens.sep}, {"mask", &tokens.mask}};
  for (const auto& [role, token] : roles) {
    if (declared.contains(role)) *token = declared_token(config, tokenizer, role, declared[role]);
  }
  tokenizer.set_special_tokens(tokens);
  // Every text needs these; [MASK] only the mask baseline and SIG, which ask for it when used.
  tokenizer.pad_id();
  tokenizer.unk_id();
  tokenizer.cls_id();
  tokenizer.sep_id();
  return tokenizer;
}

void check_text_model(const BundleConfig& config, const WordPieceTokenizer& tokenizer, TorchScriptModel& model,
                      int64_t max_length) {
  torch::NoGradGuard no_grad;
  // Two probes: one filling max_length (every position embedding igx may use), one short and
  // padded (the attention mask must hide the padding).
  const std::string sentence = "igx probes this model. ";
  std::string long_text;
  for (int64_t i = 0; i < max_length / 2 + 1; ++i) long_text += sentence;
  const Encoding full = tokenizer.encode(long_text, static_cast<size_t>(max_length));
  const Encoding brief = tokenizer.encode(sentence, static_cast<size_t>(max_length));
  const int64_t length = static_cast<int64_t>(full.ids.size());
  torch::Tensor ids = torch::full({2, length}, tokenizer.pad_id(), torch::kLong);
  torch::Tensor mask = torch::zeros({2, length}, torch::kLong);
  ids[0].copy_(torch::tensor(full.ids, torch::kLong));
  mask[0].fill_(1);
  const int64_t brief_length = std::min<int64_t>(length, static_cast<int64_t>(brief.ids.size()));
  ids[1].narrow(0, 0, brief_length).copy_(torch::tensor(brief.ids, torch::kLong).narrow(0, 0, brief_length));
  mask[1].narrow(0, 0, brief_length).fill_(1);
  ids = ids.to(model.device());
  mask = mask.to(model.device());

  const std::string forward = config.method("forward", "forward");
  const std::string embed = config.method("embed", "embed");
  const std::string forward_embeds = config.method("forward_embeds", "forward_embeds");
  torch::Tensor logits;
  try {
    logits = model.call(forward, {ids, mask});
  } catch (const Error& error) {
    throw Error(std::string(error.what()) + " on a probe of " + std::to_string(length) +
                " tokens; if the model has fewer position embeddings, lower max_length in " + igx_json(config) +
                kContract);
  }
  if (logits.dim() != 2 || logits.size(0) != 2) {
    throw Error("model '" + config.model_path() + "' method '" + forward + "' returns " + shape_text(logits) +
                " for 2 texts; expected logits [2, classes]" + kContract);
  }
  if (!config.labels.empty() && logits.size(1) != static_cast<int64_t>(config.labels.size())) {
    throw Error(igx_json(config) + ": labels has " + std::to_string(config.labels.size()) + " names but '" + forward +
                "' returns " + std::to_string(logits.size(1)) + " outputs per text" + kContract);
  }

  const torch::Tensor embeddings = model.call(embed, {ids});
  if (embeddings.dim() != 3 || embeddings.size(0) != 2 || embeddings.size(1) != length) {
    throw Error("model '" + config.model_path() + "' method '" + embed + "' returns " + shape_text(embeddings) +
                " for ids [2, " + std::to_string(length) + "]; expected word embeddings [2, " + std::to_string(length) +
                ", dim]" + kContract);
  }
  if (config.json.contains("embedding_dim") && config.json["embedding_dim"].get<int64_t>() != embeddings.size(2)) {
    throw Error(igx_json(config) + ": embedding_dim is " + std::to_string(config.json["embedding_dim"].get<int64_t>()) +
                " but '" + embed + "' returns embeddings of " + std::to_string(embeddings.size(2)) + kContract);
  }
  const torch::Tensor via_embeddings = model.call(forward_embeds, {embeddings, mask});
  if (via_embeddings.sizes() != logits.sizes()) {
    throw Error("model '" + config.model_path() + "': '" + forward_embeds + "' returns " + shape_text(via_embeddings) +
                " where '" + forward + "' returns " + shape_text(logits) + kContract);
  }
  // Float rounding differs between the two paths; a real mismatch (embed adding the position
  // embeddings that forward_embeds adds again, say) is orders of magnitude above this.
  const torch::Tensor difference = (via_embeddings - logits).abs().to(torch::kDouble);
  const double tolerance = 1e-4 * (1.0 + logits.abs().max().item<double>());
  if (!(difference.max().item<double>() <= tolerance)) {
    const int64_t worst = difference.flatten().argmax().item<int64_t>();
    std::ostringstream message;
    message << "model '" << config.model_path() << "': " << forward_embeds << "(" << embed << "(ids)) differs from "
            << forward << "(ids) by " << difference.max().item<double>() << " on a probe text ("
            << forward << " gives " << logits.flatten()[worst].item<double>() << ", " << forward_embeds << " "
            << via_embeddings.flatten()[worst].item<double>()
            << "); embed must return the word embeddings only, and forward_embeds must do everything forward "
               "does after them (positions, layer norm, ...)"
            << kContract;
    throw Error(message.str());
  }

  const std::string matrix_method = config.method("embedding_matrix", "word_embeddings");
  if (!model.has_method(matrix_method)) return;  // only DIG needs it, and says so
  const torch::Tensor matrix = model.call(matrix_method, {});
  if (matrix.dim() != 2 || matrix.size(0) != static_cast<int64_t>(tokenizer.vocab_size()) ||
      matrix.size(1) != embeddings.size(2)) {
    throw Error("model '" + config.model_path() + "' method '" + matrix_method + "' returns " + shape_text(matrix) +
                "; expected the word-embedding matrix [" + std::to_string(tokenizer.vocab_size()) +
                " (the vocabulary's lines), " + std::to_string(embeddings.size(2)) + "]" + kContract);
  }
  const torch::Tensor rows = matrix.index_select(0, ids.flatten()).view(embeddings.sizes());
  if (!torch::allclose(rows.to(embeddings.dtype()), embeddings, 1e-5, 1e-6)) {
    throw Error("model '" + config.model_path() + "': '" + embed + "'(ids) are not the rows of '" + matrix_method +
                "' for those ids; embed must look the ids up in the word-embedding matrix" + kContract);
  }
}

void check_image_model(const BundleConfig& config, TorchScriptModel& model, const std::vector<int64_t>& input_shape) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> shape = {1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const std::string forward = config.method("forward", "forward");
  const torch::Tensor logits = model.call(forward, {torch::zeros(shape, torch::TensorOptions().device(model.device()))});
  if (logits.dim() != 2 || logits.size(0) != 1) {
    throw Error("model '" + config.model_path() + "' method '" + forward + "' returns " + shape_text(logits) +
                " for one image; expected logits [1, classes]" + kContract);
  }
  if (!config.labels.empty() && logits.size(1) != static_cast<int64_t>(config.labels.size())) {
    throw Error(igx_json(config) + ": labels has " + std::to_string(config.labels.size()) + " names but '" + forward +
                "' returns " + std::to_string(logits.size(1)) + " outputs per image" + kContract);
  }
}

}  // namespace igx::detail
