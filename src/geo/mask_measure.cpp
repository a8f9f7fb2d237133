#include "terrascope/mask_measure.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "geo/distance_transform.h"
#include "geo/grid_crs.h"
#include "geo/mask_grid.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

constexpr const char* kSubject = "mask";

struct Ellipsoid {
  double semi_major = 0;        // metres
  double eccentricity2 = 0;     // e^2
  double radians_per_unit = 0;  // of the CRS's angular unit
};

Ellipsoid ellipsoid_of(const OGRSpatialReference& crs) {
  OGRErr err = OGRERR_NONE;
  Ellipsoid ellipsoid;
  ellipsoid.semi_major = crs.GetSemiMajor(&err);
  const double inverse_flattening = crs.GetInvFlattening(&err);
  if (err != OGRERR_NONE || !(ellipsoid.semi_major > 0)) {
    throw Error(kSubject, "the scene's geographic CRS has no ellipsoid to measure area on");
  }
  const double flattening = inverse_flattening > 0 ? 1.0 / inverse_flattening : 0.0;
  ellipsoid.eccentricity2 = flattening * (2.0 - flattening);
  ellipsoid.radians_per_unit = crs.GetAngularUnits(nullptr);
  return ellipsoid;
}

// Antiderivative of cos(phi) / (1 - e^2 sin^2 phi)^2 in phi: the area between the equator and
// latitude phi of a lune one radian wide, divided by a^2 (1 - e^2) (the authalic-latitude
// integral).
double authalic_integral(double phi, double e2) {
  const double s = std::sin(phi);
  if (e2 < 1e-15) return s;
  const double e = std::sqrt(e2);
  return s / (2.0 * (1.0 - e2 * s * s)) + std::log((1.0 + e * s) / (1.0 - e * s)) / (4.0 * e);
}

double latitude_radians(double value, const Ellipsoid& ellipsoid) {
  const double phi = value * ellipsoid.radians_per_unit;
  if (std::abs(phi) > M_PI / 2 + 1e-9) {
    throw Error(kSubject, "the grid reaches latitude " + std::to_string(value) +
                              ", beyond the poles; its geotransform is not geographic");
  }
  return std::clamp(phi, -M_PI / 2, M_PI / 2);
}

// Area of each pixel on the ellipsoid, summed over the mask. Unrotated grids: exact area of the
// cell between two meridians and two parallels. Rotated grids: the area element at the pixel centre
// times the pixel's |det| (error of order (pixel size / Earth radius)^2).
double geographic_area_m2(const RasterGrid& grid, const GrayImage& on_grid,
                          const Ellipsoid& ellipsoid) {
  const auto& gt = grid.geotransform;
  const double a2 = ellipsoid.semi_major * ellipsoid.semi_major;
  const double e2 = ellipsoid.eccentricity2;
  const double unit = ellipsoid.radians_per_unit;
  const bool rotated = gt[2] != 0.0 || gt[4] != 0.0;
  double area = 0;
  for (int row = 0; row < grid.height; ++row) {
    const uint8_t* pixels = on_grid.pixels.data() + static_cast<size_t>(row) * grid.width;
    if (!rotated) {
      const int64_t count = std::count(pixels, pixels + grid.width, uint8_t{1});
      if (count == 0) continue;
      const double phi1 = latitude_radians(gt[3] + row * gt[5], ellipsoid);
      const double phi2 = latitude_radians(gt[3] + (row + 1) * gt[5], ellipsoid);
      const double cell = a2 * (1.0 - e2) * std::abs(gt[1] * unit) *
                          std::abs(authalic_integral(phi2, e2) - authalic_integral(phi1, e2));
      area += static_cast<double>(count) * cell;
      continue;
    }
    const double det = std::abs(gt[1] * gt[5] - gt[2] * gt[4]) * unit * unit;
    for (int col = 0; col < grid.width; ++col) {
      if (pixels[col] != 1) continue;
      double x = 0, y = 0;
      geo::pixel_to_map(grid, col + 0.5, row + 0.5, &x, &y);
      const double phi = latitude_radians(y, ellipsoid);
      const double s = std::sin(phi);
      const double w = 1.0 - e2 * s * s;
      area += det * a2 * (1.0 - e2) * std::cos(phi) / (w * w);
    }
  }
  return area;
}

// The kind of CRS decides how a pixel's size is measured.
bool is_geographic(const OGRSpatialReference& crs) {
  if (crs.IsGeographic()) return true;
  if (crs.IsProjected() || crs.IsLocal()) return false;
  throw Error(kSubject, "the scene CRS is neither geographic nor projected; cannot measure area");
}

double linear_unit_metres(const OGRSpatialReference& crs) {
  const double metres = crs.GetLinearUnits(nullptr);
  if (!(metres > 0)) throw Error(kSubject, "the scene CRS has no linear unit");
  return metres;
}

