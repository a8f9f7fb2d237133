// Plain image and raster-grid types shared by the raster layer (which produces them) and the model
// library (which consumes them). No GDAL, OpenCV or libtorch here.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace terrascope {

// 8-bit RGB, row-major, interleaved (R,G,B per pixel): the model's input form.
struct RgbImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height * 3
};

// A single-channel 8-bit image (masks: 0/1; validity: 0 invalid, 1 valid), row-major.
struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // width * height
};

// Where a raster's pixels lie on the Earth: size, GDAL geotransform (rotation terms included) and
// CRS.
struct RasterGrid {
  int width = 0;
  int height = 0;
  // GDAL order: x0, pixel width, row rotation, y0, column rotation, pixel height (negative
  // north-up).
  std::array<double, 6> geotransform = {0.0, 1.0, 0.0, 0.0, 0.0, 1.0};
  bool has_geotransform = false;
  std::string crs_wkt;  // empty when the raster has no CRS
};

}  // namespace terrascope
