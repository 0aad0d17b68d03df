#pragma once
// The wire format of igx serve: KServe V1 bodies ({"instances": [...], "parameters": {...}}) read
// into the library's ExplainRequest, and answers written from its Explanation and Prediction.
// Nothing here runs a model, so the request parser can be fuzzed and tested on its own.

#include <nlohmann/json.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "igx/explainer.h"

namespace igx_serve {

/// A request the server refuses (4xx): the status, the field at fault ("instances[2]",
/// "parameters.tolerance", "body") and, in the message, what was expected.
class RequestError : public std::runtime_error {
 public:
  RequestError(int status, std::string field, const std::string& message)
      : std::runtime_error(message), status(status), field(std::move(field)) {}
  int status;
  std::string field;
};

/// What the parser needs to know about a model.
struct ModelInputs {
  igx::Modality modality = igx::Modality::Tensor;
  std::vector<int64_t> image_shape;  ///< images: [C, H, W]
  std::vector<std::string> labels;   ///< bundles: the class names
  int64_t max_instances = 32;        ///< most instances in one request
};

/// Reads a V1 body: "instances" (texts: strings or {"text", "id"}; images: {"b64": PNG...} or
/// pixel lists [H][W] / [C][H][W] in [0, 1], optionally with "id"; tensors: nested number lists
/// of one shape) and "parameters" (the explanation options by their snake_case names). Files are
/// never read for a request (allow_files = false). RequestError (400) naming the field otherwise.
igx::ExplainRequest parse_instances(const std::string& body, const ModelInputs& model);

/// Standard base64 (RFC 4648, padding optional, no whitespace); none for anything else.
bool decode_base64(const std::string& text, std::string& bytes);

/// An igx::Error raised by the service for a parsed request (an option that does not apply, a
/// text without tokens) as a RequestError: options errors ("--tolerance ...") name
/// "parameters.<option>", the others "instances".
RequestError request_error_of(const std::string& message);

/// {"error": message, "field": field} ("field" left out when empty).
std::string error_body(const std::string& message, const std::string& field = "");

/// {"explanations": [one igx.explanation/1 record per instance]}.
nlohmann::json explanations_body(const igx::Explanation& explanation);

/// {"predictions": [{"class", "label", "probabilities"} per instance]} (tensors: "outputs").
nlohmann::json predictions_body(const igx::Prediction& prediction);

/// Open Inference Protocol model metadata: name, platform, inputs and outputs.
nlohmann::json model_metadata(const std::string& name, const ModelInputs& model);

}  // namespace igx_serve
