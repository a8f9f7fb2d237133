#!/usr/bin/env python3
"""Score a TerraScope checkpoint or bundle on the held-out synthetic bench with the Python
reference loop (tools/terrascope_ref/loop.py), greedy decoding, release policies.

    eval_tiny.py --bench DIR/bench.jsonl (--checkpoint DIR | --bundle DIR) [--limit N]
                 [--no-regions] [--ablation] [--json OUT]

Prints per-task accuracy (letter rule of TerraScope-Bench: the first standalone letter matching
\\b[A-D]\\b in the answer; the text between <answer> and </answer> when the model wrote one, the
whole output otherwise; unparsable = wrong), the mean mask IoU over every ground-truth mask of
the reasoning ([SEG] i against ground-truth mask i on its frame; a missing [SEG] counts IoU 0),
and, with --ablation, the same with region injection disabled (no <REGION> rows fed after a
[SEG]: the loop goes on from the [SEG] step's own logits).
"""

import argparse
import json
import os
import re
import sys
import time

import numpy as np
import torch
from osgeo import gdal
from PIL import Image

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from synth import records  # noqa: E402
from terrascope_ref import loop  # noqa: E402

gdal.UseExceptions()
LETTER = re.compile(r"\b[A-D]\b")
ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S)
TASKS = ("CA", "AQ", "CR", "BRD", "DM", "BCE", "SEG")
STOP_TOKENS = ["<|im_end|>", "<|endoftext|>", "<|end|>"]


def read_rgb(path):
    ds = gdal.Open(path)
    bands = [ds.GetRasterBand(i + 1).ReadAsArray() for i in range(3)]
    return Image.fromarray(np.stack(bands, -1).astype(np.uint8))


def read_sar(path):
    """2-band VH, VV Byte GeoTIFF -> pseudo-RGB [VH, VV, (VH+VV)/2] (third channel truncated)."""
    ds = gdal.Open(path)
    vh = ds.GetRasterBand(1).ReadAsArray().astype(np.int32)
    vv = ds.GetRasterBand(2).ReadAsArray().astype(np.int32)
    return Image.fromarray(np.stack([vh, vv, (vh + vv) // 2], -1).astype(np.uint8))


def answer_letter(text):
    m = ANSWER.search(text)
    scope = m.group(1) if m else text
    found = LETTER.search(scope)
    return found.group(0) if found else None


def load(args):
    if args.bundle:
        from terrascope_ref.bundle import Bundle
        b = Bundle(args.bundle)
        return b, b.spec(), b.tokenizer, b.token_ids()
    from terrascope_ref.model import TerraScope, TerraScopeConfig
    from terrascope_ref.safetensors_io import load_file
    from terrascope_ref.tokenizer import Tokenizer
    with open(os.path.join(args.checkpoint, "config.json"), encoding="utf-8") as f:
        cfg = TerraScopeConfig.from_checkpoint_config(json.load(f))
    model = TerraScope(cfg)
    model.load_state_dict(load_file(os.path.join(args.checkpoint, "model.safetensors")))
    model.eval()
    tok = Tokenizer.from_file(os.path.join(args.checkpoint, "tokenizer.json"))
    cache_len = 1024
    modules = loop.EagerModules(model, cache_len)
    spec = loop.ModelSpec(tile_size=cfg.tile_size, tokens_per_tile=cfg.tokens_per_tile,
                          cache_shape=model.language_model.cache_shape(cache_len),
                          sam_image_size=cfg.sam_config().image_size)
    ids = {"img_context": tok.token_to_id("<IMG_CONTEXT>"), "seg": tok.token_to_id("[SEG]"),
           "region": tok.token_to_id("<REGION>"),
           "stop": [tok.token_to_id(t) for t in STOP_TOKENS]}
    return modules, spec, tok, ids


def mask_iou(pred, gt):
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def evaluate(modules, spec, tok, ids, bench_path, limit=0, no_regions=False, max_new_tokens=160,
             verbose=False):
    base = os.path.dirname(os.path.abspath(bench_path))
    with open(bench_path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    if limit:
        rows = rows[:limit]
    per_task = {t: [0, 0] for t in TASKS}
    ious = []
    for row in rows:
        if row["frames"]:
            images = [read_rgb(os.path.join(base, p)) for p in row["frames"]]
            sar = None
        else:
            images = [read_rgb(os.path.join(base, row["image"]))]
            sar = read_sar(os.path.join(base, row["sar"])) if row["sar"] else None
        options = {chr(ord("A") + i): c for i, c in enumerate(row["candidates"])}
        with torch.no_grad():
            res = loop.run(modules, spec, tok, ids, images, row["question"], options=options,
                           sar=sar, max_new_tokens=max_new_tokens,
                           inject_regions=not no_regions)
        task = row["task_type"]
        if row["answer"] is not None:
            per_task[task][1] += 1
            per_task[task][0] += int(answer_letter(res.text) == row["answer"])
        for i, rle in enumerate(row["gt_masks"]):
            gt = records.rle_decode(rle)
            if i < len(res.segs):
                frame = rle.get("frame", 0)
                ious.append(mask_iou(res.segs[i].masks[frame], gt))
            else:
                ious.append(0.0)
        if verbose:
            print(row["id"], row["answer"], repr(res.text[:200]))
    return per_task, ious


def table(per_task, ious):
    acc = {t: (c / n if n else None) for t, (c, n) in per_task.items()}
    return {"accuracy": acc, "n": {t: n for t, (_, n) in per_task.items()},
            "mean_iou": float(np.mean(ious)) if ious else None, "masks": len(ious)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", required=True)
    parser.add_argument("--checkpoint")
    parser.add_argument("--bundle")
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--no-regions", action="store_true")
    parser.add_argument("--ablation", action="store_true", help="also run without regions")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args(argv)
    if bool(args.checkpoint) == bool(args.bundle):
        parser.error("give exactly one of --checkpoint and --bundle")
    torch.set_num_threads(args.threads)
    modules, spec, tok, ids = load(args)
    runs = [("regions", False)] if not args.no_regions else []
    if args.no_regions or args.ablation:
        runs.append(("no_regions", True))
    out = {}
    for name, off in runs:
        t0 = time.time()
        out[name] = table(*evaluate(modules, spec, tok, ids, args.bench, args.limit, off,
                                    verbose=args.verbose))
        out[name]["seconds"] = round(time.time() - t0, 1)
    print("| run | " + " | ".join(TASKS[:-1]) + " | mean IoU |")
    print("|---|" + "---|" * (len(TASKS)))
    for name, r in out.items():
        cells = ["%.1f%% (n=%d)" % (100 * r["accuracy"][t], r["n"][t])
                 if r["accuracy"][t] is not None else "-" for t in TASKS[:-1]]
        print(f"| {name} | " + " | ".join(cells) + " | %.3f (%d masks) |" % (r["mean_iou"],
                                                                           r["masks"]))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
