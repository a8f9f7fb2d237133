// The CRS side of a RasterGrid: its spatial reference, pixel -> map coordinates through the
// geotransform, and map -> WGS 84 longitude/latitude (EPSG:4326 in lon, lat order).
#pragma once

#include <memory>
#include <string>

#include <ogr_spatialref.h>

#include "terrascope/image.h"

namespace terrascope::geo {

// True when a grid can be placed on the Earth: a geotransform and a CRS.
bool is_georeferenced(const RasterGrid& grid);

// Map coordinates of a (fractional) pixel position; (0,0) is the top-left corner of the top-left
// pixel, (0.5,0.5) its centre.
void pixel_to_map(const RasterGrid& grid, double col, double row, double* x, double* y);

// The grid's CRS with GDAL 2's axis order (x = easting/longitude), because geotransforms are in
// that order whatever the CRS definition says. Throws terrascope::Error naming `subject` when the
// WKT does not parse.
std::unique_ptr<OGRSpatialReference> grid_spatial_reference(const RasterGrid& grid,
                                                            const std::string& subject);

// WGS 84 geographic (EPSG:4326) with longitude first (RFC 7946 order), not EPSG's lat, lon.
std::unique_ptr<OGRSpatialReference> wgs84_lon_lat();

// Map coordinates of the grid's CRS -> lon/lat. Throws terrascope::Error naming `subject` when
// PROJ finds no transformation.
std::unique_ptr<OGRCoordinateTransformation> to_wgs84_lon_lat(const OGRSpatialReference& crs,
                                                              const std::string& subject);

}  // namespace terrascope::geo
