#!/usr/bin/env python3
"""Converts the official TerraScope-Bench parquet into the bench format of `terrascope bench`
(JSONL, one sample per line, paths relative to the JSONL; docs/SYNTH.md describes the fields).

Getting the parquet (it is not on these machines; about 3,549 rows, BCE missing):
  * browser: https://huggingface.co/datasets/sy1998/TerraScope-Bench -> "Files and versions" ->
    data/TerraScope_bench.parquet -> download;
  * or `huggingface-cli download sy1998/TerraScope-Bench --repo-type dataset --local-dir tsb`
    (pip install huggingface_hub), which puts it at tsb/data/TerraScope_bench.parquet.
Reading it needs pyarrow (`pip install pyarrow`, or Debian's python3-pyarrow where available).

Columns used (the release's infer_terrascope_bench.py reads the same): `image` (a struct
{bytes, path} or raw bytes: the encoded PNG/JPEG), `question`, `candidates` (a dict {"A": text, ...}
or its JSON string), `answer` (the letter), `task_type`. Each image is written once, as its own
bytes (no re-encoding), under OUT/images/; rows whose image cannot be read are reported and skipped,
as the release skips them.

Usage:
  bench_from_parquet.py TerraScope_bench.parquet --out DIR [--tasks coverage_percentage,...]
                        [--limit N]
  terrascope bench --model BUNDLE --bench DIR/bench.jsonl --report md
"""
import argparse
import hashlib
import json
import os
import sys


def image_bytes(cell):
    """The encoded image of a parquet `image` cell (dict {bytes, path} or bytes), else None."""
    if isinstance(cell, dict):
        data = cell.get("bytes") or b""
    elif isinstance(cell, (bytes, bytearray)):
        data = bytes(cell)
    else:
        return None
    return data or None


def image_name(cell, data):
    """A file name for an image: the cell's own path when it has one, else its sha256; the
    extension follows the bytes (PNG, JPEG, TIFF)."""
    if data.startswith(b"\x89PNG"):
        ext = ".png"
    elif data.startswith(b"\xff\xd8"):
        ext = ".jpg"
    elif data[:4] in (b"II*\x00", b"MM\x00*"):
        ext = ".tif"
    else:
        ext = ".img"
    stem = None
    if isinstance(cell, dict) and cell.get("path"):
        stem = os.path.splitext(os.path.basename(str(cell["path"])))[0]
        stem = "".join(c if c.isalnum() or c in "._-" else "_" for c in stem)
    if not stem:
        stem = hashlib.sha256(data).hexdigest()[:16]
    return stem + ext


def candidates_dict(value):
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, dict):
        raise ValueError("candidates is not a dict")
    return {str(k): str(v) for k, v in value.items()}


def convert_rows(rows, out_dir, tasks=None, limit=None, log=sys.stderr):
    """Writes OUT/bench.jsonl and OUT/images/ from an iterable of row dicts; returns the number of
    samples written."""
    os.makedirs(os.path.join(out_dir, "images"), exist_ok=True)
    written, skipped = 0, 0
    names = {}
    tmp = os.path.join(out_dir, "bench.jsonl.tmp")
    with open(tmp, "w", encoding="utf-8") as out:
        for index, row in enumerate(rows):
            task = row.get("task_type") or "UNKNOWN"
            if tasks and task not in tasks:
                continue
            if limit is not None and written >= limit:
                break
            data = image_bytes(row.get("image"))
            if data is None:
                print("bench_from_parquet: row %d: no image bytes, skipped" % index, file=log)
                skipped += 1
                continue
            name = image_name(row.get("image"), data)
            digest = hashlib.sha256(data).hexdigest()
            if names.get(name, digest) != digest:  # same name, other image
                name = digest[:16] + "_" + name
            if name not in names:
                with open(os.path.join(out_dir, "images", name), "wb") as f:
                    f.write(data)
                names[name] = digest
            record = {
                "id": "tsb-%05d" % index,
                "task_type": task,
                "image": "images/" + name,
                "sar": None,
                "frames": None,
                "question": row["question"],
                "candidates": candidates_dict(row["candidates"]),
                "answer": str(row["answer"]).strip(),
                "gt_masks": [],
            }
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    os.replace(tmp, os.path.join(out_dir, "bench.jsonl"))
    if skipped:
        print("bench_from_parquet: %d rows skipped" % skipped, file=log)
    return written


def read_parquet_rows(path):
    try:
        import pyarrow.parquet as pq
    except ImportError:
        sys.exit("bench_from_parquet: needs pyarrow (pip install pyarrow) to read %s" % path)
    table = pq.read_table(path)
    missing = {"image", "question", "candidates", "answer"} - set(table.column_names)
    if missing:
        sys.exit("bench_from_parquet: %s: missing columns %s" % (path, ", ".join(sorted(missing))))
    for batch in table.to_batches():
        for row in batch.to_pylist():
            yield row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parquet", help="TerraScope_bench.parquet")
    ap.add_argument("--out", required=True, help="output folder (bench.jsonl, images/)")
    ap.add_argument("--tasks", help="only these task_type values, comma-separated")
    ap.add_argument("--limit", type=int, help="only the first N samples")
    args = ap.parse_args(argv)
    tasks = set(t.strip() for t in args.tasks.split(",")) if args.tasks else None
    n = convert_rows(read_parquet_rows(args.parquet), args.out, tasks, args.limit)
    print("bench_from_parquet: wrote %d samples to %s" % (n, os.path.join(args.out, "bench.jsonl")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
