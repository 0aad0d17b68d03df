#pragma once
// One macro for the body of a fuzz harness, so that the same file builds two ways:
//  - with libFuzzer (tests/fuzz/CMakeLists.txt, clang, ASan + UBSan): the harness is the
//    program's LLVMFuzzerTestOneInput;
//  - into the test suite (IGX_FUZZ_REPLAY): the harness registers itself by name, and
//    FuzzCorpus.* runs it on every file of its committed corpus, so the seeds and every input
//    that once crashed stay tested in every build.
// A harness returns 0; it aborts (igx_fuzz_check) when a property it checks does not hold.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

#ifdef IGX_FUZZ_REPLAY
#include <map>
#include <string>

// The source tree, for harnesses that read a shipped file (tests/test_paths.h provides it).
#define IGX_FUZZ_SOURCE_DIR IGX_SOURCE_DIR

namespace igx_fuzz {
using Harness = int (*)(const uint8_t* data, size_t size);
inline std::map<std::string, Harness>& harnesses() {
  static std::map<std::string, Harness> registry;
  return registry;
}
struct Registration {
  Registration(const char* name, Harness harness) { harnesses()[name] = harness; }
};
}  // namespace igx_fuzz

#define IGX_FUZZ_TARGET(name)                                                         \
  static int igx_fuzz_##name(const uint8_t* data, size_t size);                      \
  static const igx_fuzz::Registration igx_fuzz_registration_##name(#name, igx_fuzz_##name); \
  static int igx_fuzz_##name(const uint8_t* data, size_t size)
#else
#define IGX_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#endif

namespace igx_fuzz {
/// A property a harness checks does not hold. Under libFuzzer the run stops (the input is kept
/// as a crash); in the test suite the replay test fails with the message.
[[noreturn]] inline void property_failed(const char* file, int line, const char* condition) {
#ifdef IGX_FUZZ_REPLAY
  throw std::logic_error(std::string(file) + ":" + std::to_string(line) + ": property failed: " + condition);
#else
  std::fprintf(stderr, "igx fuzz: property failed at %s:%d: %s\n", file, line, condition);
  std::abort();
#endif
}
}  // namespace igx_fuzz

#define igx_fuzz_check(condition) \
  ((condition) ? (void)0 : igx_fuzz::property_failed(__FILE__, __LINE__, #condition))
