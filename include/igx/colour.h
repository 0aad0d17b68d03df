#pragma once
#include <cstdint>

namespace igx {

/// A colour with 8-bit channels, shared by every picture igx draws.
struct Rgb {
  uint8_t r = 0;  ///< red
  uint8_t g = 0;  ///< green
  uint8_t b = 0;  ///< blue
};

}  // namespace igx
