// Fuzz target: the scene reader on mutated rasters (GeoTIFFs seeded from the shared data). The
// input is served from GDAL's /vsimem/; the first byte picks the reading options (optical or SAR,
// scaling rule, working size). A bad raster must be a terrascope::Error; a crash, a sanitizer
// report or another exception is a finding. GDAL itself is not instrumented.
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "terrascope/error.h"
#include "terrascope/raster_info.h"
#include "terrascope/scene.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  CPLSetErrorHandler(CPLQuietErrorHandler);
  // Bound what a hostile header can make GDAL allocate for one block.
  CPLSetConfigOption("GDAL_CACHEMAX", "64");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t mode = data[0];
  const char* path = "/vsimem/fuzz.tif";
  VSILFILE* f = VSIFileFromMemBuffer(path, const_cast<GByte*>(data + 1),
                                     static_cast<vsi_l_offset>(size - 1), FALSE);
  if (!f) return 0;
  VSIFCloseL(f);

  terrascope::SceneOptions options;
  options.max_side = 16 + (mode >> 4) * 8;  // small working sizes keep each run fast
  switch (mode & 7) {
    case 0:
      break;
    case 1:
      options.modality = terrascope::Modality::kSar;
      break;
    case 2:
      options.scaling = terrascope::Scaling::kPercentile;
      break;
    case 3:
      options.scaling = terrascope::Scaling::kRange;
      break;
    case 4:
      options.modality = terrascope::Modality::kSar;
      options.complex_rule = terrascope::ComplexRule::kIntensity;
      options.sar_linear = true;
      break;
    case 5:
      options.bands = {1};
      break;
    case 6:
      options.preset = "sentinel2";
      break;
    default:
      options.scaling = terrascope::Scaling::kAsIs;
      break;
  }
  try {
    (void)terrascope::read_frame(path, options);
  } catch (const terrascope::Error&) {
  }
  if (mode & 8) {
    try {
      (void)terrascope::describe_raster(path, 32);
    } catch (const terrascope::Error&) {
    }
  }
  VSIUnlink(path);
  return 0;
}
