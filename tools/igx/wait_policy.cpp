// The CLI's OpenMP threads wait passively (OMP_WAIT_POLICY=PASSIVE) unless the user chose how
// they wait (OMP_WAIT_POLICY or GOMP_SPINCOUNT set) or asked for --threads 1 (no workers).
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
// told. (Until session 6 the CLI re-executed itself with the variable set: LibTorch's ~300
// libraries loaded twice, ~0.1-0.16 s a start.) tests/test_runtime.cpp
// (CliThreadsWaitPassivelyUnlessTheUserChose) reads libgomp's own display of its settings.
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace {

bool wait_passively = false;

bool asks_for_one_thread(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads=1") == 0) return true;
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc && std::strcmp(argv[i + 1], "1") == 0) return true;
  }
  return false;
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
void choose_wait_policy(int argc, char** argv, char** environment) {
  wait_passively = argv != nullptr && find_variable(environment, "OMP_WAIT_POLICY") == nullptr &&
                   find_variable(environment, "GOMP_SPINCOUNT") == nullptr && !asks_for_one_thread(argc, argv);
}

__attribute__((section(".preinit_array"), used)) void (*const igx_choose_wait_policy)(int, char**, char**) =
    choose_wait_policy;

// The executable's initialisers run after every library's, before main.
__attribute__((constructor)) void set_wait_policy() {
  if (wait_passively) setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
}

}  // namespace

extern "C" char* getenv(const char* name) noexcept {
  static char passive[] = "PASSIVE";
  char* value = find_variable(environ, name);
  if (value == nullptr && wait_passively && std::strcmp(name, "OMP_WAIT_POLICY") == 0) return passive;
  return value;
}
