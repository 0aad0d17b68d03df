#include "sweep_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>
#include <sstream>
#include <tuple>
#include <type_traits>

#include "igx/csv.h"
#include "igx/error.h"
#include "igx/file_io.h"
#include "igx/json_text.h"
#include "igx/markup.h"
#include "igx/statistics.h"
#include "igx/step_comparison.h"
#include "igx/svg_plot.h"
#include "igx/text_render.h"

namespace igx_cli::sweep {
namespace {

using igx::mean;
using igx::quantile;
using nlohmann::json;

std::string full(double value) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%.17g", value);
  return buffer;
}

std::string short_number(double value, const char* format = "%.3g") {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n\r") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string optional_field(const std::optional<double>& value) { return value ? full(*value) : ""; }

std::string instance_fields(const SweepResults& results, size_t instance) {
  const InstanceInfo& info = results.instances[instance];
  return std::to_string(instance) + "," + std::to_string(info.index) + "," + csv_field(info.id) + "," +
         std::to_string(info.label) + "," + std::to_string(info.prediction) + "," + std::to_string(info.target) + "," +
         (info.tokens >= 0 ? std::to_string(info.tokens) : "") + "," + optional_field(info.baseline_entropy);
}

// Tolerances as JSON keys: "0.05".
std::string key(double tolerance) { return short_number(tolerance, "%g"); }

// NaN as JSON null.
json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

// Relative errors of every instance for one rule and n, in instance order (NaN when undefined).
std::vector<double> relative_errors(const SweepResults& results, const std::string& rule, int64_t n) {
  std::vector<double> errors(results.instances.size(), std::nan(""));
  for (const FixedResult& row : results.fixed) {
    if (row.rule == rule && row.n == n && row.report.relative_error) errors[row.instance] = *row.report.relative_error;
  }
  return errors;
}

std::vector<double> defined(const std::vector<double>& values) {
  std::vector<double> kept;
  for (double value : values) {
    if (!std::isnan(value)) kept.push_back(value);
  }
  return kept;
}

double fraction_within(const std::vector<double>& errors, double tolerance, size_t instances) {
  const auto within = std::count_if(errors.begin(), errors.end(), [&](double e) { return e <= tolerance; });
  return instances == 0 ? std::nan("") : static_cast<double>(within) / static_cast<double>(instances);
}

std::vector<const StrategyResult*> strategy_rows(const SweepResults& results, const std::string& strategy,
                                                 double tolerance) {
  std::vector<const StrategyResult*> rows;
  for (const StrategyResult& row : results.strategies) {
    if (row.strategy == strategy && row.tolerance == tolerance) rows.push_back(&row);
  }
  return rows;
}

std::string strategy_label(const std::string& strategy) {
  if (strategy == "adaptive") return "interval-adaptive";
  if (strategy == "adaptive-completeness") return "interval-adaptive, |delta| certified";
  return strategy == "doubling" ? "doubling (riemann_right)" : strategy;
}

std::string file_percent(double tolerance) { return short_number(tolerance * 100, "%g") + "pct"; }

}  // namespace

std::string percent(double fraction) { return short_number(fraction * 100, "%.3g") + "%"; }

std::string tolerance_key(double tolerance) { return key(tolerance); }

std::string fixed_csv_header() {
  return "instance,row,id,label,prediction,target,tokens,baseline_entropy,rule,n,gradient_evaluations,forward_rows,output_input,"
         "output_baseline,attribution_sum,delta,relative_error,seconds\n";
}

std::string fixed_csv_row(const SweepResults& results, const FixedResult& row) {
  const igx::ExampleReport& r = row.report;
  return instance_fields(results, row.instance) + "," + row.rule + "," + std::to_string(row.n) + "," +
         std::to_string(row.counts.gradient_rows) + "," + std::to_string(row.counts.forward_rows) + "," +
         full(r.output_input) + "," + full(r.output_baseline) + "," + full(r.attribution_sum) + "," + full(r.delta) +
         "," + optional_field(r.relative_error) + "," + full(row.seconds) + "\n";
}

std::string strategy_csv_header() {
  return "instance,row,id,label,prediction,target,tokens,baseline_entropy,strategy,rule,tolerance,max_steps,gradient_evaluations,"
         "forward_rows,certified,relative_error,error_bound,delta,seconds\n";
}

std::string strategy_csv_row(const SweepResults& results, const StrategyResult& row) {
  const igx::ExampleReport& r = row.report;
  return instance_fields(results, row.instance) + "," + row.strategy + "," + row.rule + "," + key(row.tolerance) +
         "," + std::to_string(results.setup.max_steps) + "," + std::to_string(row.counts.gradient_rows) + "," +
         std::to_string(row.counts.forward_rows) + "," + (r.certified.value_or(false) ? "true" : "false") + "," +
         optional_field(r.relative_error) + "," + optional_field(r.error_bound) + "," + full(r.delta) + "," +
         full(row.seconds) + "\n";
}

namespace {

// The instance a row belongs to: a new one (numbered next) or one seen before.
size_t note_instance(SweepResults& results, const igx::CsvTable::Row& row) {
  const auto instance = static_cast<size_t>(row.integer("instance", 0, static_cast<int64_t>(results.instances.size())));
  if (instance < results.instances.size()) return instance;
  InstanceInfo info;
  info.index = row.integer("row", 0);
  info.id = row.text("id");
  info.label = row.integer("label", -1);
  info.prediction = row.integer("prediction", 0);
  // Sweeps before --target and --baseline max-entropy explained the prediction, with no entropy.
  info.target = row.has("target") ? row.integer("target", 0) : info.prediction;
  if (row.has("baseline_entropy")) info.baseline_entropy = row.optional_number("baseline_entropy");
  info.tokens = row.text("tokens").empty() ? -1 : row.integer("tokens", 1);
  results.instances.push_back(info);
  return instance;
}

// The columns fixed-step and strategy rows share: the model rows a run spent, and its sum's error.
void read_run(const igx::CsvTable::Row& row, const InstanceInfo& instance, igx::EvaluationCounts& counts,
              igx::ExampleReport& report) {
  counts.gradient_rows = row.integer("gradient_evaluations", 0);
  counts.forward_rows = row.integer("forward_rows", 0);
  report.target = instance.target;
  report.delta = row.number("delta");
  report.relative_error = row.optional_number("relative_error");
}

// A field of summary.json: absent gives the fallback, another type an error naming the file.
template <typename T>
T summary_field(const json& summary, const char* name, T fallback, const std::string& source) {
  if (!summary.contains(name)) return fallback;
  const json& value = summary[name];
  const auto refuse = [&] {
    return igx::Error(source + ": \"" + name + "\" is " + igx::clip_text(value.dump()) +
                      ", not what igx sweep writes there; remove the file to replot without it");
  };
  // Integers are whole JSON integers within T's range: nlohmann would cast 5e50 to int (undefined
  // behaviour, found by fuzzing).
  if constexpr (std::is_integral_v<T>) {
    if (value.is_number_unsigned()) {
      if (value.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<T>::max())) throw refuse();
    } else if (!value.is_number_integer() || value.get<int64_t>() < std::numeric_limits<T>::min() ||
               value.get<int64_t>() > std::numeric_limits<T>::max()) {
      throw refuse();
    }
  }
  try {
    return value.get<T>();
  } catch (const json::exception&) {
    throw refuse();
  }
}

}  // namespace

