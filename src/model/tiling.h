// InternVL dynamic tiling as TerraScope's release does it (modeling_sa2va_chat.py
// `dynamic_preprocess`, `find_closest_aspect_ratio`, `DirectResize`, the `T.Resize` transform):
// which tile grid an image gets, the tiles themselves, single-tile frames and the grounding input.
// Every size is a parameter: the release uses 448 px tiles and a 1024 px SAM-2 input.
#pragma once

#include <vector>

#include "terrascope/image.h"

namespace terrascope {

// cols x rows tiles of the image resized to (cols * T, rows * T), plus a thumbnail of the whole
// image when `thumbnail` (only when there is more than one tile).
struct TileGrid {
  int cols = 1;
  int rows = 1;
  bool thumbnail = false;
  int tiles() const { return cols * rows + (thumbnail ? 1 : 0); }  // thumbnail included
};

// The candidate grid (min_tiles <= cols*rows <= max_tiles) whose aspect ratio is closest to the
// image's; candidates go by tile count, and a later one with an equal difference wins when the
// image area exceeds half its pixel area. With min_tiles == 1 (the release) this equals the release
// for every size; with min_tiles > 1 the release breaks some exact ties by Python set order, which
// this (grids of one count in cols order) does not reproduce.
TileGrid choose_tile_grid(int width, int height, int tile_size, int min_tiles, int max_tiles,
                          bool use_thumbnail);

// The image resized (PIL bicubic) to the grid and cut into T x T tiles, row-major, thumbnail last.
std::vector<RgbImage> make_tiles(const RgbImage& image, const TileGrid& grid, int tile_size);

// Single-tile mode (time-series frames; each image of an optical+SAR pair): the whole image resized
// to one T x T tile (release `T.Resize((448, 448), BICUBIC)`), no thumbnail.
RgbImage make_frame_tile(const RgbImage& image, int tile_size);

// The SAM-2 grounding input: the whole image resized to size x size, aspect ratio not kept
// (release `DirectResize(1024)`: PIL's default BICUBIC).
RgbImage make_grounding_input(const RgbImage& image, int size);

}  // namespace terrascope
