// Built with `pkg-config --cflags --libs igx` alone: the bundle lookup and the tokenizer of an
// installed igx, linked with its libraries and LibTorch's.
#include <igx/bundle.h>
#include <igx/tokenizer.h>

#include <iostream>

int main() {
  const igx::BundleConfig config = igx::load_bundle_config(igx::find_bundle("spam-transformer"));
  const auto tokenizer = igx::WordPieceTokenizer::from_file(config.file("vocab.txt"));
  const igx::Encoding encoding = tokenizer.encode("win a free cruise", 16);
  std::cout << "pkg-config consumer: " << config.directory << ", " << encoding.tokens.size() << " tokens\n";
  return encoding.tokens.front() == "[CLS]" && config.labels.size() == 2 ? 0 : 1;
}
