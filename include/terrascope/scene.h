// Reading satellite scenes for the model: one reader for optical images, SAR, time series and
// optical + SAR pairs. Every frame comes out as the scene's full-resolution grid (for writing
// masks), an 8-bit RGB image at the working resolution (the model's input) and a validity mask at
// the same resolution. Conversion rules per data type: docs/RASTERS.md. No GDAL types here.
#pragma once

#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope {

// What a raster holds, which decides the default band choice and conversion.
enum class Modality {
  kOptical,  // RGB channels in output order
  kSar,      // VH and VV backscatter, composed to the pseudo-RGB [VH, VV, (VH+VV)/2]
};

// How values become 8-bit. kAuto picks by data type (docs/RASTERS.md): Byte as is, 16/32-bit
// integers by kRange (0..3000), SAR by kDecibel; floating-point optical data needs an explicit
// rule.
enum class Scaling { kAuto, kAsIs, kRange, kPercentile, kDecibel };

// Complex SAR (CInt16, CFloat32, ...) has no default: the caller says how to make it real.
enum class ComplexRule {
  kNone,       // complex bands are an error
  kIntensity,  // |z|^2, a linear power, then 10*log10 to dB (= 20*log10 of the amplitude |z|)
};

struct SceneOptions {
  Modality modality = Modality::kOptical;
  // 1-based band indices in output order: R,G,B for optical (1 band: shown as grey), VH,VV for SAR.
  // Empty: the preset's bands.
  std::vector<int> bands;
  // "" (default: 1,2,3, or one grey band; SAR: bands described VH/VV, else 2,1 as Sen1Floods11's
  // VV,VH), "rgb", "sentinel2" (B4,B3,B2 of a 12/13-band stack), "landsat8", "landsat9" (bands
  // 4,3,2), "sentinel1" (VH,VV found by band description).
  std::string preset;
  Scaling scaling = Scaling::kAuto;
  double range_min = 0.0;  // kRange: values clipped to [range_min, range_max] then mapped to 0..255
  double range_max = 3000.0;    // release: BigEarthNet preparation clips reflectance at 3000
  double percentile_low = 2.0;  // kPercentile: per band, over valid pixels
  double percentile_high = 98.0;
  double db_min = -25.0;  // kDecibel: backscatter clipped to [db_min, db_max] dB
  double db_max = 0.0;
  bool sar_linear = false;  // SAR values are linear power: converted to 10*log10 dB first
  ComplexRule complex_rule = ComplexRule::kNone;
  // Working resolution: the longer side is read decimated (overviews / averaging RasterIO) down to
  // at most this many pixels; smaller scenes are read at full resolution. 0: always full
  // resolution.
  int max_side = 1024;
  // Frames after the first (and a SAR frame of a pair) on another grid are warped onto the first
  // (optical) frame's grid with the GDAL warper; without it, a grid mismatch is an error.
  bool warp = false;
};

// One raster as the model sees it.
struct SceneFrame {
  std::string path;
  Modality modality = Modality::kOptical;
  RasterGrid grid;     // full-resolution grid of the scene (for a warped frame: the reference grid)
  RgbImage rgb;        // 8-bit, working resolution
  GrayImage validity;  // 1 valid, 0 NaN/Inf/nodata/masked in any chosen band; same size as rgb
  std::vector<int> bands;      // the 1-based source bands used, in output order
  bool warped = false;         // resampled onto the reference grid
  double valid_share() const;  // share of valid pixels at working resolution, 0..1
};

// A question's imagery: one or more optical frames (a time series when more than one) on one grid,
// and optionally a SAR frame on the same grid.
struct Scene {
  std::vector<SceneFrame> frames;
  std::vector<SceneFrame> sar;  // empty, or one frame
  const RasterGrid& grid() const { return frames.front().grid; }
};

// Reads one raster. Throws Error ("<file>: <problem>") for unreadable files, bad bands, complex
// data without a rule, and data without any valid pixel.
SceneFrame read_frame(const std::string& path, const SceneOptions& options);

// Reads the frames of a time series: all on the first frame's grid (same size, geotransform and
// CRS), or warped onto it when options.warp; otherwise Error naming the frame that differs.
Scene read_time_series(const std::vector<std::string>& paths, const SceneOptions& options);

// Reads an optical image and a SAR image of the same place, SAR on the optical grid (same rule as
// a time series). `sar_options.modality` is forced to kSar and its warp/max_side follow `optical`.
Scene read_optical_sar(const std::string& optical_path, const SceneOptions& optical,
                       const std::string& sar_path, const SceneOptions& sar_options);

// Parses "4,3,2" into {4,3,2}; Error on anything but positive integers.
std::vector<int> parse_band_list(const std::string& text);

}  // namespace terrascope
