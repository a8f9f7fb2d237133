#!/usr/bin/env python3
"""Test data: a small bench in the repository's bench format over REAL rasters (run by
scripts/make_testdata.sh).

    testdata_realbench.py OUTDIR

writes OUTDIR/realbench/bench.jsonl (format: docs/SYNTH.md) whose answers are computed from the
rasters' own labels in ../shared/data (read in place, never copied):

- sen1floods11 (Spain chip, EPSG:4326): the share of water among the labelled pixels of the
  hand-labelled LabelHand mask (-1 = not labelled), asked on the Sentinel-2 true-colour bands (a VRT
  selecting B4,B3,B2 of S2Hand.tif) and on the optical + Sentinel-1 pair; which of water and dry
  land covers more; ground truth mask = the water pixels.
- spacenet_solaris (Atlanta, EPSG:32616, 0.5 m): share and area (m^2) of building footprints from
  sample_fp_mask.tif (same 900x900 grid), the number of footprints in geotiff_labels.geojson;
  ground truth mask = the footprints.
- rsvqa_lr_subset: real RSVQA-LR presence / rural-urban questions of the test images with their
  real answers, as two-option questions (no masks).

Options are the true value and distractors at fixed offsets; the correct letter cycles through the
positions so that a constant answer cannot score well. Also writes OUTDIR/realbench/scenes.txt and
questions.jsonl (a batch over the same rasters). A stamp of this file's sha256 skips work that is
up to date.
"""
import hashlib
import json
import os
import sys

import numpy as np
from osgeo import gdal

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)
from synth.records import rle_encode  # noqa: E402  (COCO RLE, pycocotools' format)

gdal.UseExceptions()
SHARED = os.environ.get("TERRASCOPE_SHARED_DATA") or os.path.normpath(
    os.path.join(TOOLS, "..", "..", "shared", "data"))


def read_band(path, band=1):
    ds = gdal.Open(path)
    return ds.GetRasterBand(band).ReadAsArray()


def lettered(values, correct_index, slot):
    """Options (texts) with the correct one moved to position `slot`; returns (options, letter)."""
    values = list(values)
    correct = values.pop(correct_index)
    slot = slot % (len(values) + 1)
    values.insert(slot, correct)
    return values, "ABCD"[slot]


def percent_options(share, slot):
    """Four percentages: the true share (rounded) and three others at least 10 points away."""
    true = int(round(100 * share))
    others = []
    for offset in (20, -20, 40, -40, 60, -60, 10, -10):
        v = true + offset
        if 0 <= v <= 100 and v not in others and len(others) < 3:
            others.append(v)
    return lettered(["%d%%" % v for v in [true] + others], 0, slot)


