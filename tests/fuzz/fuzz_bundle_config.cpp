// igx.json of a model bundle: any text is either a description with a known task or refused with
// igx::Error, and the accessors of an accepted one never throw anything else.
#include <string>

#include "fuzz_target.h"
#include "igx/bundle.h"
#include "igx/error.h"

IGX_FUZZ_TARGET(bundle_config) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  try {
    const igx::BundleConfig config = igx::parse_bundle_config(text, "fuzz-bundle");
    igx_fuzz_check(config.task == "text" || config.task == "image" || config.task == "tabular");
    for (int64_t k = -1; k <= static_cast<int64_t>(config.labels.size()); ++k) igx_fuzz_check(!config.label(k).empty());
    for (const char* role : {"forward", "embed", "forward_embeds", "embedding_matrix"}) config.method(role, role);
  } catch (const igx::Error&) {
  }
  return 0;
}
