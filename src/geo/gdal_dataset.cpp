#include "geo/gdal_dataset.h"

#include <cpl_error.h>
#include <cpl_vsi.h>

#include <mutex>

#include "terrascope/error.h"

namespace terrascope::geo {

void ensure_gdal_registered() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

GdalErrorCapture::GdalErrorCapture() {
  CPLPushErrorHandler(CPLQuietErrorHandler);
  CPLErrorReset();
}

GdalErrorCapture::~GdalErrorCapture() {
  CPLPopErrorHandler();
}

std::string GdalErrorCapture::last_message() const {
  const char* message = CPLGetLastErrorMsg();
  if (message == nullptr || *message == '\0') return "unknown GDAL error";
  return message;
}

GDALDatasetUniquePtr open_raster(const std::string& path) {
  ensure_gdal_registered();
  GdalErrorCapture capture;

  // Stat first so that the common mistakes get a plain message rather than GDAL's driver chatter.
  // Only real files are checked for emptiness; a virtual path's size may be unknown (/vsicurl/).
  VSIStatBufL stat_buffer;
  const bool is_virtual = path.rfind("/vsi", 0) == 0;
  if (VSIStatExL(path.c_str(), &stat_buffer, VSI_STAT_EXISTS_FLAG | VSI_STAT_SIZE_FLAG) != 0) {
    // GDAL also opens things that are not files (a VRT given as XML text, a driver-prefixed
    // connection string); call it missing only when GDAL cannot open it either.
    GDALDatasetUniquePtr dataset(
        GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr));
    if (dataset) return dataset;
    throw Error(path, "file not found");
  }
  if (VSI_ISDIR(stat_buffer.st_mode)) throw Error(path, "is a directory, not a raster file");
  if (!is_virtual && stat_buffer.st_size == 0) throw Error(path, "file is empty");

  GDALDatasetUniquePtr dataset(
      GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr, nullptr));
  if (!dataset) {
    const char* message = CPLGetLastErrorMsg();
    std::string detail = (message != nullptr && *message != '\0')
                             ? std::string(" (GDAL: ") + message + ")"
                             : std::string();
    throw Error(path, "not a raster GDAL can read" + detail);
  }
  if (dataset->GetRasterCount() == 0) throw Error(path, "raster has no bands");
  return dataset;
}

}  // namespace terrascope::geo
