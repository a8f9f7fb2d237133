#include "terrascope/mask_writer.h"

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>

#include "geo/atomic_file.h"
#include "geo/gdal_errors.h"
#include "geo/mask_grid.h"
#include "terrascope/error.h"

namespace terrascope {

void write_mask_geotiff(const std::string& path, const RasterGrid& grid, const GrayImage& mask,
                        const GrayImage* validity) {
  GrayImage on_grid = geo::mask_on_grid(grid, mask, validity, path);
  geo::AtomicFile file(path);
  geo::register_gdal_drivers();
  CPLErrorHandlerPusher quiet(CPLQuietErrorHandler);
  CPLErrorReset();

  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (driver == nullptr) throw Error(path, "GDAL has no GTiff driver");
  CPLStringList options;
  options.SetNameValue("TILED", "YES");
  options.SetNameValue("COMPRESS", "DEFLATE");
  GDALDatasetUniquePtr dataset(
      driver->Create(file.temp_path().c_str(), grid.width, grid.height, 1, GDT_Byte, options.List()));
  if (!dataset) throw Error(path, "cannot create the GeoTIFF (" + geo::gdal_last_error() + ")");

  if (grid.has_geotransform) {
    double geotransform[6];
    for (int i = 0; i < 6; ++i) geotransform[i] = grid.geotransform[i];
    if (dataset->SetGeoTransform(geotransform) != CE_None) {
      throw Error(path, "cannot set the geotransform (" + geo::gdal_last_error() + ")");
    }
  }
  if (!grid.crs_wkt.empty() && dataset->SetProjection(grid.crs_wkt.c_str()) != CE_None) {
    throw Error(path, "cannot set the CRS (" + geo::gdal_last_error() + ")");
  }
  GDALRasterBand* band = dataset->GetRasterBand(1);
  band->SetNoDataValue(geo::kMaskNodata);
  if (band->RasterIO(GF_Write, 0, 0, grid.width, grid.height, on_grid.pixels.data(), grid.width,
                     grid.height, GDT_Byte, 0, 0, nullptr) != CE_None) {
    throw Error(path, "cannot write the mask pixels (" + geo::gdal_last_error() + ")");
  }
  // Closing flushes the compressed tiles; a failure there (disk full) must not be committed.
  if (!geo::close_dataset_ok(dataset.release())) {
    throw Error(path, "cannot finish the GeoTIFF (" + geo::gdal_last_error() + ")");
  }
  file.commit();
}

}  // namespace terrascope
