// igx prune-study: the pruning study of Lundstrom et al. (ICML 2022) on an image bundle. Ranks a
// layer's units by patch -> neuron IG, by conductance and at random, zeroes the top k of each
// ranking, and records where the pruned model's input attribution goes; writes CSV, JSON, SVG
// plots and index.html. Parses, calls the library (igx/prune.h), writes files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>

#include "cli_common.h"
#include "commands.h"
#include "igx/explainer.h"
#include "igx/markup.h"
#include "igx/prune.h"
#include "igx/runtime.h"
#include "igx/svg_plot.h"
#include "igx/tensor_io.h"

namespace igx_cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct PruneStudyFlags {
  std::string model = "mnist-cnn";
  std::string image;
  std::string layer;
  std::string patch;
  int64_t patch_size = 8;
  std::string unit = "neuron";
  int64_t max_k = 16;
  uint64_t seed = 0;
  std::string rank_by = "value";
  int threads = 0;
  std::string device = "cpu";
  std::string out_dir = "igx-out/prune-study";
  bool force = false;
  RequestFlags request;  // method, steps, baseline, output, batch-size: the IG of every ranking
};

std::string format(double value, const char* pattern = "%.6g") {
  if (!std::isfinite(value)) return "";
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, pattern, value);
  return buffer;
}

json number_or_null(double value) { return std::isfinite(value) ? json(value) : json(nullptr); }

std::vector<int64_t> to_vector(const torch::Tensor& tensor) {
  const torch::Tensor values = tensor.to(torch::kCPU, torch::kLong).contiguous();
  return {values.data_ptr<int64_t>(), values.data_ptr<int64_t>() + values.numel()};
}

// The records of one ranking, k = 0 .. max_k.
std::vector<const igx::PruneRecord*> records_of(const igx::PruneStudy& study, const std::string& ranking) {
  std::vector<const igx::PruneRecord*> records;
  for (const igx::PruneRecord& record : study.records) {
    if (record.ranking == ranking) records.push_back(&record);
  }
  return records;
}

// k = 0, 1, 2, 4, 8, ... and max_k: the rows shown on the terminal and in the page's summary.
std::vector<int64_t> shown_ks(int64_t max_k) {
  std::set<int64_t> ks = {0, max_k};
  for (int64_t k = 1; k <= max_k; k *= 2) ks.insert(k);
  return {ks.begin(), ks.end()};
}

std::string csv_of(const igx::PruneStudy& study) {
  std::ostringstream csv;
  csv << "ranking,k,pruned_unit,inside,outside,inside_share,outside_share,target_logit,target_probability,predicted,"
         "output_input,output_baseline,delta\n";
  for (const igx::PruneRecord& record : study.records) {
    const size_t r = static_cast<size_t>(std::find(study.ranking_names.begin(), study.ranking_names.end(), record.ranking) -
                                         study.ranking_names.begin());
    const std::string unit = record.k == 0 ? "" : std::to_string(study.rankings[r][record.k - 1].item<int64_t>());
    csv << record.ranking << "," << record.k << "," << unit << "," << format(record.inside, "%.9g") << ","
        << format(record.outside, "%.9g") << "," << format(record.inside_share, "%.9g") << ","
        << format(record.outside_share, "%.9g") << "," << format(record.logit, "%.9g") << ","
        << format(record.probability, "%.9g") << "," << record.predicted << "," << format(record.output_input, "%.9g") << ","
        << format(record.output_baseline, "%.9g") << "," << format(record.delta, "%.9g") << "\n";
  }
  return csv.str();
}

json json_of(const igx::PruneStudy& study, const json& setup) {
  json result = setup;
  result["target"] = study.target;
  result["units"] = study.units;
  result["patch_neuron_sum"] = study.patch_neuron_sum;
  result["scores"] = {{"patch-ig", igx::array_from_tensor(study.patch_scores).values}, {"conductance", igx::array_from_tensor(study.conductance_scores).values}};
  result["rankings"] = json::object();
  for (size_t r = 0; r < study.rankings.size(); ++r) result["rankings"][study.ranking_names[r]] = to_vector(study.rankings[r]);
  result["records"] = json::array();
  for (const igx::PruneRecord& record : study.records) {
    result["records"].push_back({{"ranking", record.ranking},
                                 {"k", record.k},
                                 {"inside", record.inside},
                                 {"outside", record.outside},
                                 {"inside_share", number_or_null(record.inside_share)},
                                 {"outside_share", number_or_null(record.outside_share)},
                                 {"target_logit", record.logit},
                                 {"target_probability", record.probability},
                                 {"predicted", record.predicted},
                                 {"output_input", record.output_input},
                                 {"output_baseline", record.output_baseline},
                                 {"delta", record.delta}});
  }
  result["gradient_rows"] = study.counts.gradient_rows;
  return result;
}

