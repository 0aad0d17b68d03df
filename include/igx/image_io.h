#pragma once
/// Reading and writing 8-bit images: PNG, JPEG and BMP through stb_image, and the Netpbm
/// formats PGM/PPM (binary P5/P6 and ASCII P2/P3, 8 or 16 bits) read here.

#include <cstdint>
#include <string>
#include <vector>

#include "igx/npy.h"

namespace igx {

/// An 8-bit image with interleaved channels.
struct Image {
  int width = 0;                ///< pixels per row
  int height = 0;               ///< rows
  int channels = 0;             ///< 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA
  std::vector<uint8_t> pixels;  ///< height × width × channels bytes, row-major, channels interleaved
};

/// Largest image file read (bytes) and largest picture decoded (width x height): an 8k x 8k
/// picture, far beyond what a classifier takes, and a bound on what a hostile header can ask for.
constexpr size_t kMaxImageFileBytes = size_t{256} << 20;
constexpr uint64_t kMaxImagePixels = uint64_t{1} << 26;

/// Reads a PNG, JPEG, BMP, PGM or PPM file, keeping its channels. Netpbm samples with a maximum
/// value other than 255 are rescaled to 0..255. Throws igx::Error naming the path if the file
/// cannot be read, is larger than kMaxImageFileBytes, holds more than kMaxImagePixels pixels, or
/// is not an image of these formats (with the decoder's reason).
Image read_image(const std::string& path);

/// The same for the bytes of such a file (a server's upload, say); `source_name` names them in
/// messages.
Image decode_image(const std::string& bytes, const std::string& source_name);

/// The image as greyscale in [0, 1]: an NdArray of shape (height, width) and dtype "f4".
/// Colour is weighted as ITU-R 601 luma (0.299 R + 0.587 G + 0.114 B, as PIL's convert("L"));
/// alpha is ignored.
NdArray to_greyscale(const Image& image);

/// Throws igx::Error unless the image is width × height, e.g.
/// "digit.png is 32x32, the model expects 28x28".
void require_size(const Image& image, int width, int height, const std::string& path);

/// Writes an image with 1 to 4 channels as an 8-bit PNG. Throws igx::Error naming the path if
/// the image is inconsistent (pixels.size() != width × height × channels) or cannot be written.
void write_png(const std::string& path, const Image& image);

/// The PNG bytes write_png writes; igx::Error naming `context` for an inconsistent image.
std::string encode_png(const Image& image, const std::string& context = "PNG encoding");

}  // namespace igx
