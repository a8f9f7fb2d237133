#!/usr/bin/env python3
"""IoU of a predicted mask raster against a label raster, read with GDAL (independent of the
engine): the demo's check of terrascope-tiny's water mask against the sen1floods11 hand label.

    mask_iou.py MASK.tif LABEL.tif [--value 1] [--nodata -1] [--json]

MASK: band 1, 1 = inside (the engine's mask GeoTIFFs: 0/1, 255 outside the valid area).
LABEL: band 1, pixels equal to --value are the region; pixels equal to --nodata (and the mask's
255) are left out of both counts. Both rasters must have the same size.
"""

import argparse
import json
import sys

import numpy as np
from osgeo import gdal


def read_band(path):
    ds = gdal.Open(path)
    if ds is None:
        raise SystemExit(f"{path}: not a raster GDAL can open")
    return ds.GetRasterBand(1).ReadAsArray()


def mask_iou(mask, label, value=1, nodata=-1):
    """(iou, intersection, union, valid pixels) over the pixels valid in both rasters."""
    valid = (label != nodata) & (mask != 255)
    pred = (mask == 1) & valid
    truth = (label == value) & valid
    inter = int((pred & truth).sum())
    union = int((pred | truth).sum())
    return (inter / union if union else 1.0), inter, union, int(valid.sum())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("mask")
    parser.add_argument("label")
    parser.add_argument("--value", type=int, default=1)
    parser.add_argument("--nodata", type=int, default=-1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    gdal.UseExceptions()
    mask, label = read_band(args.mask), read_band(args.label)
    if mask.shape != label.shape:
        print(f"{args.mask}: {mask.shape[1]}x{mask.shape[0]} pixels, label {args.label} is "
              f"{label.shape[1]}x{label.shape[0]}", file=sys.stderr)
        return 1
    iou, inter, union, valid = mask_iou(mask, label, args.value, args.nodata)
    if args.json:
        print(json.dumps({"iou": iou, "intersection": inter, "union": union, "valid": valid,
                          "predicted": int(((mask == 1) & (label != args.nodata)).sum()),
                          "labelled": int((label == args.value).sum())}))
    else:
        print(f"IoU {iou:.3f} (intersection {inter} px, union {union} px, {valid} valid px)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