// A line per ranking of `value` against k (and, when `second` is given, a dashed line of it).
std::string plot(const igx::PruneStudy& study, igx::PlotOptions options, double (*value)(const igx::PruneRecord&),
                 double (*second)(const igx::PruneRecord&), const std::string& first_name, const std::string& second_name) {
  std::vector<igx::LineSeries> lines;
  for (size_t r = 0; r < study.ranking_names.size(); ++r) {
    const std::string& name = study.ranking_names[r];
    igx::LineSeries line{name + first_name, {}, {}, igx::plot_colour(r), false, true};
    igx::LineSeries dashed{name + second_name, {}, {}, igx::plot_colour(r), true, false};
    for (const igx::PruneRecord* record : records_of(study, name)) {
      line.x.push_back(static_cast<double>(record->k));
      line.y.push_back(value(*record));
      if (second) {
        dashed.x.push_back(static_cast<double>(record->k));
        dashed.y.push_back(second(*record));
      }
    }
    lines.push_back(line);
    if (second) lines.push_back(dashed);
  }
  return igx::svg_line_plot(options, lines);
}

std::string html_of(const igx::PruneStudy& study, const json& setup, const std::vector<std::string>& plots) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>igx prune-study</title>\n<style>\n"
       << "body{font-family:DejaVu Sans,Arial,sans-serif;margin:24px;max-width:1100px;color:#222}\n"
       << "table{border-collapse:collapse;margin:8px 0 20px;font-size:13px}\n"
       << "th,td{border:1px solid #ccc;padding:3px 7px;text-align:right}th{background:#f2f2f2}\n"
       << "img{display:block;margin:10px 0;max-width:100%}p.note{color:#555;font-size:13px}\n</style></head><body>\n";
  html << "<h1>igx prune-study: " << igx::escape_markup(setup["model"].get<std::string>()) << "</h1>\n<p>Image "
       << igx::escape_markup(setup["image"].get<std::string>()) << ", layer '" << igx::escape_markup(setup["layer"].get<std::string>())
       << "', patch S = " << igx::escape_markup(setup["patch"].get<std::string>()) << " (x0,y0,x1,y1), units: "
       << igx::escape_markup(setup["unit"].get<std::string>()) << " (" << study.units << "), explained class "
       << study.target << " (" << igx::escape_markup(setup["output"].get<std::string>()) << "), "
       << igx::escape_markup(setup["baseline"].get<std::string>()) << " baseline, " << setup["steps"] << " "
       << igx::escape_markup(setup["method"].get<std::string>()) << " steps, random ranking seed " << setup["seed"]
       << ".</p>\n<p class=\"note\">The top k units of each ranking are zeroed (the layer's output multiplied by a 0/1 "
          "mask) and the pruned model is explained with the same baseline, rule and class. Inside = &Sigma;<sub>i&isin;S</sub> "
          "IG<sub>i</sub>, outside = &Sigma;<sub>i&notin;S</sub> IG<sub>i</sub>, share = &Sigma;<sub>i&isin;S</sub> "
          "|IG<sub>i</sub>| / &Sigma;<sub>i</sub> |IG<sub>i</sub>|. Patch &rarr; neuron IG of the unpruned model sums to "
       << format(study.patch_neuron_sum) << ".</p>\n<table><tr><th rowspan=\"2\">k</th>";
  for (const std::string& name : study.ranking_names) html << "<th colspan=\"5\">" << igx::escape_markup(name) << "</th>";
  html << "</tr><tr>";
  for (size_t r = 0; r < study.ranking_names.size(); ++r) html << "<th>inside</th><th>outside</th><th>share in S</th><th>logit</th><th>pred</th>";
  html << "</tr>\n";
  for (int64_t k = 0; k < static_cast<int64_t>(records_of(study, study.ranking_names[0]).size()); ++k) {
    html << "<tr><td>" << k << "</td>";
    for (const std::string& name : study.ranking_names) {
      const igx::PruneRecord& record = *records_of(study, name)[k];
      html << "<td>" << format(record.inside, "%.4f") << "</td><td>" << format(record.outside, "%.4f") << "</td><td>"
           << format(100 * record.inside_share, "%.1f%%") << "</td><td>" << format(record.logit, "%.3f") << "</td><td>"
           << record.predicted << "</td>";
    }
    html << "</tr>\n";
  }
  html << "</table>\n";
  for (const std::string& file : plots) {
    html << "<img src=\"" << igx::escape_markup(file) << "\" alt=\"" << igx::escape_markup(file) << "\">\n";
  }
  html << "<p class=\"note\">Rows: prune-study.csv (ranking &times; k); everything: prune-study.json.</p>\n</body></html>\n";
  return html.str();
}

