"""Sentinel-1-like VH/VV backscatter of a class map, as the engine's 8-bit SAR input.

Per-class mean backscatter (dB) follows the real sen1floods11 chip in ../shared/data (water VV
-17 / VH -25 dB, land VV -9 / VH -17 dB) and the usual C-band ordering: calm water darkest (specular
reflection), smooth roads dark, bare soil and fields in between, vegetation (volume scattering,
high VH), built-up brightest (double bounce on walls). Speckle is multiplicative gamma noise on
linear power with 4 looks (about the equivalent number of looks of IW GRD). The dB values are cut
to 8 bits with the raster layer's default SAR rule (docs/RASTERS.md: dB clip -25..0, truncated),
and the pseudo-RGB is the release's `[VH, VV, (VH + VV) / 2]` (SAR_RGB_Dataset._load_sar_as_rgb).
"""

import numpy as np

from . import scenes

# (VV, VH) mean backscatter in dB per class id.
_BACKSCATTER_DB = {
    scenes.WATER: (-19.0, -27.0),
    scenes.VEGETATION: (-7.5, -13.0),
    scenes.CROPLAND: (-10.0, -17.0),
    scenes.BARE_SOIL: (-12.0, -20.0),
    scenes.BUILT_UP: (-4.0, -11.0),
    scenes.ROAD: (-15.0, -23.0),
}
LOOKS = 4.0
DB_MIN, DB_MAX = -25.0, 0.0


def backscatter_db(rng, labels, parcels=None, buildings=None):
    """Noise-free (VV, VH) dB maps: class means, per-scene calibration offset, per-parcel
    variation of crops, a bright double-bounce on building footprints."""
    h, w = labels.shape
    vv = np.zeros((h, w))
    vh = np.zeros((h, w))
    for cls, (m_vv, m_vh) in _BACKSCATTER_DB.items():
        m = labels == cls
        vv[m], vh[m] = m_vv, m_vh
    offset = rng.normal(0.0, 1.0)
    texture = 1.5 * scenes.smooth_noise(rng, h, w, 4, octaves=2)
    vv += offset + texture
    vh += offset + texture
    if parcels is not None:
        crop = labels == scenes.CROPLAND
        if crop.any():
            ids, inv = np.unique(parcels[crop], return_inverse=True)
            delta = rng.normal(0.0, 2.0, len(ids))
            vv[crop] += delta[inv]
            vh[crop] += 1.3 * delta[inv]
    if buildings is not None:
        vv[buildings] += 6.0
        vh[buildings] += 4.0
    return vv, vh


def speckle_db(rng, db):
    """Multiplicative gamma speckle (mean 1) on linear power, back to dB."""
    power = 10.0 ** (db / 10.0) * rng.gamma(LOOKS, 1.0 / LOOKS, db.shape)
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def to_uint8(db):
    """docs/RASTERS.md dB rule: uint8((clip(x, -25, 0) + 25) / 25 * 255), truncated."""
    return ((np.clip(db, DB_MIN, DB_MAX) - DB_MIN) / (DB_MAX - DB_MIN) * 255.0).astype(np.uint8)


def pseudo_rgb(vh8, vv8):
    """Release SAR pseudo-RGB [VH, VV, (VH + VV) / 2] with the third channel truncated."""
    mean = ((vh8.astype(np.float32) + vv8.astype(np.float32)) / 2).astype(np.uint8)
    return np.stack([vh8, vv8, mean], axis=-1)


def render_sar(rng, labels, parcels=None, buildings=None):
    """8-bit pseudo-RGB HxWx3 (channel 0 = VH, channel 1 = VV)."""
    vv, vh = backscatter_db(rng, labels, parcels, buildings)
    vv8 = to_uint8(speckle_db(rng, vv))
    vh8 = to_uint8(speckle_db(rng, vh))
    return pseudo_rgb(vh8, vv8)
