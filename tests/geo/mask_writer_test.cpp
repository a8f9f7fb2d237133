#include "terrascope/mask_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "rasters_out_support.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using test::error_of;
using test::ScratchDir;

void expect_same_geotransform(const nlohmann::json& info, const RasterGrid& grid) {
  ASSERT_TRUE(info.contains("geoTransform")) << info.dump();
  for (int i = 0; i < 6; ++i) {
    const double expected = grid.geotransform[i];
    EXPECT_NEAR(info["geoTransform"][i].get<double>(), expected, 1e-12 * (1 + std::abs(expected)))
        << "geotransform term " << i;
  }
}

// A small GeoTIFF with a rotated geotransform (UTM 18N), made with GDAL here in the test.
std::string make_rotated_raster(const ScratchDir& dir) {
  GDALAllRegister();
  const std::string path = dir.file("rotated_source.tif");
  GDALDriver* gtiff = GetGDALDriverManager()->GetDriverByName("GTiff");
  GDALDatasetUniquePtr ds(gtiff->Create(path.c_str(), 12, 9, 1, GDT_Byte, nullptr));
  const double angle = 30.0 * M_PI / 180.0;
  double gt[6] = {500000.0,  10 * std::cos(angle), 10 * std::sin(angle),
                  4000000.0, 10 * std::sin(angle), -10 * std::cos(angle)};
  ds->SetGeoTransform(gt);
  ds->SetProjection(test::epsg_wkt(32618).c_str());
  return path;
}

TEST(MaskWriter, KeepsCrsAndGeotransformOfTheLabelGrid) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLabelTif);
  const auto label = test::read_band(test::kLabelTif);
  const GrayImage water =
      test::gray_where(label, grid.width, grid.height, [](double v) { return v == 1; });
  const GrayImage labelled =
      test::gray_where(label, grid.width, grid.height, [](double v) { return v != -1; });
  const std::string out = dir.file("water.tif");
  write_mask_geotiff(out, grid, water, &labelled);

  const nlohmann::json info = test::gdalinfo_json(out);
  EXPECT_EQ(info["size"], nlohmann::json({512, 512}));
  expect_same_geotransform(info, grid);
  EXPECT_TRUE(test::same_crs(info["coordinateSystem"]["wkt"], grid.crs_wkt));
  EXPECT_EQ(info["bands"].size(), 1u);
  EXPECT_EQ(info["bands"][0]["type"], "Byte");
  EXPECT_EQ(info["bands"][0]["noDataValue"].get<double>(), 255.0);
  EXPECT_EQ(info["metadata"]["IMAGE_STRUCTURE"]["COMPRESSION"], "DEFLATE");
  EXPECT_EQ(info["bands"][0]["block"], nlohmann::json({256, 256}));  // tiled, not strips

  const auto written = test::read_band(out);
  for (size_t i = 0; i < written.size(); ++i) {
    const double expected = label[i] == -1 ? 255 : label[i];
    ASSERT_EQ(written[i], expected) << "pixel " << i;
  }
  EXPECT_EQ(dir.entries(), std::set<std::string>{"water.tif"});
}

TEST(MaskWriter, KeepsARotatedGeotransform) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(make_rotated_raster(dir));
  ASSERT_NE(grid.geotransform[2], 0.0);
  const std::string out = dir.file("rotated_mask.tif");
  write_mask_geotiff(out, grid, test::rectangle_mask(12, 9, 2, 3, 5, 6));
  const nlohmann::json info = test::gdalinfo_json(out);
  expect_same_geotransform(info, grid);
  EXPECT_TRUE(test::same_crs(info["coordinateSystem"]["wkt"], test::epsg_wkt(32618)));
}

TEST(MaskWriter, KeepsTheUtmLandsatGrid) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLandsatTif);
  const std::string out = dir.file("landsat_mask.tif");
  write_mask_geotiff(out, grid, test::rectangle_mask(grid.width, grid.height, 0, 0, 9, 9));
  const nlohmann::json info = test::gdalinfo_json(out);
  EXPECT_EQ(info["size"], nlohmann::json({791, 718}));
  expect_same_geotransform(info, grid);
  EXPECT_TRUE(test::same_crs(info["coordinateSystem"]["wkt"], grid.crs_wkt));
}

TEST(MaskWriter, UpsamplesALowResolutionMaskByNearestNeighbour) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = 8;
  grid.height = 6;
  const GrayImage low{4, 3, {1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 1}};
  const GrayImage valid{4, 3, {1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, 1}};
  const std::string out = dir.file("up.tif");
  write_mask_geotiff(out, grid, low, &valid);
  const auto written = test::read_band(out);
  for (int row = 0; row < 6; ++row) {
    for (int col = 0; col < 8; ++col) {
      const size_t src = static_cast<size_t>(row / 2) * 4 + col / 2;
      const double expected = valid.pixels[src] ? low.pixels[src] : 255;
      EXPECT_EQ(written[static_cast<size_t>(row) * 8 + col], expected) << col << "," << row;
    }
  }
}

