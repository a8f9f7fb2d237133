// Normalised pixel tensors; see pixel_tensor.h.
#include "model/pixel_tensor.h"

#include <cstring>
#include <string>

#include <ATen/ATen.h>

#include "model/tiling.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

// [N, H, W, 3] uint8 -> [N, 3, H, W] float32, normalised with the same tensor ops (and so the same
// float32 roundings) as torchvision's ToTensor + Normalize: div(255), sub(mean), div(std).
at::Tensor normalise(const at::Tensor& hwc_uint8, const std::array<double, 3>& mean,
                     const std::array<double, 3>& std) {
  const auto float_options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor mean_t = at::tensor({static_cast<float>(mean[0]), static_cast<float>(mean[1]),
                                        static_cast<float>(mean[2])},
                                       float_options)
                                .view({1, 3, 1, 1});
  const at::Tensor std_t = at::tensor({static_cast<float>(std[0]), static_cast<float>(std[1]),
                                       static_cast<float>(std[2])},
                                      float_options)
                               .view({1, 3, 1, 1});
  return hwc_uint8.permute({0, 3, 1, 2})
      .to(at::kFloat)
      .div(255)
      .sub(mean_t)
      .div(std_t)
      .contiguous();
}

void check_std(const char* what, const std::array<double, 3>& std) {
  for (double value : std) {
    if (!(value > 0.0)) throw Error(what, "std " + std::to_string(value) + " is not positive");
  }
}

}  // namespace

at::Tensor tiles_to_tensor(const std::vector<RgbImage>& tiles, const std::array<double, 3>& mean,
                           const std::array<double, 3>& std) {
  if (tiles.empty()) throw Error("tiles_to_tensor", "no tiles");
  check_std("tiles_to_tensor", std);
  const int width = tiles.front().width;
  const int height = tiles.front().height;
  if (width <= 0 || height <= 0) {
    throw Error("tiles_to_tensor", "tile 0 is " + std::to_string(width) + "x" +
                                       std::to_string(height) + ", not a picture");
  }
  const size_t tile_bytes = static_cast<size_t>(width) * height * 3;
  at::Tensor hwc = at::empty({static_cast<int64_t>(tiles.size()), height, width, 3}, at::kByte);
  uint8_t* dst = hwc.data_ptr<uint8_t>();
  for (size_t i = 0; i < tiles.size(); ++i) {
    const RgbImage& tile = tiles[i];
    if (tile.width != width || tile.height != height || tile.pixels.size() != tile_bytes) {
      throw Error("tiles_to_tensor", "tile " + std::to_string(i) + " is " +
                                         std::to_string(tile.width) + "x" +
                                         std::to_string(tile.height) + ", tile 0 is " +
                                         std::to_string(width) + "x" + std::to_string(height));
    }
    if (tile_bytes > 0) std::memcpy(dst + i * tile_bytes, tile.pixels.data(), tile_bytes);
  }
  return normalise(hwc, mean, std);
}

at::Tensor sam_input_tensor(const RgbImage& image, int size, const std::array<double, 3>& mean,
                            const std::array<double, 3>& std) {
  check_std("sam_input_tensor", std);
  return tiles_to_tensor({make_grounding_input(image, size)}, mean, std);
}

}  // namespace terrascope
