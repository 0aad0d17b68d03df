// The HTML report as a person sees it: rendered by headless Chromium, the screenshot must show
// the tokens on green and red backgrounds. Skipped where Chromium is not installed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "igx/image_io.h"

namespace {

namespace fs = std::filesystem;

TEST(HtmlReport, ScreenshotShowsGreenAndRedTokens) {
  if (!fs::exists("/usr/bin/chromium")) GTEST_SKIP() << "Chromium is not installed (scripts/setup.sh installs it)";
  const fs::path directory = fs::temp_directory_path() / ("igx_browser_" + std::to_string(::getpid()));
  fs::remove_all(directory);
  const std::string explain = std::string(IGX_CLI_PATH) +
                              " explain \"Congratulations! You have WON a free cruise. Click here to claim your prize now\" \"Hi Bob, the meeting moved to Friday at 10am, see you there\""
                              " --steps 32 --no-color --out-dir " + (directory / "out").string() + " > /dev/null";
  ASSERT_EQ(std::system(explain.c_str()), 0);
  const std::string screenshot = (directory / "report.png").string();
  const std::string chromium =
      "/usr/bin/chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
      "--disable-background-networking --disable-component-update --disable-sync --user-data-dir=" +
      (directory / "profile").string() + " --window-size=1200,600 --screenshot=" + screenshot + " file://" +
      (directory / "out" / "explanation.html").string() + " > /dev/null 2>&1";
  ASSERT_EQ(std::system(chromium.c_str()), 0);

  const igx::Image image = igx::read_image(screenshot);
  ASSERT_EQ(image.width, 1200);
  // Count below the title and legend (whose colour chips would pass on their own).
  int green = 0, red = 0, dark = 0;
  for (int y = 125; y < image.height; ++y) {
    for (int x = 0; x < image.width; ++x) {
      const size_t i = (static_cast<size_t>(y) * image.width + x) * image.channels;
      const int r = image.pixels[i], g = image.pixels[i + 1], b = image.pixels[i + 2];
      if (g > r + 40 && g > b + 20) ++green;  // a positive token's background
      if (r > g + 60 && r > b + 60) ++red;    // a negative token's background
      if (r + g + b < 150) ++dark;            // text
    }
  }
  EXPECT_GT(green, 100) << "no green token backgrounds in " << screenshot;
  EXPECT_GT(red, 100) << "no red token backgrounds in " << screenshot;
  EXPECT_GT(dark, 2000) << "no text in " << screenshot;
  fs::remove_all(directory);
}

}  // namespace
