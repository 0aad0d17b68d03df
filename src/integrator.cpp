#include "igx/integrator.h"

#include <limits>

#include "igx/cancellation.h"
#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// A run of consecutive points of one job that shares a batch with other runs.
struct Piece {
  size_t job;
  int64_t begin;
  int64_t end;
};

ExtraInputs rows_of(const ExtraInputs& extras, const torch::Tensor& examples) {
  ExtraInputs rows;
  rows.reserve(extras.size());
  for (const auto& extra : extras) rows.push_back(extra.index_select(0, examples.to(extra.device())));
  return rows;
}

// Runs the model, turning LibTorch's errors (a shape mismatch inside the network, say) into one
// readable line that names the model and the batch it was given. A cancelled computation
// (cancellation.h) stops here, before its next batch.
torch::Tensor call_model(Model& model, const torch::Tensor& points, const ExtraInputs& extras) {
  throw_if_cancelled();
  try {
    return model.forward(points, extras);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& error) {  // c10::Error, or TorchScript's own runtime errors
    throw Error(model.describe() + " failed on a batch of shape " + shape_string(points) + ": " +
                torch_error_summary(error));
  }
}

int64_t row_limit(int64_t internal_batch_size) {
  if (internal_batch_size < 0) {
    throw Error("internal_batch_size must be 0 (no limit) or positive, got " +
                std::to_string(internal_batch_size));
  }
  return internal_batch_size == 0 ? std::numeric_limits<int64_t>::max() : internal_batch_size;
}

}  // namespace

void check_model_output(const torch::Tensor& outputs, int64_t rows, const Model& model) {
  if (!outputs.defined() || (outputs.dim() != 1 && outputs.dim() != 2) || outputs.size(0) != rows) {
    throw Error(model.describe() + " returned shape " +
                (outputs.defined() ? shape_string(outputs) : std::string("(nothing)")) +
                " for " + std::to_string(rows) + " rows; expected [" + std::to_string(rows) +
                ", classes] or [" + std::to_string(rows) + "]");
  }
  require_floating(outputs, model.describe() + " output");
}

Integrator::Integrator(Model& model, ExtraInputs extras, OutputKind output, int64_t internal_batch_size)
    : model_(model),
      extras_(std::move(extras)),
      output_(output),
      max_rows_(row_limit(internal_batch_size)) {}

