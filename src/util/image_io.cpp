#include "igx/image_io.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <limits>

#include "igx/error.h"
#include "igx/file_io.h"

// stb's functions stay private to this file (static), so they cannot clash with another copy of
// stb linked into the same program. Only the decoders igx needs are compiled in: images may
// arrive over the network, and every decoder left out is one less to trust. The decoder is
// stb_image v2.30 in third_party/ (not Debian's v2.27, whose decoders overflow on crafted files:
// third_party/README.md). Netpbm is read below instead, because stb's reader ignores the maximum
// value and does not notice truncated data.
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_FAILURE_USERMSG
// Third-party code: its unused static functions are not igx's warnings to fix.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#include "third_party/stb_image.h"
#pragma GCC diagnostic pop

#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>

namespace igx {
namespace {

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error(path + ": " + problem);
}


[[noreturn]] void fail_too_many_pixels(const std::string& path, uint64_t width, uint64_t height) {
  fail(path, "image of " + std::to_string(width) + "x" + std::to_string(height) + " pixels is larger than the " +
                 std::to_string(kMaxImagePixels) + " pixels igx decodes");
}

/// Netpbm greymaps and pixmaps: "P2"/"P3" (ASCII) or "P5"/"P6" (binary), then width, height and
/// maximum value as text ('#' starts a comment), then the samples: text, or big-endian binary of
/// one byte (maximum value < 256) or two.
class NetpbmReader {
 public:
  NetpbmReader(const std::string& bytes, const std::string& path) : bytes_(bytes), path_(path) {}

  Image read() {
    const char format = bytes_[1];
    const bool ascii = format == '2' || format == '3';
    Image image;
    image.channels = (format == '3' || format == '6') ? 3 : 1;
    position_ = 2;
    image.width = static_cast<int>(read_number("the width"));
    image.height = static_cast<int>(read_number("the height"));
    const long max_value = read_number("the maximum value");
    if (image.width < 1 || image.height < 1) fail(path_, "Netpbm image has no pixels");
    if (static_cast<uint64_t>(image.width) * static_cast<uint64_t>(image.height) > kMaxImagePixels) {
      fail_too_many_pixels(path_, image.width, image.height);
    }
    if (max_value < 1 || max_value > 65535) {
      fail(path_, "Netpbm maximum value is " + std::to_string(max_value) + ", expected 1 to 65535");
    }
    const size_t sample_count = static_cast<size_t>(image.width) * image.height * image.channels;
    const size_t bytes_per_sample = max_value < 256 ? 1 : 2;
    if (!ascii) {
      ++position_;  // the single whitespace character that ends the header
      // Checked before allocating, so that a corrupt header cannot ask for gigabytes.
      const size_t data_size = bytes_.size() - std::min(position_, bytes_.size());
      if (data_size / bytes_per_sample < sample_count) fail_truncated(image, data_size / bytes_per_sample);
      image.pixels.reserve(sample_count);
    }
    for (size_t i = 0; i < sample_count; ++i) {
      long sample;
      if (ascii) {
        skip_spaces_and_comments();
        if (position_ >= bytes_.size()) fail_truncated(image, i);
        sample = read_number("a sample");
      } else if (bytes_per_sample == 1) {
        sample = static_cast<unsigned char>(bytes_[position_++]);
      } else {
        sample = static_cast<unsigned char>(bytes_[position_]) * 256 +
                 static_cast<unsigned char>(bytes_[position_ + 1]);
        position_ += 2;
      }
      if (sample > max_value) {
        fail(path_, "Netpbm sample " + std::to_string(i) + " is " + std::to_string(sample) +
                        ", above the maximum value " + std::to_string(max_value));
      }
      image.pixels.push_back(static_cast<uint8_t>((sample * 255 + max_value / 2) / max_value));
    }
    return image;
  }

 private:
  void skip_spaces_and_comments() {
    while (position_ < bytes_.size()) {
      if (bytes_[position_] == '#') {
        while (position_ < bytes_.size() && bytes_[position_] != '\n') ++position_;
      } else if (std::isspace(static_cast<unsigned char>(bytes_[position_]))) {
        ++position_;
      } else {
        return;
      }
    }
  }

  long read_number(const char* what) {
    skip_spaces_and_comments();
    const size_t start = position_;
    long value = 0;
    while (position_ < bytes_.size() && std::isdigit(static_cast<unsigned char>(bytes_[position_]))) {
      value = value * 10 + (bytes_[position_++] - '0');
      if (value > 1000000) fail(path_, std::string("malformed Netpbm file: ") + what + " is too large");
    }
    if (position_ == start) fail(path_, std::string("malformed Netpbm file: expected ") + what);
    return value;
  }

