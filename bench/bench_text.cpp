// Text-path timing: igx::explain_text on texts of the spam test split, one text at a time (or
// all in one call with --together, padded to the longest as `igx explain T1 T2 ...` does), at
// several internal batch sizes (fixed; 0 = automatic sizing up to 256 rows, the CLI's default),
// with fixed Gauss-Legendre steps and adaptive integration. Writes JSON (timings, token ids,
// targets, attributions) that bench/compare_captum_text.py compares with Captum.
//
//   build/bench/bench_text --texts 20 --batch-sizes 16,50,256,0 --threads 1 --out text.json
//
// Every configuration first explains one text untimed; the time of that first call is reported
// apart ("first_seconds"): it shows what the first shapes a model sees cost.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <chrono>
#include <ctime>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "igx/datasets.h"
#include "igx/igx.h"
#include "igx/text.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process: on a loaded machine, with one thread, a steadier measure of the
// work done than the wall clock.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

struct Config {
  std::string name;  // "fixed" or "adaptive"
  int64_t batch_size;
  igx::IgOptions options;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("igx text-path benchmark (explain_text, one text at a time)");
  int64_t count = 20, steps = 50, repeats = 1;
  int threads = 1;
  double tolerance = 0.01;
  std::vector<int64_t> batch_sizes = {16, 50, 256};
  std::vector<std::string> strategies = {"fixed", "adaptive"};
  std::string model = "spam-transformer", out;
  app.add_option("--texts", count, "Texts, spread evenly over the test split")->capture_default_str();
  app.add_option("--steps", steps, "Gauss-Legendre nodes of the fixed strategy")->capture_default_str();
  bool together = false;
  app.add_option("--batch-sizes", batch_sizes, "Internal batch sizes (0 = automatic, at most 256)")->delimiter(',');
  app.add_flag("--together", together, "Explain all texts in one call instead of one at a time");
  app.add_option("--strategies", strategies,
                 "fixed, adaptive; adaptive-no-scan, adaptive-no-float64, adaptive-bare (neither); "
                 "adaptive-scanN (N scan points instead of the default)")->delimiter(',');
  app.add_option("--tolerance", tolerance, "Adaptive: relative error to certify")->capture_default_str();
  app.add_option("--threads", threads, "CPU threads (0 = all cores)")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed passes over the texts")->capture_default_str();
  app.add_option("--model", model, "Text bundle")->capture_default_str();
  app.add_option("--out", out, "JSON result file (default: stdout)");
  CLI11_PARSE(app, argc, argv);

  igx::set_num_threads(threads);
  const auto load_start = std::chrono::steady_clock::now();
  igx::TextClassifier classifier = igx::TextClassifier::load(igx::find_bundle(model));
  const double load_seconds = seconds_since(load_start);
  const igx::TextDataset data = igx::read_spam_split(igx::find_data_directory());
  std::vector<std::string> texts;
  for (int64_t k = 0; k < count; ++k) texts.push_back(data.texts[k * static_cast<int64_t>(data.size()) / count]);

  std::vector<Config> configs;
  for (const std::string& strategy : strategies) {
    for (int64_t batch : batch_sizes) {
      igx::IgOptions options = batch > 0 ? igx::IgOptions().internal_batch_size(batch).batch_sizing(igx::BatchSizing::Fixed)
                                         : igx::IgOptions().internal_batch_size(256).batch_sizing(igx::BatchSizing::Automatic);
      if (strategy == "fixed") {
        options.strategy(igx::Strategy::Fixed).n_steps(steps).method(igx::Rule::GaussLegendre);
      } else if (strategy.rfind("adaptive", 0) == 0) {
        // The certificate's parts, for a breakdown of its cost: without the scan of F, without
        // the float64 ends, without either.
        // adaptive-scanN: the scan's resolution against its cost (docs/methods.md).
        options.strategy(igx::Strategy::IntervalAdaptive).tolerance(tolerance);
        const std::string scan_prefix = "adaptive-scan";
        const bool scan_points = strategy.rfind(scan_prefix, 0) == 0 && strategy.size() > scan_prefix.size() &&
                                 strategy.find_first_not_of("0123456789", scan_prefix.size()) == std::string::npos;
        if (scan_points) options.scan_points(std::stoll(strategy.substr(scan_prefix.size())));
        if (strategy == "adaptive-no-scan" || strategy == "adaptive-bare") options.scan_points(0);
        if (strategy == "adaptive-no-float64" || strategy == "adaptive-bare") options.float64_ends(false);
        if (strategy != "adaptive" && strategy != "adaptive-no-scan" && strategy != "adaptive-no-float64" &&
            strategy != "adaptive-bare" && !scan_points) {
          std::cerr << "unknown strategy " << strategy << "\n";
          return 1;
        }
      } else {
        std::cerr << "unknown strategy " << strategy << "\n";
        return 1;
      }
      configs.push_back({strategy, batch, options});
    }
  }

