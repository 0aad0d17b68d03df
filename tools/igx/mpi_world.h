#pragma once
// The processes of one run when an MPI launcher (mpirun, srun) started igx several times: their
// ranks and the messages between them. Without MPI in the build (-DIGX_MPI=OFF), or when igx was
// started alone, the world is this one process.

#include <optional>
#include <string>

namespace igx_cli::mpi {

/// Whether this igx was built with MPI (the CMake option IGX_MPI).
bool built_with_mpi();

/// Whether an MPI launcher started this process (its environment says so: Open MPI, MPICH, PMIx
/// or Slurm's PMI variables).
bool launched();

/// After an error that ends this process: stops every rank of the MPI launch it joined
/// (MPI_Abort), since the others would wait for it forever; returns when it joined none.
void abort_ranks(int code);

/// A message from another rank.
struct Message {
  int source = 0;
  int tag = 0;
  std::string bytes;
};

/// The MPI world, joined on construction (MPI_Init_thread, only the main thread calls MPI) and
/// left on destruction (MPI_Finalize; not when an exception unwinds past it: MPI_Finalize waits
/// for every rank, so the error is reported and abort_ranks stops them). Waiting never spins on a core: it polls and sleeps, since
/// the cores belong to the ranks' computation.
class World {
 public:
  World();
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_size() const { return local_size_; }  ///< ranks on this host (this one included)
  const std::string& host() const { return host_; }

  /// Sends `bytes` with `tag` to rank `destination`.
  void send(int destination, int tag, const std::string& bytes);
  /// A message that has arrived, if any; never waits.
  std::optional<Message> poll();
  /// The next message (from any rank), waiting for it.
  Message wait();

 private:
  int rank_ = 0;
  int size_ = 1;
  int local_size_ = 1;
  std::string host_;
  bool joined_ = false;
};

}  // namespace igx_cli::mpi