// Metres between neighbouring pixel centres along a column step and a row step. Geographic grids:
// at the grid's central latitude, from the ellipsoid's meridional (M) and prime-vertical (N) radii.
void pixel_steps_m(const RasterGrid& grid, const OGRSpatialReference& crs, double* column_step,
                   double* row_step) {
  const auto& gt = grid.geotransform;
  if (!is_geographic(crs)) {
    const double unit = linear_unit_metres(crs);
    *column_step = std::hypot(gt[1], gt[4]) * unit;
    *row_step = std::hypot(gt[2], gt[5]) * unit;
    return;
  }
  const Ellipsoid ellipsoid = ellipsoid_of(crs);
  double x = 0, y = 0;
  geo::pixel_to_map(grid, grid.width / 2.0, grid.height / 2.0, &x, &y);
  const double phi = latitude_radians(y, ellipsoid);
  const double w = 1.0 - ellipsoid.eccentricity2 * std::sin(phi) * std::sin(phi);
  const double prime_vertical = ellipsoid.semi_major / std::sqrt(w);
  const double meridional =
      ellipsoid.semi_major * (1.0 - ellipsoid.eccentricity2) / (w * std::sqrt(w));
  const double east_per_unit = prime_vertical * std::cos(phi) * ellipsoid.radians_per_unit;
  const double north_per_unit = meridional * ellipsoid.radians_per_unit;
  *column_step = std::hypot(gt[1] * east_per_unit, gt[4] * north_per_unit);
  *row_step = std::hypot(gt[2] * east_per_unit, gt[5] * north_per_unit);
}

cv::Mat ones_of(const GrayImage& on_grid) {
  cv::Mat mat(on_grid.height, on_grid.width, CV_8U);
  for (int row = 0; row < on_grid.height; ++row) {
    const uint8_t* src = on_grid.pixels.data() + static_cast<size_t>(row) * on_grid.width;
    uint8_t* dst = mat.ptr<uint8_t>(row);
    for (int col = 0; col < on_grid.width; ++col) dst[col] = src[col] == 1 ? 1 : 0;
  }
  return mat;
}

LonLatBox lonlat_box_of(const RasterGrid& grid, const PixelBox& box,
                        OGRCoordinateTransformation& to_lonlat) {
  // The outline of the pixel box, 20 segments per side, so that curved edges are followed.
  const double c0 = box.col_min, c1 = box.col_max + 1.0, r0 = box.row_min, r1 = box.row_max + 1.0;
  const int steps = 20;
  std::vector<double> xs, ys;
  for (int i = 0; i <= steps; ++i) {
    const double t = static_cast<double>(i) / steps;
    const double outline[4][2] = {{c0 + t * (c1 - c0), r0},
                                  {c1, r0 + t * (r1 - r0)},
                                  {c1 - t * (c1 - c0), r1},
                                  {c0, r1 - t * (r1 - r0)}};
    for (const auto& point : outline) {
      double x = 0, y = 0;
      geo::pixel_to_map(grid, point[0], point[1], &x, &y);
      xs.push_back(x);
      ys.push_back(y);
    }
  }
  if (!to_lonlat.Transform(static_cast<int>(xs.size()), xs.data(), ys.data())) {
    throw Error(kSubject, "cannot transform the bounding box to EPSG:4326");
  }
  LonLatBox out;
  out.west = *std::min_element(xs.begin(), xs.end());
  out.east = *std::max_element(xs.begin(), xs.end());
  out.south = *std::min_element(ys.begin(), ys.end());
  out.north = *std::max_element(ys.begin(), ys.end());
  return out;
}

}  // namespace

MaskMeasurements measure_mask(const RasterGrid& grid, const GrayImage& mask,
                              const GrayImage* validity) {
  const GrayImage on_grid = geo::mask_on_grid(grid, mask, validity, kSubject);
  MaskMeasurements m;
  double col_sum = 0, row_sum = 0;
  PixelBox box{grid.width, grid.height, -1, -1};
  for (int row = 0; row < grid.height; ++row) {
    const uint8_t* pixels = on_grid.pixels.data() + static_cast<size_t>(row) * grid.width;
    for (int col = 0; col < grid.width; ++col) {
      if (pixels[col] == geo::kMaskNodata) continue;
      ++m.valid_pixel_count;
      if (pixels[col] != 1) continue;
      ++m.pixel_count;
      col_sum += col + 0.5;
      row_sum += row + 0.5;
      box.col_min = std::min(box.col_min, col);
      box.col_max = std::max(box.col_max, col);
      box.row_min = std::min(box.row_min, row);
      box.row_max = std::max(box.row_max, row);
    }
  }
  m.valid_share = m.valid_pixel_count > 0 ? static_cast<double>(m.pixel_count) /
                                                static_cast<double>(m.valid_pixel_count)
                                          : 0.0;

  const bool georeferenced = geo::is_georeferenced(grid);
  std::unique_ptr<OGRSpatialReference> crs;
  if (georeferenced) {
    crs = geo::grid_spatial_reference(grid, kSubject);
    if (is_geographic(*crs)) {
      m.area_m2 = geographic_area_m2(grid, on_grid, ellipsoid_of(*crs));
    } else {
      const auto& gt = grid.geotransform;
      const double unit = linear_unit_metres(*crs);
      const double pixel_area = std::abs(gt[1] * gt[5] - gt[2] * gt[4]) * unit * unit;
      m.area_m2 = static_cast<double>(m.pixel_count) * pixel_area;
    }
  }
  if (m.pixel_count == 0) return m;

  cv::Mat labels;
  m.connected_components = cv::connectedComponents(ones_of(on_grid), labels, 8, CV_32S) - 1;
  m.centroid_col = col_sum / static_cast<double>(m.pixel_count);
  m.centroid_row = row_sum / static_cast<double>(m.pixel_count);
  m.bbox_pixels = box;
  // An engineering (local) CRS has metres but no place on the Earth: no lon/lat then.
  if (georeferenced && !crs->IsLocal()) {
    const auto to_lonlat = geo::to_wgs84_lon_lat(*crs, kSubject);
    double x = 0, y = 0;
    geo::pixel_to_map(grid, *m.centroid_col, *m.centroid_row, &x, &y);
    if (!to_lonlat->Transform(1, &x, &y)) {
      throw Error(kSubject, "cannot transform the centroid to EPSG:4326");
    }
    m.centroid_lonlat = LonLat{x, y};
    m.bbox_lonlat = lonlat_box_of(grid, box, *to_lonlat);
  }
  return m;
}

