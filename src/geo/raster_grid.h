// A raster's grid (size, geotransform, CRS) as the plain RasterGrid, and whether two grids match.
#pragma once

#include <gdal_priv.h>

#include <string>

#include "terrascope/image.h"

namespace terrascope::geo {

// The full-resolution grid of `dataset`; the CRS as WKT2 (empty when the raster has none).
RasterGrid grid_of(GDALDataset& dataset);

// "" when `grid` is `reference` (same size, same CRS, every corner within 0.05 pixel of the
// reference's); otherwise a short phrase saying what differs, for an error message.
std::string grid_difference(const RasterGrid& grid, const RasterGrid& reference);

}  // namespace terrascope::geo
