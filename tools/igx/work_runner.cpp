#include "work_runner.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <regex>
#include <set>
#include <thread>
#include <unordered_set>

#include "igx/error.h"

namespace igx_cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Messages between ranks: a worker announces itself with its run's header (kReady), returns each
// chunk's records (kResult) or its failure (kFailed); rank 0 answers with a chunk number, "stop"
// or "abort" (kAssign).
enum Tag : int { kReady = 1, kResult = 2, kFailed = 3, kAssign = 4 };

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

json header_of(const WorkPlan& plan) {
  json header = {{"command", plan.command},
                 {"items", plan.ids.size()},
                 {"chunk_size", plan.chunk_size},
                 {"run", plan.run},
                 {"about", plan.about}};
  if (!plan.shard.whole()) header["shard"] = {{"index", plan.shard.index}, {"count", plan.shard.count}};
  return header;
}

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e7) return "?";
  const long total = static_cast<long>(seconds + 0.5);
  char text[32];
  if (total >= 3600) {
    std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(text, sizeof text, "%ld:%02ld", total / 60, total % 60);
  }
  return text;
}

// One progress line on stdout: redrawn in place on a terminal; elsewhere (a pipe, a file, mpirun's
// forwarding) a plain line every 10 % of the work or every 10 seconds.
class Progress {
 public:
  Progress(std::string label, size_t total, size_t done)
      : label_(std::move(label)), total_(total), done_(done), start_(std::chrono::steady_clock::now()),
        terminal_(::isatty(STDOUT_FILENO) != 0) {}

  void count_certified(std::optional<bool> certified) {
    if (!certified) return;
    ++certifiable_;
    if (*certified) ++certified_;
  }

  void add(std::optional<bool> certified) {
    ++done_;
    ++computed_;
    count_certified(certified);
    show(false);
  }

  void show(bool final) {
    const double elapsed = seconds_since(start_);
    const size_t decile = total_ == 0 ? 10 : done_ * 10 / total_;
    if (!final) {
      if (terminal_ ? elapsed - last_shown_ < 0.2 : decile == last_decile_ && elapsed - last_shown_ < 10) return;
      if (!terminal_ && done_ >= total_) return;  // the final line follows
    }
    last_shown_ = elapsed;
    last_decile_ = decile;
    const double rate = elapsed > 0 ? static_cast<double>(computed_) / elapsed : 0;
    char line[256];
    std::snprintf(line, sizeof line, "%s: %zu/%zu (%.0f%%), %.3g/s, %s %s", label_.c_str(), done_, total_,
                  total_ == 0 ? 100.0 : 100.0 * static_cast<double>(done_) / static_cast<double>(total_), rate,
                  final ? "took" : "ETA",
                  duration_text(final ? elapsed
                                      : rate > 0 ? static_cast<double>(total_ - done_) / rate : -1.0)
                      .c_str());
    std::string text = line;
    if (certifiable_ > 0) {
      std::snprintf(line, sizeof line, ", certified %zu/%zu (%.1f%%)", certified_, certifiable_,
                    100.0 * static_cast<double>(certified_) / static_cast<double>(certifiable_));
      text += line;
    }
    if (terminal_) {
      std::cout << "\r" << text << "\x1b[K" << (final ? "\n" : "") << std::flush;
    } else {
      std::cout << text << "\n" << std::flush;
    }
  }

 private:
  std::string label_;
  size_t total_, done_, computed_ = 0, certified_ = 0, certifiable_ = 0;
  std::chrono::steady_clock::time_point start_;
  bool terminal_;
  double last_shown_ = -1;
  size_t last_decile_ = SIZE_MAX;
};

