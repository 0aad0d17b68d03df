// Nothing lost, nothing silently wrong: model faults stop the run at the first batch that shows
// them, with the example, the point and the quantity named; the command line keeps the user's
// files, leaves nothing behind when it fails, and exits 2 for a wrong command line, 1 for a failed
// run (docs/reliability.md lists every case).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "igx/dig.h"
#include "igx/distribution.h"
#include "igx/igx.h"
#include "igx/image.h"
#include "cli_test.h"

namespace {

namespace fs = std::filesystem;
using igx::IgOptions;
using igx::Rule;
using igx_test::contains;
using igx_test::error_of;
using igx_test::run_igx;

torch::Tensor rows(std::vector<std::vector<double>> values) {
  std::vector<torch::Tensor> tensors;
  for (const auto& row : values) tensors.push_back(torch::tensor(row, torch::kDouble));
  return torch::stack(tensors);
}

// F = sum(x), NaN where 1 < sum(x) < 2.
torch::Tensor nan_in_the_middle(const torch::Tensor& x) {
  const torch::Tensor total = x.sum(1);
  return torch::where((total > 1) & (total < 2), torch::full_like(total, std::nan("")), total).unsqueeze(1);
}

TEST(ModelFaults, NonFiniteOutputStopsAtTheFirstBatchThatHasIt) {
  int gradient_batches = 0;
  igx::FunctionModel model(
      [&](const torch::Tensor& x) {
        if (x.requires_grad()) ++gradient_batches;
        return nan_in_the_middle(x);
      },
      "nan-model");
  // Example 0 stays below sum 1 on its whole path; example 1 crosses the NaN band at 1/3 < alpha < 2/3.
  const torch::Tensor inputs = rows({{0.1, 0.1, 0.1}, {1.0, 1.0, 1.0}});
  const std::string message = error_of([&] {
    igx::integrated_gradients(model, inputs,
                              IgOptions().n_steps(30).method(Rule::RiemannLeft).target(igx::Target::index(0))
                                  .internal_batch_size(8));
  });
  // Example 0's 30 nodes fill 3 batches and a part of the 4th, which example 1's first nodes (alpha
  // 0, 1/30, ...) complete; its first NaN, at alpha = 11/30, is in the 6th batch: 6 of 8 run.
  EXPECT_TRUE(contains(message, "nan-model gives NaN as the logit of class 0 for example 1 at alpha = 0.366667"))
      << message;
  EXPECT_TRUE(contains(message, "igx stops")) << message;
  EXPECT_EQ(gradient_batches, 6);
}

TEST(ModelFaults, NonFiniteGradientIsNamedWithItsShare) {
  // F = x0 for x0 < 0.5, else sqrt(x0 - 0.5): finite everywhere, NaN gradient where x0 < 0.5.
  igx::FunctionModel model(
      [](const torch::Tensor& x) {
        const torch::Tensor first = x.select(1, 0);
        return torch::where(first < 0.5, first, torch::sqrt(first - 0.5)).unsqueeze(1);
      },
      "where-sqrt");
  const std::string message = error_of([&] {
    igx::integrated_gradients(model, rows({{1.0, 2.0, 3.0}}), IgOptions().n_steps(4).method(Rule::RiemannRight));
  });
  EXPECT_TRUE(contains(message, "where-sqrt gives a gradient of the logit of class 0 that is NaN in 1 of its 3 entries "
                                "for example 0 at alpha = 0.25"))
      << message;
}

TEST(ModelFaults, InfiniteOutputAtTheInputIsCaughtForwardOnly) {
  igx::FunctionModel model([](const torch::Tensor& x) { return (1.0 / (3.0 - x.sum(1))).unsqueeze(1); }, "pole");
  const std::string message =
      error_of([&] { igx::integrated_gradients(model, rows({{1.0, 1.0, 1.0}}), IgOptions().n_steps(8)); });
  EXPECT_TRUE(contains(message, "pole gives +Inf as an output for example 0 at a point evaluated forward only")) << message;
}

TEST(ModelFaults, OutputThatIgnoresTheInputAndOutputWithoutClasses) {
  igx::FunctionModel constant([](const torch::Tensor& x) { return torch::ones({x.size(0), 2}, torch::kDouble); },
                              "constant");
  EXPECT_TRUE(contains(error_of([&] { igx::integrated_gradients(constant, rows({{1.0, 2.0}}), IgOptions().n_steps(4)); }),
                       "constant: the output does not depend on the input"));
  igx::FunctionModel empty([](const torch::Tensor& x) { return x.narrow(1, 0, 0); }, "empty");
  const std::string message =
      error_of([&] { igx::integrated_gradients(empty, rows({{1.0, 2.0}}), IgOptions().n_steps(4)); });
  // Its first call holds x and x' (Gauss-Legendre has no node at 0 or 1): two rows.
  EXPECT_TRUE(contains(message, "empty returned shape [2, 0] for 2 rows")) << message;
  EXPECT_TRUE(contains(message, "at least one class")) << message;
}

TEST(ModelFaults, DiscretePathsNameTheirPoint) {
  igx::FunctionModel model(nan_in_the_middle, "nan-model");
  igx::Integrator integrator(model, {}, igx::OutputKind::Logit, 0);
  integrator.set_targets(torch::zeros({1}, torch::kLong));
  const igx::PointListPath path(rows({{0.0, 0.0, 0.0}, {0.5, 0.5, 0.5}, {1.0, 1.0, 1.0}}), torch::ones({3}, torch::kDouble));
  const std::string message = error_of([&] { integrator.integrate({{&path, 0}}); });
  EXPECT_TRUE(contains(message, "for example 0 at path point 1 of 3")) << message;
}

// Every numeric value of a baseline spec is checked: finite, in range, an integer where one is meant.
TEST(RequestLimits, ImageBaselineSpecsAreValidated) {
  EXPECT_EQ(igx::ImageBaseline::parse("blur:2.5").blur_sigma, 2.5);
  EXPECT_EQ(igx::ImageBaseline::parse("noise:7").seed, 7u);
  EXPECT_TRUE(contains(error_of([] { igx::ImageBaseline::parse("blur:inf"); }),
                       "image baseline 'blur:inf': SIGMA 'inf' is not a finite number > 0"));
  EXPECT_TRUE(contains(error_of([] { igx::ImageBaseline::parse("blur:-1"); }), "SIGMA '-1'"));
  EXPECT_TRUE(contains(error_of([] { igx::ImageBaseline::parse("noise:-5"); }),
                       "image baseline 'noise:-5': SEED '-5' is not an integer"));
  EXPECT_TRUE(contains(error_of([] { igx::ImageBaseline::parse("noise:1.5"); }), "SEED '1.5'"));
  EXPECT_TRUE(contains(error_of([] { igx::ImageBaseline::parse("black:3"); }), "'black:3' is not valid"));
  EXPECT_EQ(error_of([] { igx::gaussian_blur(torch::zeros({1, 1, 28, 28}), 1e9); }),
            "blur sigma 1e+09 px does not fit the 28x28 image; expected 0 < sigma <= 28");
}

// Requests too large for the machine are refused before anything is allocated, with the estimate.
TEST(RequestLimits, MemoryIsEstimatedBeforeAllocating) {
  igx::FunctionModel model([](const torch::Tensor& x) { return x.sum(1, true); });
  const torch::Tensor input = torch::ones({1, 3}, torch::kDouble);
  std::string message = error_of(
      [&] { igx::integrated_gradients(model, input, IgOptions().n_steps(int64_t{1} << 40).method(Rule::RiemannLeft)); });
  EXPECT_TRUE(contains(message, "1099511627776 integration steps per example (1 examples) needs about 40 TiB of memory, "
                                "more than the "))
      << message;
  EXPECT_TRUE(contains(message, "available; ask for less")) << message;
  message = error_of([&] { igx::integrated_gradients(model, input, IgOptions().n_steps(30000)); });
  EXPECT_TRUE(contains(message, "Gauss-Legendre with 30000 nodes")) << message;
  message = error_of([&] {
    igx::expected_gradients(model, input, torch::zeros({2, 3}, torch::kDouble),
                            igx::ExpectedGradientsOptions().samples(99999999999));
  });
  EXPECT_TRUE(contains(message, "99999999999 Expected Gradients samples per example (1 examples of 3 features) needs about"))
      << message;
}

TEST(RequestLimits, DigPathsAreBoundedByMemory) {
  igx::NeighbourIndex index(torch::arange(12, torch::kDouble).view({6, 2}), 3);
  const torch::Tensor ids = torch::tensor({{1, 2, 3}}, torch::kLong);
  const torch::Tensor moving = torch::ones({1, 3}, torch::kBool);
  const std::string message = error_of([&] {
    igx::build_dig_paths(index, ids, moving, 0, igx::DigOptions().anchors(5).neighbours(3).upscale(int64_t{1} << 40));
  });
  EXPECT_TRUE(contains(message, "DIG with 5 anchors and upscale 1099511627776 on 1 text(s) of 3 tokens needs about"))
      << message;
}

class ReliabilityCli : public igx_test::TempFolderTest {
 protected:
  void SetUp() override {
    TempFolderTest::SetUp();
    write("ones.json", "[[1.0, 1.0, 1.0]]");
  }
  static std::string model(const std::string& name) { return igx_test::test_model(name); }
};

TEST_F(ReliabilityCli, NonFiniteModelsFailInsteadOfReportingNaN) {
  const std::string base = " --input " + path("ones.json") + " --steps 16 --out " + path("r.json");
  expect_one_line_error(run_igx("explain --model " + model("nan_in_the_middle") + base),
               "gives NaN as the logit of class 0 for example 0 at alpha = 0.", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("nan_gradient") + base),
               "gives a gradient of the logit of class 0 that is NaN in 1 of its 3 entries for example 0 at alpha", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("constant") + base),
               "the output does not depend on the input", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --model " + model("no_classes") + base), "at least one class", igx::kExitFailure);
  EXPECT_FALSE(fs::exists(path("r.json")));  // a failed run writes nothing
}

