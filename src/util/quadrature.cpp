#include "igx/quadrature.h"

#include <cmath>
#include <map>
#include <mutex>

#include "igx/error.h"
#include "igx/json_text.h"

namespace igx {
namespace {

struct NamedRule {
  Rule rule;
  const char* name;
};

constexpr NamedRule kRules[] = {
    {Rule::RiemannLeft, "riemann_left"},
    {Rule::RiemannRight, "riemann_right"},
    {Rule::RiemannMiddle, "riemann_middle"},
    {Rule::RiemannTrapezoid, "riemann_trapezoid"},
    {Rule::GaussLegendre, "gausslegendre"},
};

// P_n(x) and its derivative by the three-term recurrence.
struct LegendreValue {
  double value;
  double derivative;
};

LegendreValue legendre(int64_t n, double x) {
  double p_previous = 1.0;
  double p = x;
  for (int64_t k = 2; k <= n; ++k) {
    const double p_next = ((2.0 * k - 1.0) * x * p - (k - 1.0) * p_previous) / k;
    p_previous = p;
    p = p_next;
  }
  return {p, static_cast<double>(n) * (x * p - p_previous) / (x * x - 1.0)};
}

// Legendre nodes on [-1, 1] by Newton's method on P_n, from the asymptotic initial guess
// (Abramowitz & Stegun 22.16.6); the weights are 2 / ((1 - x^2) P_n'(x)^2). Converges to full
// double precision in a few iterations for every n we use (up to tens of thousands).
Quadrature gauss_legendre_unit(int64_t n) {
  Quadrature q;
  q.nodes.resize(n);
  q.weights.resize(n);
  const double pi = std::acos(-1.0);
  for (int64_t i = 0; i < (n + 1) / 2; ++i) {
    double x = std::cos(pi * (static_cast<double>(i) + 0.75) / (static_cast<double>(n) + 0.5));
    for (int iteration = 0; iteration < 100; ++iteration) {
      const LegendreValue p = legendre(n, x);
      const double step = p.value / p.derivative;
      x -= step;
      if (std::abs(step) <= 1e-16) break;
    }
    const double derivative = legendre(n, x).derivative;
    const double weight = 1.0 / ((1.0 - x * x) * derivative * derivative);  // halved for [0, 1]
    // x is the i-th largest root; store the pair symmetrically, in increasing order on [0, 1].
    q.nodes[i] = 0.5 * (1.0 - x);
    q.nodes[n - 1 - i] = 0.5 * (1.0 + x);
    q.weights[i] = q.weights[n - 1 - i] = weight;
  }
  if (n % 2 == 1) q.nodes[n / 2] = 0.5;  // the middle root of an odd rule is exactly 0
  return q;
}

// Gauss-Legendre rules are computed once per n and process: Newton's method on P_n costs O(n^2)
// (~30 us at n = 50, ~0.5 % of a small MLP's IG call, docs/benchmarks.md), and a server or a
// study asks for the same few n again and again. The cache holds at most kCachedRules rules
// (a 20 000-node rule is 320 KB); when full it starts afresh.
constexpr size_t kCachedRules = 64;

Quadrature cached_gauss_legendre_unit(int64_t n) {
  static std::mutex mutex;
  static std::map<int64_t, Quadrature> rules;
  const std::lock_guard<std::mutex> lock(mutex);
  const auto found = rules.find(n);
  if (found != rules.end()) return found->second;
  if (rules.size() >= kCachedRules) rules.clear();
  return rules.emplace(n, gauss_legendre_unit(n)).first->second;
}

}  // namespace

Quadrature make_quadrature(Rule rule, int64_t n_points) {
  if (n_points < 1) {
    throw Error("number of steps must be at least 1, got " + std::to_string(n_points));
  }
  if (rule == Rule::GaussLegendre && n_points > kMaxGaussLegendreNodes) {
    throw UsageError("Gauss-Legendre with " + std::to_string(n_points) + " nodes: computing them takes time growing as "
                     "n^2 (minutes at 10^5); expected at most " + std::to_string(kMaxGaussLegendreNodes) +
                     " nodes, or a Riemann rule");
  }
  Quadrature q;
  const double n = static_cast<double>(n_points);
  switch (rule) {
    case Rule::RiemannLeft:
    case Rule::RiemannRight:
    case Rule::RiemannMiddle: {
      const double offset = rule == Rule::RiemannLeft ? 0.0 : rule == Rule::RiemannRight ? 1.0 : 0.5;
      q.nodes.resize(n_points);
      q.weights.assign(n_points, 1.0 / n);
      for (int64_t k = 0; k < n_points; ++k) q.nodes[k] = (static_cast<double>(k) + offset) / n;
      break;
    }
    case Rule::RiemannTrapezoid: {
      if (n_points < 2) {
        throw Error("riemann_trapezoid needs at least 2 steps, got " + std::to_string(n_points));
      }
      q.nodes.resize(n_points);
      q.weights.assign(n_points, 1.0 / (n - 1.0));
      for (int64_t k = 0; k < n_points; ++k) q.nodes[k] = static_cast<double>(k) / (n - 1.0);
      q.nodes.back() = 1.0;
      q.weights.front() = q.weights.back() = 0.5 / (n - 1.0);
      break;
    }
    case Rule::GaussLegendre:
      q = cached_gauss_legendre_unit(n_points);
      break;
  }
  return q;
}

Quadrature make_quadrature(Rule rule, int64_t n_points, double a, double b) {
  if (!(a < b)) {
    throw Error("quadrature interval must satisfy a < b, got [" + std::to_string(a) + ", " +
                std::to_string(b) + "]");
  }
  Quadrature q = make_quadrature(rule, n_points);
  const double length = b - a;
  for (size_t k = 0; k < q.nodes.size(); ++k) {
    // Keep the end points exact: a node at 1 maps to b, not to a + (b - a).
    q.nodes[k] = q.nodes[k] == 1.0 ? b : a + length * q.nodes[k];
    q.weights[k] *= length;
  }
  return q;
}

int rule_order(Rule rule, int64_t n_points) {
  switch (rule) {
    case Rule::RiemannLeft:
    case Rule::RiemannRight:
      return 1;
    case Rule::RiemannMiddle:
    case Rule::RiemannTrapezoid:
      return 2;
    case Rule::GaussLegendre:
      return static_cast<int>(2 * n_points);
  }
  return 1;
}

std::string rule_name(Rule rule) {
  for (const auto& named : kRules) {
    if (named.rule == rule) return named.name;
  }
  throw Error("unknown quadrature rule value " + std::to_string(static_cast<int>(rule)));
}

const std::vector<std::string>& rule_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const auto& named : kRules) all.emplace_back(named.name);
    return all;
  }();
  return names;
}

Rule parse_rule(const std::string& name) {
  for (const auto& named : kRules) {
    if (name == named.name) return named.rule;
  }
  std::string known;
  for (const auto& named : kRules) known += std::string(known.empty() ? "" : ", ") + named.name;
  throw UsageError("unknown integration method '" + clip_text(name) + "'; expected one of: " + known);
}

}  // namespace igx
