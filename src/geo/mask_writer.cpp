#include "terrascope/mask_writer.h"

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal_priv.h>

#include "geo/atomic_file.h"
#include "geo/gdal_dataset.h"
#include "geo/grid_crs.h"
#include "geo/mask_grid.h"
#include "terrascope/error.h"

namespace terrascope {

void write_mask_geotiff(const std::string& path, const RasterGrid& grid, const GrayImage& mask,
                        const GrayImage* validity) {
  GrayImage on_grid = geo::mask_on_grid(grid, mask, validity, path);
  if (!grid.crs_wkt.empty()) geo::grid_spatial_reference(grid, path);  // rejects a broken WKT
  geo::AtomicFile file(path);
  geo::ensure_gdal_registered();
  geo::GdalErrorCapture gdal_errors;

  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName("GTiff");
  if (driver == nullptr) throw Error(path, "GDAL has no GTiff driver");
  CPLStringList options;
  options.SetNameValue("TILED", "YES");
  options.SetNameValue("COMPRESS", "DEFLATE");
  GDALDatasetUniquePtr dataset(driver->Create(file.temp_path().c_str(), grid.width, grid.height, 1,
                                              GDT_Byte, options.List()));
  if (!dataset) throw Error(path, "cannot create the GeoTIFF (" + gdal_errors.last_message() + ")");

  if (grid.has_geotransform) {
    double geotransform[6];
    for (int i = 0; i < 6; ++i) geotransform[i] = grid.geotransform[i];
    if (dataset->SetGeoTransform(geotransform) != CE_None) {
      throw Error(path, "cannot set the geotransform (" + gdal_errors.last_message() + ")");
    }
  }
  if (!grid.crs_wkt.empty() && dataset->SetProjection(grid.crs_wkt.c_str()) != CE_None) {
    throw Error(path, "cannot set the CRS (" + gdal_errors.last_message() + ")");
  }
  GDALRasterBand* band = dataset->GetRasterBand(1);
  band->SetNoDataValue(geo::kMaskNodata);
  if (band->RasterIO(GF_Write, 0, 0, grid.width, grid.height, on_grid.pixels.data(), grid.width,
                     grid.height, GDT_Byte, 0, 0, nullptr) != CE_None) {
    throw Error(path, "cannot write the mask pixels (" + gdal_errors.last_message() + ")");
  }
  // Closing flushes the compressed tiles; a failure there (disk full) must not be committed.
  CPLErrorReset();
  GDALClose(dataset.release());
  if (CPLGetLastErrorType() >= CE_Failure) {
    throw Error(path, "cannot finish the GeoTIFF (" + gdal_errors.last_message() + ")");
  }
  file.commit();
}

}  // namespace terrascope