// The log of a run and what it still lacks: opens (or resumes) it, lists the pending chunks,
// and appends records as they come, each id once.
class Ledger {
 public:
  Ledger(const WorkPlan& plan, const std::string& output) : plan_(plan) {
    log_ = igx::RecordLog::open(output, header_of(plan), plan.restart);
    const size_t chunks = (plan.ids.size() + plan.chunk_size - 1) / plan.chunk_size;
    std::unordered_set<std::string> failed;
    resumed_ = log_->size();
    if (plan.retry_failed || plan.certified_of) {
      log_->for_each_record([&](const json& record) {
        if (plan.retry_failed && record.contains("error")) failed.insert(record["id"].get<std::string>());
        if (plan.certified_of) resumed_certified_.push_back(plan.certified_of(record));
      });
    }
    for (size_t chunk = 0; chunk < chunks; ++chunk) {
      if (static_cast<int64_t>(chunk % static_cast<size_t>(plan.shard.count)) != plan.shard.index) continue;
      const size_t begin = chunk * plan.chunk_size, end = std::min(plan.ids.size(), begin + plan.chunk_size);
      items_ += end - begin;
      bool missing = false;
      for (size_t item = begin; item < end; ++item) {
        if (!log_->contains(plan.ids[item])) missing = true;
        if (failed.count(plan.ids[item])) {
          missing = true;
          retry_.insert(plan.ids[item]);
        }
      }
      if (missing) pending_.push_back(chunk);
    }
    const size_t done = log_->size() - retry_.size();
    progress_ = std::make_unique<Progress>(plan.label, items_, std::min(done, items_));
    for (const std::optional<bool>& certified : resumed_certified_) progress_->count_certified(certified);
  }

  std::deque<size_t>& pending() { return pending_; }
  size_t items() const { return items_; }
  size_t resumed() const { return resumed_; }
  igx::RecordLog& log() { return *log_; }
  std::unique_ptr<igx::RecordLog> release() { return std::move(log_); }
  Progress& progress() { return *progress_; }

  std::pair<size_t, size_t> range(size_t chunk) const {
    const size_t begin = chunk * plan_.chunk_size;
    return {begin, std::min(plan_.ids.size(), begin + plan_.chunk_size) - begin};
  }

  // Appends the records of `chunk` the log lacks; returns how many.
  size_t accept(size_t chunk, const std::vector<json>& records) {
    const auto [begin, count] = range(chunk);
    if (records.size() != count) {
      throw igx::Error("chunk " + std::to_string(chunk) + " came back with " + std::to_string(records.size()) +
                       " records for " + std::to_string(count) + " items");
    }
    size_t added = 0;
    for (size_t k = 0; k < count; ++k) {
      const json& record = records[k];
      const std::string& id = plan_.ids[begin + k];
      if (record.value("id", "") != id || record.value("item", -1) != static_cast<int64_t>(begin + k)) {
        throw igx::Error("the record of item " + std::to_string(begin + k) + " names id " + dump(record.value("id", json())) +
                         "; expected '" + id + "'");
      }
      if (log_->contains(id) && retry_.erase(id) == 0) continue;
      log_->append(record);
      ++added;
      progress_->add(plan_.certified_of ? plan_.certified_of(record) : std::nullopt);
    }
    return added;
  }

  bool complete() const {
    if (!retry_.empty()) return false;
    for (size_t chunk = 0; chunk * plan_.chunk_size < plan_.ids.size(); ++chunk) {
      if (static_cast<int64_t>(chunk % static_cast<size_t>(plan_.shard.count)) != plan_.shard.index) continue;
      const auto [begin, count] = range(chunk);
      for (size_t item = begin; item < begin + count; ++item) {
        if (!log_->contains(plan_.ids[item])) return false;
      }
    }
    return true;
  }

 private:
  const WorkPlan& plan_;
  std::unique_ptr<igx::RecordLog> log_;
  std::deque<size_t> pending_;
  std::unordered_set<std::string> retry_;
  std::vector<std::optional<bool>> resumed_certified_;
  size_t items_ = 0;
  size_t resumed_ = 0;
  std::unique_ptr<Progress> progress_;
};

WorkOutcome finish(Ledger& ledger, WorkOutcome outcome) {
  ledger.progress().show(true);
  outcome.complete = ledger.complete();
  outcome.items = ledger.items();
  outcome.resumed = ledger.resumed();
  outcome.repaired_bytes = ledger.log().repaired_bytes();
  ledger.log().sort_by_item();
  outcome.log = ledger.release();
  return outcome;
}

