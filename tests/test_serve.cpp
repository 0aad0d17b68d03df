// igx serve, end to end: the built binary on a free port, spoken to over HTTP, its answers
// checked against the library's explanation service in this process.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include "igx/explainer.h"
#include "igx/image_io.h"
#include "serve/protocol.h"
#include "serve_process.h"
#include "test_explainers.h"
#include "test_support.h"

namespace {

using nlohmann::json;
using igx_test::ServeProcess;
using igx_test::digit;
using igx_test::mnist;
using igx_test::spam;

std::string read_bytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string text;
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      text.push_back(alphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) text.push_back(alphabet[(buffer << (6 - bits)) & 63]);
  while (text.size() % 4 != 0) text.push_back('=');
  return text;
}

struct Reply {
  int status = 0;
  json body;
  std::string retry_after;
  std::string batch_requests;
};

Reply post(httplib::Client& client, const std::string& path, const std::string& body) {
  const auto result = client.Post(path.c_str(), body, "application/json");
  if (!result) {
    ADD_FAILURE() << "no answer to POST " << path << ": " << httplib::to_string(result.error());
    return {};
  }
  Reply reply{result->status, json::parse(result->body, nullptr, false), result->get_header_value("Retry-After"),
              result->get_header_value("X-Igx-Batch-Requests")};
  return reply;
}

Reply get(httplib::Client& client, const std::string& path) {
  const auto result = client.Get(path.c_str());
  if (!result) {
    ADD_FAILURE() << "no answer to GET " << path;
    return {};
  }
  return {result->status, json::parse(result->body, nullptr, false), "", ""};
}

// The scores of every token of a text explanation record.
std::vector<double> token_scores(const json& record) {
  return record["examples"][0]["token_scores"].get<std::vector<double>>();
}

// Equal up to float rounding of different batch shapes.
void expect_close(const std::vector<double>& got, const std::vector<double>& expected, const std::string& what) {
  ASSERT_EQ(got.size(), expected.size()) << what;
  double scale = 0;
  for (double value : expected) scale = std::max(scale, std::abs(value));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-4 * scale + 1e-7) << what << " " << i;
}

// The shipped models behind one server for the whole suite.
class Serve : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = std::make_unique<ServeProcess>(std::vector<std::string>{}); }
  static void TearDownTestSuite() { server_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(server_->started());
    client_ = server_->client();
  }
  static inline std::unique_ptr<ServeProcess> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(Serve, HealthAndMetadataRoutes) {
  EXPECT_EQ(get(*client_, "/v2/health/live").body, (json{{"live", true}}));
  EXPECT_EQ(get(*client_, "/v2/health/ready").body, (json{{"ready", true}}));
  const Reply metadata = get(*client_, "/v2/models/spam-transformer");
  ASSERT_EQ(metadata.status, 200);
  EXPECT_EQ(metadata.body["name"], "spam-transformer");
  EXPECT_EQ(metadata.body["inputs"][0]["datatype"], "BYTES");
  EXPECT_EQ(metadata.body["outputs"][0]["shape"], (json{-1, 2}));
  EXPECT_EQ(metadata.body["parameters"]["labels"], (json{"ham", "spam"}));
  const Reply image = get(*client_, "/v2/models/mnist-cnn");
  EXPECT_EQ(image.body["inputs"][0]["shape"], (json{-1, 1, 28, 28}));
  EXPECT_EQ(get(*client_, "/v2/models/mnist-cnn/ready").body, (json{{"name", "mnist-cnn"}, {"ready", true}}));
  EXPECT_EQ(get(*client_, "/v1/models/spam-transformer").body, (json{{"name", "spam-transformer"}, {"ready", true}}));
  EXPECT_EQ(get(*client_, "/v1/models").body["models"], (json{"mnist-cnn", "spam-transformer"}));
  for (const std::string path : {"/v1/models/nope", "/v2/models/nope", "/v2/models/nope/ready"}) {
    const Reply missing = get(*client_, path);
    EXPECT_EQ(missing.status, 404) << path;
    EXPECT_EQ(missing.body["field"], "model") << path;
    EXPECT_TRUE(igx_test::contains(missing.body["error"], "mnist-cnn, spam-transformer")) << path;
  }
  const Reply unknown_route = get(*client_, "/v3/anything");
  EXPECT_EQ(unknown_route.status, 404);
  EXPECT_EQ(unknown_route.body["field"], "path");
  const auto metrics = client_->Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_TRUE(igx_test::contains(metrics->body, "igx_requests_total{"));
  EXPECT_TRUE(igx_test::contains(metrics->body, "igx_requests_in_flight 0"));
}

