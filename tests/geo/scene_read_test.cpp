// Reading real scenes from ../shared/data. Expected sums and pixels come from python3-gdal + numpy
// applying the documented rules to the same files (docs/RASTERS.md), computed outside this code.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

#include "geo/scene_test_support.h"
#include "terrascope/error.h"
#include "terrascope/scene.h"

namespace terrascope {
namespace {

using test::shared_data;

int64_t channel_sum(const RgbImage& image, int channel) {
  int64_t sum = 0;
  for (size_t i = channel; i < image.pixels.size(); i += 3) sum += image.pixels[i];
  return sum;
}

std::vector<int> pixel(const RgbImage& image, int x, int y) {
  const size_t i = 3 * (static_cast<size_t>(y) * image.width + x);
  return {image.pixels[i], image.pixels[i + 1], image.pixels[i + 2]};
}

TEST(SceneRead, Sentinel2PresetTakesB4B3B2ClippedAt3000) {
  SceneOptions options;
  options.preset = "sentinel2";
  const SceneFrame frame =
      read_frame(shared_data("sen1floods11/Spain_7370579_S2Hand.tif"), options);
  EXPECT_EQ(frame.bands, (std::vector<int>{4, 3, 2}));
  ASSERT_EQ(frame.rgb.width, 512);
  ASSERT_EQ(frame.rgb.height, 512);
  // numpy: (np.clip(stack(b4,b3,b2), 0, 3000) / 3000.0 * 255).astype(np.uint8)
  EXPECT_EQ(channel_sum(frame.rgb, 0), 27905063);
  EXPECT_EQ(channel_sum(frame.rgb, 1), 28145579);
  EXPECT_EQ(channel_sum(frame.rgb, 2), 28165437);
  EXPECT_EQ(pixel(frame.rgb, 0, 0), (std::vector<int>{81, 79, 84}));
  EXPECT_EQ(pixel(frame.rgb, 200, 100), (std::vector<int>{57, 92, 90}));
  EXPECT_DOUBLE_EQ(frame.valid_share(), 1.0);
}

TEST(SceneRead, Sentinel2GridIsTheFilesGrid) {
  const SceneFrame frame =
      read_frame(shared_data("sen1floods11/Spain_7370579_S2Hand.tif"), SceneOptions{});
  // gdalinfo: Origin = (-0.781893623297631,38.128812571396267), pixel 0.000089831528412
  EXPECT_EQ(frame.grid.width, 512);
  EXPECT_TRUE(frame.grid.has_geotransform);
  EXPECT_NEAR(frame.grid.geotransform[0], -0.781893623297631, 1e-12);
  EXPECT_NEAR(frame.grid.geotransform[1], 0.000089831528412, 1e-15);
  EXPECT_NEAR(frame.grid.geotransform[3], 38.128812571396267, 1e-12);
  EXPECT_NE(frame.grid.crs_wkt.find("4326"), std::string::npos);
}

TEST(SceneRead, Sentinel1PseudoRgbIsVhVvMean) {
  SceneOptions options;
  options.modality = Modality::kSar;
  const SceneFrame frame =
      read_frame(shared_data("sen1floods11/Spain_7370579_S1Hand.tif"), options);
  // Band descriptions are VV (1) and VH (2).
  EXPECT_EQ(frame.bands, (std::vector<int>{2, 1}));
  // numpy in float64: v8 = ((clip(v, -25, 0) + 25) / 25 * 255).astype(uint8);
  // avg = ((vh8.astype(float32) + vv8.astype(float32)) / 2).astype(uint8)  (SAR_RGB_Dataset.py)
  EXPECT_EQ(channel_sum(frame.rgb, 0), 17506886);
  EXPECT_EQ(channel_sum(frame.rgb, 1), 36207518);
  EXPECT_EQ(channel_sum(frame.rgb, 2), 26792476);
  EXPECT_EQ(pixel(frame.rgb, 0, 0), (std::vector<int>{66, 163, 114}));
  EXPECT_EQ(pixel(frame.rgb, 100, 300), (std::vector<int>{40, 164, 102}));
}

TEST(SceneRead, Sentinel1PresetEqualsDefaultSarBands) {
  SceneOptions options;
  options.modality = Modality::kSar;
  options.preset = "sentinel1";
  const SceneFrame frame =
      read_frame(shared_data("sen1floods11/Spain_7370579_S1Hand.tif"), options);
  EXPECT_EQ(frame.bands, (std::vector<int>{2, 1}));
}

TEST(SceneRead, LandsatNodataCollarIsInvalid) {
  const SceneFrame frame = read_frame(shared_data("rasterio_landsat/RGB.byte.tif"), SceneOptions{});
  ASSERT_EQ(frame.rgb.width, 791);
  ASSERT_EQ(frame.rgb.height, 718);
  // numpy: (a != 0).all(axis=0) -> 382405 of 567938 pixels valid.
  size_t valid = 0;
  for (uint8_t v : frame.validity.pixels) valid += v;
  EXPECT_EQ(valid, 382405u);
  EXPECT_EQ(pixel(frame.rgb, 0, 0), (std::vector<int>{0, 0, 0}));  // collar
}

TEST(SceneRead, DecimatedReadKeepsAspectWithinMaxSide) {
  SceneOptions options;
  options.max_side = 256;
  const SceneFrame frame = read_frame(shared_data("rasterio_landsat/RGB.byte.tif"), options);
  EXPECT_EQ(frame.rgb.width, 256);
  EXPECT_EQ(frame.rgb.height, 232);  // round(718 * 256 / 791)
  EXPECT_EQ(frame.validity.width, 256);
  EXPECT_EQ(frame.grid.width, 791);  // the grid stays the scene's full-resolution grid
  // Averaging keeps the valid share close to the full-resolution one (0.6733).
  EXPECT_NEAR(frame.valid_share(), 0.6733, 0.02);
}

TEST(SceneRead, DecimatedReadOfNaNMaskedSarIsConservative) {
  SceneOptions options;
  options.modality = Modality::kSar;
  options.bands = {3, 4};
  options.max_side = 50;
  const SceneFrame frame = read_frame(shared_data("spacenet_solaris/sar_masked.tif"), options);
  ASSERT_EQ(frame.rgb.width, 50);
  // Full resolution: 1 - 15661 / 40000 = 0.6085 valid. A 4x4 window touching NaN averages to NaN
  // (GDAL 3.6), so the decimated share is lower, never higher.
  EXPECT_LT(frame.valid_share(), 0.6085);
  EXPECT_GT(frame.valid_share(), 0.55);
}

TEST(SceneRead, DecimatedReadUsesOverviews) {
  test::TempDir dir;
  const std::string path = dir.file("big.tif");
  test::SyntheticRaster spec;
  spec.width = 1200;
  spec.height = 1200;
  spec.bands = 3;
  spec.value = [](int, int, int) { return 10.0; };
  test::write_raster(path, spec);
  {
    // Overviews deliberately unlike the full resolution: a reader that uses them returns 200.
    GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), GDAL_OF_UPDATE | GDAL_OF_RASTER));
    ASSERT_TRUE(dataset);
    int levels[] = {2, 4};
    int bands[] = {1, 2, 3};
    ASSERT_EQ(dataset->BuildOverviews("NEAREST", 2, levels, 3, bands, nullptr, nullptr), CE_None);
    for (int b = 1; b <= 3; ++b) {
      for (int o = 0; o < 2; ++o) dataset->GetRasterBand(b)->GetOverview(o)->Fill(200.0);
    }
  }
  SceneOptions options;
  options.max_side = 300;
  const SceneFrame frame = read_frame(path, options);
  ASSERT_EQ(frame.rgb.width, 300);
  EXPECT_EQ(pixel(frame.rgb, 100, 100), (std::vector<int>{200, 200, 200}));
  options.max_side = 0;  // full resolution: the real pixels
  EXPECT_EQ(pixel(read_frame(path, options).rgb, 100, 100), (std::vector<int>{10, 10, 10}));
}

