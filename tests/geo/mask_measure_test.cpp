#include "terrascope/mask_measure.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "rasters_out_support.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using test::error_of;

struct LabelMasks {
  RasterGrid grid;
  GrayImage water, labelled;
};

LabelMasks label_masks() {
  LabelMasks m;
  m.grid = test::grid_of(test::kLabelTif);
  const auto label = test::read_band(test::kLabelTif);
  m.water = test::gray_where(label, m.grid.width, m.grid.height, [](double v) { return v == 1; });
  m.labelled =
      test::gray_where(label, m.grid.width, m.grid.height, [](double v) { return v != -1; });
  return m;
}

RasterGrid projected_grid(int width, int height, double pixel_width, double pixel_height,
                          int epsg = 32618) {
  RasterGrid grid;
  grid.width = width;
  grid.height = height;
  grid.has_geotransform = true;
  grid.geotransform = {500000.0, pixel_width, 0.0, 4000000.0, 0.0, -pixel_height};
  grid.crs_wkt = test::epsg_wkt(epsg);
  return grid;
}

// The expected number comes from tools/testdata_label_area.py (numerical quadrature in Python),
// generated into the test-data directory by scripts/make_testdata.sh.
TEST(MaskMeasure, LabelWaterAreaMatchesTheIndependentComputation) {
  const std::string expected_path = std::string(TERRASCOPE_TEST_DATA) + "/label_area.json";
  std::ifstream in(expected_path);
  ASSERT_TRUE(in) << expected_path << " is missing: run scripts/make_testdata.sh "
                  << TERRASCOPE_TEST_DATA;
  const nlohmann::json expected = nlohmann::json::parse(in);

  const LabelMasks m = label_masks();
  const MaskMeasurements measured = measure_mask(m.grid, m.water, &m.labelled);
  ASSERT_TRUE(measured.area_m2.has_value());
  EXPECT_EQ(measured.pixel_count, expected["water_pixels"].get<int64_t>());
  const double reference = expected["water_area_m2"].get<double>();
  EXPECT_NEAR(*measured.area_m2, reference, 0.005 * reference);  // the bound: 0.5%
  EXPECT_NEAR(*measured.area_m2, reference, 1e-6 * reference);   // what two exact methods give
  // Degrees squared would be off by ten orders of magnitude; a flat 10 m x 10 m guess by 27%.
  std::printf("label water area: %.6f m^2 (C++), %.6f m^2 (Python quadrature)\n", *measured.area_m2,
              reference);
}

TEST(MaskMeasure, LabelCountsAndShareOfValidPixels) {
  const LabelMasks m = label_masks();
  const MaskMeasurements measured = measure_mask(m.grid, m.water, &m.labelled);
  EXPECT_EQ(measured.pixel_count, 70035);  // numpy: (label == 1).sum()
  EXPECT_EQ(measured.valid_pixel_count, 512 * 512 - 99);
  EXPECT_DOUBLE_EQ(measured.valid_share, 70035.0 / (512 * 512 - 99));
}

TEST(MaskMeasure, UtmAreaIsPixelCountTimesPixelArea) {
  const RasterGrid grid = test::grid_of(test::kLandsatTif);
  const auto band = test::read_band(test::kLandsatTif);
  const GrayImage valid =
      test::gray_where(band, grid.width, grid.height, [](double v) { return v != 0; });
  const nlohmann::json info = test::gdalinfo_json(test::kLandsatTif);
  const double pixel_width = info["geoTransform"][1];
  const double pixel_height = info["geoTransform"][5];
  EXPECT_NEAR(pixel_width, 300.0379, 1e-4);  // not exactly 300 m
  int64_t count = 0;
  for (uint8_t v : valid.pixels) count += v;

  const MaskMeasurements measured = measure_mask(grid, valid);
  EXPECT_EQ(measured.pixel_count, count);
  ASSERT_TRUE(measured.area_m2.has_value());
  EXPECT_NEAR(*measured.area_m2, count * pixel_width * std::abs(pixel_height), 1e-3);
  std::printf("landsat valid area: %lld px x %.6f x %.6f m = %.1f m^2\n",
              static_cast<long long>(count), pixel_width, std::abs(pixel_height),
              *measured.area_m2);
}

