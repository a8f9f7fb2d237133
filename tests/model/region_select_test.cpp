// Region-token selection against the released code's outputs
// (shared/data/official_golden/regions_{tiled,frames}.jsonl: 352 masks, K = 8 and 128), against the
// Python reference for small test-bundle tiles and the paper rule (tools/testdata_resample.py), and
// its edge cases as behaviours.
#include "model/region_select.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/raw_array_file.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

// A record's mask: `mask_runs` are [start, length] runs of set pixels, row-major.
GrayImage mask_of(const nlohmann::json& record) {
  GrayImage mask;
  mask.width = record["width"];
  mask.height = record["height"];
  mask.pixels.assign(static_cast<size_t>(mask.width) * mask.height, 0);
  for (const auto& run : record["mask_runs"]) {
    const size_t start = run[0], length = run[1];
    std::fill(mask.pixels.begin() + start, mask.pixels.begin() + start + length, 1);
  }
  return mask;
}

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream file(path);
  if (!file) throw Error(path, "cannot open");
  std::vector<nlohmann::json> records;
  for (std::string line; std::getline(file, line);) records.push_back(nlohmann::json::parse(line));
  return records;
}

std::string golden(const std::string& name) {
  return std::string(TERRASCOPE_SHARED_DATA) + "/official_golden/" + name;
}

GrayImage filled(int width, int height, uint8_t value) {
  return GrayImage{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height, value)};
}

const RegionPolicy kRelease{8, RegionRule::Release};
const RegionPolicy kPaper{128, RegionRule::Paper};

TEST(RegionSelect, OfficialGoldenTiledIndicesInOrder) {
  const auto records = read_jsonl(golden("regions_tiled.jsonl"));
  ASSERT_EQ(records.size(), 220u);
  for (const auto& r : records) {
    const GrayImage mask = mask_of(r);
    const TileGrid grid = choose_tile_grid(mask.width, mask.height, 448, 1, 12, true);
    ASSERT_EQ(grid.tiles(), r["tiles"].get<int>());
    const auto got =
        select_region_tokens(mask, grid, 448, 16, {r["K"].get<int>(), RegionRule::Release});
    EXPECT_EQ(got, r["indices"].get<std::vector<int64_t>>())
        << mask.width << "x" << mask.height << " " << r["kind"] << " K=" << r["K"];
  }
}

TEST(RegionSelect, OfficialGoldenFrameIndicesInOrder) {
  const auto records = read_jsonl(golden("regions_frames.jsonl"));
  ASSERT_EQ(records.size(), 132u);
  for (const auto& r : records) {
    const GrayImage mask = mask_of(r);
    const auto got =
        select_region_tokens_frame(mask, 448, 16, {r["K"].get<int>(), RegionRule::Release});
    EXPECT_EQ(got, r["indices"].get<std::vector<int64_t>>())
        << mask.width << "x" << mask.height << " " << r["kind"] << " K=" << r["K"];
  }
}

TEST(RegionSelect, PythonReferenceSmallTilesAndPaperRule) {
  const auto records = read_jsonl(testing::resample_dir() + "regions.jsonl");
  ASSERT_GE(records.size(), 300u);
  for (const auto& r : records) {
    const GrayImage mask = mask_of(r);
    const int tile_size = r["tile_size"], tokens = r["tokens_per_side"];
    const RegionPolicy policy{r["K"].get<int>(), parse_region_rule(r["rule"])};
    std::vector<int64_t> got;
    if (r["path"] == "tiled") {
      const TileGrid grid = choose_tile_grid(mask.width, mask.height, tile_size, 1, 12, true);
      ASSERT_EQ(grid.cols, r["cols"].get<int>());
      ASSERT_EQ(grid.rows, r["rows"].get<int>());
      got = select_region_tokens(mask, grid, tile_size, tokens, policy);
    } else {
      got = select_region_tokens_frame(mask, tile_size, tokens, policy);
    }
    EXPECT_EQ(got, r["indices"].get<std::vector<int64_t>>())
        << r["name"] << " " << r["path"] << " T=" << tile_size << " rule=" << r["rule"]
        << " K=" << r["K"];
  }
}

TEST(RegionSelect, EmptyMaskFallsBackToTokenZero) {
  const GrayImage empty = filled(900, 500, 0);
  const TileGrid grid = choose_tile_grid(900, 500, 448, 1, 12, true);
  EXPECT_EQ(select_region_tokens(empty, grid, 448, 16, kRelease), std::vector<int64_t>{0});
  EXPECT_EQ(select_region_tokens(empty, grid, 448, 16, kPaper), std::vector<int64_t>{0});
  EXPECT_EQ(select_region_tokens_frame(empty, 112, 4, kRelease), std::vector<int64_t>{0});
}

TEST(RegionSelect, OnePixelVanishesUnderReleaseNearestResize) {
  // Release quirk: a pixel not on the token grid's sampled positions is lost -> token 0.
  GrayImage mask = filled(448, 448, 0);
  mask.pixels[100 * 448 + 100] = 1;
  EXPECT_EQ(select_region_tokens_frame(mask, 448, 16, kRelease), std::vector<int64_t>{0});
  // A pixel on a sampled position (the centre of token (3, 5): 3*28+14, 5*28+14) is kept.
  GrayImage centred = filled(448, 448, 0);
  centred.pixels[(3 * 28 + 14) * 448 + (5 * 28 + 14)] = 1;
  EXPECT_EQ(select_region_tokens_frame(centred, 448, 16, kRelease),
            std::vector<int64_t>{3 * 16 + 5});
}

