// igx batch: explains every input of a data set through the explanation service, one record per
// input appended to a JSON-lines file that a rerun resumes, spread over the ranks of an MPI
// launch or over shards (--shard I/N, then --merge). Parses, calls the library, reports.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "cli_common.h"
#include "commands.h"
#include "igx/batch.h"
#include "igx/explainer.h"
#include "igx/file_io.h"
#include "igx/runtime.h"
#include "work_runner.h"

namespace igx_cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr const char* kSummarySchema = "igx.batch-summary/1";

struct BatchFlags {
  std::string model;
  std::string data;
  std::string out;
  std::string entry = "forward";
  int64_t chunk_size = 8;
  std::string shard;
  bool merge = false;
  std::vector<std::string> shard_files;
  bool retry_failed = false;
  int threads = 0;
  std::string device = "cpu";
  std::string summary;
  bool force = false;
  RequestFlags request;
  CLI::App* command = nullptr;
};

bool given(const BatchFlags& flags, const std::string& flag) { return flags.command->count(flag) > 0; }

// results.jsonl -> results.summary.json
std::string summary_path_of(const std::string& output) {
  const fs::path path(output);
  return (path.parent_path() / (path.stem().string() + ".summary.json")).string();
}

// The summary is igx's file, rewritten after every run of its results; any other file there is
// the user's and is not replaced unasked.
void check_summary_writable(const std::string& path, bool force) {
  if (force || !fs::exists(path)) return;
  bool ours = false;
  try {
    ours = json::parse(igx::read_file_bytes(path)).value("schema", "") == kSummarySchema;
  } catch (const std::exception&) {
  }
  if (!ours) {
    throw igx::UsageError("summary file '" + path + "' exists and is not igx batch's; name another with --summary, or pass "
                          "--force to replace it");
  }
}

std::optional<bool> certified_of(const json& record) {
  if (!record.contains("examples")) return std::nullopt;
  const json& example = record["examples"][0];
  if (!example.contains("certified")) return std::nullopt;
  return example["certified"].get<bool>();
}

std::string number(const json& value, const char* format = "%.3g") {
  if (!value.is_number()) return "-";
  char text[32];
  std::snprintf(text, sizeof text, format, value.get<double>());
  return text;
}

// The summary of the log's records, written beside it and told on the terminal.
json report(igx::RecordLog& log, const std::string& summary_path, json run) {
  igx::BatchSummary statistics;
  log.for_each_record([&](const json& record) { statistics.add(record); });
  json summary = statistics.to_json();
  summary["schema"] = kSummarySchema;
  summary["results"] = log.path();
  summary["inputs"] = log.header().value("items", 0);
  if (log.header().contains("shard")) {
    summary["shard"] = log.header()["shard"];
    summary.erase("inputs");
  }
  summary["model"] = log.header()["run"]["model"];
  summary["data"] = log.header()["run"]["data"];
  summary["options"] = log.header()["run"]["options"];
  summary["this_run"] = std::move(run);
  igx::write_file_bytes(summary_path, summary.dump(2) + "\n");

  std::cout << "igx batch: " << statistics.records() << " records in " << log.path() << " ("
            << summary["explained"].get<size_t>() << " explained, " << statistics.failed() << " failed)";
  if (statistics.certifiable() > 0) {
    std::cout << "; certified " << statistics.certified() << "/" << statistics.certifiable() << " ("
              << number(summary["certified_fraction"].get<double>() * 100, "%.1f") << "%)";
  }
  std::cout << "\n";
  const json& steps = summary["steps"];
  const json& seconds = summary["seconds"];
  std::cout << "  steps per input: mean " << number(steps["mean"]) << ", median " << number(steps["median"])
            << ", p99 " << number(steps["p99"]) << ", max " << number(steps["max"]) << "\n";
  std::cout << "  seconds per input: mean " << number(seconds["mean"]) << ", median " << number(seconds["median"])
            << ", p99 " << number(seconds["p99"]) << "\n";
  const json& this_run = summary["this_run"];
  if (this_run.contains("computed")) {
    std::cout << "  this run: " << this_run["computed"].get<size_t>() << " inputs in "
              << number(this_run["seconds"], "%.1f") << " s (" << number(this_run["inputs_per_second"])
              << "/s) on " << this_run["ranks"].get<int>() << (this_run["ranks"].get<int>() == 1 ? " process" : " ranks");
    if (this_run["ranks"].get<int>() > 1) {
      std::string split;
      for (const json& count : this_run["per_rank"]) split += (split.empty() ? "" : " + ") + count.dump();
      std::cout << " (" << split << ")";
    }
    std::cout << ", " << this_run["threads_per_rank"].get<int>() << " thread(s) each";
    if (this_run.value("resumed", 0) > 0) std::cout << "; " << this_run["resumed"].get<size_t>() << " were already done";
    if (this_run.value("repaired_bytes", 0) > 0) {
      std::cout << "; cut off a torn last line of " << this_run["repaired_bytes"].get<size_t>() << " bytes";
    }
    std::cout << "\n";
  }
  std::cout << "wrote " << summary_path << "\n";
  if (statistics.failed() > 0) {
    throw igx::Error(std::to_string(statistics.failed()) + " of " + std::to_string(statistics.records()) +
                     " inputs failed (first: " + summary["failed_ids"][0].get<std::string>() +
                     "); their records hold the errors. --retry-failed explains them again (a transient failure, such as running out "
                     "of memory); changed data is another run (--force starts it over)");
  }
  return summary;
}

