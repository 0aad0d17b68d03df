#pragma once
// Quadrature rules on [0, 1] (or any [a, b]) for the path integral of Integrated Gradients.
// Nodes and weights are computed in double precision; every rule's weights sum to the interval
// length, so every rule integrates a linear integrand exactly.

#include <cstdint>
#include <string>
#include <vector>

namespace igx {

/// The rules, named as the ecosystem (Captum) names them.
enum class Rule {
  RiemannLeft,       ///< nodes k/n, k = 0..n-1
  RiemannRight,      ///< nodes (k+1)/n
  RiemannMiddle,     ///< nodes (k+1/2)/n
  RiemannTrapezoid,  ///< nodes k/(n-1), end weights halved; needs n >= 2
  GaussLegendre,     ///< Legendre nodes mapped to [0,1]; exact for polynomials of degree <= 2n-1
};

/// Nodes in increasing order and their weights.
struct Quadrature {
  std::vector<double> nodes;    ///< evaluation points
  std::vector<double> weights;  ///< one per node; they sum to the interval length
};

/// Most Gauss-Legendre nodes make_quadrature computes: Newton's method on P_n costs O(n^2)
/// (seconds at this n, minutes at 10^5), and the step-count study needs at most a few thousand.
constexpr int64_t kMaxGaussLegendreNodes = 20000;

/// The n-point rule on [0, 1]. Throws igx::Error for n < 1 (n < 2 for the trapezoid) and
/// igx::UsageError for Gauss-Legendre beyond kMaxGaussLegendreNodes.
Quadrature make_quadrature(Rule rule, int64_t n_points);

/// The n-point rule on [a, b] (a < b), nodes and weights mapped affinely from [0, 1].
Quadrature make_quadrature(Rule rule, int64_t n_points, double a, double b);

/// Order of accuracy: the error of the composite rule falls like h^order for smooth integrands.
int rule_order(Rule rule, int64_t n_points);

/// The rule's name as users write it ("riemann_left", ..., "gausslegendre").
std::string rule_name(Rule rule);

/// Parses a rule name; throws igx::Error listing the known names for anything else.
Rule parse_rule(const std::string& name);

/// All rule names, in declaration order.
const std::vector<std::string>& rule_names();

}  // namespace igx
