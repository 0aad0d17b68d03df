// A request's inputs and baselines on the attribution space: images from files or tensors,
// tensor baselines, and distributions of baselines (files, training images, noise).
#include <cstdio>
#include <filesystem>

#include "explain_detail.h"
#include "igx/datasets.h"
#include "igx/error.h"
#include "igx/tensor_checks.h"
#include "igx/tensor_io.h"

namespace igx::detail {
namespace {

namespace fs = std::filesystem;

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

// N Gaussian baselines around every input: [B, N, ...].
torch::Tensor noise_around(const torch::Tensor& inputs, const BaselinesSpec& spec, uint64_t seed, bool pixels) {
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  std::vector<int64_t> shape = inputs.sizes().vec();
  shape.insert(shape.begin() + 1, spec.count);
  const torch::Tensor noise = torch::randn(shape, generator, torch::kDouble).to(inputs.options());
  const torch::Tensor sets = inputs.unsqueeze(1) + spec.sigma * noise;
  if (!all_finite(sets)) {
    throw UsageError("--baselines noise:" + std::to_string(spec.count) + ":" + number(spec.sigma) +
                     " draws baselines beyond the range of the inputs' dtype (" +
                     dtype_name(inputs.scalar_type()) + "); expected a smaller SIGMA");
  }
  return pixels ? sets.clamp(0.0, 1.0) : sets;
}

// N images of the bundle's training split, drawn without replacement.
torch::Tensor training_images(const std::string& bundle, const BaselinesSpec& spec, uint64_t seed) {
  if (bundle != "mnist-cnn") {
    throw UsageError("--baselines train:N knows the training data of mnist-cnn only, not of '" + bundle +
                     "'; give a FILE of baselines or noise:N instead");
  }
  const fs::path file = fs::path(find_data_directory()) / "mnist" / "train.npy";
  if (!fs::exists(file)) {
    throw Error("--baselines train:" + std::to_string(spec.count) + " draws from mnist-cnn's training images, but '" +
                file.string() + "' is missing; run `bash scripts/fetch_data.sh` first (or use FILE or noise:N)");
  }
  const ImageDataset data = read_mnist_split(find_data_directory(), "train");
  if (spec.count > data.size()) {
    throw UsageError("--baselines train:" + std::to_string(spec.count) + " asks for more images than the " +
                     std::to_string(data.size()) + " of the training split");
  }
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const torch::Tensor drawn = torch::randperm(data.size(), generator, torch::kLong).slice(0, 0, spec.count);
  return data.images.index_select(0, drawn);
}

std::string describe_baselines(const BaselinesSpec& spec, int64_t count, uint64_t seed) {
  switch (spec.kind) {
    case BaselinesSpec::Kind::Train:
      return "distribution: " + std::to_string(count) + " training images (seed " + std::to_string(seed) + ")";
    case BaselinesSpec::Kind::Noise:
      return "distribution: " + std::to_string(count) + " Gaussian around the input (sigma " + number(spec.sigma) +
             ", seed " + std::to_string(seed) + ")";
    case BaselinesSpec::Kind::File:
      break;
  }
  return "distribution: " + std::to_string(count) + " from " + spec.path;
}

void require_file_allowed(const ExplainRequest& request, const std::string& option, const std::string& path) {
  if (!request.allow_files) {
    throw UsageError("--" + option + " names a file ('" + path + "'), and this service reads no files for requests; "
                     "send the values instead");
  }
}

// The data folder, once it holds `folder` (the test split of a shipped bundle) for the data form
// of the maximum-entropy baseline.
std::string data_directory_with(const std::string& bundle, const std::string& folder) {
  const fs::path directory = fs::path(find_data_directory()) / folder;
  if (!fs::exists(directory)) {
    throw Error("--baseline max-entropy:data chooses from " + bundle + "'s test split, but '" + directory.string() +
                "' is missing; run `bash scripts/fetch_data.sh` first (or use max-entropy:optimize)");
  }
  return find_data_directory();
}

std::string unknown_test_split(const std::string& bundle) {
  return "--baseline max-entropy:data chooses from the model's test split, and igx knows none of '" + bundle +
         "' (it knows those of spam-transformer, spam-bert and mnist-cnn); use max-entropy:optimize";
}

}  // namespace

BaselinesSpec baselines_spec(const ExplainRequest& request, Modality modality) {
  const BaselinesSpec spec = BaselinesSpec::parse(*request.options.baselines);
  if (spec.kind == BaselinesSpec::Kind::Train && modality != Modality::Image) {
    throw UsageError("--baselines train:N draws from an image bundle's training data; with --input give a FILE of "
                     "baselines [M, ...] or noise:N[:SIGMA]");
  }
  if (spec.kind == BaselinesSpec::Kind::File) require_file_allowed(request, "baselines", spec.path);
  return spec;
}

void use_max_entropy_baseline(PreparedRequest& prepared, MaxEntropyForm form, const std::string& bundle,
                              TextClassifier* text, ImageClassifier* image) {
  const MaxEntropyOptions options = MaxEntropyOptions().internal_batch_size(prepared.ig.internal_batch_size());
  const bool data = form == MaxEntropyForm::Data;
  MaxEntropyBaseline chosen;
  if (text != nullptr) {
    if (data && bundle != "spam-transformer" && bundle != "spam-bert") throw UsageError(unknown_test_split(bundle));
    const TextDataset test = data ? read_spam_split(data_directory_with(bundle, "spam"), "test") : TextDataset{};
    chosen = max_entropy_text_baseline(*text, prepared.text, form, test.texts, options);
    if (data) {
      for (int64_t row : chosen.chosen) prepared.baseline_sources.push_back(test.ids.at(static_cast<size_t>(row)));
    }
  } else {
    if (data && bundle != "mnist-cnn") throw UsageError(unknown_test_split(bundle));
    const torch::Tensor candidates =
        data ? read_mnist_split(data_directory_with(bundle, "mnist"), "test").images.to(prepared.inputs.device())
             : torch::Tensor();
    chosen = max_entropy_image_baseline(*image, prepared.inputs, form, candidates, options);
    if (data) {
      for (int64_t row : chosen.chosen) prepared.baseline_sources.push_back("test image " + std::to_string(row));
    }
  }
  if (!data) {
    for (int64_t steps : chosen.chosen) prepared.baseline_sources.push_back(std::to_string(steps) + " ascent steps");
  }
  prepared.baseline = chosen.baseline;
  prepared.baseline_entropy = chosen.entropy;
  prepared.max_entropy = chosen.max_entropy;
  prepared.baseline_description = "max-entropy:" + max_entropy_form_name(form);
}

torch::Tensor distribution_baselines(const ExplainRequest& request, const torch::Tensor& inputs, Modality modality,
                                     const std::string& bundle, std::string& description) {
  const ExplainOptions& options = request.options;
  const uint64_t seed = options.seed.value_or(0);
  if (request.baselines.defined()) {
    const torch::Tensor baselines = request.baselines.to(inputs.device());
    const int64_t count = baselines.size(baselines.dim() > inputs.dim() ? 1 : 0);
    description = "distribution: " + std::to_string(count) + " given";
    return baselines;
  }
  const BaselinesSpec spec = baselines_spec(request, modality);
  torch::Tensor baselines;
  if (spec.kind == BaselinesSpec::Kind::Train) {
    baselines = training_images(bundle, spec, seed);
  } else if (spec.kind == BaselinesSpec::Kind::Noise) {
    baselines = noise_around(inputs, spec, seed, modality == Modality::Image);
  } else {
    if (!fs::exists(spec.path)) {
      throw Error("--baselines '" + spec.path + "' is not an existing file; expected FILE (.npy or .json), train:N or "
                  "noise:N[:SIGMA]");
    }
    // Image stacks as the data sets store them: [M, H, W] or [M, C, H, W], uint8 or in [0, 1].
    baselines = modality == Modality::Image && fs::path(spec.path).extension() == ".npy"
                    ? read_image_npy(spec.path).images
                    : read_tensor(spec.path);
  }
  baselines = baselines.to(inputs.device());
  const int64_t count = baselines.size(spec.kind == BaselinesSpec::Kind::Noise || baselines.dim() > inputs.dim() ? 1 : 0);
  description = describe_baselines(spec, count, seed);
  return baselines;
}

Baseline tensor_baseline(const ExplainRequest& request) {
  if (request.baseline.defined()) return Baseline::tensor(request.baseline);
  const std::string text = request.options.baseline.value_or("auto");
  if (text == "auto" || text == "zero" || text == "0") return Baseline::zero();
  try {
    size_t used = 0;
    const double value = std::stod(text, &used);
    if (used == text.size()) return Baseline::scalar(value);
  } catch (const std::exception&) {
  }
  require_file_allowed(request, "baseline", text);
  if (!fs::exists(text)) {
    throw Error("--baseline '" + text + "' is neither zero, a number, nor an existing .npy/.json file");
  }
  return Baseline::tensor(read_tensor(text));
}

size_t example_count(const ExplainRequest& request, Modality modality) {
  switch (modality) {
    case Modality::Text:
      return request.texts.size();
    case Modality::Image:
      return request.images.defined() ? static_cast<size_t>(request.images.size(0)) : request.image_paths.size();
    case Modality::Tensor:
      return request.inputs.defined() && request.inputs.dim() > 0 ? static_cast<size_t>(request.inputs.size(0)) : 0;
  }
  return 0;
}

void check_inputs(const ExplainRequest& request, Modality modality, const std::string& name) {
  const bool texts = !request.texts.empty(), images = !request.image_paths.empty() || request.images.defined(),
             tensors = request.inputs.defined();
  const std::string expected = modality == Modality::Text    ? "texts"
                               : modality == Modality::Image ? "images (files or a [B, C, H, W] tensor)"
                                                             : "a tensor batch [B, ...]";
  if ((texts && modality != Modality::Text) || (images && modality != Modality::Image) ||
      (tensors && modality != Modality::Tensor)) {
    throw UsageError("model '" + name + "' explains " + expected + "; the request has " +
                     (texts ? "texts" : images ? "images" : "a tensor"));
  }
  if (!request.image_paths.empty() && request.images.defined()) {
    throw UsageError("the request has both image files and an image tensor; give one of them");
  }
  const size_t count = example_count(request, modality);
  if (count == 0) throw UsageError("nothing to explain; expected " + expected);
  if (!request.ids.empty() && request.ids.size() != count) {
    throw UsageError("the request has " + std::to_string(request.ids.size()) + " ids for " + std::to_string(count) +
                     " examples; expected one id per example, or none");
  }
  if (modality == Modality::Text && (request.baseline.defined() || request.baselines.defined())) {
    throw UsageError("texts take a baseline by name (--baseline pad|mask|unk|zero), not a tensor");
  }
  if (request.baseline.defined() && request.options.baseline && *request.options.baseline != "auto") {
    throw UsageError("the request has a baseline tensor and --baseline " + *request.options.baseline + "; give one of them");
  }
  if (request.baselines.defined() && request.options.baselines) {
    throw UsageError("the request has a tensor of baselines and --baselines " + *request.options.baselines +
                     "; give one of them");
  }
  if (request.baseline.defined() && request.baselines.defined()) {
    throw UsageError("the request has a baseline tensor and a tensor of baselines; give one of them");
  }
}

torch::Tensor image_tensor(const ExplainRequest& request, ImageClassifier& classifier) {
  if (!request.image_paths.empty()) {
    std::vector<torch::Tensor> pictures;
    for (const std::string& path : request.image_paths) pictures.push_back(classifier.read_image(path));
    return torch::cat(pictures);
  }
  const torch::Tensor& images = request.images;
  std::vector<int64_t> expected = {images.dim() > 0 ? images.size(0) : 0};
  for (int64_t size : classifier.input_shape()) expected.push_back(size);
  if (images.sizes().vec() != expected) {
    throw Error("images have shape " + shape_string(images) + "; model " + classifier.config().name + " expects " +
                shape_string(expected) + " (pixels in [0, 1])");
  }
  require_floating(images, "images");
  require_finite(images, "images");
  if (images.min().item<double>() < 0.0 || images.max().item<double>() > 1.0) {
    throw Error("images have values outside [0, 1]; expected pixels in [0, 1]");
  }
  return images;
}

}  // namespace igx::detail