WorkOutcome run_alone(const WorkPlan& plan, const ChunkFunction& compute, const std::string& output) {
  Ledger ledger(plan, output);
  WorkOutcome outcome;
  outcome.output = output;
  const auto start = std::chrono::steady_clock::now();
  while (!ledger.pending().empty()) {
    const size_t chunk = ledger.pending().front();
    ledger.pending().pop_front();
    const auto [begin, count] = ledger.range(chunk);
    outcome.computed += ledger.accept(chunk, compute(begin, count));
  }
  outcome.seconds = seconds_since(start);
  outcome.per_rank = {outcome.computed};
  return finish(ledger, std::move(outcome));
}

// Rank 0's own computing, on a thread of its own: the main thread keeps answering the other
// ranks (only it calls MPI).
class LocalWorker {
 public:
  explicit LocalWorker(const ChunkFunction& compute) : compute_(compute), thread_([this] { loop(); }) {}
  ~LocalWorker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }

  bool idle() {
    std::lock_guard<std::mutex> lock(mutex_);
    return !assigned_ && !result_;
  }
  void assign(size_t chunk, size_t begin, size_t count) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      assigned_ = Chunk{chunk, begin, count};
    }
    wake_.notify_all();
  }
  struct Result {
    size_t chunk = 0;
    std::vector<json> records;
    std::string error;
  };
  std::optional<Result> take_result() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::optional<Result> result = std::move(result_);
    result_.reset();
    return result;
  }

 private:
  struct Chunk {
    size_t chunk, begin, count;
  };
  void loop() {
    while (true) {
      Chunk chunk;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || assigned_.has_value(); });
        if (stop_) return;
        chunk = *assigned_;
      }
      Result result{chunk.chunk, {}, ""};
      try {
        result.records = compute_(chunk.begin, chunk.count);
      } catch (const std::exception& error) {
        result.error = error.what();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      assigned_.reset();
      result_ = std::move(result);
    }
  }

  const ChunkFunction& compute_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::optional<Chunk> assigned_;
  std::optional<Result> result_;
  bool stop_ = false;
  std::thread thread_;
};

WorkOutcome coordinate(mpi::World& world, const WorkPlan& plan, const ChunkFunction& compute,
                       const std::string& output) {
  const json header = header_of(plan);
  std::unique_ptr<Ledger> ledger;
  std::string failure;
  try {
    ledger = std::make_unique<Ledger>(plan, output);
  } catch (const std::exception& error) {
    failure = error.what();
  }
  WorkOutcome outcome;
  outcome.output = output;
  outcome.per_rank.assign(static_cast<size_t>(world.size()), 0);
  std::vector<bool> ready(static_cast<size_t>(world.size()), false), busy(ready);
  ready[0] = true;
  std::deque<size_t> no_work;
  std::deque<size_t>& pending = ledger ? ledger->pending() : no_work;
  const auto start = std::chrono::steady_clock::now();
  // Records that come back are written even after another rank failed: nothing computed is lost.
  bool log_writable = ledger != nullptr;
  const auto take = [&](int rank, size_t chunk, const std::vector<json>& records) {
    busy[static_cast<size_t>(rank)] = false;
    if (!log_writable) return;
    try {
      const size_t added = ledger->accept(chunk, records);
      outcome.per_rank[static_cast<size_t>(rank)] += added;
      outcome.computed += added;
    } catch (const std::exception& error) {
      log_writable = false;
      if (failure.empty()) failure = error.what();
    }
  };
  {
    LocalWorker local(compute);
    auto pause = std::chrono::microseconds(20);
    while (true) {
      bool progressed = false;
      if (std::optional<LocalWorker::Result> result = local.take_result()) {
        progressed = true;
        if (result->error.empty()) {
          take(0, result->chunk, result->records);
        } else {
          busy[0] = false;
          if (failure.empty()) failure = "rank 0 on " + world.host() + ": " + result->error;
        }
      }
      while (std::optional<mpi::Message> message = world.poll()) {
        progressed = true;
        const size_t source = static_cast<size_t>(message->source);
        const std::string who = "rank " + std::to_string(message->source);
        const json body = json::parse(message->bytes);
        if (message->tag == kReady) {
          ready[source] = true;
          const std::string difference = igx::header_difference(header, body.at("header"));
          if (!difference.empty() && failure.empty()) {
            failure = who + " on " + body.value("host", "?") + " runs another job than rank 0 on " + world.host() +
                      ": " + difference + " (every rank must read the same data, model and options)";
          }
        } else if (message->tag == kResult) {
          take(message->source, body.at("chunk").get<size_t>(), body.at("records").get<std::vector<json>>());
        } else if (message->tag == kFailed) {
          busy[source] = false;
          if (failure.empty()) failure = who + " on " + body.value("host", "?") + ": " + body.value("error", "?");
        }
      }
      if (failure.empty()) {
        if (local.idle() && !pending.empty() && !busy[0]) {
          const size_t chunk = pending.front();
          pending.pop_front();
          const auto [begin, count] = ledger->range(chunk);
          local.assign(chunk, begin, count);
          busy[0] = true;
          progressed = true;
        }
        for (int rank = 1; rank < world.size() && !pending.empty(); ++rank) {
          if (!ready[static_cast<size_t>(rank)] || busy[static_cast<size_t>(rank)]) continue;
          world.send(rank, kAssign, std::to_string(pending.front()));
          pending.pop_front();
          busy[static_cast<size_t>(rank)] = true;
          progressed = true;
        }
      }
      const bool all_ready = std::all_of(ready.begin(), ready.end(), [](bool r) { return r; });
      const bool none_busy = std::none_of(busy.begin(), busy.end(), [](bool b) { return b; }) && local.idle();
      if (all_ready && none_busy && (pending.empty() || !failure.empty())) break;
      if (progressed) {
        pause = std::chrono::microseconds(20);
      } else {
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(1000));
      }
    }
  }
  for (int rank = 1; rank < world.size(); ++rank) world.send(rank, kAssign, failure.empty() ? "stop" : "abort");
  outcome.seconds = seconds_since(start);
  if (!failure.empty()) {
    if (ledger) ledger->log().sync();
    throw igx::Error(failure);
  }
  return finish(*ledger, std::move(outcome));
}