TEST(MaskMeasure, ProjectedAreaUsesTheLinearUnit) {
  // EPSG:2263, New York State Plane, US survey feet: a 10 ft pixel is 3.048006 m wide.
  const RasterGrid grid = projected_grid(4, 4, 10.0, 10.0, 2263);
  const MaskMeasurements measured = measure_mask(grid, test::rectangle_mask(4, 4, 0, 0, 1, 0));
  const double metres_per_foot = 1200.0 / 3937.0;
  EXPECT_NEAR(*measured.area_m2, 2 * 100.0 * metres_per_foot * metres_per_foot, 1e-9);
}

TEST(MaskMeasure, RotatedProjectedAreaUsesTheDeterminant) {
  RasterGrid grid = projected_grid(4, 4, 0, 0);
  const double angle = 0.3;
  grid.geotransform = {500000.0,  10 * std::cos(angle), 20 * std::sin(angle),
                       4000000.0, 10 * std::sin(angle), -20 * std::cos(angle)};
  const MaskMeasurements measured = measure_mask(grid, test::rectangle_mask(4, 4, 0, 0, 2, 0));
  EXPECT_NEAR(*measured.area_m2, 3 * 200.0, 1e-9);
}

TEST(MaskMeasure, RotatedGeographicGridMeasuresLikeTheUnrotatedOne) {
  LabelMasks m = label_masks();
  const MaskMeasurements straight = measure_mask(m.grid, m.water, &m.labelled);
  // Same pixel area (|det|), rotated by 20 degrees about the grid's origin.
  RasterGrid rotated = m.grid;
  const double d = m.grid.geotransform[1], angle = 20.0 * M_PI / 180.0;
  rotated.geotransform = {m.grid.geotransform[0], d * std::cos(angle), d * std::sin(angle),
                          m.grid.geotransform[3], d * std::sin(angle), -d * std::cos(angle)};
  // Rotating about the top-left corner moves pixel latitudes slightly; the mask's mean latitude
  // shifts by a few hundred metres, which changes cos(latitude) by well under 0.1%.
  const MaskMeasurements turned = measure_mask(rotated, m.water, &m.labelled);
  EXPECT_NEAR(*turned.area_m2, *straight.area_m2, 1e-3 * *straight.area_m2);
}

TEST(MaskMeasure, ConnectedComponentsUseEightConnectivity) {
  const RasterGrid grid = projected_grid(6, 6, 10, 10);
  GrayImage mask = test::rectangle_mask(6, 6, 0, 0, 0, 0);
  mask.pixels[1 * 6 + 1] = 1;  // touches (0,0) at a corner only: same component
  mask.pixels[4 * 6 + 4] = 1;  // apart
  EXPECT_EQ(measure_mask(grid, mask).connected_components, 2);
}

TEST(MaskMeasure, CentroidAndBoxesOnTheGeographicLabelGrid) {
  const LabelMasks m = label_masks();
  const auto& gt = m.grid.geotransform;
  const GrayImage mask = test::rectangle_mask(512, 512, 10, 20, 19, 39);
  const MaskMeasurements measured = measure_mask(m.grid, mask);
  EXPECT_DOUBLE_EQ(*measured.centroid_col, 15.0);
  EXPECT_DOUBLE_EQ(*measured.centroid_row, 30.0);
  EXPECT_NEAR(measured.centroid_lonlat->lon, gt[0] + 15.0 * gt[1], 1e-9);
  EXPECT_NEAR(measured.centroid_lonlat->lat, gt[3] + 30.0 * gt[5], 1e-9);
  EXPECT_EQ(measured.bbox_pixels->col_min, 10);
  EXPECT_EQ(measured.bbox_pixels->row_min, 20);
  EXPECT_EQ(measured.bbox_pixels->col_max, 19);
  EXPECT_EQ(measured.bbox_pixels->row_max, 39);
  EXPECT_NEAR(measured.bbox_lonlat->west, gt[0] + 10 * gt[1], 1e-9);
  EXPECT_NEAR(measured.bbox_lonlat->east, gt[0] + 20 * gt[1], 1e-9);
  EXPECT_NEAR(measured.bbox_lonlat->north, gt[3] + 20 * gt[5], 1e-9);
  EXPECT_NEAR(measured.bbox_lonlat->south, gt[3] + 40 * gt[5], 1e-9);
  EXPECT_EQ(measured.connected_components, 1);
}

