#!/usr/bin/env python3
"""Writes the held-out synthetic bench: GeoTIFFs and bench.jsonl (docs/SYNTH.md).

Sample i uses seed S+i (the bench seeds; training uses seeds >= 1,000,000), task i mod 7, for the
single-image tasks optical and optical+SAR in turn, and a correct letter cycling through the
options (records.bench_plan); BCE samples are pre/post series. Images
are 3-band Byte GeoTIFFs, SAR images 2-band Byte GeoTIFFs with bands described VH and VV (the
raster layer's SAR band rule), all DEFLATE-compressed, in the scene's UTM CRS with 10 m pixels.
Also writes terra_cot.jsonl (the same samples as Terra-CoT training records) and summary.json.

Usage: make_synth_bench.py --out DIR [--n 300] [--seed 0] [--size 128]
"""

import argparse
import collections
import json
import os
import sys
import time

from osgeo import gdal, osr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from synth import records  # noqa: E402

gdal.UseExceptions()


def write_geotiff(path, bands, geotransform, epsg, descriptions=None):
    """Byte GeoTIFF from a list of HxW uint8 arrays."""
    h, w = bands[0].shape
    driver = gdal.GetDriverByName("GTiff")
    tmp = path + ".tmp"
    ds = driver.Create(tmp, w, h, len(bands), gdal.GDT_Byte, options=["COMPRESS=DEFLATE"])
    ds.SetGeoTransform(geotransform)
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(int(epsg))
    ds.SetProjection(srs.ExportToWkt())
    for i, band in enumerate(bands):
        b = ds.GetRasterBand(i + 1)
        b.WriteArray(band)
        if descriptions:
            b.SetDescription(descriptions[i])
    if len(bands) == 3:
        for i, ci in enumerate((gdal.GCI_RedBand, gdal.GCI_GreenBand, gdal.GCI_BlueBand)):
            ds.GetRasterBand(i + 1).SetColorInterpretation(ci)
    ds.FlushCache()
    ds = None
    os.replace(tmp, path)


def write_rgb(path, rgb, sample):
    write_geotiff(path, [rgb[..., c] for c in range(3)], sample["geotransform"], sample["epsg"])


def write_sar(path, pseudo_rgb, sample):
    """Channels 0 and 1 of the pseudo-RGB are VH and VV; the engine rebuilds the third."""
    write_geotiff(path, [pseudo_rgb[..., 0], pseudo_rgb[..., 1]], sample["geotransform"],
                  sample["epsg"], descriptions=["VH", "VV"])


def write_sample_files(out_dir, sample):
    """Rasters of one sample; returns (image, sar, frames) paths relative to out_dir."""
    sid = sample["id"]
    image = sar_path = frames = None
    if sample["frames"] is not None:
        frames = []
        for name, rgb in zip(("pre", "post"), sample["frames"]):
            rel = "frames/%s_%s.tif" % (sid, name)
            write_rgb(os.path.join(out_dir, rel), rgb, sample)
            frames.append(rel)
    else:
        image = "images/%s.tif" % sid
        write_rgb(os.path.join(out_dir, image), sample["optical"], sample)
        if sample["sar"] is not None:
            sar_path = "sar/%s.tif" % sid
            write_sar(os.path.join(out_dir, sar_path), sample["sar"], sample)
    return image, sar_path, frames


def write_jsonl(path, rows):
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="output folder (created)")
    ap.add_argument("--n", type=int, default=300, help="number of samples (default 300)")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--size", type=int, default=records.DEFAULT_SIZE,
                    help="scene side in pixels (default %d)" % records.DEFAULT_SIZE)
    args = ap.parse_args(argv)
    if args.n <= 0:
        ap.error("--n must be positive")
    if args.seed < 0 or args.seed + args.n > records.TRAIN_SEED_BASE:
        ap.error("bench seeds must lie in 0..%d (training seeds start there)"
                 % (records.TRAIN_SEED_BASE - 1))

    for sub in ("images", "sar", "frames"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    bench, cot = [], []
    per_task = collections.Counter()
    per_modality = collections.Counter()
    letters = collections.Counter()
    start = time.perf_counter()
    for seed, task, modality, slot in records.bench_plan(args.n, args.seed):
        sample = records.make_sample(seed, task, modality, size=args.size, answer_slot=slot)
        image, sar_path, frames = write_sample_files(args.out, sample)
        bench.append(records.bench_record(sample, image, sar_path, frames))
        cot.append(records.terra_cot_record(sample, image, sar_path, frames))
        per_task[task] += 1
        per_modality[sample["modality"]] += 1
        letters[sample["answer"] or "-"] += 1
    write_jsonl(os.path.join(args.out, "bench.jsonl"), bench)
    write_jsonl(os.path.join(args.out, "terra_cot.jsonl"), cot)
    summary = {"n": args.n, "first_seed": args.seed, "size": args.size,
               "tasks": dict(sorted(per_task.items())),
               "modalities": dict(sorted(per_modality.items())),
               "answer_letters": dict(sorted(letters.items()))}
    with open(os.path.join(args.out, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %d samples to %s in %.1f s: %s" % (args.n, args.out, time.perf_counter() - start,
                                                    json.dumps(summary["tasks"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