MaskRelation relate_masks(const RasterGrid& grid, const GrayImage& a, const GrayImage& b,
                          const GrayImage* validity) {
  if (a.width != b.width || a.height != b.height) {
    throw Error(kSubject, "masks to relate differ in size (" + std::to_string(a.width) + "x" +
                              std::to_string(a.height) + " and " + std::to_string(b.width) + "x" +
                              std::to_string(b.height) + ")");
  }
  const cv::Mat full_a = ones_of(geo::mask_on_grid(grid, a, validity, kSubject));
  const cv::Mat full_b = ones_of(geo::mask_on_grid(grid, b, validity, kSubject));
  MaskRelation relation;
  if (cv::countNonZero(full_a) == 0 || cv::countNonZero(full_b) == 0) return relation;

  // Distances between pixels of a and b do not depend on pixels outside both masks, so both
  // computations run on the masks' joint bounding box (one pixel wider, for the dilation): a full
  // 10980 x 10980 scene would need a gigabyte of distances otherwise.
  const cv::Rect window =
      (cv::boundingRect(full_a) | cv::boundingRect(full_b)) + cv::Size(2, 2) - cv::Point(1, 1);
  const cv::Rect inside = window & cv::Rect(0, 0, grid.width, grid.height);
  const cv::Mat set_a = full_a(inside).clone();
  const cv::Mat set_b = full_b(inside).clone();

  cv::Mat grown;
  cv::dilate(set_a, grown, cv::Mat::ones(3, 3, CV_8U));
  relation.touching = cv::countNonZero(grown & set_b) > 0;

  const std::vector<uint8_t> in_a(set_a.datastart, set_a.dataend);
  const auto nearest_b = [&](double column_step, double row_step) {
    const std::vector<double> d2 =
        geo::squared_distance_to_set(in_a, inside.width, inside.height, column_step, row_step);
    double best = std::numeric_limits<double>::infinity();
    const uint8_t* in_b = set_b.ptr<uint8_t>(0);
    for (size_t i = 0; i < d2.size(); ++i) {
      if (in_b[i]) best = std::min(best, d2[i]);
    }
    return std::sqrt(best);
  };
  relation.distance_pixels = nearest_b(1.0, 1.0);
  if (geo::is_georeferenced(grid)) {
    const auto crs = geo::grid_spatial_reference(grid, kSubject);
    double column_step = 0, row_step = 0;
    pixel_steps_m(grid, *crs, &column_step, &row_step);
    relation.distance_m = nearest_b(column_step, row_step);
  }
  return relation;
}

void to_json(nlohmann::json& json, const MaskMeasurements& m) {
  json = nlohmann::json::object();
  json["pixel_count"] = m.pixel_count;
  json["valid_pixel_count"] = m.valid_pixel_count;
  json["valid_share"] = m.valid_share;
  if (m.area_m2) json["area_m2"] = *m.area_m2;
  json["connected_components"] = m.connected_components;
  json["connectivity"] = 8;
  if (m.centroid_col) json["centroid_pixel"] = {*m.centroid_col, *m.centroid_row};
  if (m.centroid_lonlat) json["centroid_lonlat"] = {m.centroid_lonlat->lon, m.centroid_lonlat->lat};
  if (m.bbox_pixels) {
    const PixelBox& b = *m.bbox_pixels;
    json["bbox_pixels"] = {{"col_min", b.col_min},
                           {"row_min", b.row_min},
                           {"col_max", b.col_max},
                           {"row_max", b.row_max}};
  }
  if (m.bbox_lonlat) {
    const LonLatBox& b = *m.bbox_lonlat;
    json["bbox_lonlat"] = {b.west, b.south, b.east, b.north};
  }
}

void to_json(nlohmann::json& json, const MaskRelation& r) {
  json = nlohmann::json::object();
  if (r.distance_pixels) json["distance_pixels"] = *r.distance_pixels;
  if (r.distance_m) json["distance_m"] = *r.distance_m;
  json["touching"] = r.touching;
}

}  // namespace terrascope