SweepResults parse_results(const std::string& fixed_csv, const std::string& strategy_csv,
                           const std::optional<std::string>& summary_json, const std::string& directory) {
  const std::string fixed_source = directory + "/sweep.csv", strategy_source = directory + "/adaptive.csv";
  SweepResults results;
  SweepSetup& setup = results.setup;
  std::set<int64_t> steps;
  std::set<double, std::greater<>> tolerances;
  const igx::CsvTable fixed_table = igx::CsvTable::parse(fixed_csv, fixed_source);
  if (fixed_table.size() == 0) {
    throw igx::Error(fixed_source + " has no rows; expected the fixed-step results of an igx sweep "
                     "(a run stopped before its first instance finished leaves nothing to replot)");
  }
  for (size_t k = 0; k < fixed_table.size(); ++k) {
    const igx::CsvTable::Row row = fixed_table.row(k);
    FixedResult fixed;
    fixed.instance = note_instance(results, row);
    fixed.rule = row.text("rule");
    igx::parse_rule(fixed.rule);
    fixed.n = row.integer("n", 1);
    read_run(row, results.instances[fixed.instance], fixed.counts, fixed.report);
    fixed.report.output_input = row.number("output_input");
    fixed.report.output_baseline = row.number("output_baseline");
    fixed.report.attribution_sum = row.number("attribution_sum");
    fixed.report.steps = fixed.n;
    fixed.seconds = row.number("seconds");
    if (std::find(setup.rules.begin(), setup.rules.end(), fixed.rule) == setup.rules.end()) setup.rules.push_back(fixed.rule);
    steps.insert(fixed.n);
    results.fixed.push_back(fixed);
  }
  const igx::CsvTable strategy_table = igx::CsvTable::parse(strategy_csv, strategy_source);
  for (size_t k = 0; k < strategy_table.size(); ++k) {
    const igx::CsvTable::Row row = strategy_table.row(k);
    StrategyResult result;
    result.instance = note_instance(results, row);
    result.strategy = row.text("strategy");
    if (result.strategy != "doubling" && result.strategy != "adaptive" && result.strategy != "adaptive-completeness") {
      throw igx::Error(row.where() + ", column strategy: expected doubling, adaptive or adaptive-completeness, got '" +
                       igx::clip_text(result.strategy) + "'");
    }
    result.rule = row.text("rule");
    result.tolerance = row.number("tolerance");
    if (!(result.tolerance > 0 && result.tolerance < 1)) {
      throw igx::Error(row.where() + ", column tolerance: expected a relative error in (0, 1), got '" +
                       row.text("tolerance") + "'");
    }
    read_run(row, results.instances[result.instance], result.counts, result.report);
    result.report.certified = row.boolean("certified");
    result.report.error_bound = row.optional_number("error_bound");
    result.report.steps = result.counts.gradient_rows;
    result.seconds = row.number("seconds");
    setup.max_steps = row.integer("max_steps", 1);
    if (std::find(setup.strategies.begin(), setup.strategies.end(), result.strategy) == setup.strategies.end()) {
      setup.strategies.push_back(result.strategy);
    }
    tolerances.insert(result.tolerance);
    results.strategies.push_back(result);
  }
  setup.steps.assign(steps.begin(), steps.end());
  setup.tolerances.assign(tolerances.begin(), tolerances.end());

  // What the CSV files do not say comes from the earlier summary, when there is one.
  const std::string summary_source = directory + "/summary.json";
  const json summary = summary_json ? igx::parse_json(*summary_json, summary_source) : json::object();
  if (!summary.is_object()) throw igx::Error(summary_source + ": expected the JSON object igx sweep writes");
  setup.model = summary_field<std::string>(summary, "model", "unknown model", summary_source);
  setup.data = summary_field<std::string>(summary, "data", "unknown data", summary_source);
  setup.pick = summary_field<std::string>(summary, "pick", "unknown", summary_source);
  setup.baseline = summary_field<std::string>(summary, "baseline", "unknown", summary_source);
  setup.output = summary_field<std::string>(summary, "output", "logit", summary_source);
  setup.target = summary_field<std::string>(summary, "target", "pred", summary_source);
  setup.device = summary_field<std::string>(summary, "device", "unknown", summary_source);
  setup.initial_steps = summary_field<int64_t>(summary, "initial_steps", setup.initial_steps, summary_source);
  // Sweeps before --attribution-tolerance certified the sum only.
  setup.attribution_tolerance = summary_field<double>(summary, "attribution_tolerance", 0.0, summary_source);
  setup.initial_intervals = summary_field<int64_t>(summary, "initial_intervals", setup.initial_intervals, summary_source);
  setup.batch_size = summary_field<int64_t>(summary, "batch_size", setup.batch_size, summary_source);
  setup.threads = summary_field<int>(summary, "threads", setup.threads, summary_source);
  setup.show = summary_field<int64_t>(summary, "show", setup.show, summary_source);
  // The study's tolerances even without strategies.
  for (double tolerance : summary_field<std::vector<double>>(summary, "tolerances", {}, summary_source)) {
    if (!(tolerance > 0 && tolerance < 1)) {
      throw igx::Error(summary_source + ": \"tolerances\" holds " + std::to_string(tolerance) +
                       "; expected relative errors in (0, 1)");
    }
    tolerances.insert(tolerance);
  }
  setup.tolerances.assign(tolerances.begin(), tolerances.end());
  results.seconds = summary_field<double>(summary, "seconds", 0.0, summary_source);
  if (!(results.seconds > 0) || !std::isfinite(results.seconds)) {
    results.seconds = 0;
    for (const FixedResult& row : results.fixed) results.seconds += row.seconds;
    for (const StrategyResult& row : results.strategies) results.seconds += row.seconds;
  }
  return results;
}

