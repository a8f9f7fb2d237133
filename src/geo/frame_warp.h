// Resampling a frame onto another frame's grid with the GDAL warper (time series and optical + SAR
// pairs whose rasters are not co-registered; docs/RASTERS.md, "Time series").
#pragma once

#include <gdal_priv.h>

#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope::geo {

// An in-memory dataset of out_width x out_height pixels covering `reference` (its geotransform
// scaled to that size, rotation kept, its CRS) holding `bands` of `source` warped onto it: Float64
// (CFloat64 for complex bands), NaN where the source has no valid data. Overviews of the source are
// used when the output is coarser. Throws Error naming `path` when either grid lacks georeferencing
// or GDAL fails.
GDALDatasetUniquePtr warp_onto_grid(GDALDataset& source, const std::string& path,
                                    const std::vector<int>& bands, const RasterGrid& reference,
                                    int out_width, int out_height);

}  // namespace terrascope::geo