TEST(MaskMeasure, UtmCentroidAgreesWithGdaltransform) {
  const RasterGrid grid = test::grid_of(test::kLandsatTif);
  const auto& gt = grid.geotransform;
  const GrayImage mask = test::rectangle_mask(grid.width, grid.height, 100, 200, 299, 399);
  const MaskMeasurements measured = measure_mask(grid, mask);
  // Centre at pixel (200, 300); the box's corners at pixels (100|300, 200|400).
  const auto lonlat =
      test::gdaltransform_to_lonlat("EPSG:32618", {{gt[0] + 200 * gt[1], gt[3] + 300 * gt[5]},
                                                   {gt[0] + 100 * gt[1], gt[3] + 200 * gt[5]},
                                                   {gt[0] + 300 * gt[1], gt[3] + 200 * gt[5]},
                                                   {gt[0] + 300 * gt[1], gt[3] + 400 * gt[5]},
                                                   {gt[0] + 100 * gt[1], gt[3] + 400 * gt[5]}});
  ASSERT_EQ(lonlat.size(), 5u);
  EXPECT_NEAR(measured.centroid_lonlat->lon, lonlat[0][0], 1e-7);
  EXPECT_NEAR(measured.centroid_lonlat->lat, lonlat[0][1], 1e-7);
  EXPECT_LT(measured.centroid_lonlat->lon, -70);  // longitude first (the scene is near 77 W)
  double west = 180, east = -180, south = 90, north = -90;
  for (size_t i = 1; i < lonlat.size(); ++i) {
    west = std::min(west, lonlat[i][0]);
    east = std::max(east, lonlat[i][0]);
    south = std::min(south, lonlat[i][1]);
    north = std::max(north, lonlat[i][1]);
  }
  // Straight UTM edges bend only slightly in lon/lat over 60 km: extremes within ~10 m of corners.
  EXPECT_NEAR(measured.bbox_lonlat->west, west, 1e-4);
  EXPECT_NEAR(measured.bbox_lonlat->east, east, 1e-4);
  EXPECT_NEAR(measured.bbox_lonlat->south, south, 1e-4);
  EXPECT_NEAR(measured.bbox_lonlat->north, north, 1e-4);
}

TEST(MaskMeasure, LowResolutionMaskCountsAtGridResolution) {
  const RasterGrid grid = projected_grid(8, 6, 10, 10);
  const GrayImage low{4, 3, {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}};
  const MaskMeasurements measured = measure_mask(grid, low);
  EXPECT_EQ(measured.pixel_count, 8);
  EXPECT_NEAR(*measured.area_m2, 800.0, 1e-9);
  EXPECT_EQ(measured.connected_components, 1);  // the two 2x2 blocks touch at a corner
}

TEST(MaskMeasure, EmptyMaskHasAreaZeroAndNoCentroid) {
  const RasterGrid grid = projected_grid(4, 4, 10, 10);
  const MaskMeasurements measured =
      measure_mask(grid, GrayImage{4, 4, std::vector<uint8_t>(16, 0)});
  EXPECT_EQ(measured.pixel_count, 0);
  EXPECT_EQ(*measured.area_m2, 0.0);
  EXPECT_EQ(measured.connected_components, 0);
  EXPECT_FALSE(measured.centroid_lonlat.has_value());
  EXPECT_FALSE(measured.bbox_pixels.has_value());
}

