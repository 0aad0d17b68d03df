#pragma once
// igx sweep's results and what it writes from them: CSV rows, summary.json, SVG plots and an
// HTML page. Statistics of the study only; the attributions come from the library.

#include <nlohmann/json.hpp>

#include <optional>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "igx/integrated_gradients.h"

namespace igx_cli::sweep {

/// What was run: the flags that shape the results, recorded in summary.json and on the page.
struct SweepSetup {
  std::string model;
  std::string data;
  std::string pick;                     ///< "first" or "spread"
  std::string baseline;                 ///< "pad", "black", "max-entropy:data", ...
  std::string output = "logit";         ///< the explained output: logit, prob, logprob
  std::string target = "pred";          ///< the explained class: pred or K
  std::vector<int64_t> steps;           ///< ascending
  std::vector<std::string> rules;
  std::vector<double> tolerances;       ///< descending (loosest first)
  std::vector<std::string> strategies;  ///< "doubling", "adaptive"
  int64_t max_steps = 4096;
  /// The strategies' tolerance for the attribution vector's relative L1 error (0: the sum only).
  double attribution_tolerance = 0.05;
  int64_t initial_steps = 16;
  int64_t batch_size = 256;
  int threads = 0;
  std::string device;
  int64_t initial_intervals = 4;        ///< interval-adaptive's first Simpson panels
  int64_t show = 3;                     ///< where the error sits: instances shown per rule
};

struct InstanceInfo {
  int64_t index = 0;       ///< row in the data file
  std::string id;
  int64_t label = -1;
  int64_t prediction = 0;  ///< the class predicted at the input
  int64_t target = 0;      ///< the explained class
  int64_t tokens = -1;     ///< text: tokens including [CLS] and [SEP]; -1 for images
  std::optional<double> baseline_entropy;  ///< maximum-entropy baselines: the output entropy at x'
};

/// One fixed-step IG run of one instance.
struct FixedResult {
  size_t instance = 0;  ///< position in SweepResults::instances
  std::string rule;
  int64_t n = 0;
  igx::ExampleReport report;
  igx::EvaluationCounts counts;
  double seconds = 0;
};

/// One error-controlled run of one instance.
struct StrategyResult {
  size_t instance = 0;
  std::string strategy;  ///< "doubling" or "adaptive"
  std::string rule;      ///< the doubled rule, or "simpson"
  double tolerance = 0;
  igx::ExampleReport report;
  igx::EvaluationCounts counts;
  double seconds = 0;
};

/// Where the error sits, per instance: the attributions per feature (texts: token, summed over
/// the embedding; images: pixel, summed over channels) of an accurate run and of every rule at
/// the largest n.
struct FeatureRow {
  size_t instance = 0;
  std::vector<std::string> tokens;   ///< texts; empty for images
  std::vector<int64_t> shape;        ///< images: [H, W]; texts: [T]
  std::vector<double> picture;       ///< images: the input in grey, [H, W] (for the heat-maps)
  std::string reference_label;       ///< the accurate run: "adaptive 1%"
  std::vector<double> reference;     ///< its attributions per feature
  std::map<std::string, std::vector<double>> fixed;  ///< rule -> attributions at the largest n
};

struct SweepResults {
  SweepSetup setup;
  std::vector<InstanceInfo> instances;
  std::vector<FixedResult> fixed;
  std::vector<StrategyResult> strategies;
  std::vector<FeatureRow> features;  ///< one per instance (features.jsonl), when recorded
  double seconds = 0;  ///< wall time of the whole sweep
};

/// One line of features.jsonl, and back.
std::string feature_json_line(const FeatureRow& row);
FeatureRow feature_row_from_json(const nlohmann::json& line);

/// A figure of where the error sits: a page of token rows (texts) or a heat-map (images).
struct WhereFigure {
  std::string file;                     ///< file name in the output folder
  std::string html;                     ///< texts: the page
  std::vector<int64_t> shape;           ///< images: [H, W]
  std::vector<double> picture, values;  ///< images: grey input and attributions per pixel
  std::string title;                    ///< images: the heat-map's title
};

/// The figures of the `setup.show` instances with the largest relative error at the largest n,
/// per rule: the accurate attribution, the fixed-step one and their difference.
std::vector<WhereFigure> where_figures(const SweepResults& results, const nlohmann::json& summary);

std::string fixed_csv_header();
std::string fixed_csv_row(const SweepResults& results, const FixedResult& row);
std::string strategy_csv_header();
std::string strategy_csv_row(const SweepResults& results, const StrategyResult& row);

/// An earlier sweep read back from its folder: sweep.csv and adaptive.csv, and what the CSV files
/// do not record (model, data, threads ...) from its summary.json when present. igx::Error when
/// the files are missing or are not igx sweep's.
SweepResults read_results(const std::string& directory);

/// 0.05 -> "0.05": tolerances as summary.json's keys and the strategies' labels write them.
std::string tolerance_key(double tolerance);

/// The same from the files' texts (summary.json's optional); every field is checked, and every
/// error names the file, the line and the column.
SweepResults parse_results(const std::string& fixed_csv, const std::string& strategy_csv,
                           const std::optional<std::string>& summary_json, const std::string& directory);

/// "0.05" -> "5%" (tolerances as people read them).
std::string percent(double fraction);

/// The study's statistics (layout documented in docs/step-count.md).
nlohmann::json summarize(const SweepResults& results);

/// The SVG plots as (file name, document), in the order the page shows them.
std::vector<std::pair<std::string, std::string>> plots(const SweepResults& results, const nlohmann::json& summary);

/// index.html: the run, the tables of `summary`, the plots (by file name, in that order) and the
/// figures of where the error sits.
std::string html_report(const nlohmann::json& summary, const std::vector<std::string>& plot_files,
                        const std::vector<WhereFigure>& figures = {});

/// A few lines for the terminal: certified fractions and costs per strategy and tolerance.
std::string terminal_summary(const nlohmann::json& summary);

}  // namespace igx_cli::sweep