WorkOutcome serve(mpi::World& world, const WorkPlan& plan, const ChunkFunction& compute) {
  world.send(0, kReady, dump({{"header", header_of(plan)}, {"host", world.host()}}));
  WorkOutcome outcome;
  outcome.coordinator = false;
  const size_t chunk_size = plan.chunk_size;
  while (true) {
    const mpi::Message message = world.wait();
    if (message.bytes == "stop" || message.bytes == "abort") {
      outcome.complete = message.bytes == "stop";
      return outcome;
    }
    const size_t chunk = std::stoull(message.bytes);
    const size_t begin = chunk * chunk_size, count = std::min(plan.ids.size(), begin + chunk_size) - begin;
    try {
      std::vector<json> records = compute(begin, count);
      outcome.computed += records.size();
      world.send(0, kResult, dump({{"chunk", chunk}, {"records", std::move(records)}}));
    } catch (const std::exception& error) {
      world.send(0, kFailed, dump({{"error", error.what()}, {"host", world.host()}}));
    }
  }
}

}  // namespace

Shard Shard::parse(const std::string& text) {
  static const std::regex form(R"((\d{1,9})/(\d{1,9}))");
  std::smatch match;
  if (std::regex_match(text, match, form)) {
    Shard shard{std::stoll(match[1]), std::stoll(match[2])};
    if (shard.count >= 1 && shard.index < shard.count) return shard;
  }
  throw igx::Error("--shard '" + text + "' is not valid; expected I/N with 0 <= I < N, e.g. 0/4 for the first of 4");
}

std::string Shard::output_of(const std::string& output) const {
  if (whole()) return output;
  const fs::path path(output);
  const std::string part = ".shard-" + std::to_string(index) + "-of-" + std::to_string(count);
  return (path.parent_path() / (path.stem().string() + part + path.extension().string())).string();
}

WorkRunner::WorkRunner() {
  if (mpi::launched() && !mpi::built_with_mpi()) {
    throw igx::Error("an MPI launcher started this igx, but it was built without MPI (-DIGX_MPI=OFF): every process "
                     "would run the whole job. Rebuild with -DIGX_MPI=ON, or split the work with --shard I/N");
  }
}

int WorkRunner::threads_for(int requested) const {
  if (requested > 0) return requested;
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return std::max(1, cores / std::max(1, world_.local_size()));
}

