"""Reference region-token selection: which vision tokens a [SEG] mask feeds back as <REGION> rows.

Release rule (modeling_sa2va_chat.py `_get_visual_tokens_from_mask_accurate` for dynamic tiles,
`_get_visual_tokens_from_mask_multi_simple` for one time-series frame, `_spatial_uniform_sample`):
  1. the 0/1 mask (original size) is PIL-NEAREST-resized to the tiled size (cols*T x rows*T), then
     PIL-NEAREST-resized to the token grid (cols*n x rows*n, n tokens per tile side);
  2. every true cell gives a token, tile by tile (row-major tiles), row-major inside a tile; the global
     index is tile * n^2 + row * n + col; thumbnail tokens are never selected;
  3. more than K tokens: spatial uniform sampling (see `spatial_uniform_sample`);
  4. none: the token at the centroid of the true cells (unreachable in practice: no true cell means
     no token), else token 0.

Paper rule (ours; the paper gives only "a cell qualifies when more than 50% of it is covered" and
K = 128): the mask is NEAREST-resized to the tiled size as above; a token cell is the
(T/n) x (T/n) pixel block of that tiled-size mask under the token; it qualifies when strictly more than
half of its pixels are true. Steps 2-3 are unchanged. If none qualifies but the tiled-size mask has
true pixels, the token whose cell holds their centroid (int of the mean row/column) is taken; else
token 0.
"""

import math

import numpy as np
from PIL import Image

from .preprocess import NEAREST

RELEASE = "release"
PAPER = "paper"


def nearest_resize_mask(mask, width, height):
    """A boolean mask resized with PIL NEAREST as the release does (0/255 uint8 image, > 127)."""
    image = Image.fromarray((np.asarray(mask) * 255).astype(np.uint8))
    return np.array(image.resize((width, height), NEAREST)) > 127


def _token_grid(mask, cols, rows, tile_size, tokens_per_side, rule):
    """The boolean token grid (rows*n x cols*n) of qualifying cells, and the tiled-size mask."""
    if tile_size % tokens_per_side != 0:
        raise ValueError(f"tile size {tile_size} is not a multiple of {tokens_per_side} tokens")
    tiled = nearest_resize_mask(mask, cols * tile_size, rows * tile_size)
    grid_w, grid_h = cols * tokens_per_side, rows * tokens_per_side
    if rule == RELEASE:
        return nearest_resize_mask(tiled, grid_w, grid_h), tiled
    if rule == PAPER:
        cell = tile_size // tokens_per_side
        counts = tiled.reshape(grid_h, cell, grid_w, cell).sum(axis=(1, 3))
        return 2 * counts > cell * cell, tiled
    raise ValueError(f"region rule {rule!r}: expected 'release' or 'paper'")


def _tokens_in_order(token_grid, cols, rows, tokens_per_side):
    """(global_row, global_col, token_index) of every true cell, tile by tile, row-major in a tile."""
    per_tile = tokens_per_side * tokens_per_side
    found = []
    for tile in range(cols * rows):
        tile_row, tile_col = divmod(tile, cols)
        for local_row in range(tokens_per_side):
            for local_col in range(tokens_per_side):
                row = tile_row * tokens_per_side + local_row
                col = tile_col * tokens_per_side + local_col
                if token_grid[row, col]:
                    found.append((row, col, tile * per_tile + local_row * tokens_per_side + local_col))
    return found


def spatial_uniform_sample(positions, token_grid, cap):
    """Release `_spatial_uniform_sample`: a ceil(sqrt(K)) square grid over the bounding box of the true
    cells (float steps, at least 1 cell); in each grid cell, row-major, the token nearest the cell centre
    (first one on ties, in selection order); stop at K."""
    rows, cols = np.where(token_grid)
    if len(rows) == 0:
        return [index for _, _, index in positions][:cap]
    min_row, max_row = int(rows.min()), int(rows.max())
    min_col, max_col = int(cols.min()), int(cols.max())
    side = int(math.ceil(math.sqrt(cap)))
    row_step = max(1.0, (max_row - min_row + 1) / side)
    col_step = max(1.0, (max_col - min_col + 1) / side)
    sampled = []
    for i in range(side):
        for j in range(side):
            top, bottom = min_row + i * row_step, min_row + (i + 1) * row_step
            left, right = min_col + j * col_step, min_col + (j + 1) * col_step
            centre_r, centre_c = (top + bottom) / 2, (left + right) / 2
            best, best_dist = None, None
            for r, c, index in positions:
                if top <= r < bottom and left <= c < right:
                    dist = (r - centre_r) ** 2 + (c - centre_c) ** 2
                    if best_dist is None or dist < best_dist:
                        best, best_dist = index, dist
            if best is not None:
                sampled.append(best)
            if len(sampled) >= cap:
                return sampled
    return sampled


def _fallback(token_grid, tiled, cols, rows, tile_size, tokens_per_side, rule):
    per_tile = tokens_per_side * tokens_per_side
    if rule == RELEASE:
        ys, xs = np.where(token_grid)
        if len(ys) == 0:
            return [0]
        centre_row, centre_col = int(ys.mean()), int(xs.mean())
    else:
        ys, xs = np.where(tiled)
        if len(ys) == 0:
            return [0]
        cell = tile_size // tokens_per_side
        centre_row, centre_col = int(ys.mean()) // cell, int(xs.mean()) // cell
    tile_row, local_row = divmod(centre_row, tokens_per_side)
    tile_col, local_col = divmod(centre_col, tokens_per_side)
    tile = tile_row * cols + tile_col
    if tile >= cols * rows:
        return [0]
    return [tile * per_tile + local_row * tokens_per_side + local_col]


def _select(mask, cols, rows, tile_size, tokens_per_side, cap, rule):
    if cap < 1:
        raise ValueError(f"region cap {cap}: must be at least 1")
    mask = np.asarray(mask).astype(bool)
    if mask.ndim != 2 or mask.size == 0:
        raise ValueError(f"mask of shape {mask.shape}: expected a non-empty 2-D mask")
    token_grid, tiled = _token_grid(mask, cols, rows, tile_size, tokens_per_side, rule)
    positions = _tokens_in_order(token_grid, cols, rows, tokens_per_side)
    if len(positions) > cap:
        return spatial_uniform_sample(positions, token_grid, cap)
    if positions:
        return [index for _, _, index in positions]
    return _fallback(token_grid, tiled, cols, rows, tile_size, tokens_per_side, rule)


def select_region_tokens(mask, grid, tile_size=448, tokens_per_side=16, cap=8, rule=RELEASE):
    """Single image with dynamic tiles: global token indices into the tiles' concatenated blocks.
    `mask` is boolean H x W at the original image size; `grid` a preprocess.TileGrid."""
    return _select(mask, grid.cols, grid.rows, tile_size, tokens_per_side, cap, rule)


def select_region_tokens_frame(mask, tile_size=448, tokens_per_side=16, cap=8, rule=RELEASE):
    """One time-series frame (one tile, no thumbnail): indices within that frame's tokens."""
    return _select(mask, 1, 1, tile_size, tokens_per_side, cap, rule)
