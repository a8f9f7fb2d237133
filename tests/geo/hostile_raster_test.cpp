// Hostile rasters (issue 8), beyond scene_bad_input_test.cpp and scene_read_test.cpp: a huge
// declared size read decimated in bounded memory, zero size, band counts that do not match, absurd
// nodata values, infinities, grids that are not north-up, and files without a CRS. Each either
// reads correctly or is an Error naming the file; none crashes or allocates the declared size.
#include <gtest/gtest.h>

#include <cmath>
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

// Peak resident memory since the last reset, in MiB (VmHWM; writing "5" to clear_refs resets it).
long peak_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}
long current_rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6)) / 1024;
  }
  return -1;
}
bool reset_peak_rss() {
  return static_cast<bool>(std::ofstream("/proc/self/clear_refs") << "5");
}

// A VRT declaring width x height over a real 791 x 718 RGB scene, stretched.
std::string huge_vrt(int width, int height) {
  std::string xml = "<VRTDataset rasterXSize=\"" + std::to_string(width) + "\" rasterYSize=\"" +
                    std::to_string(height) +
                    "\">\n  <SRS>EPSG:32618</SRS>\n"
                    "  <GeoTransform>101985, 3, 0, 2826915, 0, -3</GeoTransform>\n";
  for (int b = 1; b <= 3; ++b) {
    xml += "  <VRTRasterBand dataType=\"Byte\" band=\"" + std::to_string(b) +
           "\">\n    <SimpleSource>\n      <SourceFilename relativeToVRT=\"0\">" +
           shared_data("rasterio_landsat/RGB.byte.tif") + "</SourceFilename>\n      <SourceBand>" +
           std::to_string(b) +
           "</SourceBand>\n      <SrcRect xOff=\"0\" yOff=\"0\" xSize=\"791\" ySize=\"718\"/>\n"
           "      <DstRect xOff=\"0\" yOff=\"0\" xSize=\"" +
           std::to_string(width) + "\" ySize=\"" + std::to_string(height) +
           "\"/>\n    </SimpleSource>\n  </VRTRasterBand>\n";
  }
  return xml + "</VRTDataset>\n";
}

TEST(HostileRaster, HugeDeclaredSizeIsReadDecimatedInBoundedMemory) {
  test::TempDir dir;
  const std::string path = dir.file("huge.vrt");
  std::ofstream(path) << huge_vrt(100000, 100000);  // 3 x 10^10 bytes if read in full
  SceneOptions options;
  options.max_side = 512;
  const long before = current_rss_mib();
  const bool reset = reset_peak_rss();
  const SceneFrame frame = read_frame(path, options);
  const long peak = reset ? peak_rss_mib() : -1;
  EXPECT_EQ(frame.grid.width, 100000);
  EXPECT_EQ(frame.grid.height, 100000);
  EXPECT_EQ(frame.rgb.width, 512);
  EXPECT_EQ(frame.rgb.height, 512);
  EXPECT_GT(frame.valid_share(), 0.5);
  if (reset && peak > 0) {
    // The working image is 0.75 MiB; GDAL's block cache and the stretched source a few more.
    EXPECT_LT(peak - before, 256) << "peak RSS grew by " << (peak - before) << " MiB";
  } else {
    GTEST_LOG_(INFO) << "peak RSS cannot be reset here; memory bound not measured";
  }
}

TEST(HostileRaster, ZeroSizeIsAnErrorNamingTheFile) {
  test::TempDir dir;
  for (const char* size :
       {"rasterXSize=\"0\" rasterYSize=\"10\"", "rasterXSize=\"10\" rasterYSize=\"0\"",
        "rasterXSize=\"-5\" rasterYSize=\"10\""}) {
    const std::string path = dir.file("zero.vrt");
    std::ofstream(path, std::ios::trunc)
        << "<VRTDataset " << size
        << "><VRTRasterBand dataType=\"Byte\" band=\"1\"/></VRTDataset>\n";
    const std::string message = read_error(path);
    EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << size << ": " << message;
  }
}

TEST(HostileRaster, ZeroBandsIsAnErrorNamingTheFile) {
  test::TempDir dir;
  const std::string path = dir.file("no_bands.vrt");
  std::ofstream(path) << "<VRTDataset rasterXSize=\"10\" rasterYSize=\"10\"></VRTDataset>\n";
  const std::string message = read_error(path);
  EXPECT_EQ(message.rfind(path + ": ", 0), 0u) << message;
}

TEST(HostileRaster, TimeSeriesWithMismatchedBandCountsNamesTheFrame) {
  test::TempDir dir;
  test::SyntheticRaster rgb;
  rgb.bands = 3;
  test::SyntheticRaster grey;
  grey.bands = 2;  // neither grey (1) nor RGB (3)
  test::write_raster(dir.file("t0.tif"), rgb);
  test::write_raster(dir.file("t1.tif"), grey);
  try {
    read_time_series({dir.file("t0.tif"), dir.file("t1.tif")}, SceneOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.file("t1.tif") + ": ", 0), 0u) << e.what();
  }
}