TEST(RegionSelect, OnePixelUnderPaperRuleFallsBackToItsCell) {
  // No cell is > 50% covered; the paper fallback takes the cell under the mask's centroid.
  GrayImage mask = filled(448, 448, 0);
  mask.pixels[100 * 448 + 200] = 1;
  EXPECT_EQ(select_region_tokens_frame(mask, 448, 16, kPaper),
            std::vector<int64_t>{(100 / 28) * 16 + 200 / 28});
}

TEST(RegionSelect, PaperRuleNeedsStrictlyMoreThanHalfOfACell) {
  // 112 px tile, 4 tokens per side: 28 x 28 cells. Token (1, 2) covered half, token (2, 1) half
  // + 1.
  GrayImage mask = filled(112, 112, 0);
  for (int y = 28; y < 42; ++y)
    for (int x = 56; x < 84; ++x) mask.pixels[y * 112 + x] = 1;  // 14 x 28 = exactly half
  for (int y = 56; y < 70; ++y)
    for (int x = 28; x < 56; ++x) mask.pixels[y * 112 + x] = 1;
  mask.pixels[70 * 112 + 28] = 1;  // half + 1 pixel
  EXPECT_EQ(select_region_tokens_frame(mask, 112, 4, {128, RegionRule::Paper}),
            std::vector<int64_t>{2 * 4 + 1});
}

TEST(RegionSelect, MoreThanKCellsAreSampledDownToK) {
  const GrayImage full = filled(448, 448, 1);
  const auto eight = select_region_tokens_frame(full, 448, 16, kRelease);
  ASSERT_EQ(eight.size(), 8u);
  // ceil(sqrt(8)) = 3: a 3x3 grid of 16/3-cell blocks over the 16x16 grid; the cell nearest each
  // block centre (2.67, 8, 13.33 -> 3, 8, 13), row-major, stopped at 8 (the last block is dropped).
  EXPECT_EQ(eight, (std::vector<int64_t>{3 * 16 + 3, 3 * 16 + 8, 3 * 16 + 13, 8 * 16 + 3,
                                         8 * 16 + 8, 8 * 16 + 13, 13 * 16 + 3, 13 * 16 + 8}));
  const auto paper = select_region_tokens_frame(full, 448, 16, kPaper);
  EXPECT_EQ(paper.size(), 128u);
}

TEST(RegionSelect, KLargerThanCellsKeepsEveryCellInTileOrder) {
  // A 2x1 grid (plus thumbnail), mask on the right half of the left tile and the left half of the
  // right tile: tile 0's cells come first, then tile 1's.
  const TileGrid grid = choose_tile_grid(224, 112, 112, 1, 12, true);
  ASSERT_EQ(grid.cols, 2);
  GrayImage mask = filled(224, 112, 0);
  for (int y = 0; y < 28; ++y)
    for (int x = 84; x < 168; ++x) mask.pixels[y * 224 + x] = 1;
  const auto got = select_region_tokens(mask, grid, 112, 4, {100, RegionRule::Release});
  EXPECT_EQ(got, (std::vector<int64_t>{3, 16 + 0, 16 + 1}));
}

TEST(RegionSelect, ThumbnailTokensAreNeverSelected) {
  // Full mask, K above every grid token: exactly the grid's tokens, none of the thumbnail block.
  const TileGrid grid = choose_tile_grid(224, 112, 112, 1, 12, true);
  ASSERT_TRUE(grid.thumbnail);
  for (RegionRule rule : {RegionRule::Release, RegionRule::Paper}) {
    const auto got = select_region_tokens(filled(224, 112, 1), grid, 112, 4, {1000, rule});
    ASSERT_EQ(got.size(), 32u);
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], static_cast<int64_t>(i));
  }
}

TEST(RegionSelect, AnyNonZeroMaskValueCounts) {
  EXPECT_EQ(select_region_tokens_frame(filled(56, 56, 255), 56, 2, {10, RegionRule::Release}),
            (std::vector<int64_t>{0, 1, 2, 3}));
}

TEST(RegionSelect, ParsesPolicyNames) {
  EXPECT_EQ(parse_region_rule("release"), RegionRule::Release);
  EXPECT_EQ(parse_region_rule("paper"), RegionRule::Paper);
  try {
    parse_region_rule("Paper");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "region_selection: unknown rule \"Paper\" (expected release or paper)");
  }
}

TEST(RegionSelect, RejectsInconsistentInputs) {
  GrayImage short_mask = filled(10, 10, 1);
  short_mask.pixels.pop_back();
  EXPECT_THROW(select_region_tokens_frame(short_mask, 448, 16, kRelease), Error);
  try {
    select_region_tokens_frame(filled(10, 10, 1), 100, 16, kRelease);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_STREQ(
        e.what(),
        "region selection: tile size 100 is not a positive multiple of 16 tokens per side");
  }
  EXPECT_THROW(select_region_tokens_frame(filled(10, 10, 1), 448, 16, {0, RegionRule::Release}),
               Error);
  EXPECT_THROW(select_region_tokens(filled(10, 10, 1), TileGrid{0, 1, false}, 448, 16, kRelease),
               Error);
}

}  // namespace
}  // namespace terrascope
