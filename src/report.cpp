#include "igx/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "igx/tensor_checks.h"

namespace igx {
namespace {

constexpr const char* kTinyGapNote =
    "relative error undefined: |F(x) - F(x')| is too small to divide by";

nlohmann::json nested(const double* data, const std::vector<int64_t>& shape, size_t dim) {
  if (dim == shape.size()) return *data;
  int64_t stride = 1;
  for (size_t d = dim + 1; d < shape.size(); ++d) stride *= shape[d];
  nlohmann::json array = nlohmann::json::array();
  for (int64_t i = 0; i < shape[dim]; ++i) array.push_back(nested(data + i * stride, shape, dim + 1));
  return array;
}

nlohmann::json number_or_null(double value) {
  return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(nullptr);
}

std::string format(const char* pattern, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

// A stretch of the path as a fraction: "1/32" where it is one (the scan's grids), else decimal.
std::string path_fraction(double stretch) {
  const double denominator = std::round(1.0 / stretch);
  if (stretch > 0.0 && std::abs(denominator * stretch - 1.0) < 1e-9) return format("1/%.0f", denominator);
  return format("%.3g", stretch);
}

std::string index_string(int64_t flat, c10::IntArrayRef shape) {
  std::vector<int64_t> index(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    index[d] = flat % shape[d];
    flat /= shape[d];
  }
  std::string text = "[";
  for (size_t d = 0; d < index.size(); ++d) text += (d ? "," : "") + std::to_string(index[d]);
  return text + "]";
}

// The features that carry an example's estimated attribution error, largest first: the index
// (nested like the input) and the estimated |error| of each, at most `count`, zeros left out.
nlohmann::json error_features(const torch::Tensor& errors, int64_t count) {
  nlohmann::json features = nlohmann::json::array();
  const torch::Tensor flat = errors.flatten().nan_to_num(0.0);
  const int64_t shown = std::min<int64_t>(count, flat.numel());
  if (shown == 0) return features;
  const auto top = flat.topk(shown);
  const torch::Tensor values = std::get<0>(top), indices = std::get<1>(top);
  for (int64_t k = 0; k < shown; ++k) {
    const double error = values[k].item<double>();
    if (!(error > 0.0)) break;
    int64_t flat_index = indices[k].item<int64_t>();
    std::vector<int64_t> index(static_cast<size_t>(errors.dim()));
    for (int64_t d = errors.dim(); d-- > 0;) {
      index[static_cast<size_t>(d)] = flat_index % errors.size(d);
      flat_index /= errors.size(d);
    }
    features.push_back({{"index", index}, {"error", error}});
  }
  return features;
}

}  // namespace

std::string precision_note(const ExampleReport& report, torch::ScalarType dtype) {
  if (!report.precision_limited) return "";
  std::string note = "limited by " + dtype_name(dtype) + " precision";
  if (report.attainable_error_bound) {
    note += report.relative_error ? ": rounding of F alone allows no bound below " +
                                        format("%.3g%%", 100.0 * *report.attainable_error_bound)
                                  : ": rounding of F alone allows no bound below " +
                                        format("%.3g", *report.attainable_error_bound) + " (absolute)";
  } else if (report.attribution_certified && !*report.attribution_certified) {
    // Completeness held: the attribution vector is what rounding limits.
    note += ": the attributions are too small against F for its " + dtype_name(dtype) + " gradients";
    if (report.attribution_error) {
      note += " (estimated error " + format("%.3g%%", 100.0 * *report.attribution_error) + ", their rounding included)";
    }
  }
  return note;
}

nlohmann::json attribution_to_json(const Attribution& attribution, const RunDescription& run,
                                   const torch::Tensor& predictions, bool include_values) {
  nlohmann::json result;
  result["run"] = {{"model", run.model},       {"method", run.method},
                   {"output", run.output},     {"baseline", run.baseline},
                   {"seconds", run.seconds}};
  result["evaluations"] = {{"gradient_rows", attribution.counts.gradient_rows},
                           {"forward_rows", attribution.counts.forward_rows},
                           {"batches", attribution.counts.batches}};
  const torch::Tensor values = attribution.values.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const std::vector<int64_t> example_shape(values.sizes().begin() + 1, values.sizes().end());
  nlohmann::json examples = nlohmann::json::array();
  for (size_t b = 0; b < attribution.examples.size(); ++b) {
    const ExampleReport& report = attribution.examples[b];
    nlohmann::json entry = {{"index", b},
                            {"target", report.target},
                            {"output_input", report.output_input},
                            {"output_baseline", number_or_null(report.output_baseline)},
                            {"attribution_sum", number_or_null(report.attribution_sum)},
                            {"delta", number_or_null(report.delta)},
                            {"steps", report.steps}};
    if (predictions.defined()) entry["prediction"] = predictions[b].item<int64_t>();
    if (report.forward_steps > 0) entry["forward_steps"] = report.forward_steps;
    if (report.scan_resolution) entry["scan_resolution"] = *report.scan_resolution;
    if (report.certified) {
      entry["certified"] = *report.certified;
      entry["precision_limited"] = report.precision_limited;
    }
    if (report.completeness_certified) entry["completeness_certified"] = *report.completeness_certified;
    if (report.attribution_certified) entry["attribution_certified"] = *report.attribution_certified;
    if (report.error_bound) entry["error_bound"] = *report.error_bound;
    if (report.absolute_error_bound) entry["absolute_error_bound"] = *report.absolute_error_bound;
    if (report.attainable_error_bound) entry["attainable_error_bound"] = *report.attainable_error_bound;
    if (report.precision_limited) entry["precision_note"] = precision_note(report, attribution.values.scalar_type());
    if (report.attribution_error) entry["attribution_error"] = *report.attribution_error;
    if (attribution.errors.defined()) {
      entry["attribution_error_features"] = error_features(attribution.errors[static_cast<int64_t>(b)], 10);
    }
    if (report.relative_error) {
      entry["relative_error"] = *report.relative_error;
    } else {
      entry["relative_error"] = nullptr;
      if (std::isfinite(report.delta)) entry["relative_error_note"] = kTinyGapNote;
    }
    if (include_values) {
      entry["attributions"] = nested(values[b].data_ptr<double>(), example_shape, 0);
    }
    examples.push_back(std::move(entry));
  }
  result["examples"] = std::move(examples);
  result["shape"] = values.sizes().vec();
  return result;
}

std::string certificate_line(const ExampleReport& report, torch::ScalarType dtype) {
  std::string line = std::string("certified: ") + (report.certified.value_or(false) ? "yes" : "NO") + " (completeness ";
  line += report.completeness_certified.value_or(false) ? "held" : "not held";
  if (report.error_bound) line += ", bound " + format("%.3g%%", 100.0 * *report.error_bound);
  if (report.attribution_error) {
    line += "; attribution vector ";
    if (report.attribution_certified) line += *report.attribution_certified ? "held" : "not held";
    line += std::string(report.attribution_certified ? ", " : "") + "estimated error " +
            format("%.3g%%", 100.0 * *report.attribution_error);
  } else if (report.attribution_certified && !*report.attribution_certified) {
    line += "; attribution vector not held";
    // Rounding limits the vector (precision_note says so), or F moves where the nodes do not show why.
    if (!report.precision_limited || report.attainable_error_bound) {
      line += ", no estimate: F varies between nodes that do not resolve it";
    }
  }
  if (report.scan_resolution) line += "; scan resolution " + path_fraction(*report.scan_resolution);
  line += ")";
  if (report.precision_limited) line += " -- " + precision_note(report, dtype);
  return line;
}

std::string summarize(const Attribution& attribution, const RunDescription& run,
                      const torch::Tensor& predictions, int top, int max_examples) {
  std::ostringstream out;
  const torch::Tensor values = attribution.values.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const auto example_shape = values.sizes().slice(1);
  const int64_t shown = std::min<int64_t>(max_examples, static_cast<int64_t>(attribution.examples.size()));
  out << run.method << " on " << run.model << " (" << run.output << ", baseline " << run.baseline
      << ", " << format("%.3f", run.seconds) << " s)\n";
  for (int64_t b = 0; b < shown; ++b) {
    const ExampleReport& report = attribution.examples[b];
    out << "example " << b << ":";
    if (predictions.defined()) out << " predicted class " << predictions[b].item<int64_t>() << ",";
    out << " explaining class " << report.target << "\n";
    out << "  F(x) = " << format("%.6g", report.output_input);
    if (std::isfinite(report.delta)) {
      out << "   F(x') = " << format("%.6g", report.output_baseline)
          << "   sum of attributions = " << format("%.6g", report.attribution_sum) << "\n"
          << "  delta = " << format("%+.3e", report.delta) << "   relative error = "
          << (report.relative_error ? format("%.3g%%", 100.0 * *report.relative_error)
                                    : std::string("n/a (|F(x) - F(x')| too small)"))
          << "   steps = " << report.steps;
      out << "\n";
      if (report.certified) out << "  " << certificate_line(report, attribution.values.scalar_type()) << "\n";
    } else {
      out << "   (completeness does not apply to " << run.method << ")\n";
    }
    const torch::Tensor flat = values[b].flatten();
    const int64_t count = std::min<int64_t>(top, flat.numel());
    const torch::Tensor order = flat.abs().argsort(0, /*descending=*/true).slice(0, 0, count);
    out << "  top features:";
    for (int64_t k = 0; k < count; ++k) {
      const int64_t index = order[k].item<int64_t>();
      out << "  " << index_string(index, example_shape) << " " << format("%+.4g", flat[index].item<double>());
    }
    out << "\n";
  }
  if (shown < static_cast<int64_t>(attribution.examples.size())) {
    out << "... " << attribution.examples.size() - shown << " more examples (see --out)\n";
  }
  return out.str();
}

}  // namespace igx
