#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "rasters_out_support.h"
#include "terrascope/error.h"
#include "terrascope/mask_overlay.h"

namespace terrascope {
namespace {

using test::error_of;
using test::ScratchDir;

RgbImage gradient_scene(int width, int height) {
  RgbImage scene{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height * 3)};
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      uint8_t* p = &scene.pixels[(static_cast<size_t>(y) * width + x) * 3];
      p[0] = static_cast<uint8_t>(4 * x);
      p[1] = static_cast<uint8_t>(5 * y);
      p[2] = 100;
    }
  }
  return scene;
}

// The PNG decoded by GDAL (not by OpenCV, which wrote it): RGB of pixel (x, y).
struct Png {
  int width = 0, height = 0;
  std::vector<double> r, g, b;
  std::array<int, 3> at(int x, int y) const {
    const size_t i = static_cast<size_t>(y) * width + x;
    return {static_cast<int>(r[i]), static_cast<int>(g[i]), static_cast<int>(b[i])};
  }
};

Png read_png(const std::string& path) {
  Png png;
  {
    auto ds = test::open_dataset(path);
    png.width = ds->GetRasterXSize();
    png.height = ds->GetRasterYSize();
    EXPECT_EQ(ds->GetRasterCount(), 3);
  }
  png.r = test::read_band(path, 1);
  png.g = test::read_band(path, 2);
  png.b = test::read_band(path, 3);
  return png;
}

std::array<int, 3> blend(const RgbImage& scene, int x, int y, const std::array<uint8_t, 3>& c) {
  std::array<int, 3> out{};
  for (int k = 0; k < 3; ++k) {
    const double s = scene.pixels[(static_cast<size_t>(y) * scene.width + x) * 3 + k];
    out[k] = static_cast<int>(std::lround((1 - kOverlayFillAlpha) * s + kOverlayFillAlpha * c[k]));
  }
  return out;
}

std::array<int, 3> scene_at(const RgbImage& scene, int x, int y) {
  const uint8_t* p = &scene.pixels[(static_cast<size_t>(y) * scene.width + x) * 3];
  return {p[0], p[1], p[2]};
}

std::array<int, 3> colour_of(size_t i) {
  const auto c = overlay_colour(i);
  return {c[0], c[1], c[2]};
}

void expect_close(const std::array<int, 3>& got, const std::array<int, 3>& want, const char* what) {
  for (int k = 0; k < 3; ++k) EXPECT_NEAR(got[k], want[k], 1) << what << " channel " << k;
}

TEST(Overlay, MasksAreFilledOutlinedAndListedInTheLegend) {
  ScratchDir dir;
  const RgbImage scene = gradient_scene(40, 30);
  const std::vector<LabelledMask> masks = {
      {"flood water", test::rectangle_mask(40, 30, 2, 3, 11, 12)},
      {"buildings", test::rectangle_mask(40, 30, 20, 10, 29, 19)}};
  const std::string out = dir.file("overlay.png");
  write_overlay_png(out, scene, masks);

  const Png png = read_png(out);
  EXPECT_GE(png.width, 40);
  EXPECT_GT(png.height, 30);  // a legend strip below the scene
  expect_close(png.at(6, 7), blend(scene, 6, 7, overlay_colour(0)), "inside mask 1");
  expect_close(png.at(25, 15), blend(scene, 25, 15, overlay_colour(1)), "inside mask 2");
  EXPECT_EQ(png.at(2, 7), colour_of(0)) << "outline of mask 1";
  EXPECT_EQ(png.at(29, 15), colour_of(1)) << "outline of mask 2";
  EXPECT_EQ(png.at(35, 2), scene_at(scene, 35, 2)) << "outside the masks";
  EXPECT_EQ(png.at(0, 0), scene_at(scene, 0, 0));
  EXPECT_NE(colour_of(0), colour_of(1));
  // Legend swatches: 12x12 squares at x 6..17, one 20-pixel row per mask below the scene.
  EXPECT_EQ(png.at(10, 30 + 6 + 5), colour_of(0));
  EXPECT_EQ(png.at(10, 30 + 6 + 20 + 5), colour_of(1));
  EXPECT_EQ(dir.entries(), std::set<std::string>{"overlay.png"});
}

