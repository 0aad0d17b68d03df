// JSON tensors from outside (--input x.json, baselines, request bodies): every text is either an
// array of finite numbers with a consistent shape or refused with igx::Error.
#include <cmath>
#include <string>

#include "fuzz_target.h"
#include "igx/error.h"
#include "igx/json_array.h"

IGX_FUZZ_TARGET(json_array) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  igx::NdArray array;
  try {
    array = igx::parse_json_array(text, "fuzz.json");
  } catch (const igx::Error& error) {
    igx_fuzz_check(std::string(error.what()).size() < 2000);  // one readable line, not an echo of the input
    return 0;
  }
  igx_fuzz_check(array.values.size() == array.numel());
  igx_fuzz_check(array.dtype == "i8" || array.dtype == "f8");
  for (double value : array.values) igx_fuzz_check(std::isfinite(value));
  return 0;
}
