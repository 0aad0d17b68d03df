#pragma once
#include <stdexcept>

namespace igx {

/// Every error igx reports: a message naming the bad value and what was expected.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace igx