WorkOutcome WorkRunner::run(const WorkPlan& plan, const ChunkFunction& compute) {
  if (plan.chunk_size == 0) throw igx::Error("the chunk size must be at least 1");
  const std::string output = plan.shard.output_of(plan.output);
  if (world_.size() == 1) return run_alone(plan, compute, output);
  return coordinator() ? coordinate(world_, plan, compute, output) : serve(world_, plan, compute);
}

std::vector<std::string> find_shard_files(const std::string& output) {
  const fs::path path(output);
  const fs::path folder = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const std::regex form(std::regex_replace(path.stem().string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                        R"(\.shard-(\d+)-of-(\d+))" +
                        std::regex_replace(path.extension().string(), std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)"));
  std::vector<std::pair<int64_t, std::string>> found;
  if (!fs::is_directory(folder)) return {};
  for (const fs::directory_entry& entry : fs::directory_iterator(folder)) {
    std::smatch match;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, match, form)) {
      found.emplace_back(std::stoll(match[1]), (path.parent_path() / name).string());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> files;
  for (const auto& [index, file] : found) files.push_back(file);
  return files;
}

std::unique_ptr<igx::RecordLog> merge_shards(const std::vector<std::string>& shard_files, const std::string& output,
                                             bool restart) {
  if (shard_files.empty()) {
    throw igx::Error("no shard files to merge into '" + output + "': expected " +
                     Shard{0, 2}.output_of(output) + ", ... next to it, or their names");
  }
  std::vector<igx::RecordFile> shards;
  std::vector<bool> seen;
  json common;
  for (const std::string& file : shard_files) {
    igx::RecordFile shard = igx::read_record_file(file);
    const json& header = shard.header;
    if (!header.contains("shard")) throw igx::Error("'" + file + "' is not a shard's log (its header has no \"shard\")");
    const int64_t index = header["shard"].value("index", -1), count = header["shard"].value("count", 0);
    json run = header;
    run.erase("shard");
    if (shards.empty()) {
      common = run;
      seen.assign(static_cast<size_t>(count), false);
    } else if (const std::string difference = igx::header_difference(common, run); !difference.empty()) {
      throw igx::Error("'" + file + "' is a shard of another run than '" + shard_files[0] + "': " + difference);
    }
    if (count != static_cast<int64_t>(seen.size()) || index < 0 || index >= count) {
      throw igx::Error("'" + file + "' is shard " + std::to_string(index) + " of " + std::to_string(count) + "; '" +
                       shard_files[0] + "' is one of " + std::to_string(seen.size()));
    }
    if (seen[static_cast<size_t>(index)]) throw igx::Error("shard " + std::to_string(index) + " is given twice");
    seen[static_cast<size_t>(index)] = true;
    const size_t items = header.at("items").get<size_t>(), chunk_size = header.at("chunk_size").get<size_t>();
    size_t expected = 0;
    for (size_t chunk = static_cast<size_t>(index); chunk * chunk_size < items; chunk += static_cast<size_t>(count)) {
      expected += std::min(items, (chunk + 1) * chunk_size) - chunk * chunk_size;
    }
    if (shard.records.size() != expected) {
      throw igx::Error("'" + file + "' (shard " + std::to_string(index) + " of " + std::to_string(count) + ") holds " +
                       std::to_string(shard.records.size()) + " of its " + std::to_string(expected) +
                       " records; run that shard again to finish it");
    }
    shards.push_back(std::move(shard));
  }
  for (size_t index = 0; index < seen.size(); ++index) {
    if (!seen[index]) {
      throw igx::Error("shard " + std::to_string(index) + " of " + std::to_string(seen.size()) + " is missing (" +
                       Shard{static_cast<int64_t>(index), static_cast<int64_t>(seen.size())}.output_of(output) + ")");
    }
  }
  std::unique_ptr<igx::RecordLog> log = igx::RecordLog::open(output, common, restart);
  for (const igx::RecordFile& shard : shards) {
    for (const json& record : shard.records) {
      if (!log->contains(record["id"].get<std::string>())) log->append(record);
    }
  }
  log->sort_by_item();
  return log;
}

}  // namespace igx_cli
