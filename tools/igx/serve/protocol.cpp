#include "protocol.h"

#include <cmath>

#include "igx/error.h"
#include "igx/image.h"
#include "igx/image_io.h"
#include "igx/json_text.h"
#include "igx/tensor_checks.h"

namespace igx_serve {
namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& field, const std::string& message) {
  throw RequestError(400, field, field + ": " + message);
}

// Nested lists deeper than any model input are refused before they are walked.
constexpr size_t kMaxDepth = 8;

// The shape of a nested number list, read along its first elements.
std::vector<int64_t> list_shape(const json& value, const std::string& field) {
  std::vector<int64_t> shape;
  const json* level = &value;
  while (level->is_array()) {
    if (level->empty()) refuse(field, "an empty list; expected numbers");
    if (shape.size() == kMaxDepth) refuse(field, "lists nested deeper than " + std::to_string(kMaxDepth));
    shape.push_back(static_cast<int64_t>(level->size()));
    level = &level->front();
  }
  return shape;
}

// Appends the numbers of `value` (of shape[depth...]) to `values`; refuses ragged lists,
// non-numbers, non-finite numbers and numbers float32 cannot hold.
void collect(const json& value, const std::vector<int64_t>& shape, size_t depth, const std::string& field,
             std::vector<float>& values) {
  if (depth == shape.size()) {
    if (!value.is_number()) refuse(field, "'" + value.dump().substr(0, 40) + "' is not a number");
    const double number = value.get<double>();
    if (!std::isfinite(number)) refuse(field, "a number that is not finite");
    const float narrowed = static_cast<float>(number);
    // 1e39 is a finite JSON number but an infinity in float32, the models' dtype.
    if (!std::isfinite(narrowed)) {
      refuse(field, "the number " + value.dump().substr(0, 40) + " is beyond float32's range (magnitudes up to 3.4e+38)");
    }
    values.push_back(narrowed);
    return;
  }
  if (!value.is_array() || static_cast<int64_t>(value.size()) != shape[depth]) {
    refuse(field, "ragged lists: expected " + std::to_string(shape[depth]) + " items at depth " + std::to_string(depth));
  }
  for (const json& item : value) collect(item, shape, depth + 1, field, values);
}

torch::Tensor tensor_of_list(const json& value, const std::string& field) {
  if (!value.is_array()) refuse(field, "expected a list of numbers");
  const std::vector<int64_t> shape = list_shape(value, field);
  std::vector<float> values;
  collect(value, shape, 0, field, values);
  return torch::tensor(values, torch::kFloat).view(shape);
}

std::string text_of(const json& instance, const std::string& field) {
  if (!instance.is_string()) refuse(field, "expected a text (a JSON string)");
  const std::string text = instance.get<std::string>();
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) refuse(field, "an empty text; expected words to explain");
  return text;
}

// An image instance: base64 PNG (or another format stb reads) or a pixel list, as [1, C, H, W].
torch::Tensor image_of(const json& instance, const std::string& field, const std::vector<int64_t>& shape) {
  if (instance.is_object()) {
    if (!instance.contains("b64")) refuse(field, "expected {\"b64\": \"<base64 PNG>\"} or a pixel list");
    const json& encoded = instance["b64"];
    if (!encoded.is_string()) refuse(field + ".b64", "expected a base64 string");
    std::string bytes;
    if (!decode_base64(encoded.get<std::string>(), bytes)) refuse(field + ".b64", "not valid base64");
    try {
      return igx::image_pixels(igx::decode_image(bytes, "the image"), shape, "the image");
    } catch (const igx::Error& error) {
      refuse(field + ".b64", error.what());
    }
  }
  torch::Tensor pixels = tensor_of_list(instance, field);
  if (pixels.dim() == 2 && shape[0] == 1) pixels = pixels.unsqueeze(0);
  const std::vector<int64_t> expected(shape.begin(), shape.end());
  if (pixels.sizes().vec() != expected) {
    refuse(field, "an image of shape " + igx::shape_string(pixels) + "; the model expects " +
                      igx::shape_string(expected) + (shape[0] == 1 ? " or [H, W]" : "") + " with pixels in [0, 1]");
  }
  if (pixels.min().item<double>() < 0.0 || pixels.max().item<double>() > 1.0) {
    refuse(field, "pixels outside [0, 1]; expected values in [0, 1]");
  }
  return pixels.unsqueeze(0);
}

}  // namespace

bool decode_base64(const std::string& text, std::string& bytes) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t end = text.size();
  while (end > 0 && text[end - 1] == '=' && text.size() - end < 2) --end;
  if (end % 4 == 1 || (end != text.size() && text.size() % 4 != 0)) return false;
  bytes.clear();
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < end; ++i) {
    const size_t digit = alphabet.find(text[i]);
    if (digit == std::string::npos) return false;
    buffer = (buffer << 6) | static_cast<uint32_t>(digit);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // The bits left over must be zero (a canonical encoding).
  return (buffer & ((1u << bits) - 1)) == 0;
}

