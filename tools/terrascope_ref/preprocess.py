"""Reference image preprocessing of TerraScope: tile-grid choice, tiles, thumbnail, frame tiles, the
grounding (SAM-2) input, and their normalised tensors.

The released code (modeling_sa2va_chat.py: `dynamic_preprocess`, `find_closest_aspect_ratio`,
`DirectResize`, the `T.Resize/ToTensor/Normalize` transform) is the specification; every resize here is
the same PIL call the release makes (Pillow 9.4: `Image.resize` defaults to BICUBIC for RGB), so this
module is the oracle for the C++ resampler in src/model/image_ops.cpp.

Everything is parameterised by the tile size (release 448) so that tiny test bundles (e.g. 112) work.
"""

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

BICUBIC = Image.Resampling.BICUBIC
NEAREST = Image.Resampling.NEAREST


@dataclass(frozen=True)
class TileGrid:
    """cols x rows tiles of the resized image, plus one thumbnail tile when `thumbnail`."""
    cols: int = 1
    rows: int = 1
    thumbnail: bool = False

    @property
    def tiles(self):
        """Number of tiles fed to the vision encoder, thumbnail included."""
        return self.cols * self.rows + (1 if self.thumbnail else 0)

    def resized_size(self, tile_size):
        """(width, height) the image is resized to before it is cut."""
        return self.cols * tile_size, self.rows * tile_size


def candidate_grids(min_tiles, max_tiles):
    """The release's candidate (cols, rows) grids, ordered by tile count.

    As in the release, the candidates are a Python set sorted (stably) by cols*rows, so the order of
    grids with the same count is the set's iteration order. With min_tiles == 1 that order never
    decides the choice (no two same-count grids can tie as the best); it can for min_tiles > 1.
    """
    grids = {(cols, rows)
             for n in range(min_tiles, max_tiles + 1)
             for cols in range(1, n + 1)
             for rows in range(1, n + 1)
             if min_tiles <= cols * rows <= max_tiles}
    return sorted(grids, key=lambda grid: grid[0] * grid[1])


def choose_tile_grid(width, height, tile_size=448, min_tiles=1, max_tiles=12, use_thumbnail=True):
    """InternVL dynamic tiling: the grid whose aspect ratio is closest to the image's.

    A later candidate with an equal difference replaces the best when the image area exceeds half the
    candidate's pixel area (release `find_closest_aspect_ratio`). The thumbnail is added only when
    there is more than one tile.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size {width}x{height}: must be positive")
    if tile_size <= 0 or min_tiles < 1 or max_tiles < min_tiles:
        raise ValueError(f"tiling: bad parameters tile_size={tile_size} min={min_tiles} max={max_tiles}")
    aspect_ratio = width / height
    area = width * height
    best_diff = float("inf")
    best = (1, 1)
    for cols, rows in candidate_grids(min_tiles, max_tiles):
        diff = abs(aspect_ratio - cols / rows)
        if diff < best_diff:
            best_diff = diff
            best = (cols, rows)
        elif diff == best_diff and area > 0.5 * tile_size * tile_size * cols * rows:
            best = (cols, rows)
    cols, rows = best
    return TileGrid(cols, rows, use_thumbnail and cols * rows != 1)


def make_tiles(image, grid, tile_size=448):
    """Resize to the grid (bicubic), cut tiles row-major, append the thumbnail (bicubic, whole image)."""
    image = image.convert("RGB") if image.mode != "RGB" else image
    resized = image.resize(grid.resized_size(tile_size), BICUBIC)
    tiles = []
    for row in range(grid.rows):
        for col in range(grid.cols):
            box = (col * tile_size, row * tile_size, (col + 1) * tile_size, (row + 1) * tile_size)
            tiles.append(resized.crop(box))
    if grid.thumbnail:
        tiles.append(image.resize((tile_size, tile_size), BICUBIC))
    return tiles


def make_frame_tile(image, tile_size=448):
    """Single-tile mode (time-series frames, optical+SAR images): the whole image resized to one tile,
    as the release's `T.Resize((448, 448), BICUBIC)` does (PIL; a no-op at the tile size)."""
    image = image.convert("RGB") if image.mode != "RGB" else image
    return image.resize((tile_size, tile_size), BICUBIC)


def make_grounding_input(image, size=1024):
    """The SAM-2 input: the original image resized to size x size, aspect ratio not kept (release
    `DirectResize`, PIL default resample = BICUBIC)."""
    image = image.convert("RGB") if image.mode != "RGB" else image
    return image.resize((size, size), BICUBIC)


def _normalise(pixels_hwc, mean, std):
    # torchvision ToTensor (uint8 -> float32 / 255) then Normalize ((x - mean) / std, float32).
    tensor = torch.from_numpy(np.array(pixels_hwc, copy=True)).permute(2, 0, 1).to(torch.float32)
    tensor = tensor.div(255)
    mean_t = torch.as_tensor(mean, dtype=torch.float32)[:, None, None]
    std_t = torch.as_tensor(std, dtype=torch.float32)[:, None, None]
    return tensor.sub(mean_t).div(std_t)


def tiles_to_tensor(tiles, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
    """PIL tiles -> float32 [N, 3, T, T]: /255, then (x - mean) / std per channel."""
    return torch.stack([_normalise(np.asarray(tile.convert("RGB")), mean, std) for tile in tiles])


def sam_input_tensor(image, size=1024, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)):
    """The grounding input as float32 [1, 3, S, S]: resize to S x S, /255, (x - mean) / std.

    Release note: `SAM2.preprocess_image` builds its mean/std tensors in bfloat16 (its default dtype)
    and subtracts them from the float32 image, so the release effectively uses the bf16-rounded
    constants (0.484375, ...). Pass `bf16_rounded(mean)` / `bf16_rounded(std)` to reproduce that.
    """
    return _normalise(np.asarray(make_grounding_input(image, size)), mean, std).unsqueeze(0)


def bf16_rounded(values):
    """The values as bfloat16 would hold them (round to nearest even), back as Python floats."""
    return [float(v) for v in torch.tensor(values, dtype=torch.float32).to(torch.bfloat16).float()]
