#include "geo/grid_crs.h"

#include <cpl_error.h>

#include "terrascope/error.h"

namespace terrascope::geo {

bool is_georeferenced(const RasterGrid& grid) {
  return grid.has_geotransform && !grid.crs_wkt.empty();
}

void pixel_to_map(const RasterGrid& grid, double col, double row, double* x, double* y) {
  const auto& gt = grid.geotransform;
  *x = gt[0] + col * gt[1] + row * gt[2];
  *y = gt[3] + col * gt[4] + row * gt[5];
}

std::unique_ptr<OGRSpatialReference> grid_spatial_reference(const RasterGrid& grid,
                                                            const std::string& subject) {
  auto srs = std::make_unique<OGRSpatialReference>();
  CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
  if (srs->importFromWkt(grid.crs_wkt.c_str()) != OGRERR_NONE) {
    throw Error(subject, "scene CRS is not valid WKT: " + grid.crs_wkt.substr(0, 60));
  }
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::unique_ptr<OGRSpatialReference> wgs84_lon_lat() {
  auto srs = std::make_unique<OGRSpatialReference>();
  srs->importFromEPSG(4326);
  srs->SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  return srs;
}

std::unique_ptr<OGRCoordinateTransformation> to_wgs84_lon_lat(const OGRSpatialReference& crs,
                                                              const std::string& subject) {
  const auto wgs84 = wgs84_lon_lat();
  CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
  std::unique_ptr<OGRCoordinateTransformation> transform(
      OGRCreateCoordinateTransformation(&crs, wgs84.get()));
  if (!transform) {
    throw Error(subject, "no transformation from the scene CRS to EPSG:4326 (" +
                             std::string(CPLGetLastErrorMsg()) + ")");
  }
  return transform;
}

}  // namespace terrascope::geo
