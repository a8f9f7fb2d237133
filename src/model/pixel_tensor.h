// 8-bit RGB images -> the normalised float tensors the vision encoder and SAM-2 take. The only
// preprocessing file that touches libtorch.
#pragma once

#include <array>
#include <vector>

#include <ATen/core/Tensor.h>

#include "terrascope/image.h"

namespace terrascope {

// Tiles (all T x T) -> float32 [N, 3, T, T] on the CPU: x / 255, then (x - mean[c]) / std[c], in
// float32 as torchvision's ToTensor + Normalize compute it (mean/std rounded to float first).
at::Tensor tiles_to_tensor(const std::vector<RgbImage>& tiles, const std::array<double, 3>& mean,
                           const std::array<double, 3>& std);

// The grounding input: the image resized to size x size (make_grounding_input) and normalised as
// above -> float32 [1, 3, size, size]. Release note: SAM2.preprocess_image builds mean/std in
// bfloat16, so the release's effective constants are the bf16-rounded ones (0.484375, ...); which
// constants to use is the caller's (the bundle's `sam_mean`/`sam_std`).
at::Tensor sam_input_tensor(const RgbImage& image, int size, const std::array<double, 3>& mean,
                            const std::array<double, 3>& std);

}  // namespace terrascope
