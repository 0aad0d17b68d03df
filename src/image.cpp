#include "igx/image.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "bundle_checks.h"
#include "igx/error.h"
#include "igx/image_io.h"
#include "igx/tensor_checks.h"
#include "igx/tensor_io.h"

namespace igx {

ImageBaseline ImageBaseline::parse(const std::string& text) {
  const size_t colon = text.find(':');
  const std::string name = text.substr(0, colon);
  const std::string argument = colon == std::string::npos ? "" : text.substr(colon + 1);
  const std::string forms = "; expected black, blur, blur:SIGMA (a finite number of pixels > 0), noise or noise:SEED "
                            "(an integer >= 0)";
  ImageBaseline baseline;
  if ((name == "black" || name == "zero") && colon == std::string::npos) return baseline;
  if (name == "blur") {
    baseline.kind = Kind::Blur;
    if (colon == std::string::npos) return baseline;
    char* end = nullptr;
    baseline.blur_sigma = std::strtod(argument.c_str(), &end);
    if (!argument.empty() && end == argument.c_str() + argument.size() && std::isfinite(baseline.blur_sigma) &&
        baseline.blur_sigma > 0) {
      return baseline;
    }
    throw UsageError("image baseline '" + text + "': SIGMA '" + argument + "' is not a finite number > 0" + forms);
  }
  if (name == "noise") {
    baseline.kind = Kind::Noise;
    if (colon == std::string::npos) return baseline;
    // Digits only: strtoull would read "-5" as 2^64 - 5.
    const bool digits = !argument.empty() && argument.size() <= 19 &&
                        argument.find_first_not_of("0123456789") == std::string::npos;
    if (digits) {
      baseline.seed = std::stoull(argument);
      return baseline;
    }
    throw UsageError("image baseline '" + text + "': SEED '" + argument + "' is not an integer from 0 to " +
                     "9999999999999999999" + forms);
  }
  throw UsageError("image baseline '" + text + "' is not valid" + forms);
}

std::string ImageBaseline::describe() const {
  switch (kind) {
    case Kind::Black:
      return "black";
    case Kind::Blur:
      return "blur (sigma " + std::to_string(blur_sigma) + " px)";
    case Kind::Noise:
      return "uniform noise (seed " + std::to_string(seed) + ")";
  }
  return "black";
}

NormalizedModel::NormalizedModel(std::shared_ptr<Model> network, std::vector<double> mean, std::vector<double> std)
    : network_(std::move(network)), mean_values_(mean), std_values_(std) {
  if (mean.size() != std.size()) {
    throw Error("normalization has " + std::to_string(mean.size()) + " means but " + std::to_string(std.size()) +
                " standard deviations; expected one of each per channel");
  }
  for (double s : std) {
    if (!(s > 0)) throw Error("normalization std " + std::to_string(s) + " is not positive");
  }
  const auto channels = static_cast<int64_t>(mean.size());
  mean_ = torch::tensor(mean, torch::kFloat).view({1, channels, 1, 1}).to(network_->device());
  std_ = torch::tensor(std, torch::kFloat).view({1, channels, 1, 1}).to(network_->device());
}

torch::Tensor NormalizedModel::forward(const torch::Tensor& points, const ExtraInputs& extras) {
  if (mean_.numel() == 0) return network_->forward(points, extras);
  return network_->forward((points - mean_.to(points.dtype())) / std_.to(points.dtype()), extras);
}

std::shared_ptr<Model> NormalizedModel::in_float64() {
  std::shared_ptr<Model> network = network_->in_float64();
  if (!network) return nullptr;
  return std::make_shared<NormalizedModel>(network, mean_values_, std_values_);
}

ImageClassifier::ImageClassifier(BundleConfig config, std::shared_ptr<TorchScriptModel> network,
                                 std::shared_ptr<NormalizedModel> model, std::vector<int64_t> input_shape)
    : config_(std::move(config)),
      network_(std::move(network)),
      model_(std::move(model)),
      input_shape_(std::move(input_shape)) {}

SplitModel ImageClassifier::split(const std::string& layer) {
  const nlohmann::json layers = config_.json.value("layers", nlohmann::json::object());
  const std::string name = layer.empty() ? config_.json.value("split_point", std::string()) : layer;
  std::string known;
  for (const auto& item : layers.items()) known += (known.empty() ? "" : ", ") + item.key();
  if (name.empty() || !layers.contains(name) || name == "head") {
    throw UsageError("model '" + config_.name + "' has no split point '" + name + "'; its layers are: " +
                     (known.empty() ? "(none)" : known) + " (the split is before 'head')");
  }
  const std::string lower_method = layers[name].value("method", name);
  const std::string upper_method = layers.contains("head") ? layers["head"].value("method", "head") : "head";
  SplitModel split;
  split.layer = name;
  split.lower = std::make_shared<NormalizedModel>(network_->with_method(lower_method), model_->mean(), model_->std());
  split.upper = network_->with_method(upper_method);
  return split;
}

ImageClassifier ImageClassifier::load(const std::string& bundle_directory, torch::Device device) {
  BundleConfig config = load_bundle_config(bundle_directory);
  if (config.task != "image") {
    throw Error("model bundle '" + bundle_directory + "' is a " + config.task + " model; expected an image model");
  }
  std::vector<int64_t> input_shape;
  std::vector<double> mean, std;
  try {
    input_shape = config.json.at("input_shape").get<std::vector<int64_t>>();
    if (config.json.contains("normalization")) {
      mean = config.json["normalization"].at("mean").get<std::vector<double>>();
      std = config.json["normalization"].at("std").get<std::vector<double>>();
    }
  } catch (const nlohmann::json::exception& error) {
    throw Error(config.directory + "/igx.json: " + error.what());
  }
  if (input_shape.size() != 3 || (input_shape[0] != 1 && input_shape[0] != 3)) {
    throw Error(config.directory + "/igx.json: input_shape must be [C, H, W] with C = 1 or 3");
  }
  if (!mean.empty() && mean.size() != 1 && static_cast<int64_t>(mean.size()) != input_shape[0]) {
    throw Error(config.directory + "/igx.json: normalization has " + std::to_string(mean.size()) +
                " channels; the input has " + std::to_string(input_shape[0]));
  }
  auto network = TorchScriptModel::load(config.model_path(), config.method("forward", "forward"), device);
  detail::check_image_model(config, *network, input_shape);
  auto model = std::make_shared<NormalizedModel>(network, mean, std);
  return ImageClassifier(std::move(config), std::move(network), std::move(model), std::move(input_shape));
}

torch::Tensor ImageClassifier::read_image(const std::string& path) const {
  return image_pixels(igx::read_image(path), input_shape_, path);
}

torch::Tensor image_pixels(const Image& image, const std::vector<int64_t>& shape, const std::string& path) {
  const int64_t channels = shape.at(0), height = shape.at(1), width = shape.at(2);
  require_size(image, static_cast<int>(width), static_cast<int>(height), path);
  if (channels == 1) {
    return tensor_from_array(to_greyscale(image)).view({1, 1, height, width});
  }
  // RGB: grey pictures are replicated, alpha is dropped.
  torch::Tensor values = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                          {height, width, image.channels}, torch::kUInt8)
                             .to(torch::kFloat)
                             .div(255.0);
  values = image.channels <= 2 ? values.narrow(2, 0, 1).expand({height, width, 3}) : values.narrow(2, 0, 3);
  return values.permute({2, 0, 1}).unsqueeze(0).contiguous();
}

