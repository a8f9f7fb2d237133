"""Reference preprocessing and region selection (tools/terrascope_ref/{preprocess,regions}.py) against
the released code's outputs (shared/data/official_golden) and as behaviours."""

import json
import os
import sys
import unittest

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))

from terrascope_ref import preprocess, regions  # noqa: E402

SHARED = os.environ.get("TERRASCOPE_SHARED_DATA", os.path.join(HERE, "..", "..", "..", "shared", "data"))
GOLDEN = os.path.join(SHARED, "official_golden")
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def read_jsonl(name):
    with open(os.path.join(GOLDEN, name)) as f:
        return [json.loads(line) for line in f]


def mask_of(record):
    flat = np.zeros(record["width"] * record["height"], bool)
    for start, length in record["mask_runs"]:
        flat[start:start + length] = True
    return flat.reshape(record["height"], record["width"])


def landsat():
    from osgeo import gdal
    dataset = gdal.Open(os.path.join(SHARED, "rasterio_landsat", "RGB.byte.tif"))
    bands = [dataset.GetRasterBand(i + 1).ReadAsArray() for i in range(3)]
    return Image.fromarray(np.stack(bands, axis=-1), "RGB")


class TilingTest(unittest.TestCase):
    def test_official_golden_grids_for_all_sizes(self):
        records = read_jsonl("tiling.jsonl")
        self.assertEqual(len(records), 100)
        for r in records:
            grid = preprocess.choose_tile_grid(r["width"], r["height"], 448, 1, 12, True)
            size = (r["width"], r["height"])
            self.assertEqual((grid.cols, grid.rows), (r["cols"], r["rows"]), size)
            self.assertEqual(grid.resized_size(448), (r["resized_width"], r["resized_height"]), size)
            self.assertEqual(grid.cols * grid.rows, r["tiles"], size)  # golden counts the grid only
            self.assertEqual(grid.thumbnail, r["thumbnail"], size)

    def test_min_one_tile_never_needs_the_set_order(self):
        # Same-count grids never tie as best when min_tiles == 1 (the release): both orders agree.
        for max_tiles in range(1, 13):
            order = preprocess.candidate_grids(1, max_tiles)
            for width in range(1, 400, 7):
                for height in range(1, 400, 11):
                    aspect, area = width / height, width * height
                    best, best_diff = None, float("inf")
                    for cols, rows in sorted(order, key=lambda g: (g[0] * g[1], g[0])):
                        diff = abs(aspect - cols / rows)
                        if diff < best_diff or (diff == best_diff and area > 0.5 * 448 * 448 * cols * rows):
                            best, best_diff = (cols, rows), diff
                    grid = preprocess.choose_tile_grid(width, height, 448, 1, max_tiles)
                    self.assertEqual((grid.cols, grid.rows), best, (width, height, max_tiles))

    def test_tiles_are_row_major_crops_of_the_resized_image_then_the_thumbnail(self):
        image = landsat()
        grid = preprocess.choose_tile_grid(*image.size, 112)
        self.assertEqual((grid.cols, grid.rows, grid.thumbnail), (3, 3, True))
        tiles = preprocess.make_tiles(image, grid, 112)
        self.assertEqual(len(tiles), 10)
        resized = np.asarray(image.resize((336, 336), Image.Resampling.BICUBIC))
        np.testing.assert_array_equal(np.asarray(tiles[1]), resized[:112, 112:224])
        np.testing.assert_array_equal(np.asarray(tiles[5]), resized[112:224, 224:])
        thumbnail = np.asarray(image.resize((112, 112), Image.Resampling.BICUBIC))
        np.testing.assert_array_equal(np.asarray(tiles[-1]), thumbnail)

    def test_single_tile_has_no_thumbnail(self):
        grid = preprocess.choose_tile_grid(300, 280, 448)
        self.assertEqual(grid.tiles, 1)
        self.assertEqual(len(preprocess.make_tiles(Image.new("RGB", (300, 280)), grid, 448)), 1)

    def test_frame_tile_and_grounding_input_sizes(self):
        image = Image.new("RGB", (640, 200), (10, 20, 30))
        self.assertEqual(preprocess.make_frame_tile(image, 112).size, (112, 112))
        self.assertEqual(preprocess.make_grounding_input(image, 1024).size, (1024, 1024))

    def test_rejects_bad_sizes(self):
        with self.assertRaises(ValueError):
            preprocess.choose_tile_grid(0, 10)
        with self.assertRaises(ValueError):
            preprocess.choose_tile_grid(10, 10, 448, 3, 2)


