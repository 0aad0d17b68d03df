#pragma once
// Image classification bundles: pictures in [0, 1] in, per-pixel attributions out. The
// attribution space is pixel space: the bundle's normalisation runs inside the model, so a
// black baseline is a black picture and attributions live on the pixels people see.

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "igx/attribute.h"
#include "igx/bundle.h"
#include "igx/image_io.h"
#include "igx/layer.h"
#include "igx/model.h"

namespace igx {

/// Baselines for pictures.
struct ImageBaseline {
  enum class Kind { Black, Blur, Noise };
  Kind kind = Kind::Black;
  double blur_sigma = 4.0;  ///< Gaussian blur's standard deviation in pixels (Blur)
  uint64_t seed = 0;        ///< uniform noise in [0, 1] (Noise)

  /// "black", "blur" or "blur:SIGMA", "noise" or "noise:SEED".
  static ImageBaseline parse(const std::string& text);
  std::string describe() const;
};

/// A model on pixels in [0, 1]: (x - mean) / std, then the network.
class NormalizedModel : public Model {
 public:
  NormalizedModel(std::shared_ptr<Model> network, std::vector<double> mean, std::vector<double> std);
  torch::Tensor forward(const torch::Tensor& points, const ExtraInputs& extras) override;
  std::string describe() const override { return network_->describe(); }
  torch::Device device() const override { return network_->device(); }
  /// The network's float64 form behind the same normalization; nullptr when it has none.
  std::shared_ptr<Model> in_float64() override;
  std::vector<double> mean() const { return mean_values_; }
  std::vector<double> std() const { return std_values_; }

 private:
  std::shared_ptr<Model> network_;
  std::vector<double> mean_values_, std_values_;
  torch::Tensor mean_;  // [1, C, 1, 1]
  torch::Tensor std_;
};

/// A decoded image (image_io.h) as [1, C, H, W] in [0, 1] for a model whose input is `shape`
/// [C, H, W]: grey images are replicated for RGB models, colour is converted to grey for grey
/// ones, alpha is dropped. igx::Error naming `name` when its size differs.
torch::Tensor image_pixels(const Image& image, const std::vector<int64_t>& shape, const std::string& name);

class ImageClassifier {
 public:
  /// Loads an image bundle (igx.json needs input_shape [C, H, W]; normalization is optional).
  static ImageClassifier load(const std::string& bundle_directory, torch::Device device = torch::kCPU);

  /// Reads a PNG/PGM/... as [1, C, H, W] in [0, 1]; igx::Error if its size or channels differ
  /// from the model's input.
  torch::Tensor read_image(const std::string& path) const;
  /// The baseline for `pixels` [B, C, H, W].
  torch::Tensor baseline(const torch::Tensor& pixels, const ImageBaseline& baseline) const;

  Model& model() { return *model_; }  ///< pixels in [0, 1] -> logits
  /// The model split at a layer named in igx.json "layers" (default: its "split_point"): lower =
  /// normalisation + that layer's method, upper = the next part ("head"). igx::Error listing the
  /// layers for an unknown name.
  SplitModel split(const std::string& layer = "");
  const BundleConfig& config() const { return config_; }
  const std::vector<int64_t>& input_shape() const { return input_shape_; }  ///< [C, H, W]

 private:
  ImageClassifier(BundleConfig config, std::shared_ptr<TorchScriptModel> network,
                  std::shared_ptr<NormalizedModel> model, std::vector<int64_t> input_shape);
  BundleConfig config_;
  std::shared_ptr<TorchScriptModel> network_;
  std::shared_ptr<NormalizedModel> model_;
  std::vector<int64_t> input_shape_;
};

/// `pixels` [B, C, H, W] blurred by a Gaussian of standard deviation `sigma` pixels (edges
/// replicated).
torch::Tensor gaussian_blur(const torch::Tensor& pixels, double sigma);

}  // namespace igx
