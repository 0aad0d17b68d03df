#pragma once
// The explanation service: a loaded model (Explainer) answers requests (ExplainRequest) with
// explanations (Explanation). It decides what an explanation is — which model runs on which
// attribution space, baselines and baseline distributions, the prediction, the dispatch to IG,
// DIG, SIG, distribution IG, Expected Gradients, saliency and the layer methods — so that every
// front end (igx explain and the other commands, igx serve, the Python package, igx batch) only
// builds requests and renders results.
//
//   auto explainer = igx::Explainer::load("spam-transformer");
//   igx::ExplainRequest request;
//   request.texts = {"win a free cruise"};
//   igx::set_explain_option(request.options, "method", "sig");
//   igx::Explanation explanation = explainer->explain(request);
//   std::cout << igx::to_json(explanation).dump(2);
//
// Threads: an Explainer is made to be shared. explain() may be called from several threads at
// once on one Explainer (a server holds one for hours): the model is only read, each call keeps
// its own state, and the one cache that grows (DIG's nearest-neighbour index) is guarded, so DIG
// requests on one Explainer run one at a time. LibTorch's intra-op thread count is process-wide:
// set it once (set_num_threads) before serving, not per request.

#include <torch/torch.h>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "igx/explain_options.h"
#include "igx/explanation.h"
#include "igx/image.h"
#include "igx/model.h"
#include "igx/text.h"

namespace igx {

/// Inputs and options of one request. Give the inputs of the Explainer's modality only.
struct ExplainRequest {
  std::vector<std::string> texts;        ///< text models: one example each
  std::vector<std::string> image_paths;  ///< image models: PNG, PGM, PPM, JPEG or BMP files
  torch::Tensor images;                  ///< image models, instead of files: [B, C, H, W] in [0, 1]
  torch::Tensor inputs;                  ///< tensor models: [B, ...]
  /// Optional, one per example: carried to each ExampleExplanation and its JSON ("id").
  std::vector<std::string> ids;
  ExplainOptions options;
  /// Image and tensor models, instead of options.baseline: x' as [B, ...], [1, ...] or [...].
  torch::Tensor baseline;
  /// Image and tensor models, instead of options.baselines: [M, ...] (one set for every
  /// example) or [B, M, ...] (a set per example).
  torch::Tensor baselines;
  /// Whether options may name files to read (baseline FILE, baselines FILE): a server answering
  /// strangers sets false, and such a request is refused.
  bool allow_files = true;
  /// Optional: asked before every model call (cancellation.h); answering true stops the request
  /// with igx::Cancelled. A server sets it for a request whose deadline passed or client left.
  std::function<bool()> cancelled;
};

/// What explain_batch gives for one request: its explanation, or the error it alone caused.
struct BatchOutcome {
  Explanation explanation;   ///< when `error` is null
  std::exception_ptr error;  ///< igx::Error (its inputs, options or the model), igx::Cancelled, ...
  /// Outcomes with the same group ran as one engine call (their `counts` are that call's).
  size_t group = 0;
};

/// What the model says at a request's inputs, without explaining.
struct Prediction {
  torch::Tensor outputs;        ///< [B, C] or [B]: the model's raw outputs (logits), float64 on the CPU
  torch::Tensor probabilities;  ///< bundles: [B, C] softmax of the outputs; tensors: undefined
  std::vector<int64_t> classes; ///< the predicted class (argmax) of each example
  std::vector<std::string> labels;  ///< bundles: the predicted classes' labels; tensors: empty
};

/// Where and how a model is loaded.
struct LoadOptions {
  TORCH_ARG(std::string, entry) = "forward";       ///< tensor models: the exported method explained
  TORCH_ARG(torch::Device, device) = torch::kCPU;  ///< where the model and the computation live
};

/// A request made ready for the engine: what explain() integrates. Front ends that run the
/// engine themselves (igx sweep's many step counts, igx prune-study) start from it, so that
/// inputs, baselines, predictions and options mean what they mean in explain().
struct PreparedRequest {
  Modality modality = Modality::Tensor;
  std::string method;           ///< resolved: the options' method or the default
  std::string method_label;     ///< for the record: "ig adaptive (tolerance 0.01)", ...
  Model* model = nullptr;       ///< the model on the attribution space (owned by the Explainer)
  torch::Tensor inputs;         ///< [B, ...] on the attribution space (embeddings, pixels, tensors)
  torch::Tensor baseline;       ///< [B, ...] the baseline x' (with a distribution: unused)
  ExtraInputs extras;           ///< texts: the attention mask
  /// IG options resolved from the request: strategy, rule, tolerance, steps, output, batch
  /// size, the baseline above; for bundles the target is the predicted class per example.
  IgOptions ig;
  DigOptions dig;               ///< dig-*: anchors, neighbours, upscale
  torch::Tensor baselines;      ///< a distribution: [M, ...] or [B, M, ...]; else undefined
  int64_t expected_gradients = 0;  ///< > 0: Expected Gradients' samples
  uint64_t seed = 0;            ///< of the draws
  std::string baseline_description;  ///< for the record: "pad", "blur (sigma 3 px)", ...
  std::vector<int64_t> predictions;  ///< argmax at the input (bundles; tensors: empty)
  torch::Tensor probabilities;  ///< bundles: [B, C] softmax at the input, float64 on the CPU
  TextBatch text;               ///< texts: tokens, ids [B, T], mask [B, T]
  TextBaseline text_baseline = TextBaseline::Pad;  ///< texts
  std::vector<std::string> image_names;  ///< images: the files given ("" for tensor images)
  /// Maximum-entropy baselines: per example the entropy of the model's output at the baseline
  /// (nats), and where it came from (data: the test example's id; optimize: the ascent steps).
  std::vector<double> baseline_entropy;
  double max_entropy = 0;  ///< log C
  std::vector<std::string> baseline_sources;
};

class Explainer {
 public:
  /// A bundle by name or folder (its igx.json says text or image), or a TorchScript file
  /// (tensor inputs, options.entry() explained). igx::Error naming the model otherwise.
  static std::shared_ptr<Explainer> load(const std::string& model, const LoadOptions& options = {});
  /// Any Model on tensors, e.g. a C++ callable (tensor modality); `name` is for the record.
  static std::shared_ptr<Explainer> from_model(std::shared_ptr<Model> model, const std::string& name);

