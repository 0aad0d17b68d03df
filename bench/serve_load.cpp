// A load generator for igx serve, loopback only and bounded in requests and time: N clients, each
// on its own keep-alive connection, post :explain requests (texts drawn in turn from a fixed list)
// and the latencies give throughput, p50 and p99. With --malformed F, a fraction F of the requests
// are malformed (mixed kinds); each must get a 4xx, and each valid one must equal the answer the
// same text got before the flood. bench/run_serve.sh runs it; docs/serving.md has the figures.
#include <CLI/CLI.hpp>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <iostream>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "igx/statistics.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

const std::vector<std::string> kTexts = {
    "WIN a FREE cruise! Claim your prize now by replying to this message",
    "Hi Bob, the meeting moved to Friday at 10am, see you there",
    "URGENT: your account is locked, verify your password at this link today",
    "Can you pick up some milk on the way home? thanks",
    "Congratulations, you have been selected for a cash reward of 1000 dollars",
    "The report is attached, let me know if anything is missing",
    "Cheap meds online, no prescription needed, order now",
    "Are we still on for lunch tomorrow at noon?",
};

// Bodies a server must refuse with a 4xx, of several kinds.
std::string malformed_body(size_t i) {
  switch (i % 8) {
    case 0: return "{\"instances\": [\"unterminated";
    case 1: return "{\"instances\": []}";
    case 2: return "{\"instances\": [\"   \"]}";
    case 3: return "{\"instances\": [\"ok\"], \"parameters\": {\"tolerance\": \"tight\"}}";
    case 4: return "{\"instances\": [\"ok\"], \"parameters\": {\"method\": \"magic\"}}";
    case 5: return std::string("{\"instances\": [\"caf\xe9\"]}");
    case 6: return "{\"instances\": [[1, 2, 3]]}";
    default: return "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[";
  }
}

json explain_body(const std::string& text, double tolerance) {
  return {{"instances", {text}}, {"parameters", {{"tolerance", tolerance}}}};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load generator for igx serve (loopback only). Prints one JSON line of results."};
  int port = 8080, clients = 16;
  int64_t requests = 400;
  double seconds = 120, tolerance = 0.01, malformed = 0;
  std::string model = "spam-transformer";
  app.add_option("--port", port, "port of igx serve on 127.0.0.1")->capture_default_str();
  app.add_option("--model", model, "a text model the server serves")->capture_default_str();
  app.add_option("--clients", clients, "concurrent clients")->capture_default_str()->check(CLI::Range(1, 1024));
  app.add_option("--requests", requests, "requests in all (valid and malformed)")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{1}, int64_t{1000000}));
  app.add_option("--seconds", seconds, "stop sending after this long")->capture_default_str()->check(CLI::Range(1.0, 3600.0));
  app.add_option("--tolerance", tolerance, "the explanations' tolerance")->capture_default_str();
  app.add_option("--malformed", malformed, "fraction of malformed requests")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  CLI11_PARSE(app, argc, argv);

  const std::string path = "/v1/models/" + model + ":explain";
  // The reference answers, one request at a time before the load.
  std::map<std::string, json> reference;
  {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(300);
    for (const std::string& text : kTexts) {
      const auto result = client.Post(path.c_str(), explain_body(text, tolerance).dump(), "application/json");
      if (!result || result->status != 200) {
        std::cerr << "serve_load: no answer from 127.0.0.1:" << port << path << "\n";
        return 1;
      }
      reference[text] = json::parse(result->body)["explanations"][0]["examples"][0]["token_scores"];
    }
  }

  std::atomic<int64_t> next{0};
  std::mutex mutex;
  std::vector<double> latencies;
  int64_t valid = 0, valid_ok = 0, wrong = 0, refused_busy = 0, bad = 0, bad_4xx = 0, failures = 0;
  const auto start = Clock::now();
  const auto stop_at = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_read_timeout(300);
      for (;;) {
        const int64_t i = next++;
        if (i >= requests || Clock::now() > stop_at) return;
        // Request i is malformed when the running count of malformed ones, i * F, steps up.
        const bool is_bad = std::floor((i + 1) * malformed) > std::floor(i * malformed);
        const std::string& text = kTexts[static_cast<size_t>(i) % kTexts.size()];
        const std::string body = is_bad ? malformed_body(static_cast<size_t>(i)) : explain_body(text, tolerance).dump();
        const auto sent = Clock::now();
        const auto result = client.Post(path.c_str(), body, "application/json");
        const double latency = std::chrono::duration<double>(Clock::now() - sent).count();
        std::lock_guard<std::mutex> lock(mutex);
        if (!result) {
          ++failures;
          continue;
        }
        if (is_bad) {
          ++bad;
          if (result->status >= 400 && result->status < 500) ++bad_4xx;
          continue;
        }
        ++valid;
        if (result->status == 503) {
          ++refused_busy;
          continue;
        }
        latencies.push_back(latency);
        const json answer = json::parse(result->body, nullptr, false);
        bool same = result->status == 200 && !answer.is_discarded();
        if (same) {
          const json& scores = answer["explanations"][0]["examples"][0]["token_scores"];
          const json& expected = reference[text];
          same = scores.size() == expected.size();
          double scale = 0;
          for (const json& value : expected) scale = std::max(scale, std::abs(value.get<double>()));
          for (size_t k = 0; same && k < scores.size(); ++k) {
            same = std::abs(scores[k].get<double>() - expected[k].get<double>()) <= 1e-4 * scale + 1e-7;
          }
        }
        if (same) {
          ++valid_ok;
        } else {
          ++wrong;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  const json result = {{"clients", clients},
                       {"seconds", elapsed},
                       {"valid", valid},
                       {"valid_correct", valid_ok},
                       {"valid_wrong", wrong},
                       {"valid_503", refused_busy},
                       {"malformed", bad},
                       {"malformed_4xx", bad_4xx},
                       {"connection_failures", failures},
                       {"throughput_per_s", static_cast<double>(valid_ok) / elapsed},
                       {"p50_ms", 1000 * igx::quantile(latencies, 0.50)},
                       {"p99_ms", 1000 * igx::quantile(latencies, 0.99)}};
  std::cout << result.dump() << std::endl;
  return wrong == 0 && failures == 0 && bad_4xx == bad ? 0 : 1;
}
