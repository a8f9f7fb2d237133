// Tile-grid choice and tile cutting; see tiling.h. Release: modeling_sa2va_chat.py
// `dynamic_preprocess` (min 1, max 12 tiles of 448, thumbnail on).
#include "model/tiling.h"

#include <cmath>
#include <cstddef>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "model/image_ops.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

// Candidate grids as (cols, rows), ordered by tile count as the release's stable sort does.
std::vector<std::pair<int, int>> candidate_grids(int min_tiles, int max_tiles) {
  std::vector<std::pair<int, int>> grids;
  for (int count = min_tiles; count <= max_tiles; ++count) {
    for (int cols = 1; cols <= count; ++cols) {
      if (count % cols == 0) grids.emplace_back(cols, count / cols);
    }
  }
  return grids;
}

void check_image(const char* what, const RgbImage& image) {
  if (image.width <= 0 || image.height <= 0 ||
      image.pixels.size() != static_cast<size_t>(image.width) * image.height * 3) {
    throw Error(what, "image " + std::to_string(image.width) + "x" + std::to_string(image.height) +
                          " with " + std::to_string(image.pixels.size()) +
                          " bytes is not a valid RGB image");
  }
}

void check_positive(const char* what, const char* name, int value) {
  if (value <= 0)
    throw Error(what, std::string(name) + " " + std::to_string(value) + " is not positive");
}

}  // namespace

TileGrid choose_tile_grid(int width, int height, int tile_size, int min_tiles, int max_tiles,
                          bool use_thumbnail) {
  check_positive("tiling", "image width", width);
  check_positive("tiling", "image height", height);
  check_positive("tiling", "tile size", tile_size);
  if (min_tiles < 1 || max_tiles < min_tiles) {
    throw Error("tiling", "tile count range " + std::to_string(min_tiles) + ".." +
                              std::to_string(max_tiles) + " is empty or below 1");
  }
  // Same double arithmetic as the release (Python floats), so exact ties resolve the same way.
  const double aspect_ratio = static_cast<double>(width) / height;
  const double area = static_cast<double>(width) * height;
  double best_diff = std::numeric_limits<double>::infinity();
  TileGrid best;
  for (const auto& [cols, rows] : candidate_grids(min_tiles, max_tiles)) {
    const double diff = std::fabs(aspect_ratio - static_cast<double>(cols) / rows);
    if (diff < best_diff) {
      best_diff = diff;
      best.cols = cols;
      best.rows = rows;
    } else if (diff == best_diff &&
               area > 0.5 * tile_size * tile_size * static_cast<double>(cols) * rows) {
      best.cols = cols;
      best.rows = rows;
    }
  }
  best.thumbnail = use_thumbnail && best.cols * best.rows != 1;
  return best;
}

std::vector<RgbImage> make_tiles(const RgbImage& image, const TileGrid& grid, int tile_size) {
  check_image("make_tiles", image);
  check_positive("make_tiles", "tile size", tile_size);
  if (grid.cols < 1 || grid.rows < 1) {
    throw Error("make_tiles", "tile grid " + std::to_string(grid.cols) + "x" +
                                  std::to_string(grid.rows) + " is empty");
  }
  const RgbImage resized = resize_bicubic(image, grid.cols * tile_size, grid.rows * tile_size);
  const size_t tile_row_bytes = static_cast<size_t>(tile_size) * 3;
  const size_t resized_row_bytes = static_cast<size_t>(resized.width) * 3;
  std::vector<RgbImage> tiles;
  tiles.reserve(grid.tiles());
  for (int row = 0; row < grid.rows; ++row) {
    for (int col = 0; col < grid.cols; ++col) {
      RgbImage tile;
      tile.width = tile_size;
      tile.height = tile_size;
      tile.pixels.resize(tile_row_bytes * tile_size);
      for (int y = 0; y < tile_size; ++y) {
        const size_t src = (static_cast<size_t>(row) * tile_size + y) * resized_row_bytes +
                           static_cast<size_t>(col) * tile_row_bytes;
        std::memcpy(&tile.pixels[y * tile_row_bytes], &resized.pixels[src], tile_row_bytes);
      }
      tiles.push_back(std::move(tile));
    }
  }
  // The thumbnail is resized from the original image, not from the tiled one.
  if (grid.thumbnail) tiles.push_back(resize_bicubic(image, tile_size, tile_size));
  return tiles;
}

RgbImage make_frame_tile(const RgbImage& image, int tile_size) {
  check_image("make_frame_tile", image);
  check_positive("make_frame_tile", "tile size", tile_size);
  return resize_bicubic(image, tile_size, tile_size);
}

RgbImage make_grounding_input(const RgbImage& image, int size) {
  check_image("make_grounding_input", image);
  check_positive("make_grounding_input", "grounding input size", size);
  return resize_bicubic(image, size, size);
}

}  // namespace terrascope