class PixelTensorTest(unittest.TestCase):
    def test_tiles_tensor_is_channels_first_and_normalised(self):
        tile = Image.fromarray(np.array([[[0, 0, 0], [255, 0, 51]]], np.uint8), "RGB")
        tensor = preprocess.tiles_to_tensor([tile, tile], MEAN, STD)
        self.assertEqual(tuple(tensor.shape), (2, 3, 1, 2))
        self.assertEqual(tensor.dtype, torch.float32)
        expected = (np.float32(1.0) - np.float32(0.485)) / np.float32(0.229)
        self.assertEqual(tensor[0, 0, 0, 1].item(), float(expected))
        self.assertAlmostEqual(tensor[1, 2, 0, 1].item(), (0.2 - 0.406) / 0.225, places=5)

    def test_sam_input_is_resized_then_normalised(self):
        image = Image.new("RGB", (30, 20), (255, 255, 255))
        tensor = preprocess.sam_input_tensor(image, 64, MEAN, STD)
        self.assertEqual(tuple(tensor.shape), (1, 3, 64, 64))
        self.assertAlmostEqual(tensor[0, 1, 5, 5].item(), (1 - 0.456) / 0.224, places=5)

    def test_bf16_rounded_release_constants(self):
        self.assertEqual(preprocess.bf16_rounded([0.485, 0.229]), [0.484375, 0.228515625])


class RegionSelectTest(unittest.TestCase):
    def test_official_golden_tiled_indices_in_order(self):
        records = read_jsonl("regions_tiled.jsonl")
        self.assertEqual(len(records), 220)
        for r in records:
            grid = preprocess.choose_tile_grid(r["width"], r["height"], 448)
            self.assertEqual(grid.tiles, r["tiles"])
            got = regions.select_region_tokens(mask_of(r), grid, 448, 16, r["K"])
            self.assertEqual(got, r["indices"], (r["width"], r["height"], r["kind"], r["K"]))

    def test_official_golden_frame_indices_in_order(self):
        records = read_jsonl("regions_frames.jsonl")
        self.assertEqual(len(records), 132)
        for r in records:
            got = regions.select_region_tokens_frame(mask_of(r), 448, 16, r["K"])
            self.assertEqual(got, r["indices"], (r["width"], r["height"], r["kind"], r["K"]))

    def test_empty_mask_gives_token_zero(self):
        empty = np.zeros((500, 900), bool)
        grid = preprocess.choose_tile_grid(900, 500, 448)
        for rule, cap in ((regions.RELEASE, 8), (regions.PAPER, 128)):
            self.assertEqual(regions.select_region_tokens(empty, grid, 448, 16, cap, rule), [0])

    def test_one_pixel_vanishes_under_release_but_not_under_paper(self):
        mask = np.zeros((448, 448), bool)
        mask[100, 200] = True
        self.assertEqual(regions.select_region_tokens_frame(mask, 448, 16, 8), [0])
        self.assertEqual(regions.select_region_tokens_frame(mask, 448, 16, 128, regions.PAPER),
                         [(100 // 28) * 16 + 200 // 28])

    def test_paper_rule_needs_strictly_more_than_half_of_a_cell(self):
        mask = np.zeros((112, 112), bool)
        mask[28:42, 56:84] = True          # token (1, 2): exactly half
        mask[56:70, 28:56] = True          # token (2, 1): half ...
        mask[70, 28] = True                # ... plus one pixel
        self.assertEqual(regions.select_region_tokens_frame(mask, 112, 4, 128, regions.PAPER), [9])

    def test_more_than_k_cells_are_sampled_to_k(self):
        full = np.ones((448, 448), bool)
        got = regions.select_region_tokens_frame(full, 448, 16, 8)
        self.assertEqual(got, [3 * 16 + 3, 3 * 16 + 8, 3 * 16 + 13, 8 * 16 + 3, 8 * 16 + 8,
                               8 * 16 + 13, 13 * 16 + 3, 13 * 16 + 8])
        self.assertEqual(len(regions.select_region_tokens_frame(full, 448, 16, 128, regions.PAPER)),
                         128)

    def test_k_larger_than_cells_keeps_all_in_tile_order(self):
        mask = np.zeros((112, 224), bool)
        mask[:28, 84:168] = True
        grid = preprocess.choose_tile_grid(224, 112, 112)
        self.assertEqual(regions.select_region_tokens(mask, grid, 112, 4, 100), [3, 16, 17])

    def test_thumbnail_tokens_are_never_selected(self):
        grid = preprocess.choose_tile_grid(224, 112, 112)
        self.assertTrue(grid.thumbnail)
        for rule in (regions.RELEASE, regions.PAPER):
            got = regions.select_region_tokens(np.ones((112, 224), bool), grid, 112, 4, 1000, rule)
            self.assertEqual(got, list(range(32)))

    def test_rejects_bad_parameters(self):
        with self.assertRaises(ValueError):
            regions.select_region_tokens_frame(np.ones((4, 4), bool), 100, 16)
        with self.assertRaises(ValueError):
            regions.select_region_tokens_frame(np.ones((4, 4), bool), 448, 16, 0)
        with self.assertRaises(ValueError):
            regions.select_region_tokens_frame(np.ones((4, 4), bool), 448, 16, 8, "Paper")


if __name__ == "__main__":
    unittest.main()
