#include <gtest/gtest.h>
#include <ogrsf_frmts.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <cmath>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "rasters_out_support.h"
#include "terrascope/error.h"
#include "terrascope/mask_polygons.h"

namespace terrascope {
namespace {

using test::error_of;
using test::ScratchDir;

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

// Signed area of a ring (shoelace): positive when counter-clockwise with y up.
double signed_area(const nlohmann::json& ring) {
  double sum = 0;
  for (size_t i = 0; i + 1 < ring.size(); ++i) {
    sum += ring[i][0].get<double>() * ring[i + 1][1].get<double>() -
           ring[i + 1][0].get<double>() * ring[i][1].get<double>();
  }
  return sum / 2;
}

struct Extent {
  double min_x = 1e300, min_y = 1e300, max_x = -1e300, max_y = -1e300;
};

Extent extent_of(const nlohmann::json& ring) {
  Extent e;
  for (const auto& p : ring) {
    e.min_x = std::min(e.min_x, p[0].get<double>());
    e.max_x = std::max(e.max_x, p[0].get<double>());
    e.min_y = std::min(e.min_y, p[1].get<double>());
    e.max_y = std::max(e.max_y, p[1].get<double>());
  }
  return e;
}

TEST(Polygons, GeoJsonOfTheGeographicLabelGridIsLonLat) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLabelTif);
  const auto& gt = grid.geotransform;
  const std::string out = dir.file("water.geojson");
  const PolygonsWritten written =
      write_mask_geojson(out, grid, test::rectangle_mask(512, 512, 10, 20, 19, 29));
  EXPECT_TRUE(written.georeferenced);
  EXPECT_EQ(written.polygon_count, 1);

  const nlohmann::json doc = read_json(out);
  EXPECT_EQ(doc["type"], "FeatureCollection");
  EXPECT_FALSE(doc.contains("crs"));  // RFC 7946 has no crs member: EPSG:4326 is implied
  ASSERT_EQ(doc["features"].size(), 1u);
  EXPECT_EQ(doc["features"][0]["properties"]["value"], 1);
  const auto& ring = doc["features"][0]["geometry"]["coordinates"][0];
  const Extent e = extent_of(ring);
  // Longitude first: the scene lies at 0.78 W, 38.1 N. RFC 7946 output keeps 7 decimals.
  EXPECT_NEAR(e.min_x, gt[0] + 10 * gt[1], 1e-7);
  EXPECT_NEAR(e.max_x, gt[0] + 20 * gt[1], 1e-7);
  EXPECT_NEAR(e.max_y, gt[3] + 20 * gt[5], 1e-7);
  EXPECT_NEAR(e.min_y, gt[3] + 30 * gt[5], 1e-7);
  EXPECT_GT(signed_area(ring), 0);  // RFC 7946: exterior rings counter-clockwise
  EXPECT_EQ(dir.entries(), std::set<std::string>{"water.geojson"});
}

TEST(Polygons, GeoJsonOfTheUtmGridAgreesWithGdaltransform) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLandsatTif);
  const auto& gt = grid.geotransform;
  const std::string out = dir.file("box.geojson");
  write_mask_geojson(out, grid, test::rectangle_mask(grid.width, grid.height, 100, 200, 109, 209));
  const nlohmann::json doc = read_json(out);
  ASSERT_EQ(doc["features"].size(), 1u);
  const auto& ring = doc["features"][0]["geometry"]["coordinates"][0];
  const auto corners =
      test::gdaltransform_to_lonlat("EPSG:32618", {{gt[0] + 100 * gt[1], gt[3] + 200 * gt[5]},
                                                   {gt[0] + 110 * gt[1], gt[3] + 200 * gt[5]},
                                                   {gt[0] + 110 * gt[1], gt[3] + 210 * gt[5]},
                                                   {gt[0] + 100 * gt[1], gt[3] + 210 * gt[5]}});
  ASSERT_EQ(corners.size(), 4u);
  // Every corner of the pixel box is a vertex of the ring (within the 7-decimal rounding).
  for (const auto& corner : corners) {
    double nearest = 1e300;
    for (const auto& p : ring) {
      nearest = std::min(
          nearest, std::hypot(p[0].get<double>() - corner[0], p[1].get<double>() - corner[1]));
    }
    EXPECT_LT(nearest, 2e-7) << corner[0] << " " << corner[1];
  }
}

