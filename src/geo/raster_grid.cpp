#include "geo/raster_grid.h"

#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <sstream>

namespace terrascope::geo {

RasterGrid grid_of(GDALDataset& dataset) {
  RasterGrid grid;
  grid.width = dataset.GetRasterXSize();
  grid.height = dataset.GetRasterYSize();
  double geotransform[6];
  if (dataset.GetGeoTransform(geotransform) == CE_None) {
    std::copy(geotransform, geotransform + 6, grid.geotransform.begin());
    grid.has_geotransform = true;
  }
  if (const OGRSpatialReference* srs = dataset.GetSpatialRef()) {
    char* wkt = nullptr;
    const char* const options[] = {"FORMAT=WKT2_2019", nullptr};
    if (srs->exportToWkt(&wkt, options) == OGRERR_NONE && wkt != nullptr) grid.crs_wkt = wkt;
    CPLFree(wkt);
  }
  return grid;
}

namespace {

bool same_crs(const std::string& a, const std::string& b) {
  if (a.empty() || b.empty()) return a.empty() && b.empty();
  if (a == b) return true;
  OGRSpatialReference srs_a;
  OGRSpatialReference srs_b;
  if (srs_a.importFromWkt(a.c_str()) != OGRERR_NONE) return false;
  if (srs_b.importFromWkt(b.c_str()) != OGRERR_NONE) return false;
  return srs_a.IsSame(&srs_b) != 0;
}

std::string size_text(const RasterGrid& grid) {
  return std::to_string(grid.width) + "x" + std::to_string(grid.height);
}

}  // namespace

std::string grid_difference(const RasterGrid& grid, const RasterGrid& reference) {
  if (grid.width != reference.width || grid.height != reference.height) {
    return "size " + size_text(grid) + " vs " + size_text(reference);
  }
  if (grid.has_geotransform != reference.has_geotransform) {
    return grid.has_geotransform ? "georeferenced vs not georeferenced"
                                 : "not georeferenced vs georeferenced";
  }
  if (!grid.has_geotransform) return "";  // two plain images of one size: pixel grids agree
  if (!same_crs(grid.crs_wkt, reference.crs_wkt)) return "different CRS";
  // Co-registered rasters written by different tools carry geotransforms that differ in the last
  // digits (solaris' rgb_unmasked.tif / sar_masked.tif: 4.49997 vs 4.49970 m). What matters is
  // where the pixels lie: every corner of the raster within kCornerTolerancePixels of the
  // reference's.
  constexpr double kCornerTolerancePixels = 0.05;
  const auto& a = grid.geotransform;
  const auto& b = reference.geotransform;
  const double pixel_x = std::hypot(b[1], b[4]);
  const double pixel_y = std::hypot(b[2], b[5]);
  const double tolerance = kCornerTolerancePixels * std::min(pixel_x, pixel_y);
  const double corners[4][2] = {
      {0.0, 0.0},
      {static_cast<double>(grid.width), 0.0},
      {0.0, static_cast<double>(grid.height)},
      {static_cast<double>(grid.width), static_cast<double>(grid.height)}};
  for (const auto& corner : corners) {
    const double dx =
        (a[0] + a[1] * corner[0] + a[2] * corner[1]) - (b[0] + b[1] * corner[0] + b[2] * corner[1]);
    const double dy =
        (a[3] + a[4] * corner[0] + a[5] * corner[1]) - (b[3] + b[4] * corner[0] + b[5] * corner[1]);
    if (std::hypot(dx, dy) > tolerance) {
      std::ostringstream out;
      out.precision(12);
      out << "geotransform (" << a[0] << ", " << a[1] << ", " << a[2] << ", " << a[3] << ", "
          << a[4] << ", " << a[5] << ") vs (" << b[0] << ", " << b[1] << ", " << b[2] << ", "
          << b[3] << ", " << b[4] << ", " << b[5] << ")";
      return out.str();
    }
  }
  return "";
}

}  // namespace terrascope::geo