TEST_F(Serve, ExplainedTextsAreTheLibrarysExplanations) {
  const json body = {{"instances", {"WIN a FREE cruise, claim your prize now", {{"text", "see you at the meeting"}, {"id", "m1"}}}},
                     {"parameters", {{"tolerance", 0.01}}}};
  const Reply reply = post(*client_, "/v1/models/spam-transformer:explain", body.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  ASSERT_EQ(reply.body["explanations"].size(), 2u);

  igx::ExplainRequest request;
  request.texts = {"WIN a FREE cruise, claim your prize now", "see you at the meeting"};
  igx::set_explain_option(request.options, "tolerance", "0.01");
  const igx::Explanation expected = spam()->explain(request);
  for (size_t i = 0; i < 2; ++i) {
    const json& record = reply.body["explanations"][i];
    const json own = igx::to_json(igx::select_examples(expected, i, 1));
    EXPECT_EQ(record["schema"], "igx.explanation/1");
    EXPECT_EQ(record["examples"][0]["prediction"], own["examples"][0]["prediction"]) << i;
    EXPECT_EQ(record["examples"][0]["certified"], own["examples"][0]["certified"]) << i;
    EXPECT_EQ(record["examples"][0]["steps"], own["examples"][0]["steps"]) << i;
    EXPECT_NEAR(record["examples"][0]["delta"].get<double>(), own["examples"][0]["delta"].get<double>(), 1e-5) << i;
    expect_close(token_scores(record), token_scores(own), "text " + std::to_string(i));
  }
  EXPECT_EQ(reply.body["explanations"][1]["examples"][0]["id"], "m1");
  EXPECT_EQ(reply.body["explanations"][0]["examples"][0]["prediction_label"], "spam");
}

TEST_F(Serve, PredictionsAreTheLibrarys) {
  const Reply reply = post(*client_, "/v1/models/spam-transformer:predict",
                           json{{"instances", {"free money, click now", "lunch tomorrow?"}}}.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  igx::ExplainRequest request;
  request.texts = {"free money, click now", "lunch tomorrow?"};
  const igx::Prediction expected = spam()->predict(request);
  ASSERT_EQ(reply.body["predictions"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    const json& prediction = reply.body["predictions"][i];
    EXPECT_EQ(prediction["class"], expected.classes[i]);
    EXPECT_EQ(prediction["label"], expected.labels[i]);
    EXPECT_NEAR(prediction["probabilities"][1].get<double>(), expected.probabilities[i][1].item<double>(), 1e-6);
  }
}

TEST_F(Serve, ExplainedDigitsAreTheLibrarysExplanations) {
  // The same digit as a base64 PNG and as a pixel list; steps fixed so that the two requests run
  // the same computation as the library's.
  igx::ExplainRequest request;
  request.image_paths = {digit(7)};
  igx::set_explain_option(request.options, "steps", "16");
  const igx::Explanation expected = mnist()->explain(request);
  const torch::Tensor pixels = mnist()->image_classifier().read_image(digit(7))[0][0].to(torch::kDouble);
  json rows = json::array();
  for (int64_t y = 0; y < 28; ++y) {
    rows.push_back(std::vector<double>(pixels[y].data_ptr<double>(), pixels[y].data_ptr<double>() + 28));
  }
  const json body = {{"instances", {{{"b64", base64(read_bytes(digit(7)))}}, rows}},
                     {"parameters", {{"steps", 16}}}};
  const Reply reply = post(*client_, "/v1/models/mnist-cnn:explain", body.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json own = igx::to_json(expected);
  for (size_t i = 0; i < 2; ++i) {
    const json& record = reply.body["explanations"][i]["examples"][0];
    EXPECT_EQ(record["prediction"], 7);
    const json& attributions = record["attributions"];
    const json& want = own["examples"][0]["attributions"];
    ASSERT_EQ(attributions.size(), want.size());
    std::vector<double> got, wanted;
    for (const json& channel : attributions) {
      for (const json& row : channel) {
        for (const json& value : row) got.push_back(value.get<double>());
      }
    }
    for (const json& channel : want) {
      for (const json& row : channel) {
        for (const json& value : row) wanted.push_back(value.get<double>());
      }
    }
    expect_close(got, wanted, "digit " + std::to_string(i));
  }
}

TEST_F(Serve, BadRequestsAre400NamingTheField) {
  const std::string text = "/v1/models/spam-transformer:explain", image = "/v1/models/mnist-cnn:explain";
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {text, "{\"instances\": [\"unterminated", "body"},
      {text, "[1, 2]", "body"},
      {text, std::string("{\"instances\": [\"caf\xe9\"]}"), "body"},  // not UTF-8
      {text, "{}", "instances"},
      {text, "{\"instances\": []}", "instances"},
      {text, "{\"instances\": \"a text\"}", "instances"},
      {text, "{\"instances\": [\"  \"]}", "instances[0]"},
      {text, "{\"instances\": [\"ok\", 5]}", "instances[1]"},
      {text, "{\"instances\": [{\"id\": \"x\"}]}", "instances[0]"},
      {text, "{\"instances\": [\"ok\"], \"extra\": 1}", "extra"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"tolerance\": \"tight\"}}", "parameters.tolerance"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"tolerance\": -1}}", "parameters.tolerance"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"methd\": \"sig\"}}", "parameters.methd"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"method\": \"magic\"}}", "parameters.method"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"steps\": 8, \"strategy\": \"adaptive\"}}", "parameters.steps"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"batch_size\": 0}}", "parameters.batch_size"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"baseline\": \"/etc/passwd\"}}", "parameters.baseline"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": {\"target\": \"7\"}}", "parameters.target"},
      {text, "{\"instances\": [\"ok\"], \"parameters\": 3}", "parameters"},
      {image, "{\"instances\": [{\"b64\": \"not base64!\"}]}", "instances[0].b64"},
      {image, "{\"instances\": [{\"b64\": \"aGVsbG8=\"}]}", "instances[0].b64"},  // "hello": no image
      {image, "{\"instances\": [[[0.5, 0.5], [0.5, 0.5]]]}", "instances[0]"},        // 2x2, not 28x28
      {image, "{\"instances\": [[[0.5, 1e999]]]}", "body"},                         // not a finite number
      {image, "{\"instances\": [[[0.5, [1]]]]}", "instances[0]"},                   // ragged
      {image, "{\"instances\": [\"a text\"]}", "instances[0]"},
      {image, "{\"instances\": [[[[[[[[[[[1]]]]]]]]]]]}", "instances[0]"},         // too deep
  };
  for (const auto& [path, body, field] : cases) {
    const Reply reply = post(*client_, path, body);
    EXPECT_EQ(reply.status, 400) << body;
    EXPECT_EQ(reply.body["field"], field) << body << " -> " << reply.body;
    EXPECT_TRUE(reply.body["error"].is_string()) << body;
  }
  // An image of the wrong size, as a PNG.
  const std::string small = (std::filesystem::temp_directory_path() / ("igx_serve_" + std::to_string(getpid()) + ".png")).string();
  igx::write_png(small, igx::Image{8, 8, 1, std::vector<uint8_t>(64, 200)});
  const Reply wrong = post(*client_, image, json{{"instances", {{{"b64", base64(read_bytes(small))}}}}}.dump());
  std::filesystem::remove(small);
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.body["field"], "instances[0].b64");
  EXPECT_TRUE(igx_test::contains(wrong.body["error"], "28x28")) << wrong.body;
  const Reply missing = post(*client_, "/v1/models/nope:explain", "{\"instances\": [\"ok\"]}");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body["field"], "model");
  // The server is still up and answers.
  EXPECT_EQ(get(*client_, "/v2/health/ready").status, 200);
}

TEST(ServeLimits, LargeBodiesAre413AndTheDeadlineIs504) {
  ServeProcess server({"--model", "spam-transformer", "--max-body-bytes", "2048", "--timeout", "0.001"});
  ASSERT_TRUE(server.started());
  auto client = server.client();
  const Reply large = post(*client, "/v1/models/spam-transformer:explain",
                           json{{"instances", {std::string(4096, 'a')}}}.dump());
  EXPECT_EQ(large.status, 413);
  EXPECT_EQ(large.body["field"], "body");
  // The deadline passes while the request waits for batch-mates (the 5 ms window).
  const Reply late = post(*client, "/v1/models/spam-transformer:explain", json{{"instances", {"free cruise"}}}.dump());
  EXPECT_EQ(late.status, 504);
  EXPECT_TRUE(igx_test::contains(late.body["error"], "deadline"));
}

TEST(ServeLimits, AFullQueueIs503WithRetryAfter) {
  ServeProcess server({"--model", "spam-transformer", "--no-batching", "--max-queue", "1"});
  ASSERT_TRUE(server.started());
  const json body = {{"instances", {"claim your free cruise now, winners are waiting for you today"}},
                     {"parameters", {{"tolerance", 0.001}}}};
  int refused = 0, answered = 0;
  for (int round = 0; round < 5 && refused == 0; ++round) {
    std::vector<std::future<Reply>> replies;
    for (int i = 0; i < 8; ++i) {
      replies.push_back(std::async(std::launch::async, [&] {
        auto client = server.client();
        return post(*client, "/v1/models/spam-transformer:explain", body.dump());
      }));
    }
    for (auto& future : replies) {
      const Reply reply = future.get();
      if (reply.status == 503) {
        ++refused;
        EXPECT_EQ(reply.retry_after, "1");
        EXPECT_TRUE(igx_test::contains(reply.body["error"], "queue"));
      } else {
        EXPECT_EQ(reply.status, 200) << reply.body;
        ++answered;
      }
    }
  }
  EXPECT_GT(refused, 0);
  EXPECT_GT(answered, 0);
}

TEST(ServeLimits, SigtermFinishesTheAcceptedRequests) {
  // A long batch window keeps the requests queued while the signal arrives.
  ServeProcess server({"--model", "spam-transformer", "--batch-window-ms", "1500"});
  ASSERT_TRUE(server.started());
  const std::vector<std::string> texts = {"free cruise", "see you friday", "claim your prize", "lunch?"};
  std::vector<std::future<Reply>> replies;
  for (const std::string& text : texts) {
    replies.push_back(std::async(std::launch::async, [&server, text] {
      auto client = server.client();
      return post(*client, "/v1/models/spam-transformer:explain", json{{"instances", {text}}}.dump());
    }));
  }
  auto client = server.client();
  bool all_in = false;
  for (int i = 0; i < 2000 && !all_in; ++i) {
    const auto metrics = client->Get("/metrics");
    all_in = metrics && igx_test::contains(metrics->body, "igx_requests_in_flight 4");
    if (!all_in) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_TRUE(all_in) << "the four requests never were in flight together";
  EXPECT_EQ(server.terminate(), 0);
  for (size_t i = 0; i < texts.size(); ++i) {
    const Reply reply = replies[i].get();
    ASSERT_EQ(reply.status, 200) << reply.body;
    EXPECT_EQ(reply.body["explanations"][0]["examples"][0]["text"], texts[i]);
    EXPECT_EQ(reply.batch_requests, "4");
  }
  EXPECT_FALSE(client->Get("/v2/health/live"));  // nobody listens any more
}

TEST(ServeLimits, BatchedRequestsAreAnsweredAsAlone) {
  // Requests of different texts and lengths arrive together and share engine calls; each answer
  // equals the request explained on its own by the library.
  ServeProcess server({"--model", "spam-transformer", "--batch-window-ms", "300"});
  ASSERT_TRUE(server.started());
  const std::vector<std::string> texts = {"free", "WIN a FREE cruise, claim your prize now", "see you at the meeting",
                                          "urgent: your account is locked, verify your password here today",
                                          "thanks!", "call me when you land"};
  std::vector<std::future<Reply>> replies;
  for (const std::string& text : texts) {
    replies.push_back(std::async(std::launch::async, [&server, text] {
      auto client = server.client();
      return post(*client, "/v1/models/spam-transformer:explain", json{{"instances", {text}}}.dump());
    }));
  }
  int batched = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const Reply reply = replies[i].get();
    ASSERT_EQ(reply.status, 200) << reply.body;
    if (std::stoi(reply.batch_requests) > 1) ++batched;
    igx::ExplainRequest request;
    request.texts = {texts[i]};
    const json own = igx::to_json(spam()->explain(request));
    const json& record = reply.body["explanations"][0];
    EXPECT_EQ(record["examples"][0]["steps"], own["examples"][0]["steps"]) << texts[i];
    EXPECT_EQ(record["examples"][0]["certified"], own["examples"][0]["certified"]) << texts[i];
    expect_close(token_scores(record), token_scores(own), texts[i]);
  }
  EXPECT_GT(batched, 1) << "no two requests were explained together";
}

TEST(ServeProtocol, Base64IsStrict) {
  std::string bytes;
  EXPECT_TRUE(igx_serve::decode_base64("aGVsbG8=", bytes));
  EXPECT_EQ(bytes, "hello");
  EXPECT_TRUE(igx_serve::decode_base64("aGVsbG8", bytes));
  EXPECT_EQ(bytes, "hello");
  EXPECT_TRUE(igx_serve::decode_base64(base64(std::string("\0\xff\x10", 3)), bytes));
  EXPECT_EQ(bytes, std::string("\0\xff\x10", 3));
  for (const std::string bad : {"a", "aGVsbG8==", "aGV sbG8=", "aGVsbG9=", "====", "aGVs=bG8"}) {
    EXPECT_FALSE(igx_serve::decode_base64(bad, bytes)) << bad;
  }
}

// A refusal names the field at fault and stays one short line, however long what the client sent
// (found by the serve_request fuzzer: an unknown key and option values were echoed whole).
TEST(ServeProtocol, NumbersFloat32CannotHoldAreRefused) {
  igx_serve::ModelInputs tensor_model;
  tensor_model.modality = igx::Modality::Tensor;
  tensor_model.max_instances = 8;
  // The fuzzer's finding: a finite JSON number that becomes an infinity in float32.
  try {
    igx_serve::parse_instances(R"({"instances": [[1, 2, 3], [0.5, 1e39, 0]]})", tensor_model);
    ADD_FAILURE() << "1e39 was accepted";
  } catch (const igx_serve::RequestError& error) {
    EXPECT_EQ(error.status, 400);
    EXPECT_EQ(error.field, "instances[1]");
    EXPECT_NE(std::string(error.what()).find("1e+39 is beyond float32's range"), std::string::npos) << error.what();
  }
  const igx::ExplainRequest request =
      igx_serve::parse_instances(R"({"instances": [[1, 2, -3.4e38]]})", tensor_model);
  EXPECT_FLOAT_EQ(request.inputs[0][2].item<float>(), -3.4e38f);
}

TEST(ServeProtocol, RefusalsNameTheFieldInAShortLine) {
  igx_serve::ModelInputs text_model;
  text_model.modality = igx::Modality::Text;
  const auto refusal = [&](const json& body) {
    try {
      igx_serve::parse_instances(body.dump(), text_model);
    } catch (const igx_serve::RequestError& error) {
      EXPECT_EQ(error.status, 400);
      return std::make_pair(error.field, std::string(error.what()));
    }
    ADD_FAILURE() << "accepted " << body.dump().substr(0, 80);
    return std::make_pair(std::string(), std::string());
  };
  const std::string long_text(5000, 'k');
  const auto [empty_key, empty_key_message] = refusal({{"", 1}, {"instances", {"a text"}}});
  EXPECT_EQ(empty_key, "\"\"");
  EXPECT_NE(empty_key_message.find("unknown field"), std::string::npos) << empty_key_message;
  const auto [long_key, long_key_message] = refusal({{long_text, 1}, {"instances", {"a text"}}});
  EXPECT_EQ(long_key.rfind("kkkk", 0), 0u) << long_key;
  EXPECT_LT(long_key.size(), 100u);
  EXPECT_LT(long_key_message.size(), 200u);
  for (const char* option : {"method", "strategy", "certify", "output", "target", "compare_steps", "dig_score",
                             "patch", "neuron", "baselines", "words"}) {
    // A --baselines value without train: or noise: names a file (refused later, by the service).
    const std::string value = std::string(option) == "baselines" ? "noise:" + long_text : long_text;
    const auto [field, message] = refusal({{"instances", {"a text"}}, {"parameters", {{option, value}}}});
    EXPECT_EQ(field, std::string("parameters.") + option);
    EXPECT_NE(message.find("kkkk"), std::string::npos) << option << ": the value is quoted: " << message;
    EXPECT_LT(message.size(), 400u) << option << ": " << message.substr(0, 400);
  }
  const auto [long_option, long_option_message] =
      refusal({{"instances", {"a text"}}, {"parameters", {{long_text, 1}}}});
  EXPECT_LT(long_option.size(), 100u);
  EXPECT_LT(long_option_message.size(), 1000u) << long_option_message.substr(0, 400);
}

}  // namespace