def count_options(count, slot):
    others = [v for v in (count * 2, count // 2, count + 15, max(0, count - 15)) if v != count]
    others = sorted(set(others), key=lambda v: abs(v - count), reverse=True)[:3]
    return lettered([str(v) for v in [count] + others], 0, slot)


def area_options(area_m2, slot):
    true = int(round(area_m2))
    others = [int(round(area_m2 * f)) for f in (2.0, 0.5, 3.0)]
    return lettered(["%d m^2" % v for v in [true] + others], 0, slot)


def write_vrt_rgb(vrt_path, source, bands):
    """A VRT that selects `bands` of `source` (in place, by absolute path) as R, G, B."""
    gdal.Translate(vrt_path, source, format="VRT", bandList=list(bands))


def sen1floods11(out, samples, slot):
    root = os.path.join(SHARED, "sen1floods11")
    s2 = os.path.join(root, "Spain_7370579_S2Hand.tif")
    s1 = os.path.join(root, "Spain_7370579_S1Hand.tif")
    label = read_band(os.path.join(root, "Spain_7370579_LabelHand.tif")).astype(np.int32)
    rgb = os.path.join(out, "spain_s2_rgb.vrt")
    write_vrt_rgb(rgb, s2, (4, 3, 2))
    labelled = label >= 0
    water = label == 1
    share = float(water.sum()) / float(labelled.sum())
    gt = [rle_encode(water)]
    q = "What percentage of the labelled area of this scene is covered by water?"
    for sample_id, sar in (("s1f-ca-optical", None), ("s1f-ca-sar", s1)):
        options, letter = percent_options(share, slot[0])
        slot[0] += 1
        samples.append({"id": sample_id, "task_type": "CA", "image": os.path.basename(rgb),
                        "sar": sar, "frames": None, "question": q, "candidates": options,
                        "answer": letter, "gt_masks": gt,
                        "meta": {"water_share": share, "water_pixels": int(water.sum()),
                                 "labelled_pixels": int(labelled.sum())}})
    larger = "water" if water.sum() > (labelled & ~water).sum() else "dry land"
    options, letter = lettered([larger, "dry land" if larger == "water" else "water"], 0, slot[0])
    slot[0] += 1
    samples.append({"id": "s1f-cr", "task_type": "CR", "image": os.path.basename(rgb), "sar": None,
                    "frames": None,
                    "question": "Which covers more of the labelled area: water or dry land?",
                    "candidates": options, "answer": letter, "gt_masks": gt,
                    "meta": {"water_share": share}})
    return rgb


def spacenet(out, samples, slot):
    root = os.path.join(SHARED, "spacenet_solaris")
    image = os.path.join(root, "sample_geotiff.tif")
    footprints = read_band(os.path.join(root, "sample_fp_mask.tif")) > 0
    ds = gdal.Open(image)
    gt = ds.GetGeoTransform()
    pixel_area = abs(gt[1] * gt[5] - gt[2] * gt[4])  # EPSG:32616: metres
    with open(os.path.join(root, "geotiff_labels.geojson"), encoding="utf-8") as f:
        count = len(json.load(f)["features"])
    masks = [rle_encode(footprints)]
    share = float(footprints.mean())
    area = float(footprints.sum()) * pixel_area
    options, letter = percent_options(share, slot[0])
    slot[0] += 1
    samples.append({"id": "sn-ca", "task_type": "CA", "image": image, "sar": None, "frames": None,
                    "question": "What percentage of the image is covered by buildings?",
                    "candidates": options, "answer": letter, "gt_masks": masks,
                    "meta": {"building_share": share}})
    options, letter = area_options(area, slot[0])
    slot[0] += 1
    samples.append({"id": "sn-aq", "task_type": "AQ", "image": image, "sar": None, "frames": None,
                    "question": "What is the total area covered by buildings in this image?",
                    "candidates": options, "answer": letter, "gt_masks": masks,
                    "meta": {"building_area_m2": area, "pixel_area_m2": pixel_area}})
    options, letter = count_options(count, slot[0])
    slot[0] += 1
    samples.append({"id": "sn-count", "task_type": "COUNT", "image": image, "sar": None,
                    "frames": None, "question": "How many buildings are in this image?",
                    "candidates": options, "answer": letter, "gt_masks": masks,
                    "meta": {"footprints": count}})
    return image


def rsvqa(samples, slot, per_image=2):
    root = os.path.join(SHARED, "rsvqa_lr_subset")

    def load(name, key):
        with open(os.path.join(root, "LR_split_test_%s.json" % name), encoding="utf-8") as f:
            return [r for r in json.load(f)[key] if r.get("active")]

    answers = {a["question_id"]: a["answer"] for a in load("answers", "answers")}
    images = []
    taken = {}
    for q in load("questions", "questions"):
        if q["type"] not in ("presence", "rural_urban"):
            continue
        img = q["img_id"]
        if taken.get(img, 0) >= per_image:
            continue
        answer = answers[q["id"]]
        pair = ["yes", "no"] if q["type"] == "presence" else ["rural", "urban"]
        if answer not in pair:
            continue
        taken[img] = taken.get(img, 0) + 1
        options, letter = lettered(pair, pair.index(answer), slot[0])
        slot[0] += 1
        image = os.path.join(root, "Images_LR", "%d.tif" % img)
        if image not in images:
            images.append(image)
        samples.append({"id": "rsvqa-%d" % q["id"], "task_type": "RSVQA", "image": image,
                        "sar": None, "frames": None, "question": q["question"].strip(),
                        "candidates": options, "answer": letter, "gt_masks": [],
                        "meta": {"rsvqa_type": q["type"], "rsvqa_answer": answer}})
    return images


def stamp():
    with open(os.path.abspath(__file__), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    return digest + " " + os.path.abspath(SHARED)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: testdata_realbench.py OUTDIR", file=sys.stderr)
        return 2
    out = os.path.join(argv[0], "realbench")
    stamp_path = os.path.join(out, "stamp")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp():
        return 0
    os.makedirs(out, exist_ok=True)
    samples = []
    slot = [0]
    scenes = [sen1floods11(out, samples, slot), spacenet(out, samples, slot)]
    scenes += rsvqa(samples, slot)
    tmp = os.path.join(out, "bench.jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for s in samples:
            f.write(json.dumps(s) + "\n")
    os.replace(tmp, os.path.join(out, "bench.jsonl"))
    with open(os.path.join(out, "scenes.txt"), "w", encoding="utf-8") as f:
        f.write("# real scenes of the bench, for terrascope batch --inputs\n")
        for path in scenes:
            rel = os.path.relpath(path, out)
            if rel.startswith(".."):  # a shared raster, named by its folder and file
                scene_id = "/".join(os.path.relpath(path, SHARED).split(os.sep)[-2:])
                f.write(json.dumps({"id": scene_id, "image": rel}) + "\n")
            else:
                f.write(rel + "\n")
    with open(os.path.join(out, "questions.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"id": "water", "question": "Where is the water in this scene?"}) + "\n")
        f.write(json.dumps({"id": "cover", "question": "What share of the scene is built up?",
                            "options": ["0-10%", "10-30%", "30-60%", "60-100%"]}) + "\n")
    with open(stamp_path, "w") as f:
        f.write(stamp())
    tasks = {}
    for s in samples:
        tasks[s["task_type"]] = tasks.get(s["task_type"], 0) + 1
    print("testdata_realbench: %d samples in %s: %s" % (len(samples), out, json.dumps(tasks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