std::vector<PathResult> Integrator::integrate(const std::vector<PathJob>& jobs) {
  if (!targets_.defined()) throw Error("Integrator::integrate: the targets are not set yet");
  std::vector<PathResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) results[j].values.reserve(jobs[j].path->size());

  std::vector<Piece> batch;
  int64_t batch_rows = 0;
  std::vector<std::vector<torch::Tensor>> kept(jobs.size());

  auto flush = [&] {
    if (batch.empty()) return;
    // Points go straight into one buffer: no per-piece tensors to concatenate.
    const Path& first = *jobs[batch.front().job].path;
    std::vector<int64_t> shape = first.point_shape();
    shape.insert(shape.begin(), batch_rows);
    torch::Tensor points = torch::empty(shape, first.point_options());
    std::vector<int64_t> example_of_row;
    example_of_row.reserve(batch_rows);
    int64_t row = 0;
    for (const Piece& piece : batch) {
      const int64_t count = piece.end - piece.begin;
      jobs[piece.job].path->write_points(piece.begin, piece.end, points.narrow(0, row, count));
      example_of_row.insert(example_of_row.end(), count, jobs[piece.job].example);
      row += count;
    }
    const torch::Tensor examples = torch::tensor(example_of_row, torch::kLong);
    points = points.to(model_.device()).requires_grad_(true);

    torch::Tensor outputs = call_model(model_, points, rows_of(extras_, examples));
    check_model_output(outputs, batch_rows, model_);
    check_targets_once(outputs);
    const torch::Tensor values = select_output(outputs, targets_.index_select(0, examples), output_);
    // Rows are independent, so the gradient of the sum is each row's own gradient.
    const torch::Tensor gradients = torch::autograd::grad({values.sum()}, {points})[0].detach();
    const torch::Tensor values_cpu = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const double* value_data = values_cpu.data_ptr<double>();
    const torch::Tensor magnitudes_cpu =
        outputs.detach().abs().reshape({batch_rows, -1}).amax(1).to(torch::kCPU, torch::kDouble).contiguous();
    const double* magnitude_data = magnitudes_cpu.data_ptr<double>();

    // Scalar weights of all pieces form one block matrix [pieces, rows]: a single product gives
    // every piece's weighted sum. Vector weights (discrete paths) are applied piece by piece.
    const torch::Tensor flat_gradients = gradients.reshape({batch_rows, -1});
    torch::Tensor block_weights = torch::zeros({static_cast<int64_t>(batch.size()), batch_rows}, torch::kDouble);
    std::vector<torch::Tensor> vector_contributions(batch.size());
    row = 0;
    for (size_t p = 0; p < batch.size(); ++p) {
      const Piece& piece = batch[p];
      const int64_t count = piece.end - piece.begin;
      const torch::Tensor weights = jobs[piece.job].path->weights(piece.begin, piece.end);
      if (weights.dim() == 1) {
        block_weights[p].narrow(0, row, count).copy_(weights);
      } else {
        vector_contributions[p] = (weights.to(gradients.device(), torch::kDouble) *
                                   gradients.narrow(0, row, count).to(torch::kDouble)).sum(0);
      }
      row += count;
    }
    // In the gradients' precision (float64 models stay exact); sums accumulate in float64.
    const torch::Tensor scalar_contributions =
        torch::mm(block_weights.to(gradients.device(), gradients.scalar_type()), flat_gradients).to(torch::kDouble);

    row = 0;
    for (size_t p = 0; p < batch.size(); ++p) {
      const Piece& piece = batch[p];
      const int64_t count = piece.end - piece.begin;
      PathResult& result = results[piece.job];
      const torch::Tensor contribution = vector_contributions[p].defined()
                                             ? vector_contributions[p]
                                             : scalar_contributions[p].view(gradients.sizes().slice(1));
      if (result.weighted_gradient_sum.defined()) {
        result.weighted_gradient_sum.add_(contribution);
      } else {
        result.weighted_gradient_sum = contribution.clone();
      }
      result.values.insert(result.values.end(), value_data + row, value_data + row + count);
      result.output_magnitudes.insert(result.output_magnitudes.end(), magnitude_data + row, magnitude_data + row + count);
      if (jobs[piece.job].keep_gradients) kept[piece.job].push_back(gradients.narrow(0, row, count).clone());
      row += count;
    }
    counts_.gradient_rows += batch_rows;
    counts_.batches += 1;
    batch.clear();
    batch_rows = 0;
  };

  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t size = jobs[j].path->size();
    for (int64_t begin = 0; begin < size;) {
      const int64_t take = std::min(size - begin, max_rows_ - batch_rows);
      batch.push_back({j, begin, begin + take});
      batch_rows += take;
      begin += take;
      if (batch_rows == max_rows_) flush();
    }
  }
  flush();
  for (size_t j = 0; j < jobs.size(); ++j) {
    if (jobs[j].keep_gradients && !kept[j].empty()) results[j].gradients = torch::cat(kept[j]);
  }
  return results;
}

void Integrator::check_targets_once(const torch::Tensor& outputs) {
  if (targets_checked_ || !targets_.defined()) return;
  check_targets(targets_, outputs.dim() == 1 ? 1 : outputs.size(1));
  targets_checked_ = true;
}

torch::Tensor Integrator::run_forward(const torch::Tensor& points, const torch::Tensor& examples) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> chunks;
  for (int64_t begin = 0; begin < points.size(0); begin += max_rows_) {
    const int64_t count = std::min(points.size(0) - begin, max_rows_);
    const torch::Tensor chunk_examples = examples.narrow(0, begin, count);
    torch::Tensor outputs = call_model(model_, points.narrow(0, begin, count).to(model_.device()),
                                       rows_of(extras_, chunk_examples));
    check_model_output(outputs, count, model_);
    check_targets_once(outputs);
    if (targets_.defined()) outputs = select_output(outputs, targets_.index_select(0, chunk_examples), output_);
    chunks.push_back(outputs.detach());
    counts_.forward_rows += count;
    counts_.batches += 1;
  }
  return torch::cat(chunks);
}

torch::Tensor Integrator::values(const torch::Tensor& points, const torch::Tensor& examples) {
  if (!targets_.defined()) throw Error("Integrator::values: the targets are not set yet");
  return run_forward(points, examples).to(torch::kCPU, torch::kDouble);
}

torch::Tensor Integrator::outputs(const torch::Tensor& points, const torch::Tensor& examples) {
  const torch::Tensor saved_targets = targets_;
  targets_ = torch::Tensor();
  torch::Tensor raw = run_forward(points, examples);
  targets_ = saved_targets;
  return raw;
}

}  // namespace igx
