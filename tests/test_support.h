#pragma once
// Helpers every test file uses.

#include <gtest/gtest.h>

#include <sys/wait.h>

#include <cstdio>
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

#ifdef IGX_CLI_PATH
struct CommandResult {
  int exit_code;
  std::string output;  // stdout and stderr together
};

/// Runs the built igx binary with `arguments` (a shell command line) and collects its output.
inline CommandResult run_igx(const std::string& arguments) {
  const std::string command = std::string(IGX_CLI_PATH) + " " + arguments + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot run " << command;
    return {-1, ""};
  }
  std::string output;
  char buffer[4096];
  while (size_t read = fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, read);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}
#endif

}  // namespace igx_test