  [[noreturn]] void fail_truncated(const Image& image, size_t samples_found) const {
    fail(path_, "truncated Netpbm data: " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                    " with " + std::to_string(image.channels) + " channel(s) needs " +
                    std::to_string(static_cast<size_t>(image.width) * image.height * image.channels) +
                    " samples, found " + std::to_string(samples_found));
  }

  const std::string& bytes_;
  const std::string& path_;
  size_t position_ = 0;
};

bool starts_with(const std::string& bytes, const char* prefix) {
  return bytes.compare(0, std::strlen(prefix), prefix) == 0;
}

/// Throws unless the image has a size, 1 to 4 channels and exactly the bytes its size needs.
void check_consistent(const Image& image, const std::string& context) {
  const bool sized = image.width >= 1 && image.height >= 1 && image.channels >= 1 && image.channels <= 4;
  const size_t needed = sized ? static_cast<size_t>(image.width) * image.height * image.channels : 0;
  if (!sized || image.pixels.size() != needed) {
    fail(context, "inconsistent image: " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                      " with " + std::to_string(image.channels) + " channels and " +
                      std::to_string(image.pixels.size()) +
                      " bytes of pixels; expected 1 to 4 channels and " + "width x height x channels bytes");
  }
}

void append_to_string(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

}  // namespace

Image decode_image(const std::string& bytes, const std::string& source_name) {
  for (const char* format : {"P2", "P3", "P5", "P6"}) {
    if (starts_with(bytes, format)) return NetpbmReader(bytes, source_name).read();
  }
  for (const char* format : {"P1", "P4", "P7"}) {
    if (starts_with(bytes, format)) {
      fail(source_name, std::string("Netpbm format ") + format + " is not supported; expected P2, P3, P5 or P6");
    }
  }
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    fail(source_name, "too large to decode (" + std::to_string(bytes.size()) + " bytes)");
  }
  const auto* data = reinterpret_cast<const stbi_uc*>(bytes.data());
  const int size = static_cast<int>(bytes.size());
  Image image;
  // The size comes from the header: checked before decoding, so that a small file that claims
  // an enormous picture is refused instead of allocated.
  if (stbi_info_from_memory(data, size, &image.width, &image.height, &image.channels) &&
      static_cast<uint64_t>(image.width) * static_cast<uint64_t>(image.height) > kMaxImagePixels) {
    fail_too_many_pixels(source_name, image.width, image.height);
  }
  stbi_uc* pixels = stbi_load_from_memory(data, size, &image.width, &image.height, &image.channels, 0);
  if (pixels == nullptr) {
    fail(source_name, std::string("cannot decode as a PNG, JPEG, BMP, PGM or PPM image: ") + stbi_failure_reason());
  }
  // stb_image accepts some headers that describe no picture (a BMP of height 0, say).
  if (image.width < 1 || image.height < 1 || image.channels < 1 || image.channels > 4) {
    stbi_image_free(pixels);
    fail(source_name, "describes a picture of " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                          " pixels and " + std::to_string(image.channels) +
                          " channels; expected at least 1x1 pixels and 1 to 4 channels");
  }
  image.pixels.assign(pixels, pixels + static_cast<size_t>(image.width) * image.height * image.channels);
  stbi_image_free(pixels);
  return image;
}

Image read_image(const std::string& path) {
  return decode_image(read_file_bytes(path, kMaxImageFileBytes, "an image file"), path);
}

NdArray to_greyscale(const Image& image) {
  check_consistent(image, "greyscale conversion");
  NdArray grey{{image.height, image.width}, {}, "f4"};
  grey.values.reserve(static_cast<size_t>(image.width) * image.height);
  for (size_t pixel = 0; pixel < grey.numel(); ++pixel) {
    const uint8_t* sample = &image.pixels[pixel * image.channels];
    int level = sample[0];
    if (image.channels >= 3) {
      // PIL's fixed-point ITU-R 601 luma, so that images match what Python pipelines feed models.
      level = (sample[0] * 19595 + sample[1] * 38470 + sample[2] * 7471 + 0x8000) >> 16;
    }
    grey.values.push_back(static_cast<float>(level) / 255.0f);
  }
  return grey;
}

void require_size(const Image& image, int width, int height, const std::string& path) {
  if (image.width != width || image.height != height) {
    throw Error(path + " is " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                ", the model expects " + std::to_string(width) + "x" + std::to_string(height));
  }
}

std::string encode_png(const Image& image, const std::string& context) {
  check_consistent(image, context);
  std::string png;
  if (!stbi_write_png_to_func(append_to_string, &png, image.width, image.height, image.channels,
                              image.pixels.data(), image.width * image.channels)) {
    fail(context, "cannot encode PNG");
  }
  return png;
}

void write_png(const std::string& path, const Image& image) { write_file_bytes(path, encode_png(image, path)); }

}  // namespace igx