TEST(MaskWriter, GridWithoutGeoreferencingWritesAPlainRaster) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = 5;
  grid.height = 4;
  const std::string out = dir.file("plain.tif");
  write_mask_geotiff(out, grid, test::rectangle_mask(5, 4, 1, 1, 2, 2));
  const nlohmann::json info = test::gdalinfo_json(out);
  EXPECT_FALSE(info.contains("geoTransform"));
  EXPECT_FALSE(info.contains("coordinateSystem") && info["coordinateSystem"].contains("wkt") &&
               !info["coordinateSystem"]["wkt"].get<std::string>().empty());
}

// --- bad input: one Error naming the output, and nothing left behind ---

TEST(MaskWriter, DirectoryUnderARegularFileIsAnError) {
  ScratchDir dir;
  { std::ofstream(dir.file("plain_file")) << "x"; }
  const std::string out = dir.file("plain_file/mask.tif");
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message =
      error_of([&] { write_mask_geotiff(out, grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_NE(message.find(out), std::string::npos) << message;
  EXPECT_EQ(dir.entries(), std::set<std::string>{"plain_file"});
}

// /proc takes no new files, not even from root.
TEST(MaskWriter, ProcDirectoryIsAnError) {
  const std::string out = "/proc/terrascope_mask_test.tif";
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message =
      error_of([&] { write_mask_geotiff(out, grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(MaskWriter, MissingDirectoryIsAnError) {
  ScratchDir dir;
  const std::string out = dir.file("missing/mask.tif");
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message =
      error_of([&] { write_mask_geotiff(out, grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_NE(message.find(out), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

TEST(MaskWriter, DestinationThatIsADirectoryLeavesNothingBehind) {
  ScratchDir dir;
  std::filesystem::create_directory(dir.file("mask.tif"));
  { std::ofstream(dir.file("mask.tif/keep")) << "x"; }
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("mask.tif"), grid, test::rectangle_mask(4, 4, 0, 0, 1, 1));
  });
  EXPECT_NE(message.find(dir.file("mask.tif")), std::string::npos) << message;
  EXPECT_EQ(dir.entries(), std::set<std::string>{"mask.tif"});
}

TEST(MaskWriter, MaskValuesOtherThanZeroAndOneAreAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 2;
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), grid, GrayImage{2, 2, {0, 1, 255, 0}});
  });
  EXPECT_NE(message.find("value 255 at (0,1)"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(MaskWriter, MaskLargerThanTheGridIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message = error_of(
      [&] { write_mask_geotiff(dir.file("m.tif"), grid, test::rectangle_mask(8, 8, 0, 0, 1, 1)); });
  EXPECT_NE(message.find("larger than the 4x4 scene grid"), std::string::npos) << message;
}

TEST(MaskWriter, MaskOfAnotherShapeIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 500;
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), grid, test::rectangle_mask(10, 500, 0, 0, 1, 1));
  });
  EXPECT_NE(message.find("does not have the shape"), std::string::npos) << message;
}

TEST(MaskWriter, ValidityOfAnotherSizeIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  const GrayImage valid = test::rectangle_mask(2, 2, 0, 0, 1, 1);
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), grid, test::rectangle_mask(4, 4, 0, 0, 1, 1), &valid);
  });
  EXPECT_NE(message.find("validity mask 2x2 differs"), std::string::npos) << message;
}

TEST(MaskWriter, MaskWithTooFewPixelsIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), grid, GrayImage{4, 4, {0, 1}});
  });
  EXPECT_NE(message.find("holds 2 pixels"), std::string::npos) << message;
}

TEST(MaskWriter, EmptyMaskIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  const std::string message =
      error_of([&] { write_mask_geotiff(dir.file("m.tif"), grid, GrayImage{}); });
  EXPECT_NE(message.find("mask is empty (0x0)"), std::string::npos) << message;
}

TEST(MaskWriter, ValidityValuesOtherThanZeroAndOneAreAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 2;
  const GrayImage valid{2, 2, {1, 1, 1, 255}};
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), grid, GrayImage{2, 2, {0, 1, 1, 0}}, &valid);
  });
  EXPECT_NE(message.find("validity mask holds value 255 at (1,1)"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

TEST(MaskWriter, EmptyGridIsAnError) {
  ScratchDir dir;
  const std::string message = error_of([&] {
    write_mask_geotiff(dir.file("m.tif"), RasterGrid{}, test::rectangle_mask(4, 4, 0, 0, 1, 1));
  });
  EXPECT_NE(message.find("scene grid is empty"), std::string::npos) << message;
}

TEST(MaskWriter, BrokenCrsWktIsAnError) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  grid.has_geotransform = true;
  grid.crs_wkt = "PROJCS[broken";
  const std::string message = error_of(
      [&] { write_mask_geotiff(dir.file("m.tif"), grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_NE(message.find("not valid WKT"), std::string::npos) << message;
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace terrascope
