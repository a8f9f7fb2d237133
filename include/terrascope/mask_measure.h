// Measurements of masks on their scene's grid (issue 2; TerraScope-Bench's ground-truth rules).
#pragma once

#include <cstdint>
#include <optional>

#include <nlohmann/json_fwd.hpp>

#include "terrascope/image.h"

namespace terrascope {

struct PixelBox {  // inclusive pixel bounds of the grid
  int col_min = 0, row_min = 0, col_max = 0, row_max = 0;
};

struct LonLatBox {  // degrees, EPSG:4326
  double west = 0, south = 0, east = 0, north = 0;
};

struct LonLat {
  double lon = 0, lat = 0;
};

struct MaskMeasurements {
  int64_t pixel_count = 0;        // mask pixels inside the valid area, at grid resolution
  int64_t valid_pixel_count = 0;  // pixels of the valid area (the whole grid without validity)
  double valid_share = 0;         // pixel_count / valid_pixel_count (TerraScope-Bench CA)
  // Area in m^2 when the grid is georeferenced: projected CRS: |det| of the geotransform's 2x2
  // per pixel in the CRS's linear unit, converted to metres; geographic CRS: each pixel's area on
  // the CRS's ellipsoid. Without georeferencing: nullopt, use pixel_count.
  std::optional<double> area_m2;
  int connected_components = 0;  // OpenCV, 8-connectivity
  // Mean of the mask pixels' centres, in pixels (column, row; (0.5, 0.5) is the first pixel's
  // centre) and, when georeferenced, in lon/lat (not for an engineering/local CRS, which has no
  // place on the Earth). Absent for an empty mask.
  std::optional<double> centroid_col, centroid_row;
  std::optional<LonLat> centroid_lonlat;
  std::optional<PixelBox> bbox_pixels;
  std::optional<LonLatBox> bbox_lonlat;  // of the pixel box's outline, densified
};

// Measures `mask` (0/1; smaller than the grid: upsampled by nearest neighbour) restricted to
// `validity` (optional, 0 invalid / 1 valid, the mask's size). Throws terrascope::Error for
// malformed inputs (subject "mask") and for a CRS without a known ellipsoid or unit.
MaskMeasurements measure_mask(const RasterGrid& grid, const GrayImage& mask,
                              const GrayImage* validity = nullptr);

struct MaskRelation {
  // Smallest distance between a pixel of one mask and a pixel of the other, centre to centre, from
  // an exact Euclidean distance transform in metres (TerraScope-Bench DM: EDT x pixel size); pixels
  // are scaled by their own width and height, so non-square pixels measure correctly. 0 when the
  // masks overlap. nullopt when a mask is empty.
  std::optional<double> distance_pixels;
  std::optional<double> distance_m;  // nullopt too without georeferencing
  // TerraScope-Bench BRD: the 3x3 dilation of mask a intersects mask b (overlap counts).
  bool touching = false;
};

// Relates two masks of the same size on one grid (both upsampled to the grid when smaller), both
// restricted to `validity`.
MaskRelation relate_masks(const RasterGrid& grid, const GrayImage& a, const GrayImage& b,
                          const GrayImage* validity = nullptr);

// JSON for result files: units in the key names, absent values omitted.
void to_json(nlohmann::json& json, const MaskMeasurements& measurements);
void to_json(nlohmann::json& json, const MaskRelation& relation);

}  // namespace terrascope
