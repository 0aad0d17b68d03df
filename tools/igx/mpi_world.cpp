#include "mpi_world.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <thread>

#include "igx/error.h"

#ifdef IGX_WITH_MPI
#include <mpi.h>
#endif

namespace igx_cli::mpi {
namespace {

std::string this_host() {
  char name[256] = {};
  ::gethostname(name, sizeof name - 1);
  return name;
}

}  // namespace

bool built_with_mpi() {
#ifdef IGX_WITH_MPI
  return true;
#else
  return false;
#endif
}

bool launched() {
  for (const char* variable : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK", "MPI_LOCALNRANKS"}) {
    if (std::getenv(variable) != nullptr) return true;
  }
  return false;
}

#ifdef IGX_WITH_MPI

World::World() : host_(this_host()) {
  if (!launched()) return;
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    joined_ = true;
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local;
  MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
}

World::~World() {
  if (joined_ && (std::uncaught_exceptions() == 0 || size_ == 1)) MPI_Finalize();
}

void abort_ranks(int code) {
  int initialised = 0, finalised = 0, size = 1;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  if (!initialised || finalised) return;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, code);
}

void World::send(int destination, int tag, const std::string& bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) {
    throw igx::Error("a message of " + std::to_string(bytes.size()) + " bytes is more than MPI sends at once; use a smaller --chunk-size");
  }
  MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_CHAR, destination, tag, MPI_COMM_WORLD);
}

std::optional<Message> World::poll() {
  int waiting = 0;
  MPI_Status status;
  MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &waiting, &status);
  if (!waiting) return std::nullopt;
  int count = 0;
  MPI_Get_count(&status, MPI_CHAR, &count);
  Message message{status.MPI_SOURCE, status.MPI_TAG, std::string(static_cast<size_t>(count), '\0')};
  MPI_Recv(message.bytes.data(), count, MPI_CHAR, status.MPI_SOURCE, status.MPI_TAG, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  return message;
}

#else

World::World() : host_(this_host()) {}
World::~World() = default;

void abort_ranks(int) {}

void World::send(int, int, const std::string&) {
  throw igx::Error("this igx was built without MPI (-DIGX_MPI=OFF); it runs as one process");
}

std::optional<Message> World::poll() { return std::nullopt; }

#endif

Message World::wait() {
  // A short sleep between polls: a reply comes within a millisecond, and a rank that waits for
  // the others at the end leaves its core to them instead of spinning in MPI.
  auto pause = std::chrono::microseconds(20);
  while (true) {
    if (std::optional<Message> message = poll()) return *std::move(message);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(2000));
  }
}

}  // namespace igx_cli::mpi
