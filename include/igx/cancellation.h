#pragma once
// Stopping a computation that nobody waits for any more: a server gives up on a request at its
// deadline, or its client leaves. The check sits where the time is spent, before every model
// call of the Integrator, so every method stops within one batch of its first.
//
// Like LibTorch's torch::NoGradGuard, the setting belongs to the thread that computes: a guard
// installs a check for the code it encloses on that thread.
//
//   igx::CancellationGuard guard([&] { return clock::now() > deadline; });
//   explainer->explain(request);   // throws igx::Cancelled once the deadline has passed

#include <functional>

#include "igx/error.h"

namespace igx {

/// A computation stopped because its requester no longer wants it.
class Cancelled : public Error {
 public:
  using Error::Error;
};

/// While alive, every model call the Integrator makes on this thread first asks `stop`; when it
/// answers true, the call throws Cancelled instead. Guards nest: any enclosing guard may stop.
class CancellationGuard {
 public:
  explicit CancellationGuard(std::function<bool()> stop);
  ~CancellationGuard();
  CancellationGuard(const CancellationGuard&) = delete;
  CancellationGuard& operator=(const CancellationGuard&) = delete;

 private:
  friend void throw_if_cancelled();
  std::function<bool()> stop_;
  const CancellationGuard* enclosing_;
};

/// Throws Cancelled when a guard of this thread says stop; does nothing without a guard.
void throw_if_cancelled();

}  // namespace igx
