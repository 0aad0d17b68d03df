// How the CLI's threads start: its OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE) unless
// the user chose how they wait (OMP_WAIT_POLICY or GOMP_SPINCOUNT set) or asked for --threads 1
// (no workers); and the thread pools start at the count the command line asks for.
//
// By default libgomp's idle workers spin for about 300 000 iterations after every parallel
// region. Where the cores are busy with other processes, a spinning worker uses up its time
// slice and is descheduled, and the next parallel region waits for it: on a loaded 2-vCPU
// machine the default thread count ran 10-60x slower than --threads 1. Passive workers sleep at
// once and, woken, are scheduled promptly; on an idle machine passive waiting measured equal or
// better (docs/benchmarks.md). The wait policy changes no result, only how idle threads wait.
//
// libgomp reads the variable only in its initialiser, which the dynamic loader runs before main
// and before the initialisers of most of LibTorch's other libraries; a setenv made earlier, from
// the executable's pre-initialisers, is undone when the C library initialises, and no library
// of ours can be ordered before libgomp (the loader initialises the executable's own
// dependencies after the deeper ones that bring libgomp in). So the executable answers libgomp's
// question itself: it defines getenv, which the loader binds every library's getenv to (the
// executable's definitions come first), and which reads the environment as the C library's does
// but gives "PASSIVE" for an unset OMP_WAIT_POLICY when passive waiting was chosen. The choice is
// made in a pre-initialiser, from argv and the environment as the process received them. Then,
// before main, the variable is set for real, so the process's environment says what libgomp was
// told.
//
// The same getenv gives an unset OMP_NUM_THREADS the count of --threads (0 or none: the cores;
// more than the cores without --force: the cores, as igx::set_num_threads caps it), so libgomp,
// OpenBLAS and LibTorch start at that count, and igx::set_num_threads finds it in force and
// leaves LibTorch alone. Otherwise at::set_num_threads rebuilds caffe2's pthreadpool, whose new
// workers spin about a million iterations each: ~50 ms of CPU in a short default `igx explain`,
// more than 5 % of the run on a busy machine. A count guessed wrong (igx batch under mpirun
// divides the cores among the ranks) costs only that rebuild, as before. (Until session 6 the
// CLI re-executed itself with the variable set: LibTorch's ~300 libraries loaded twice, ~0.1-0.16 s
// a start.) tests/test_runtime.cpp (CliThreadsWaitPassivelyUnlessTheUserChose) reads libgomp's own
// display of its settings.
#include <sched.h>

#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

bool wait_passively = false;
char thread_count[16] = {};  // OMP_NUM_THREADS's answer; empty: none

// A count of digits only, below a million; -1 otherwise.
int parse_count(const char* text) {
  int value = 0;
  for (const char* digit = text; *digit != '\0'; ++digit) {
    if (*digit < '0' || *digit > '9' || digit - text >= 6) return -1;
    value = value * 10 + (*digit - '0');
  }
  return text[0] == '\0' ? -1 : value;
}

// The value of the last --threads on the command line: 0 when none, -1 when it is not a count.
int requested_threads(int argc, char** argv) {
  int requested = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      requested = parse_count(argv[i] + 10);
    } else if (std::strcmp(argv[i], "--threads") == 0) {
      requested = i + 1 < argc ? parse_count(argv[i + 1]) : -1;
    }
  }
  return requested;
}

bool has_flag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) return true;
  }
  return false;
}

// igx::set_num_threads's count for a request: 0 or more than the cores (without --force) is
// the cores this process may use.
int threads_in_force(int requested, bool force) {
  cpu_set_t cores;
  const int available = sched_getaffinity(0, sizeof cores, &cores) == 0 ? CPU_COUNT(&cores) : 0;
  if (available <= 0) return requested > 0 ? requested : -1;
  return requested == 0 || (requested > available && !force) ? available : requested;
}

// What the C library's getenv does: the value of the first NAME=value entry.
char* find_variable(char** environment, const char* name) {
  if (environment == nullptr || name[0] == '\0') return nullptr;
  const size_t length = std::strlen(name);
  for (char** entry = environment; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return *entry + length + 1;
  }
  return nullptr;
}

// Runs before every library's initialiser, with what the process received.
void choose_thread_start(int argc, char** argv, char** environment) {
  if (argv == nullptr) return;
  const int requested = requested_threads(argc, argv);
  wait_passively = find_variable(environment, "OMP_WAIT_POLICY") == nullptr &&
                   find_variable(environment, "GOMP_SPINCOUNT") == nullptr && requested != 1;
  const int threads = requested < 0 ? -1 : threads_in_force(requested, has_flag(argc, argv, "--force"));
  if (threads > 0 && find_variable(environment, "OMP_NUM_THREADS") == nullptr) {
    char digits[16];
    int length = 0;
    for (int rest = threads; rest > 0; rest /= 10) digits[length++] = static_cast<char>('0' + rest % 10);
    for (int i = 0; i < length; ++i) thread_count[i] = digits[length - 1 - i];
  }
}

__attribute__((section(".preinit_array"), used)) void (*const igx_choose_thread_start)(int, char**, char**) =
    choose_thread_start;

// The executable's initialisers run after every library's, before main.
__attribute__((constructor)) void set_thread_start() {
  if (wait_passively) setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  if (thread_count[0] != '\0') setenv("OMP_NUM_THREADS", thread_count, /*overwrite=*/0);
}

}  // namespace

extern "C" char* getenv(const char* name) noexcept {
  static char passive[] = "PASSIVE";
  char* value = find_variable(environ, name);
  if (value != nullptr) return value;
  if (wait_passively && std::strcmp(name, "OMP_WAIT_POLICY") == 0) return passive;
  if (thread_count[0] != '\0' && std::strcmp(name, "OMP_NUM_THREADS") == 0) return thread_count;
  return nullptr;
}