igx::ExplainRequest parse_instances(const std::string& body, const ModelInputs& model) {
  // igx's JSON reader: nesting bounded, the line and column of a syntax error, quoted text clipped.
  json document;
  try {
    document = igx::parse_json(body, "body");
  } catch (const igx::Error& error) {
    throw RequestError(400, "body", error.what());
  }
  if (!document.is_object()) refuse("body", "expected a JSON object {\"instances\": [...]}");
  for (const auto& [key, value] : document.items()) {
    if (key != "instances" && key != "parameters") {
      // The field is the key itself; an empty key is shown as "" so that the field is never blank.
      refuse(key.empty() ? "\"\"" : igx::clip_text(key), "unknown field; expected \"instances\" and \"parameters\"");
    }
  }
  if (!document.contains("instances")) refuse("instances", "missing; expected a list of inputs");
  const json& instances = document["instances"];
  if (!instances.is_array() || instances.empty()) refuse("instances", "expected a non-empty list of inputs");
  if (static_cast<int64_t>(instances.size()) > model.max_instances) {
    refuse("instances", std::to_string(instances.size()) + " inputs; this server takes at most " +
                            std::to_string(model.max_instances) + " per request");
  }

  igx::ExplainRequest request;
  request.allow_files = false;
  if (document.contains("parameters")) {
    const json& parameters = document["parameters"];
    if (!parameters.is_object()) refuse("parameters", "expected an object of options ({\"tolerance\": 0.01, ...})");
    // Read one option at a time, so that the error names the one at fault.
    for (const auto& [key, value] : parameters.items()) {
      try {
        igx::explain_options_from_json(json{{key, value}});
      } catch (const igx::Error& error) {
        refuse("parameters." + igx::clip_text(key), error.what());
      }
    }
    request.options = igx::explain_options_from_json(parameters);
  }

  std::vector<torch::Tensor> tensors;
  bool any_id = false;
  for (size_t i = 0; i < instances.size(); ++i) {
    const std::string field = "instances[" + std::to_string(i) + "]";
    const json* input = &instances[i];
    std::string id;
    // {"text": ..., "id": ...}, {"data": ..., "id": ...}: an input with its id.
    if (input->is_object() && (input->contains("id") || input->contains("text") || input->contains("data"))) {
      if (input->contains("id")) {
        if (!(*input)["id"].is_string()) refuse(field + ".id", "expected a string");
        id = (*input)["id"].get<std::string>();
        any_id = true;
      }
      const char* key = model.modality == igx::Modality::Text ? "text" : "data";
      if (input->contains(key)) {
        input = &(*input)[key];
      } else if (model.modality == igx::Modality::Text || !input->contains("b64")) {
        refuse(field, std::string("expected the input in \"") + key + "\"");
      }
    }
    request.ids.push_back(id);
    switch (model.modality) {
      case igx::Modality::Text:
        request.texts.push_back(text_of(*input, field));
        break;
      case igx::Modality::Image:
        tensors.push_back(image_of(*input, field, model.image_shape));
        break;
      case igx::Modality::Tensor: {
        torch::Tensor tensor = tensor_of_list(*input, field);
        if (!tensors.empty() && tensor.sizes().vec() != tensors.front().sizes().slice(1).vec()) {
          refuse(field, "shape " + igx::shape_string(tensor) + " differs from instances[0]'s " +
                            igx::shape_string(tensors.front().squeeze(0)) + "; expected one shape");
        }
        tensors.push_back(tensor.unsqueeze(0));
        break;
      }
    }
  }
  if (!any_id) request.ids.clear();
  if (model.modality == igx::Modality::Image) request.images = torch::cat(tensors);
  if (model.modality == igx::Modality::Tensor) request.inputs = torch::cat(tensors);
  return request;
}

RequestError request_error_of(const std::string& message) {
  if (message.rfind("--", 0) == 0) {
    std::string option = message.substr(2, message.find_first_of(" ,;:'") - 2);
    for (char& c : option) {
      if (c == '-') c = '_';
    }
    return RequestError(400, "parameters." + option, message);
  }
  return RequestError(400, "instances", message);
}

std::string error_body(const std::string& message, const std::string& field) {
  json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

json explanations_body(const igx::Explanation& explanation) {
  json records = json::array();
  for (size_t i = 0; i < explanation.examples.size(); ++i) {
    records.push_back(igx::to_json(igx::select_examples(explanation, i, 1)));
  }
  return {{"explanations", records}};
}

json predictions_body(const igx::Prediction& prediction) {
  json predictions = json::array();
  const torch::Tensor outputs = prediction.outputs.dim() == 1 ? prediction.outputs.unsqueeze(1) : prediction.outputs;
  for (int64_t i = 0; i < outputs.size(0); ++i) {
    json item = {{"class", prediction.classes[i]}};
    if (!prediction.labels.empty()) item["label"] = prediction.labels[i];
    const torch::Tensor row = prediction.probabilities.defined() ? prediction.probabilities[i] : outputs[i];
    item[prediction.probabilities.defined() ? "probabilities" : "outputs"] =
        std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
    predictions.push_back(item);
  }
  return {{"predictions", predictions}};
}

json model_metadata(const std::string& name, const ModelInputs& model) {
  json input;
  switch (model.modality) {
    case igx::Modality::Text:
      input = {{"name", "text"}, {"datatype", "BYTES"}, {"shape", {-1}}};
      break;
    case igx::Modality::Image: {
      std::vector<int64_t> shape = {-1};
      shape.insert(shape.end(), model.image_shape.begin(), model.image_shape.end());
      input = {{"name", "image"}, {"datatype", "FP32"}, {"shape", shape}};
      break;
    }
    case igx::Modality::Tensor:
      input = {{"name", "input"}, {"datatype", "FP32"}, {"shape", {-1}}};
      break;
  }
  const int64_t classes = model.labels.empty() ? -1 : static_cast<int64_t>(model.labels.size());
  json metadata = {{"name", name},
                   {"versions", json::array()},
                   {"platform", "igx/torchscript"},
                   {"inputs", {input}},
                   {"outputs", {{{"name", "logits"}, {"datatype", "FP32"}, {"shape", {-1, classes}}}}}};
  metadata["parameters"] = {{"modality", igx::modality_name(model.modality)}, {"labels", model.labels}};
  return metadata;
}

}  // namespace igx_serve
