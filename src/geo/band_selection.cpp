#include "geo/band_selection.h"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "terrascope/error.h"

namespace terrascope::geo {
namespace {

std::string to_upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string join(const std::vector<int>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << values[i];
  return out.str();
}

// 1-based index of the band whose description (or band-name metadata) is one of `names`, else 0.
int find_band_by_description(GDALDataset& dataset, const std::vector<std::string>& names) {
  for (int index = 1; index <= dataset.GetRasterCount(); ++index) {
    const std::string description = to_upper(dataset.GetRasterBand(index)->GetDescription());
    if (std::find(names.begin(), names.end(), description) != names.end()) return index;
  }
  return 0;
}

std::vector<int> sar_default_bands(GDALDataset& dataset, const std::string& path) {
  const int vh = find_band_by_description(dataset, {"VH"});
  const int vv = find_band_by_description(dataset, {"VV"});
  if (vh != 0 && vv != 0) return {vh, vv};
  // Sentinel-1 GRD exported by Google Earth Engine (Sen1Floods11's S1Hand) stores VV then VH; an
  // undescribed two-band file is read in that order. Anything else is ambiguous.
  if (dataset.GetRasterCount() == 2 && vh == 0 && vv == 0) return {2, 1};
  throw Error(path, "cannot tell the VH and VV bands apart (" +
                        std::to_string(dataset.GetRasterCount()) +
                        " bands, no VH/VV band descriptions); give the bands as VH,VV");
}

std::vector<int> sentinel2_true_colour(GDALDataset& dataset) {
  // Band descriptions win where present (B4 or B04); otherwise the L1C/L2A stack order
  // B1,B2,B3,B4,... puts B4,B3,B2 at 4,3,2 for both the 13-band (with B10) and the 12-band stack.
  const int b4 = find_band_by_description(dataset, {"B4", "B04"});
  const int b3 = find_band_by_description(dataset, {"B3", "B03"});
  const int b2 = find_band_by_description(dataset, {"B2", "B02"});
  if (b4 && b3 && b2) return {b4, b3, b2};
  return {4, 3, 2};
}

}  // namespace

std::vector<int> choose_bands(GDALDataset& dataset, const std::string& path,
                              const SceneOptions& options) {
  const bool sar = options.modality == Modality::kSar;
  std::vector<int> bands = options.bands;
  if (bands.empty()) {
    const std::string preset = options.preset;
    if (preset == "sentinel1" || (preset.empty() && sar)) {
      bands = sar_default_bands(dataset, path);
    } else if (preset == "sentinel2") {
      bands = sentinel2_true_colour(dataset);
    } else if (preset == "landsat8" || preset == "landsat9") {
      bands = {4, 3, 2};  // OLI: B4 red, B3 green, B2 blue
    } else if (preset == "rgb") {
      bands = {1, 2, 3};
    } else if (preset.empty()) {
      bands = dataset.GetRasterCount() >= 3 ? std::vector<int>{1, 2, 3} : std::vector<int>{1};
      if (dataset.GetRasterCount() == 2) {
        throw Error(path, "2 bands and no band choice; give the bands (e.g. 1,1,2)");
      }
    } else {
      throw Error(path, "unknown band preset '" + preset +
                            "' (known: rgb, sentinel2, landsat8, landsat9, sentinel1)");
    }
    if (sar && preset != "sentinel1" && !preset.empty()) {
      throw Error(path, "preset '" + preset + "' is optical; a SAR frame takes sentinel1 or VH,VV");
    }
  }

  if (sar && bands.size() != 2) {
    throw Error(path, "SAR takes two bands (VH,VV), got " + std::to_string(bands.size()) + " (" +
                          join(bands) + ")");
  }
  if (!sar && bands.size() != 3 && bands.size() != 1) {
    throw Error(path, "optical takes three bands (R,G,B) or one grey band, got " +
                          std::to_string(bands.size()) + " (" + join(bands) + ")");
  }
  const int count = dataset.GetRasterCount();
  for (int band : bands) {
    if (band < 1 || band > count) {
      throw Error(path, "band " + std::to_string(band) + " requested, file has " +
                            std::to_string(count) + (count == 1 ? " band" : " bands"));
    }
  }
  return bands;
}

}  // namespace terrascope::geo