SweepResults read_results(const std::string& directory) {
  const auto read = [&](const std::string& name) {
    const std::string path = directory + "/" + name;
    if (!std::filesystem::exists(path)) {
      throw igx::Error("'" + path + "' does not exist; --replot needs the folder of an earlier igx sweep");
    }
    return igx::read_file_bytes(path, igx::kMaxInputFileBytes, "a CSV file");
  };
  const std::string summary_path = directory + "/summary.json";
  std::optional<std::string> summary;
  if (std::filesystem::exists(summary_path)) summary = igx::read_file_bytes(summary_path, igx::kMaxJsonFileBytes, "a JSON file");
  SweepResults results = parse_results(read("sweep.csv"), read("adaptive.csv"), summary, directory);
  // features.jsonl (optional: sweeps before --show have none), one JSON object per line.
  const std::string features_path = directory + "/features.jsonl";
  if (std::filesystem::exists(features_path)) {
    std::istringstream lines(igx::read_file_bytes(features_path, igx::kMaxInputFileBytes, "a JSON lines file"));
    int64_t number = 0;
    for (std::string line; std::getline(lines, line);) {
      ++number;
      if (line.empty()) continue;
      const std::string where = features_path + " line " + std::to_string(number);
      try {
        results.features.push_back(feature_row_from_json(igx::parse_json(line, where)));
      } catch (const json::exception& error) {
        throw igx::Error(where + ": not a row igx sweep writes (" + igx::clip_text(error.what(), 120) + ")");
      }
    }
  }
  return results;
}

namespace {

// Below this a relative error that grows with n is float32 rounding, not a tail: Gauss-Legendre
// reaches ~1e-7 at n = 64 on the shipped models and then wanders between 6e-8 and 3e-7.
constexpr double kRoundingLevel = 1e-5;

// Seed 001's heavy tail, per rule: the instances whose relative error is above the loosest
// tolerance at n = 1000 (the largest n when 1000 is not in the list), the instances whose error
// does not fall monotonically along the list of n (growing to above kRoundingLevel), and what
// each strategy spent on the former.
void summarize_tail(const SweepResults& results, json& summary) {
  const SweepSetup& setup = results.setup;
  if (setup.steps.empty() || setup.tolerances.empty()) return;
  const bool has_1000 = std::find(setup.steps.begin(), setup.steps.end(), 1000) != setup.steps.end();
  const int64_t n = has_1000 ? 1000 : setup.steps.back();
  const double tolerance = setup.tolerances.front();
  for (const std::string& rule : setup.rules) {
    const std::vector<double> at_n = relative_errors(results, rule, n);
    std::vector<size_t> above;
    for (size_t i = 0; i < at_n.size(); ++i) {
      if (!std::isnan(at_n[i]) && at_n[i] > tolerance) above.push_back(i);
    }
    std::vector<std::vector<double>> errors;  // [n][instance]
    for (int64_t m : setup.steps) errors.push_back(relative_errors(results, rule, m));
    size_t non_monotone = 0;
    for (size_t i = 0; i < results.instances.size(); ++i) {
      for (size_t k = 0; k + 1 < errors.size(); ++k) {
        if (!std::isnan(errors[k][i]) && !std::isnan(errors[k + 1][i]) && errors[k + 1][i] > errors[k][i] &&
            errors[k + 1][i] > kRoundingLevel) {
          ++non_monotone;
          break;
        }
      }
    }
    json tail = {{"n", n},
                 {"tolerance", tolerance},
                 {"above", above.size()},
                 {"non_monotone", non_monotone},
                 {"rounding_level", kRoundingLevel}};
    json ids = json::array();
    for (size_t i : above) ids.push_back(results.instances[i].id);
    tail["above_ids"] = ids;
    tail["strategies"] = json::array();
    for (double target : setup.tolerances) {
      for (const std::string& strategy : setup.strategies) {
        std::vector<double> evaluations;
        size_t certified = 0;
        for (const StrategyResult* row : strategy_rows(results, strategy, target)) {
          if (std::find(above.begin(), above.end(), row->instance) == above.end()) continue;
          evaluations.push_back(static_cast<double>(row->counts.gradient_rows));
          certified += row->report.certified.value_or(false);
        }
        if (evaluations.empty()) continue;
        tail["strategies"].push_back({{"strategy", strategy},
                                      {"tolerance", target},
                                      {"gradient_evaluations", igx::describe_sample(evaluations)},
                                      {"certified", static_cast<double>(certified) / evaluations.size()}});
      }
    }
    summary["heavy_tail"][rule] = tail;
  }
}

const FeatureRow* feature_row(const SweepResults& results, size_t instance) {
  for (const FeatureRow& row : results.features) {
    if (row.instance == instance) return &row;
  }
  return nullptr;
}

std::vector<double> difference_of(const FeatureRow& row, const std::string& rule) {
  const std::vector<double>& fixed = row.fixed.at(rule);
  std::vector<double> difference(fixed.size());
  for (size_t k = 0; k < fixed.size(); ++k) difference[k] = fixed[k] - row.reference.at(k);
  return difference;
}

// Where the error sits, per rule at the largest n: how much of the |difference| from the
// accurate attribution the top 1, 3, 10 % of the features carry, over all instances and over
// those above the loosest tolerance; and the instances with the largest error, to show.
void summarize_where(const SweepResults& results, json& summary) {
  const SweepSetup& setup = results.setup;
  if (results.features.empty() || setup.steps.empty()) return;
  const int64_t n = setup.steps.back();
  const double tolerance = setup.tolerances.empty() ? 0.05 : setup.tolerances.front();
  const std::vector<std::string> names = {"top_1_percent", "top_3_percent", "top_10_percent"};
  for (const std::string& rule : setup.rules) {
    const std::vector<double> errors = relative_errors(results, rule, n);
    std::vector<std::vector<double>> all(3), failing(3);
    std::vector<std::pair<double, size_t>> ranked;
    for (const FeatureRow& row : results.features) {
      if (!row.fixed.count(rule) || row.instance >= errors.size()) continue;
      const std::vector<double> shares = igx::concentration(torch::tensor(difference_of(row, rule), torch::kDouble),
                                                            igx::default_concentration_fractions());
      const double error = errors[row.instance];
      for (size_t k = 0; k < 3; ++k) {
        all[k].push_back(shares[k]);
        if (!std::isnan(error) && error > tolerance) failing[k].push_back(shares[k]);
      }
      if (!std::isnan(error)) ranked.emplace_back(error, row.instance);
    }
    if (all[0].empty()) continue;
    std::sort(ranked.begin(), ranked.end(), std::greater<>());
    json worst = json::array();
    for (size_t k = 0; k < ranked.size() && static_cast<int64_t>(k) < setup.show; ++k) {
      worst.push_back({{"instance", ranked[k].second},
                       {"id", results.instances[ranked[k].second].id},
                       {"relative_error", ranked[k].first}});
    }
    json entry = {{"n", n},
                  {"reference", results.features.front().reference_label},
                  {"tolerance", tolerance},
                  {"instances", all[0].size()},
                  {"failing", failing[0].size()},
                  {"worst", worst}};
    for (size_t k = 0; k < 3; ++k) {
      entry["concentration"]["all"][names[k]] = igx::describe_sample(all[k]);
      entry["concentration"]["failing"][names[k]] = igx::describe_sample(failing[k]);
    }
    summary["where"][rule] = entry;
  }
}

}  // namespace

