// GDAL set-up and dataset opening for the raster layer: one place that registers the drivers, opens
// a raster read-only and turns GDAL's failures into terrascope::Error ("<file>: <problem>").
#pragma once

#include <gdal_priv.h>

#include <string>

namespace terrascope::geo {

// Registers GDAL's drivers once per process (thread-safe). Every entry point that touches GDAL
// calls it.
void ensure_gdal_registered();

// Opens `path` read-only as a raster. `path` is passed to GDAL untouched, so virtual paths
// (/vsizip/, /vsicurl/, /vsimem/) work. Throws Error naming the file for a missing file, an empty
// file, a file GDAL cannot read as a raster, and a raster without bands.
GDALDatasetUniquePtr open_raster(const std::string& path);

// While alive, GDAL's messages are kept quiet (the CLI prints one line per failure) and
// `last_message()` gives the most recent one, to put into an Error.
class GdalErrorCapture {
 public:
  GdalErrorCapture();
  ~GdalErrorCapture();
  GdalErrorCapture(const GdalErrorCapture&) = delete;
  GdalErrorCapture& operator=(const GdalErrorCapture&) = delete;
  // The last GDAL error message, or "unknown GDAL error" when GDAL gave none.
  std::string last_message() const;
};

}  // namespace terrascope::geo
