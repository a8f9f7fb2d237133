#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal_alg.h>
#include <gdal_priv.h>
#include <ogrsf_frmts.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <memory>

#include "geo/atomic_file.h"
#include "geo/gdal_dataset.h"
#include "geo/grid_crs.h"
#include "geo/mask_grid.h"
#include "terrascope/error.h"
#include "terrascope/mask_polygons.h"

namespace terrascope {
namespace {

constexpr const char* kLayerName = "mask";
constexpr const char* kPixelDescription =
    "pixel coordinates: the scene has no georeferencing; x = column, y = row, from the top-left "
    "corner of the grid, rows downwards";

enum class Target { kGeoJsonWgs84, kGeoPackageSceneCrs };

// The mask as a one-band in-memory raster holding 1 on mask pixels and 0 elsewhere (nodata and
// outside pixels alike), placed by the grid's geotransform when the grid is georeferenced.
GDALDatasetUniquePtr mask_raster(const RasterGrid& grid, const GrayImage& on_grid,
                                 bool georeferenced) {
  GDALDriver* mem = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr raster(mem->Create("", grid.width, grid.height, 1, GDT_Byte, nullptr));
  if (georeferenced) {
    double geotransform[6];
    for (int i = 0; i < 6; ++i) geotransform[i] = grid.geotransform[i];
    raster->SetGeoTransform(geotransform);
  }
  std::vector<uint8_t> ones(on_grid.pixels.size());
  for (size_t i = 0; i < ones.size(); ++i) ones[i] = on_grid.pixels[i] == 1 ? 1 : 0;
  CPLErr status =
      raster->GetRasterBand(1)->RasterIO(GF_Write, 0, 0, grid.width, grid.height, ones.data(),
                                         grid.width, grid.height, GDT_Byte, 0, 0, nullptr);
  if (status != CE_None) throw Error("mask", "cannot fill the in-memory raster");
  return raster;
}

OGRLayer* create_layer(GDALDataset& dataset, OGRSpatialReference* srs, bool rfc7946,
                       bool georeferenced, const std::string& path,
                       const geo::GdalErrorCapture& gdal_errors) {
  CPLStringList options;
  if (rfc7946) options.SetNameValue("RFC7946", "YES");
  if (!georeferenced) options.SetNameValue("DESCRIPTION", kPixelDescription);
  OGRLayer* layer = dataset.CreateLayer(kLayerName, srs, wkbPolygon, options.List());
  if (layer == nullptr) {
    throw Error(path, "cannot create the polygon layer (" + gdal_errors.last_message() + ")");
  }
  OGRFieldDefn value("value", OFTInteger);
  if (layer->CreateField(&value) != OGRERR_NONE) {
    throw Error(path, "cannot create the value field (" + gdal_errors.last_message() + ")");
  }
  return layer;
}

void polygonize_into(GDALRasterBand& band, OGRLayer& layer, const std::string& path,
                     const geo::GdalErrorCapture& gdal_errors) {
  // The band is its own mask: only the 1-pixels become polygons. Default 4-connectivity.
  if (GDALPolygonize(&band, &band, &layer, 0, nullptr, nullptr, nullptr) != CE_None) {
    throw Error(path, "polygonize failed (" + gdal_errors.last_message() + ")");
  }
}

// Copies the polygons into the output layer, through `to_wgs84` when given. Long straight edges
// (merged pixel sides) are densified first to a few pixels, so that they follow the projection's
// curvature. Returns the number of polygons written.
int copy_polygons(OGRLayer& source, OGRLayer& target, OGRCoordinateTransformation* to_wgs84,
                  const RasterGrid& grid, const std::string& path,
                  const geo::GdalErrorCapture& gdal_errors) {
  const auto& gt = grid.geotransform;
  const double pixel_side = std::min(std::hypot(gt[1], gt[4]), std::hypot(gt[2], gt[5]));
  int count = 0;
  source.ResetReading();
  for (auto& feature : source) {
    OGRGeometry* geometry = feature->GetGeometryRef();
    if (geometry == nullptr) continue;
    std::unique_ptr<OGRGeometry> copy(geometry->clone());
    if (to_wgs84 != nullptr) {
      copy->segmentize(8 * pixel_side);
      if (copy->transform(to_wgs84) != OGRERR_NONE) {
        throw Error(path,
                    "cannot transform a polygon to EPSG:4326 (" + gdal_errors.last_message() + ")");
      }
    }
    OGRFeature out(target.GetLayerDefn());
    out.SetField("value", feature->GetFieldAsInteger("value"));
    out.SetGeometryDirectly(copy.release());
    if (target.CreateFeature(&out) != OGRERR_NONE) {
      throw Error(path, "cannot write a polygon (" + gdal_errors.last_message() + ")");
    }
    ++count;
  }
  return count;
}

// Removes a /vsimem/ file at scope end (no-op for an empty name).
class MemoryFileGuard {
 public:
  explicit MemoryFileGuard(std::string name) : name_(std::move(name)) {}
  ~MemoryFileGuard() {
    if (!name_.empty()) VSIUnlink(name_.c_str());
  }
  MemoryFileGuard(const MemoryFileGuard&) = delete;
  MemoryFileGuard& operator=(const MemoryFileGuard&) = delete;

