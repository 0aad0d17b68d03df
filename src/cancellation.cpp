#include "igx/cancellation.h"

namespace igx {
namespace {

thread_local const CancellationGuard* innermost_guard = nullptr;

}  // namespace

CancellationGuard::CancellationGuard(std::function<bool()> stop) : stop_(std::move(stop)), enclosing_(innermost_guard) {
  innermost_guard = this;
}

CancellationGuard::~CancellationGuard() { innermost_guard = enclosing_; }

void throw_if_cancelled() {
  for (const CancellationGuard* guard = innermost_guard; guard != nullptr; guard = guard->enclosing_) {
    if (guard->stop_ && guard->stop_()) {
      throw Cancelled("the computation was cancelled before it finished (its deadline passed or its requester left)");
    }
  }
}

}  // namespace igx
