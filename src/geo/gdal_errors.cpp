#include "geo/gdal_errors.h"

#include <cpl_error.h>
#include <gdal.h>

#include <mutex>

namespace terrascope::geo {

void register_gdal_drivers() {
  static std::once_flag once;
  std::call_once(once, [] { GDALAllRegister(); });
}

std::string gdal_last_error() {
  const char* message = CPLGetLastErrorMsg();
  if (message == nullptr || *message == '\0') return "no detail from GDAL";
  return message;
}

bool close_dataset_ok(void* gdal_dataset_handle) {
  CPLErrorReset();
  GDALClose(static_cast<GDALDatasetH>(gdal_dataset_handle));
  return CPLGetLastErrorType() < CE_Failure;
}

}  // namespace terrascope::geo
