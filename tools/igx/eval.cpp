// igx eval: faithfulness of text attribution methods on a text model's test split (DIG's
// metrics: log-odds, comprehensiveness, sufficiency and their AOPC), with each method's mean
// completeness error and time per example. Parses, calls the library, prints and writes tables.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <sstream>
#include <limits>
#include <string>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "igx/datasets.h"
#include "igx/explainer.h"
#include "igx/faithfulness.h"
#include "igx/runtime.h"

namespace igx_cli {
namespace {

struct EvalFlags {
  std::vector<std::string> methods = {"ig", "dig-greedy", "dig-maxcount", "sig", "inputxgradient", "random"};
  int64_t count = 500;
  std::string model = "spam-transformer";
  std::string data;
  int64_t max_tokens = 0;
  int64_t texts_per_call = 4;
  double tolerance = 0.01;
  int64_t max_steps = 4096;
  int64_t sig_initial_intervals = 1;
  int64_t anchors = 30;
  int64_t neighbours = 500;
  int64_t upscale = 1;
  std::string dig_score = "word";
  double percent = 20.0;
  uint64_t seed = 0;
  int64_t batch_size = 256;
  int threads = 0;
  std::string markdown;
  std::string json;
  bool force = false;
};

// What one method scored, summed over the examples.
struct MethodTotals {
  std::string method;
  igx::FaithfulnessScores sum;
  double relative_error_sum = 0.0;
  double relative_error_max = 0.0;
  int64_t relative_errors = 0;  // examples with a defined relative error
  int64_t examples = 0;
  double seconds = 0.0;         // attribution only, not the metrics
};

std::string format(const char* pattern, double value) {
  char text[64];
  std::snprintf(text, sizeof text, pattern, value);
  return text;
}

// The explanation request behind each evaluated name: "ig" is IG integrated adaptively to
// --tolerance; an IG rule is IG with that rule at fixed steps, as igx explain reads it.
igx::ExplainRequest request_of(const std::string& method, const EvalFlags& flags) {
  igx::ExplainRequest request;
  igx::ExplainOptions& options = request.options;
  options.batch_size = flags.batch_size;
  if (method == "ig" || method == "sig") {
    options.tolerance = flags.tolerance;
    options.max_steps = flags.max_steps;
  }
  if (method == "ig") return request;
  igx::set_explain_option(options, "method", method);
  if (method == "sig") options.initial_intervals = flags.sig_initial_intervals;
  if (method == "dig-greedy" || method == "dig-maxcount") {
    options.anchors = flags.anchors;
    options.neighbours = flags.neighbours;
    options.upscale = flags.upscale;
    igx::set_explain_option(options, "dig-score", flags.dig_score);
  }
  return request;
}

void check_method(const std::string& method) {
  if (method == "ig" || method == "random") return;
  const auto& names = igx::text_method_names();
  if (std::find(names.begin(), names.end(), method) == names.end()) {
    std::string known = "ig, random";
    for (const auto& name : names) known += ", " + name;
    throw bad_value("--methods", "some of: " + known, method);
  }
}

// What one chunk of texts scored, and the completeness reports when the method has them.
struct ChunkScores {
  std::vector<igx::FaithfulnessScores> scores;
  std::vector<igx::ExampleReport> reports;  // empty for random scores
};

// The texts [begin, end) scored by `method`: its attributions summed per token, or uniform random
// scores drawn per example from the seed (the floor every method must beat).
ChunkScores score_texts(igx::Explainer& explainer, const std::vector<std::string>& texts, const std::string& method,
                        const EvalFlags& flags, size_t first_index, double& seconds,
                        const igx::FaithfulnessOptions& faithfulness) {
  igx::TextClassifier& classifier = explainer.text_classifier();
  const auto start = std::chrono::steady_clock::now();
  if (method == "random") {
    const igx::TextBatch batch = classifier.encode(texts);
    const torch::Tensor scores = igx::random_token_scores(batch, flags.seed + first_index);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {igx::faithfulness(classifier, batch, scores, faithfulness), {}};
  }
  igx::ExplainRequest request = request_of(method, flags);
  request.texts = texts;
  const igx::Explanation explanation = explainer.explain(request);
  seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ChunkScores chunk{igx::faithfulness(classifier, explanation, faithfulness), {}};
  for (const igx::ExampleExplanation& example : explanation.examples) chunk.reports.push_back(example.report);
  return chunk;
}

// The command line that reproduces a run.
std::string command_line(const EvalFlags& flags) {
  std::ostringstream out;
  out << "igx eval --methods ";
  for (size_t i = 0; i < flags.methods.size(); ++i) out << (i ? "," : "") << flags.methods[i];
  out << " --n " << flags.count << " --model " << flags.model;
  if (!flags.data.empty()) out << " --data " << flags.data;
  if (flags.max_tokens > 0) out << " --max-tokens " << flags.max_tokens;
  out << " --tolerance " << flags.tolerance << " --max-steps " << flags.max_steps << " --sig-panels "
      << flags.sig_initial_intervals << " --anchors " << flags.anchors
      << " --neighbours " << flags.neighbours << " --upscale " << flags.upscale << " --dig-score " << flags.dig_score
      << " --percent " << flags.percent
      << " --seed " << flags.seed << " --texts-per-call " << flags.texts_per_call << " --threads " << flags.threads;
  return out.str();
}

std::string table(const std::vector<MethodTotals>& totals, double percent) {
  std::ostringstream out;
  const std::string k = format("%g", percent);
  out << "| method | LO (" << k << "%) ↓ | Comp (" << k << "%) ↑ | Suff (" << k
      << "%) ↓ | AOPC Comp ↑ | AOPC Suff ↓ | mean rel. error | max rel. error | s / example |\n"
      << "|---|---|---|---|---|---|---|---|---|\n";
  for (const MethodTotals& total : totals) {
    const double n = static_cast<double>(total.examples);
    const bool has_error = total.relative_errors > 0;
    out << "| " << total.method << " | " << format("%.4f", total.sum.log_odds / n) << " | "
        << format("%.4f", total.sum.comprehensiveness / n) << " | " << format("%.4f", total.sum.sufficiency / n) << " | "
        << format("%.4f", total.sum.aopc_comprehensiveness / n) << " | " << format("%.4f", total.sum.aopc_sufficiency / n)
        << " | " << (has_error ? format("%.3g", total.relative_error_sum / static_cast<double>(total.relative_errors)) : "n/a")
        << " | " << (has_error ? format("%.3g", total.relative_error_max) : "n/a") << " | "
        << format("%.3f", total.seconds / n) << " |\n";
  }
  return out.str();
}

void run(const EvalFlags& flags) {
  for (const std::string& method : flags.methods) check_method(method);  // unknown names fail before any work
  OutputFiles files(".", flags.force);
  if (!flags.markdown.empty()) files.check_writable(flags.markdown, "--out");
  if (!flags.json.empty()) files.check_writable(flags.json, "--json");
  const int threads = apply_threads(flags.threads, flags.force);

  const auto explainer = igx::Explainer::load(flags.model);
  igx::TextClassifier& classifier = explainer->text_classifier();
  const igx::TextDataset data = flags.data.empty() ? igx::read_spam_split(igx::find_data_directory(), "test")
                                                   : igx::read_text_jsonl(flags.data);
  const size_t count = std::min(static_cast<size_t>(flags.count), data.size());
  std::vector<std::string> texts(data.texts.begin(), data.texts.begin() + static_cast<std::ptrdiff_t>(count));
  if (flags.max_tokens > 0) {
    // Cut each text after its first max_tokens pieces: every method then sees the same input.
    for (std::string& text : texts) {
      const igx::Encoding encoding = classifier.tokenizer().encode(text, static_cast<size_t>(flags.max_tokens) + 2);
      if (encoding.truncated) text = text.substr(0, encoding.offsets[encoding.offsets.size() - 2].second);
    }
  }
  const auto faithfulness_options = igx::FaithfulnessOptions().percent(flags.percent).batch_size(flags.batch_size);

  // TorchScript optimises a method on its first calls: warm it up once, untimed, so that the
  // first method in the list is not charged for it.
  double warm_up_seconds = 0;
  score_texts(*explainer, {texts.front()}, "ig", flags, 0, warm_up_seconds, faithfulness_options);

  std::vector<MethodTotals> totals;
  nlohmann::json per_example = nlohmann::json::object();
  for (const std::string& method : flags.methods) {
    MethodTotals total;
    total.method = method;
    nlohmann::json rows = nlohmann::json::array();
    for (size_t begin = 0; begin < count; begin += static_cast<size_t>(flags.texts_per_call)) {
      const size_t end = std::min(count, begin + static_cast<size_t>(flags.texts_per_call));
      const std::vector<std::string> chunk_texts(texts.begin() + static_cast<std::ptrdiff_t>(begin),
                                                 texts.begin() + static_cast<std::ptrdiff_t>(end));
      const ChunkScores chunk = score_texts(*explainer, chunk_texts, method, flags, begin, total.seconds, faithfulness_options);
      const std::vector<igx::FaithfulnessScores>& scores = chunk.scores;
      for (size_t i = 0; i < scores.size(); ++i) {
        const igx::FaithfulnessScores& s = scores[i];
        total.sum.log_odds += s.log_odds;
        total.sum.comprehensiveness += s.comprehensiveness;
        total.sum.sufficiency += s.sufficiency;
        total.sum.aopc_comprehensiveness += s.aopc_comprehensiveness;
        total.sum.aopc_sufficiency += s.aopc_sufficiency;
        ++total.examples;
        nlohmann::json row = {{"id", data.ids[begin + i]},
                              {"log_odds", s.log_odds},
                              {"comprehensiveness", s.comprehensiveness},
                              {"sufficiency", s.sufficiency},
                              {"aopc_comprehensiveness", s.aopc_comprehensiveness},
                              {"aopc_sufficiency", s.aopc_sufficiency}};
        if (!chunk.reports.empty()) {
          const igx::ExampleReport& report = chunk.reports[i];
          row["delta"] = report.delta;
          row["steps"] = report.steps;
          if (report.relative_error) {
            row["relative_error"] = *report.relative_error;
            total.relative_error_sum += *report.relative_error;
            total.relative_error_max = std::max(total.relative_error_max, *report.relative_error);
            ++total.relative_errors;
          }
        }
        rows.push_back(row);
      }
      std::cerr << "\r" << method << ": " << end << "/" << count << " texts, " << format("%.1f", total.seconds) << " s"
                << std::flush;
    }
    std::cerr << "\n";
    per_example[method] = rows;
    totals.push_back(total);
  }

  const std::string result = table(totals, flags.percent);
  std::cout << result;
  std::ostringstream setting;
  setting << count << " texts (the first of " << (flags.data.empty() ? std::string("the spam test split") : flags.data)
          << (flags.max_tokens > 0 ? ", each cut to " + std::to_string(flags.max_tokens) + " tokens" : std::string())
          << "), model " << classifier.config().name << ", " << threads << " thread" << (threads == 1 ? "" : "s") << " on "
          << std::thread::hardware_concurrency() << " cores";
  if (!flags.markdown.empty()) {
    write_text_file(flags.markdown, "Reproduce: `" + command_line(flags) + " --out FILE.md`\n\n" + setting.str() +
                                        ".\n\n" + result);
    std::cout << "wrote " << flags.markdown << "\n";
  }
  if (!flags.json.empty()) {
    nlohmann::json json = {{"command", command_line(flags)}, {"setting", setting.str()}, {"examples", per_example}};
    nlohmann::json summary = nlohmann::json::array();
    for (const MethodTotals& total : totals) {
      const double n = static_cast<double>(total.examples);
      summary.push_back({{"method", total.method},
                         {"log_odds", total.sum.log_odds / n},
                         {"comprehensiveness", total.sum.comprehensiveness / n},
                         {"sufficiency", total.sum.sufficiency / n},
                         {"aopc_comprehensiveness", total.sum.aopc_comprehensiveness / n},
                         {"aopc_sufficiency", total.sum.aopc_sufficiency / n},
                         {"mean_relative_error", total.relative_errors
                                                     ? nlohmann::json(total.relative_error_sum /
                                                                      static_cast<double>(total.relative_errors))
                                                     : nlohmann::json(nullptr)},
                         {"seconds_per_example", total.seconds / n}});
    }
    json["summary"] = summary;
    write_text_file(flags.json, json.dump(2) + "\n");
    std::cout << "wrote " << flags.json << "\n";
  }
}

}  // namespace

std::function<void()> add_eval(CLI::App& app) {
  auto flags = std::make_shared<EvalFlags>();
  CLI::App* command = app.add_subcommand(
      "eval",
      "Faithfulness of text attribution methods on a text model's test split (DIG's metrics).\n"
      "  igx eval --methods ig,dig-greedy,dig-maxcount,sig,inputxgradient,random --n 500");
  command->add_option("--methods", flags->methods,
                      "Methods to compare: ig (adaptive), dig-greedy, dig-maxcount, sig, inputxgradient, saliency, "
                      "an IG rule (fixed steps), and random (uniform random scores, the floor)")
      ->delimiter(',')->capture_default_str()->type_name("LIST");
  command->add_option("--n", flags->count, "Texts to evaluate: the first N of the split")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("-m,--model", flags->model, "Text bundle: a name or a folder")->capture_default_str()->type_name("MODEL");
  command->add_option("--data", flags->data, "JSON lines of texts (default: the spam test split of scripts/fetch_data.sh)")
      ->type_name("FILE");
  command->add_option("--max-tokens", flags->max_tokens, "Cut every text after this many word pieces; 0 = the model's limit")
      ->capture_default_str()->type_name("T")->check(integer_in(0));
  command->add_option("--texts-per-call", flags->texts_per_call, "Texts attributed together (padded to a common length)")
      ->capture_default_str()->type_name("B")->check(integer_in(1));
  command->add_option("--tolerance", flags->tolerance, "ig and sig: relative completeness error to certify (adaptive)")
      ->capture_default_str()->type_name("TOL")->check(number_in(0, 1));
  command->add_option("--max-steps", flags->max_steps, "ig and sig: most gradient evaluations per example or token")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("--sig-panels", flags->sig_initial_intervals,
                      "sig: Simpson panels each token's path starts from (refined where the error is)")
      ->capture_default_str()->type_name("P")->check(integer_in(1));
  command->add_option("--anchors", flags->anchors, "DIG: anchor words per token (m)")
      ->capture_default_str()->type_name("M")->check(integer_in(1));
  command->add_option("--neighbours", flags->neighbours, "DIG: nearest vocabulary words searched per anchor (K)")
      ->capture_default_str()->type_name("K")->check(integer_in(1));
  command->add_option("--upscale", flags->upscale, "DIG: sub-intervals per anchor interval")
      ->capture_default_str()->type_name("U")->check(integer_in(1));
  command->add_option("--dig-score", flags->dig_score,
                      "DIG: what candidates are scored against, the previous anchor word (the authors' rule) or the "
                      "current path point")
      ->capture_default_str()->type_name("word|point");
  command->add_option("--percent", flags->percent, "k of log-odds, comprehensiveness and sufficiency (AOPC: 1,5,10,20,50)")
      ->capture_default_str()->type_name("K")->check(number_in(0, 100, /*upper_included=*/true));
  command->add_option("--seed", flags->seed, "Seed of the random scores")->capture_default_str()->type_name("S")->check(integer_in(0));
  command->add_option("--batch-size", flags->batch_size, "Most rows per model call")
      ->capture_default_str()->type_name("B")->check(integer_in(0));
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")
      ->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("-o,--out", flags->markdown, "Markdown file for the table and the command that reproduces it")
      ->type_name("FILE");
  command->add_option("--json", flags->json, "JSON file with the summary and every example's scores")->type_name("FILE");
  command->add_flag("-f,--force", flags->force, "Overwrite output files that exist");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
