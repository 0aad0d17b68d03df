#include "server.h"

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "igx/cancellation.h"
#include "igx/error.h"
#include "igx/model.h"
#include "page.h"
#include "protocol.h"

namespace igx_serve {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

// One explain request waiting for its worker.
struct Job {
  igx::ExplainRequest request;
  std::promise<igx::BatchOutcome> outcome;
  size_t batch_mates = 1;  // requests in the engine call that answered it (set before `outcome`)
};

// The server's Prometheus metrics.
struct Metrics {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Counter>& requests =
      prometheus::BuildCounter().Name("igx_requests_total").Help("HTTP requests by route and status").Register(*registry);
  prometheus::Family<prometheus::Counter>& errors =
      prometheus::BuildCounter().Name("igx_request_errors_total").Help("Refused or failed requests by kind").Register(*registry);
  prometheus::Family<prometheus::Gauge>& queue_depth =
      prometheus::BuildGauge().Name("igx_queue_depth").Help("Explain requests waiting for their model's worker").Register(*registry);
  prometheus::Gauge& in_flight = prometheus::BuildGauge()
                                     .Name("igx_requests_in_flight")
                                     .Help("Explain requests accepted and not yet answered")
                                     .Register(*registry)
                                     .Add({});
  prometheus::Family<prometheus::Histogram>& batch_fill =
      prometheus::BuildHistogram().Name("igx_batch_requests").Help("Requests per explain_batch call").Register(*registry);
  prometheus::Family<prometheus::Counter>& gradient_rows =
      prometheus::BuildCounter().Name("igx_gradient_rows_total").Help("Model rows with a backward pass").Register(*registry);
  prometheus::Family<prometheus::Histogram>& latency =
      prometheus::BuildHistogram().Name("igx_request_seconds").Help("Time to answer, by route").Register(*registry);
};

const prometheus::Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64};
const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                                  1,     2.5,  5,     10,   30,  60};

struct ModelState {
  std::string name;
  std::shared_ptr<igx::Explainer> explainer;
  ModelInputs inputs;
  std::mutex mutex;
  std::condition_variable changed;
  std::deque<std::shared_ptr<Job>> queue;
  bool stopping = false;
  std::thread worker;
};

// The field at fault when the service refuses a parsed request: "instances" when it fails with
// default options too, else the option without which it passes ("parameters" when none alone).
std::string field_at_fault(igx::Explainer& explainer, const igx::ExplainRequest& request) {
  igx::ExplainRequest plain = request;
  plain.options = {};
  try {
    explainer.check(plain);
  } catch (const igx::Error&) {
    return "instances";
  }
  const json options = igx::to_json(request.options);
  for (const auto& [key, value] : options.items()) {
    json others = options;
    others.erase(key);
    igx::ExplainRequest without = request;
    without.options = igx::explain_options_from_json(others);
    try {
      explainer.check(without);
      return "parameters." + key;
    } catch (const igx::Error&) {
    }
  }
  return "parameters";
}

ModelInputs inputs_of(igx::Explainer& explainer, int64_t max_instances) {
  ModelInputs inputs;
  inputs.modality = explainer.modality();
  inputs.max_instances = max_instances;
  if (inputs.modality == igx::Modality::Image) {
    inputs.image_shape = explainer.image_classifier().input_shape();
    inputs.labels = explainer.image_classifier().config().labels;
  } else if (inputs.modality == igx::Modality::Text) {
    inputs.labels = explainer.text_classifier().config().labels;
  }
  return inputs;
}

}  // namespace

struct Server::State {
  ServeOptions options;
  std::map<std::string, std::unique_ptr<ModelState>> models;
  httplib::Server http;
  Metrics metrics;
  std::atomic<bool> draining{false};
  std::atomic<bool> listening{false};  // run() was called
  std::once_flag stop_once;

