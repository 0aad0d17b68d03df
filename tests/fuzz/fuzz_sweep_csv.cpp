// An earlier sweep's folder as igx sweep --replot reads it: sweep.csv, adaptive.csv and
// summary.json (the input holds the three, separated by NUL bytes). Either igx::Error naming the
// file and line, or results from which every report (summary, plots, page) is made.
#include <optional>
#include <string>

#include "fuzz_target.h"
#include "igx/error.h"
#include "sweep_report.h"

IGX_FUZZ_TARGET(sweep_csv) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  const size_t first = bytes.find('\0');
  const size_t second = first == std::string::npos ? std::string::npos : bytes.find('\0', first + 1);
  const std::string fixed = bytes.substr(0, first);
  const std::string strategies = first == std::string::npos ? "" : bytes.substr(first + 1, second - first - 1);
  std::optional<std::string> summary;
  if (second != std::string::npos) summary = bytes.substr(second + 1);
  namespace sweep = igx_cli::sweep;
  try {
    const sweep::SweepResults results = sweep::parse_results(fixed, strategies, summary, "fuzz");
    igx_fuzz_check(!results.instances.empty() && !results.fixed.empty());
    const nlohmann::json report = sweep::summarize(results);
    std::vector<std::string> names;
    for (const auto& [name, svg] : sweep::plots(results, report)) names.push_back(name);
    sweep::html_report(report, names);
    sweep::terminal_summary(report);
  } catch (const igx::Error&) {
  }
  return 0;
}
