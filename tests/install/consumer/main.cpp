// Uses an installed igx: Integrated Gradients of F(x) = sum(x^2) (IG_i = x_i^2 from a zero
// baseline, exactly), and the shipped spam-transformer found by name in the installed models.
#include <igx/igx.h>
#include <igx/text.h>

#include <cmath>
#include <iostream>

int main() {
  igx::FunctionModel square([](const torch::Tensor& x) { return (x * x).sum(1, true); }, "sum of squares");
  const torch::Tensor x = torch::tensor({{1.0, -2.0, 3.0}}, torch::kDouble);
  const igx::Attribution result =
      igx::integrated_gradients(square, x, igx::IgOptions().n_steps(8).method(igx::Rule::GaussLegendre));
  const torch::Tensor expected = x * x;
  if (!torch::allclose(result.values, expected, 1e-9, 1e-9)) {
    std::cerr << "consumer: IG " << result.values << " differs from x^2 " << expected << "\n";
    return 1;
  }
  const std::string bundle = igx::find_bundle("spam-transformer");
  if (bundle.rfind(IGX_INSTALLED_MODELS, 0) != 0) {
    std::cerr << "consumer: spam-transformer found at " << bundle << ", not in " << IGX_INSTALLED_MODELS << "\n";
    return 1;
  }
  igx::TextClassifier classifier = igx::TextClassifier::load(bundle);
  const igx::TextBatch batch = classifier.encode({"win a free cruise now"});
  std::cout << "consumer: IG = x^2 exactly; " << bundle << " gives " << classifier.logits(batch.ids, batch.mask).sizes()
            << " logits\n";
  return 0;
}