namespace {

// The web page as a person sees it: headless Chromium loads /?text=..., the page calls :explain
// and colours the tokens; the screenshot must show green and red token backgrounds, and the DOM
// the prediction and the certificate. Skipped where Chromium is not installed.
TEST(ServePage, ChromiumShowsTheTokenHeatMap) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "Chromium is not installed (scripts/setup.sh)";
  ServeProcess server({"--model", "spam-transformer"});
  ASSERT_TRUE(server.started());
  namespace fs = std::filesystem;
  const fs::path directory = fs::temp_directory_path() / ("igx_serve_page_" + std::to_string(getpid()));
  fs::remove_all(directory);
  fs::create_directories(directory);
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) +
                          "/?model=spam-transformer&text=Congratulations%21%20You%20have%20WON%20a%20free%20cruise."
                          "%20Call%20now%20to%20claim%20your%20prize%2C%20the%20patch%20fixed%20the%20bug%20in%20the%20build%20script";
  const std::string chromium = "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
                               "--disable-background-networking --disable-component-update --disable-sync "
                               "--virtual-time-budget=60000 --user-data-dir=" + (directory / "profile").string();
  const std::string screenshot = (directory / "page.png").string();
  ASSERT_EQ(std::system((chromium + " --window-size=1000,500 --screenshot=" + screenshot + " '" + url + "' > /dev/null 2>&1").c_str()), 0);
  const std::string dom = (directory / "dom.html").string();
  ASSERT_EQ(std::system((chromium + " --dump-dom '" + url + "' > " + dom + " 2> /dev/null").c_str()), 0);

  const std::string html = read_bytes(dom);
  EXPECT_TRUE(igx_test::contains(html, "data-state=\"explained\"")) << html.substr(0, 2000);
  EXPECT_TRUE(igx_test::contains(html, "<b>prediction</b>spam")) << html.substr(0, 2000);
  EXPECT_TRUE(igx_test::contains(html, "<b>certified</b>yes"));
  EXPECT_TRUE(igx_test::contains(html, "class=\"token\""));

  const igx::Image image = igx::read_image(screenshot);
  int green = 0, red = 0;
  for (int y = 0; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const size_t i = (static_cast<size_t>(y) * image.width + x) * image.channels;
      const int r = image.pixels[i], g = image.pixels[i + 1], b = image.pixels[i + 2];
      if (g > r + 40 && g > b + 20) ++green;  // evidence for the prediction
      if (r > g + 60 && r > b + 60) ++red;    // evidence against
    }
  }
  EXPECT_GT(green, 200) << "no green token backgrounds in " << screenshot;
  EXPECT_GT(red, 200) << "no red token backgrounds in " << screenshot;
  if (!HasFailure()) fs::remove_all(directory);
}

}  // namespace
