#pragma once
// Memory a request needs, checked before it is allocated: a request too large for the machine is
// refused with the estimate, instead of growing until the system kills the process or ending in
// the allocator's own words.

#include <cstdint>
#include <string>

namespace igx {

/// Bytes this process can still allocate: the kernel's MemAvailable, or the cgroup's memory
/// limit minus its usage when that is lower (containers).
uint64_t available_memory_bytes();

/// Throws igx::Error "WHAT needs about 15 GiB of memory, more than the 12 GiB available; ask for
/// less" when `bytes` exceeds what is available. `what` names the request in the words of its
/// option ("1000000000 integration steps per example"). Requests of at most 16 MiB pass unchecked.
void require_memory(double bytes, const std::string& what);

}  // namespace igx
