// A mask brought onto its scene's full-resolution grid: checked (0/1 values, sizes), upsampled by
// nearest neighbour when the model worked at a lower resolution, and cut to the valid area.
#pragma once

#include <string>

#include "terrascope/image.h"

namespace terrascope::geo {

// Per grid pixel: 0 outside the mask, 1 inside, 255 outside the valid area (the mask GeoTIFF's
// nodata). `subject` names the output or input in error messages.
// Throws terrascope::Error when the grid is empty, a mask is malformed, holds values other than
// 0/1, is larger than the grid or has another aspect ratio, or the validity mask's size differs.
GrayImage mask_on_grid(const RasterGrid& grid, const GrayImage& mask, const GrayImage* validity,
                       const std::string& subject);

// Throws terrascope::Error naming `subject` unless `image` is well-formed and holds only 0 and 1;
// `what` names the image in the message ("mask", "validity mask").
void check_binary_image(const GrayImage& image, const std::string& what,
                        const std::string& subject);

// Whether an image of size a has the shape of one of size b, up to the rounding of each side that
// a decimated read (or an upsampling) makes.
bool same_shape(int width_a, int height_a, int width_b, int height_b);

// Nearest-neighbour resize by pixel centres (source index floor((i + 0.5) * src / dst), as PIL's
// NEAREST), used both to upsample masks to the grid and to fit masks to an overlay's image.
GrayImage resize_nearest(const GrayImage& image, int width, int height);

inline constexpr uint8_t kMaskNodata = 255;

}  // namespace terrascope::geo