TEST(MaskMeasure, WithoutGeoreferencingThereIsNoAreaInSquareMetres) {
  RasterGrid grid;
  grid.width = grid.height = 4;
  const MaskMeasurements measured = measure_mask(grid, test::rectangle_mask(4, 4, 1, 1, 2, 2));
  EXPECT_EQ(measured.pixel_count, 4);
  EXPECT_FALSE(measured.area_m2.has_value());
  EXPECT_FALSE(measured.centroid_lonlat.has_value());
  EXPECT_DOUBLE_EQ(*measured.centroid_col, 2.0);
  nlohmann::json json = measured;
  EXPECT_FALSE(json.contains("area_m2"));
  EXPECT_EQ(json["pixel_count"], 4);
  EXPECT_EQ(json["connectivity"], 8);
}

TEST(MaskMeasure, JsonCarriesTheMeasurements) {
  const LabelMasks m = label_masks();
  const nlohmann::json json = measure_mask(m.grid, m.water, &m.labelled);
  EXPECT_EQ(json["pixel_count"], 70035);
  EXPECT_TRUE(json["area_m2"].is_number());
  EXPECT_EQ(json["centroid_lonlat"].size(), 2u);
  EXPECT_EQ(json["bbox_lonlat"].size(), 4u);
  EXPECT_EQ(json["bbox_pixels"].size(), 4u);
}

// --- two masks: TerraScope-Bench DM (distance) and BRD (touching) ---

TEST(MaskRelation, DistanceMatchesBruteForceOnNonSquarePixels) {
  const RasterGrid grid = projected_grid(23, 17, 10.0, 25.0);
  std::mt19937 random(7);
  for (int trial = 0; trial < 20; ++trial) {
    GrayImage a{23, 17, std::vector<uint8_t>(23 * 17, 0)}, b = a;
    for (int i = 0; i < 4; ++i) a.pixels[random() % a.pixels.size()] = 1;
    for (int i = 0; i < 3; ++i) b.pixels[random() % b.pixels.size()] = 1;
    double best_m = 1e300, best_px = 1e300;
    for (int ia = 0; ia < 23 * 17; ++ia) {
      for (int ib = 0; ib < 23 * 17; ++ib) {
        if (!a.pixels[ia] || !b.pixels[ib]) continue;
        const double dx = ia % 23 - ib % 23, dy = ia / 23 - ib / 23;
        best_m = std::min(best_m, std::hypot(dx * 10.0, dy * 25.0));
        best_px = std::min(best_px, std::hypot(dx, dy));
      }
    }
    const MaskRelation relation = relate_masks(grid, a, b);
    EXPECT_NEAR(*relation.distance_m, best_m, 1e-9) << "trial " << trial;
    EXPECT_NEAR(*relation.distance_pixels, best_px, 1e-9) << "trial " << trial;
  }
}

TEST(MaskRelation, TenMetrePixelsGiveEdtTimesTenMetres) {
  const RasterGrid grid = projected_grid(20, 20, 10, 10);
  const MaskRelation relation = relate_masks(grid, test::rectangle_mask(20, 20, 2, 2, 4, 4),
                                             test::rectangle_mask(20, 20, 8, 7, 9, 9));
  EXPECT_NEAR(*relation.distance_pixels, std::hypot(4.0, 3.0), 1e-12);
  EXPECT_NEAR(*relation.distance_m, 50.0, 1e-9);
  EXPECT_FALSE(relation.touching);
}

TEST(MaskRelation, MasksAtOppositeCornersOfTheGrid) {
  const RasterGrid grid = projected_grid(30, 20, 10, 10);
  const MaskRelation apart = relate_masks(grid, test::rectangle_mask(30, 20, 0, 0, 0, 0),
                                          test::rectangle_mask(30, 20, 29, 19, 29, 19));
  EXPECT_NEAR(*apart.distance_m, 10 * std::hypot(29.0, 19.0), 1e-9);
  EXPECT_FALSE(apart.touching);
  const MaskRelation edge = relate_masks(grid, test::rectangle_mask(30, 20, 29, 0, 29, 19),
                                         test::rectangle_mask(30, 20, 28, 19, 28, 19));
  EXPECT_TRUE(edge.touching);
  EXPECT_NEAR(*edge.distance_m, 10.0, 1e-9);
}

