// Quadrature rules: weights, exactness, and the closed-form error of each rule on a polynomial.
#include <gtest/gtest.h>

#include <cmath>

#include "igx/error.h"
#include "igx/quadrature.h"

namespace {

double integrate_power(const igx::Quadrature& q, int power) {
  double sum = 0.0;
  for (size_t k = 0; k < q.nodes.size(); ++k) sum += q.weights[k] * std::pow(q.nodes[k], power);
  return sum;
}

class EveryRule : public ::testing::TestWithParam<igx::Rule> {};

// A linear model has a constant gradient along the path: weights summing to 1 make it exact.
TEST_P(EveryRule, WeightsSumToOne) {
  for (int64_t n : {2, 3, 7, 50, 1000}) {
    const igx::Quadrature q = igx::make_quadrature(GetParam(), n);
    ASSERT_EQ(q.nodes.size(), static_cast<size_t>(n));
    EXPECT_NEAR(integrate_power(q, 0), 1.0, 1e-13) << igx::rule_name(GetParam()) << " n=" << n;
    for (size_t k = 0; k < q.nodes.size(); ++k) {
      EXPECT_GE(q.nodes[k], 0.0);
      EXPECT_LE(q.nodes[k], 1.0);
      if (k > 0) EXPECT_LT(q.nodes[k - 1], q.nodes[k]);
    }
  }
}

TEST_P(EveryRule, MapsToAnInterval) {
  const igx::Quadrature q = igx::make_quadrature(GetParam(), 8, 0.25, 0.75);
  EXPECT_NEAR(integrate_power(q, 0), 0.5, 1e-14);
  const igx::Quadrature unit = igx::make_quadrature(GetParam(), 8);
  for (size_t k = 0; k < q.nodes.size(); ++k) EXPECT_NEAR(q.nodes[k], 0.25 + 0.5 * unit.nodes[k], 1e-15);
}

// Left and right sums are first order: on the integrand a they miss by -1/(2n) and +1/(2n).
TEST(Quadrature, LinearIntegrandClosedForms) {
  for (int64_t n : {1, 4, 25}) {
    const double nd = static_cast<double>(n);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannLeft, n), 1), 0.5 - 0.5 / nd, 1e-14);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannRight, n), 1), 0.5 + 0.5 / nd, 1e-14);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannMiddle, n), 1), 0.5, 1e-14);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::GaussLegendre, n), 1), 0.5, 1e-14);
    if (n >= 2) EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannTrapezoid, n), 1), 0.5, 1e-14);
  }
}

INSTANTIATE_TEST_SUITE_P(Rules, EveryRule,
                         ::testing::Values(igx::Rule::RiemannLeft, igx::Rule::RiemannRight,
                                           igx::Rule::RiemannMiddle, igx::Rule::RiemannTrapezoid,
                                           igx::Rule::GaussLegendre),
                         [](const auto& info) { return igx::rule_name(info.param); });

// The error of each rule on a^2 (exact integral 1/3) has a closed form.
TEST(Quadrature, RiemannErrorsOnSquareMatchClosedForms) {
  for (int64_t n : {1, 2, 5, 64, 999}) {
    const double nd = static_cast<double>(n);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannLeft, n), 2) - 1.0 / 3.0,
                -1.0 / (2 * nd) + 1.0 / (6 * nd * nd), 1e-14);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannRight, n), 2) - 1.0 / 3.0,
                1.0 / (2 * nd) + 1.0 / (6 * nd * nd), 1e-14);
    EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannMiddle, n), 2) - 1.0 / 3.0,
                -1.0 / (12 * nd * nd), 1e-14);
    if (n >= 2) {
      const double intervals = nd - 1.0;
      EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::RiemannTrapezoid, n), 2) - 1.0 / 3.0,
                  1.0 / (6 * intervals * intervals), 1e-14);
    }
  }
}

TEST(Quadrature, GaussLegendreIsExactUpToDegree2nMinus1) {
  for (int64_t n : {1, 2, 3, 5, 10, 20}) {
    const igx::Quadrature q = igx::make_quadrature(igx::Rule::GaussLegendre, n);
    for (int degree = 0; degree <= 2 * n - 1; ++degree) {
      EXPECT_NEAR(integrate_power(q, degree), 1.0 / (degree + 1), 1e-13) << "n=" << n << " degree=" << degree;
    }
    if (n <= 5) {  // beyond, the degree-2n error is below double precision
      EXPECT_GT(std::abs(integrate_power(q, static_cast<int>(2 * n)) - 1.0 / (2 * n + 1)), 1e-8)
          << "n=" << n << " should not be exact at degree 2n";
    }
  }
  // Two points on a^4: 7/36 against the exact 1/5.
  EXPECT_NEAR(integrate_power(igx::make_quadrature(igx::Rule::GaussLegendre, 2), 4), 7.0 / 36.0, 1e-15);
}

TEST(Quadrature, GaussLegendreKnownNodes) {
  const igx::Quadrature q = igx::make_quadrature(igx::Rule::GaussLegendre, 2);
  EXPECT_NEAR(q.nodes[0], 0.5 - 0.5 / std::sqrt(3.0), 1e-16);
  EXPECT_NEAR(q.nodes[1], 0.5 + 0.5 / std::sqrt(3.0), 1e-16);
  EXPECT_DOUBLE_EQ(q.weights[0], 0.5);
  const igx::Quadrature large = igx::make_quadrature(igx::Rule::GaussLegendre, 5000);
  EXPECT_NEAR(integrate_power(large, 0), 1.0, 1e-12);
  EXPECT_NEAR(integrate_power(large, 7), 1.0 / 8.0, 1e-12);
}

TEST(Quadrature, TrapezoidEndsAreExactAndHalved) {
  const igx::Quadrature q = igx::make_quadrature(igx::Rule::RiemannTrapezoid, 5);
  EXPECT_EQ(q.nodes.front(), 0.0);
  EXPECT_EQ(q.nodes.back(), 1.0);
  EXPECT_DOUBLE_EQ(q.weights.front(), 0.125);
  EXPECT_DOUBLE_EQ(q.weights[1], 0.25);
}

TEST(Quadrature, BadArgumentsAreNamed) {
  EXPECT_THROW(igx::make_quadrature(igx::Rule::RiemannLeft, 0), igx::Error);
  try {
    igx::make_quadrature(igx::Rule::RiemannTrapezoid, 1);
    FAIL();
  } catch (const igx::Error& error) {
    EXPECT_NE(std::string(error.what()).find("at least 2"), std::string::npos);
  }
  try {
    igx::parse_rule("simpson");
    FAIL();
  } catch (const igx::Error& error) {
    EXPECT_NE(std::string(error.what()).find("'simpson'"), std::string::npos);
    EXPECT_NE(std::string(error.what()).find("gausslegendre"), std::string::npos);
  }
  for (const auto& name : igx::rule_names()) EXPECT_EQ(igx::rule_name(igx::parse_rule(name)), name);
}

}  // namespace
