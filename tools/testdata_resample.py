#!/usr/bin/env python3
"""Makes PIL reference outputs for the C++ preprocessing tests: OUTDIR/resample/.

Real 8-bit scenes from the shared data (read with GDAL) are resized with PIL 9.4 exactly as the
release does (BICUBIC for images, NEAREST for masks), cut into tiles and normalised by the Python
reference (tools/terrascope_ref/preprocess.py), and region tokens are selected by the Python reference
(tools/terrascope_ref/regions.py, itself checked against the official golden files) for the small
tile sizes of the test bundles and for the paper rule. The C++ tests compare against these files.

Files: `cases.json` (the list of cases) and `*.tsra` arrays, a format of ours:
    4 bytes  b"TSRA"
    1 byte   element type: b"u" uint8, b"f" float32 (little-endian)
    3 bytes  zero
    uint32   number of dimensions n (little-endian)
    n uint32 the dimensions, outermost first
    data     row-major (images: height x width x channels)
Usage: testdata_resample.py OUTDIR
"""

import hashlib
import json
import os
import struct
import sys

import numpy as np
from osgeo import gdal
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from terrascope_ref import preprocess, regions  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.environ.get("TERRASCOPE_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)

SCENES = {
    "landsat": "rasterio_landsat/RGB.byte.tif",            # 791 x 718
    "rsvqa102": "rsvqa_lr_subset/Images_LR/102.tif",       # 256 x 256
    "rsvqa543": "rsvqa_lr_subset/Images_LR/543.tif",       # 256 x 256
    "rotterdam": "spacenet_solaris/rgb_unmasked.tif",      # 200 x 200
}
MASK_FILE = "spacenet_solaris/sample_fp_mask.tif"           # 900 x 900 buildings, 0/255


def write_array(path, array):
    array = np.ascontiguousarray(array)
    code = {np.dtype(np.uint8): b"u", np.dtype(np.float32): b"f"}[array.dtype]
    with open(path, "wb") as f:
        f.write(b"TSRA" + code + b"\0\0\0")
        f.write(struct.pack("<I", array.ndim))
        f.write(struct.pack("<%dI" % array.ndim, *array.shape))
        f.write(array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes())


def read_raster(relative):
    dataset = gdal.Open(os.path.join(SHARED, relative))
    if dataset is None:
        raise SystemExit(f"{relative}: cannot open")
    bands = [dataset.GetRasterBand(i + 1).ReadAsArray() for i in range(dataset.RasterCount)]
    return np.stack(bands, axis=-1)


def mask_runs(mask):
    """Row-major runs [start, length] of true pixels (the official golden files' encoding)."""
    flat = np.concatenate([[False], mask.reshape(-1), [False]])
    edges = np.flatnonzero(flat[1:] != flat[:-1])
    return [[int(s), int(e - s)] for s, e in zip(edges[0::2], edges[1::2])]


def stamp_of_inputs():
    digest = hashlib.sha256()
    for path in [__file__, preprocess.__file__, regions.__file__]:
        with open(path, "rb") as f:
            digest.update(f.read())
    for relative in list(SCENES.values()) + [MASK_FILE]:
        digest.update(f"{relative}:{os.path.getsize(os.path.join(SHARED, relative))}".encode())
    return digest.hexdigest()


class CaseWriter:
    def __init__(self, outdir):
        self.outdir = outdir
        self.cases = []

    def array(self, name, array):
        write_array(os.path.join(self.outdir, name), array)
        return name

    def resize(self, kind, name, source_name, image, width, height):
        method = preprocess.BICUBIC if kind == "bicubic" else preprocess.NEAREST
        output = np.asarray(image.resize((width, height), method))
        if output.ndim == 2:
            output = output[..., None]  # masks and bands are stored H x W x 1
        out_name = self.array(f"{name}_{kind}_{width}x{height}.tsra", output)
        self.cases.append({"kind": kind, "name": f"{name} -> {width}x{height}",
                           "input": source_name, "output": out_name,
                           "width": width, "height": height})


def bicubic_cases(writer, scenes):
    for name, pixels in scenes.items():
        h, w = pixels.shape[:2]
        source = writer.array(f"{name}.tsra", pixels)
        image = Image.fromarray(pixels, "RGB")
        grid = preprocess.choose_tile_grid(w, h, 448)
        sizes = {(448, 448), (1024, 1024), grid.resized_size(448), (224, 224),
                 (w * 5 // 2, h * 5 // 2),            # upscale 2.5x
                 (w // 3, h * 2),                     # down in x, up in y
                 (w, 448), (448, h),                  # one pass only
                 (w // 7 + 1, h // 11 + 1), (17, 15), (1, 1), (1, 9), (13, 7)}
        for width, height in sorted(sizes):
            writer.resize("bicubic", name, source, image, width, height)


def nearest_cases(writer, scenes):
    buildings = read_raster(MASK_FILE)[..., 0]
    binary = (buildings > 127).astype(np.uint8)
    sources = {"buildings01": binary, "buildings255": binary * 255,
               "landsat_red": scenes["landsat"][..., 0], "rotterdam_green": scenes["rotterdam"][..., 1]}
    for name, pixels in sources.items():
        h, w = pixels.shape
        source = writer.array(f"{name}.tsra", pixels[..., None])
        image = Image.fromarray(pixels, "L")
        sizes = {(448, 448), (896, 896), (1344, 896), (5376, 448), (448, 5376), (16, 16), (32, 32),
                 (64, 48), (w * 7, h * 3) if w < 300 else (w * 2, h * 3), (w // 3, h // 7), (1, 1),
                 (3, 1000), (1000, 3)}
        for width, height in sorted(sizes):
            writer.resize("nearest", name, source, image, width, height)


def tile_cases(writer, scenes):
    for name, tile_size in [("landsat", 448), ("landsat", 112), ("rsvqa102", 448), ("rotterdam", 56)]:
        pixels = scenes[name]
        h, w = pixels.shape[:2]
        image = Image.fromarray(pixels, "RGB")
        grid = preprocess.choose_tile_grid(w, h, tile_size)
        tiles = preprocess.make_tiles(image, grid, tile_size)
        stacked = np.stack([np.asarray(t) for t in tiles])
        out_name = writer.array(f"{name}_tiles{tile_size}.tsra", stacked)
        tensor_name = writer.array(f"{name}_tiles{tile_size}_tensor.tsra",
                                   preprocess.tiles_to_tensor(tiles, MEAN, STD).numpy())
        writer.cases.append({"kind": "tiles", "name": f"{name} tiles of {tile_size}",
                             "input": f"{name}.tsra", "tile_size": tile_size,
                             "cols": grid.cols, "rows": grid.rows, "thumbnail": grid.thumbnail,
                             "output": out_name, "tensor": tensor_name, "mean": MEAN, "std": STD})
    for name, size, mean, std in [("rotterdam", 1024, MEAN, STD),
                                  ("rsvqa543", 320, preprocess.bf16_rounded(MEAN),
                                   preprocess.bf16_rounded(STD))]:
        image = Image.fromarray(scenes[name], "RGB")
        tensor = preprocess.sam_input_tensor(image, size, mean, std).numpy()
        out_name = writer.array(f"{name}_sam{size}_tensor.tsra", tensor)
        writer.cases.append({"kind": "sam_input", "name": f"{name} grounding input {size}",
                             "input": f"{name}.tsra", "size": size, "mean": list(mean),
                             "std": list(std), "tensor": out_name})


def region_masks(scenes):
    """(name, mask) pairs: real footprints and thresholded scenes at several sizes, plus edge cases."""
    buildings = read_raster(MASK_FILE)[..., 0] > 127
    landsat = scenes["landsat"]
    masks = [("buildings", buildings),
             ("buildings_strip", buildings[300:420, :]),
             ("buildings_corner", buildings[:150, :90]),
             ("landsat_bright", landsat[..., 0] > 120),
             ("landsat_dark_small", landsat[::5, ::3, 2] < 40),
             ("rotterdam_red", scenes["rotterdam"][..., 0] > 180)]
    empty = np.zeros((300, 500), bool)
    one = empty.copy()
    one[123, 321] = True
    line = empty.copy()
    line[:, 250] = True
    full = np.ones((77, 640), bool)
    masks += [("empty", empty), ("one_pixel", one), ("vertical_line", line), ("full_wide", full)]
    return masks


def region_cases(outdir, scenes):
    records = []
    for name, mask in region_masks(scenes):
        h, w = mask.shape
        runs = mask_runs(mask)
        for tile_size, tokens in [(112, 4), (448, 16), (56, 2)]:
            grid = preprocess.choose_tile_grid(w, h, tile_size)
            for rule in (regions.RELEASE, regions.PAPER):
                for cap in (3, 8, 128):
                    base = {"name": name, "width": w, "height": h, "tile_size": tile_size,
                            "tokens_per_side": tokens, "rule": rule, "K": cap, "mask_runs": runs}
                    tiled = regions.select_region_tokens(mask, grid, tile_size, tokens, cap, rule)
                    records.append(dict(base, path="tiled", cols=grid.cols, rows=grid.rows,
                                        thumbnail=grid.thumbnail, indices=tiled))
                    frame = regions.select_region_tokens_frame(mask, tile_size, tokens, cap, rule)
                    records.append(dict(base, path="frame", indices=frame))
    with open(os.path.join(outdir, "regions.jsonl"), "w") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


def main():
    if len(sys.argv) != 2:
        raise SystemExit("usage: testdata_resample.py OUTDIR")
    outdir = os.path.join(sys.argv[1], "resample")
    os.makedirs(outdir, exist_ok=True)
    stamp_path = os.path.join(outdir, "STAMP")
    stamp = stamp_of_inputs()
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp:
        print("testdata_resample: up to date")
        return
    scenes = {name: read_raster(path) for name, path in SCENES.items()}
    for name, pixels in scenes.items():
        if pixels.dtype != np.uint8 or pixels.shape[2] != 3:
            raise SystemExit(f"{SCENES[name]}: expected 3 bands of 8 bits")
    writer = CaseWriter(outdir)
    bicubic_cases(writer, scenes)
    nearest_cases(writer, scenes)
    tile_cases(writer, scenes)
    with open(os.path.join(outdir, "cases.json"), "w") as f:
        json.dump(writer.cases, f, indent=1)
    region_cases(outdir, scenes)
    with open(stamp_path, "w") as f:
        f.write(stamp)
    print(f"testdata_resample: {len(writer.cases)} cases in {outdir}")


if __name__ == "__main__":
    main()
