// Region-token selection: which vision tokens a [SEG] mask feeds back to the LLM as <REGION> rows
// (TERRASCOPE.md, loop steps 5 and 7; ENGINE.md policies).
//
// Release rule (modeling_sa2va_chat.py `_get_visual_tokens_from_mask_accurate`,
// `_get_visual_tokens_from_mask_multi_simple`, `_spatial_uniform_sample`): the mask is PIL-NEAREST-
// resized to the tiled size (cols*T x rows*T), then to the token grid (cols*n x rows*n, n tokens
// per tile side); each true cell is a token, tile by tile, row-major within a tile
// (index = tile * n^2 + row * n + col). More than K: spatial uniform sampling (a ceil(sqrt K)
// square grid over the bounding box of the cells, per grid cell row-major the token nearest its
// centre, first on ties, stop at K). None: the token at the cells' centroid (never reached: no
// cell, no centroid), else 0.
//
// Paper rule (the paper says only "> 50% of the cell covered", K = 128; the details are ours): on
// the same tiled-size NEAREST mask, a token's cell is its (T/n) x (T/n) pixel block; it qualifies
// when strictly more than half of those pixels are set. Ordering and sampling as the release. None
// qualifies: the token whose cell holds the centroid (int of the mean row and column) of the
// tiled-size mask's pixels, else token 0.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/tiling.h"
#include "terrascope/image.h"

namespace terrascope {

enum class RegionRule { Release, Paper };

struct RegionPolicy {
  int cap = 8;  // K; the release hard-codes 8, the paper uses 128
  RegionRule rule = RegionRule::Release;
};

// "release" or "paper" (the bundle's `region_selection`); anything else is an Error.
RegionRule parse_region_rule(const std::string& name);

// Single image with dynamic tiles. `mask`: the [SEG] mask at the original image size, nonzero =
// covered. Returns global token indices into the tiles' concatenated blocks (n^2 tokens per tile,
// in make_tiles order), in the release's order; never a thumbnail token; at least one, at most K.
std::vector<int64_t> select_region_tokens(const GrayImage& mask, const TileGrid& grid,
                                          int tile_size, int tokens_per_side,
                                          const RegionPolicy& policy);

// One time-series frame (one tile, no thumbnail): indices within that frame's n^2 tokens.
std::vector<int64_t> select_region_tokens_frame(const GrayImage& mask, int tile_size,
                                                int tokens_per_side, const RegionPolicy& policy);

}  // namespace terrascope