json summarize(const SweepResults& results) {
  const SweepSetup& setup = results.setup;
  const size_t instances = results.instances.size();
  json summary = {{"model", setup.model},
                  {"data", setup.data},
                  {"pick", setup.pick},
                  {"baseline", setup.baseline},
                  {"output", setup.output},
                  {"target", setup.target},
                  {"show", setup.show},
                  {"instances", instances},
                  {"steps", setup.steps},
                  {"rules", setup.rules},
                  {"tolerances", setup.tolerances},
                  {"strategies", setup.strategies},
                  {"max_steps", setup.max_steps},
                  {"attribution_tolerance", setup.attribution_tolerance},
                  {"initial_steps", setup.initial_steps},
                  {"initial_intervals", setup.initial_intervals},
                  {"batch_size", setup.batch_size},
                  {"threads", setup.threads},
                  {"device", setup.device},
                  {"seconds", results.seconds}};
  std::vector<int64_t> rows;
  for (const InstanceInfo& info : results.instances) rows.push_back(info.index);
  summary["rows"] = rows;

  // Relative error per rule and n.
  for (const std::string& rule : setup.rules) {
    json per_n = json::array();
    for (int64_t n : setup.steps) {
      const std::vector<double> errors = relative_errors(results, rule, n);
      const std::vector<double> known = defined(errors);
      std::vector<double> seconds;
      for (const FixedResult& row : results.fixed) {
        if (row.rule == rule && row.n == n) seconds.push_back(row.seconds);
      }
      json entry = {{"n", n}, {"undefined", instances - known.size()}, {"seconds", igx::describe_sample(seconds)}};
      entry["relative_error"] = igx::describe_sample(known);
      for (double tolerance : setup.tolerances) entry["within"][key(tolerance)] = fraction_within(errors, tolerance, instances);
      per_n.push_back(entry);
    }
    summary["fixed"][rule] = per_n;
  }

  // Ideal steps: the first n of the list whose relative error is within the tolerance.
  for (const std::string& rule : setup.rules) {
    std::vector<std::vector<double>> errors;  // [n][instance]
    for (int64_t n : setup.steps) errors.push_back(relative_errors(results, rule, n));
    for (double tolerance : setup.tolerances) {
      json histogram = json::object();
      for (int64_t n : setup.steps) histogram[std::to_string(n)] = 0;
      histogram["never"] = 0;
      std::vector<double> ideal;  // of the instances that get there
      size_t undefined = 0;
      json per_instance = json::array();
      for (size_t i = 0; i < instances; ++i) {
        bool all_undefined = true;
        json found = "never";
        for (size_t s = 0; s < setup.steps.size(); ++s) {
          if (std::isnan(errors[s][i])) continue;
          all_undefined = false;
          if (errors[s][i] <= tolerance) {
            found = setup.steps[s];
            break;
          }
        }
        if (all_undefined) {
          ++undefined;
          per_instance.push_back(nullptr);
          continue;
        }
        per_instance.push_back(found);
        if (found.is_number()) {
          histogram[std::to_string(found.get<int64_t>())] = histogram[std::to_string(found.get<int64_t>())].get<int>() + 1;
          ideal.push_back(found.get<double>());
        } else {
          histogram["never"] = histogram["never"].get<int>() + 1;
        }
      }
      const auto within = [&](double limit) {
        return static_cast<double>(std::count_if(ideal.begin(), ideal.end(), [&](double n) { return n <= limit; })) /
               static_cast<double>(std::max<size_t>(1, instances));
      };
      summary["ideal_steps"][rule][key(tolerance)] = {{"histogram", histogram},
                                                      {"undefined", undefined},
                                                      {"within_100", within(100)},
                                                      {"within_1000", within(1000)},
                                                      {"reached", static_cast<double>(ideal.size()) / std::max<size_t>(1, instances)},
                                                      {"mean_of_reached", number_or_null(mean(ideal))},
                                                      {"median_of_reached", number_or_null(quantile(ideal, 0.5))},
                                                      {"per_instance", per_instance}};
    }
  }

  // The error-controlled strategies, and the smallest fixed n that does as well.
  summary["strategy_results"] = json::array();
  for (double tolerance : setup.tolerances) {
    for (const std::string& strategy : setup.strategies) {
      const auto rows_of = strategy_rows(results, strategy, tolerance);
      if (rows_of.empty()) continue;
      std::vector<double> evaluations, forward_rows, seconds, errors, bounds;
      size_t certified = 0, within = 0, undefined = 0;
      for (const StrategyResult* row : rows_of) {
        evaluations.push_back(static_cast<double>(row->counts.gradient_rows));
        forward_rows.push_back(static_cast<double>(row->counts.forward_rows));
        seconds.push_back(row->seconds);
        certified += row->report.certified.value_or(false);
        if (row->report.relative_error) {
          errors.push_back(*row->report.relative_error);
          within += *row->report.relative_error <= tolerance;
        } else {
          ++undefined;
        }
        if (row->report.error_bound) bounds.push_back(*row->report.error_bound);
      }
      const double count = static_cast<double>(rows_of.size());
      json entry = {{"strategy", strategy},
                    {"rule", rows_of.front()->rule},
                    {"tolerance", tolerance},
                    {"instances", rows_of.size()},
                    {"certified", certified / count},
                    {"within_tolerance", within / count},
                    {"undefined", undefined},
                    {"gradient_evaluations", igx::describe_sample(evaluations)},
                    {"forward_rows", igx::describe_sample(forward_rows)},
                    {"seconds", igx::describe_sample(seconds)},
                    {"seconds_total", std::accumulate(seconds.begin(), seconds.end(), 0.0)},
                    {"relative_error", igx::describe_sample(errors)},
                    {"error_bound", igx::describe_sample(bounds)}};
      for (const std::string& rule : setup.rules) {
        json equivalent = {{"n", nullptr}, {"within_tolerance", nullptr}, {"evaluations_ratio", nullptr}};
        for (int64_t n : setup.steps) {
          const double fraction = fraction_within(relative_errors(results, rule, n), tolerance, instances);
          if (fraction >= certified / count - 1e-12) {
            equivalent = {{"n", n}, {"within_tolerance", fraction}, {"evaluations_ratio", n / mean(evaluations)}};
            break;
          }
        }
        entry["fixed_equivalent"][rule] = equivalent;
      }
      summary["strategy_results"].push_back(entry);
    }
  }
  summarize_tail(results, summary);
  summarize_where(results, summary);
  return summary;
}