TEST_F(ReliabilityCli, UsageErrorsExitWithTwoAndRunNothing) {
  const std::string base = "explain --model " + model("linear3") + " --input " + path("ones.json");
  // Two outputs on one path: refused before the model is loaded.
  expect_one_line_error(run_igx(base + " --out " + path("same") + " --npy " + path("same")),
               "--npy: '" + path("same") + "' is also the path of --out's output; give each output its own file", igx::kExitUsage);
  EXPECT_FALSE(fs::exists(path("same")));
  // Every numeric value in one style, checked before any work.
  expect_one_line_error(run_igx(base + " --steps 0"), "--steps: expected an integer ≥ 1, got 0", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --steps 1e3"), "--steps: expected an integer ≥ 1, got 1e3", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --threads -1"),
               "--threads: expected an integer from 0 to 2147483647, got -1", igx::kExitUsage);
  expect_one_line_error(run_igx(base + " --tolerance nan"), "--tolerance: expected a number in (0, 1), got nan", igx::kExitUsage);
  // Outputs are checked before the model is loaded: a missing model is not even looked at, and
  // the user's file is untouched.
  write("taken.json", "mine");
  expect_one_line_error(run_igx("explain --model " + path("missing.pt") + " --input " + path("ones.json") + " --out " +
                       path("taken.json")), "--out: '" + path("taken.json") + "' already exists; igx replaces files only with --force", igx::kExitUsage);
  EXPECT_EQ(read(path("taken.json")), "mine");
  fs::create_directories(path("study"));
  write("study/index.html", "mine");
  expect_one_line_error(run_igx("prune-study --model " + path("missing") + " --image " + path("none.png") + " --out-dir " +
                       path("study")), "--out-dir: '" + path("study") + "/index.html' already exists", igx::kExitUsage);
  EXPECT_EQ(read(path("study/index.html")), "mine");
  expect_one_line_error(run_igx(base + " --no-such-flag"),
               "The following argument was not expected: --no-such-flag (igx explain --help lists the flags)", igx::kExitUsage);
  expect_one_line_error(run_igx(""), "a command is required: explain, sweep, layer, eval, prune-study, batch or serve", igx::kExitUsage);
  // igx serve's flags read alike, and are checked before a model is loaded or a port taken.
  expect_one_line_error(run_igx("serve --port 70000"), "--port: expected an integer from 0 to 65535, got 70000", igx::kExitUsage);
  expect_one_line_error(run_igx("serve --timeout 0"), "--timeout: expected a number in (0, 86400], got 0", igx::kExitUsage);
  expect_one_line_error(run_igx("serve --batch-window-ms -1"),
               "--batch-window-ms: expected a number in [0, 10000], got -1", igx::kExitUsage);
  expect_one_line_error(run_igx("serve --model =" + model("linear3")), "the name before '=' must be non-empty", igx::kExitUsage);
  // A request the model cannot answer is the request's fault too: nothing is run.
  expect_one_line_error(run_igx(base + " --target 3"),
               "target 3 of example 0 is out of range; the model has 2 outputs, so expected 0..1", igx::kExitUsage);
  // Values read by the method's own parsers are usage errors too (they were exit 1).
  expect_one_line_error(run_igx("explain hello --method dig-greedy --dig-score nearest --out-dir " + path("dig")),
               "unknown DIG anchor score 'nearest'; expected word or point", igx::kExitUsage);
  expect_one_line_error(run_igx("explain hello --baseline max-entropy:best --out-dir " + path("entropy")),
               "--baseline 'max-entropy:best' is not valid; expected max-entropy, max-entropy:data or max-entropy:optimize", igx::kExitUsage);
  EXPECT_FALSE(fs::exists(path("dig")) || fs::exists(path("entropy")));
}

