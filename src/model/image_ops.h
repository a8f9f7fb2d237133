// PIL-exact resampling of 8-bit images (Pillow 9.4's `Image.resize`), the resizes TerraScope's
// preprocessing and region selection are made of. Bit-exact, so that tiles, the SAM-2 input and
// region tokens match the Python reference and the release.
#pragma once

#include "terrascope/image.h"

namespace terrascope {

// Antialiased bicubic (a = -0.5) as PIL's `resize(size, BICUBIC)` for RGB: separable, horizontal
// pass first with an 8-bit intermediate, support widened by the downscale factor, coefficients in
// fixed point with 22 fraction bits, results rounded and clipped to 0..255. Same size: a copy.
RgbImage resize_bicubic(const RgbImage& image, int width, int height);

// Nearest neighbour as PIL's `resize(size, NEAREST)`: output pixel x samples source column
// int((x + 0.5) * in_w / out_w), the position accumulated in double steps exactly as PIL does.
GrayImage resize_nearest(const GrayImage& image, int width, int height);

}  // namespace terrascope
