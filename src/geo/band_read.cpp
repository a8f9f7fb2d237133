#include "geo/band_read.h"

#include <algorithm>
#include <cmath>

#include "geo/gdal_dataset.h"
#include "terrascope/error.h"

namespace terrascope::geo {

std::pair<int, int> working_size(int width, int height, int max_side) {
  const int longer = std::max(width, height);
  if (max_side <= 0 || longer <= max_side) return {width, height};
  const double scale = static_cast<double>(max_side) / longer;
  const int out_width = std::max(1, static_cast<int>(std::lround(width * scale)));
  const int out_height = std::max(1, static_cast<int>(std::lround(height * scale)));
  return {out_width, out_height};
}

SampleKind sample_kind(GDALDataType type) {
  if (GDALDataTypeIsComplex(type)) return SampleKind::kComplex;
  if (type == GDT_Byte) return SampleKind::kByte;
  if (GDALDataTypeIsFloating(type)) return SampleKind::kFloat;
  return SampleKind::kInteger;
}

namespace {

void read_failed(const std::string& path, int band, const GdalErrorCapture& capture) {
  throw Error(path, "cannot read band " + std::to_string(band) + " (" + capture.last_message() +
                        "); the file may be truncated or corrupt");
}

}  // namespace

BandPlanes read_bands(GDALDataset& dataset, const std::string& path, const std::vector<int>& bands,
                      int out_width, int out_height) {
  GdalErrorCapture capture;
  const int width = dataset.GetRasterXSize();
  const int height = dataset.GetRasterYSize();
  const bool decimated = out_width != width || out_height != height;
  const size_t pixel_count = static_cast<size_t>(out_width) * static_cast<size_t>(out_height);

  BandPlanes planes;
  planes.width = out_width;
  planes.height = out_height;
  planes.valid.assign(pixel_count, 1);

  for (int band_index : bands) {
    GDALRasterBand* band = dataset.GetRasterBand(band_index);
    const bool complex = GDALDataTypeIsComplex(band->GetRasterDataType());
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    // Averaging is right for real samples (GDAL skips nodata in the average); averaging complex
    // samples would cancel their phases, so those are sampled.
    extra.eResampleAlg = (decimated && !complex) ? GRIORA_Average : GRIORA_NearestNeighbour;

    std::vector<double> values(pixel_count);
    if (complex) {
      std::vector<double> pairs(pixel_count * 2);
      if (band->RasterIO(GF_Read, 0, 0, width, height, pairs.data(), out_width, out_height,
                         GDT_CFloat64, 0, 0, &extra) != CE_None) {
        read_failed(path, band_index, capture);
      }
      for (size_t i = 0; i < pixel_count; ++i) {
        values[i] = pairs[2 * i] * pairs[2 * i] + pairs[2 * i + 1] * pairs[2 * i + 1];
      }
    } else if (band->RasterIO(GF_Read, 0, 0, width, height, values.data(), out_width, out_height,
                              GDT_Float64, 0, 0, &extra) != CE_None) {
      read_failed(path, band_index, capture);
    }

    int has_nodata = 0;
    const double nodata = band->GetNoDataValue(&has_nodata);
    const bool nodata_is_nan = has_nodata && std::isnan(nodata);
    for (size_t i = 0; i < pixel_count; ++i) {
      const double value = values[i];
      const bool is_nodata = has_nodata && !nodata_is_nan && !complex && value == nodata;
      if (!std::isfinite(value) || is_nodata) planes.valid[i] = 0;
    }
    planes.values.push_back(std::move(values));
  }

  // A dataset-wide mask (alpha band, internal TIFF mask) also marks pixels invalid. Nodata-derived
  // and all-valid masks add nothing to the value checks above.
  GDALRasterBand* first = dataset.GetRasterBand(bands.front());
  const int mask_flags = first->GetMaskFlags();
  if ((mask_flags & (GMF_PER_DATASET | GMF_ALPHA)) != 0 && (mask_flags & GMF_NODATA) == 0 &&
      (mask_flags & GMF_ALL_VALID) == 0) {
    std::vector<uint8_t> mask(pixel_count);
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    if (first->GetMaskBand()->RasterIO(GF_Read, 0, 0, width, height, mask.data(), out_width,
                                       out_height, GDT_Byte, 0, 0, &extra) != CE_None) {
      read_failed(path, bands.front(), capture);
    }
    for (size_t i = 0; i < pixel_count; ++i) {
      if (mask[i] == 0) planes.valid[i] = 0;
    }
  }
  return planes;
}

}  // namespace terrascope::geo
