// Normalised pixel tensors: bit-exact against the Python reference (torch, as torchvision's
// ToTensor + Normalize compute them) on real scenes, and the normalisation formula on known pixels.
#include "model/pixel_tensor.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "model/raw_array_file.h"
#include "model/tiling.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using testing::RawArray;
using testing::read_raw_array;
using testing::read_rgb;
using testing::resample_cases;
using testing::resample_dir;

constexpr std::array<double, 3> kMean = {0.485, 0.456, 0.406};
constexpr std::array<double, 3> kStd = {0.229, 0.224, 0.225};

std::array<double, 3> triple(const nlohmann::json& values) {
  return {values[0].get<double>(), values[1].get<double>(), values[2].get<double>()};
}

void expect_equal_to_reference(const at::Tensor& got, const std::string& file,
                               const std::string& name) {
  const RawArray expected = read_raw_array(resample_dir() + file);
  ASSERT_EQ(got.sizes().vec(), expected.dims) << name;
  ASSERT_EQ(got.scalar_type(), at::kFloat) << name;
  const std::vector<float> want = testing::floats_of(expected);
  const float* have = got.data_ptr<float>();
  size_t mismatches = 0;
  for (size_t i = 0; i < want.size(); ++i) mismatches += have[i] != want[i];
  EXPECT_EQ(mismatches, 0u) << name << ": values differ from the Python reference";
}

TEST(PixelTensor, TilesTensorEqualsReferenceExactly) {
  const nlohmann::json cases = resample_cases("tiles");
  ASSERT_GE(cases.size(), 4u);
  for (const auto& c : cases) {
    const RgbImage scene = read_rgb(resample_dir() + c["input"].get<std::string>());
    const int tile_size = c["tile_size"];
    const TileGrid grid = choose_tile_grid(scene.width, scene.height, tile_size, 1, 12, true);
    const at::Tensor tensor =
        tiles_to_tensor(make_tiles(scene, grid, tile_size), triple(c["mean"]), triple(c["std"]));
    expect_equal_to_reference(tensor, c["tensor"], c["name"]);
  }
}

TEST(PixelTensor, SamInputEqualsReferenceExactly) {
  const nlohmann::json cases = resample_cases("sam_input");
  ASSERT_GE(cases.size(), 2u);
  for (const auto& c : cases) {
    const RgbImage scene = read_rgb(resample_dir() + c["input"].get<std::string>());
    const at::Tensor tensor =
        sam_input_tensor(scene, c["size"], triple(c["mean"]), triple(c["std"]));
    expect_equal_to_reference(tensor, c["tensor"], c["name"]);
  }
}

TEST(PixelTensor, ChannelsFirstAndNormalisedPerChannel) {
  // One 1x2 tile: pixel 0 black, pixel 1 = (255, 0, 51).
  const RgbImage tile{2, 1, {0, 0, 0, 255, 0, 51}};
  const at::Tensor t = tiles_to_tensor({tile, tile}, kMean, kStd);
  ASSERT_EQ(t.sizes().vec(), (std::vector<int64_t>{2, 3, 1, 2}));
  const auto a = t.accessor<float, 4>();
  EXPECT_FLOAT_EQ(a[1][0][0][0], (0.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(a[1][0][0][1], (1.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(a[0][1][0][1], (0.0f - 0.456f) / 0.224f);
  EXPECT_FLOAT_EQ(a[0][2][0][1], (0.2f - 0.406f) / 0.225f);
}

TEST(PixelTensor, RejectsMixedTileSizesAndBadStd) {
  const RgbImage a{2, 2, std::vector<uint8_t>(12, 1)};
  const RgbImage b{3, 2, std::vector<uint8_t>(18, 1)};
  try {
    tiles_to_tensor({a, b}, kMean, kStd);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tiles_to_tensor: tile 1 is 3x2, tile 0 is 2x2");
  }
  EXPECT_THROW(tiles_to_tensor({}, kMean, kStd), Error);
  EXPECT_THROW(tiles_to_tensor({a}, kMean, {0.2, 0.0, 0.2}), Error);
  EXPECT_THROW(sam_input_tensor(a, 0, kMean, kStd), Error);
}

}  // namespace
}  // namespace terrascope
