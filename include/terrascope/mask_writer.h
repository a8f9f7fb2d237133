// Writes a mask as a GeoTIFF on its scene's exact grid (issue 2, "Rasters out").
#pragma once

#include <string>

#include "terrascope/image.h"

namespace terrascope {

// Writes `mask` (0/1) to `path` as a single-band Byte GeoTIFF with the grid's size, geotransform
// (rotation terms included) and CRS: 0/1 inside the valid area, 255 (the band's nodata) where
// `validity` (optional, 0 invalid / 1 valid, the mask's size) is 0. Tiled, DEFLATE-compressed.
// A mask smaller than the grid (computed on a decimated read) is upsampled by nearest neighbour.
// The file appears atomically (temporary name, then rename); on failure nothing is left behind and
// a terrascope::Error names `path` and the problem.
void write_mask_geotiff(const std::string& path, const RasterGrid& grid, const GrayImage& mask,
                        const GrayImage* validity = nullptr);

}  // namespace terrascope