 private:
  std::string name_;
};

void copy_memory_file(const std::string& memory_path, const std::string& file_path,
                      const std::string& path) {
  vsi_l_offset length = 0;
  const GByte* bytes = VSIGetMemFileBuffer(memory_path.c_str(), &length, FALSE);
  if (bytes == nullptr) throw Error(path, "the polygons were not written (no GDAL output)");
  std::ofstream out(file_path, std::ios::binary);
  if (!out.is_open()) {
    throw Error(path, std::string("cannot create the file (") + std::strerror(errno) + ")");
  }
  out.write(reinterpret_cast<const char*>(bytes), static_cast<std::streamsize>(length));
  out.close();
  if (!out) throw Error(path, "cannot write the file (disk full?)");
}

PolygonsWritten write_polygons(const std::string& path, const RasterGrid& grid,
                               const GrayImage& mask, const GrayImage* validity, Target target) {
  const GrayImage on_grid = geo::mask_on_grid(grid, mask, validity, path);
  geo::AtomicFile file(path);
  geo::ensure_gdal_registered();
  geo::GdalErrorCapture gdal_errors;

  PolygonsWritten written;
  written.georeferenced = geo::is_georeferenced(grid);
  std::unique_ptr<OGRSpatialReference> scene_crs;
  if (written.georeferenced) scene_crs = geo::grid_spatial_reference(grid, path);
  GDALDatasetUniquePtr raster = mask_raster(grid, on_grid, written.georeferenced);

  const char* driver_name = target == Target::kGeoJsonWgs84 ? "GeoJSON" : "GPKG";
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(driver_name);
  if (driver == nullptr) throw Error(path, std::string("GDAL has no ") + driver_name + " driver");
  // GDAL's GeoJSON writer does not check its writes (a full disk gives a truncated file and no
  // error), so GeoJSON is made in memory and copied to the temporary file with checked writes.
  const bool via_memory = target == Target::kGeoJsonWgs84;
  const std::string dataset_path = via_memory ? "/vsimem" + file.temp_path() : file.temp_path();
  const MemoryFileGuard memory_file(via_memory ? dataset_path : std::string());
  GDALDatasetUniquePtr vectors(driver->Create(dataset_path.c_str(), 0, 0, 0, GDT_Unknown, nullptr));
  if (!vectors) throw Error(path, "cannot create the file (" + gdal_errors.last_message() + ")");

  // Polygonize in the raster's own coordinates (scene CRS or pixels) into memory, then copy:
  // to EPSG:4326 for georeferenced GeoJSON, as they are otherwise.
  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("Memory");
  GDALDatasetUniquePtr scratch(memory->Create("", 0, 0, 0, GDT_Unknown, nullptr));
  OGRLayer* polygons =
      create_layer(*scratch, scene_crs.get(), false, written.georeferenced, path, gdal_errors);
  polygonize_into(*raster->GetRasterBand(1), *polygons, path, gdal_errors);

  std::unique_ptr<OGRCoordinateTransformation> to_wgs84;
  std::unique_ptr<OGRSpatialReference> output_crs;
  const bool rfc7946 = target == Target::kGeoJsonWgs84 && written.georeferenced;
  if (rfc7946) {
    to_wgs84 = geo::to_wgs84_lon_lat(*scene_crs, path);
    output_crs = geo::wgs84_lon_lat();
  } else if (scene_crs) {
    output_crs.reset(scene_crs->Clone());
  }
  OGRLayer* layer =
      create_layer(*vectors, output_crs.get(), rfc7946, written.georeferenced, path, gdal_errors);
  const bool transaction = vectors->StartTransaction() == OGRERR_NONE;
  written.polygon_count = copy_polygons(*polygons, *layer, to_wgs84.get(), grid, path, gdal_errors);
  if (transaction && vectors->CommitTransaction() != OGRERR_NONE) {
    throw Error(path, "cannot commit the polygons (" + gdal_errors.last_message() + ")");
  }
  // Closing writes what the driver buffers (GeoJSON's tail, SQLite pages); a failure there must not
  // be committed.
  CPLErrorReset();
  GDALClose(vectors.release());
  if (CPLGetLastErrorType() >= CE_Failure) {
    throw Error(path, "cannot finish the file (" + gdal_errors.last_message() + ")");
  }
  if (via_memory) copy_memory_file(dataset_path, file.temp_path(), path);
  file.commit();
  return written;
}

}  // namespace

PolygonsWritten write_mask_geojson(const std::string& path, const RasterGrid& grid,
                                   const GrayImage& mask, const GrayImage* validity) {
  return write_polygons(path, grid, mask, validity, Target::kGeoJsonWgs84);
}

PolygonsWritten write_mask_geopackage(const std::string& path, const RasterGrid& grid,
                                      const GrayImage& mask, const GrayImage* validity) {
  return write_polygons(path, grid, mask, validity, Target::kGeoPackageSceneCrs);
}

}  // namespace terrascope
