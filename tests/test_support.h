#pragma once
// Helpers every test file uses.

#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "igx/error.h"

namespace igx_test {

/// The message of the igx::Error that `action` throws, or "" (and a test failure) if none.
inline std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const igx::Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "expected an igx::Error";
  return "";
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace igx_test
