#pragma once
#include <stdexcept>

namespace igx {

/// Every error igx reports: a message naming the bad value and what was expected.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// An error in the request itself (an option's value, options that contradict each other, an
/// output that exists): nothing was run. The command line exits with kExitUsage for these and
/// kExitFailure for every other Error.
class UsageError : public Error {
 public:
  using Error::Error;
};

constexpr int kExitFailure = 1;  ///< the run failed: unreadable input, model error, non-finite output ...
constexpr int kExitUsage = 2;    ///< the command line is wrong: nothing was run

}  // namespace igx