  /// Explains every example of `request`. Safe to call from several threads at once.
  Explanation explain(const ExplainRequest& request);
  /// The same in two parts: `prepared` = prepare(request) (front ends check their output
  /// files in between, before the long part).
  Explanation explain(PreparedRequest& prepared, const ExplainRequest& request);

  /// Explains several requests, running those that ask for the same computation (same
  /// options, no tensor baselines, no random draws over the batch) as one engine call: their
  /// examples share the model's batches, adaptive rounds included. Returns one outcome per
  /// request. Each explanation equals the request's own up to float rounding (the model sees
  /// other rows in its batches; a text padded to a longer batch has more masked positions): the
  /// same steps, certificate and prediction. `counts` of a joined request are the joint call's.
  /// Each request stands alone: one that fails its checks, or makes the joint call fail, gets
  /// its own error and the others are explained; a joint call stops (igx::Cancelled) only when
  /// every request in it is cancelled.
  std::vector<BatchOutcome> explain_batch(const std::vector<ExplainRequest>& requests);

  /// Checks a request as prepare() would, without running the model: inputs of the modality
  /// (texts tokenised, image tensors' shape and range), every option against the method,
  /// baselines, targets within the bundle's classes, files only where allowed. igx::Error for
  /// a request that cannot run; a front end answers it before queueing any work.
  void check(const ExplainRequest& request);

  /// The model's outputs at the request's inputs (its options are not used).
  Prediction predict(const ExplainRequest& request);

  /// The request resolved and its inputs on the attribution space, without integrating:
  /// inputs, baseline or baseline distribution, targets and prediction. Checks every option
  /// against the input and the method (igx::Error for one that does not apply).
  PreparedRequest prepare(const ExplainRequest& request);

  Modality modality() const { return modality_; }
  const std::string& name() const { return name_; }  ///< bundle name, or model path
  /// The class label of a bundle, or the index as text.
  std::string label(int64_t index) const;
  /// The bundle behind the Explainer; igx::Error when it is of another modality.
  TextClassifier& text_classifier();
  ImageClassifier& image_classifier();
  torch::Device device() const { return device_; }

 private:
  Explainer() = default;
  Modality modality_ = Modality::Tensor;
  std::string name_;
  torch::Device device_ = torch::kCPU;
  std::unique_ptr<TextClassifier> text_;
  std::unique_ptr<ImageClassifier> image_;
  std::shared_ptr<Model> tensor_model_;
  std::mutex dig_mutex_;  // DIG's neighbour index grows lazily and is shared
};

/// The shipped model a front end uses when none is named: spam-transformer for texts,
/// mnist-cnn for images; igx::Error for tensors (they need a model file).
std::string default_model(Modality modality);

}  // namespace igx
