#pragma once
// `igx serve` as a child process of a test: started on a free port (--port 0, the port read from
// its first line), stopped (SIGKILL) when the object goes away, so that no test leaves a server
// running. Tests talk to it with cpp-httplib's client.
#include <gtest/gtest.h>
#include <httplib.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <regex>
#include <string>
#include <vector>

namespace igx_test {

class ServeProcess {
 public:
  /// Runs `igx serve --port 0 ARGS...`; fails the test if it prints no port within two minutes.
  explicit ServeProcess(const std::vector<std::string>& args) {
    // Everything the child needs is allocated before fork (the test process has threads).
    std::vector<std::string> all = {IGX_CLI_PATH, "serve", "--port", "0", "--threads", "1"};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : all) argv.push_back(arg.data());
    argv.push_back(nullptr);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string line;
    const auto until = std::chrono::steady_clock::now() + std::chrono::minutes(2);
    while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < until) {
      pollfd ready = {out[0], POLLIN, 0};
      if (poll(&ready, 1, 1000) <= 0) continue;
      char buffer[256];
      const ssize_t got = read(out[0], buffer, sizeof buffer);
      if (got <= 0) break;
      line.append(buffer, static_cast<size_t>(got));
    }
    stdout_ = out[0];
    std::smatch match;
    if (std::regex_search(line, match, std::regex(R"(listening on http://[^:]+:(\d+))"))) port_ = std::stoi(match[1]);
    if (port_ == 0) ADD_FAILURE() << "igx serve did not start: '" << line << "'";
  }
  ~ServeProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdout_ >= 0) close(stdout_);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  int port() const { return port_; }
  bool started() const { return port_ != 0; }
  std::unique_ptr<httplib::Client> client() const {
    auto client = std::make_unique<httplib::Client>("127.0.0.1", port_);
    client->set_read_timeout(300);
    return client;
  }
  /// Sends SIGTERM and waits for the exit; returns the exit status (-1 if killed by a signal).
  int terminate() {
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  int stdout_ = -1;
  bool exited_ = false;
};

}  // namespace igx_test
