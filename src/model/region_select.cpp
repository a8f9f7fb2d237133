// Region-token selection, release and paper rules; see region_select.h.
#include "model/region_select.h"

#include <algorithm>
#include <cstddef>
#include <string>

#include "model/image_ops.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

// A selected token: its row and column on the whole token grid, and its global index.
struct TokenCell {
  int row;
  int col;
  int64_t index;
};

// The grid of cells (rows*n x cols*n, row-major) that qualify under the rule.
std::vector<uint8_t> qualifying_cells(const GrayImage& tiled_mask, int cols, int rows,
                                      int tile_size, int tokens_per_side, RegionRule rule) {
  const int grid_w = cols * tokens_per_side;
  const int grid_h = rows * tokens_per_side;
  if (rule == RegionRule::Release) {
    return resize_nearest(tiled_mask, grid_w, grid_h).pixels;
  }
  const int cell = tile_size / tokens_per_side;
  std::vector<int> covered(static_cast<size_t>(grid_w) * grid_h, 0);
  for (int y = 0; y < tiled_mask.height; ++y) {
    const uint8_t* line = &tiled_mask.pixels[static_cast<size_t>(y) * tiled_mask.width];
    int* counts = &covered[static_cast<size_t>(y / cell) * grid_w];
    for (int x = 0; x < tiled_mask.width; ++x) counts[x / cell] += line[x];
  }
  std::vector<uint8_t> grid(covered.size());
  for (size_t i = 0; i < covered.size(); ++i) grid[i] = 2 * covered[i] > cell * cell ? 1 : 0;
  return grid;
}

// Every qualifying cell as a token, tile by tile (row-major tiles), row-major inside a tile.
std::vector<TokenCell> tokens_in_order(const std::vector<uint8_t>& grid, int cols, int rows,
                                       int tokens_per_side) {
  const int grid_w = cols * tokens_per_side;
  const int64_t per_tile = static_cast<int64_t>(tokens_per_side) * tokens_per_side;
  std::vector<TokenCell> cells;
  for (int tile = 0; tile < cols * rows; ++tile) {
    const int tile_row = tile / cols;
    const int tile_col = tile % cols;
    for (int local_row = 0; local_row < tokens_per_side; ++local_row) {
      for (int local_col = 0; local_col < tokens_per_side; ++local_col) {
        const int row = tile_row * tokens_per_side + local_row;
        const int col = tile_col * tokens_per_side + local_col;
        if (grid[static_cast<size_t>(row) * grid_w + col]) {
          cells.push_back({row, col, tile * per_tile + local_row * tokens_per_side + local_col});
        }
      }
    }
  }
  return cells;
}

// Release `_spatial_uniform_sample`, with its double arithmetic (float grid steps, half-open cells,
// squared distance to the cell centre, first token on ties).
std::vector<int64_t> spatial_uniform_sample(const std::vector<TokenCell>& cells, int cap) {
  int min_row = cells.front().row, max_row = min_row;
  int min_col = cells.front().col, max_col = min_col;
  for (const TokenCell& cell : cells) {
    min_row = std::min(min_row, cell.row);
    max_row = std::max(max_row, cell.row);
    min_col = std::min(min_col, cell.col);
    max_col = std::max(max_col, cell.col);
  }
  int side = 1;
  while (side * side < cap) ++side;  // ceil(sqrt(cap))
  const double row_step = std::max(1.0, static_cast<double>(max_row - min_row + 1) / side);
  const double col_step = std::max(1.0, static_cast<double>(max_col - min_col + 1) / side);
  std::vector<int64_t> sampled;
  for (int i = 0; i < side; ++i) {
    for (int j = 0; j < side; ++j) {
      const double top = min_row + i * row_step;
      const double bottom = min_row + (i + 1) * row_step;
      const double left = min_col + j * col_step;
      const double right = min_col + (j + 1) * col_step;
      const double centre_row = (top + bottom) / 2;
      const double centre_col = (left + right) / 2;
      const TokenCell* nearest = nullptr;
      double nearest_distance = 0.0;
      for (const TokenCell& cell : cells) {
        if (top <= cell.row && cell.row < bottom && left <= cell.col && cell.col < right) {
          const double dr = cell.row - centre_row;
          const double dc = cell.col - centre_col;
          const double distance = dr * dr + dc * dc;
          if (nearest == nullptr || distance < nearest_distance) {
            nearest = &cell;
            nearest_distance = distance;
          }
        }
      }
      if (nearest != nullptr) sampled.push_back(nearest->index);
      if (static_cast<int>(sampled.size()) >= cap) return sampled;
    }
  }
  return sampled;
}

