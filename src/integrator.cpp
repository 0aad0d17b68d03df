#include "igx/integrator.h"

#include <c10/core/Allocator.h>
#include <c10/util/ThreadLocalDebugInfo.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

#include "igx/cancellation.h"
#include "igx/error.h"
#include "igx/tensor_checks.h"

namespace igx {
namespace {

// The first batch of Automatic sizing: small enough for any model's memory, large enough that a
// row's share of per-call allocations is small.
constexpr int64_t kMeasuredRows = 16;

// Counts the bytes LibTorch's allocators hand out on this thread while it is installed, and
// their peak. LibTorch reports every allocation and free to the thread's memory-reporting hook
// (the one its profiler uses); igx installs this one only while no profiler is.
// No `override`: LibTorch 1.13 passes the totals as int64_t, 2.x as size_t; one of the two
// overloads overrides.
class PeakMemory final : public c10::MemoryReportingInfoBase {
 public:
  void reportMemoryUsage(void*, int64_t bytes, int64_t, int64_t, c10::Device) { add(bytes); }
  void reportMemoryUsage(void*, int64_t bytes, size_t, size_t, c10::Device) { add(bytes); }
  bool memoryProfilingEnabled() const { return true; }
  int64_t peak() const { return peak_; }

 private:
  void add(int64_t bytes) {
    current_ += bytes;
    peak_ = std::max(peak_, current_);
  }
  int64_t current_ = 0;
  int64_t peak_ = 0;
};

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

std::string value_name(double value) {
  if (std::isnan(value)) return "NaN";
  return value > 0 ? "+Inf" : "-Inf";
}

/// The first row of [rows, ...] holding a NaN or an infinity, and how many of its entries do;
/// none when all are finite. The common case costs one pass over the batch (all_finite).
struct NonFinite {
  int64_t row = -1;
  int64_t count = 0;
  int64_t entries = 0;
  double value = 0;
};

std::optional<NonFinite> first_non_finite(const torch::Tensor& rows) {
  if (all_finite(rows)) return std::nullopt;
  const torch::Tensor finite = torch::isfinite(rows);
  const torch::Tensor bad_rows = finite.reshape({rows.size(0), -1}).logical_not();
  NonFinite found;
  found.row = bad_rows.any(1).nonzero()[0][0].item<int64_t>();
  const torch::Tensor row_bad = bad_rows[found.row];
  found.count = row_bad.sum().item<int64_t>();
  found.entries = row_bad.numel();
  const int64_t first = row_bad.nonzero()[0][0].item<int64_t>();
  found.value = rows.reshape({rows.size(0), -1})[found.row][first].item<double>();
  return found;
}

// sum += sum_r weights[r] * rows[r], every product and sum in float64. Four rows at a time, added
// pairwise and then to the sum: a quarter of the loads and stores of `sum`.
template <typename T>
inline __attribute__((always_inline)) void add_weighted_rows_body(const T* rows, int64_t count, int64_t row_size,
                                                                  const double* weights, double* sum) {
  int64_t r = 0;
  for (; r + 4 <= count; r += 4) {
    const double w0 = weights[r], w1 = weights[r + 1], w2 = weights[r + 2], w3 = weights[r + 3];
    const T* g0 = rows + r * row_size;
    const T* g1 = g0 + row_size;
    const T* g2 = g1 + row_size;
    const T* g3 = g2 + row_size;
    for (int64_t i = 0; i < row_size; ++i) {
      sum[i] += (w0 * static_cast<double>(g0[i]) + w1 * static_cast<double>(g1[i])) +
                (w2 * static_cast<double>(g2[i]) + w3 * static_cast<double>(g3[i]));
    }
  }
  for (; r < count; ++r) {
    const double weight = weights[r];
    const T* values = rows + r * row_size;
    for (int64_t i = 0; i < row_size; ++i) sum[i] += weight * static_cast<double>(values[i]);
  }
}

// The same operations in the same order with AVX2's wider registers where the CPU has them (twice
// the entries an instruction; no FMA, so every result is bit for bit the baseline build's).
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
template <typename T>
__attribute__((target("avx2"))) void add_weighted_rows_avx2(const T* rows, int64_t count, int64_t row_size,
                                                            const double* weights, double* sum) {
  add_weighted_rows_body(rows, count, row_size, weights, sum);
}
#endif

template <typename T>
void add_weighted_rows(const T* rows, int64_t count, int64_t row_size, const double* weights, double* sum) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return add_weighted_rows_avx2(rows, count, row_size, weights, sum);
#endif
  add_weighted_rows_body(rows, count, row_size, weights, sum);
}

const char* const kNonFiniteConsequence = "; attributions would be meaningless, so igx stops here";

int64_t row_limit(int64_t internal_batch_size) {
  if (internal_batch_size < 0) {
    throw Error("internal_batch_size must be 0 (no limit) or positive, got " +
                std::to_string(internal_batch_size));
  }
  return internal_batch_size == 0 ? std::numeric_limits<int64_t>::max() : internal_batch_size;
}

// Batches allocate and free the same large buffers over and over (a batch's activations,
// megabytes each). glibc maps blocks above its mmap threshold afresh and gives free memory above
// its trim threshold back to the system; its dynamic threshold grows only as mapped blocks are
// freed, so a process running igx's batches paid page faults, batch after batch, for memory it
// had just freed: on the spam-transformer, 16-row batches took 30-40 % more CPU time than in a
// process whose thresholds had grown (docs/benchmarks.md). Once per process, both are set to
// what glibc's own heuristic reaches at most (32 MiB; trim at twice that), unless the process
// was started with malloc settings of its own: then igx leaves malloc alone (returns false).
constexpr int kFirstTrimThreshold = 64 << 20;

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  static const bool managed = [] {
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    if ((tunables != nullptr && std::strstr(tunables, "malloc") != nullptr) ||
        std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr || std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr) {
      return false;
    }
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, kFirstTrimThreshold);
    return true;
  }();
  return managed;
