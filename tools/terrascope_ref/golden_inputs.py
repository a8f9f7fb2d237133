"""The fixed real inputs of the golden files, made deterministically from ../shared/data (GDAL).

- landsat: `rasterio_landsat/RGB.byte.tif` (8-bit RGB), the window x 250..550, y 200..380
  (300 x 180, inside the nodata collar): non-square, so the tiny bundle's 112 px tiling gives a 3x2
  grid + thumbnail.
- rotterdam optical + SAR: `spacenet_solaris/rgb_unmasked.tif` (8-bit RGB, 200 x 200) and
  `sar_masked.tif` (4 bands of intensity in dB, SpaceNet 6 order HH, HV, VH, VV) on the same grid.
  SAR to 8 bits: clip dB to [-25, 0], `round((db + 25) / 25 * 255)`; NaN -> 0. Pseudo-RGB as the
  release's training set (`SAR_RGB_Dataset._load_sar_as_rgb`): [VH, VV, uint8((VH + VV) / 2)]
  (float mean, truncated).
- marburg 2001/2013: `debian_r_satellite` Landsat 7 (B3, B2, B1) and Landsat 8 (B4, B3, B2), 41 x 41
  Int16 on one grid; each band stretched linearly from its own min..max to 0..255 (rounded), the
  time series [2001, 2013].

Raw image files (`.rgb`): uint32 LE width, uint32 LE height, then width*height*3 bytes RGB,
row-major.
Raw mask files (`.mask`): uint32 LE width, uint32 LE height, then width*height bytes 0/1.
"""
import os
import struct

import numpy as np
from PIL import Image

SHARED_DATA = os.environ.get("TERRASCOPE_SHARED_DATA", "/work/shared/data")


def _gdal():
    from osgeo import gdal
    gdal.UseExceptions()
    return gdal


def read_bands(path, bands, window=None):
    ds = _gdal().Open(path)
    if ds is None:
        raise FileNotFoundError(f"{path}: can not open")
    out = []
    for b in bands:
        band = ds.GetRasterBand(b)
        if window:
            x, y, w, h = window
            out.append(band.ReadAsArray(x, y, w, h))
        else:
            out.append(band.ReadAsArray())
    return np.stack(out, axis=-1)


def landsat_crop():
    rgb = read_bands(os.path.join(SHARED_DATA, "rasterio_landsat", "RGB.byte.tif"), (1, 2, 3),
                     (250, 200, 300, 180))
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def sar_db_to_8bit(db):
    db = np.nan_to_num(np.asarray(db, dtype=np.float64), nan=-25.0)
    return np.round((np.clip(db, -25.0, 0.0) + 25.0) / 25.0 * 255.0).astype(np.uint8)


def rotterdam_pair():
    folder = os.path.join(SHARED_DATA, "spacenet_solaris")
    optical = read_bands(os.path.join(folder, "rgb_unmasked.tif"), (1, 2, 3)).astype(np.uint8)
    sar = read_bands(os.path.join(folder, "sar_masked.tif"), (3, 4))
    vh, vv = sar_db_to_8bit(sar[..., 0]), sar_db_to_8bit(sar[..., 1])
    avg = ((vh.astype(np.float32) + vv.astype(np.float32)) / 2).astype(np.uint8)
    pseudo = np.stack([vh, vv, avg], axis=-1)
    return Image.fromarray(optical, "RGB"), Image.fromarray(pseudo, "RGB")


def _stretch(band):
    band = band.astype(np.float64)
    lo, hi = band.min(), band.max()
    if hi <= lo:
        return np.zeros(band.shape, dtype=np.uint8)
    return np.round((band - lo) / (hi - lo) * 255.0).astype(np.uint8)


def marburg_series():
    folder = os.path.join(SHARED_DATA, "debian_r_satellite")
    frames = []
    for prefix, bands in (("LE07_L1TP_195025_20010730_20170204_01_T1", (3, 2, 1)),
                          ("LC08_L1TP_195025_20130707_20170503_01_T1", (4, 3, 2))):
        chans = [_stretch(read_bands(os.path.join(folder, f"{prefix}_B{b}.TIF"), (1,))[..., 0])
                 for b in bands]
        frames.append(Image.fromarray(np.stack(chans, axis=-1), "RGB"))
    return frames


def write_rgb(path, image):
    image = image.convert("RGB")
    w, h = image.size
    with open(path, "wb") as f:
        f.write(struct.pack("<II", w, h))
        f.write(np.asarray(image, dtype=np.uint8).tobytes())


def read_rgb(path):
    with open(path, "rb") as f:
        data = f.read()
    w, h = struct.unpack("<II", data[:8])
    if len(data) != 8 + w * h * 3:
        raise ValueError(f"{path}: {len(data)} bytes for a {w}x{h} RGB image")
    return Image.fromarray(np.frombuffer(data[8:], dtype=np.uint8).reshape(h, w, 3), "RGB")


def write_mask(path, mask):
    mask = np.asarray(mask, dtype=bool)
    h, w = mask.shape
    with open(path, "wb") as f:
        f.write(struct.pack("<II", w, h))
        f.write(mask.astype(np.uint8).tobytes())


def read_mask(path):
    with open(path, "rb") as f:
        data = f.read()
    w, h = struct.unpack("<II", data[:8])
    if len(data) != 8 + w * h:
        raise ValueError(f"{path}: {len(data)} bytes for a {w}x{h} mask")
    return np.frombuffer(data[8:], dtype=np.uint8).reshape(h, w).astype(bool)


def write_logits(path, rows):
    """uint32 n, uint32 V, then n*V float32 LE."""
    n = len(rows)
    v = int(rows[0].numel()) if n else 0
    with open(path, "wb") as f:
        f.write(struct.pack("<II", n, v))
        for row in rows:
            f.write(np.asarray(row.float().reshape(-1).numpy(), dtype="<f4").tobytes())


def read_logits(path):
    with open(path, "rb") as f:
        data = f.read()
    n, v = struct.unpack("<II", data[:8])
    if len(data) != 8 + n * v * 4:
        raise ValueError(f"{path}: {len(data)} bytes for {n}x{v} float32 logits")
    return np.frombuffer(data[8:], dtype="<f4").reshape(n, v)