  void reply(httplib::Response& res, int status, const json& body) {
    res.status = status;
    res.set_content(body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  }

  // A refusal: JSON {"error", "field"}, counted by kind.
  void refuse(httplib::Response& res, int status, const std::string& kind, const std::string& message,
              const std::string& field = "") {
    res.status = status;
    res.set_content(error_body(message, field), "application/json");
    if (status == 503) res.set_header("Retry-After", "1");
    metrics.errors.Add({{"kind", kind}}).Increment();
  }

  ModelState* model_or_refuse(const httplib::Request& req, httplib::Response& res) {
    const std::string name = req.matches[1];
    const auto found = models.find(name);
    if (found != models.end()) return found->second.get();
    std::string names;
    for (const auto& [known, model] : models) names += (names.empty() ? "" : ", ") + known;
    refuse(res, 404, "unknown_model", "no model '" + name + "' here; this server has " + names, "model");
    return nullptr;
  }

  // The request of a :predict or :explain body, checked by the service; nullopt after a refusal.
  std::optional<igx::ExplainRequest> request_or_refuse(ModelState& model, const httplib::Request& req,
                                                       httplib::Response& res, bool explain) {
    std::optional<igx::ExplainRequest> parsed;
    try {
      parsed = parse_instances(req.body, model.inputs);
      igx::ExplainRequest& request = *parsed;
      const auto batch_size = request.options.batch_size;
      if (batch_size && (*batch_size == 0 || *batch_size > options.max_batch_size)) {
        throw RequestError(400, "parameters.batch_size",
                           "parameters.batch_size: " + std::to_string(*batch_size) + " rows; this server takes 1 to " +
                               std::to_string(options.max_batch_size) + " rows per model batch");
      }
      if (explain) model.explainer->check(request);
      return request;
    } catch (const RequestError& error) {
      refuse(res, error.status, "bad_request", error.what(), error.field);
    } catch (const igx::Error& error) {
      refuse(res, 400, "bad_request", error.what(), parsed ? field_at_fault(*model.explainer, *parsed) : "body");
    }
    return std::nullopt;
  }

  void explain(const httplib::Request& req, httplib::Response& res) {
    ModelState* model = model_or_refuse(req, res);
    if (model == nullptr) return;
    if (draining) return refuse(res, 503, "draining", "the server is shutting down; retry on another replica");
    std::optional<igx::ExplainRequest> request = request_or_refuse(*model, req, res, true);
    if (!request) return;
    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(options.timeout_seconds));
    request->cancelled = [deadline] { return Clock::now() > deadline; };
    auto job = std::make_shared<Job>();
    job->request = std::move(*request);
    std::future<igx::BatchOutcome> answer = job->outcome.get_future();
    {
      std::lock_guard<std::mutex> lock(model->mutex);
      if (static_cast<int64_t>(model->queue.size()) >= options.max_queue) {
        return refuse(res, 503, "overloaded",
                      "the queue of model '" + model->name + "' is full (" + std::to_string(options.max_queue) +
                          " requests); retry later");
      }
      model->queue.push_back(job);
      metrics.queue_depth.Add({{"model", model->name}}).Set(static_cast<double>(model->queue.size()));
    }
    model->changed.notify_one();
    metrics.in_flight.Increment();
    igx::BatchOutcome outcome = answer.get();
    metrics.in_flight.Decrement();
    res.set_header("X-Igx-Batch-Requests", std::to_string(job->batch_mates));
    if (!outcome.error) return reply(res, 200, explanations_body(outcome.explanation));
    try {
      std::rethrow_exception(outcome.error);
    } catch (const igx::Cancelled&) {
      refuse(res, 504, "deadline",
             "the explanation did not finish within this server's deadline of " +
                 std::to_string(options.timeout_seconds) + " s; ask for fewer max_steps, a larger tolerance or fewer "
                 "instances",
             "parameters");
    } catch (const igx::Error& error) {
      const RequestError refusal = request_error_of(error.what());
      refuse(res, refusal.status, "bad_request", refusal.what(), refusal.field);
    } catch (const std::exception& error) {
      refuse(res, 500, "internal", std::string("the model failed: ") + igx::torch_error_summary(error));
    }
  }

