// igx serve's request bodies (KServe V1 JSON, tools/igx/serve/protocol.h): any bytes are either
// read into a request that matches the model's inputs or refused with a RequestError (HTTP 400)
// that names the field at fault in a short message. The first byte picks the model the body is
// sent to (text, a greyscale or a colour image bundle, a tensor model), the rest is the body.
#include <cmath>
#include <string>

#include <torch/torch.h>

#include "fuzz_target.h"
#include "serve/protocol.h"

IGX_FUZZ_TARGET(serve_request) {
  if (size == 0) return 0;
  igx_serve::ModelInputs model;
  switch (data[0] % 4) {
    case 0:
      model.modality = igx::Modality::Text;
      model.labels = {"ham", "spam"};
      break;
    case 1:
      model.modality = igx::Modality::Image;
      model.image_shape = {1, 28, 28};
      model.labels = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};
      break;
    case 2:
      model.modality = igx::Modality::Image;
      model.image_shape = {3, 4, 4};
      break;
    default:
      model.modality = igx::Modality::Tensor;
      break;
  }
  model.max_instances = 8;
  const std::string body(reinterpret_cast<const char*>(data) + 1, size - 1);
  igx::ExplainRequest request;
  try {
    request = igx_serve::parse_instances(body, model);
  } catch (const igx_serve::RequestError& error) {
    igx_fuzz_check(error.status == 400);
    igx_fuzz_check(!error.field.empty());
    igx_fuzz_check(std::string(error.what()).size() < 2000);  // one readable line, not an echo of the body
    return 0;
  }
  igx_fuzz_check(!request.allow_files);  // a request never names files the server would read
  size_t count = 0;
  switch (model.modality) {
    case igx::Modality::Text:
      count = request.texts.size();
      for (const std::string& text : request.texts) igx_fuzz_check(!text.empty());
      break;
    case igx::Modality::Image: {
      igx_fuzz_check(request.images.defined() && request.images.dim() == 4);
      count = static_cast<size_t>(request.images.size(0));
      igx_fuzz_check(request.images.size(1) == model.image_shape[0] && request.images.size(2) == model.image_shape[1] &&
                     request.images.size(3) == model.image_shape[2]);
      igx_fuzz_check(request.images.min().item<double>() >= 0.0 && request.images.max().item<double>() <= 1.0);
      break;
    }
    case igx::Modality::Tensor:
      igx_fuzz_check(request.inputs.defined() && request.inputs.dim() >= 1);
      count = static_cast<size_t>(request.inputs.size(0));
      igx_fuzz_check(torch::isfinite(request.inputs).all().item<bool>());
      break;
  }
  igx_fuzz_check(count >= 1 && count <= static_cast<size_t>(model.max_instances));
  igx_fuzz_check(request.ids.empty() || request.ids.size() == count);
  return 0;
}
