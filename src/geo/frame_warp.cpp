#include "geo/frame_warp.h"

#include <gdal_utils.h>
#include <ogr_spatialref.h>

#include <cmath>
#include <limits>
#include <memory>

#include "geo/gdal_dataset.h"
#include "terrascope/error.h"

namespace terrascope::geo {
namespace {

// NULL-terminated argument list for the gdal_utils option parsers.
class ArgumentList {
 public:
  void add(const std::string& argument) { arguments_ = CSLAddString(arguments_, argument.c_str()); }
  char** get() const { return arguments_; }
  ~ArgumentList() { CSLDestroy(arguments_); }

 private:
  char** arguments_ = nullptr;
};

}  // namespace

GDALDatasetUniquePtr warp_onto_grid(GDALDataset& source, const std::string& path,
                                    const std::vector<int>& bands, const RasterGrid& reference,
                                    int out_width, int out_height) {
  GdalErrorCapture capture;
  double source_geotransform[6];
  const bool source_georeferenced =
      source.GetGeoTransform(source_geotransform) == CE_None && source.GetSpatialRef() != nullptr;
  if (!source_georeferenced) {
    throw Error(path, "cannot warp a raster without georeferencing (no geotransform or CRS)");
  }
  if (!reference.has_geotransform || reference.crs_wkt.empty()) {
    throw Error(path, "cannot warp onto a reference grid without georeferencing");
  }

  // The chosen bands as a lazy in-memory VRT, so the warper reads only those (and their overviews).
  ArgumentList translate_arguments;
  translate_arguments.add("-of");
  translate_arguments.add("VRT");
  for (int band : bands) {
    translate_arguments.add("-b");
    translate_arguments.add(std::to_string(band));
  }
  std::unique_ptr<GDALTranslateOptions, decltype(&GDALTranslateOptionsFree)> translate_options(
      GDALTranslateOptionsNew(translate_arguments.get(), nullptr), GDALTranslateOptionsFree);
  GDALDatasetUniquePtr selected(GDALDataset::FromHandle(
      GDALTranslate("", GDALDataset::ToHandle(&source), translate_options.get(), nullptr)));
  if (!selected)
    throw Error(path, "cannot select bands for warping (" + capture.last_message() + ")");

  const bool complex =
      GDALDataTypeIsComplex(source.GetRasterBand(bands.front())->GetRasterDataType());
  GDALDriver* memory_driver = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr target(memory_driver->Create("", out_width, out_height,
                                                    static_cast<int>(bands.size()),
                                                    complex ? GDT_CFloat64 : GDT_Float64, nullptr));
  if (!target)
    throw Error(path, "cannot allocate the warp target (" + capture.last_message() + ")");

  // The reference grid scaled to the output size: pixel and rotation terms grow by the size ratio.
  const double scale_x = static_cast<double>(reference.width) / out_width;
  const double scale_y = static_cast<double>(reference.height) / out_height;
  const auto& g = reference.geotransform;
  double target_geotransform[6] = {g[0], g[1] * scale_x, g[2] * scale_y,
                                   g[3], g[4] * scale_x, g[5] * scale_y};
  target->SetGeoTransform(target_geotransform);
  OGRSpatialReference reference_srs;
  reference_srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
  if (reference_srs.importFromWkt(reference.crs_wkt.c_str()) != OGRERR_NONE) {
    throw Error(path, "reference grid has an unreadable CRS");
  }
  target->SetSpatialRef(&reference_srs);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (int i = 1; i <= target->GetRasterCount(); ++i) {
    target->GetRasterBand(i)->SetNoDataValue(nan);
    target->GetRasterBand(i)->Fill(nan, complex ? nan : 0.0);
  }

  const bool coarser = scale_x > 1.0 || scale_y > 1.0;
  ArgumentList warp_arguments;
  warp_arguments.add("-r");
  warp_arguments.add(complex ? "near" : (coarser ? "average" : "bilinear"));
  warp_arguments.add("-wo");
  warp_arguments.add("INIT_DEST=NO_DATA");
  warp_arguments.add("-dstnodata");
  warp_arguments.add("nan");
  std::unique_ptr<GDALWarpAppOptions, decltype(&GDALWarpAppOptionsFree)> warp_options(
      GDALWarpAppOptionsNew(warp_arguments.get(), nullptr), GDALWarpAppOptionsFree);
  GDALDatasetH source_handle = GDALDataset::ToHandle(selected.get());
  int usage_error = 0;
  GDALDatasetH result = GDALWarp(nullptr, GDALDataset::ToHandle(target.get()), 1, &source_handle,
                                 warp_options.get(), &usage_error);
  if (result == nullptr || usage_error) {
    throw Error(path, "warping onto the reference grid failed (" + capture.last_message() + ")");
  }
  return target;
}

}  // namespace terrascope::geo