TEST_F(ReliabilityCli, MoreThreadsThanCoresAreCappedWithAWarning) {
  const std::string command = "explain --model " + model("linear3") + " --input " + path("ones.json") + " --steps 8 --threads ";
  const igx_test::CommandResult capped = run_igx(command + "100000");
  EXPECT_EQ(capped.exit_code, 0) << capped.output;
  EXPECT_TRUE(contains(capped.output, "igx: warning: --threads 100000 is more than the ")) << capped.output;
  EXPECT_TRUE(contains(capped.output, "sum of attributions = 6")) << capped.output;  // 1 + 2 + 3, as with one thread
  EXPECT_FALSE(contains(run_igx(command + "1").output, "warning")) << "one thread is never too many";
}

TEST_F(ReliabilityCli, InputFilesAreBoundedAndFoldersAreNotFiles) {
  expect_one_line_error(run_igx("explain --image /dev/zero --out-dir " + path("o")),
               "/dev/zero is larger than 256 MiB, the most igx reads for an image file", igx::kExitFailure);
  expect_one_line_error(run_igx("explain --image " + directory_.string() + " --out-dir " + path("o")),
               "is a folder; expected an image file", igx::kExitFailure);
  // A folder as --model is a bundle's folder (docs/bundles.md), and says what it lacks.
  expect_one_line_error(run_igx("explain --model " + directory_.string() + " --input " + path("ones.json")),
               "has no igx.json; expected model.pt + igx.json", igx::kExitFailure);
  // The failed image runs made their output folder and took it back.
  EXPECT_FALSE(fs::exists(path("o")));
}

