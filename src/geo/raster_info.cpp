#include "terrascope/raster_info.h"

#include <ogr_spatialref.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "geo/band_read.h"
#include "geo/gdal_dataset.h"
#include "geo/raster_grid.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

// Length in metres of a small step (d_lon, d_lat), in radians, at latitude `lat` on the ellipsoid
// (semi-major axis a, flattening f): the meridional and prime-vertical radii of curvature give the
// local metric, exact to first order for a pixel-sized step.
double geographic_step_m(double d_lon, double d_lat, double lat, double a, double f) {
  const double e2 = f * (2.0 - f);
  const double s = std::sin(lat);
  const double w = std::sqrt(1.0 - e2 * s * s);
  const double meridional = a * (1.0 - e2) / (w * w * w);
  const double prime_vertical = a / w;
  const double east = prime_vertical * std::cos(lat) * d_lon;
  const double north = meridional * d_lat;
  return std::sqrt(east * east + north * north);
}

void describe_crs(const OGRSpatialReference& srs, RasterInfo& info) {
  const char* name = srs.GetName();
  info.crs_name = name ? name : "unnamed";
  const char* root = srs.IsProjected() ? "PROJCS" : (srs.IsGeographic() ? "GEOGCS" : nullptr);
  const char* authority = srs.GetAuthorityName(root);
  const char* code = srs.GetAuthorityCode(root);
  if (authority != nullptr && code != nullptr && std::strcmp(authority, "EPSG") == 0) {
    info.epsg = std::atoi(code);
  } else {
    OGRSpatialReference guess(srs);
    if (guess.AutoIdentifyEPSG() == OGRERR_NONE) {
      const char* guessed = guess.GetAuthorityCode(root);
      if (guessed != nullptr) info.epsg = std::atoi(guessed);
    }
  }
  info.geographic = srs.IsGeographic() != 0;
  if (!info.grid.has_geotransform) return;
  const auto& g = info.grid.geotransform;
  if (info.geographic) {
    const double to_radians = srs.GetAngularUnits(nullptr);  // radians per CRS unit
    OGRErr error = OGRERR_NONE;
    const double a = srs.GetSemiMajor(&error);
    const double inverse_flattening = srs.GetInvFlattening(&error);
    const double f = inverse_flattening > 0.0 ? 1.0 / inverse_flattening : 0.0;
    // Scene centre in CRS units (x = longitude, y = latitude, GDAL's traditional order).
    const double centre_y = g[3] + g[4] * info.grid.width / 2.0 + g[5] * info.grid.height / 2.0;
    const double lat = centre_y * to_radians;
    info.pixel_width_m = geographic_step_m(g[1] * to_radians, g[4] * to_radians, lat, a, f);
    info.pixel_height_m = geographic_step_m(g[2] * to_radians, g[5] * to_radians, lat, a, f);
  } else if (srs.IsProjected() || srs.IsLocal()) {
    const double metres_per_unit = srs.GetLinearUnits(nullptr);
    info.pixel_width_m = std::hypot(g[1], g[4]) * metres_per_unit;
    info.pixel_height_m = std::hypot(g[2], g[5]) * metres_per_unit;
  }
}

}  // namespace

RasterInfo describe_raster(const std::string& path, int valid_share_max_side) {
  GDALDatasetUniquePtr dataset = geo::open_raster(path);
  RasterInfo info;
  info.path = path;
  info.driver = dataset->GetDriver() ? dataset->GetDriver()->GetDescription() : "";
  info.grid = geo::grid_of(*dataset);
  info.rotated = info.grid.has_geotransform &&
                 (info.grid.geotransform[2] != 0.0 || info.grid.geotransform[4] != 0.0);

  std::vector<int> all_bands;
  for (int index = 1; index <= dataset->GetRasterCount(); ++index) {
    GDALRasterBand* band = dataset->GetRasterBand(index);
    BandInfo band_info;
    band_info.index = index;
    band_info.description = band->GetDescription();
    band_info.data_type = GDALGetDataTypeName(band->GetRasterDataType());
    band_info.colour = GDALGetColorInterpretationName(band->GetColorInterpretation());
    int has_nodata = 0;
    band_info.nodata = band->GetNoDataValue(&has_nodata);
    band_info.has_nodata = has_nodata != 0;
    info.bands.push_back(band_info);
    all_bands.push_back(index);
  }

  if (const OGRSpatialReference* srs = dataset->GetSpatialRef()) describe_crs(*srs, info);

  // Validity band by band, so a many-band scene never holds more than one plane.
  const auto [width, height] =
      geo::working_size(info.grid.width, info.grid.height, valid_share_max_side);
  info.valid_share_exact = width == info.grid.width && height == info.grid.height;
  std::vector<uint8_t> valid;
  for (int index : all_bands) {
    geo::BandPlanes planes = geo::read_bands(*dataset, path, {index}, width, height);
    if (valid.empty()) {
      valid = std::move(planes.valid);
    } else {
      for (size_t i = 0; i < valid.size(); ++i) valid[i] = valid[i] && planes.valid[i];
    }
  }
  size_t valid_count = 0;
  for (uint8_t v : valid) valid_count += v != 0;
  info.valid_share = valid.empty() ? 0.0 : static_cast<double>(valid_count) / valid.size();
  return info;
}

}  // namespace terrascope
