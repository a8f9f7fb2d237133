// An overlay PNG for people: the 8-bit scene with each mask in its own colour and a legend.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope {

struct LabelledMask {
  std::string label;  // legend text; characters outside printable ASCII are shown as '?'
  GrayImage mask;     // 0/1, the scene's shape (any resolution: resized by nearest neighbour)
};

// Fill colour of the i-th mask (RGB), cycling through ten colours.
std::array<uint8_t, 3> overlay_colour(size_t index);

// Alpha of the fill: out = round((1 - a) * scene + a * colour) on mask pixels.
inline constexpr double kOverlayFillAlpha = 0.45;

// Writes `path` (PNG): the scene with each mask filled semi-transparently and outlined in its
// colour, later masks over earlier ones, and below the scene a legend strip with one swatch and
// label per mask (no strip without masks). The scene keeps its pixel positions: rows 0..height-1
// and columns 0..width-1 of the PNG are the scene. Written atomically; errors are
// terrascope::Error naming `path`.
void write_overlay_png(const std::string& path, const RgbImage& scene,
                       const std::vector<LabelledMask>& masks);

}  // namespace terrascope