#else
  return false;
#endif
}

// A batch frees all it took when it ends, and the next batch takes as much again. When a batch's
// memory exceeded the trim threshold, glibc gave it back to the system at the batch's end and the
// next batch page-faulted it in afresh (the spam-transformer's 50-row batches: ~9 000 pages a
// batch, 14 % of the process's CPU time in the kernel; docs/benchmarks.md). So the threshold
// follows the largest batch the process has run: twice its peak (glibc's own ratio of trim to
// mmap threshold), never lower, like glibc's dynamic one. The process keeps its high-water mark
// instead of returning it between batches.
std::mutex kept_memory_mutex;
int64_t kept_memory_bytes = kFirstTrimThreshold;

void keep_memory_for_batches_of(int64_t peak_bytes) {
#if defined(__GLIBC__)
  if (!keep_freed_memory_for_reuse()) return;
  const int64_t wanted = std::min<int64_t>(2 * peak_bytes, std::numeric_limits<int>::max());
  const std::lock_guard<std::mutex> lock(kept_memory_mutex);
  if (wanted <= kept_memory_bytes) return;
  kept_memory_bytes = wanted;
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(wanted));
#else
  (void)peak_bytes;
#endif
}

// Sysfs cache size: "32768K", "2M" or plain bytes.
int64_t parse_cache_size(const std::string& text) {
  size_t used = 0;
  const int64_t value = std::stoll(text, &used);
  const char unit = used < text.size() ? text[used] : ' ';
  return unit == 'K' ? value << 10 : unit == 'M' ? value << 20 : unit == 'G' ? value << 30 : value;
}

}  // namespace

int64_t batch_memory_kept_bytes() {
  if (!keep_freed_memory_for_reuse()) return 0;
  const std::lock_guard<std::mutex> lock(kept_memory_mutex);
  return kept_memory_bytes;
}

