#include "igx/memory.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "igx/error.h"
#include "igx/file_io.h"

namespace igx {
namespace {

// The first number in a small /proc or /sys file; none when it is absent or says "max".
bool read_number(const std::string& path, uint64_t& value) {
  std::ifstream file(path);
  std::string text;
  if (!(file >> text) || text == "max") return false;
  try {
    value = std::stoull(text);
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace

uint64_t available_memory_bytes() {
  uint64_t available = UINT64_MAX;
  std::ifstream meminfo("/proc/meminfo");
  std::string line;
  while (std::getline(meminfo, line)) {
    if (line.rfind("MemAvailable:", 0) == 0) {
      std::istringstream fields(line.substr(13));
      uint64_t kibibytes = 0;
      if (fields >> kibibytes) available = kibibytes * 1024;
      break;
    }
  }
  uint64_t limit = 0, usage = 0;  // cgroup v2, then v1
  if ((read_number("/sys/fs/cgroup/memory.max", limit) && read_number("/sys/fs/cgroup/memory.current", usage)) ||
      (read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes", limit) &&
       read_number("/sys/fs/cgroup/memory/memory.usage_in_bytes", usage))) {
    available = std::min(available, limit > usage ? limit - usage : 0);
  }
  return available;
}

void require_memory(double bytes, const std::string& what) {
  // Reading /proc/meminfo and the cgroup files takes ~0.1 ms, a visible share of an IG call on a
  // small model; a request this small is no threat to any machine.
  constexpr double kUncheckedBytes = 16 << 20;
  if (bytes <= kUncheckedBytes) return;
  const uint64_t available = available_memory_bytes();
  if (bytes > static_cast<double>(available)) {
    throw UsageError(what + " needs about " + format_bytes(bytes) + " of memory, more than the " +
                     format_bytes(static_cast<double>(available)) + " available; ask for less");
  }
}

}  // namespace igx