TEST(Polygons, GeoPackageKeepsTheSceneCrsAndPixelArea) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLandsatTif);
  const std::string out = dir.file("box.gpkg");
  const PolygonsWritten written =
      write_mask_geopackage(out, grid, test::rectangle_mask(grid.width, grid.height, 5, 5, 14, 9));
  EXPECT_EQ(written.polygon_count, 1);
  auto ds = test::open_dataset(out, GDAL_OF_VECTOR);
  ASSERT_TRUE(ds);
  OGRLayer* layer = ds->GetLayerByName("mask");
  ASSERT_NE(layer, nullptr);
  ASSERT_NE(layer->GetSpatialRef(), nullptr);
  char* wkt = nullptr;
  layer->GetSpatialRef()->exportToWkt(&wkt);
  EXPECT_TRUE(test::same_crs(wkt, grid.crs_wkt));
  CPLFree(wkt);
  EXPECT_EQ(layer->GetFeatureCount(), 1);
  OGRFeatureUniquePtr feature(layer->GetNextFeature());
  const double area = feature->GetGeometryRef()->toPolygon()->get_Area();
  EXPECT_NEAR(area, 50 * grid.geotransform[1] * std::abs(grid.geotransform[5]), 1e-3);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"box.gpkg"});
}

TEST(Polygons, RotatedGridVerticesFollowTheGeotransform) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = 6;
  grid.height = 5;
  grid.has_geotransform = true;
  grid.geotransform = {500000.0, 8.0, 6.0, 4000000.0, 6.0, -8.0};  // rotated 10 m pixels
  grid.crs_wkt = test::epsg_wkt(32618);
  const std::string out = dir.file("one.gpkg");
  write_mask_geopackage(out, grid, test::rectangle_mask(6, 5, 2, 3, 2, 3));
  auto ds = test::open_dataset(out, GDAL_OF_VECTOR);
  OGRLayer* layer = ds->GetLayer(0);
  OGRFeatureUniquePtr feature(layer->GetNextFeature());
  const OGRLinearRing* ring = feature->GetGeometryRef()->toPolygon()->getExteriorRing();
  const auto& gt = grid.geotransform;
  for (const auto& corner : std::vector<std::array<double, 2>>{{2, 3}, {3, 3}, {3, 4}, {2, 4}}) {
    const double x = gt[0] + corner[0] * gt[1] + corner[1] * gt[2];
    const double y = gt[3] + corner[0] * gt[4] + corner[1] * gt[5];
    bool found = false;
    for (int i = 0; i < ring->getNumPoints(); ++i) {
      found |= std::abs(ring->getX(i) - x) < 1e-6 && std::abs(ring->getY(i) - y) < 1e-6;
    }
    EXPECT_TRUE(found) << "corner " << corner[0] << "," << corner[1];
  }
  EXPECT_NEAR(feature->GetGeometryRef()->toPolygon()->get_Area(), 100.0, 1e-6);
}

TEST(Polygons, DiagonalPixelsAreSeparatePolygonsAndHolesAreKept) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 8;
  GrayImage mask = test::rectangle_mask(8, 8, 0, 0, 0, 0);
  mask.pixels[1 * 8 + 1] = 1;  // corner contact only: 4-connectivity keeps two polygons
  const GrayImage ring = test::rectangle_mask(8, 8, 3, 3, 7, 7);
  for (size_t i = 0; i < mask.pixels.size(); ++i) mask.pixels[i] |= ring.pixels[i];
  mask.pixels[5 * 8 + 5] = 0;  // a hole in the 5x5 block
  const std::string out = dir.file("shapes.geojson");
  const PolygonsWritten written = write_mask_geojson(out, grid, mask);
  EXPECT_EQ(written.polygon_count, 3);
  const nlohmann::json doc = read_json(out);
  int with_hole = 0;
  for (const auto& f : doc["features"]) with_hole += f["geometry"]["coordinates"].size() == 2;
  EXPECT_EQ(with_hole, 1);
}

TEST(Polygons, WithoutGeoreferencingCoordinatesArePixelsAndTheFileSaysSo) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = 10;
  grid.height = 8;
  const std::string out = dir.file("pixels.geojson");
  const PolygonsWritten written =
      write_mask_geojson(out, grid, test::rectangle_mask(10, 8, 2, 3, 4, 6));
  EXPECT_FALSE(written.georeferenced);
  const nlohmann::json doc = read_json(out);
  EXPECT_NE(doc["description"].get<std::string>().find("pixel coordinates"), std::string::npos);
  const Extent e = extent_of(doc["features"][0]["geometry"]["coordinates"][0]);
  EXPECT_EQ(e.min_x, 2);
  EXPECT_EQ(e.max_x, 5);
  EXPECT_EQ(e.min_y, 3);
  EXPECT_EQ(e.max_y, 7);
}

