// .npy files from outside: every byte string is either read or refused with igx::Error, and
// what is read survives a write and a second read unchanged.
#include <cmath>
#include <string>

#include "fuzz_target.h"
#include "igx/error.h"
#include "igx/npy.h"

IGX_FUZZ_TARGET(npy) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  igx::NdArray array;
  try {
    array = igx::parse_npy(bytes, "fuzz.npy");
  } catch (const igx::Error&) {
    return 0;
  }
  igx_fuzz_check(array.values.size() == array.numel());
  // Written back as float64 (exact for every dtype read) and read again: the same array.
  igx::NdArray written = array;
  written.dtype = "f8";
  const igx::NdArray again = igx::parse_npy(igx::serialize_npy(written), "written.npy");
  igx_fuzz_check(again.shape == array.shape);
  for (size_t i = 0; i < array.values.size(); ++i) {
    const double a = array.values[i], b = again.values[i];
    igx_fuzz_check((std::isnan(a) && std::isnan(b)) || a == b);
  }
  return 0;
}
