// GDAL plumbing shared by the writers: driver registration once per process, and GDAL's last
// error message for terrascope::Error texts (GDAL's own stderr printing is silenced by the callers
// with CPLErrorHandlerPusher, so that the CLI prints one line).
#pragma once

#include <string>

namespace terrascope::geo {

void register_gdal_drivers();

// CPLGetLastErrorMsg(), or "no detail from GDAL" when it is empty.
std::string gdal_last_error();

// Closes a dataset (flushing what it buffers) and says whether GDAL reported a failure meanwhile.
bool close_dataset_ok(void* gdal_dataset_handle);

}  // namespace terrascope::geo
