#include "geo/mask_grid.h"

#include <cmath>
#include <cstddef>
#include <utility>
#include <vector>

#include "terrascope/error.h"

namespace terrascope::geo {
namespace {

std::string size_text(int width, int height) {
  return std::to_string(width) + "x" + std::to_string(height);
}

}  // namespace

void check_binary_image(const GrayImage& image, const std::string& what,
                        const std::string& subject) {
  if (image.width <= 0 || image.height <= 0) {
    throw Error(subject, what + " is empty (" + size_text(image.width, image.height) + ")");
  }
  if (image.pixels.size() != static_cast<size_t>(image.width) * image.height) {
    throw Error(subject, what + " holds " + std::to_string(image.pixels.size()) +
                             " pixels, its size " + size_text(image.width, image.height) +
                             " needs " +
                             std::to_string(static_cast<size_t>(image.width) * image.height));
  }
  for (size_t i = 0; i < image.pixels.size(); ++i) {
    if (image.pixels[i] > 1) {
      const int x = static_cast<int>(i % image.width);
      const int y = static_cast<int>(i / image.width);
      throw Error(subject, what + " holds value " + std::to_string(image.pixels[i]) + " at (" +
                               std::to_string(x) + "," + std::to_string(y) +
                               "); it must hold 0 or 1");
    }
  }
}

bool same_shape(int width_a, int height_a, int width_b, int height_b) {
  // Compare at the smaller image's scale: each side may be off by one pixel there.
  if (static_cast<double>(width_a) * height_a > static_cast<double>(width_b) * height_b) {
    std::swap(width_a, width_b);
    std::swap(height_a, height_b);
  }
  const double expected_height = static_cast<double>(height_b) * width_a / width_b;
  const double expected_width = static_cast<double>(width_b) * height_a / height_b;
  return std::abs(height_a - expected_height) <= 1.0 + 1e-9 ||
         std::abs(width_a - expected_width) <= 1.0 + 1e-9;
}

namespace {

std::vector<int> nearest_source_index(int src, int dst) {
  std::vector<int> index(dst);
  for (int i = 0; i < dst; ++i) {
    const int s = static_cast<int>(std::floor((i + 0.5) * src / dst));
    index[i] = s < src ? s : src - 1;
  }
  return index;
}

}  // namespace

GrayImage resize_nearest(const GrayImage& image, int width, int height) {
  if (image.width == width && image.height == height) return image;
  GrayImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<size_t>(width) * height);
  const std::vector<int> src_x = nearest_source_index(image.width, width);
  const std::vector<int> src_y = nearest_source_index(image.height, height);
  for (int y = 0; y < height; ++y) {
    const uint8_t* src_row = image.pixels.data() + static_cast<size_t>(src_y[y]) * image.width;
    uint8_t* dst_row = out.pixels.data() + static_cast<size_t>(y) * width;
    for (int x = 0; x < width; ++x) dst_row[x] = src_row[src_x[x]];
  }
  return out;
}

GrayImage mask_on_grid(const RasterGrid& grid, const GrayImage& mask, const GrayImage* validity,
                       const std::string& subject) {
  if (grid.width <= 0 || grid.height <= 0) {
    throw Error(subject, "scene grid is empty (" + size_text(grid.width, grid.height) + ")");
  }
  check_binary_image(mask, "mask", subject);
  if (mask.width > grid.width || mask.height > grid.height) {
    throw Error(subject, "mask " + size_text(mask.width, mask.height) + " is larger than the " +
                             size_text(grid.width, grid.height) + " scene grid");
  }
  if (!same_shape(mask.width, mask.height, grid.width, grid.height)) {
    throw Error(subject, "mask " + size_text(mask.width, mask.height) +
                             " does not have the shape of the " +
                             size_text(grid.width, grid.height) + " scene grid");
  }
  if (validity != nullptr) {
    check_binary_image(*validity, "validity mask", subject);
    if (validity->width != mask.width || validity->height != mask.height) {
      throw Error(subject, "validity mask " + size_text(validity->width, validity->height) +
                               " differs in size from the mask " +
                               size_text(mask.width, mask.height));
    }
  }
  GrayImage out = resize_nearest(mask, grid.width, grid.height);
  if (validity != nullptr) {
    const GrayImage valid = resize_nearest(*validity, grid.width, grid.height);
    for (size_t i = 0; i < out.pixels.size(); ++i) {
      if (valid.pixels[i] == 0) out.pixels[i] = kMaskNodata;
    }
  }
  return out;
}

}  // namespace terrascope::geo