TEST(SceneRead, ExplicitBandsInOutputOrder) {
  SceneOptions options;
  options.bands = {3, 2, 1};
  const SceneFrame bgr = read_frame(shared_data("rasterio_landsat/RGB.byte.tif"), options);
  const SceneFrame rgb = read_frame(shared_data("rasterio_landsat/RGB.byte.tif"), SceneOptions{});
  const std::vector<int> a = pixel(rgb.rgb, 400, 400);
  EXPECT_EQ(pixel(bgr.rgb, 400, 400), (std::vector<int>{a[2], a[1], a[0]}));
}

TEST(SceneRead, SingleBandIsGrey) {
  SceneOptions options;
  options.scaling = Scaling::kPercentile;
  const SceneFrame frame = read_frame(
      shared_data("debian_r_satellite/LC08_L1TP_195025_20130707_20170503_01_T1_B4.TIF"), options);
  EXPECT_EQ(frame.rgb.width, 41);
  const std::vector<int> p = pixel(frame.rgb, 20, 20);
  EXPECT_EQ(p[0], p[1]);
  EXPECT_EQ(p[1], p[2]);
}

TEST(SceneRead, PngWithoutGeoreferencing) {
  test::TempDir dir;
  const std::string path = dir.file("plain.png");
  test::SyntheticRaster spec;
  spec.driver = "PNG";
  spec.georeferenced = false;
  spec.width = 30;
  spec.height = 20;
  spec.bands = 3;
  spec.value = [](int band, int x, int) { return band * 50.0 + x; };
  test::write_raster(path, spec);
  const SceneFrame frame = read_frame(path, SceneOptions{});
  EXPECT_FALSE(frame.grid.has_geotransform);
  EXPECT_TRUE(frame.grid.crs_wkt.empty());
  EXPECT_EQ(pixel(frame.rgb, 7, 3), (std::vector<int>{57, 107, 157}));
}

