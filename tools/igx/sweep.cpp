// igx sweep: the step-count study (seed 001) on a model's test split. For each instance, IG with
// every rule at every step count, and the error-controlled strategies at every tolerance; writes
// CSV rows, summary.json, SVG plots and index.html. Parses, calls the library, writes files.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "igx/batch.h"
#include "igx/datasets.h"
#include "igx/explainer.h"
#include "igx/file_io.h"
#include "igx/heatmap.h"
#include "igx/runtime.h"
#include "igx/tensor_checks.h"
#include "sweep_report.h"
#include "work_runner.h"

namespace igx_cli {
namespace {

namespace fs = std::filesystem;
using sweep::InstanceInfo;

struct SweepFlags {
  std::string model;
  std::string data;
  int64_t count = 100;
  std::string pick = "spread";
  std::vector<int64_t> steps = {16, 32, 64, 100, 300, 1000, 2000, 5000};
  std::vector<std::string> rules = {"riemann_right", "riemann_trapezoid", "gausslegendre"};
  std::vector<double> tolerances = {0.05, 0.01};
  std::vector<std::string> strategies = {"doubling", "adaptive"};
  int64_t max_steps = 4096;
  double attribution_tolerance = igx::IgOptions().attribution_tolerance();
  int64_t initial_steps = 16;
  int64_t initial_intervals = 4;
  int64_t batch_size = 256;
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "sweep-out";
  std::string replot;
  std::string shard;
  bool force = false;
  int64_t show = 3;
  RequestFlags request;  // --output, --baseline, --target: the explain options that change the study
};

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

/// The instances of a model's data, each prepared alone through the explanation service (so
/// that a text is never padded to another's length): input and baseline [1, ...], the extra
/// inputs, the prediction, IG options with the predicted class as target.
class Workload {
 public:
  Workload(const SweepFlags& flags, torch::Device device)
      : explainer_(igx::Explainer::load(flags.model, igx::LoadOptions().device(device))),
        batch_size_(flags.batch_size),
        request_flags_(flags.request) {
    const std::string& name = explainer_->name();
    const bool default_split = name == "spam-transformer" || name == "spam-bert" || name == "mnist-cnn";
    if (flags.data.empty() && !default_split) {
      throw igx::UsageError("model '" + explainer_->name() +
                            "' has no default test split; pass --data FILE (.jsonl texts or .npy images)");
    }
    if (explainer_->modality() == igx::Modality::Text) {
      texts_ = flags.data.empty() ? igx::read_spam_split(igx::find_data_directory()) : igx::read_text_jsonl(flags.data);
      return;
    }
    if (explainer_->modality() != igx::Modality::Image) {
      throw igx::UsageError("model '" + flags.model + "' is not a bundle; igx sweep takes text and image bundles");
    }
    images_ = flags.data.empty() ? igx::read_mnist_split(igx::find_data_directory()) : igx::read_image_npy(flags.data);
    const std::vector<int64_t> expected = explainer_->image_classifier().input_shape();
    const auto shape = images_.images.sizes().slice(1);
    if (std::vector<int64_t>(shape.begin(), shape.end()) != expected) {
      throw igx::Error("images of " + (flags.data.empty() ? std::string("the test split") : "'" + flags.data + "'") +
                       " have shape " + igx::shape_string(images_.images) + "; model " + explainer_->name() +
                       " expects [N, " + std::to_string(expected[0]) + ", " + std::to_string(expected[1]) + ", " +
                       std::to_string(expected[2]) + "]");
    }
  }

  int64_t size() const {
    return explainer_->modality() == igx::Modality::Text ? static_cast<int64_t>(texts_.size()) : images_.size();
  }

