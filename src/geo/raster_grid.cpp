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
  const auto& a = grid.geotransform;
  const auto& b = reference.geotransform;
  const double pixel = std::max({std::abs(b[1]), std::abs(b[2]), std::abs(b[4]), std::abs(b[5])});
  const double tolerance = 1e-6 * pixel;
  for (int i = 0; i < 6; ++i) {
    if (std::abs(a[i] - b[i]) > tolerance) {
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
