// Image files from outside (--image, request bodies): PNG, JPEG, BMP, PGM and PPM bytes are
// either decoded into a consistent picture or refused with igx::Error; a decoded picture
// survives a PNG round trip.
#include <string>

#include "fuzz_target.h"
#include "igx/error.h"
#include "igx/image_io.h"

IGX_FUZZ_TARGET(image) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  igx::Image image;
  try {
    image = igx::decode_image(bytes, "fuzz.img");
  } catch (const igx::Error&) {
    return 0;
  }
  igx_fuzz_check(image.width >= 1 && image.height >= 1 && image.channels >= 1 && image.channels <= 4);
  igx_fuzz_check(image.pixels.size() == static_cast<size_t>(image.width) * image.height * image.channels);
  const igx::NdArray grey = igx::to_greyscale(image);
  igx_fuzz_check(grey.numel() == static_cast<size_t>(image.width) * image.height);
  for (double value : grey.values) igx_fuzz_check(value >= 0.0 && value <= 1.0);
  // Small pictures only: encoding a large one costs more than it finds.
  if (image.pixels.size() <= 4096) {
    const igx::Image again = igx::decode_image(igx::encode_png(image), "encoded.png");
    igx_fuzz_check(again.width == image.width && again.height == image.height && again.channels == image.channels);
    igx_fuzz_check(again.pixels == image.pixels);
  }
  return 0;
}
