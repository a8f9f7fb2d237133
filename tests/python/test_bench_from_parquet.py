"""tools/bench_from_parquet.py on rows shaped like the official parquet's (pyarrow is not needed for
the conversion itself): images written once as their own bytes, candidates as dicts, bad rows
skipped as the release skips them."""
import io
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import bench_from_parquet  # noqa: E402
from PIL import Image  # noqa: E402


def png_bytes(colour):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, "PNG")
    return buffer.getvalue()


class BenchFromParquetTest(unittest.TestCase):
    def test_rows_become_bench_records(self):
        red, blue = png_bytes((255, 0, 0)), png_bytes((0, 0, 255))
        rows = [
            {"image": {"bytes": red, "path": "3886_3141_patch00.png"}, "question": "Share?",
             "candidates": '{"B": "80%", "A": "58%"}', "answer": "A",
             "task_type": "coverage_percentage"},
            {"image": {"bytes": red, "path": "3886_3141_patch00.png"}, "question": "Again?",
             "candidates": {"A": "1", "B": "2"}, "answer": "B", "task_type": "absolute_area"},
            {"image": {"bytes": blue, "path": "3886_3141_patch00.png"}, "question": "Other image",
             "candidates": {"A": "x", "B": "y"}, "answer": " B ", "task_type": "absolute_area"},
            {"image": None, "question": "no image", "candidates": {}, "answer": "A",
             "task_type": "coverage_percentage"},
            {"image": blue, "question": "raw bytes", "candidates": {"A": "x"}, "answer": "A"},
        ]
        with tempfile.TemporaryDirectory() as out:
            log = io.StringIO()
            n = bench_from_parquet.convert_rows(rows, out, log=log)
            self.assertEqual(n, 4)
            self.assertIn("row 3: no image bytes", log.getvalue())
            with open(os.path.join(out, "bench.jsonl"), encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
            self.assertEqual([r["id"] for r in records],
                             ["tsb-00000", "tsb-00001", "tsb-00002", "tsb-00004"])
            self.assertEqual(records[0]["candidates"], {"A": "58%", "B": "80%"})
            self.assertEqual(records[0]["image"], "images/3886_3141_patch00.png")
            self.assertEqual(records[1]["image"], records[0]["image"])  # written once
            self.assertNotEqual(records[2]["image"], records[0]["image"])  # same name, other bytes
            self.assertEqual(records[2]["answer"], "B")
            self.assertEqual(records[3]["task_type"], "UNKNOWN")
            for r in records:
                with open(os.path.join(out, r["image"]), "rb") as f:
                    data = f.read()
                self.assertIn(data, (red, blue))  # the parquet's own bytes, not re-encoded

    def test_task_filter_and_limit(self):
        rows = [{"image": png_bytes((i, i, i)), "question": "q%d" % i, "candidates": {"A": "a"},
                 "answer": "A", "task_type": "t%d" % (i % 2)} for i in range(6)]
        with tempfile.TemporaryDirectory() as out:
            n = bench_from_parquet.convert_rows(rows, out, tasks={"t1"}, limit=2,
                                                log=io.StringIO())
            self.assertEqual(n, 2)
            with open(os.path.join(out, "bench.jsonl"), encoding="utf-8") as f:
                self.assertEqual([json.loads(line)["question"] for line in f], ["q1", "q3"])


if __name__ == "__main__":
    unittest.main()
