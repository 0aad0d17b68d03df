// igx serve: the explanation server (serve/server.h) as a command.
#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <iostream>
#include <memory>
#include <thread>

#include "cli_common.h"
#include "commands.h"
#include "igx/error.h"
#include "igx/explainer.h"
#include "igx/runtime.h"
#include "serve/server.h"

namespace igx_cli {
namespace {

int signal_pipe[2] = {-1, -1};  // written by the signal handler, read by the drain thread

struct ServeFlags {
  std::vector<std::string> models;
  igx_serve::ServeOptions options;
  bool no_batching = false;
  int threads = 0;
  std::string device = "cpu";
  std::string entry = "forward";
};

// "name=PATH" serves PATH as `name`; a bare bundle name or path serves under its own name.
igx_serve::ServedModel load_model(const std::string& spec, const igx::LoadOptions& load) {
  const size_t equals = spec.find('=');
  igx_serve::ServedModel served;
  if (equals != std::string::npos) {
    served.name = spec.substr(0, equals);
    if (served.name.empty() || served.name.find_first_of("/:") != std::string::npos) {
      throw igx::UsageError("--model '" + spec + "': the name before '=' must be non-empty, without '/' or ':'");
    }
    served.explainer = igx::Explainer::load(spec.substr(equals + 1), load);
  } else {
    served.explainer = igx::Explainer::load(spec, load);
    served.name = served.explainer->name();
    const size_t slash = served.name.find_last_of('/');
    if (slash != std::string::npos) served.name = served.name.substr(slash + 1);
    const size_t dot = served.name.rfind(".pt");
    if (dot != std::string::npos && dot + 3 == served.name.size()) served.name.resize(dot);
  }
  return served;
}

void run_serve(ServeFlags& flags) {
  apply_threads(flags.threads, /*force=*/false);
  const igx::LoadOptions load = igx::LoadOptions().entry(flags.entry).device(igx::parse_device(flags.device));
  if (flags.models.empty()) flags.models = {"spam-transformer", "mnist-cnn"};
  std::vector<igx_serve::ServedModel> models;
  for (const std::string& spec : flags.models) models.push_back(load_model(spec, load));
  flags.options.batching = !flags.no_batching;

  std::string names;
  for (const auto& model : models) names += (names.empty() ? "" : ", ") + model.name;
  igx_serve::Server server(std::move(models), flags.options);
  const int port = server.bind();
  std::cout << "igx serve: listening on http://" << flags.options.host << ":" << port << " (models: " << names
            << "; batching " << (flags.options.batching ? "on" : "off") << ")" << std::endl;
  // SIGTERM and SIGINT, on whichever thread they land, write their number to a pipe; one thread
  // reads it and starts the drain (a signal handler may do little more than write).
  if (pipe(signal_pipe) != 0) throw igx::Error("igx serve: cannot make a pipe for signals");
  struct sigaction action = {};
  action.sa_handler = [](int signal) {
    const char byte = static_cast<char>(signal);
    (void)!write(signal_pipe[1], &byte, 1);
  };
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  std::thread signal_waiter([&server] {
    char received = 0;
    while (read(signal_pipe[0], &received, 1) < 0 && errno == EINTR) {
    }
    if (received == 0) return;  // the pipe closed: the server stopped by itself
    std::cerr << "igx serve: " << (received == SIGTERM ? "SIGTERM" : "SIGINT")
              << ": not accepting new requests, finishing those accepted" << std::endl;
    server.shutdown();
  });
  server.run();
  if (signal_waiter.joinable()) {
    close(signal_pipe[1]);  // wakes the reader when no signal came
    signal_waiter.join();
  }
  std::cerr << "igx serve: stopped" << std::endl;
}

}  // namespace

std::function<void()> add_serve(CLI::App& app) {
  auto flags = std::make_shared<ServeFlags>();
  igx_serve::ServeOptions& options = flags->options;
  CLI::App* command = app.add_subcommand(
      "serve",
      "Serve explanations over HTTP: KServe V1 (/v1/models/NAME:predict, :explain) and the Open Inference "
      "Protocol's health and metadata routes, Prometheus metrics at /metrics. Requests arriving together are "
      "explained together (their path points share the model's batches). SIGTERM stops accepting and finishes "
      "what was accepted. docs/serving.md");
  command->add_option("--model", flags->models,
                      "a bundle name or folder, a TorchScript file, or NAME=PATH; repeat for several "
                      "(default: spam-transformer and mnist-cnn)")
      ->type_name("MODEL");
  command->add_option("--host", options.host, "address to listen on")->capture_default_str();
  command->add_option("--port", options.port, "port to listen on; 0 = a free one (printed)")
      ->capture_default_str()->check(integer_in(0, 65535));
  command->add_flag("--no-batching", flags->no_batching, "explain one request at a time");
  command->add_option("--batch-window-ms", options.batch_window_ms,
                      "how long an idle model waits for requests to explain together")
      ->capture_default_str()
      ->check(number_in(0, 10000, /*upper_included=*/true, /*lower_included=*/true));
  command->add_option("--max-batch-requests", options.max_batch_requests, "most requests explained together")
      ->capture_default_str()
      ->check(integer_in(1, 1024));
  command->add_option("--max-queue", options.max_queue, "most requests waiting per model; beyond: 503")
      ->capture_default_str()
      ->check(integer_in(1, 100000));
  command->add_option("--max-body-bytes", options.max_body_bytes, "largest request body; beyond: 413")
      ->capture_default_str()
      ->check(integer_in(1024, int64_t{1} << 30));
  command->add_option("--max-instances", options.max_instances, "most instances in one request")
      ->capture_default_str()
      ->check(integer_in(1, 4096));
  command->add_option("--max-batch-size", options.max_batch_size,
                      "most rows per forward+backward a request's batch_size may ask for")
      ->capture_default_str()
      ->check(integer_in(1, int64_t{1} << 20));
  command->add_option("--timeout", options.timeout_seconds, "seconds a request may take from its arrival; then 504")
      ->capture_default_str()
      ->check(number_in(0, 86400, /*upper_included=*/true));
  command->add_option("--http-threads", options.http_threads, "connections served at once")
      ->capture_default_str()
      ->check(integer_in(1, 4096));
  command->add_option("--threads", flags->threads, "CPU threads of LibTorch; 0 = all cores")
      ->capture_default_str()->type_name("T")->check(integer_in(0, std::numeric_limits<int>::max()));
  command->add_option("--device", flags->device, "cpu, cuda or cuda:N")->capture_default_str()->type_name("DEV");
  command->add_option("--entry", flags->entry, "TorchScript models: the method explained")->capture_default_str();
  return [flags] { run_serve(*flags); };
}

}  // namespace igx_cli