torch::Tensor gaussian_blur(const torch::Tensor& pixels, double sigma) {
  // Beyond the image's larger side the blur is all but a mean, and the kernel (6 sigma wide)
  // would only cost memory.
  const int64_t side = std::max(pixels.size(2), pixels.size(3));
  if (!std::isfinite(sigma) || !(sigma > 0) || sigma > static_cast<double>(side)) {
    char value[32];
    std::snprintf(value, sizeof value, "%g", sigma);
    throw UsageError(std::string("blur sigma ") + value + " px does not fit the " + std::to_string(pixels.size(3)) +
                     "x" + std::to_string(pixels.size(2)) + " image; expected 0 < sigma <= " + std::to_string(side));
  }
  const int64_t radius = std::max<int64_t>(1, static_cast<int64_t>(std::ceil(3 * sigma)));
  torch::Tensor kernel = torch::arange(-radius, radius + 1, torch::kDouble);
  kernel = torch::exp(-kernel * kernel / (2 * sigma * sigma));
  kernel = (kernel / kernel.sum()).to(pixels.dtype()).to(pixels.device());
  const int64_t channels = pixels.size(1);
  // Separable: rows then columns, one group per channel.
  const torch::Tensor horizontal = kernel.view({1, 1, 1, -1}).expand({channels, 1, 1, 2 * radius + 1});
  const torch::Tensor vertical = kernel.view({1, 1, -1, 1}).expand({channels, 1, 2 * radius + 1, 1});
  namespace F = torch::nn::functional;
  torch::Tensor blurred = F::pad(pixels, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReplicate));
  blurred = F::conv2d(blurred, horizontal.contiguous(), F::Conv2dFuncOptions().groups(channels));
  return F::conv2d(blurred, vertical.contiguous(), F::Conv2dFuncOptions().groups(channels));
}

torch::Tensor ImageClassifier::baseline(const torch::Tensor& pixels, const ImageBaseline& baseline) const {
  switch (baseline.kind) {
    case ImageBaseline::Kind::Black:
      return torch::zeros_like(pixels);
    case ImageBaseline::Kind::Blur:
      return gaussian_blur(pixels, baseline.blur_sigma);
    case ImageBaseline::Kind::Noise: {
      auto generator = at::make_generator<at::CPUGeneratorImpl>(baseline.seed);
      return torch::rand(pixels.sizes(), generator, torch::TensorOptions().dtype(pixels.dtype())).to(pixels.device());
    }
  }
  return torch::zeros_like(pixels);
}

}  // namespace igx
