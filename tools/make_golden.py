#!/usr/bin/env python3
"""Golden files of the reference loop on a bundle, for the C++ engine's parity tests.

    make_golden.py --bundle build/testdata/bundles/tiny-s0 --out build/testdata/golden/tiny-s0

The loop (terrascope_ref/loop.py) runs on the EXPORTED bundle (TorchScript modules), greedy, on the
fixed real inputs of terrascope_ref/golden_inputs.py. Format: docs/BUNDLE.md, "Golden files".
Every case must exercise the [SEG] path (at least 2 [SEG]s) and at least one case must stop on a
stop token before max_new_tokens; the script fails otherwise, so a changed tiny model can not
silently produce golden files that test less.
"""
import argparse
import json
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from terrascope_ref import golden_inputs as gi  # noqa: E402
from terrascope_ref import loop  # noqa: E402
from terrascope_ref.bundle import Bundle  # noqa: E402

MAX_NEW_TOKENS = 48
FORMAT_VERSION = 1

RELEASE = dict(loop.RELEASE_POLICIES)
PAPER_SINGLE = dict(RELEASE, region_cap=128, region_selection="paper")
SAR_ADAPTIVE = dict(RELEASE, sar_fusion="adaptive")
SERIES_INDICATOR = dict(RELEASE, frame_choice="indicator")

OPTIONS = {"A": "less than 10%", "B": "10% to 30%", "C": "30% to 60%", "D": "more than 60%"}

# name, mode, policies, question, options; max_new_tokens is MAX_NEW_TOKENS except where the paper's
# K = 128 feeds many <REGION> ids per [SEG] (they count in the output, as in the release).
MAX_NEW_TOKENS_BY_CASE = {"single_paper": 160}
CASES = [
    ("single_release", "single", RELEASE, "What share of the scene is covered by water?", OPTIONS),
    ("single_paper", "single", PAPER_SINGLE, "What share of the scene is covered by water?",
     OPTIONS),
    ("sar_release", "sar", RELEASE, "Which part of the scene is built up?", None),
    ("sar_adaptive", "sar", SAR_ADAPTIVE, "Which part of the scene is built up?", None),
    ("series_release", "series", RELEASE, "Where did the vegetation change between the dates?",
     {"A": "north", "B": "south"}),
    ("series_indicator", "series", SERIES_INDICATOR,
     "Where did the vegetation change between the dates?", {"A": "north", "B": "south"}),
]


def case_inputs(mode):
    if mode == "single":
        return [gi.landsat_crop()], None
    if mode == "sar":
        optical, sar = gi.rotterdam_pair()
        return [optical], sar
    return gi.marburg_series(), None


def run_case(bundle, name, mode, policies, question, options, out_dir):
    images, sar = case_inputs(mode)
    max_new_tokens = MAX_NEW_TOKENS_BY_CASE.get(name, MAX_NEW_TOKENS)
    result = loop.run(bundle, bundle.spec(), bundle.tokenizer, bundle.token_ids(), images,
                      question, options=options, sar=sar, policies=policies,
                      max_new_tokens=max_new_tokens)
    image_files = []
    for i, image in enumerate(images):
        fname = f"{name}_img{i}.rgb"
        gi.write_rgb(os.path.join(out_dir, fname), image)
        image_files.append(fname)
    sar_file = None
    if sar is not None:
        sar_file = f"{name}_sar.rgb"
        gi.write_rgb(os.path.join(out_dir, sar_file), sar)
    segs = []
    for s, seg in enumerate(result.segs):
        masks = []
        for f, mask in enumerate(seg.masks):
            fname = f"{name}_seg{s}_f{f}.mask"
            gi.write_mask(os.path.join(out_dir, fname), mask)
            masks.append(fname)
        segs.append({"masks": masks, "region_indices": seg.region_indices, "frame": seg.frame,
                     "modality": seg.modality})
    logits_file = f"{name}_logits.bin"
    n = min(loop.FIRST_LOGITS, len(result.first_logits))
    gi.write_logits(os.path.join(out_dir, logits_file), result.first_logits[:n])
    return {
        "name": name, "mode": mode, "policies": dict(policies), "images": image_files,
        "sar": sar_file, "question": question, "options": options or {},
        "max_new_tokens": max_new_tokens, "sampling": {"temperature": 0.0},
        "prompt_ids": result.prompt_ids, "output_ids": result.output_ids, "text": result.text,
        "stop_reason": result.stop_reason, "segs": segs, "first_logits": logits_file,
    }


def make_golden(bundle_dir, out_dir, log=print):
    bundle = Bundle(bundle_dir)
    os.makedirs(out_dir, exist_ok=True)
    cases = [run_case(bundle, *case, out_dir) for case in CASES]
    problems = [f"case {c['name']}: {len(c['segs'])} [SEG] (at least 2 needed)"
                for c in cases if len(c["segs"]) < 2]
    if not any(c["stop_reason"] == "stop_token" for c in cases):
        problems.append("no case stops on a stop token before max_new_tokens")
    if problems:
        raise SystemExit(f"{bundle_dir}: the golden cases do not exercise the loop: "
                         + "; ".join(problems))
    manifest = os.path.join(bundle_dir, "terrascope.json")
    with open(manifest, "r", encoding="utf-8") as f:
        name = json.load(f).get("name")
    index = {"format_version": FORMAT_VERSION, "bundle": name, "cases": cases}
    # cases.json is a plain list (docs/BUNDLE.md); golden.json adds the provenance.
    with open(os.path.join(out_dir, "cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(out_dir, "golden.json"), "w", encoding="utf-8") as f:
        json.dump({k: v for k, v in index.items() if k != "cases"}, f, indent=1)
        f.write("\n")
    for c in cases:
        log(f"golden {c['name']}: {len(c['segs'])} [SEG], {len(c['output_ids'])} output ids, "
            f"stop {c['stop_reason']}")
    return cases


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    make_golden(args.bundle, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
