// The Scene reader: frames, time series and optical + SAR pairs (docs/RASTERS.md).
#include "terrascope/scene.h"

#include <sstream>

#include "geo/band_read.h"
#include "geo/band_scaling.h"
#include "geo/band_selection.h"
#include "geo/frame_warp.h"
#include "geo/gdal_dataset.h"
#include "geo/raster_grid.h"
#include "terrascope/error.h"

namespace terrascope {

double SceneFrame::valid_share() const {
  if (validity.pixels.empty()) return 0.0;
  size_t valid = 0;
  for (uint8_t v : validity.pixels) valid += v != 0;
  return static_cast<double>(valid) / static_cast<double>(validity.pixels.size());
}

namespace {

// The grid and working size every later frame of a scene must match.
struct ReferenceFrame {
  std::string path;
  RasterGrid grid;
  int width = 0;
  int height = 0;
};

std::string band_list_text(const std::vector<int>& bands) {
  std::ostringstream out;
  for (size_t i = 0; i < bands.size(); ++i) out << (i ? "," : "") << bands[i];
  return out.str();
}

// Interleaves the 8-bit channels into RGB. Optical: R,G,B or one grey channel repeated. SAR: the
// pseudo-RGB [VH, VV, (VH+VV)/2], the mean of the two 8-bit values truncated as the release does
// (projects/terrascope/datasets/SAR_RGB_Dataset.py: float sum / 2, astype(uint8)).
RgbImage compose_rgb(const std::vector<std::vector<uint8_t>>& channels, Modality modality,
                     int width, int height) {
  RgbImage image;
  image.width = width;
  image.height = height;
  const size_t pixel_count = static_cast<size_t>(width) * static_cast<size_t>(height);
  image.pixels.resize(pixel_count * 3);
  for (size_t i = 0; i < pixel_count; ++i) {
    uint8_t* rgb = &image.pixels[3 * i];
    if (modality == Modality::kSar) {
      const uint8_t vh = channels[0][i];
      const uint8_t vv = channels[1][i];
      rgb[0] = vh;
      rgb[1] = vv;
      rgb[2] = static_cast<uint8_t>((static_cast<unsigned>(vh) + vv) / 2);
    } else if (channels.size() == 1) {
      rgb[0] = rgb[1] = rgb[2] = channels[0][i];
    } else {
      rgb[0] = channels[0][i];
      rgb[1] = channels[1][i];
      rgb[2] = channels[2][i];
    }
  }
  return image;
}

SceneFrame read_frame_on(const std::string& path, const SceneOptions& options,
                         const ReferenceFrame* reference) {
  GDALDatasetUniquePtr dataset = geo::open_raster(path);
  const std::vector<int> bands = geo::choose_bands(*dataset, path, options);

  std::vector<geo::ScalingRule> rules;
  for (int band : bands) {
    const GDALDataType type = dataset->GetRasterBand(band)->GetRasterDataType();
    rules.push_back(
        geo::resolve_scaling(geo::sample_kind(type), GDALGetDataTypeName(type), options, path));
  }

  SceneFrame frame;
  frame.path = path;
  frame.modality = options.modality;
  frame.bands = bands;
  const RasterGrid grid = geo::grid_of(*dataset);

  geo::BandPlanes planes;
  const std::string difference =
      reference != nullptr ? geo::grid_difference(grid, reference->grid) : std::string();
  if (!difference.empty()) {
    if (!options.warp) {
      throw Error(path, "not on the grid of " + reference->path + " (" + difference +
                            "); ask for warping to resample it onto that grid");
    }
    GDALDatasetUniquePtr warped = geo::warp_onto_grid(*dataset, path, bands, reference->grid,
                                                      reference->width, reference->height);
    std::vector<int> warped_bands;
    for (size_t i = 1; i <= bands.size(); ++i) warped_bands.push_back(static_cast<int>(i));
    planes = geo::read_bands(*warped, path, warped_bands, reference->width, reference->height);
    frame.grid = reference->grid;
    frame.warped = true;
  } else {
    const auto [width, height] = reference != nullptr
                                     ? std::pair<int, int>(reference->width, reference->height)
                                     : geo::working_size(grid.width, grid.height, options.max_side);
    planes = geo::read_bands(*dataset, path, bands, width, height);
    frame.grid = grid;
  }

  for (size_t b = 0; b < bands.size(); ++b) {
    if (rules[b].kind == Scaling::kDecibel && rules[b].linear_power) {
      geo::linear_power_to_decibel(planes.values[b], planes.valid);
    }
  }
  bool any_valid = false;
  for (uint8_t v : planes.valid) any_valid = any_valid || v != 0;
  if (!any_valid) {
    throw Error(path,
                std::string(bands.size() == 1 ? "band " : "bands ") + band_list_text(bands) +
                    (frame.warped ? " have no valid pixels on the reference grid"
                                  : " have no valid pixels (all NaN, Inf, nodata or masked)"));
  }

  std::vector<std::vector<uint8_t>> channels;
  for (size_t b = 0; b < bands.size(); ++b) {
    channels.push_back(geo::scale_band(planes.values[b], planes.valid, rules[b]));
  }
  frame.rgb = compose_rgb(channels, options.modality, planes.width, planes.height);
  frame.validity.width = planes.width;
  frame.validity.height = planes.height;
  frame.validity.pixels = std::move(planes.valid);
  return frame;
}

ReferenceFrame reference_of(const SceneFrame& frame) {
  return ReferenceFrame{frame.path, frame.grid, frame.rgb.width, frame.rgb.height};
}

}  // namespace

SceneFrame read_frame(const std::string& path, const SceneOptions& options) {
  return read_frame_on(path, options, nullptr);
}

Scene read_time_series(const std::vector<std::string>& paths, const SceneOptions& options) {
  if (paths.empty()) throw Error("time series", "no frames given");
  Scene scene;
  scene.frames.push_back(read_frame_on(paths.front(), options, nullptr));
  const ReferenceFrame reference = reference_of(scene.frames.front());
  for (size_t i = 1; i < paths.size(); ++i) {
    scene.frames.push_back(read_frame_on(paths[i], options, &reference));
  }
  return scene;
}

Scene read_optical_sar(const std::string& optical_path, const SceneOptions& optical,
                       const std::string& sar_path, const SceneOptions& sar_options) {
  Scene scene;
  scene.frames.push_back(read_frame_on(optical_path, optical, nullptr));
  SceneOptions sar = sar_options;
  sar.modality = Modality::kSar;
  sar.warp = optical.warp;
  sar.max_side = optical.max_side;
  const ReferenceFrame reference = reference_of(scene.frames.front());
  scene.sar.push_back(read_frame_on(sar_path, sar, &reference));
  return scene;
}

std::vector<int> parse_band_list(const std::string& text) {
  std::vector<int> bands;
  std::stringstream stream(text);
  std::string item;
  while (std::getline(stream, item, ',')) {
    size_t used = 0;
    int band = 0;
    try {
      band = std::stoi(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size() || band < 1) {
      throw Error("--bands " + text, "expected 1-based band numbers separated by commas");
    }
    bands.push_back(band);
  }
  if (bands.empty()) throw Error("--bands " + text, "expected 1-based band numbers");
  return bands;
}

}  // namespace terrascope