  nlohmann::json result = {{"model", model}, {"threads", igx::set_num_threads(threads)}, {"steps", steps},
                           {"together", together},
                           {"tolerance", tolerance}, {"load_seconds", load_seconds}};
  nlohmann::json runs = nlohmann::json::array();
  for (const Config& config : configs) {
    nlohmann::json run = {{"strategy", config.name}, {"batch_size", config.batch_size}};
    const auto first_start = std::chrono::steady_clock::now();
    const double first_cpu_start = process_cpu_seconds();
    igx::explain_text(classifier, {texts.front()}, "gausslegendre", config.options);
    run["first_seconds"] = seconds_since(first_start);
    run["first_cpu_seconds"] = process_cpu_seconds() - first_cpu_start;
    std::vector<double> totals, cpu_totals;
    int64_t batches = 0, rows = 0, forward_rows = 0;  // model calls, gradient and forward-only rows of the last pass
    nlohmann::json examples = nlohmann::json::array();
    for (int64_t repeat = 0; repeat < repeats; ++repeat) {
      double total = 0, cpu_total = 0;
      const std::vector<std::vector<std::string>> calls =
          together ? std::vector<std::vector<std::string>>{texts} : [&] {
            std::vector<std::vector<std::string>> single;
            for (const std::string& text : texts) single.push_back({text});
            return single;
          }();
      for (const std::vector<std::string>& call : calls) {
        const auto start = std::chrono::steady_clock::now();
        const double cpu_start = process_cpu_seconds();
        const igx::TextExplanation explanation = igx::explain_text(classifier, call, "gausslegendre", config.options);
        total += seconds_since(start);
        cpu_total += process_cpu_seconds() - cpu_start;
        if (repeat + 1 < repeats) continue;
        batches += explanation.attribution.counts.batches;
        rows += explanation.attribution.counts.gradient_rows;
        forward_rows += explanation.attribution.counts.forward_rows;
        for (size_t b = 0; b < call.size(); ++b) {
          const igx::ExampleReport& report = explanation.attribution.examples[b];
          // Each text's own tokens (a call with several texts pads them to the longest).
          const int64_t length = static_cast<int64_t>(explanation.batch.encodings[b].ids.size());
          const torch::Tensor values =
              explanation.attribution.values[static_cast<int64_t>(b)].narrow(0, 0, length).to(torch::kDouble).contiguous();
          examples.push_back({{"ids", explanation.batch.encodings[b].ids},
                              {"target", report.target},
                              {"steps", report.steps},
                              {"delta", report.delta},
                              {"certified", report.certified.value_or(false)},
                              {"shape", values.sizes().vec()},
                              {"attributions", std::vector<double>(values.data_ptr<double>(),
                                                                   values.data_ptr<double>() + values.numel())}});
        }
      }
      totals.push_back(total);
      cpu_totals.push_back(cpu_total);
    }
    run["seconds"] = totals;
    run["cpu_seconds"] = cpu_totals;
    run["examples"] = examples;
    run["batches"] = batches;
    run["gradient_rows"] = rows;
    run["forward_rows"] = forward_rows;
    runs.push_back(run);
  }
  result["runs"] = runs;
  if (out.empty()) {
    std::cout << result.dump() << "\n";
  } else {
    std::ofstream(out) << result.dump() << "\n";
  }
  return 0;
}
