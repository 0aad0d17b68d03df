#pragma once
// Long runs over the items of a data set (igx batch's inputs, igx sweep's instances): the items
// are cut into fixed chunks, each chunk's records are computed together and appended to a record
// log (igx/record_log.h), a rerun resumes where a run stopped, and the chunks are spread over the
// processes of an MPI launch (rank 0 hands them out one at a time, so faster ranks take more) or
// over independent shards (--shard I/N, joined by igx batch --merge).

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "igx/record_log.h"
#include "mpi_world.h"

namespace igx_cli {

/// One part of a run split into N independent processes (a Slurm array, indexed jobs): chunk c
/// belongs to part c mod N.
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
  /// "I/N" with 0 <= I < N; igx::Error naming the text otherwise.
  static Shard parse(const std::string& text);
  bool whole() const { return count == 1; }
  /// The part's own output file: results.jsonl -> results.shard-2-of-8.jsonl.
  std::string output_of(const std::string& output) const;
};

/// What a run computes and where its records go.
struct WorkPlan {
  std::string command;           ///< "batch", "sweep": written in the log's header
  nlohmann::json run;            ///< what the records depend on (model, data, options): compared on resume
  nlohmann::json about;          ///< informational header fields (paths, versions): not compared
  std::vector<std::string> ids;  ///< every item's id, in data order
  size_t chunk_size = 1;         ///< items computed together; part of the run's identity
  Shard shard;
  std::string output;            ///< the record log (a shard writes Shard::output_of(output))
  bool restart = false;          ///< --force: replace a log of another run instead of refusing
  bool retry_failed = false;     ///< compute again the items whose record holds an "error"
  std::string label;             ///< progress lines start with it ("igx batch")
  /// Whether a record is certified (nullopt: the method certifies nothing); progress counts them.
  std::function<std::optional<bool>(const nlohmann::json&)> certified_of;
};

/// Computes the records of items [begin, begin + count), one per item, in order, each with the
/// item's "id" and "item".
using ChunkFunction = std::function<std::vector<nlohmann::json>(size_t begin, size_t count)>;

/// What a run did.
struct WorkOutcome {
  bool coordinator = true;        ///< this process wrote the log (the only one that reports)
  std::string output;             ///< the log's path
  bool complete = false;          ///< every item of the plan (or of its shard) has a record
  size_t items = 0;               ///< items of the plan (or of its shard)
  size_t resumed = 0;             ///< records found in the log at the start
  size_t computed = 0;            ///< records this run added
  size_t repaired_bytes = 0;      ///< a torn last line cut off at the start
  double seconds = 0;             ///< wall time of this run's computing
  std::vector<size_t> per_rank;   ///< records this run added, by rank (MPI), else {computed}
  std::unique_ptr<igx::RecordLog> log;  ///< the open, sorted log (coordinator only)
};

class WorkRunner {
 public:
  /// Joins the MPI world when an MPI launcher started igx; igx::Error when one did and igx was
  /// built without MPI (every process would run the whole job).
  WorkRunner();

  bool coordinator() const { return world_.rank() == 0; }
  int ranks() const { return world_.size(); }
  /// Threads for --threads T: T itself, or for 0 the cores shared among this host's ranks.
  int threads_for(int requested) const;

  /// Computes the records the log lacks, chunk by chunk, on every rank. Rank 0 opens (or
  /// resumes) the log, hands out chunks, appends the records in the order they come and sorts
  /// the log by item at the end; the other ranks compute what they are given. Each rank
  /// computes its chunks on its own thread pool; rank 0 computes too. Returns on every rank;
  /// igx::Error on rank 0 when the log cannot be used or a rank failed.
  WorkOutcome run(const WorkPlan& plan, const ChunkFunction& compute);

 private:
  mpi::World world_;
};

/// Joins the shard logs of one run (all N parts, each complete) into `output`, records sorted by
/// item, with the header of an unsharded run. Returns the joined log. igx::Error naming the
/// shard that is missing, incomplete or of another run. `restart`: replace an `output` of
/// another run.
std::unique_ptr<igx::RecordLog> merge_shards(const std::vector<std::string>& shard_files, const std::string& output,
                                             bool restart);

/// The shard logs of `output` next to it (results.shard-*-of-*.jsonl), sorted by part.
std::vector<std::string> find_shard_files(const std::string& output);

}  // namespace igx_cli