void run_merge(const BatchFlags& flags) {
  for (const char* flag : {"--model", "--data", "--shard", "--chunk-size", "--entry", "--threads", "--device",
                           "--retry-failed"}) {
    if (given(flags, flag)) throw igx::UsageError(std::string(flag) + " does not apply to --merge, which joins shard files");
  }
  for (const igx::ExplainOptionInfo& info : igx::explain_option_table()) {
    if (flags.request.given(info.name)) {
      throw igx::UsageError("--" + info.name + " does not apply to --merge: the shards' logs record their options");
    }
  }
  if (flags.out.empty()) throw igx::UsageError("--merge needs --out FILE: the joined results");
  const std::vector<std::string> files = flags.shard_files.empty() ? find_shard_files(flags.out) : flags.shard_files;
  const std::string summary_path = flags.summary.empty() ? summary_path_of(flags.out) : flags.summary;
  check_summary_writable(summary_path, flags.force);
  const std::unique_ptr<igx::RecordLog> log = merge_shards(files, flags.out, flags.force);
  std::cout << "merged " << files.size() << " shards into " << flags.out << "\n";
  if (log->header().value("command", "") != "batch") {
    std::cout << "these are the records of igx " << log->header().value("command", "?")
              << "; run that command again without --shard to finish it from them\n";
    return;
  }
  report(*log, summary_path, {{"merged_shards", files}});
}

void run(const BatchFlags& flags) {
  if (flags.merge) return run_merge(flags);
  if (!flags.shard_files.empty()) {
    throw igx::UsageError("unexpected argument '" + flags.shard_files[0] + "'; shard files are given with --merge");
  }
  if (flags.model.empty() || flags.data.empty() || flags.out.empty()) {
    throw igx::UsageError("igx batch needs --model MODEL, --data FILE|FOLDER and --out FILE (or --merge)");
  }
  WorkRunner runner;
  const Shard shard = flags.shard.empty() ? Shard{} : Shard::parse(flags.shard);
  const int threads = igx::set_num_threads(runner.threads_for(flags.threads));
  const auto explainer =
      igx::Explainer::load(flags.model, igx::LoadOptions().entry(flags.entry).device(igx::parse_device(flags.device)));
  const igx::BatchData data = igx::read_batch_data(flags.data, explainer->modality());

  igx::ExplainOptions options;
  flags.request.apply(options);
  if (options.target && options.target->find(',') != std::string::npos) {
    throw igx::UsageError("--target " + *options.target + " names a class per example of one request; igx batch explains "
                          "a data set: give pred or one class K for every input");
  }
  // Options that do not apply fail here, before any record is written.
  igx::ExplainRequest probe = data.request(0, 1);
  probe.options = options;
  explainer->prepare(probe);

  WorkPlan plan;
  plan.command = "batch";
  plan.run = {{"model", {{"name", explainer->name()}, {"fingerprint", igx::model_fingerprint(flags.model)}}},
              {"data", {{"format", data.format}, {"inputs", data.size()}, {"fingerprint", data.fingerprint}}},
              {"options", igx::to_json(options)}};
  if (explainer->modality() == igx::Modality::Tensor) plan.run["model"]["entry"] = flags.entry;
  plan.about = {{"model", flags.model}, {"data", fs::absolute(flags.data).lexically_normal().string()},
                {"written_by", "igx 0.1.0"}};
  plan.ids = data.ids;
  plan.chunk_size = static_cast<size_t>(flags.chunk_size);
  plan.shard = shard;
  plan.output = flags.out;
  plan.restart = flags.force;
  plan.retry_failed = flags.retry_failed;
  plan.label = "igx batch";
  plan.certified_of = certified_of;
  const std::string output = shard.output_of(flags.out);
  const std::string summary_path = flags.summary.empty() ? summary_path_of(output) : flags.summary;
  if (runner.coordinator()) check_summary_writable(summary_path, flags.force);

  WorkOutcome outcome = runner.run(plan, [&](size_t begin, size_t count) {
    return igx::explain_records(*explainer, data, options, begin, count);
  });
  if (!outcome.coordinator) return;
  report(*outcome.log, summary_path,
         {{"computed", outcome.computed},
          {"resumed", outcome.resumed},
          {"seconds", outcome.seconds},
          {"inputs_per_second", outcome.seconds > 0 ? json(static_cast<double>(outcome.computed) / outcome.seconds)
                                                    : json()},
          {"ranks", runner.ranks()},
          {"per_rank", outcome.per_rank},
          {"threads_per_rank", threads},
          {"chunk_size", flags.chunk_size},
          {"repaired_bytes", outcome.repaired_bytes}});
}

}  // namespace