  void predict(const httplib::Request& req, httplib::Response& res) {
    ModelState* model = model_or_refuse(req, res);
    if (model == nullptr) return;
    if (draining) return refuse(res, 503, "draining", "the server is shutting down; retry on another replica");
    std::optional<igx::ExplainRequest> request = request_or_refuse(*model, req, res, false);
    if (!request) return;
    try {
      reply(res, 200, predictions_body(model->explainer->predict(*request)));
    } catch (const igx::Error& error) {
      const RequestError refusal = request_error_of(error.what());
      refuse(res, refusal.status, "bad_request", refusal.what(), refusal.field);
    }
  }

  // The worker of one model: takes what is queued (after a short window when idle) and answers
  // it with one explain_batch call.
  void work(ModelState& model) {
    for (;;) {
      std::vector<std::shared_ptr<Job>> jobs;
      {
        std::unique_lock<std::mutex> lock(model.mutex);
        model.changed.wait(lock, [&] { return model.stopping || !model.queue.empty(); });
        if (model.queue.empty()) return;  // stopping, and everything is answered
        const size_t most = options.batching ? static_cast<size_t>(options.max_batch_requests) : 1;
        if (options.batching && model.queue.size() < most && !model.stopping) {
          const auto window = std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double, std::milli>(options.batch_window_ms));
          model.changed.wait_for(lock, window, [&] { return model.stopping || model.queue.size() >= most; });
        }
        while (!model.queue.empty() && jobs.size() < most) {
          jobs.push_back(model.queue.front());
          model.queue.pop_front();
        }
        metrics.queue_depth.Add({{"model", model.name}}).Set(static_cast<double>(model.queue.size()));
      }
      std::vector<igx::ExplainRequest> requests;
      for (const auto& job : jobs) requests.push_back(job->request);
      std::vector<igx::BatchOutcome> outcomes;
      try {
        outcomes = model.explainer->explain_batch(requests);
      } catch (...) {
        outcomes.assign(jobs.size(), igx::BatchOutcome{});
        for (auto& outcome : outcomes) outcome.error = std::current_exception();
      }
      metrics.batch_fill.Add({{"model", model.name}}, kBatchBuckets).Observe(static_cast<double>(jobs.size()));
      std::map<size_t, size_t> group_sizes;
      for (const auto& outcome : outcomes) ++group_sizes[outcome.group];
      std::set<size_t> counted;
      for (size_t j = 0; j < jobs.size(); ++j) {
        const igx::BatchOutcome& outcome = outcomes[j];
        if (!outcome.error && counted.insert(outcome.group).second) {
          metrics.gradient_rows.Add({{"model", model.name}})
              .Increment(static_cast<double>(outcome.explanation.counts.gradient_rows));
        }
        jobs[j]->batch_mates = outcome.error ? 1 : group_sizes[outcome.group];
        jobs[j]->outcome.set_value(std::move(outcomes[j]));
      }
    }
  }

  void routes() {
    http.Get("/", [](const httplib::Request&, httplib::Response& res) { res.set_content(page_html(), "text/html"); });
    http.Get("/v2/health/live", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"live", true}});
    });
    http.Get("/v2/health/ready", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, draining ? 503 : 200, {{"ready", !draining}});
    });
    http.Get("/v2", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"name", "igx"}, {"version", "0.1.0"}, {"extensions", json::array()}});
    });
    http.Get(R"(/v2/models/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      if (ModelState* model = model_or_refuse(req, res)) reply(res, 200, model_metadata(model->name, model->inputs));
    });
    const auto ready = [this](const httplib::Request& req, httplib::Response& res) {
      if (ModelState* model = model_or_refuse(req, res)) {
        reply(res, draining ? 503 : 200, {{"name", model->name}, {"ready", !draining}});
      }
    };
    http.Get(R"(/v2/models/([^/]+)/ready)", ready);
    http.Get(R"(/v1/models/([^/:]+))", ready);
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json names = json::array();
      for (const auto& [name, model] : models) names.push_back(name);
      reply(res, 200, {{"models", names}});
    });
    http.Post(R"(/v1/models/([^/:]+):predict)", [this](const httplib::Request& req, httplib::Response& res) {
      const auto start = Clock::now();
      predict(req, res);
      metrics.latency.Add({{"route", "predict"}}, kLatencyBuckets)
          .Observe(std::chrono::duration<double>(Clock::now() - start).count());
    });
    http.Post(R"(/v1/models/([^/:]+):explain)", [this](const httplib::Request& req, httplib::Response& res) {
      const auto start = Clock::now();
      explain(req, res);
      metrics.latency.Add({{"route", "explain"}}, kLatencyBuckets)
          .Observe(std::chrono::duration<double>(Clock::now() - start).count());
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(prometheus::TextSerializer().Serialize(metrics.registry->Collect()),
                      "text/plain; version=0.0.4");
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      const bool explain = req.path.find(":explain") != std::string::npos;
      const bool predict = req.path.find(":predict") != std::string::npos;
      const std::string route = explain ? "explain" : predict ? "predict" : req.path == "/metrics" ? "metrics" : "other";
      metrics.requests.Add({{"route", route}, {"code", std::to_string(res.status)}}).Increment();
    });
    // Statuses httplib sets itself (413, 404, 400 for unreadable HTTP) get a JSON body too.
    http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                          httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      if (res.status == 413) {
        refuse(res, 413, "too_large",
               "the body is larger than this server's limit of " + std::to_string(options.max_body_bytes) + " bytes",
               "body");
      } else if (res.status == 404) {
        refuse(res, 404, "not_found", "no route " + req.method + " " + req.path, "path");
      } else {
        refuse(res, res.status, "bad_http", "the request could not be read as HTTP", "");
      }
      return httplib::Server::HandlerResponse::Handled;
    }));
    http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
      std::string message = "unknown error";
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        message = igx::torch_error_summary(e);
      } catch (...) {
      }
      refuse(res, 500, "internal", "the server failed: " + message);
    });
  }
};