int64_t last_level_cache_bytes() {
  static const int64_t bytes = [] {
    int64_t largest = 0;
    for (int index = 0; index < 8; ++index) {
      std::ifstream file("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) + "/size");
      std::string text;
      if (!(file >> text)) continue;
      try {
        largest = std::max(largest, parse_cache_size(text));
      } catch (const std::exception&) {
      }
    }
    return largest > 0 ? largest : int64_t{32} << 20;
  }();
  return bytes;
}

int64_t rows_fitting(int64_t bytes_per_row, int64_t cache_bytes, int64_t max_rows) {
  const int64_t fitting = std::max<int64_t>(1, cache_bytes / std::max<int64_t>(bytes_per_row, 1));
  if (fitting >= max_rows) return max_rows;
  int64_t rows = 1;
  while (rows * 2 <= fitting) rows *= 2;
  return rows;
}

void check_model_output(const torch::Tensor& outputs, int64_t rows, const Model& model) {
  if (!outputs.defined() || (outputs.dim() != 1 && outputs.dim() != 2) || outputs.size(0) != rows ||
      (outputs.dim() == 2 && outputs.size(1) == 0)) {
    throw Error(model.describe() + " returned shape " +
                (outputs.defined() ? shape_string(outputs) : std::string("(nothing)")) +
                " for " + std::to_string(rows) + " rows; expected [" + std::to_string(rows) +
                ", classes] (at least one class) or [" + std::to_string(rows) + "]");
  }
  require_floating(outputs, model.describe() + " output");
}

Integrator::Integrator(Model& model, ExtraInputs extras, OutputKind output, int64_t internal_batch_size,
                       BatchSizing sizing)
    : model_(model),
      extras_(std::move(extras)),
      output_(output),
      max_rows_(row_limit(internal_batch_size)),
      sizing_(model.device().is_cpu() ? sizing : BatchSizing::Fixed) {
  keep_freed_memory_for_reuse();
}

int64_t Integrator::gradient_batch_rows() const {
  if (sizing_ == BatchSizing::Fixed) return max_rows_;
  return chosen_rows_ > 0 ? chosen_rows_ : std::min(max_rows_, kMeasuredRows);
}

std::vector<PathResult> Integrator::integrate(const std::vector<PathJob>& jobs) {
  if (!targets_.defined()) throw Error("Integrator::integrate: the targets are not set yet");
  std::vector<PathResult> results(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) results[j].values.reserve(jobs[j].path->size());

  std::vector<Piece> batch;
  int64_t batch_rows = 0;

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
    const ExtraInputs extras = rows_of(extras_, examples);

    // Every batch's memory is measured (unless a profiler holds the hook): Automatic sizing
    // sizes the later batches from the first one's, and the allocator keeps what the largest took.
    const bool measure = c10::ThreadLocalDebugInfo::get(c10::DebugInfoKind::PROFILER_STATE) == nullptr;
    const auto memory = measure ? std::make_shared<PeakMemory>() : nullptr;
    std::optional<c10::DebugInfoGuard> memory_hook;
    if (measure) memory_hook.emplace(c10::DebugInfoKind::PROFILER_STATE, memory);
    torch::Tensor outputs = call_model(model_, points, extras);
    check_model_output(outputs, batch_rows, model_);
    check_targets_once(outputs);
    const torch::Tensor row_targets = targets_.index_select(0, examples);
    const torch::Tensor values = select_output(outputs, row_targets, output_);
    // Where in the batch a row comes from: its example and its point on the path.
    const auto where = [&](int64_t wanted) {
      int64_t first_row = 0;
      for (const Piece& piece : batch) {
        const int64_t count = piece.end - piece.begin;
        if (wanted < first_row + count) {
          return "for example " + std::to_string(jobs[piece.job].example) + " at " +
                 jobs[piece.job].path->describe_point(piece.begin + wanted - first_row);
        }
        first_row += count;
      }
      return std::string("in the batch");
    };
    const auto quantity = [&](int64_t row) {
      return output_kind_name(output_) + " of class " + std::to_string(row_targets[row].item<int64_t>());
    };
    if (const auto bad = first_non_finite(values.detach())) {
      throw Error(model_.describe() + " gives " + value_name(bad->value) + " as the " + quantity(bad->row) + " " +
                  where(bad->row) + kNonFiniteConsequence);
    }
    // Rows are independent, so the gradient of the sum is each row's own gradient.
    torch::Tensor gradients;
    if (values.requires_grad()) {
      gradients = torch::autograd::grad({values.sum()}, {points}, /*grad_outputs=*/{}, /*retain_graph=*/false,
                                        /*create_graph=*/false, /*allow_unused=*/true)[0];
    }
    if (!gradients.defined()) {
      throw Error(model_.describe() + ": the output does not depend on the input; no gradient flows from the " +
                  output_kind_name(output_) + " back to the points (a constant output, or one computed from "
                  "detached values); expected a model differentiable in its input");
    }
    gradients = gradients.detach();
    if (measure) {
      memory_hook.reset();
      keep_memory_for_batches_of(memory->peak());
      if (sizing_ == BatchSizing::Automatic && chosen_rows_ == 0) {
        bytes_per_row_ = (memory->peak() + batch_rows - 1) / batch_rows;
        chosen_rows_ = rows_fitting(bytes_per_row_, last_level_cache_bytes(), max_rows_);
      }
    }
    const torch::Tensor values_cpu = values.detach().to(torch::kCPU, torch::kDouble).contiguous();
    const double* value_data = values_cpu.data_ptr<double>();
    // max |output| of each row, from one float64 copy of the outputs (exact: every float is a double).
    const torch::Tensor outputs_cpu = outputs.detach().to(torch::kCPU, torch::kDouble).contiguous();
    std::vector<double> magnitudes(batch_rows, 0.0);
    const int64_t classes = outputs_cpu.numel() / batch_rows;
    for (int64_t r = 0; r < batch_rows; ++r) {
      const double* output_row = outputs_cpu.data_ptr<double>() + r * classes;
      for (int64_t c = 0; c < classes; ++c) magnitudes[r] = std::max(magnitudes[r], std::abs(output_row[c]));
    }
    const double* magnitude_data = magnitudes.data();

    // Each piece's weights times its gradients, summed in float64 into its path's result. On the
    // CPU (float32/float64 gradients, scalar weights), igx's loop: each product and sum in float64,
    // one pass over the rows, no tensor per piece. The [pieces, rows] block product it replaces did
    // `pieces` times the work in the gradients' precision, and with its conversions and per-piece
    // copies cost ~4 % of a small MLP's IG call (docs/benchmarks.md, session 7). Elsewhere the block
    // product; vector weights (discrete paths) piece by piece.
    const torch::Tensor flat_gradients = gradients.reshape({batch_rows, -1});
    const int64_t row_size = flat_gradients.size(1);
    const bool summed_here = flat_gradients.device().is_cpu() && flat_gradients.is_contiguous() &&
                             (flat_gradients.scalar_type() == torch::kFloat || flat_gradients.scalar_type() == torch::kDouble);
    std::vector<torch::Tensor> weights(batch.size());
    std::vector<double> block_weights;
    row = 0;
    for (size_t p = 0; p < batch.size(); ++p) {
      const Piece& piece = batch[p];
      weights[p] = jobs[piece.job].path->weights(piece.begin, piece.end);
      if (weights[p].dim() == 1 && !summed_here) {
        if (block_weights.empty()) block_weights.assign(batch.size() * batch_rows, 0.0);
        const torch::Tensor weights_cpu = weights[p].to(torch::kCPU, torch::kDouble).contiguous();
        std::copy_n(weights_cpu.data_ptr<double>(), piece.end - piece.begin, block_weights.data() + p * batch_rows + row);
      }
      row += piece.end - piece.begin;
    }
    torch::Tensor block_contributions;
    if (!block_weights.empty()) {
      block_contributions =
          torch::mm(torch::from_blob(block_weights.data(), {static_cast<int64_t>(batch.size()), batch_rows}, torch::kDouble)
                        .to(gradients.device(), gradients.scalar_type()),
                    flat_gradients)
              .to(torch::kDouble);
    }

    bool sums_finite = true;
    row = 0;
    for (size_t p = 0; p < batch.size(); ++p) {
      const Piece& piece = batch[p];
      const int64_t count = piece.end - piece.begin;
      PathResult& result = results[piece.job];
      if (!result.weighted_gradient_sum.defined()) {
        result.weighted_gradient_sum = torch::zeros(gradients.sizes().slice(1), gradients.options().dtype(torch::kDouble));
      }
      if (weights[p].dim() == 1 && summed_here) {
        const torch::Tensor weights_cpu = weights[p].to(torch::kCPU, torch::kDouble).contiguous();
        double* sum = result.weighted_gradient_sum.data_ptr<double>();
        if (flat_gradients.scalar_type() == torch::kFloat) {
          add_weighted_rows(flat_gradients.data_ptr<float>() + row * row_size, count, row_size, weights_cpu.data_ptr<double>(), sum);
        } else {
          add_weighted_rows(flat_gradients.data_ptr<double>() + row * row_size, count, row_size, weights_cpu.data_ptr<double>(), sum);
        }
      } else if (weights[p].dim() == 1) {
        result.weighted_gradient_sum.add_(block_contributions[p].view(gradients.sizes().slice(1)));
      } else {
        result.weighted_gradient_sum.add_((weights[p].to(gradients.device(), torch::kDouble) *
                                           gradients.narrow(0, row, count).to(torch::kDouble))
                                              .sum(0));
      }
      sums_finite = sums_finite && all_finite(result.weighted_gradient_sum);
      result.values.insert(result.values.end(), value_data + row, value_data + row + count);
      result.output_magnitudes.insert(result.output_magnitudes.end(), magnitude_data + row, magnitude_data + row + count);
      if (jobs[piece.job].keep_gradients) {
        // Straight into the job's own tensor: no per-batch copies to concatenate afterwards.
        if (!result.gradients.defined()) {
          std::vector<int64_t> shape = gradients.sizes().vec();
          shape[0] = jobs[piece.job].path->size();
          result.gradients = torch::empty(shape, gradients.options());
        }
        result.gradients.narrow(0, piece.begin, count).copy_(gradients.narrow(0, row, count));
      }
      row += count;
    }
    // Every row is in some piece's sum, and a NaN or an infinity times any weight stays non-finite
    // in a sum: finite sums mean finite gradients, a check of `pieces` rows instead of all. A
    // non-finite sum is looked up in the gradients themselves (where, and which value); finite
    // gradients whose sum overflows pass, as before. The block product is not trusted with this
    // (a BLAS may skip the zero weights, and with them a NaN): its gradients are all checked.
    if (!sums_finite || !block_weights.empty()) {
      if (const auto bad = first_non_finite(gradients)) {
        throw Error(model_.describe() + " gives a gradient of the " + quantity(bad->row) + " that is " +
                    value_name(bad->value) + " in " + std::to_string(bad->count) + " of its " +
                    std::to_string(bad->entries) + " entries " + where(bad->row) + kNonFiniteConsequence);
      }
    }
    counts_.gradient_rows += batch_rows;
    counts_.batches += 1;
    batch.clear();
    batch_rows = 0;
  };

  for (size_t j = 0; j < jobs.size(); ++j) {
    const int64_t size = jobs[j].path->size();
    for (int64_t begin = 0; begin < size;) {
      const int64_t take = std::min(size - begin, gradient_batch_rows() - batch_rows);
      batch.push_back({j, begin, begin + take});
      batch_rows += take;
      begin += take;
      if (batch_rows == gradient_batch_rows()) flush();
    }
  }
  flush();
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
    if (const auto bad = first_non_finite(outputs)) {
      const int64_t example = chunk_examples[bad->row].item<int64_t>();
      throw Error(model_.describe() + " gives " + value_name(bad->value) + " as " +
                  (targets_.defined() ? "the " + output_kind_name(output_) + " of class " +
                                            std::to_string(targets_[example].item<int64_t>())
                                      : std::string("an output")) +
                  " for example " + std::to_string(example) +
                  " at a point evaluated forward only (its input, its baseline or an interval's end)" +
                  kNonFiniteConsequence);
    }
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