TEST(MaskRelation, DiagonalNeighboursTouch) {
  const RasterGrid grid = projected_grid(10, 10, 10, 10);
  const MaskRelation relation = relate_masks(grid, test::rectangle_mask(10, 10, 1, 1, 3, 3),
                                             test::rectangle_mask(10, 10, 4, 4, 6, 6));
  EXPECT_TRUE(relation.touching);
  EXPECT_NEAR(*relation.distance_m, std::hypot(10.0, 10.0), 1e-9);
}

TEST(MaskRelation, OneEmptyColumnBetweenMasksIsNotTouching) {
  const RasterGrid grid = projected_grid(10, 10, 10, 10);
  const MaskRelation relation = relate_masks(grid, test::rectangle_mask(10, 10, 1, 1, 3, 3),
                                             test::rectangle_mask(10, 10, 5, 1, 6, 3));
  EXPECT_FALSE(relation.touching);
  EXPECT_NEAR(*relation.distance_m, 20.0, 1e-9);
}

TEST(MaskRelation, OverlappingMasksTouchAtDistanceZero) {
  const RasterGrid grid = projected_grid(10, 10, 10, 10);
  const MaskRelation relation = relate_masks(grid, test::rectangle_mask(10, 10, 1, 1, 5, 5),
                                             test::rectangle_mask(10, 10, 4, 4, 8, 8));
  EXPECT_TRUE(relation.touching);
  EXPECT_EQ(*relation.distance_m, 0.0);
}

TEST(MaskRelation, EmptyMaskHasNoDistance) {
  const RasterGrid grid = projected_grid(10, 10, 10, 10);
  const MaskRelation relation = relate_masks(grid, test::rectangle_mask(10, 10, 1, 1, 5, 5),
                                             GrayImage{10, 10, std::vector<uint8_t>(100, 0)});
  EXPECT_FALSE(relation.distance_m.has_value());
  EXPECT_FALSE(relation.touching);
  const nlohmann::json json = relation;
  EXPECT_FALSE(json.contains("distance_m"));
}

TEST(MaskRelation, PixelsOutsideTheValidAreaDoNotCount) {
  const RasterGrid grid = projected_grid(10, 1, 10, 10);
  const GrayImage a{10, 1, {1, 1, 1, 0, 0, 0, 0, 0, 0, 0}};
  const GrayImage b{10, 1, {0, 0, 0, 1, 0, 0, 0, 1, 0, 0}};
  const GrayImage valid{10, 1, {1, 1, 1, 0, 1, 1, 1, 1, 1, 1}};
  const MaskRelation relation = relate_masks(grid, a, b, &valid);
  EXPECT_FALSE(relation.touching);
  EXPECT_NEAR(*relation.distance_m, 50.0, 1e-9);
}

