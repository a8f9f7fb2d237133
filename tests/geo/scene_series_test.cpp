// Time series and optical + SAR pairs: one grid for all frames, or warping onto the first frame.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

#include "geo/scene_test_support.h"
#include "terrascope/error.h"
#include "terrascope/scene.h"

namespace terrascope {
namespace {

using test::shared_data;

const std::string kL8 = "debian_r_satellite/LC08_L1TP_195025_20130707_20170503_01_T1_";
const std::string kL7 = "debian_r_satellite/LE07_L1TP_195025_20010730_20170204_01_T1_";

std::string build_stack(const test::TempDir& dir, const std::string& name,
                        const std::string& prefix, const std::vector<std::string>& bands) {
  std::string command = "gdalbuildvrt -q -separate " + dir.file(name);
  for (const auto& band : bands) command += " " + shared_data(prefix + band + ".TIF");
  EXPECT_EQ(std::system(command.c_str()), 0);
  return dir.file(name);
}

TEST(SceneSeries, LandsatPairOnOneGridReadsWithoutWarping) {
  test::TempDir dir;
  // True colour: Landsat 8 OLI bands 4,3,2; Landsat 7 ETM+ bands 3,2,1.
  const std::string l8 = build_stack(dir, "l8.vrt", kL8, {"B4", "B3", "B2"});
  const std::string l7 = build_stack(dir, "l7.vrt", kL7, {"B3", "B2", "B1"});
  SceneOptions options;
  options.scaling = Scaling::kPercentile;  // the two sensors' DN scales differ by ~100x
  const Scene scene = read_time_series({l8, l7}, options);
  ASSERT_EQ(scene.frames.size(), 2u);
  EXPECT_FALSE(scene.frames[1].warped);
  EXPECT_EQ(scene.frames[1].rgb.width, 41);
  EXPECT_EQ(scene.frames[1].grid.geotransform, scene.frames[0].grid.geotransform);
  EXPECT_DOUBLE_EQ(scene.frames[1].valid_share(), 1.0);
}

TEST(SceneSeries, SingleBandFramesOfTheRealPair) {
  SceneOptions options;
  options.scaling = Scaling::kPercentile;
  const Scene scene =
      read_time_series({shared_data(kL8 + "B4.TIF"), shared_data(kL7 + "B3.TIF")}, options);
  EXPECT_EQ(scene.frames.size(), 2u);
  EXPECT_EQ(scene.grid().width, 41);
}

TEST(SceneSeries, FrameOnAnotherGridWithoutWarpIsAnError) {
  test::TempDir dir;
  const std::string shifted = dir.file("shifted.tif");
  // The same scene cropped by 10 pixels: same CRS and pixel size, another origin and size.
  const std::string command = "gdal_translate -q -srcwin 10 10 700 600 " +
                              shared_data("rasterio_landsat/RGB.byte.tif") + " " + shifted;
  ASSERT_EQ(std::system(command.c_str()), 0);
  try {
    read_time_series({shared_data("rasterio_landsat/RGB.byte.tif"), shifted}, SceneOptions{});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind(shifted + ": not on the grid of ", 0), 0u) << message;
    EXPECT_NE(message.find("size 700x600 vs 791x718"), std::string::npos) << message;
  }
}

TEST(SceneSeries, WarpPutsALaterFrameOnTheFirstGrid) {
  test::TempDir dir;
  const std::string geographic = dir.file("wgs84.tif");
  // The Landsat scene reprojected to EPSG:4326 by gdalwarp: another CRS and grid.
  const std::string command = "gdalwarp -q -t_srs EPSG:4326 -r near " +
                              shared_data("rasterio_landsat/RGB.byte.tif") + " " + geographic;
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string first = shared_data("rasterio_landsat/RGB.byte.tif");
  EXPECT_THROW(read_time_series({first, geographic}, SceneOptions{}), Error);

  SceneOptions options;
  options.warp = true;
  const Scene scene = read_time_series({first, geographic}, options);
  const SceneFrame& warped = scene.frames[1];
  EXPECT_TRUE(warped.warped);
  EXPECT_EQ(warped.rgb.width, 791);
  EXPECT_EQ(warped.rgb.height, 718);
  EXPECT_EQ(warped.grid.geotransform, scene.frames[0].grid.geotransform);
  // Back on its own grid, the round trip changes pixels only by resampling.
  double difference = 0.0;
  size_t compared = 0;
  const auto& a = scene.frames[0];
  for (size_t i = 0; i < a.validity.pixels.size(); ++i) {
    if (!a.validity.pixels[i] || !warped.validity.pixels[i]) continue;
    difference += std::abs(static_cast<int>(a.rgb.pixels[3 * i]) - warped.rgb.pixels[3 * i]);
    ++compared;
  }
  ASSERT_GT(compared, 300000u);
  EXPECT_LT(difference / compared, 6.0);
  // The warped frame's validity follows the nodata collar.
  EXPECT_NEAR(warped.valid_share(), a.valid_share(), 0.02);
}

TEST(SceneSeries, WarpAtWorkingResolution) {
  test::TempDir dir;
  const std::string geographic = dir.file("wgs84.tif");
  const std::string command = "gdalwarp -q -t_srs EPSG:4326 " +
                              shared_data("rasterio_landsat/RGB.byte.tif") + " " + geographic;
  ASSERT_EQ(std::system(command.c_str()), 0);
  SceneOptions options;
  options.warp = true;
  options.max_side = 200;
  const Scene scene =
      read_time_series({shared_data("rasterio_landsat/RGB.byte.tif"), geographic}, options);
  EXPECT_EQ(scene.frames[1].rgb.width, scene.frames[0].rgb.width);
  EXPECT_EQ(scene.frames[1].rgb.height, scene.frames[0].rgb.height);
  EXPECT_EQ(scene.frames[1].grid.width, 791);
}

TEST(SceneSeries, CoRegisteredOpticalSarPair) {
  SceneOptions sar;
  sar.bands = {3, 4};  // SpaceNet 6 SAR-Intensity order HH, HV, VH, VV
  const Scene scene =
      read_optical_sar(shared_data("spacenet_solaris/rgb_unmasked.tif"), SceneOptions{},
                       shared_data("spacenet_solaris/sar_masked.tif"), sar);
  ASSERT_EQ(scene.sar.size(), 1u);
  const SceneFrame& frame = scene.sar.front();
  EXPECT_FALSE(frame.warped);
  EXPECT_EQ(frame.modality, Modality::kSar);
  EXPECT_EQ(frame.rgb.width, 200);
  // python3-gdal: 15661 of 40000 pixels are NaN in every band of sar_masked.tif.
  EXPECT_NEAR(frame.valid_share(), 1.0 - 15661.0 / 40000.0, 1e-12);
}

TEST(SceneSeries, Sen1Floods11OpticalSarPair) {
  SceneOptions optical;
  optical.preset = "sentinel2";
  const Scene scene =
      read_optical_sar(shared_data("sen1floods11/Spain_7370579_S2Hand.tif"), optical,
                       shared_data("sen1floods11/Spain_7370579_S1Hand.tif"), SceneOptions{});
  EXPECT_EQ(scene.frames.front().bands, (std::vector<int>{4, 3, 2}));
  EXPECT_EQ(scene.sar.front().bands, (std::vector<int>{2, 1}));
}

}  // namespace
}  // namespace terrascope