std::vector<std::pair<std::string, std::string>> plots(const SweepResults& results, const json& summary) {
  const SweepSetup& setup = results.setup;
  std::vector<std::pair<std::string, std::string>> files;
  std::vector<std::string> categories;
  for (int64_t n : setup.steps) categories.push_back(std::to_string(n));
  const std::string subtitle = setup.model + ", " + std::to_string(results.instances.size()) + " test instances, " +
                               setup.baseline + " baseline, logit of the predicted class";
  std::vector<std::pair<double, std::string>> tolerance_lines;
  for (double tolerance : setup.tolerances) tolerance_lines.push_back({tolerance, "RE " + percent(tolerance)});

  for (size_t r = 0; r < setup.rules.size(); ++r) {
    const std::string& rule = setup.rules[r];
    igx::BoxSeries boxes{rule, {}, igx::plot_colour(r)};
    for (int64_t n : setup.steps) boxes.samples.push_back(defined(relative_errors(results, rule, n)));
    igx::PlotOptions options;
    options.title = "Relative completeness error per step count: " + rule;
    options.subtitle = subtitle;
    options.x.label = "steps n (" + rule + ")";
    options.y = {"relative error |delta| / |F(x) - F(x')|", true, true};
    options.reference_lines = tolerance_lines;
    files.push_back({"relative-error-" + rule + ".svg", igx::svg_box_plot(options, categories, {boxes})});
  }

  {
    std::vector<igx::LineSeries> lines;
    for (size_t r = 0; r < setup.rules.size(); ++r) {
      igx::LineSeries mean_line{setup.rules[r] + " mean", {}, {}, igx::plot_colour(r), false, true};
      igx::LineSeries median_line{setup.rules[r] + " median", {}, {}, igx::plot_colour(r), true, false};
      for (const json& entry : summary["fixed"][setup.rules[r]]) {
        const double n = entry["n"].get<double>();
        const json& re = entry["relative_error"];
        mean_line.x.push_back(n);
        mean_line.y.push_back(re["mean"].is_null() ? std::nan("") : re["mean"].get<double>());
        median_line.x.push_back(n);
        median_line.y.push_back(re["median"].is_null() ? std::nan("") : re["median"].get<double>());
      }
      lines.push_back(mean_line);
      lines.push_back(median_line);
    }
    igx::PlotOptions options;
    options.title = "Mean and median relative error against step count";
    options.subtitle = subtitle;
    options.x = {"steps n", true};
    options.y = {"relative error", true, true};
    options.reference_lines = tolerance_lines;
    files.push_back({"mean-relative-error.svg", igx::svg_line_plot(options, lines)});
  }

  std::vector<std::string> ideal_categories = categories;
  ideal_categories.push_back("never");
  for (double tolerance : setup.tolerances) {
    std::vector<igx::BarSeries> bars;
    for (size_t r = 0; r < setup.rules.size(); ++r) {
      const json& histogram = summary["ideal_steps"][setup.rules[r]][key(tolerance)]["histogram"];
      igx::BarSeries series{setup.rules[r], {}, igx::plot_colour(r)};
      for (const std::string& category : ideal_categories) series.values.push_back(histogram[category].get<double>());
      bars.push_back(series);
    }
    igx::PlotOptions options;
    options.title = "Ideal step count: the first n with relative error <= " + percent(tolerance);
    options.subtitle = subtitle;
    options.x.label = "ideal steps n (\"never\": not reached with " + categories.back() + " steps)";
    options.y.label = "instances";
    files.push_back({"ideal-steps-" + file_percent(tolerance) + ".svg", igx::svg_bar_plot(options, ideal_categories, bars)});
  }

  if (!setup.strategies.empty()) {
    std::vector<std::string> tolerance_categories;
    for (double tolerance : setup.tolerances) tolerance_categories.push_back("tolerance " + percent(tolerance));
    std::vector<igx::BoxSeries> series;
    for (size_t s = 0; s < setup.strategies.size(); ++s) {
      igx::BoxSeries boxes{strategy_label(setup.strategies[s]), {}, igx::plot_colour(setup.rules.size() + s)};
      for (double tolerance : setup.tolerances) {
        std::vector<double> evaluations;
        for (const StrategyResult* row : strategy_rows(results, setup.strategies[s], tolerance)) {
          evaluations.push_back(static_cast<double>(row->counts.gradient_rows));
        }
        boxes.samples.push_back(evaluations);
      }
      series.push_back(boxes);
    }
    // Each rule's smallest fixed n that brings as many instances within the tolerance as the
    // last strategy (interval-adaptive by default) certifies: a flat box at that n.
    for (size_t r = 0; r < setup.rules.size(); ++r) {
      igx::BoxSeries fixed{"fixed " + setup.rules[r], {}, igx::plot_colour(r)};
      for (double tolerance : setup.tolerances) {
        std::vector<double> evaluations;
        for (const json& entry : summary["strategy_results"]) {
          if (entry["strategy"] == setup.strategies.back() && entry["tolerance"].get<double>() == tolerance &&
              !entry["fixed_equivalent"][setup.rules[r]]["n"].is_null()) {
            evaluations.assign(results.instances.size(), entry["fixed_equivalent"][setup.rules[r]]["n"].get<double>());
          }
        }
        fixed.samples.push_back(evaluations);
      }
      series.push_back(fixed);
    }
    igx::PlotOptions options;
    options.title = "Gradient evaluations per instance";
    options.subtitle = setup.model + ", " + std::to_string(results.instances.size()) + " instances, at most " +
                       std::to_string(setup.max_steps) + " per instance; fixed: the smallest n as good as " +
                       strategy_label(setup.strategies.back());
    options.x.label = "requested relative error";
    options.y = {"gradient evaluations (forward+backward rows)", true};
    options.width = 900;
    files.push_back({"gradient-evaluations.svg", igx::svg_box_plot(options, tolerance_categories, series)});
  }
  return files;
}

