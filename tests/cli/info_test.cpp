// terrascope info through the binary, checked against GDAL's own gdalinfo -json and gdaltransform.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "geo/scene_test_support.h"

namespace terrascope {
namespace {

using nlohmann::json;
using test::shared_data;

struct InfoRun {
  int exit_code = 0;
  std::string out;
  std::string err;
};

InfoRun run_info(const std::string& arguments, const test::TempDir& dir) {
  InfoRun run;
  const std::string err_file = dir.file("stderr.txt");
  run.exit_code = test::run_command(
      std::string(TERRASCOPE_EXE) + " info " + arguments + " 2>" + err_file, &run.out);
  std::ifstream err(err_file);
  std::stringstream buffer;
  buffer << err.rdbuf();
  run.err = buffer.str();
  return run;
}

json gdalinfo_json(const std::string& path) {
  std::string out;
  EXPECT_EQ(test::run_command("gdalinfo -json '" + path + "'", &out), 0);
  return json::parse(out);
}

json info_json(const std::string& path) {
  test::TempDir dir;
  const InfoRun run = run_info("--json '" + path + "'", dir);
  EXPECT_EQ(run.exit_code, 0) << run.err;
  return json::parse(run.out);
}

TEST(InfoCli, MatchesGdalinfoOnLandsatUtm) {
  const std::string path = shared_data("rasterio_landsat/RGB.byte.tif");
  const json ours = info_json(path);
  const json gdal = gdalinfo_json(path);
  EXPECT_EQ(ours["width"], gdal["size"][0]);
  EXPECT_EQ(ours["height"], gdal["size"][1]);
  for (int i = 0; i < 6; ++i) {
    EXPECT_DOUBLE_EQ(ours["geotransform"][i].get<double>(), gdal["geoTransform"][i].get<double>());
  }
  EXPECT_EQ(ours["crs"]["epsg"], gdal["stac"]["proj:epsg"]);  // 32618
  EXPECT_EQ(ours["crs"]["name"], "WGS 84 / UTM zone 18N");
  ASSERT_EQ(ours["bands"].size(), gdal["bands"].size());
  for (size_t b = 0; b < ours["bands"].size(); ++b) {
    EXPECT_EQ(ours["bands"][b]["data_type"], gdal["bands"][b]["type"]);
    EXPECT_EQ(ours["bands"][b]["nodata"].get<double>(),
              gdal["bands"][b]["noDataValue"].get<double>());
    EXPECT_EQ(ours["bands"][b]["colour"], gdal["bands"][b]["colorInterpretation"]);
  }
  EXPECT_FALSE(ours["rotated"].get<bool>());
  EXPECT_NEAR(ours["pixel_size_m"][0].get<double>(), 300.0379266750948, 1e-9);
  EXPECT_NEAR(ours["pixel_size_m"][1].get<double>(), 300.041782729805, 1e-9);
  // python3-gdal + numpy: (a != 0).all(axis=0).sum() = 382405 of 791 * 718.
  EXPECT_NEAR(ours["valid_share"].get<double>(), 382405.0 / 567938.0, 1e-12);
  EXPECT_TRUE(ours["valid_share_exact"].get<bool>());
}

TEST(InfoCli, Sentinel1BandsDescriptionsAndNaNNodata) {
  const std::string path = shared_data("sen1floods11/Spain_7370579_S1Hand.tif");
  const json ours = info_json(path);
  const json gdal = gdalinfo_json(path);
  ASSERT_EQ(ours["bands"].size(), 2u);
  EXPECT_EQ(ours["bands"][0]["description"], gdal["bands"][0]["description"]);  // VV
  EXPECT_EQ(ours["bands"][1]["description"], gdal["bands"][1]["description"]);  // VH
  EXPECT_EQ(ours["bands"][0]["data_type"], "Float32");
  EXPECT_EQ(ours["bands"][0]["nodata"], "nan");
  EXPECT_EQ(ours["crs"]["epsg"], 4326);
  EXPECT_TRUE(ours["crs"]["geographic"].get<bool>());
  EXPECT_DOUBLE_EQ(ours["valid_share"].get<double>(), 1.0);  // SOURCES.md: no NaN in this chip
}

// The ground size of the centre pixel, measured independently: its corners projected to
// UTM zone 30N by gdaltransform (PROJ); the UTM scale factor here is 1.00007, far below tolerance.
TEST(InfoCli, GeographicPixelSizeInMetresAtSceneCentre) {
  const std::string path = shared_data("sen1floods11/Spain_7370579_S1Hand.tif");
  const json ours = info_json(path);
  const auto gt = ours["geotransform"].get<std::vector<double>>();
  const double x0 = gt[0] + gt[1] * 256, y0 = gt[3] + gt[5] * 256;
  std::ostringstream points;
  points.precision(17);
  points << x0 << " " << y0 << "\n"
         << x0 + gt[1] << " " << y0 << "\n"
         << x0 << " " << y0 + gt[5] << "\n";
  test::TempDir dir;
  std::ofstream(dir.file("points.txt")) << points.str();
  std::string out;
  ASSERT_EQ(test::run_command("gdaltransform -s_srs EPSG:4326 -t_srs EPSG:32630 -output_xy < " +
                                  dir.file("points.txt"),
                              &out),
            0);
  std::istringstream utm(out);
  double ax, ay, bx, by, cx, cy;
  ASSERT_TRUE(utm >> ax >> ay >> bx >> by >> cx >> cy) << out;
  const double width_m = std::hypot(bx - ax, by - ay);
  const double height_m = std::hypot(cx - ax, cy - ay);
  EXPECT_NEAR(ours["pixel_size_m"][0].get<double>(), width_m, width_m * 1e-3);
  EXPECT_NEAR(ours["pixel_size_m"][1].get<double>(), height_m, height_m * 1e-3);
  EXPECT_GT(width_m, 7.0);  // ~7.9 m east-west at 38 N, ~10 m north-south
  EXPECT_LT(width_m, 8.5);
}

TEST(InfoCli, RotatedGeotransformReportedAsIs) {
  test::TempDir dir;
  const std::string path = dir.file("rotated.tif");
  test::SyntheticRaster spec;
  spec.width = 20;
  spec.height = 10;
  spec.geotransform = {600000.0, 2.0, 1.5, 5700000.0, 1.0, -2.5};
  test::write_raster(path, spec);
  const json ours = info_json(path);
  const json gdal = gdalinfo_json(path);
  for (int i = 0; i < 6; ++i) {
    EXPECT_DOUBLE_EQ(ours["geotransform"][i].get<double>(), gdal["geoTransform"][i].get<double>());
  }
  EXPECT_TRUE(ours["rotated"].get<bool>());
  EXPECT_NEAR(ours["pixel_size_m"][0].get<double>(), std::hypot(2.0, 1.0), 1e-12);
  EXPECT_NEAR(ours["pixel_size_m"][1].get<double>(), std::hypot(1.5, -2.5), 1e-12);
}

TEST(InfoCli, PngWithoutGeoreferencing) {
  test::TempDir dir;
  const std::string path = dir.file("plain.png");
  test::SyntheticRaster spec;
  spec.driver = "PNG";
  spec.georeferenced = false;
  spec.bands = 3;
  test::write_raster(path, spec);
  const json ours = info_json(path);
  EXPECT_EQ(ours["driver"], "PNG");
  EXPECT_TRUE(ours["crs"].is_null());
  EXPECT_TRUE(ours["geotransform"].is_null());
  EXPECT_TRUE(ours["pixel_size_m"].is_null());
}

TEST(InfoCli, TextOutputNamesTheEssentials) {
  test::TempDir dir;
  const InfoRun run = run_info(shared_data("sen1floods11/Spain_7370579_S2Hand.tif"), dir);
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("size: 512 x 512 pixels, 13 bands"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("band 9: Int16, \"B8A\""), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("(EPSG:4326)"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("pixel size: "), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("valid pixels: "), std::string::npos) << run.out;
}

TEST(InfoCli, SarMaskedValidShare) {
  // python3-gdal: 15661 of 40000 pixels are NaN in all four bands.
  const json ours = info_json(shared_data("spacenet_solaris/sar_masked.tif"));
  EXPECT_NEAR(ours["valid_share"].get<double>(), 1.0 - 15661.0 / 40000.0, 1e-12);
}

void expect_one_line_failure(const InfoRun& run, const std::string& path,
                             const std::string& problem) {
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_TRUE(run.out.empty()) << run.out;
  EXPECT_EQ(run.err, "terrascope: " + path + ": " + problem + "\n");
}

TEST(InfoCli, MissingFileExitsOneWithOneLine) {
  test::TempDir dir;
  const std::string path = dir.file("absent.tif");
  expect_one_line_failure(run_info(path, dir), path, "file not found");
}

TEST(InfoCli, EmptyFileExitsOneWithOneLine) {
  test::TempDir dir;
  const std::string path = dir.file("empty.tif");
  std::ofstream(path).close();
  expect_one_line_failure(run_info(path, dir), path, "file is empty");
}

TEST(InfoCli, TextFileNamedTifExitsOne) {
  test::TempDir dir;
  const std::string path = dir.file("readme.tif");
  std::ofstream(path) << "plain text\n";
  const InfoRun run = run_info(path, dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.err.rfind("terrascope: " + path + ": not a raster GDAL can read", 0), 0u)
      << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST(InfoCli, TruncatedGeoTiffExitsOne) {
  test::TempDir dir;
  const std::string path = dir.file("cut.tif");
  ASSERT_EQ(
      std::system(("gdal_translate -q " + shared_data("rasterio_landsat/RGB.byte.tif") + " " + path)
                      .c_str()),
      0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 3);
  const InfoRun run = run_info(path, dir);
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("the file may be truncated or corrupt"), std::string::npos) << run.err;
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

TEST(InfoCli, VsizipPath) {
  test::TempDir dir;
  const std::string zip = dir.file("s1.zip");
  ASSERT_EQ(std::system(("cd " + shared_data("sen1floods11") + " && zip -q " + zip +
                         " Spain_7370579_S1Hand.tif")
                            .c_str()),
            0);
  const json ours = info_json("/vsizip/" + zip + "/Spain_7370579_S1Hand.tif");
  EXPECT_EQ(ours["width"], 512);
  EXPECT_EQ(ours["bands"][1]["description"], "VH");
}

}  // namespace
}  // namespace terrascope
