// The CLI's OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE) on a busy machine, unless
// the user chose how they wait.
//
// By default libgomp's idle workers spin for about 300 000 iterations after every parallel
// region. Where the cores are busy with other processes, a spinning worker uses up its time
// slice and is descheduled, and the next parallel region waits for it: on a loaded 2-vCPU
// machine the default thread count ran 10-60x slower than --threads 1 (docs/benchmarks.md).
// Passive workers sleep at once and, woken, are scheduled promptly. libgomp reads the variable
// only in its own initialiser, which runs before main and before anything igx can call, and
// setenv before that is undone when the C library initialises. So the executable re-executes
// itself, once, from its pre-initialisers (.preinit_array: they run after the libraries are
// loaded but before any of their initialisers, so LibTorch's start-up is not paid twice), with
// the user's environment plus OMP_WAIT_POLICY=PASSIVE.
//
// Loading the libraries again costs ~0.1 s of CPU, so a one-off command re-executes only when
// another process is running (1-minute load average >= 0.5): on an idle machine spinning costs
// nothing. igx serve and igx batch run long, through changing loads: they always do. Nothing
// happens when the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT, asked for --threads 1, or the
// re-execution fails. The wait policy changes no result, only how idle threads wait.
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

bool has_variable(char** environment, const char* name) {
  const size_t length = std::strlen(name);
  for (char** entry = environment; *entry != nullptr; ++entry) {
    if (std::strncmp(*entry, name, length) == 0 && (*entry)[length] == '=') return true;
  }
  return false;
}

// One thread has no workers to wait: then the re-execution is not worth its cost.
bool asks_for_one_thread(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads=1") == 0) return true;
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "1") == 0) return true;
  }
  return false;
}

bool runs_long(int argc, char** argv) {
  return argc > 1 && (std::strcmp(argv[1], "serve") == 0 || std::strcmp(argv[1], "batch") == 0);
}

// The 1-minute load average from /proc/loadavg ("0.52 0.58 0.59 ..."), read with system calls
// only (the C library is not initialised yet); unreadable counts as busy.
bool machine_busy() {
  const int file = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
  if (file < 0) return true;
  char text[32] = {};
  const ssize_t length = read(file, text, sizeof text - 1);
  close(file);
  if (length <= 0) return true;
  // >= 0.5 unless the integer part is 0 and the first decimal below 5.
  return !(text[0] == '0' && text[1] == '.' && text[2] >= '0' && text[2] < '5');
}

void wait_passively(int argc, char** argv, char** environment) {
  if (argv == nullptr || environment == nullptr || has_variable(environment, "OMP_WAIT_POLICY") ||
      has_variable(environment, "GOMP_SPINCOUNT") || asks_for_one_thread(argc, argv) ||
      !(runs_long(argc, argv) || machine_busy())) {
    return;
  }
  size_t count = 0;
  while (environment[count] != nullptr) ++count;
  char** extended = static_cast<char**>(std::malloc((count + 2) * sizeof(char*)));
  if (extended == nullptr) return;
  std::memcpy(extended, environment, count * sizeof(char*));
  static char passive[] = "OMP_WAIT_POLICY=PASSIVE";
  extended[count] = passive;
  extended[count + 1] = nullptr;
  execve("/proc/self/exe", argv, extended);
  std::free(extended);  // only reached when execve failed: go on with libgomp's default
}

}  // namespace

// The executable's pre-initialisers get (argc, argv, envp) from the dynamic loader.
__attribute__((section(".preinit_array"), used)) static void (*const igx_wait_passively)(int, char**, char**) =
    wait_passively;
