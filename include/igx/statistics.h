#pragma once
// Summary statistics of samples, as the reports (sweep, batch, box plots) state them.

#include <nlohmann/json.hpp>

#include <vector>

namespace igx {

/// The q-quantile (q in [0, 1]) by linear interpolation between order statistics (NumPy's
/// default); NaN for an empty sample.
double quantile(std::vector<double> values, double q);

/// The arithmetic mean; NaN for an empty sample.
double mean(const std::vector<double>& values);

/// {"mean", "median", "p90", "p99", "max"} of the sample, null where undefined (no values).
nlohmann::json describe_sample(const std::vector<double>& values);

}  // namespace igx