namespace {

std::string cell(const json& value, const char* format = "%.3g") {
  if (value.is_null()) return "–";
  if (value.is_number()) return short_number(value.get<double>(), format);
  return igx::escape_markup(value.is_string() ? value.get<std::string>() : value.dump());
}

std::string percent_cell(const json& value) { return value.is_null() ? "–" : percent(value.get<double>()); }

// Seconds as milliseconds; "–" when no run had this setting (a stopped sweep, say).
std::string milliseconds_cell(const json& seconds) {
  return seconds.is_null() ? "–" : short_number(seconds.get<double>() * 1000, "%.1f");
}

std::string fixed_table(const json& summary) {
  std::ostringstream html;
  html << "<table><tr><th>rule</th><th>n</th><th>mean RE</th><th>median RE</th><th>p90 RE</th><th>max RE</th>";
  for (const json& tolerance : summary["tolerances"]) html << "<th>RE &le; " << percent(tolerance.get<double>()) << "</th>";
  html << "<th>mean time (ms)</th></tr>\n";
  for (const json& rule : summary["rules"]) {
    for (const json& entry : summary["fixed"][rule.get<std::string>()]) {
      const json& re = entry["relative_error"];
      html << "<tr><td>" << cell(rule) << "</td><td>" << entry["n"] << "</td><td>" << cell(re["mean"]) << "</td><td>"
           << cell(re["median"]) << "</td><td>" << cell(re["p90"]) << "</td><td>" << cell(re["max"]) << "</td>";
      for (const json& tolerance : summary["tolerances"]) {
        html << "<td>" << percent_cell(entry["within"][short_number(tolerance.get<double>(), "%g")]) << "</td>";
      }
      html << "<td>" << milliseconds_cell(entry["seconds"]["mean"]) << "</td></tr>\n";
    }
  }
  html << "</table>\n";
  return html.str();
}

std::string ideal_table(const json& summary) {
  std::ostringstream html;
  html << "<table><tr><th>rule</th><th>RE &le;</th>";
  for (const json& n : summary["steps"]) html << "<th>" << n << "</th>";
  html << "<th>never</th><th>within 100</th><th>within 1000</th><th>median ideal n</th></tr>\n";
  for (const json& rule : summary["rules"]) {
    for (const json& tolerance : summary["tolerances"]) {
      const json& ideal = summary["ideal_steps"][rule.get<std::string>()][short_number(tolerance.get<double>(), "%g")];
      html << "<tr><td>" << cell(rule) << "</td><td>" << percent(tolerance.get<double>()) << "</td>";
      for (const json& n : summary["steps"]) html << "<td>" << ideal["histogram"][std::to_string(n.get<int64_t>())] << "</td>";
      html << "<td>" << ideal["histogram"]["never"] << "</td><td>" << percent_cell(ideal["within_100"]) << "</td><td>"
           << percent_cell(ideal["within_1000"]) << "</td><td>" << cell(ideal["median_of_reached"]) << "</td></tr>\n";
    }
  }
  html << "</table>\n";
  return html.str();
}

std::string strategy_table(const json& summary) {
  std::ostringstream html;
  html << "<table><tr><th>strategy</th><th>tolerance</th><th>certified</th><th>RE &le; tolerance</th>"
          "<th>evaluations mean</th><th>median</th><th>p99</th><th>max</th><th>time mean (ms)</th><th>median</th>"
          "<th>p99</th></tr>\n";
  for (const json& entry : summary["strategy_results"]) {
    const json& evaluations = entry["gradient_evaluations"];
    const json& seconds = entry["seconds"];
    html << "<tr><td>" << igx::escape_markup(strategy_label(entry["strategy"])) << "</td><td>"
         << percent(entry["tolerance"].get<double>()) << "</td><td>" << percent_cell(entry["certified"]) << "</td><td>"
         << percent_cell(entry["within_tolerance"]) << "</td><td>" << cell(evaluations["mean"], "%.1f") << "</td><td>"
         << cell(evaluations["median"], "%.0f") << "</td><td>" << cell(evaluations["p99"], "%.0f") << "</td><td>"
         << cell(evaluations["max"], "%.0f") << "</td>";
    for (const char* which : {"mean", "median", "p99"}) {
      html << "<td>" << milliseconds_cell(seconds[which])
           << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

// For each strategy and tolerance, each rule's smallest n of the list that brings at least the
// fraction the strategy certified within the tolerance.
// Seed 001's heavy tail per rule, and what the strategies spent on it.
std::string tail_table(const json& summary) {
  if (!summary.contains("heavy_tail")) return "";
  std::ostringstream html;
  html << "<h2>The heavy tail</h2>\n<table><tr><th>rule</th><th>instances with RE above the tolerance</th>"
          "<th>RE growing with n (to above 1e-5)</th><th>the strategies on those instances: gradient evaluations "
          "(mean, max), certified</th></tr>\n";
  for (const auto& [rule, tail] : summary["heavy_tail"].items()) {
    html << "<tr><td>" << igx::escape_markup(rule) << "</td><td>" << tail["above"] << " (RE &gt; "
         << percent(tail["tolerance"].get<double>()) << " at n = " << tail["n"] << ")</td><td>" << tail["non_monotone"]
         << "</td><td>";
    for (const json& strategy : tail["strategies"]) {
      html << igx::escape_markup(strategy_label(strategy["strategy"])) << " at " << percent(strategy["tolerance"].get<double>())
           << ": " << cell(strategy["gradient_evaluations"]["mean"], "%.0f") << ", "
           << cell(strategy["gradient_evaluations"]["max"], "%.0f") << ", " << percent_cell(strategy["certified"])
           << "<br>";
    }
    html << "</td></tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

// Where the error sits: the concentration table and the figures of the worst instances.
std::string where_section(const json& summary, const std::vector<WhereFigure>& figures) {
  if (!summary.contains("where")) return "";
  std::ostringstream html;
  html << "<h2>Where the error sits</h2>\n<p class=\"note\">The difference between the fixed-step attribution at the "
          "largest n and an accurate one (the certified interval-adaptive run at the tightest tolerance), per feature "
          "(token or pixel): the share of its sum of |differences| that the largest 1 %, 3 %, 10 % of the features "
          "carry (median over the instances; in brackets the 90th percentile). A share near the fraction itself means "
          "an error spread evenly; near 100 %, one that a few features carry.</p>\n"
       << "<table><tr><th>rule, n</th><th>instances</th><th>top 1 %</th><th>top 3 %</th><th>top 10 %</th>"
          "<th>above the tolerance</th><th>top 1 %</th><th>top 3 %</th><th>top 10 %</th></tr>\n";
  for (const auto& [rule, entry] : summary["where"].items()) {
    html << "<tr><td>" << igx::escape_markup(rule) << ", " << entry["n"] << "</td><td>" << entry["instances"] << "</td>";
    for (const char* group : {"all", "failing"}) {
      if (std::string(group) == "failing") html << "<td>" << entry["failing"] << "</td>";
      for (const char* top : {"top_1_percent", "top_3_percent", "top_10_percent"}) {
        const json& shares = entry["concentration"][group][top];
        html << "<td>" << percent_cell(shares["median"]) << " (" << percent_cell(shares["p90"]) << ")</td>";
      }
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  for (const WhereFigure& figure : figures) {
    if (!figure.html.empty()) {
      html << "<p><a href=\"" << igx::escape_markup(figure.file) << "\">" << igx::escape_markup(figure.file)
           << "</a>: the instances with the largest error, each as three rows (accurate, fixed steps, difference)</p>\n"
           << "<iframe src=\"" << igx::escape_markup(figure.file)
           << "\" style=\"width:100%;height:480px;border:1px solid #ccc\"></iframe>\n";
    } else {
      html << "<figure style=\"display:inline-block;margin:4px\"><img src=\"" << igx::escape_markup(figure.file)
           << "\" alt=\"" << igx::escape_markup(figure.title) << "\" style=\"width:260px\"><figcaption>"
           << igx::escape_markup(figure.title) << "</figcaption></figure>\n";
    }
  }
  return html.str();
}

std::string equivalent_table(const json& summary) {
  std::ostringstream html;
  html << "<table><tr><th>strategy</th><th>tolerance</th><th>certified</th><th>evaluations mean</th>";
  for (const json& rule : summary["rules"]) html << "<th>" << cell(rule) << "</th>";
  html << "</tr>\n";
  for (const json& entry : summary["strategy_results"]) {
    html << "<tr><td>" << igx::escape_markup(strategy_label(entry["strategy"])) << "</td><td>"
         << percent(entry["tolerance"].get<double>()) << "</td><td>" << percent_cell(entry["certified"]) << "</td><td>"
         << cell(entry["gradient_evaluations"]["mean"], "%.1f") << "</td>";
    for (const json& rule : summary["rules"]) {
      const json& equivalent = entry["fixed_equivalent"][rule.get<std::string>()];
      html << "<td>"
           << (equivalent["n"].is_null()
                   ? std::string("none in the list")
                   : "n = " + equivalent["n"].dump() + " (" + percent_cell(equivalent["within_tolerance"]) + " within; " +
                         cell(equivalent["evaluations_ratio"], "%.2f") + "× the evaluations)")
           << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  return html.str();
}

}  // namespace

std::string feature_json_line(const FeatureRow& row) {
  json line = {{"instance", row.instance},
               {"shape", row.shape},
               {"reference_label", row.reference_label},
               {"reference", row.reference},
               {"fixed", row.fixed}};
  if (!row.tokens.empty()) line["tokens"] = row.tokens;
  if (!row.picture.empty()) line["picture"] = row.picture;
  return line.dump() + "\n";
}

FeatureRow feature_row_from_json(const json& line) {
  FeatureRow row;
  try {
    row.instance = line.at("instance").get<size_t>();
    row.shape = line.at("shape").get<std::vector<int64_t>>();
    row.reference_label = line.at("reference_label").get<std::string>();
    row.reference = line.at("reference").get<std::vector<double>>();
    row.fixed = line.at("fixed").get<std::map<std::string, std::vector<double>>>();
    if (line.contains("tokens")) row.tokens = line["tokens"].get<std::vector<std::string>>();
    if (line.contains("picture")) row.picture = line["picture"].get<std::vector<double>>();
  } catch (const json::exception& error) {
    throw igx::Error(std::string("a features.jsonl line is not igx sweep's: ") + error.what());
  }
  return row;
}

std::vector<WhereFigure> where_figures(const SweepResults& results, const json& summary) {
  std::vector<WhereFigure> figures;
  if (!summary.contains("where")) return figures;
  for (const auto& [rule, entry] : summary["where"].items()) {
    const std::string fixed_label = rule + ":" + std::to_string(entry["n"].get<int64_t>());
    const std::string reference_label = entry["reference"].get<std::string>();
    std::vector<igx::TextExplanationView> views;
    for (const json& worst : entry["worst"]) {
      const size_t instance = worst["instance"].get<size_t>();
      const FeatureRow* row = feature_row(results, instance);
      if (row == nullptr || !row->fixed.count(rule)) continue;
      const InstanceInfo& info = results.instances[instance];
      const std::vector<double> difference = difference_of(*row, rule);
      if (!row->tokens.empty()) {
        // Texts: three rows per instance on one page, the accurate one first.
        igx::TextExplanationView view;
        view.tokens = row->tokens;
        view.predicted_label = "class " + std::to_string(info.prediction);
        view.predicted_probability = std::nan("");
        view.target_label = "class " + std::to_string(info.target);
        view.true_label = info.id;
        const auto add = [&](const std::vector<double>& scores, const std::string& method, bool is_difference,
                             std::optional<double> relative_error) {
          igx::TextExplanationView added = view;
          added.scores = scores;
          added.attribution_sum = std::accumulate(scores.begin(), scores.end(), 0.0);
          added.method = method;
          added.difference = is_difference;
          added.relative_error = relative_error;
          views.push_back(std::move(added));
        };
        std::optional<double> reference_error;
        for (const StrategyResult& strategy : results.strategies) {
          if (strategy.instance == instance && reference_label == strategy.strategy + " " + key(strategy.tolerance)) {
            reference_error = strategy.report.relative_error;
          }
        }
        add(row->reference, reference_label, false, reference_error);
        add(row->fixed.at(rule), fixed_label, false, worst["relative_error"].get<double>());
        add(difference, "difference, " + fixed_label + " minus " + reference_label, true, std::nullopt);
        continue;
      }
      // Images: three heat-maps per instance.
      const std::string stem = "where-" + rule + "-" + std::to_string(instance);
      for (const auto& [suffix, values, title] :
           {std::tuple{std::string("reference"), row->reference, reference_label},
            std::tuple{std::string("fixed"), row->fixed.at(rule),
                       fixed_label + ", RE " + short_number(worst["relative_error"].get<double>())},
            std::tuple{std::string("difference"), difference, "difference, " + fixed_label + " minus " + reference_label}}) {
        WhereFigure figure;
        figure.file = stem + "-" + suffix + ".png";
        figure.shape = row->shape;
        figure.picture = row->picture;
        figure.values = values;
        figure.title = "row " + std::to_string(info.index) + ": " + title;
        figures.push_back(std::move(figure));
      }
    }
    if (!views.empty()) {
      WhereFigure page;
      page.file = "where-" + rule + ".html";
      page.html = igx::render_html(views, "igx sweep: where the error of " + fixed_label + " sits (" +
                                              results.setup.model + ")");
      figures.push_back(std::move(page));
    }
  }
  return figures;
}

std::string html_report(const json& summary, const std::vector<std::string>& plot_files,
                        const std::vector<WhereFigure>& figures) {
  std::ostringstream html;
  const std::string model = summary["model"];
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>igx sweep: "
       << igx::escape_markup(model) << "</title>\n<style>\n"
       << "body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;max-width:1100px;color:#222}\n"
       << "table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}\n"
       << "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}\n"
       << "td:first-child,th:first-child{text-align:left}img{display:block;margin:10px 0;max-width:100%}\n"
       << "p.note{color:#555;font-size:13px}\n</style></head><body>\n";
  html << "<h1>igx sweep: " << igx::escape_markup(model) << "</h1>\n<p>" << summary["instances"]
       << " instances (" << igx::escape_markup(summary["pick"].get<std::string>()) << " rows of "
       << igx::escape_markup(summary["data"].get<std::string>()) << "), " << igx::escape_markup(summary["baseline"].get<std::string>())
       << " baseline, explained output: " << igx::escape_markup(summary.value("output", std::string("logit")))
       << " of " << igx::escape_markup(summary.value("target", std::string("pred")) == "pred"
                                           ? std::string("the predicted class")
                                           : "class " + summary.value("target", std::string("pred")))
       << ". Fixed-step rules: "
       << igx::escape_markup(summary["rules"].dump()) << " at n = " << igx::escape_markup(summary["steps"].dump())
       << ". Strategies at most " << summary["max_steps"] << " gradient evaluations per instance, "
       << (summary.value("attribution_tolerance", 0.0) > 0
               ? "the attribution vector within " + percent(summary["attribution_tolerance"].get<double>()) +
                     " (relative L1) besides the sum"
               : std::string("the sum only (no attribution-vector tolerance)"))
       << "; doubling starts at n = "
       << summary["initial_steps"] << ", interval-adaptive from " << summary.value("initial_intervals", 4)
       << " Simpson panels. " << summary["threads"] << " threads, batches of at most "
       << summary["batch_size"] << " rows, device " << igx::escape_markup(summary["device"].get<std::string>())
       << "; the whole sweep took " << short_number(summary["seconds"].get<double>(), "%.0f") << " s.</p>\n";
  html << "<p class=\"note\">RE = |&Sigma; attributions &minus; (F(x) &minus; F(x'))| / |F(x) &minus; F(x')|. "
          "The ideal step count of an instance is the first n of the list whose RE is within the tolerance (seed 001's "
          "definition). The smallest fixed n that does as well is the first n of the list whose RE is within the "
          "tolerance on at least the fraction of instances the strategy certified; its cost is n gradient evaluations "
          "per instance, shown relative to the strategy's mean.</p>\n";
  html << "<h2>Error-controlled strategies</h2>\n" << strategy_table(summary);
  html << "<h3>The smallest fixed step count that does as well</h3>\n" << equivalent_table(summary);
  html << "<h2>Ideal step counts</h2>\n" << ideal_table(summary);
  html << "<h2>Relative error per rule and step count</h2>\n" << fixed_table(summary);
  html << "<h2>Plots</h2>\n";
  for (const std::string& file : plot_files) {
    html << "<img src=\"" << igx::escape_markup(file) << "\" alt=\"" << igx::escape_markup(file) << "\">\n";
  }
  html << tail_table(summary) << where_section(summary, figures);
  html << "<p class=\"note\">Rows: sweep.csv (instance &times; rule &times; n), adaptive.csv (instance &times; "
          "strategy &times; tolerance), summary.json.</p>\n</body></html>\n";
  return html.str();
}

std::string terminal_summary(const json& summary) {
  std::ostringstream out;
  out << summary["model"].get<std::string>() << ": " << summary["instances"] << " instances\n";
  for (const json& rule : summary["rules"]) {
    for (const json& tolerance : summary["tolerances"]) {
      const json& ideal = summary["ideal_steps"][rule.get<std::string>()][short_number(tolerance.get<double>(), "%g")];
      out << "  " << rule.get<std::string>() << ", RE <= " << percent(tolerance.get<double>()) << ": ideal n within 100 for "
          << percent(ideal["within_100"].get<double>()) << ", within 1000 for " << percent(ideal["within_1000"].get<double>())
          << ", never for " << ideal["histogram"]["never"] << "\n";
    }
  }
  for (const json& entry : summary["strategy_results"]) {
    out << "  " << strategy_label(entry["strategy"]) << " at " << percent(entry["tolerance"].get<double>())
        << ": certified " << percent(entry["certified"].get<double>()) << ", gradient evaluations mean "
        << cell(entry["gradient_evaluations"]["mean"], "%.1f") << " median "
        << cell(entry["gradient_evaluations"]["median"], "%.0f") << " p99 " << cell(entry["gradient_evaluations"]["p99"], "%.0f")
        << ", mean " << milliseconds_cell(entry["seconds"]["mean"]) << " ms\n";
  }
  return out.str();
}

}  // namespace igx_cli::sweep
