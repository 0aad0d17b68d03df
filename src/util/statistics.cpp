#include "igx/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace igx {

double quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return std::nan("");
  return std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
}

}  // namespace igx

namespace igx {

nlohmann::json describe_sample(const std::vector<double>& values) {
  const auto number_or_null = [](double value) { return std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(); };
  return {{"mean", number_or_null(mean(values))},
          {"median", number_or_null(quantile(values, 0.5))},
          {"p90", number_or_null(quantile(values, 0.9))},
          {"p99", number_or_null(quantile(values, 0.99))},
          {"max", number_or_null(values.empty() ? std::nan("") : *std::max_element(values.begin(), values.end()))}};
}

}  // namespace igx
