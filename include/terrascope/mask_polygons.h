// A mask as polygons (GDAL polygonize): GeoJSON in EPSG:4326 and GeoPackage in the scene's CRS.
#pragma once

#include <string>

#include "terrascope/image.h"

namespace terrascope {

struct PolygonsWritten {
  int polygon_count = 0;
  // false: the scene has no geotransform or no CRS, so coordinates are pixel positions (column,
  // row from the top-left corner of the grid, rows downwards); the file's description says so.
  bool georeferenced = false;
};

// Polygons of the mask's 1-pixels (4-connected pixels form one polygon, so every polygon is valid;
// pixels outside `validity` belong to no polygon), one feature each with property "value" = 1.
// GeoJSON follows RFC 7946: EPSG:4326, longitude before latitude, counter-clockwise outer rings.
// Inputs as for write_mask_geotiff (a smaller mask is upsampled to the grid first). Written
// atomically; errors are terrascope::Error naming `path`.
PolygonsWritten write_mask_geojson(const std::string& path, const RasterGrid& grid,
                                   const GrayImage& mask, const GrayImage* validity = nullptr);

// The same polygons in the scene's CRS (layer "mask"), as a GeoPackage.
PolygonsWritten write_mask_geopackage(const std::string& path, const RasterGrid& grid,
                                      const GrayImage& mask, const GrayImage* validity = nullptr);

}  // namespace terrascope