// Metres on the EPSG:4326 label grid: compared with PROJ's UTM 30N coordinates (gdaltransform),
// whose scale error near 0.8 W is below 0.1%.
TEST(MaskRelation, GeographicDistanceIsInMetres) {
  const LabelMasks m = label_masks();
  const auto& gt = m.grid.geotransform;
  const MaskRelation east = relate_masks(m.grid, test::rectangle_mask(512, 512, 250, 256, 250, 256),
                                         test::rectangle_mask(512, 512, 290, 256, 290, 256));
  const MaskRelation south =
      relate_masks(m.grid, test::rectangle_mask(512, 512, 256, 230, 256, 230),
                   test::rectangle_mask(512, 512, 256, 270, 256, 270));
  const auto utm = [&](double col, double row) {
    const std::string out = test::run_command(
        "echo '" + std::to_string(gt[0] + col * gt[1]) + " " + std::to_string(gt[3] + row * gt[5]) +
        "' | gdaltransform -s_srs EPSG:4326 -t_srs EPSG:32630 -output_xy");
    std::array<double, 2> xy{};
    std::sscanf(out.c_str(), "%lf %lf", &xy[0], &xy[1]);
    return xy;
  };
  // gdaltransform takes EPSG:4326 input as lon lat (traditional GIS order).
  const auto p0 = utm(250.5, 256.5), p1 = utm(290.5, 256.5);
  const auto q0 = utm(256.5, 230.5), q1 = utm(256.5, 270.5);
  const double expected_east = std::hypot(p1[0] - p0[0], p1[1] - p0[1]);
  const double expected_south = std::hypot(q1[0] - q0[0], q1[1] - q0[1]);
  EXPECT_NEAR(*east.distance_m, expected_east, 2e-3 * expected_east);
  EXPECT_NEAR(*south.distance_m, expected_south, 2e-3 * expected_south);
  EXPECT_LT(*east.distance_m, *south.distance_m);  // a degree of longitude is shorter here
}

// --- bad input ---

TEST(MaskMeasure, MaskValuesOtherThanZeroAndOneAreAnError) {
  const RasterGrid grid = projected_grid(2, 2, 10, 10);
  const std::string message = error_of([&] { measure_mask(grid, GrayImage{2, 2, {0, 2, 0, 0}}); });
  EXPECT_EQ(message.rfind("mask: ", 0), 0u) << message;
  EXPECT_NE(message.find("value 2 at (1,0)"), std::string::npos) << message;
}

TEST(MaskMeasure, BrokenCrsWktIsAnError) {
  RasterGrid grid = projected_grid(2, 2, 10, 10);
  grid.crs_wkt = "GEOGCS[";
  EXPECT_NE(error_of([&] {
              measure_mask(grid, GrayImage{2, 2, {0, 1, 0, 0}});
            }).find("not valid WKT"),
            std::string::npos);
}

TEST(MaskMeasure, GeographicGridBeyondThePolesIsAnError) {
  RasterGrid grid = label_masks().grid;
  grid.geotransform = {0.0, 1.0, 0.0, 89.5, 0.0, 1.0};  // rows run north, past 90
  EXPECT_NE(error_of([&] {
              measure_mask(grid, test::rectangle_mask(512, 512, 0, 0, 0, 1));
            }).find("beyond the poles"),
            std::string::npos);
}

constexpr const char* kLocalCrs =
    "LOCAL_CS[\"site grid\",UNIT[\"metre\",1],AXIS[\"X\",EAST],AXIS[\"Y\",NORTH]]";

TEST(MaskMeasure, LocalCrsHasAreaButNoLonLat) {
  RasterGrid grid = projected_grid(4, 4, 2, 3);
  grid.crs_wkt = kLocalCrs;
  const MaskMeasurements measured = measure_mask(grid, test::rectangle_mask(4, 4, 0, 0, 1, 1));
  EXPECT_NEAR(*measured.area_m2, 4 * 6.0, 1e-12);
  EXPECT_FALSE(measured.centroid_lonlat.has_value());
  EXPECT_FALSE(measured.bbox_lonlat.has_value());
}

TEST(MaskMeasure, GeocentricCrsIsAnError) {
  RasterGrid grid = projected_grid(4, 4, 10, 10);
  grid.crs_wkt = test::epsg_wkt(4978);
  const std::string message =
      error_of([&] { measure_mask(grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_NE(message.find("neither geographic nor projected"), std::string::npos) << message;
}

TEST(MaskRelation, MasksOfDifferentSizesAreAnError) {
  const RasterGrid grid = projected_grid(10, 10, 10, 10);
  const std::string message = error_of([&] {
    relate_masks(grid, test::rectangle_mask(10, 10, 0, 0, 1, 1),
                 test::rectangle_mask(5, 5, 0, 0, 1, 1));
  });
  EXPECT_NE(message.find("differ in size (10x10 and 5x5)"), std::string::npos) << message;
}

}  // namespace
}  // namespace terrascope