TEST(SceneRead, VsizipPathIsPassedToGdalUntouched) {
  test::TempDir dir;
  const std::string zip = dir.file("scene.zip");
  const std::string command =
      "cd " + test::shared_data("rasterio_landsat") + " && zip -q " + zip + " RGB.byte.tif";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const SceneFrame zipped = read_frame("/vsizip/" + zip + "/RGB.byte.tif", SceneOptions{});
  const SceneFrame plain = read_frame(shared_data("rasterio_landsat/RGB.byte.tif"), SceneOptions{});
  EXPECT_EQ(zipped.rgb.pixels, plain.rgb.pixels);
  EXPECT_EQ(zipped.path, "/vsizip/" + zip + "/RGB.byte.tif");
}

TEST(SceneRead, VrtStackOfSingleBandFiles) {
  test::TempDir dir;
  const std::string vrt = dir.file("l8.vrt");
  const std::string base =
      test::shared_data("debian_r_satellite/LC08_L1TP_195025_20130707_20170503_01_T1_");
  const std::string command = "gdalbuildvrt -q -separate " + vrt + " " + base + "B4.TIF " + base +
                              "B3.TIF " + base + "B2.TIF";
  ASSERT_EQ(std::system(command.c_str()), 0);
  SceneOptions options;
  options.range_max = 20000.0;  // Landsat 8 DN here run 6600..15257
  const SceneFrame frame = read_frame(vrt, options);
  EXPECT_EQ(frame.bands, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(frame.rgb.width, 41);
  EXPECT_DOUBLE_EQ(frame.valid_share(), 1.0);
  // Red of the stack equals the grey of B4 alone under the same rule.
  const SceneFrame red = read_frame(base + "B4.TIF", options);
  for (size_t i = 0; i < red.rgb.pixels.size(); i += 3) {
    ASSERT_EQ(frame.rgb.pixels[i], red.rgb.pixels[i]);
  }
}

TEST(SceneRead, BandListParsing) {
  EXPECT_EQ(parse_band_list("4,3,2"), (std::vector<int>{4, 3, 2}));
  EXPECT_THROW(parse_band_list("4,x,2"), Error);
  EXPECT_THROW(parse_band_list("0,1,2"), Error);
  EXPECT_THROW(parse_band_list(""), Error);
}

}  // namespace
}  // namespace terrascope
