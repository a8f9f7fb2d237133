// Reading chosen bands of a raster into floating-point planes at a given (usually smaller) size,
// with a validity mask: decimated reads use GDAL overviews / averaging RasterIO, never a full-size
// buffer (docs/RASTERS.md, "Decimated reads").
#pragma once

#include <gdal_priv.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "geo/band_scaling.h"

namespace terrascope::geo {

struct BandPlanes {
  int width = 0;
  int height = 0;
  std::vector<std::vector<double>> values;  // one row-major plane per band
  // 1 where every band holds a finite value that is not nodata and the dataset mask allows it.
  std::vector<uint8_t> valid;
};

// The working size of a width x height raster: the longer side brought down to max_side (aspect
// kept, at least 1 pixel); unchanged when it already fits or max_side <= 0.
std::pair<int, int> working_size(int width, int height, int max_side);

// What a GDAL data type holds, for the conversion rules.
SampleKind sample_kind(GDALDataType type);

// Reads `bands` (1-based) of `dataset` into out_width x out_height planes. Real bands are averaged
// when decimated (nodata ignored by GDAL); complex bands are sampled nearest and become |z|^2.
// Throws Error naming `path` when GDAL fails to read (e.g. a truncated file).
BandPlanes read_bands(GDALDataset& dataset, const std::string& path, const std::vector<int>& bands,
                      int out_width, int out_height);

}  // namespace terrascope::geo
