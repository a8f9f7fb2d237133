"""tools/synth and tools/make_synth_bench.py: the answers follow TerraScope-Bench's ground-truth
rules (recomputed here by brute force from the scene's class map, reading the classes from the
question text), COCO RLE (a hand-derived string, round trips), determinism, balanced answer
letters, one mask per [SEG], the bench files (GDAL reads them back). Generation speed is printed.

Run from tests/python: /usr/bin/python3 -m unittest test_synth
"""

import hashlib
import json
import os
import re
import sys
import tempfile
import time
import unittest
from collections import Counter, deque

import numpy as np

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, TOOLS)

import make_synth_bench  # noqa: E402
from synth import records, scenes, tasks  # noqa: E402
from terrascope_ref import regions  # noqa: E402

NAMES = ("water", "vegetation", "cropland", "bare soil", "built-up area", "roads")
SMALL = 40  # brute force over all pixel pairs stays cheap at this size
COT_SHAPE = re.compile(r"^<think>(.*)</think><answer> (.+) </answer>$", re.S)


# ---------------------------------------------------------------- independent references

def classes_in(text):
    """Class ids named in a text, in order of appearance."""
    found = []
    for cls, name in enumerate(NAMES):
        for m in re.finditer(re.escape(name), text):
            found.append((m.start(), cls))
    return [cls for _, cls in sorted(found)]


def seg_classes(think):
    """The class named in the sentence of each [SEG] (the reasoning names one region per [SEG])."""
    parts = think.split("[SEG]")[:-1]
    out = []
    for part in parts:
        sentence = re.split(r"[.;]", part)[-1]
        named = classes_in(sentence)
        out.append(named[-1] if named else None)
    return out


def brute_adjacent(a, b):
    """Some pixel of b within the 3x3 neighbourhood (Chebyshev distance <= 1) of a pixel of a."""
    pa, pb = np.argwhere(a), np.argwhere(b)
    cheb = np.abs(pa[:, None, :] - pb[None, :, :]).max(-1)
    return bool((cheb <= 1).any())


def brute_min_distance(a, b):
    """Distance transform of not-a at b's pixels, minimised: all pixel pairs."""
    pa, pb = np.argwhere(a).astype(float), np.argwhere(b).astype(float)
    return float(np.sqrt(((pa[:, None, :] - pb[None, :, :]) ** 2).sum(-1).min()))


def components4(mask):
    """Number of 4-connected components (breadth-first flood fill)."""
    seen = np.zeros_like(mask)
    h, w = mask.shape
    n = 0
    for y, x in zip(*np.nonzero(mask)):
        if seen[y, x]:
            continue
        n += 1
        queue = deque([(y, x)])
        seen[y, x] = True
        while queue:
            cy, cx = queue.popleft()
            for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not seen[ny, nx]:
                    seen[ny, nx] = True
                    queue.append((ny, nx))
    return n


def correct_option(s):
    return s["options"]["ABCD".index(s["answer"])]


def option_holds(text, value):
    """Does the range an option states ("under X", "X to Y" / "X or Y" (both included),
    "X or more", "X";
    units %, m², m) hold value? Parsed here, independently of the generator's edges."""
    unit = r"(?:%| m²| m)?"
    m = re.fullmatch(r"under (\d+)" + unit, text)
    if m:
        return value < int(m.group(1))
    m = re.fullmatch(r"(\d+)%s (?:to|or) (\d+)%s" % (unit, unit), text)
    if m:
        return int(m.group(1)) <= value <= int(m.group(2))
    m = re.fullmatch(r"(\d+)%s or more" % unit, text)
    if m:
        return value >= int(m.group(1))
    m = re.fullmatch(r"(\d+)", text)
    if m:
        return value == int(m.group(1))
    raise AssertionError("option %r is not a range" % text)


def check_ranges(test, s, value):
    """The correct option is the only one whose range holds value; the ranges ascend."""
    holds = [option_holds(o, value) for o in s["options"]]
    test.assertEqual(holds.count(True), 1, (s["options"], value))
    test.assertEqual(correct_option(s), s["options"][holds.index(True)])
    lows = [int(re.search(r"\d+", o).group()) for o in s["options"]]
    test.assertEqual(lows, sorted(lows), s["options"])
    test.assertEqual(len(s["options"]), 4)