TEST_F(ReliabilityCli, ReplotOfASweepWithoutRowsFailsAndKeepsTheFolder) {
  fs::create_directories(path("study"));
  write("study/sweep.csv",
        "instance,row,id,label,prediction,tokens,rule,n,gradient_evaluations,forward_rows,output_input,"
        "output_baseline,attribution_sum,delta,relative_error,seconds\n");
  write("study/adaptive.csv",
        "instance,row,id,label,prediction,tokens,strategy,rule,tolerance,max_steps,gradient_evaluations,"
        "forward_rows,certified,relative_error,error_bound,delta,seconds\n"
        "0,0,a,1,1,12,adaptive,simpson,0.05,4096,9,6,true,0.001,0.002,0.003,0.01\n");
  write("study/summary.json", "{\"model\": \"earlier\"}\n");
  expect_one_line_error(run_igx("sweep --replot " + path("study") + " --force"),
               "study/sweep.csv has no rows; expected the fixed-step results of an igx sweep", igx::kExitFailure);
  EXPECT_EQ(read(path("study/summary.json")), "{\"model\": \"earlier\"}\n");
  write("study/sweep.csv", read(path("study/sweep.csv")) + "0,0,a,1,1,12,riemann_right,16,x,2,3.5,0.5,2.9,-0.1,0.03,0.01\n");
  expect_one_line_error(run_igx("sweep --replot " + path("study") + " --force"),
               "study/sweep.csv line 2, column gradient_evaluations: expected an integer ≥ 0, got 'x'", igx::kExitFailure);
}

}  // namespace
