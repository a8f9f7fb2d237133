// Tile-grid choice and tiles: against the released code's own outputs
// (shared/data/official_golden/tiling.jsonl) and PIL-made tiles of real scenes
// (tools/testdata_resample.py through the Python reference).
#include "model/tiling.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "model/image_ops.h"
#include "model/raw_array_file.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using testing::RawArray;
using testing::read_raw_array;
using testing::read_rgb;
using testing::resample_cases;
using testing::resample_dir;

TEST(Tiling, OfficialGoldenGridsForAllSizes) {
  const std::string path = std::string(TERRASCOPE_SHARED_DATA) + "/official_golden/tiling.jsonl";
  std::ifstream file(path);
  ASSERT_TRUE(file) << path;
  int records = 0;
  for (std::string line; std::getline(file, line);) {
    const auto r = nlohmann::json::parse(line);
    const int width = r["width"], height = r["height"];
    const TileGrid grid = choose_tile_grid(width, height, 448, 1, 12, true);
    EXPECT_EQ(grid.cols, r["cols"].get<int>()) << width << "x" << height;
    EXPECT_EQ(grid.rows, r["rows"].get<int>()) << width << "x" << height;
    EXPECT_EQ(grid.cols * 448, r["resized_width"].get<int>()) << width << "x" << height;
    EXPECT_EQ(grid.rows * 448, r["resized_height"].get<int>()) << width << "x" << height;
    // The golden `tiles` counts the grid only; tiles() adds the thumbnail.
    EXPECT_EQ(grid.cols * grid.rows, r["tiles"].get<int>()) << width << "x" << height;
    EXPECT_EQ(grid.thumbnail, r["thumbnail"].get<bool>()) << width << "x" << height;
    EXPECT_EQ(grid.tiles(), grid.cols * grid.rows + (grid.thumbnail ? 1 : 0));
    ++records;
  }
  EXPECT_EQ(records, 100);
}

TEST(Tiling, SquareImageGetsLargerGridOnlyWhenAreaExceedsHalfOfIt) {
  // 1x1, 2x2, 3x3 tie on aspect ratio; a larger grid wins when area > half its pixel area.
  EXPECT_EQ(choose_tile_grid(448, 448, 448, 1, 12, true).cols, 1);
  EXPECT_EQ(choose_tile_grid(900, 900, 448, 1, 12, true).cols, 2);
  EXPECT_EQ(choose_tile_grid(1300, 1300, 448, 1, 12, true).cols, 3);
  // The same decision at the test bundles' 112 px tiles scales with the tile area.
  EXPECT_EQ(choose_tile_grid(112, 112, 112, 1, 12, true).cols, 1);
  EXPECT_EQ(choose_tile_grid(225, 225, 112, 1, 12, true).cols, 2);
}

TEST(Tiling, ThumbnailOnlyWithMoreThanOneTileAndWhenAsked) {
  const TileGrid single = choose_tile_grid(300, 300, 448, 1, 12, true);
  EXPECT_EQ(single.tiles(), 1);
  EXPECT_FALSE(single.thumbnail);
  const TileGrid wide = choose_tile_grid(1000, 500, 448, 1, 12, true);
  EXPECT_EQ(wide.cols, 2);
  EXPECT_TRUE(wide.thumbnail);
  EXPECT_EQ(wide.tiles(), 3);
  EXPECT_FALSE(choose_tile_grid(1000, 500, 448, 1, 12, false).thumbnail);
}

TEST(Tiling, MaxTilesBoundsTheGrid) {
  const TileGrid grid = choose_tile_grid(5000, 100, 448, 1, 6, true);
  EXPECT_EQ(grid.cols, 6);
  EXPECT_EQ(grid.rows, 1);
}

TEST(Tiling, TilesAndThumbnailBitExactWithPil) {
  const nlohmann::json cases = resample_cases("tiles");
  ASSERT_GE(cases.size(), 4u);
  for (const auto& c : cases) {
    const RgbImage input = read_rgb(resample_dir() + c["input"].get<std::string>());
    const int tile_size = c["tile_size"];
    const TileGrid grid = choose_tile_grid(input.width, input.height, tile_size, 1, 12, true);
    ASSERT_EQ(grid.cols, c["cols"].get<int>()) << c["name"];
    ASSERT_EQ(grid.rows, c["rows"].get<int>()) << c["name"];
    ASSERT_EQ(grid.thumbnail, c["thumbnail"].get<bool>()) << c["name"];
    const std::vector<RgbImage> tiles = make_tiles(input, grid, tile_size);
    const RawArray expected = read_raw_array(resample_dir() + c["output"].get<std::string>());
    ASSERT_EQ(static_cast<int64_t>(tiles.size()), expected.dims[0]) << c["name"];
    const size_t tile_bytes = static_cast<size_t>(tile_size) * tile_size * 3;
    for (size_t i = 0; i < tiles.size(); ++i) {
      ASSERT_EQ(tiles[i].width, tile_size);
      ASSERT_EQ(tiles[i].height, tile_size);
      const std::vector<uint8_t> want(expected.bytes.begin() + i * tile_bytes,
                                      expected.bytes.begin() + (i + 1) * tile_bytes);
      EXPECT_TRUE(tiles[i].pixels == want) << c["name"] << ": tile " << i << " differs from PIL";
    }
  }
}

TEST(Tiling, FrameTileAndGroundingInputAreWholeImageBicubic) {
  // PIL's resize of the whole scene to 448x448 and 1024x1024 (the release's T.Resize /
  // DirectResize).
  const RgbImage scene = read_rgb(resample_dir() + "landsat.tsra");
  const RgbImage frame_448 = read_rgb(resample_dir() + "landsat_bicubic_448x448.tsra");
  const RgbImage sam_1024 = read_rgb(resample_dir() + "landsat_bicubic_1024x1024.tsra");
  EXPECT_TRUE(make_frame_tile(scene, 448).pixels == frame_448.pixels);
  EXPECT_TRUE(make_grounding_input(scene, 1024).pixels == sam_1024.pixels);
}

TEST(Tiling, RejectsBadParameters) {
  EXPECT_THROW(choose_tile_grid(0, 10, 448, 1, 12, true), Error);
  EXPECT_THROW(choose_tile_grid(10, 10, 0, 1, 12, true), Error);
  try {
    choose_tile_grid(10, 10, 448, 3, 2, true);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "tiling: tile count range 3..2 is empty or below 1");
  }
  RgbImage broken{4, 4, std::vector<uint8_t>(10, 0)};
  EXPECT_THROW(make_tiles(broken, TileGrid{}, 448), Error);
  EXPECT_THROW(make_frame_tile(RgbImage{2, 2, std::vector<uint8_t>(12, 0)}, 0), Error);
}

}  // namespace
}  // namespace terrascope