// int(mean) of the row and column coordinates of the set pixels of a row-major image; false if
// none.
bool centroid(const std::vector<uint8_t>& pixels, int width, int* row, int* col) {
  int64_t count = 0, sum_rows = 0, sum_cols = 0;
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (!pixels[i]) continue;
    ++count;
    sum_rows += static_cast<int64_t>(i / width);
    sum_cols += static_cast<int64_t>(i % width);
  }
  if (count == 0) return false;
  *row = static_cast<int>(static_cast<double>(sum_rows) / static_cast<double>(count));
  *col = static_cast<int>(static_cast<double>(sum_cols) / static_cast<double>(count));
  return true;
}

std::vector<int64_t> fallback_token(const std::vector<uint8_t>& grid, const GrayImage& tiled_mask,
                                    int cols, int rows, int tile_size, int tokens_per_side,
                                    RegionRule rule) {
  int centre_row = 0, centre_col = 0;
  if (rule == RegionRule::Release) {
    if (!centroid(grid, cols * tokens_per_side, &centre_row, &centre_col)) return {0};
  } else {
    if (!centroid(tiled_mask.pixels, tiled_mask.width, &centre_row, &centre_col)) return {0};
    const int cell = tile_size / tokens_per_side;
    centre_row /= cell;
    centre_col /= cell;
  }
  const int tile = (centre_row / tokens_per_side) * cols + centre_col / tokens_per_side;
  if (tile >= cols * rows) return {0};
  return {static_cast<int64_t>(tile) * tokens_per_side * tokens_per_side +
          (centre_row % tokens_per_side) * tokens_per_side + centre_col % tokens_per_side};
}

std::vector<int64_t> select_tokens(const GrayImage& mask, int cols, int rows, int tile_size,
                                   int tokens_per_side, const RegionPolicy& policy) {
  if (mask.width <= 0 || mask.height <= 0 ||
      mask.pixels.size() != static_cast<size_t>(mask.width) * mask.height) {
    throw Error("region selection",
                "mask " + std::to_string(mask.width) + "x" + std::to_string(mask.height) +
                    " with " + std::to_string(mask.pixels.size()) + " values is not a valid mask");
  }
  if (tile_size <= 0 || tokens_per_side <= 0 || tile_size % tokens_per_side != 0) {
    throw Error("region selection", "tile size " + std::to_string(tile_size) +
                                        " is not a positive multiple of " +
                                        std::to_string(tokens_per_side) + " tokens per side");
  }
  if (cols < 1 || rows < 1) {
    throw Error("region selection",
                "tile grid " + std::to_string(cols) + "x" + std::to_string(rows) + " is empty");
  }
  if (policy.cap < 1) {
    throw Error("region selection", "region cap " + std::to_string(policy.cap) + " is below 1");
  }
  // The release scales a 0/255 image and thresholds at 127; NEAREST only copies values, so 0/1
  // works.
  GrayImage binary = mask;
  for (uint8_t& value : binary.pixels) value = value ? 1 : 0;
  const GrayImage tiled = resize_nearest(binary, cols * tile_size, rows * tile_size);
  const std::vector<uint8_t> grid =
      qualifying_cells(tiled, cols, rows, tile_size, tokens_per_side, policy.rule);
  const std::vector<TokenCell> cells = tokens_in_order(grid, cols, rows, tokens_per_side);
  if (static_cast<int>(cells.size()) > policy.cap) return spatial_uniform_sample(cells, policy.cap);
  if (!cells.empty()) {
    std::vector<int64_t> indices;
    indices.reserve(cells.size());
    for (const TokenCell& cell : cells) indices.push_back(cell.index);
    return indices;
  }
  return fallback_token(grid, tiled, cols, rows, tile_size, tokens_per_side, policy.rule);
}

}  // namespace

RegionRule parse_region_rule(const std::string& name) {
  if (name == "release") return RegionRule::Release;
  if (name == "paper") return RegionRule::Paper;
  throw Error("region_selection", "unknown rule \"" + name + "\" (expected release or paper)");
}

std::vector<int64_t> select_region_tokens(const GrayImage& mask, const TileGrid& grid,
                                          int tile_size, int tokens_per_side,
                                          const RegionPolicy& policy) {
  return select_tokens(mask, grid.cols, grid.rows, tile_size, tokens_per_side, policy);
}

std::vector<int64_t> select_region_tokens_frame(const GrayImage& mask, int tile_size,
                                                int tokens_per_side, const RegionPolicy& policy) {
  return select_tokens(mask, 1, 1, tile_size, tokens_per_side, policy);
}

}  // namespace terrascope