TEST(Overlay, LegendWidensAnImageNarrowerThanItsLabels) {
  ScratchDir dir;
  const RgbImage scene = gradient_scene(8, 8);
  write_overlay_png(
      dir.file("o.png"), scene,
      {{"a rather long label for a tiny scene", test::rectangle_mask(8, 8, 1, 1, 3, 3)}});
  const Png png = read_png(dir.file("o.png"));
  EXPECT_GT(png.width, 100);
  EXPECT_EQ(png.at(7, 7), scene_at(scene, 7, 7));
}

TEST(Overlay, WithoutMasksThePngIsTheScene) {
  ScratchDir dir;
  const RgbImage scene = gradient_scene(16, 12);
  write_overlay_png(dir.file("plain.png"), scene, {});
  const Png png = read_png(dir.file("plain.png"));
  ASSERT_EQ(png.width, 16);
  ASSERT_EQ(png.height, 12);
  for (int y = 0; y < 12; ++y) {
    for (int x = 0; x < 16; ++x) ASSERT_EQ(png.at(x, y), scene_at(scene, x, y));
  }
}

TEST(Overlay, MaskAtAnotherResolutionIsResizedToTheScene) {
  ScratchDir dir;
  const RgbImage scene = gradient_scene(40, 30);
  // An 80x60 mask whose 1-block covers scene pixels 10..19 x 10..19.
  write_overlay_png(dir.file("o.png"), scene,
                    {{"x", test::rectangle_mask(80, 60, 20, 20, 39, 39)}});
  const Png png = read_png(dir.file("o.png"));
  expect_close(png.at(15, 15), blend(scene, 15, 15, overlay_colour(0)), "inside");
  EXPECT_EQ(png.at(8, 15), scene_at(scene, 8, 15));
}

TEST(Overlay, NonAsciiLabelsAreDrawn) {
  ScratchDir dir;
  EXPECT_NO_THROW(write_overlay_png(
      dir.file("o.png"), gradient_scene(20, 20),
      {{"eau libre \xc3\xa9t\xc3\xa9", test::rectangle_mask(20, 20, 1, 1, 3, 3)}}));
}

// --- bad input ---

TEST(Overlay, SceneWithTooFewBytesIsAnError) {
  ScratchDir dir;
  const std::string out = dir.file("o.png");
  const std::string message = error_of([&] {
    write_overlay_png(out, RgbImage{4, 4, std::vector<uint8_t>(10)}, {});
  });
  EXPECT_EQ(message.rfind(out + ": scene image holds 10 bytes", 0), 0u) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Overlay, EmptySceneIsAnError) {
  ScratchDir dir;
  EXPECT_NE(error_of([&] { write_overlay_png(dir.file("o.png"), RgbImage{}, {}); }).find("empty"),
            std::string::npos);
}

TEST(Overlay, MaskOfAnotherShapeIsAnError) {
  ScratchDir dir;
  const std::string message = error_of([&] {
    write_overlay_png(dir.file("o.png"), gradient_scene(40, 30),
                      {{"roads", test::rectangle_mask(10, 40, 1, 1, 2, 2)}});
  });
  EXPECT_NE(message.find("mask 1 (roads) 10x40 does not have the shape"), std::string::npos)
      << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(Overlay, MaskValuesOtherThanZeroAndOneAreAnError) {
  ScratchDir dir;
  GrayImage mask = test::rectangle_mask(4, 4, 0, 0, 1, 1);
  mask.pixels[5] = 255;
  EXPECT_NE(error_of([&] {
              write_overlay_png(dir.file("o.png"), gradient_scene(4, 4), {{"m", mask}});
            }).find("value 255"),
            std::string::npos);
}

TEST(Overlay, UnwritableDirectoryIsAnError) {
  ScratchDir dir;
  { std::ofstream(dir.file("plain_file")) << "x"; }
  const std::string out = dir.file("plain_file/overlay.png");
  const std::string message = error_of([&] { write_overlay_png(out, gradient_scene(4, 4), {}); });
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  const std::string proc_out = "/proc/terrascope_overlay_test.png";
  EXPECT_EQ(
      error_of([&] { write_overlay_png(proc_out, gradient_scene(4, 4), {}); }).rfind(proc_out, 0),
      0u);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"plain_file"});
}

}  // namespace
}  // namespace terrascope
