// PIL-exact resampling: src/model/image_ops.h against Pillow 9.4's own outputs on real scenes
// (tools/testdata_resample.py: Landsat, RSVQA Sentinel-2, SpaceNet Rotterdam RGB, building masks).
#include "model/image_ops.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "model/raw_array_file.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using testing::read_gray;
using testing::read_rgb;
using testing::resample_cases;
using testing::resample_dir;

template <typename Image>
int max_abs_diff(const Image& a, const Image& b) {
  int worst = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) {
    worst =
        std::max(worst, std::abs(static_cast<int>(a.pixels[i]) - static_cast<int>(b.pixels[i])));
  }
  return worst;
}

TEST(ResizeBicubic, BitExactWithPilOnRealScenes) {
  const nlohmann::json cases = resample_cases("bicubic");
  ASSERT_GE(cases.size(), 40u);
  int worst = 0;
  for (const auto& c : cases) {
    const RgbImage input = read_rgb(resample_dir() + c["input"].get<std::string>());
    const RgbImage expected = read_rgb(resample_dir() + c["output"].get<std::string>());
    const RgbImage got = resize_bicubic(input, c["width"], c["height"]);
    ASSERT_EQ(got.width, expected.width) << c["name"];
    ASSERT_EQ(got.height, expected.height) << c["name"];
    ASSERT_EQ(got.pixels.size(), expected.pixels.size()) << c["name"];
    const int diff = max_abs_diff(got, expected);
    EXPECT_EQ(diff, 0) << c["name"] << ": max difference to PIL " << diff << " grey levels";
    worst = std::max(worst, diff);
  }
  std::printf("bicubic vs PIL: %zu cases, max difference %d grey levels\n", cases.size(), worst);
}

TEST(ResizeNearest, BitExactWithPilOnMasksAndBands) {
  const nlohmann::json cases = resample_cases("nearest");
  ASSERT_GE(cases.size(), 40u);
  for (const auto& c : cases) {
    const GrayImage input = read_gray(resample_dir() + c["input"].get<std::string>());
    const GrayImage expected = read_gray(resample_dir() + c["output"].get<std::string>());
    const GrayImage got = resize_nearest(input, c["width"], c["height"]);
    ASSERT_EQ(got.width, expected.width) << c["name"];
    ASSERT_EQ(got.height, expected.height) << c["name"];
    EXPECT_TRUE(got.pixels == expected.pixels) << c["name"] << ": differs from PIL NEAREST";
  }
}

TEST(ResizeBicubic, SameSizeIsAnExactCopy) {
  RgbImage image{3, 2, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}};
  const RgbImage same = resize_bicubic(image, 3, 2);
  EXPECT_EQ(same.pixels, image.pixels);
}

TEST(ResizeBicubic, ConstantImageStaysConstantAtAnyScale) {
  RgbImage image{37, 23, std::vector<uint8_t>(37 * 23 * 3, 200)};
  for (const auto& [w, h] :
       {std::pair{448, 448}, std::pair{5, 3}, std::pair{1, 1}, std::pair{100, 7}}) {
    const RgbImage out = resize_bicubic(image, w, h);
    ASSERT_EQ(out.pixels.size(), static_cast<size_t>(w) * h * 3);
    EXPECT_TRUE(
        std::all_of(out.pixels.begin(), out.pixels.end(), [](uint8_t v) { return v == 200; }))
        << w << "x" << h;
  }
}

TEST(ResizeBicubic, OvershootIsClippedTo8Bits) {
  // A hard black/white edge upscaled rings past 0 and 255 before clipping.
  RgbImage image{4, 1, {0, 0, 0, 0, 0, 0, 255, 255, 255, 255, 255, 255}};
  const RgbImage out = resize_bicubic(image, 16, 1);
  EXPECT_EQ(out.pixels.front(), 0);
  EXPECT_EQ(out.pixels.back(), 255);
}

TEST(ResizeNearest, UpscaleRepeatsEachPixel) {
  GrayImage image{2, 1, {7, 9}};
  const GrayImage out = resize_nearest(image, 6, 2);
  EXPECT_EQ(out.pixels, (std::vector<uint8_t>{7, 7, 7, 9, 9, 9, 7, 7, 7, 9, 9, 9}));
}

TEST(ResizeNearest, DownscaleSamplesPixelCentres) {
  // Output pixel x takes source int((x + 0.5) * 4): columns 2 and 6 of 0..7.
  GrayImage image{8, 1, {0, 1, 2, 3, 4, 5, 6, 7}};
  EXPECT_EQ(resize_nearest(image, 2, 1).pixels, (std::vector<uint8_t>{2, 6}));
}

TEST(ResizeNearest, AccumulatesTheSourceStepAsPilDoes) {
  // 2 -> 7: output pixel 3 sits at exactly 1.0 in exact arithmetic; PIL reaches it by adding 2/7
  // three times to 1/7, which lands just below 1.0, so it takes source pixel 0 (PIL 9.4's output).
  GrayImage image{2, 1, {0, 1}};
  EXPECT_EQ(resize_nearest(image, 7, 1).pixels, (std::vector<uint8_t>{0, 0, 0, 0, 1, 1, 1}));
}

TEST(ResizeBicubic, RejectsNonPositiveSizeAndBadBuffer) {
  RgbImage image{2, 2, std::vector<uint8_t>(12, 0)};
  EXPECT_THROW(resize_bicubic(image, 0, 4), Error);
  image.pixels.pop_back();
  try {
    resize_bicubic(image, 4, 4);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("resize_bicubic: input image 2x2 holds 11 values"),
              std::string::npos)
        << e.what();
  }
}

TEST(ResizeNearest, RejectsNonPositiveSize) {
  GrayImage image{2, 2, std::vector<uint8_t>(4, 0)};
  EXPECT_THROW(resize_nearest(image, 3, -1), Error);
}

}  // namespace
}  // namespace terrascope
