#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <string>

#include "igx/error.h"
#include "igx/image_io.h"
#include "../test_support.h"

namespace {

using igx_test::error_of;
using igx_test::contains;

/// A file in the test temp directory, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& name) : path_(::testing::TempDir() + "igx_image_io_" + name) {}
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }
  void write(const std::string& bytes) const { std::ofstream(path_, std::ios::binary) << bytes; }

 private:
  std::string path_;
};

template <size_t N>
std::string bytes(const char (&literal)[N]) {
  return std::string(literal, N - 1);
}

TEST(ImageIo, PngRoundTripsGreyAndColour) {
  const TempFile file("round_trip.png");
  const igx::Image grey{3, 2, 1, {0, 1, 2, 128, 254, 255}};
  igx::write_png(file.path(), grey);
  const igx::Image grey_back = igx::read_image(file.path());
  EXPECT_EQ(grey_back.width, 3);
  EXPECT_EQ(grey_back.height, 2);
  EXPECT_EQ(grey_back.channels, 1);
  EXPECT_EQ(grey_back.pixels, grey.pixels);

  const igx::Image colour{2, 1, 3, {255, 0, 0, 10, 200, 30}};
  igx::write_png(file.path(), colour);
  const igx::Image colour_back = igx::read_image(file.path());
  EXPECT_EQ(colour_back.channels, 3);
  EXPECT_EQ(colour_back.pixels, colour.pixels);
}

TEST(ImageIo, ReadsAPngWrittenByPil) {
  // Image.fromarray(np.array([[0, 128, 255], [10, 20, 30]], np.uint8), "L").save(..., "PNG")
  const TempFile file("pil.png");
  file.write(
      bytes("\211PNG\015\012\032\012\000\000\000\015IHDR\000\000\000\003\000\000\000\002\010\000\000\000"
            "\000\270\0379\306\000\000\000\020IDATx\234c`h\370\317\310\305\305\005\000\010C\001\237\262"
            "\203\024\005\000\000\000\000IEND\256B`\202"));
  const igx::Image image = igx::read_image(file.path());
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 128, 255, 10, 20, 30}));
}

TEST(ImageIo, ReadsHandWrittenNetpbm) {
  const TempFile file("digit.pgm");
  file.write(std::string("P5\n# a comment\n3 2\n255\n") + std::string("\x00\x40\x80\xc0\xff\x01", 6));
  igx::Image image = igx::read_image(file.path());
  EXPECT_EQ(image.width, 3);
  EXPECT_EQ(image.height, 2);
  EXPECT_EQ(image.channels, 1);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 0x40, 0x80, 0xc0, 0xff, 1}));

  file.write("P2 # ASCII, maximum value 15\n2 2 15\n0 15\n# half way\n5 10\n");
  image = igx::read_image(file.path());
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{0, 255, 85, 170}));

  file.write("P3\n1 1\n65535\n65535 0 32768\n");
  image = igx::read_image(file.path());
  EXPECT_EQ(image.channels, 3);
  EXPECT_EQ(image.pixels, (std::vector<uint8_t>{255, 0, 128}));

  file.write(std::string("P6 1 1 65535\n") + std::string("\xff\xff\x00\x00\x80\x00", 6));  // big-endian
  EXPECT_EQ(igx::read_image(file.path()).pixels, (std::vector<uint8_t>{255, 0, 128}));
}

TEST(ImageIo, RejectsDamagedNetpbm) {
  const TempFile file("damaged.pgm");
  file.write("P5\n28 28\n255\n" + std::string(100, '\0'));
  std::string message = error_of([&] { igx::read_image(file.path()); });
  EXPECT_TRUE(contains(message, file.path()) && contains(message, "truncated") &&
              contains(message, "needs 784 samples, found 100"))
      << message;

  file.write("P2\n2 2\n255\n0 1 2\n");
  message = error_of([&] { igx::read_image(file.path()); });
  EXPECT_TRUE(contains(message, "needs 4 samples, found 3")) << message;

  file.write("P2\n1 1\n15\n16\n");
  message = error_of([&] { igx::read_image(file.path()); });
  EXPECT_TRUE(contains(message, "16, above the maximum value 15")) << message;

  file.write("P4\n8 1\n\xff");
  message = error_of([&] { igx::read_image(file.path()); });
  EXPECT_TRUE(contains(message, "P4 is not supported")) << message;
}

TEST(ImageIo, ATextFileIsNotAnImage) {
  const TempFile file("notes.png");
  file.write("these are notes, not a picture\n");
  const std::string message = error_of([&] { igx::read_image(file.path()); });
  EXPECT_TRUE(contains(message, file.path()) && contains(message, "cannot decode")) << message;
}

TEST(ImageIo, ReportsUnreadableAndUnwritablePaths) {
  std::string message = error_of([] { igx::read_image("/nonexistent/digit.png"); });
  EXPECT_TRUE(contains(message, "/nonexistent/digit.png") && contains(message, "cannot open")) << message;
  message = error_of([] { igx::write_png("/nonexistent/out.png", igx::Image{1, 1, 1, {0}}); });
  EXPECT_EQ(message, "/nonexistent/out.png: cannot write: folder '/nonexistent' does not exist");
  message = error_of([] { igx::write_png("short.png", igx::Image{2, 2, 3, {0, 0, 0}}); });
  EXPECT_TRUE(contains(message, "short.png") && contains(message, "inconsistent image")) << message;
}

TEST(ImageIo, GreyscaleMatchesPil) {
  // Values from PIL: Image.fromarray(rgb).convert("L") gives 76 for pure red, 150 for pure green.
  const igx::NdArray grey = igx::to_greyscale(igx::Image{3, 1, 3, {255, 0, 0, 0, 255, 0, 255, 255, 255}});
  EXPECT_EQ(grey.shape, (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(grey.dtype, "f4");
  EXPECT_EQ(grey.values, (std::vector<double>{76 / 255.0f, 150 / 255.0f, 1.0f}));
  const igx::NdArray from_grey = igx::to_greyscale(igx::Image{2, 1, 2, {51, 0, 255, 9}});  // alpha ignored
  EXPECT_EQ(from_grey.values, (std::vector<double>{0.2f, 1.0f}));
}

TEST(ImageIo, RequireSizeNamesBothSizes) {
  const igx::Image image{32, 32, 1, std::vector<uint8_t>(32 * 32)};
  igx::require_size(image, 32, 32, "digit.png");
  const std::string message = error_of([&] { igx::require_size(image, 28, 28, "digit.png"); });
  EXPECT_EQ(message, "digit.png is 32x32, the model expects 28x28");
}

}  // namespace