TEST(Polygons, PixelsOutsideTheValidAreaBelongToNoPolygon) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = 10;
  grid.height = 4;
  const GrayImage all = test::rectangle_mask(10, 4, 0, 0, 9, 3);
  const GrayImage valid = test::rectangle_mask(10, 4, 0, 0, 5, 3);
  const std::string out = dir.file("valid.geojson");
  write_mask_geojson(out, grid, all, &valid);
  const nlohmann::json doc = read_json(out);
  ASSERT_EQ(doc["features"].size(), 1u);
  EXPECT_EQ(extent_of(doc["features"][0]["geometry"]["coordinates"][0]).max_x, 6);
}

TEST(Polygons, EmptyMaskWritesAnEmptyCollection) {
  ScratchDir dir;
  const RasterGrid grid = test::grid_of(test::kLabelTif);
  const std::string out = dir.file("none.geojson");
  const PolygonsWritten written =
      write_mask_geojson(out, grid, GrayImage{512, 512, std::vector<uint8_t>(512 * 512, 0)});
  EXPECT_EQ(written.polygon_count, 0);
  EXPECT_EQ(read_json(out)["features"].size(), 0u);
}

// --- bad input ---

TEST(Polygons, UnwritableDirectoryIsAnErrorAndLeavesNothing) {
  ScratchDir dir;
  { std::ofstream(dir.file("plain_file")) << "x"; }
  const RasterGrid grid = test::grid_of(test::kLabelTif);
  const GrayImage mask = test::rectangle_mask(512, 512, 1, 1, 2, 2);
  for (const std::string name : {"water.geojson", "water.gpkg"}) {
    const std::string out = dir.file("plain_file/" + name);
    const std::string message = error_of([&] {
      if (name == "water.gpkg") {
        write_mask_geopackage(out, grid, mask);
      } else {
        write_mask_geojson(out, grid, mask);
      }
    });
    EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  }
  const std::string proc_out = "/proc/terrascope_polygons_test.gpkg";
  EXPECT_EQ(error_of([&] { write_mask_geopackage(proc_out, grid, mask); }).rfind(proc_out, 0), 0u);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"plain_file"});
}

TEST(Polygons, LocalCrsCannotBeWrittenAsGeoJson) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 4;
  grid.has_geotransform = true;
  grid.crs_wkt = "LOCAL_CS[\"site grid\",UNIT[\"metre\",1],AXIS[\"X\",EAST],AXIS[\"Y\",NORTH]]";
  const std::string out = dir.file("site.geojson");
  const std::string message =
      error_of([&] { write_mask_geojson(out, grid, test::rectangle_mask(4, 4, 0, 0, 1, 1)); });
  EXPECT_EQ(message.rfind(out + ": no transformation from the scene CRS to EPSG:4326", 0), 0u)
      << message;
  EXPECT_TRUE(dir.entries().empty());
  // The GeoPackage keeps the scene's own coordinates, so it is fine.
  EXPECT_EQ(
      write_mask_geopackage(dir.file("site.gpkg"), grid, test::rectangle_mask(4, 4, 0, 0, 1, 1))
          .polygon_count,
      1);
}

// GDAL's GeoJSON writer ignores failed writes; a full disk must still be an error, not a
// truncated file. The full disk is a 64 KiB tmpfs (needs root and mount(2), skipped otherwise).
TEST(Polygons, GeoJsonOnAFullDiskIsAnErrorAndLeavesNothing) {
  ScratchDir dir;
  if (::geteuid() != 0 ||
      ::mount("terrascope_test", dir.path().c_str(), "tmpfs", 0, "size=64k") != 0) {
    GTEST_SKIP() << "cannot mount a small tmpfs (needs root): " << std::strerror(errno);
  }
  RasterGrid grid = test::grid_of(test::kLabelTif);
  GrayImage checkerboard{512, 512, std::vector<uint8_t>(512 * 512)};
  for (int i = 0; i < 512 * 512; ++i) checkerboard.pixels[i] = ((i % 512) / 4 + (i / 512) / 4) % 2;
  const std::string out = dir.file("mask.geojson");
  const std::string message = error_of([&] { write_mask_geojson(out, grid, checkerboard); });
  const std::set<std::string> left = dir.entries();
  ::umount(dir.path().c_str());
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  EXPECT_TRUE(left.empty());
}

TEST(Polygons, MalformedMaskIsAnErrorNamingTheOutput) {
  ScratchDir dir;
  RasterGrid grid;
  grid.width = grid.height = 2;
  const std::string out = dir.file("bad.geojson");
  const std::string message = error_of([&] {
    write_mask_geojson(out, grid, GrayImage{2, 2, {0, 1, 7, 0}});
  });
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace terrascope