void print_table(const igx::PruneStudy& study, int64_t max_k) {
  std::printf("  %4s", "k");
  for (const std::string& name : study.ranking_names) std::printf(" | %-31s", (name + ": inside outside logit pred").c_str());
  std::printf("\n");
  for (int64_t k : shown_ks(max_k)) {
    std::printf("  %4lld", static_cast<long long>(k));
    for (const std::string& name : study.ranking_names) {
      const igx::PruneRecord& record = *records_of(study, name)[k];
      std::printf(" | %8.4f %8.4f %8.3f %4lld", record.inside, record.outside, record.logit,
                  static_cast<long long>(record.predicted));
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

// The files the study writes, in the order they are written.
const char* const kOutputNames[] = {"inside-attribution.svg", "inside-share.svg", "prediction.svg",
                                    "prune-study.csv",        "prune-study.json", "index.html"};

void run(const PruneStudyFlags& flags) {
  if (flags.rank_by != "value" && flags.rank_by != "magnitude") {
    throw bad_value("--rank-by", "value or magnitude", flags.rank_by);
  }
  // Every output is checked before the study runs (it takes minutes): nothing is computed for
  // nothing, and nothing is replaced without --force.
  OutputFiles files(flags.out_dir, flags.force);
  std::map<std::string, std::string> output_paths;
  for (const char* name : kOutputNames) output_paths[name] = files.resolve("", name);
  apply_threads(flags.threads, flags.force);
  igx::parse_rule(flags.request.value("method"));  // the study integrates IG with a rule at fixed steps
  const auto explainer = igx::Explainer::load(flags.model, igx::LoadOptions().device(igx::parse_device(flags.device)));
  igx::ExplainRequest request;
  request.image_paths = {flags.image};
  flags.request.apply(request.options);
  const igx::PreparedRequest prepared = explainer->prepare(request);
  igx::SplitModel split = explainer->image_classifier().split(flags.layer);
  const igx::PruneUnit unit = igx::parse_prune_unit(flags.unit);

  const torch::Tensor& pixels = prepared.inputs;
  // Without --patch: the densest window of ink, which lies on the digit's stroke.
  const std::array<int64_t, 4> corners = flags.patch.empty() ? igx::densest_window(pixels[0], flags.patch_size)
                                                             : igx::parse_corners(flags.patch, "--patch");
  const torch::Tensor patch = igx::rectangle_patch(pixels.sizes().slice(1), corners[0], corners[1], corners[2], corners[3]);
  const std::string patch_text = std::to_string(corners[0]) + "," + std::to_string(corners[1]) + "," +
                                 std::to_string(corners[2]) + "," + std::to_string(corners[3]);
  const int64_t steps = prepared.ig.n_steps();
  const std::string& method = prepared.method;
  const std::string& model_name = explainer->name();

  const igx::PruneStudyOptions options = igx::PruneStudyOptions()
                                             .ig(prepared.ig)
                                             .unit(unit)
                                             .max_k(flags.max_k)
                                             .seed(flags.seed)
                                             .magnitude(flags.rank_by == "magnitude");
  const igx::PruneStudy study = igx::prune_study(split, pixels, patch, options);

  const json setup = {{"model", model_name},
                      {"image", flags.image},
                      {"layer", split.layer},
                      {"patch", patch_text},
                      {"patch_given", !flags.patch.empty()},
                      {"unit", igx::prune_unit_name(unit)},
                      {"max_k", flags.max_k},
                      {"seed", flags.seed},
                      {"rank_by", flags.rank_by},
                      {"steps", steps},
                      {"method", method},
                      {"baseline", prepared.baseline_description},
                      {"output", igx::output_kind_name(prepared.ig.output())},
                      {"target_label", explainer->label(study.target)}};
  const igx::PruneRecord& unpruned = study.records[0];
  std::cout << "prune-study at layer '" << split.layer << "' of " << model_name << ", "
            << fs::path(flags.image).filename().string() << ": class " << explainer->label(study.target)
            << " (logit " << format(unpruned.logit, "%.3f") << ", p " << format(unpruned.probability, "%.3f") << "), patch "
            << patch_text << ", " << study.units << " " << igx::prune_unit_name(unit) << "s, " << steps << " "
            << method << " steps\n";
  std::cout << "  inside the patch " << format(unpruned.inside) << " (its neurons share out "
            << format(study.patch_neuron_sum) << "), outside " << format(unpruned.outside) << "\n";
  print_table(study, flags.max_k);

  igx::PlotOptions plot_options;
  plot_options.subtitle = model_name + ", " + fs::path(flags.image).filename().string() + ", patch " + patch_text +
                          ", " + igx::prune_unit_name(unit) + "s of '" + split.layer + "', class " +
                          explainer->label(study.target) + ", " + std::to_string(steps) + " " + method + " steps";
  plot_options.x.label = "k (top " + igx::prune_unit_name(unit) + "s of the ranking zeroed)";
  plot_options.x.min = 0;
  plot_options.x.max = static_cast<double>(flags.max_k);
  // Zero on the axis, drawn: the question is how much attribution is left, and of which sign.
  plot_options.reference_lines = {{0.0, "0"}};

  std::vector<std::pair<std::string, std::string>> outputs;
  igx::PlotOptions inside_options = plot_options;
  inside_options.title = "Attribution inside (solid) and outside (dashed) the patch as units are pruned";
  inside_options.y.label = "sum of input IG";
  outputs.push_back({"inside-attribution.svg",
                     plot(study, inside_options, [](const igx::PruneRecord& r) { return r.inside; },
                          [](const igx::PruneRecord& r) { return r.outside; }, " inside", " outside")});
  igx::PlotOptions share_options = plot_options;
  share_options.title = "Share of the total |IG| inside the patch";
  share_options.y = {"sum over S of |IG_i| / sum of |IG_i|", false, true, 0.0, 1.0};
  share_options.reference_lines.clear();
  outputs.push_back({"inside-share.svg", plot(study, share_options, [](const igx::PruneRecord& r) { return r.inside_share; },
                                              nullptr, "", "")});
  igx::PlotOptions prediction_options = plot_options;
  prediction_options.title = "Logit (solid) and probability x 10 (dashed) of class " + explainer->label(study.target);
  prediction_options.y.label = "logit; probability x 10";
  outputs.push_back({"prediction.svg",
                     plot(study, prediction_options, [](const igx::PruneRecord& r) { return r.logit; },
                          [](const igx::PruneRecord& r) { return 10 * r.probability; }, " logit", " probability x 10")});
  std::vector<std::string> plot_files;
  for (const auto& output : outputs) plot_files.push_back(output.first);
  outputs.push_back({"prune-study.csv", csv_of(study)});
  outputs.push_back({"prune-study.json", json_of(study, setup).dump(2) + "\n"});
  outputs.push_back({"index.html", html_of(study, setup, plot_files)});
  for (const auto& [name, text] : outputs) write_text_file(output_paths.at(name), text);
  std::cout << "wrote " << (fs::path(flags.out_dir) / "index.html").string() << " (and prune-study.csv, .json, "
            << plot_files.size() << " SVG plots)\n";
}

}  // namespace

std::function<void()> add_prune_study(CLI::App& app) {
  auto flags = std::make_shared<PruneStudyFlags>();
  CLI::App* command = app.add_subcommand(
      "prune-study",
      "Zero the layer units that carry an input patch's attribution (ranked by patch -> neuron IG, by conductance, "
      "at random) and see where the attribution goes (image models)");
  command->add_option("--image", flags->image, "The image to explain")->required()->type_name("FILE");
  command->add_option("-m,--model", flags->model, "Image bundle name or folder")->capture_default_str()->type_name("MODEL");
  command->add_option("--layer", flags->layer, "Split point from the bundle's igx.json layers (default: its split_point)")
      ->type_name("NAME");
  command->add_option("--patch", flags->patch,
                      "Input patch S: x0,y0,x1,y1 in pixels (x1, y1 excluded); default: the --patch-size window with "
                      "the most ink")
      ->type_name("RECT");
  command->add_option("--patch-size", flags->patch_size, "Side of the default patch")
      ->capture_default_str()->type_name("PX")->check(integer_in(1));
  command->add_option("--unit", flags->unit, "What is pruned: neuron (one entry of the layer, as in the paper) or channel (all positions of a channel)")
      ->capture_default_str()->type_name("neuron|channel");
  command->add_option("--max-k", flags->max_k, "Prune k = 1 .. K units of each ranking")
      ->capture_default_str()->type_name("K")->check(integer_in(1));
  command->add_option("--seed", flags->seed, "Seed of the random ranking")->capture_default_str()->type_name("S")->check(integer_in(0));
  command->add_option("--rank-by", flags->rank_by, "Rank by the signed score (value) or by its magnitude")
      ->capture_default_str()->type_name("value|magnitude");
  RequestFlags& request = flags->request;
  request.add(command, "steps", "-n", "Fixed integration steps of every IG and ranking", "32");
  request.add(command, "method", "", "Quadrature rule (riemann_*, gausslegendre); conductance always uses k/n",
              "gausslegendre");
  request.add(command, "baseline", "-b", "black, blur[:SIGMA] or noise[:SEED]", "black");
  request.add(command, "output");
  request.add(command, "batch-size");
  command->add_option("--threads", flags->threads, "CPU threads; 0 = all cores")->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--out-dir", flags->out_dir, "Folder for the CSV, JSON, SVG plots and index.html (made by igx)")
      ->capture_default_str()->type_name("DIR");
  command->add_flag("-f,--force", flags->force, "Write into an --out-dir that igx did not make");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
