#!/usr/bin/env python3
"""Expected water area of the sen1floods11 hand label, computed independently of the C++ engine.

Usage: testdata_label_area.py OUTDIR   (writes OUTDIR/label_area.json; skips when up to date)

The label (EPSG:4326, value 1 = water, 0 = land, -1 = not labelled) is read with GDAL's Python
bindings. Each pixel is the cell between two meridians and two parallels on the WGS 84 ellipsoid;
its area is the integral of the ellipsoid's area element M(phi) N(phi) cos(phi) dphi dlambda,
evaluated here by 8-point Gauss-Legendre quadrature over the cell's latitude range (numerically
exact at this size), not by the closed-form authalic formula the C++ side uses. The C++ test
(tests/geo/mask_measure_test.cpp) compares its geodesic area with this number.
"""
import json
import math
import os
import sys

import numpy as np
from osgeo import gdal, osr

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_DATA = os.environ.get("TERRASCOPE_SHARED_DATA",
                             os.path.join(HERE, "..", "..", "shared", "data"))
LABEL = os.path.normpath(os.path.join(SHARED_DATA, "sen1floods11", "Spain_7370579_LabelHand.tif"))
OUTPUT_NAME = "label_area.json"


def area_element(phi, a, e2):
    """M(phi) * N(phi) * cos(phi): m^2 per radian of latitude per radian of longitude."""
    w = 1.0 - e2 * np.sin(phi) ** 2
    meridional = a * (1.0 - e2) / w ** 1.5
    prime_vertical = a / np.sqrt(w)
    return meridional * prime_vertical * np.cos(phi)


def cell_area(phi_a, phi_b, dlambda, a, e2):
    nodes, weights = np.polynomial.legendre.leggauss(8)
    lo, hi = min(phi_a, phi_b), max(phi_a, phi_b)
    half = (hi - lo) / 2.0
    mid = (hi + lo) / 2.0
    return abs(dlambda) * half * float(np.sum(weights * area_element(mid + half * nodes, a, e2)))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: testdata_label_area.py OUTDIR")
    out_path = os.path.join(sys.argv[1], OUTPUT_NAME)
    sources = [LABEL, os.path.abspath(__file__)]
    if os.path.exists(out_path) and all(
            os.path.getmtime(out_path) >= os.path.getmtime(s) for s in sources):
        return

    dataset = gdal.Open(LABEL)
    label = dataset.GetRasterBand(1).ReadAsArray()
    x0, dx, rx, y0, ry, dy = dataset.GetGeoTransform()
    assert rx == 0 and ry == 0, "the label grid is expected north-up"
    srs = osr.SpatialReference(wkt=dataset.GetProjection())
    assert srs.IsGeographic()
    a = srs.GetSemiMajor()
    f = 1.0 / srs.GetInvFlattening()
    e2 = f * (2.0 - f)
    degree = math.pi / 180.0

    water = label == 1
    labelled = label != -1
    area = 0.0
    for row in range(label.shape[0]):
        count = int(np.count_nonzero(water[row]))
        if count:
            phi_top = (y0 + row * dy) * degree
            phi_bottom = (y0 + (row + 1) * dy) * degree
            area += count * cell_area(phi_top, phi_bottom, dx * degree, a, e2)

    result = {
        "label": LABEL,
        "water_pixels": int(np.count_nonzero(water)),
        "labelled_pixels": int(np.count_nonzero(labelled)),
        "water_area_m2": area,
        "method": "sum over water pixels (value 1) of the WGS 84 ellipsoidal area of each "
                  "lat/lon cell: integral of M(phi) N(phi) cos(phi) over the cell, 8-point "
                  "Gauss-Legendre in latitude, times the longitude width (numpy + GDAL Python)",
    }
    os.makedirs(sys.argv[1], exist_ok=True)
    tmp = out_path + ".tmp"
    with open(tmp, "w") as out:
        json.dump(result, out, indent=1)
    os.replace(tmp, out_path)


if __name__ == "__main__":
    main()