TEST(HostileRaster, SarPairWithOneBandSarNamesTheSarFile) {
  test::TempDir dir;
  test::SyntheticRaster optical;
  optical.bands = 3;
  test::SyntheticRaster sar;
  sar.type = GDT_Float32;
  sar.value = [](int, int, int) { return -12.0; };
  test::write_raster(dir.file("opt.tif"), optical);
  test::write_raster(dir.file("sar.tif"), sar);
  try {
    read_optical_sar(dir.file("opt.tif"), SceneOptions{}, dir.file("sar.tif"), SceneOptions{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(dir.file("sar.tif") + ": ", 0), 0u) << e.what();
  }
}

// A nodata value the data type cannot hold matches no pixel: everything stays valid.
TEST(HostileRaster, AbsurdNodataMatchesNoPixel) {
  test::TempDir dir;
  for (double nodata : {1e300, -1e300, 256.5, std::numeric_limits<double>::quiet_NaN()}) {
    const std::string path = dir.file("absurd.tif");
    test::SyntheticRaster spec;
    spec.bands = 3;
    spec.has_nodata = true;
    spec.nodata = nodata;
    spec.value = [](int b, int x, int) { return 40.0 * b + x; };
    test::write_raster(path, spec);
    SceneFrame frame;
    ASSERT_NO_THROW(frame = read_frame(path, SceneOptions{})) << nodata;
    EXPECT_DOUBLE_EQ(frame.valid_share(), 1.0) << nodata;
    EXPECT_EQ(frame.rgb.pixels[0], 40) << nodata;  // band 1 at x=0: 40, as is
  }
}

TEST(HostileRaster, InfinitiesAreInvalidPixelsNotValues) {
  test::TempDir dir;
  const std::string path = dir.file("inf.tif");
  test::SyntheticRaster spec;
  spec.type = GDT_Float32;
  spec.bands = 2;
  spec.value = [](int b, int x, int) {
    if (x < 2)
      return b == 1 ? std::numeric_limits<double>::infinity()
                    : -std::numeric_limits<double>::infinity();
    if (x < 4) return std::numeric_limits<double>::quiet_NaN();
    return -12.0;
  };
  test::write_raster(path, spec);
  SceneOptions options;
  options.modality = Modality::kSar;
  const SceneFrame frame = read_frame(path, options);
  ASSERT_EQ(frame.validity.width, 8);
  EXPECT_DOUBLE_EQ(frame.valid_share(), 0.5);
  for (int x = 0; x < 8; ++x) EXPECT_EQ(frame.validity.pixels[x], x < 4 ? 0 : 1) << x;

  spec.value = [](int, int x, int) {
    return x % 2 ? std::numeric_limits<double>::infinity()
                 : -std::numeric_limits<double>::infinity();
  };
  test::write_raster(path, spec);
  EXPECT_EQ(read_error(path, options).rfind(path + ": ", 0), 0u);
}

// Rotated and south-up grids are kept as they are (masks are written back on the same grid); the
// pixels are not flipped or resampled.
TEST(HostileRaster, NonNorthUpGridsAreKeptAsIs) {
  test::TempDir dir;
  const std::array<std::array<double, 6>, 2> grids = {{
      {500000.0, 10.0, 2.5, 4000000.0, 1.5, -10.0},  // rotated
      {500000.0, 10.0, 0.0, 4000000.0, 0.0, 10.0},   // south-up
  }};
  for (const auto& geotransform : grids) {
    const std::string path = dir.file("grid.tif");
    test::SyntheticRaster spec;
    spec.geotransform = geotransform;
    spec.value = [](int, int, int y) { return 10.0 * y; };
    test::write_raster(path, spec);
    const SceneFrame frame = read_frame(path, SceneOptions{});
    EXPECT_TRUE(frame.grid.has_geotransform);
    EXPECT_EQ(frame.grid.geotransform, geotransform);
    EXPECT_EQ(frame.rgb.pixels[0], 0);                                // row 0 first
    EXPECT_EQ(frame.rgb.pixels[static_cast<size_t>(7) * 8 * 3], 70);  // row 7 last
  }
}

TEST(HostileRaster, GeotransformWithoutCrsReadsWithEmptyCrs) {
  test::TempDir dir;
  const std::string path = dir.file("no_crs.tif");
  test::SyntheticRaster spec;
  spec.georeferenced = false;
  test::write_raster(path, spec);
  {
    GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_UPDATE));
    ASSERT_TRUE(ds);
    double geotransform[6] = {10.0, 1.0, 0.0, 20.0, 0.0, -1.0};
    ds->SetGeoTransform(geotransform);
  }
  const SceneFrame frame = read_frame(path, SceneOptions{});
  EXPECT_TRUE(frame.grid.has_geotransform);
  EXPECT_TRUE(frame.grid.crs_wkt.empty());
  // Two CRS-less frames on the same grid make a series without warping.
  EXPECT_NO_THROW(read_time_series({path, path}, SceneOptions{}));
}

}  // namespace
}  // namespace terrascope
