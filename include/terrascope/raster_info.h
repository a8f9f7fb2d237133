// What `terrascope info` reports about a raster: size, bands, CRS, pixel size in metres,
// geotransform and the share of valid pixels. No GDAL types here.
#pragma once

#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope {

struct BandInfo {
  int index = 0;            // 1-based
  std::string description;  // GDAL band description (e.g. "B4", "VV"); may be empty
  std::string data_type;    // GDAL name: Byte, Int16, UInt16, Float32, CFloat32, ...
  std::string colour;       // colour interpretation: Red, Gray, Undefined, ...
  bool has_nodata = false;
  double nodata = 0.0;  // may be NaN
};

struct RasterInfo {
  std::string path;
  std::string driver;  // GDAL short name (GTiff, PNG, VRT, ...)
  RasterGrid grid;     // size, geotransform, CRS WKT
  std::vector<BandInfo> bands;
  std::string crs_name;     // empty without a CRS
  int epsg = 0;             // 0 when no EPSG code is known
  bool geographic = false;  // degrees (pixel size converted to metres at the scene centre)
  // Size of one pixel step along a row / down a column, in metres; 0 when not known (no CRS).
  double pixel_width_m = 0.0;
  double pixel_height_m = 0.0;
  bool rotated = false;  // geotransform has rotation terms
  // Share of pixels valid in every band (finite, not nodata, not masked). Exact when the longer
  // side is <= valid_share_max_side; otherwise measured on a decimated read of that size.
  double valid_share = 0.0;
  bool valid_share_exact = true;
};

// Describes the raster at `path` (any GDAL path). Throws Error naming the file when it cannot be
// read.
RasterInfo describe_raster(const std::string& path, int valid_share_max_side = 2048);

}  // namespace terrascope