  /// Instance `index` and what describes it in the study's rows.
  igx::PreparedRequest prepare(int64_t index, InstanceInfo& info) {
    igx::ExplainRequest request;
    request_flags_.apply(request.options);
    request.options.batch_size = batch_size_;
    const bool text = explainer_->modality() == igx::Modality::Text;
    if (text) {
      request.texts = {texts_.texts[index]};
    } else {
      request.images = images_.images[index].unsqueeze(0);
    }
    igx::PreparedRequest prepared = explainer_->prepare(request);
    info.index = index;
    info.id = text ? texts_.ids[index] : std::to_string(index);
    info.label = text ? texts_.labels[index] : images_.labels[index];
    info.prediction = prepared.predictions[0];
    info.target = prepared.ig.target().resolve(1)[0].item<int64_t>();
    info.tokens = text ? static_cast<int64_t>(prepared.text.encodings[0].ids.size()) : -1;
    if (!prepared.baseline_entropy.empty()) info.baseline_entropy = prepared.baseline_entropy[0];
    return prepared;
  }

  bool texts() const { return explainer_->modality() == igx::Modality::Text; }

  /// The baseline as the record names it: --baseline, or the modality's default.
  std::string baseline_name() const {
    const std::string given = request_flags_.value("baseline");
    if (given == "max-entropy") return "max-entropy:data";
    return !given.empty() && given != "auto" ? given : texts() ? "pad" : "black";
  }