Server::Server(std::vector<ServedModel> models, ServeOptions options) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  if (models.empty()) throw igx::UsageError("igx serve needs at least one model");
  for (ServedModel& served : models) {
    if (state_->models.count(served.name) != 0) {
      throw igx::UsageError("two models are named '" + served.name + "'; give each a name of its own (name=PATH)");
    }
    auto model = std::make_unique<ModelState>();
    model->name = served.name;
    model->inputs = inputs_of(*served.explainer, state_->options.max_instances);
    model->explainer = std::move(served.explainer);
    state_->models[model->name] = std::move(model);
  }
  httplib::Server& http = state_->http;
  const int threads = state_->options.http_threads;
  http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http.set_payload_max_length(static_cast<size_t>(state_->options.max_body_bytes));
  http.set_keep_alive_timeout(2);
  http.set_read_timeout(30);
  http.set_write_timeout(30);
  state_->routes();
}

Server::~Server() {
  shutdown();
  for (auto& [name, model] : state_->models) {
    {
      std::lock_guard<std::mutex> lock(model->mutex);
      model->stopping = true;
    }
    model->changed.notify_all();
    if (model->worker.joinable()) model->worker.join();
  }
}

int Server::bind() {
  const ServeOptions& options = state_->options;
  const int port = options.port == 0 ? state_->http.bind_to_any_port(options.host)
                                     : (state_->http.bind_to_port(options.host, options.port) ? options.port : -1);
  if (port < 0) {
    throw igx::Error("cannot listen on " + options.host + ":" + std::to_string(options.port) +
                     " (taken, or not an address of this machine); give another --host or --port");
  }
  return port;
}

void Server::run() {
  for (auto& [name, model] : state_->models) {
    ModelState* state = model.get();
    model->worker = std::thread([this, state] { state_->work(*state); });
  }
  state_->listening = true;
  if (!state_->draining) state_->http.listen_after_bind();
  // listen returns once every connection's handler returned: every accepted request is answered.
  for (auto& [name, model] : state_->models) {
    {
      std::lock_guard<std::mutex> lock(model->mutex);
      model->stopping = true;
    }
    model->changed.notify_all();
    model->worker.join();
  }
}

void Server::shutdown() {
  std::call_once(state_->stop_once, [this] {
    state_->draining = true;
    // httplib's stop() does nothing before listen has started: wait for it when run() began.
    for (int i = 0; i < 5000 && state_->listening && !state_->http.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    state_->http.stop();
  });
}

}  // namespace igx_serve