def samples(task, seeds, size=SMALL, modalities=("optical", "optical+sar")):
    for seed in seeds:
        for modality in (["series"] if task == "BCE" else modalities):
            yield records.make_sample(seed, task, None if task == "BCE" else modality, size=size)


# ---------------------------------------------------------------- ground-truth rules

class GroundTruthRules(unittest.TestCase):
    def check_common(self, s):
        m = COT_SHAPE.match(s["cot"])
        self.assertIsNotNone(m, s["cot"])
        think, answer = m.group(1), m.group(2)
        self.assertEqual(think.count("[SEG]"), len(s["masks"]), s["cot"])
        self.assertEqual(s["cot"].count("[SEG]"), len(s["masks"]))
        for mask in s["masks"]:
            self.assertEqual(mask.shape, s["labels"].shape)
            self.assertEqual(mask.dtype, bool)
            self.assertTrue(mask.any(), "%s: an empty ground-truth mask" % s["id"])
        if s["answer"] is not None:
            self.assertEqual(answer, s["answer"])
            self.assertEqual(len(set(s["options"])), len(s["options"]), s["options"])
            expected_prompt = s["question"] + "\n" + "".join(
                "%s. %s\n" % (l, o) for l, o in zip("ABCD", s["options"]))
            self.assertEqual(s["prompt"], expected_prompt)
        return think

    def check_region_masks(self, s, think):
        """Each [SEG] names a class of the question, and its mask is exactly that class."""
        named = classes_in(s["question"])
        segs = seg_classes(think)
        self.assertEqual(sorted(segs), sorted(named), (s["question"], think))
        for cls, mask in zip(segs, s["masks"]):
            np.testing.assert_array_equal(mask, s["labels"] == cls)
        return named

    def test_coverage_share(self):
        for s in samples("CA", range(12)):
            think = self.check_common(s)
            (cls,) = self.check_region_masks(s, think)
            share = (s["labels"] == cls).sum() / s["labels"].size  # every pixel is valid
            self.assertGreaterEqual(share, 0.05)
            check_ranges(self, s, round(100 * share))
            self.assertIn(correct_option(s), think)  # the reasoning states the range

    def test_absolute_area(self):
        for s in samples("AQ", range(12)):
            think = self.check_common(s)
            (cls,) = self.check_region_masks(s, think)
            area = int((s["labels"] == cls).sum()) * 10 * 10
            check_ranges(self, s, area)
            self.assertIn(correct_option(s), think)
            self.assertEqual(s["pixel_size"], 10.0)
            self.assertEqual(s["geotransform"][1], 10.0)
            self.assertEqual(s["geotransform"][5], -10.0)

    def test_comparative_ranking(self):
        for s in samples("CR", range(12)):
            think = self.check_common(s)
            a, b = self.check_region_masks(s, think)
            na, nb = (s["labels"] == a).sum(), (s["labels"] == b).sum()
            self.assertGreater(abs(na - nb), 0.10 * max(na, nb))
            want_larger = "larger" in s["question"]
            self.assertNotEqual(want_larger, "smaller" in s["question"])
            winner = (a if na > nb else b) if want_larger else (a if na < nb else b)
            self.assertEqual(correct_option(s), NAMES[winner])
            # the finding names the winner's place in the question, then the winner
            place = "first" if winner == a else "second"
            self.assertIn("The %s, the %s, " % (place, NAMES[winner]), think)
            self.assertEqual(s["options"], [NAMES[a], NAMES[b]])  # the question's order
            self.assertLess(s["question"].index(NAMES[a]), s["question"].index(NAMES[b]))

    def test_boundary_relation(self):
        answers = Counter()
        for s in samples("BRD", range(12)):
            think = self.check_common(s)
            a, b = self.check_region_masks(s, think)
            touch = brute_adjacent(s["labels"] == a, s["labels"] == b)
            self.assertEqual(correct_option(s), "Yes" if touch else "No")
            self.assertIn((" Yes, they " if touch else " No, they "), think)
            self.assertEqual(s["options"], ["Yes", "No"])
            answers[correct_option(s)] += 1
        self.assertGreaterEqual(min(answers["Yes"], answers["No"]), 6, answers)

    def test_distance(self):
        for s in samples("DM", range(12)):
            think = self.check_common(s)
            a, b = self.check_region_masks(s, think)
            ma, mb = s["labels"] == a, s["labels"] == b
            self.assertFalse(brute_adjacent(ma, mb))
            metres = round(brute_min_distance(ma, mb) * 10)
            check_ranges(self, s, metres)
            self.assertIn(correct_option(s), think)

    def test_distance_helper_matches_brute_force(self):
        rng = np.random.default_rng(7)
        for _ in range(40):
            field = scenes.smooth_noise(rng, 24, 24, 2)
            a, b = field > 0.8, field < -0.8
            if not a.any() or not b.any():
                continue
            self.assertAlmostEqual(tasks.min_distance_px(a, b), brute_min_distance(a, b), 9)
            self.assertEqual(tasks.adjacent(a, b), brute_adjacent(a, b))

    def test_building_change(self):
        for s in samples("BCE", range(16)):
            think = self.check_common(s)
            self.assertEqual(s["modality"], "series")
            self.assertIsNone(s["optical"])
            self.assertEqual(len(s["frames"]), 2)
            self.assertEqual(s["mask_frames"], [0, 1])
            pre, destroyed = s["masks"]
            self.assertTrue((destroyed <= pre).all())  # destroyed buildings stood before
            self.assertEqual(components4(pre), s["meta"]["buildings_pre"])
            check_ranges(self, s, components4(destroyed))
            self.assertIn("destroyed", s["question"])
            self.assertIn("Destroyed buildings: %s." % correct_option(s), think)
            # The rubble changes the post image inside the destroyed footprints.
            diff = np.abs(s["frames"][0].astype(int) - s["frames"][1].astype(int)).sum(-1)
            self.assertGreater(diff[destroyed].mean(), diff[~pre].mean())

    def test_one_region_row_per_object_and_building(self):
        # terrascope-tiny's layout: a 128 px scene becomes one 112 px tile of 4x4 vision tokens;
        # the release's nearest-neighbour mapping then gives DM's objects and BCE's buildings one
        # <REGION> row each (they stand on their own lots, over the lot's centre pixel), so the
        # distance (in lots) and the count can travel through the rows.
        def rows(mask):
            return [int(t) for t in regions.select_region_tokens_frame(mask, 112, 4, 8)]

        by_offset = {(0, 1): 0, (1, 1): 1, (0, 2): 2, (1, 2): 2}  # else the last range
        for seed in range(8):
            s = records.make_sample(seed, "DM", ("optical", "optical+sar")[seed % 2], size=128)
            (a,), (b,) = [rows(m) for m in s["masks"]]
            offset = tuple(sorted((abs(a // 4 - b // 4), abs(a % 4 - b % 4))))
            self.assertNotEqual(a, b)
            # the reasoning's lots are the cells of the rows, counted from 1
            lots = [[t // 4 + 1, t % 4 + 1] for t in (a, b)]
            self.assertEqual(s["meta"]["lots"], lots)
            self.assertIn("It lies in row %d, column %d." % tuple(lots[0]), s["cot"])
            self.assertEqual(s["options"].index(correct_option(s)), by_offset.get(offset, 3),
                             (offset, s["meta"]))
            s = records.make_sample(seed, "BCE", size=128)
            pre, destroyed = s["masks"]
            self.assertEqual(len(rows(destroyed)), s["meta"]["destroyed"])
            if s["meta"]["buildings_pre"] <= 8:
                self.assertEqual(len(rows(pre)), s["meta"]["buildings_pre"])

    def test_referring_segmentation(self):
        for s in samples("SEG", range(8)):
            think = self.check_common(s)
            self.assertIsNone(s["answer"])
            self.assertEqual(s["options"], [])
            self.assertEqual(s["prompt"], s["question"])
            (cls,) = self.check_region_masks(s, think)
            self.assertEqual(COT_SHAPE.match(s["cot"]).group(2), NAMES[cls])

    def test_sar_pseudo_rgb_and_clouds(self):
        dark_water = 0
        for s in samples("SEG", range(20), size=64, modalities=("optical+sar",)):
            sar = s["sar"]
            self.assertEqual(sar.shape, s["optical"].shape)
            # Release pseudo-RGB: [VH, VV, (VH + VV) / 2] truncated.
            np.testing.assert_array_equal(
                sar[..., 2], ((sar[..., 0].astype(np.float32) + sar[..., 1]) / 2).astype(np.uint8))
            water, built = s["labels"] == scenes.WATER, s["labels"] == scenes.BUILT_UP
            if water.sum() > 50 and built.sum() > 50:
                dark_water += 1
                self.assertLess(sar[..., 1][water].mean() + 40, sar[..., 1][built].mean())
            if s["cloud"] is not None and (s["cloud"] > 0.9).sum() > 50:
                thick = s["cloud"] > 0.9
                self.assertGreater(s["optical"][thick].mean(), 200)  # white cloud tops
        self.assertGreater(dark_water, 0)

    def test_photometric_jitter_flattens_colours_the_same_way_in_every_frame(self):
        s = records.train_sample(3, task="BCE")
        pre, post = s["frames"]
        flat = 0
        for seed in range(20):
            a, b = scenes.photometric_jitter(np.random.default_rng(seed), [pre, post])
            a2, _ = scenes.photometric_jitter(np.random.default_rng(seed), [pre, post])
            np.testing.assert_array_equal(a, a2)  # a pure function of the generator
            self.assertEqual((a.dtype, a.shape), (np.uint8, pre.shape))
            # one draw for all frames: a frame comes out the same alone, beside another or twice
            alone, = scenes.photometric_jitter(np.random.default_rng(seed), [pre])
            np.testing.assert_array_equal(a, alone)
            twice = scenes.photometric_jitter(np.random.default_rng(seed), [post, post])
            np.testing.assert_array_equal(twice[0], b)
            np.testing.assert_array_equal(twice[1], b)
            flat += a.astype(float).std() < pre.astype(float).std()
            # darker stays darker: the water of the scene keeps below its land on average
            water = s["labels"] == scenes.WATER
            if water.sum() > 50:
                self.assertLess(a[water].mean(), a[~water].mean())
        self.assertGreaterEqual(flat, 18)  # contrast 0.45..1, gain <= 1.1: nearly always flatter


# ---------------------------------------------------------------- COCO RLE

class CocoRle(unittest.TestCase):
    def test_hand_derived_string(self):
        # A 43x1 mask, ones at rows 0..39 and 42: counts [0, 40, 2, 1]. By hand: 0 -> '0';
        # 40 = 0b01000 + (1 << 5) -> groups 8|0x20, 1 -> 'X', '1'; 2 -> '2'; the fourth count is
        # coded as 1 - 40 = -39 -> groups 25|0x20 ('i'), then -2 & 31 = 30 -> 'N'.
        mask = np.zeros((43, 1), dtype=bool)
        mask[:40, 0] = True
        mask[42, 0] = True
        self.assertEqual(records.string_to_counts("0X12iN"), [0, 40, 2, 1])
        np.testing.assert_array_equal(records.rle_decode({"size": [43, 1], "counts": "0X12iN"}),
                                      mask)
        self.assertEqual(records.rle_encode(mask), {"size": [43, 1], "counts": "0X12iN"})

    def test_pycocotools_string(self):
        # A mask encoded by the standard pycocotools library, published in the README of
        # github.com/armengot/COCOtoolsFORK (python/README.md, commit 3b137b9b): size [50, 70], a
        # left-right symmetric ring drawing. A wrong decoder would not cover exactly 50 x 70
        # pixels, nor give a mirror-symmetric picture, nor re-encode to the same string.
        counts = ("0g05b08J4M2N2NA^O1`0OCO=0E090H080IO68DH;>@C>a0_O_O`0j0OWOF<:CM72I24NL43JM92FN;"
                  "1ENKO72L0LO91J0MO92INO0NO122OO0M031O000NO31OO11MO40N011MO41MO21L06OL021L06OL02"
                  "1L06OL021L060J040L060J040L060J040L060J040L060J040L060J040L060KO31L060KO31L06OL0"
                  "21L06OL021L06OL021MO41MO21MO40N100NO310O00M0310O00NO1220NO92IONO91KOMO72M0<1EO"
                  ":2GN63KM34OLM73JF<;=1G_O_Ob0=AC`07EH=1IO71H090F0:1DO>1_O1b0>2N2N3L6H]O")
        self.assertEqual(sum(records.string_to_counts(counts)), 50 * 70)
        mask = records.rle_decode({"size": [50, 70], "counts": counts})
        self.assertEqual(mask.shape, (50, 70))
        np.testing.assert_array_equal(mask, mask[:, ::-1])
        self.assertTrue(mask[0].all() and mask[-1].all())  # top and bottom rows are set
        self.assertFalse(mask[25, :5].any())                # left edge of the ring is open
        self.assertEqual(records.rle_encode(mask)["counts"], counts)

    def test_column_major_order(self):
        # 2x3 mask [[0,1,0],[1,1,0]]: column-major 0,1 | 1,1 | 0,0 -> counts [1, 3, 2] -> "132".
        mask = np.array([[0, 1, 0], [1, 1, 0]], dtype=bool)
        self.assertEqual(records.rle_counts(mask), [1, 3, 2])
        self.assertEqual(records.rle_encode(mask)["counts"], "132")
        # Starting with a one: an empty first run of zeros.
        self.assertEqual(records.rle_counts(np.ones((2, 2), dtype=bool)), [0, 4])

    def test_round_trip(self):
        rng = np.random.default_rng(3)
        shapes = [(1, 1), (1, 9), (9, 1), (5, 7), (64, 48), (128, 128)]
        for h, w in shapes:
            for density in (0.0, 0.03, 0.5, 0.97, 1.0):
                mask = rng.random((h, w)) < density
                rle = records.rle_encode(mask)
                self.assertEqual(rle["size"], [h, w])
                self.assertTrue(all(33 <= ord(ch) <= 127 for ch in rle["counts"]))
                np.testing.assert_array_equal(records.rle_decode(rle), mask)
                # Long runs need several 5-bit groups and negative deltas.
                np.testing.assert_array_equal(records.rle_decode(
                    {"size": [h, w], "counts": records.rle_counts(mask)}), mask)
        big = np.zeros((300, 300), dtype=bool)
        big[10:290, 5:7] = True
        np.testing.assert_array_equal(records.rle_decode(records.rle_encode(big)), big)

    def test_bad_strings(self):
        with self.assertRaises(ValueError):
            records.rle_decode({"size": [4, 4], "counts": "132"})  # covers 6 pixels, not 16
        with self.assertRaises(ValueError):
            records.string_to_counts("X")  # ends inside a count


# ---------------------------------------------------------------- samples overall

class Samples(unittest.TestCase):
    def test_determinism(self):
        for task in tasks.TASKS:
            a = records.make_sample(123, task, size=64)
            b = records.make_sample(123, task, size=64)
            for key in ("question", "options", "answer", "cot", "prompt", "geotransform", "epsg",
                        "modality", "id"):
                self.assertEqual(a[key], b[key])
            for key in ("optical", "sar", "labels"):
                if a[key] is None:
                    self.assertIsNone(b[key])
                else:
                    self.assertEqual(a[key].tobytes(), b[key].tobytes())
            self.assertEqual([m.tobytes() for m in a["masks"]], [m.tobytes() for m in b["masks"]])
        c, d = records.train_sample(5), records.train_sample(6)
        self.assertNotEqual(c["cot"] + str(c["labels"].sum()), d["cot"] + str(d["labels"].sum()))
        self.assertEqual(records.train_sample(5)["id"], c["id"])
        self.assertGreaterEqual(c["seed"], records.TRAIN_SEED_BASE)

    def test_answer_letters_balanced(self):
        # Without a slot, the ranges sit near the quartiles: no letter is rare or dominant.
        for task, n_opts in (("CA", 4), ("AQ", 4), ("BCE", 4), ("CR", 2), ("BRD", 2)):
            letters = Counter(records.make_sample(seed, task)["answer"] for seed in range(60))
            self.assertEqual(set(letters), set("ABCD"[:n_opts]), (task, letters))
            for count in letters.values():
                self.assertLess(count, 60 * (0.5 if n_opts == 4 else 0.75), (task, letters))
        # DM's edges are coarser than its quartiles (tasks.DM_EDGES_M): short gaps dominate, the
        # longest range is rare (the slot below balances them), but no letter takes all.
        letters = Counter(records.make_sample(seed, "DM")["answer"] for seed in range(60))
        self.assertTrue(set("ABC") <= set(letters), letters)
        self.assertLess(letters["A"], 60 * 0.65, letters)
        # With a slot (bench and training), the answer is the option at that slot.
        for task, n_opts in (("CA", 4), ("DM", 4), ("BCE", 4), ("CR", 2)):
            for slot in range(4):
                s = records.make_sample(100 + slot, task, answer_slot=slot)
                self.assertEqual(s["answer"], "ABCD"[slot % n_opts], (task, slot))

    def test_mixed_training_stream(self):
        seen_tasks, seen_modalities, longest = Counter(), Counter(), 0
        for i in range(70):
            s = records.train_sample(i, size=64)
            seen_tasks[s["task_type"]] += 1
            seen_modalities[s["modality"]] += 1
            self.assertEqual(s["cot"].count("[SEG]"), len(s["masks"]))
            self.assertTrue(32601 <= s["epsg"] <= 32660 or 32701 <= s["epsg"] <= 32760)
            # Rough Qwen2-style pre-token count (digits split one by one).
            words = re.findall(r"\d|[A-Za-z]+|[^\sA-Za-z\d]+", s["prompt"] + s["cot"])
            longest = max(longest, len(words))
        self.assertEqual(set(seen_tasks), set(tasks.TASKS))
        self.assertEqual(set(seen_modalities), set(records.MODALITIES))
        self.assertLess(longest, 160)  # DM, the longest, names two lots and their offsets
        print("\nsynth: longest prompt + reasoning in 70 training samples: %d pre-tokens" % longest)

    def test_bad_arguments(self):
        with self.assertRaises(ValueError):
            records.make_sample(1, "XX")
        with self.assertRaises(ValueError):
            records.make_sample(1, "BCE", "optical")
        with self.assertRaises(ValueError):
            records.make_sample(1, "CA", "series")
        with self.assertRaises(ValueError):
            records.train_sample(-1)

    def test_generation_speed_reported(self):
        n = 40
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            records.train_sample(1000 + i)
        wall_ms = (time.perf_counter() - wall) / n * 1000
        cpu_ms = (time.process_time() - cpu) / n * 1000
        print("\nsynth: %.1f ms CPU (%.1f ms wall) per 128x128 training sample, mean of %d"
              % (cpu_ms, wall_ms, n))


# ---------------------------------------------------------------- bench files

class BenchFiles(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.out = os.path.join(cls.tmp.name, "bench")
        make_synth_bench.main(["--out", cls.out, "--n", "14", "--seed", "0", "--size", "64"])
        with open(os.path.join(cls.out, "bench.jsonl"), encoding="utf-8") as f:
            cls.rows = [json.loads(line) for line in f]

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_records(self):
        from osgeo import gdal
        self.assertEqual(len(self.rows), 14)
        self.assertEqual(Counter(r["task_type"] for r in self.rows),
                         Counter({t: 2 for t in tasks.TASKS}))
        keys = {"id", "task_type", "image", "sar", "frames", "question", "candidates", "answer",
                "gt_masks", "reasoning"}
        plan = records.bench_plan(14, 0)
        for row, (seed, task, modality, slot) in zip(self.rows, plan):
            self.assertEqual(set(row), keys)
            self.assertEqual(row["task_type"], task)
            self.assertEqual(row["reasoning"].count("[SEG]"), len(row["gt_masks"]))
            m = COT_SHAPE.match(row["reasoning"])
            self.assertIsNotNone(m)
            if task == "SEG":
                self.assertIsNone(row["answer"])
                self.assertEqual(row["candidates"], [])
            else:
                self.assertEqual(row["answer"], m.group(2))
                self.assertEqual(row["answer"], "ABCD"[slot % len(row["candidates"])])
                self.assertNotRegex(row["question"], r"\nA\. ")  # options kept apart
            sample = records.make_sample(seed, task, modality, size=64, answer_slot=slot)
            for rle, mask in zip(row["gt_masks"], sample["masks"]):
                self.assertEqual(rle["size"], [64, 64])
                np.testing.assert_array_equal(records.rle_decode(rle), mask)
            if task == "BCE":
                self.assertIsNone(row["image"])
                self.assertEqual(len(row["frames"]), 2)
                self.assertEqual([g["frame"] for g in row["gt_masks"]], [0, 1])
                paths = row["frames"]
                pixels = sample["frames"]
            else:
                self.assertIsNone(row["frames"])
                self.assertEqual(row["sar"] is not None, modality == "optical+sar")
                paths = [row["image"]] + ([row["sar"]] if row["sar"] else [])
                pixels = [sample["optical"]] + ([sample["sar"]] if row["sar"] else [])
            for rel, expected in zip(paths, pixels):
                self.assertFalse(os.path.isabs(rel))
                ds = gdal.Open(os.path.join(self.out, rel))
                self.assertEqual((ds.RasterXSize, ds.RasterYSize), (64, 64))
                self.assertEqual(ds.GetGeoTransform(), tuple(sample["geotransform"]))
                srs = ds.GetSpatialRef()
                self.assertEqual(int(srs.GetAuthorityCode(None)), sample["epsg"])
                self.assertEqual(ds.GetMetadata("IMAGE_STRUCTURE").get("COMPRESSION"), "DEFLATE")
                data = ds.ReadAsArray()
                if rel.startswith("sar/"):
                    self.assertEqual(ds.RasterCount, 2)
                    self.assertEqual([ds.GetRasterBand(i).GetDescription() for i in (1, 2)],
                                     ["VH", "VV"])
                    np.testing.assert_array_equal(data, np.moveaxis(expected[..., :2], -1, 0))
                else:
                    self.assertEqual(ds.RasterCount, 3)
                    np.testing.assert_array_equal(data, np.moveaxis(expected, -1, 0))

    def test_same_bytes_on_every_run(self):
        other = os.path.join(self.tmp.name, "again")
        make_synth_bench.main(["--out", other, "--n", "14", "--seed", "0", "--size", "64"])

        def digest(root):
            out = {}
            for dirpath, _, files in os.walk(root):
                for name in files:
                    path = os.path.join(dirpath, name)
                    with open(path, "rb") as f:
                        out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
            return out

        self.assertEqual(digest(self.out), digest(other))

    def test_terra_cot_records(self):
        with open(os.path.join(self.out, "terra_cot.jsonl"), encoding="utf-8") as f:
            cot = [json.loads(line) for line in f]
        self.assertEqual(len(cot), 14)
        for rec, row in zip(cot, self.rows):
            human, gpt = rec["conversations"]
            self.assertTrue(human["value"].startswith("<image>\n" + row["question"]))
            self.assertEqual(gpt["value"], row["reasoning"])
            self.assertEqual(len(rec["masks"]), row["reasoning"].count("[SEG]"))
            if row["frames"]:
                self.assertEqual([rec["pre_image"], rec["post_image"]], row["frames"])

    def test_bad_arguments(self):
        with self.assertRaises(SystemExit):
            make_synth_bench.main(["--out", self.tmp.name, "--n", "0"])
        with self.assertRaises(SystemExit):
            make_synth_bench.main(["--out", self.tmp.name, "--seed", str(records.TRAIN_SEED_BASE)])


if __name__ == "__main__":
    unittest.main()