 private:
  std::shared_ptr<igx::Explainer> explainer_;
  int64_t batch_size_;
  const RequestFlags& request_flags_;
  igx::TextDataset texts_;
  igx::ImageDataset images_;
};

/// One instance's attributions per feature: texts [1, T, D] summed over the embedding, images
/// [1, C, H, W] over the channels (an [1, H, W] picture as it is), flattened.
std::vector<double> per_feature(const torch::Tensor& values, bool text) {
  const torch::Tensor features = values[0].to(torch::kCPU, torch::kDouble);
  const torch::Tensor summed = (text ? features.sum(1) : features.dim() == 3 ? features.sum(0) : features).contiguous();
  return {summed.data_ptr<double>(), summed.data_ptr<double>() + summed.numel()};
}

/// Which rows of the data: the first `count`, or `count` spread evenly over the file (the test
/// splits are sorted by class, so the first rows are all of one class).
std::vector<int64_t> pick_indices(int64_t available, int64_t count, const std::string& pick) {
  count = std::min(count, available);
  std::vector<int64_t> indices;
  for (int64_t k = 0; k < count; ++k) indices.push_back(pick == "first" ? k : k * available / count);
  return indices;
}

void check_flags(SweepFlags& flags) {
  if (flags.model.empty()) throw igx::UsageError("--model is required: spam-transformer, mnist-cnn or a bundle folder");
  if (flags.request.value("target").find(',') != std::string::npos) {
    throw igx::UsageError("--target " + flags.request.value("target") + " names a class per example; igx sweep "
                          "explains one class for every instance: pred or K");
  }
  if (flags.pick != "first" && flags.pick != "spread") throw bad_value("--pick", "first or spread", flags.pick);
  for (const std::string& rule : flags.rules) igx::parse_rule(rule);
  if (flags.steps.empty()) throw igx::UsageError("--steps is empty; expected e.g. 16,64,300");
  if (flags.tolerances.empty()) throw igx::UsageError("--tolerances is empty; expected e.g. 0.05,0.01");
  if (flags.strategies.size() == 1 && flags.strategies[0] == "none") flags.strategies.clear();
  for (const std::string& strategy : flags.strategies) {
    if (strategy != "doubling" && strategy != "adaptive" && strategy != "adaptive-completeness") {
      throw bad_value("--strategies", "doubling, adaptive, adaptive-completeness, or none", strategy);
    }
  }
  std::sort(flags.steps.begin(), flags.steps.end());
  flags.steps.erase(std::unique(flags.steps.begin(), flags.steps.end()), flags.steps.end());
  std::sort(flags.tolerances.begin(), flags.tolerances.end(), std::greater<>());
}

// summary.json, the plots, the --show figures and index.html; the terminal summary. Every text is
// made and every path registered before the first file is written, so a report that cannot be
// made leaves the folder as it was.
void write_report(OutputFiles& files, const sweep::SweepResults& results) {
  const nlohmann::json summary = sweep::summarize(results);
  std::vector<std::pair<std::string, std::string>> outputs = sweep::plots(results, summary);
  std::vector<std::string> plot_files;
  for (const auto& [name, svg] : outputs) plot_files.push_back(name);
  const std::vector<sweep::WhereFigure> figures = sweep::where_figures(results, summary);
  outputs.insert(outputs.begin(), {"summary.json", summary.dump(2) + "\n"});
  for (const sweep::WhereFigure& figure : figures) {
    if (!figure.html.empty()) outputs.push_back({figure.file, figure.html});
  }
  outputs.push_back({"index.html", sweep::html_report(summary, plot_files, figures)});
  std::vector<std::string> paths;
  for (const auto& [name, text] : outputs) paths.push_back(files.default_output(name));
  std::vector<std::string> heatmap_paths;
  for (const sweep::WhereFigure& figure : figures) {
    if (figure.html.empty()) heatmap_paths.push_back(files.default_output(figure.file));
  }
  for (size_t k = 0; k < outputs.size(); ++k) write_text_file(paths[k], outputs[k].second);
  size_t heatmap = 0;
  for (const sweep::WhereFigure& figure : figures) {
    if (!figure.html.empty()) continue;
    igx::NdArray picture{figure.shape, figure.picture}, values{figure.shape, figure.values};
    igx::HeatmapOptions options;
    options.title = figure.title;
    igx::write_attribution_heatmap(heatmap_paths[heatmap++], picture, values, options);
  }
  std::cout << sweep::terminal_summary(summary);
  std::cout << "wrote summary.json, " << plot_files.size() << " plots and " << paths.back() << "\n";
}

// Instance k of the study (row `index` of the data): every rule at every step count and every
// strategy at every tolerance, as its record in the sweep's log: the lines it adds to sweep.csv
// and adaptive.csv (every digit kept; --replot reads the same lines), its line of features.jsonl
// (where the error sits: the attributions per token or pixel of every rule at the largest n and
// of an accurate run) and its wall time.
nlohmann::json study_instance(Workload& workload, const SweepFlags& flags, const sweep::SweepSetup& setup, size_t k,
                              int64_t index) {
  const auto instance_start = std::chrono::steady_clock::now();
  sweep::SweepResults results;  // this instance's rows; the CSV rows name it by k
  results.setup = setup;
  results.instances.resize(k + 1);
  const igx::PreparedRequest prepared = workload.prepare(index, results.instances[k]);
  sweep::FeatureRow features;
  features.instance = k;
  if (workload.texts()) {
    features.tokens = prepared.text.encodings[0].tokens;
    features.shape = {static_cast<int64_t>(features.tokens.size())};
  } else {
    const torch::Tensor grey = prepared.inputs[0].to(torch::kCPU, torch::kDouble).mean(0);
    features.shape = grey.sizes().vec();
    features.picture = per_feature(grey.unsqueeze(0), false);
  }
  igx::Model& model = *prepared.model;
  // The request's options (baseline, predicted class, batch size); each run sets its integration.
  const igx::IgOptions& common = prepared.ig;
  nlohmann::json record = {{"id", std::to_string(index)}, {"item", k}, {"sweep_csv", nlohmann::json::array()},
                           {"adaptive_csv", nlohmann::json::array()}};
  for (const std::string& rule : flags.rules) {
    for (int64_t n : flags.steps) {
      const auto call_start = std::chrono::steady_clock::now();
      const igx::Attribution attribution = igx::integrated_gradients(
          model, prepared.inputs,
          igx::IgOptions(common).strategy(igx::Strategy::Fixed).method(igx::parse_rule(rule)).n_steps(n),
          prepared.extras);
      const sweep::FixedResult row{k, rule, n, attribution.examples[0], attribution.counts, seconds_since(call_start)};
      record["sweep_csv"].push_back(sweep::fixed_csv_row(results, row));
      if (n == flags.steps.back()) features.fixed[rule] = per_feature(attribution.values, workload.texts());
    }
  }
  for (double tolerance : flags.tolerances) {
    for (const std::string& strategy : flags.strategies) {
      igx::IgOptions options = igx::IgOptions(common)
                                   .strategy(strategy == "doubling" ? igx::Strategy::Doubling
                                                                    : igx::Strategy::IntervalAdaptive)
                                   .certify(strategy == "adaptive-completeness" ? igx::Certify::Completeness
                                                                                : igx::Certify::PanelSum)
                                   .tolerance(tolerance)
                                   .max_steps(flags.max_steps)
                                   .attribution_tolerance(flags.attribution_tolerance)
                                   .initial_intervals(flags.initial_intervals);
      if (strategy == "doubling") options.method(igx::Rule::RiemannRight).initial_steps(flags.initial_steps);
      const auto call_start = std::chrono::steady_clock::now();
      const igx::Attribution attribution = igx::integrated_gradients(model, prepared.inputs, options, prepared.extras);
      const sweep::StrategyResult row{k, strategy, strategy == "doubling" ? "riemann_right" : "simpson", tolerance,
                                      attribution.examples[0], attribution.counts, seconds_since(call_start)};
      record["adaptive_csv"].push_back(sweep::strategy_csv_row(results, row));
      if (strategy == "adaptive" && tolerance == flags.tolerances.back()) {
        features.reference = per_feature(attribution.values, workload.texts());
        features.reference_label = "adaptive " + sweep::tolerance_key(tolerance);
      }
    }
  }
  if (features.reference.empty()) {
    // No certified run among the strategies: one for the comparison, at the tightest tolerance.
    const igx::Attribution accurate = igx::integrated_gradients(
        model, prepared.inputs,
        igx::IgOptions(common).strategy(igx::Strategy::IntervalAdaptive).tolerance(flags.tolerances.back())
            .max_steps(flags.max_steps).attribution_tolerance(flags.attribution_tolerance)
            .initial_intervals(flags.initial_intervals),
        prepared.extras);
    features.reference = per_feature(accurate.values, workload.texts());
    features.reference_label = "adaptive " + sweep::tolerance_key(flags.tolerances.back());
  }
  record["features"] = sweep::feature_json_line(features);
  record["seconds"] = seconds_since(instance_start);
  return record;
}

void run(SweepFlags flags) {
  if (!flags.replot.empty()) {
    // The reports are made from the CSV files before any is written (write_report), so a folder
    // that is not a sweep's is refused as it was.
    OutputFiles files(flags.replot, flags.force, "--replot");
    write_report(files, sweep::read_results(flags.replot));
    return;
  }
  check_flags(flags);
  // The instances are spread over the ranks of an MPI launch; only rank 0 writes files.
  WorkRunner runner;
  const int threads = igx::set_num_threads(runner.threads_for(flags.threads));
  const torch::Device device = igx::parse_device(flags.device);
  OutputFiles files(flags.out_dir, flags.force);
  std::string log_path, fixed_path, strategy_path, features_path;
  if (runner.coordinator()) {
    // The log is resumed by a rerun of the same study and refused for another (RecordLog); the
    // files made from it are checked here, before any work.
    log_path = files.record_log("records.jsonl");
    fixed_path = files.resolve("", "sweep.csv");
    strategy_path = files.resolve("", "adaptive.csv");
    features_path = files.resolve("", "features.jsonl");
    for (const char* name : {"summary.json", "index.html"}) files.default_output(name);  // the plots' follow the results
  }

  Workload workload(flags, device);
  sweep::SweepSetup setup;
  setup.model = flags.model;
  setup.data = flags.data.empty() ? "default test split" : flags.data;
  setup.pick = flags.pick;
  setup.baseline = workload.baseline_name();
  setup.output = flags.request.value("output").empty() ? "logit" : flags.request.value("output");
  setup.target = flags.request.value("target").empty() ? "pred" : flags.request.value("target");
  setup.steps = flags.steps;
  setup.rules = flags.rules;
  setup.tolerances = flags.tolerances;
  setup.strategies = flags.strategies;
  setup.max_steps = flags.max_steps;
  setup.attribution_tolerance = flags.attribution_tolerance;
  setup.initial_steps = flags.initial_steps;
  setup.batch_size = flags.batch_size;
  setup.threads = threads;
  setup.device = flags.device;
  setup.initial_intervals = flags.initial_intervals;
  setup.show = flags.show;
  const std::vector<int64_t> indices = pick_indices(workload.size(), flags.count, flags.pick);

  // Records go to the log as instances finish: a stopped sweep is finished by running it again.
  WorkPlan plan;
  plan.command = "sweep";
  plan.run = {{"model", {{"name", flags.model}, {"fingerprint", igx::model_fingerprint(flags.model)}}},
              {"data", {{"name", setup.data},
                        {"fingerprint", igx::content_fingerprint(flags.data.empty() ? igx::find_data_directory()
                                                                                    : flags.data)}}},
              {"rows", indices},
              {"steps", flags.steps},
              {"rules", flags.rules},
              {"tolerances", flags.tolerances},
              {"strategies", flags.strategies},
              {"max_steps", flags.max_steps},
              {"attribution_tolerance", setup.attribution_tolerance},
              {"initial_steps", flags.initial_steps},
              {"initial_intervals", flags.initial_intervals},
              {"batch_size", flags.batch_size},
              {"output", setup.output},
              {"baseline", setup.baseline},
              {"target", setup.target},
              {"device", flags.device}};
  plan.about = {{"written_by", "igx 0.1.0"}};
  for (int64_t index : indices) plan.ids.push_back(std::to_string(index));
  plan.chunk_size = 1;
  plan.output = log_path;
  plan.restart = flags.force;
  if (!flags.shard.empty()) plan.shard = Shard::parse(flags.shard);
  plan.label = "igx sweep";
  const WorkOutcome outcome = runner.run(plan, [&](size_t begin, size_t count) {
    std::vector<nlohmann::json> records;
    for (size_t k = begin; k < begin + count; ++k) {
      records.push_back(study_instance(workload, flags, setup, k, indices[k]));
    }
    return records;
  });
  if (!outcome.coordinator) return;
  if (!plan.shard.whole()) {
    std::cout << "igx sweep: part " << flags.shard << " is in " << outcome.output
              << ". When every part is done: igx batch --merge --out " << log_path
              << ", then this command without --shard writes the study\n";
    return;
  }

  // The CSV files from the log, then the report from the CSV files, as --replot makes it.
  std::string fixed_csv = sweep::fixed_csv_header(), strategy_csv = sweep::strategy_csv_header(), features;
  double seconds = 0;
  outcome.log->for_each_record([&](const nlohmann::json& record) {
    for (const nlohmann::json& row : record["sweep_csv"]) fixed_csv += row.get<std::string>();
    for (const nlohmann::json& row : record["adaptive_csv"]) strategy_csv += row.get<std::string>();
    features += record["features"].get<std::string>();
    seconds += record["seconds"].get<double>();
  });
  write_text_file(fixed_path, fixed_csv);
  write_text_file(strategy_path, strategy_csv);
  write_text_file(features_path, features);
  std::cout << "wrote " << fixed_path << " and " << strategy_path << "\n";
  sweep::SweepResults results = sweep::read_results(flags.out_dir);
  results.setup = setup;
  results.seconds = seconds;
  write_report(files, results);
}

}  // namespace

std::function<void()> add_sweep(CLI::App& app) {
  auto flags = std::make_shared<SweepFlags>();
  CLI::App* command = app.add_subcommand(
      "sweep",
      "Step-count study: relative completeness error of IG per rule and step count, on a model's test\n"
      "split, and the cost of the error-controlled strategies (doubling, interval-adaptive).\n"
      "  igx sweep --model mnist-cnn --n 100\n"
      "  igx sweep --model spam-transformer --n 20 --steps 16,64,300,1000 --rules riemann_right,gausslegendre\n"
      "  mpirun -np 4 igx sweep --model mnist-cnn --n 1000 --threads 1      (the instances shared by 4 ranks)\n"
      "A stopped sweep is finished by running the same command again (OUT-DIR/records.jsonl, docs/batch.md).");
  command->add_option("-m,--model", flags->model, "Bundle: spam-transformer, mnist-cnn or a folder (required)")
      ->type_name("MODEL");
  command->add_option("--data", flags->data,
                      "Instances: .jsonl texts ({\"text\", \"id\", \"label\"} per line) or .npy images [N,H,W] / "
                      "[N,C,H,W] (uint8 or floats in [0,1]). Default: the model's test split in .cache/data")
      ->type_name("FILE");
  command->add_option("--n", flags->count, "Instances to study")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("--pick", flags->pick,
                      "Which instances: first (the first N rows) or spread (N rows evenly spaced; the test "
                      "splits are sorted by class)")
      ->capture_default_str()->type_name("first|spread");
  command->add_option("--steps", flags->steps, "Step counts n (at least 2) of the fixed-step runs")
      ->delimiter(',')->default_str("16,32,64,100,300,1000,2000,5000")->type_name("N1,N2,...")->check(integer_in(2));
  command->add_option("--rules", flags->rules, "Quadrature rules of the fixed-step runs")
      ->delimiter(',')->default_str("riemann_right,riemann_trapezoid,gausslegendre")->type_name("R1,R2,...");
  command->add_option("--tolerances", flags->tolerances,
                      "Relative errors: ideal steps are the first n reaching each; the strategies target each")
      ->delimiter(',')->default_str("0.05,0.01")->type_name("T1,T2,...")->check(number_in(0, 1));
  command->add_option("--strategies", flags->strategies,
                      "Error-controlled runs: doubling (riemann_right from --initial-steps), adaptive "
                      "(interval-adaptive Simpson certifying the sum of the panels' |errors|), "
                      "adaptive-completeness (the same, certifying |delta| like doubling), or none")
      ->delimiter(',')->default_str("doubling,adaptive")->type_name("S1,S2");
  command->add_option("--max-steps", flags->max_steps, "Budget of gradient evaluations per instance of the strategies")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("--attribution-tolerance", flags->attribution_tolerance,
                      "Strategies: certify the attribution vector's relative L1 error within TOL besides the sum "
                      "(0: the sum only, as in the seed's study)")
      ->capture_default_str()->type_name("TOL")->check(number_in(0, 1, false, true));
  command->add_option("--initial-steps", flags->initial_steps, "Doubling: the first n")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("--initial-intervals", flags->initial_intervals,
                      "Interval-adaptive: the Simpson panels of the first round (2 k + 1 gradient evaluations)")
      ->capture_default_str()->type_name("K")->check(integer_in(1));
  flags->request.add(command, "output", "",
                     "Explained output: logit, prob (softmax; the seed's study) or logprob");
  flags->request.add(command, "baseline", "",
                     "Baseline x'. Text: pad|mask|unk|zero; image: black|blur[:SIGMA]|noise[:SEED]; both: "
                     "max-entropy[:data|:optimize] (the seed's: the input whose output is closest to uniform, from "
                     "the test split, or by ascent on the output entropy)",
                     "");
  flags->request.add(command, "target", "", "Explained class: pred (the predicted one) or K");
  command->add_option("--show", flags->show,
                      "Where the error sits: the instances with the largest relative error at the largest n shown "
                      "per rule (accurate, fixed and difference side by side)")
      ->capture_default_str()->type_name("K")->check(integer_in(0));
  command->add_option("--batch-size", flags->batch_size, "Most rows per forward+backward; 0 = no bound")
      ->capture_default_str()->type_name("B")->check(integer_in(0));
  command->add_option("--threads", flags->threads, "CPU threads per process; 0 = all cores, shared among the MPI ranks on one host")
      ->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Folder for sweep.csv, adaptive.csv, summary.json, plots, index.html")
      ->capture_default_str()->type_name("DIR");
  command->add_option("--shard", flags->shard,
                      "Study only part I of N of the instances (k mod N = I) into OUT-DIR/records.shard-I-of-N.jsonl, "
                      "for schedulers without MPI; join the parts with igx batch --merge --out OUT-DIR/records.jsonl")
      ->type_name("I/N");
  command->add_option("--replot", flags->replot,
                      "Rewrite summary.json, the plots and index.html of an earlier sweep's folder from its CSV "
                      "files, without running the model (a stopped sweep: run the same command again to finish it)")
      ->type_name("DIR");
  command->add_flag("-f,--force", flags->force,
                    "Write into an --out-dir that igx did not make; start over when its records.jsonl is another "
                    "sweep's (its instances are then lost)");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
