// Shared helpers of the "rasters out" tests: scratch directories, reading rasters and GDAL's own
// command-line tools as references (so that the writers are checked by code they do not share).
#pragma once

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>
#include <stdlib.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "terrascope/error.h"
#include "terrascope/image.h"

namespace terrascope::test {

inline const std::string kLabelTif =
    std::string(TERRASCOPE_SHARED_DATA) + "/sen1floods11/Spain_7370579_LabelHand.tif";
inline const std::string kLandsatTif =
    std::string(TERRASCOPE_SHARED_DATA) + "/rasterio_landsat/RGB.byte.tif";

// A fresh directory under the system temp dir, removed with its contents at scope end.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "ts_out_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }
  // Names of the entries, hidden ones included (temporary files would start with '.').
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(path_)) {
      names.insert(e.path().filename().string());
    }
    return names;
  }

 private:
  std::string path_;
};

// The message of the Error that `fn` throws ("no error" when it throws none).
template <typename Fn>
std::string error_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

// Output of a shell command (stdout), with its exit status checked.
inline std::string run_command(const std::string& command) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) ADD_FAILURE() << "cannot run " << command;
  if (pipe == nullptr) return output;
  std::array<char, 4096> buffer;
  size_t n = 0;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  const int status = pclose(pipe);
  EXPECT_EQ(status, 0) << command << "\n" << output;
  return output;
}

// `gdalinfo -json` of a file, parsed.
inline nlohmann::json gdalinfo_json(const std::string& path) {
  return nlohmann::json::parse(run_command("gdalinfo -json '" + path + "'"));
}

// Longitude/latitude of map coordinates in `source_srs`, by GDAL's gdaltransform tool.
inline std::vector<std::array<double, 2>> gdaltransform_to_lonlat(
    const std::string& source_srs, const std::vector<std::array<double, 2>>& points) {
  std::string input;
  for (const auto& p : points) {
    char line[128];
    std::snprintf(line, sizeof line, "%.10f %.10f\n", p[0], p[1]);
    input += line;
  }
  const std::string output = run_command("printf '" + input + "' | gdaltransform -s_srs '" +
                                         source_srs + "' -t_srs EPSG:4326 -output_xy");
  std::vector<std::array<double, 2>> result;
  double x = 0, y = 0;
  const char* cursor = output.c_str();
  int consumed = 0;
  while (std::sscanf(cursor, "%lf %lf%n", &x, &y, &consumed) == 2) {
    result.push_back({x, y});
    cursor += consumed;
  }
  return result;
}

inline GDALDatasetUniquePtr open_dataset(const std::string& path, unsigned flags = GDAL_OF_RASTER) {
  GDALAllRegister();
  GDALDatasetUniquePtr dataset(GDALDataset::Open(path.c_str(), flags | GDAL_OF_READONLY));
  EXPECT_TRUE(dataset) << path;
  return dataset;
}

// The grid of a raster file, read with GDAL directly (not with the engine's reader).
inline RasterGrid grid_of(const std::string& path) {
  auto dataset = open_dataset(path);
  RasterGrid grid;
  grid.width = dataset->GetRasterXSize();
  grid.height = dataset->GetRasterYSize();
  double gt[6];
  grid.has_geotransform = dataset->GetGeoTransform(gt) == CE_None;
  for (int i = 0; i < 6; ++i) grid.geotransform[i] = gt[i];
  const char* wkt = dataset->GetProjectionRef();
  grid.crs_wkt = wkt ? wkt : "";
  return grid;
}

inline std::vector<double> read_band(const std::string& path, int band = 1) {
  auto dataset = open_dataset(path);
  std::vector<double> values(static_cast<size_t>(dataset->GetRasterXSize()) *
                             dataset->GetRasterYSize());
  const CPLErr err = dataset->GetRasterBand(band)->RasterIO(
      GF_Read, 0, 0, dataset->GetRasterXSize(), dataset->GetRasterYSize(), values.data(),
      dataset->GetRasterXSize(), dataset->GetRasterYSize(), GDT_Float64, 0, 0, nullptr);
  EXPECT_EQ(err, CE_None);
  return values;
}

// A 0/1 image of `values` where `inside` holds.
inline GrayImage gray_where(const std::vector<double>& values, int width, int height,
                            const std::function<bool(double)>& inside) {
  GrayImage image{width, height, std::vector<uint8_t>(values.size())};
  for (size_t i = 0; i < values.size(); ++i) image.pixels[i] = inside(values[i]) ? 1 : 0;
  return image;
}

// A width x height 0/1 image with 1 on the inclusive pixel rectangle.
inline GrayImage rectangle_mask(int width, int height, int col0, int row0, int col1, int row1) {
  GrayImage image{width, height, std::vector<uint8_t>(static_cast<size_t>(width) * height, 0)};
  for (int r = row0; r <= row1; ++r) {
    for (int c = col0; c <= col1; ++c) image.pixels[static_cast<size_t>(r) * width + c] = 1;
  }
  return image;
}

inline std::string epsg_wkt(int code) {
  OGRSpatialReference srs;
  srs.importFromEPSG(code);
  char* wkt = nullptr;
  srs.exportToWkt(&wkt);
  std::string text = wkt;
  CPLFree(wkt);
  return text;
}

inline bool same_crs(const std::string& wkt_a, const std::string& wkt_b) {
  OGRSpatialReference a, b;
  if (a.importFromWkt(wkt_a.c_str()) != OGRERR_NONE) return false;
  if (b.importFromWkt(wkt_b.c_str()) != OGRERR_NONE) return false;
  return a.IsSame(&b);
}

}  // namespace terrascope::test