std::function<void()> add_batch(CLI::App& app) {
  auto flags = std::make_shared<BatchFlags>();
  CLI::App* command = app.add_subcommand(
      "batch",
      "Explain every input of a data set: one record per input (the explanation JSON plus its id) appended\n"
      "to a JSON-lines file. Rerunning the same command resumes a stopped run; under mpirun the ranks\n"
      "share the work (docs/batch.md).\n"
      "  igx batch --model spam-transformer --data test.jsonl --out results.jsonl\n"
      "  mpirun -np 4 igx batch --model mnist-cnn --data digits/ --out results.jsonl --threads 1\n"
      "  igx batch ... --shard 2/8      then      igx batch --merge --out results.jsonl");
  flags->command = command;
  command->add_option("-m,--model", flags->model, "Bundle name or folder, or a TorchScript .pt file (tensor inputs)")
      ->type_name("MODEL");
  command->add_option("--data", flags->data,
                      "Inputs: .jsonl ({\"id\", \"text\"|\"image\"|\"input\"} per line), a .npy stack [N, ...], or a "
                      "folder of pictures")
      ->type_name("FILE|DIR");
  command->add_option("-o,--out", flags->out, "Results: JSON lines, a header then one record per input (resumed if it exists)")
      ->type_name("FILE");
  command->add_option("--entry", flags->entry, "TorchScript models: the exported method to explain")
      ->capture_default_str()->type_name("NAME");
  command->add_option("--chunk-size", flags->chunk_size,
                      "Inputs explained together in one request: the unit a rank is given and the results are "
                      "computed in (recorded: a resumed run keeps it)")
      ->capture_default_str()->type_name("N")->check(integer_in(1));
  command->add_option("--shard", flags->shard,
                      "Compute only part I of N (chunks c with c mod N = I) into OUT's .shard-I-of-N file, for "
                      "schedulers without MPI; join the parts with --merge")
      ->type_name("I/N");
  command->add_flag("--merge", flags->merge,
                    "Join the shard files (given, or found next to --out) into --out and summarise them");
  command->add_option("shards", flags->shard_files, "With --merge: the shard files (default: OUT's .shard-*-of-N files)")
      ->type_name("SHARD");
  command->add_flag("--retry-failed", flags->retry_failed, "Explain again the inputs whose record holds an error");
  RequestFlags& request = flags->request;
  for (const igx::ExplainOptionInfo& info : igx::explain_option_table()) {
    const std::string short_name = info.name == "baseline" ? "-b" : info.name == "target" ? "-t"
                                   : info.name == "steps"  ? "-n" : "";
    request.add(command, info.name, short_name);
  }
  command->add_option("--threads", flags->threads,
                      "CPU threads per process; 0 = all cores, shared among the MPI ranks on one host")
      ->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--summary", flags->summary, "Summary JSON (default: OUT without .jsonl, plus .summary.json)")
      ->type_name("FILE");
  command->add_flag("-f,--force", flags->force,
                    "Start over when --out holds another run's records (they are lost), replace a summary file");
  return [flags] { run(*flags); };
}

}  // namespace igx_cli
