#pragma once
// igx serve's HTTP server: KServe V1 (:predict, :explain) and Open Inference Protocol (V2) health
// and metadata routes over the library's explanation service (igx/explainer.h), a web page at
// GET / and Prometheus metrics at GET /metrics.
//
// Each model has one queue and one worker thread. The worker takes the requests that arrived
// within a short window (up to max_batch_requests) and answers them with one
// Explainer::explain_batch call: requests asking for the same computation share the model's
// forward+backward batches. Bounds: the queue (503 + Retry-After beyond it), the body (413),
// instances per request, rows per model batch, and a deadline per request (504 when it passes;
// the computation stops within one model batch). shutdown() stops accepting and returns from
// run() once everything accepted is answered.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "igx/explainer.h"

namespace igx_serve {

struct ServeOptions {
  std::string host = "127.0.0.1";      ///< address to listen on
  int port = 8080;                     ///< 0: a free port (bind() says which)
  bool batching = true;                ///< explain requests of one window together
  double batch_window_ms = 5.0;        ///< how long an idle worker waits for batch-mates
  int64_t max_batch_requests = 16;     ///< most requests in one explain_batch call
  int64_t max_queue = 64;              ///< most requests waiting per model; beyond: 503
  int64_t max_body_bytes = 4 << 20;    ///< larger bodies: 413
  int64_t max_instances = 32;          ///< most instances in one request
  int64_t max_batch_size = 1024;       ///< most rows per forward+backward a request may ask for
  double timeout_seconds = 60.0;       ///< a request's deadline, from its arrival
  int http_threads = 64;               ///< connections served at once
};

/// A model the server answers for, under the name in its routes.
struct ServedModel {
  std::string name;
  std::shared_ptr<igx::Explainer> explainer;
};

class Server {
 public:
  Server(std::vector<ServedModel> models, ServeOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// Binds the listening socket; returns its port. igx::Error when the address is taken.
  int bind();
  /// Serves until shutdown(); returns when every accepted request is answered.
  void run();
  /// Stops accepting (new connections are refused, requests on open ones get 503) and lets
  /// run() finish what was accepted. Safe from any thread, more than once.
  void shutdown();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace igx_serve
