// Helpers for the raster-reading tests: a self-removing temp directory, paths into the shared real
// data, and small GDAL-written rasters (GDAL itself is the writer, so the bytes are not ours).
#pragma once

#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <ogr_spatialref.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "terrascope/error.h"
#include "terrascope/scene.h"

namespace terrascope::test {

inline std::string shared_data(const std::string& relative) {
  return std::string(TERRASCOPE_SHARED_DATA) + "/" + relative;
}

// The message of the Error that reading `path` throws ("" when it does not throw).
inline std::string read_error(const std::string& path,
                              const SceneOptions& options = SceneOptions{}) {
  try {
    read_frame(path, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "terrascope-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct SyntheticRaster {
  int width = 8;
  int height = 8;
  int bands = 1;
  GDALDataType type = GDT_Byte;
  std::string driver = "GTiff";
  bool georeferenced = true;
  std::array<double, 6> geotransform = {500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0};
  int epsg = 32631;
  bool has_nodata = false;
  double nodata = 0.0;
  // value(band 1-based, x, y); for complex types the real part (imaginary part: imaginary()).
  std::function<double(int, int, int)> value = [](int, int, int) { return 1.0; };
  std::function<double(int, int, int)> imaginary = [](int, int, int) { return 0.0; };
};

// Writes `spec` to `path` with GDAL (through a MEM dataset and CreateCopy, as drivers like PNG
// need).
inline void write_raster(const std::string& path, const SyntheticRaster& spec) {
  GDALAllRegister();
  GDALDriver* memory = GetGDALDriverManager()->GetDriverByName("MEM");
  GDALDatasetUniquePtr source(
      memory->Create("", spec.width, spec.height, spec.bands, spec.type, nullptr));
  ASSERT_TRUE(source);
  if (spec.georeferenced) {
    double geotransform[6];
    std::copy(spec.geotransform.begin(), spec.geotransform.end(), geotransform);
    source->SetGeoTransform(geotransform);
    OGRSpatialReference srs;
    srs.importFromEPSG(spec.epsg);
    srs.SetAxisMappingStrategy(OAMS_TRADITIONAL_GIS_ORDER);
    source->SetSpatialRef(&srs);
  }
  const bool complex = GDALDataTypeIsComplex(spec.type);
  for (int b = 1; b <= spec.bands; ++b) {
    std::vector<double> values(static_cast<size_t>(spec.width) * spec.height * (complex ? 2 : 1));
    for (int y = 0; y < spec.height; ++y) {
      for (int x = 0; x < spec.width; ++x) {
        const size_t i = static_cast<size_t>(y) * spec.width + x;
        if (complex) {
          values[2 * i] = spec.value(b, x, y);
          values[2 * i + 1] = spec.imaginary(b, x, y);
        } else {
          values[i] = spec.value(b, x, y);
        }
      }
    }
    GDALRasterBand* band = source->GetRasterBand(b);
    ASSERT_EQ(band->RasterIO(GF_Write, 0, 0, spec.width, spec.height, values.data(), spec.width,
                             spec.height, complex ? GDT_CFloat64 : GDT_Float64, 0, 0, nullptr),
              CE_None);
    if (spec.has_nodata) band->SetNoDataValue(spec.nodata);
  }
  GDALDriver* driver = GetGDALDriverManager()->GetDriverByName(spec.driver.c_str());
  ASSERT_NE(driver, nullptr);
  GDALDatasetUniquePtr written(
      driver->CreateCopy(path.c_str(), source.get(), FALSE, nullptr, nullptr, nullptr));
  ASSERT_TRUE(written) << path;
}

// Runs a shell command; returns its exit status and fills `output` with its stdout.
inline int run_command(const std::string& command, std::string* output) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(::popen(command.c_str(), "r"), ::pclose);
  if (!pipe) return -1;
  char buffer[4096];
  std::string text;
  size_t count;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe.get())) > 0) text.append(buffer, count);
  if (output) *output = text;
  const int status = ::pclose(pipe.release());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace terrascope::test
