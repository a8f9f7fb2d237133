// Which source bands make a frame's channels: explicit 1-based lists or sensor presets
// (docs/RASTERS.md, "Band choice").
#pragma once

#include <gdal_priv.h>

#include <string>
#include <vector>

#include "terrascope/scene.h"

namespace terrascope::geo {

// The 1-based bands of `dataset` in output order: 3 (R,G,B) or 1 (grey) for optical, 2 (VH,VV) for
// SAR. Throws Error naming `path` for an unknown preset, a band out of range, or a SAR file whose
// VH/VV bands cannot be told apart.
std::vector<int> choose_bands(GDALDataset& dataset, const std::string& path,
                              const SceneOptions& options);

}  // namespace terrascope::geo
