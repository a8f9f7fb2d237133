// Every bad input the reader handles: an Error whose message starts with the file and says the
// problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "geo/scene_test_support.h"
#include "terrascope/error.h"
#include "terrascope/scene.h"

namespace terrascope {
namespace {

using test::read_error;
using test::shared_data;

void expect_error(const std::string& message, const std::string& path, const std::string& problem) {
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
  EXPECT_NE(message.find(problem), std::string::npos) << message;
}

TEST(SceneBadInput, MissingFile) {
  test::TempDir dir;
  const std::string path = dir.file("nowhere.tif");
  expect_error(read_error(path), path, "file not found");
}

TEST(SceneBadInput, EmptyFile) {
  test::TempDir dir;
  const std::string path = dir.file("empty.tif");
  std::ofstream(path).close();
  expect_error(read_error(path), path, "file is empty");
}

TEST(SceneBadInput, TextFileNamedTif) {
  test::TempDir dir;
  const std::string path = dir.file("notes.tif");
  std::ofstream(path) << "These are field notes, not a GeoTIFF.\n";
  expect_error(read_error(path), path, "not a raster GDAL can read");
}

TEST(SceneBadInput, TruncatedGeoTiff) {
  test::TempDir dir;
  const std::string path = dir.file("truncated.tif");
  // GDAL's GTiff writer puts the directory before the pixels, so the header survives the cut and
  // the file opens; the pixel data is two thirds gone.
  const std::string command =
      "gdal_translate -q " + shared_data("rasterio_landsat/RGB.byte.tif") + " " + path;
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 3);
  expect_error(read_error(path), path, "the file may be truncated or corrupt");
}

TEST(SceneBadInput, TruncatedHeader) {
  test::TempDir dir;
  const std::string path = dir.file("stub.tif");
  // RGB.byte.tif keeps its directory at the end: cut short, it has none.
  std::filesystem::copy_file(shared_data("rasterio_landsat/RGB.byte.tif"), path);
  std::filesystem::permissions(path, std::filesystem::perms::owner_write,
                               std::filesystem::perm_options::add);  // the shared copy is read-only
  std::filesystem::resize_file(path, std::filesystem::file_size(path) / 3);
  expect_error(read_error(path), path, "not a raster GDAL can read");
}

TEST(SceneBadInput, BandIndexOutOfRange) {
  const std::string path = shared_data("rasterio_landsat/RGB.byte.tif");
  SceneOptions options;
  options.bands = {4, 3, 2};
  expect_error(read_error(path, options), path, "band 4 requested, file has 3 bands");
}

TEST(SceneBadInput, Sentinel2PresetOnAThreeBandFile) {
  const std::string path = shared_data("rasterio_landsat/RGB.byte.tif");
  SceneOptions options;
  options.preset = "sentinel2";
  expect_error(read_error(path, options), path, "band 4 requested, file has 3 bands");
}

TEST(SceneBadInput, UnknownPreset) {
  const std::string path = shared_data("rasterio_landsat/RGB.byte.tif");
  SceneOptions options;
  options.preset = "worldview";
  expect_error(read_error(path, options), path, "unknown band preset 'worldview'");
}

TEST(SceneBadInput, AllNaN) {
  test::TempDir dir;
  const std::string path = dir.file("all_nan.tif");
  test::SyntheticRaster spec;
  spec.type = GDT_Float32;
  spec.bands = 2;
  spec.value = [](int, int, int) { return std::numeric_limits<double>::quiet_NaN(); };
  test::write_raster(path, spec);
  SceneOptions options;
  options.modality = Modality::kSar;
  expect_error(read_error(path, options), path, "have no valid pixels");
}

TEST(SceneBadInput, AllNodata) {
  test::TempDir dir;
  const std::string path = dir.file("all_nodata.tif");
  test::SyntheticRaster spec;
  spec.type = GDT_Int16;
  spec.bands = 3;
  spec.has_nodata = true;
  spec.nodata = -32768;
  spec.value = [](int, int, int) { return -32768.0; };
  test::write_raster(path, spec);
  expect_error(read_error(path), path, "bands 1,2,3 have no valid pixels");
}

TEST(SceneBadInput, ComplexSarWithoutRule) {
  test::TempDir dir;
  const std::string path = dir.file("slc.tif");
  test::SyntheticRaster spec;
  spec.type = GDT_CFloat32;
  spec.bands = 2;
  spec.value = [](int, int x, int) { return 0.1 * (x + 1); };
  spec.imaginary = [](int, int, int y) { return 0.05 * y; };
  test::write_raster(path, spec);
  SceneOptions options;
  options.modality = Modality::kSar;
  expect_error(read_error(path, options), path, "complex SAR data (CFloat32) without a rule");

  // With the intensity rule: |z|^2 in dB. Pixel (x=0, y=0): z = 0.1 -> 0.01 -> -20 dB -> 51.
  options.complex_rule = ComplexRule::kIntensity;
  const SceneFrame frame = read_frame(path, options);
  EXPECT_EQ(frame.rgb.pixels[0], 51);
  EXPECT_EQ(frame.rgb.pixels[1], 51);
}

TEST(SceneBadInput, SarWithUndescribedBands) {
  const std::string path = shared_data("spacenet_solaris/sar_masked.tif");
  SceneOptions options;
  options.modality = Modality::kSar;
  expect_error(read_error(path, options), path, "cannot tell the VH and VV bands apart");
}

TEST(SceneBadInput, TimeSeriesOnDifferentGridsWithoutWarp) {
  const std::string first = shared_data("sen1floods11/Spain_7370579_S2Hand.tif");
  const std::string second = shared_data("rasterio_landsat/RGB.byte.tif");
  SceneOptions options;
  options.bands = {3, 2, 1};
  try {
    read_time_series({first, second}, options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_error(e.what(), second, "not on the grid of " + first);
  }
}

TEST(SceneBadInput, OpticalSarOnDifferentGridsWithoutWarp) {
  const std::string optical = shared_data("rasterio_landsat/RGB.byte.tif");
  const std::string sar = shared_data("sen1floods11/Spain_7370579_S1Hand.tif");
  try {
    read_optical_sar(optical, SceneOptions{}, sar, SceneOptions{});
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_error(e.what(), sar, "not on the grid of " + optical);
  }
}

TEST(SceneBadInput, WarpWithoutGeoreferencing) {
  test::TempDir dir;
  const std::string plain = dir.file("plain.png");
  test::SyntheticRaster spec;
  spec.driver = "PNG";
  spec.georeferenced = false;
  spec.bands = 3;
  test::write_raster(plain, spec);
  SceneOptions options;
  options.warp = true;
  try {
    read_time_series({shared_data("rasterio_landsat/RGB.byte.tif"), plain}, options);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    expect_error(e.what(), plain, "cannot warp a raster without georeferencing");
  }
}

}  // namespace
}  // namespace terrascope
