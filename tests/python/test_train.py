"""Training of terrascope-tiny (tools/train_tiny.py, terrascope_ref/train_losses.py): the
teacher-forced layout matches the loop's, the batched LLM pass equals the reference forward_full,
gradients reach the model through the [SEG] path, a few steps lower both losses."""
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, TOOLS)

import numpy as np  # noqa: E402
import torch  # noqa: E402

import make_tiny_tokenizer  # noqa: E402
from make_tiny_bundle import vocab_size_of  # noqa: E402
import train_tiny  # noqa: E402
from synth import records  # noqa: E402
from terrascope_ref import regions  # noqa: E402
from terrascope_ref.model import TerraScope  # noqa: E402
from terrascope_ref.tokenizer import Tokenizer  # noqa: E402
from terrascope_ref.train_losses import (BUILDINGS_BEFORE, BUILDINGS_DESTROYED,  # noqa: E402
                                         IGNORE, NUM_MASK_KINDS, Layout, batch_losses,
                                         common_prefix, llm_forward_batch, make_example,
                                         mask_kinds, sam_stage_losses)

TOK = None
CFG = None


def setUpModule():
    global TOK, CFG
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tokenizer.json")
        make_tiny_tokenizer.write_tiny_tokenizer(path)
        TOK = Tokenizer.from_file(path)
        CFG = train_tiny.tiny_config(vocab_size_of(path))


def layout():
    return Layout(TOK, CFG.tile_size, CFG.tokens_per_tile, train_tiny.SAM_IMAGE_SIZE)


def sample(task):
    # training seeds only (>= 1,000,000)
    return records.train_sample(next(i for i in range(200)
                                     if records.make_sample(records.TRAIN_SEED_BASE + i)
                                     ["task_type"] == task))


class TeacherForcedLayout(unittest.TestCase):
    def test_regions_follow_each_seg_as_the_loop_feeds_them(self):
        s = sample("CR")  # two [SEG]s, single image
        e = make_example(s, layout())
        lay = layout()
        ids = e.ids.tolist()
        self.assertEqual(len(e.seg_positions), len(s["masks"]))
        grid_rows = []
        for k, p in enumerate(e.seg_positions):
            self.assertEqual(ids[p], lay.seg)
            from terrascope_ref import preprocess
            grid = preprocess.choose_tile_grid(128, 128, CFG.tile_size)
            want = [int(i) for i in regions.select_region_tokens(
                s["masks"][k], grid, CFG.tile_size, 4, 8)]
            n = len(want)
            self.assertEqual(ids[p + 1:p + 1 + n], [lay.region] * n)
            self.assertNotEqual(ids[p + 1 + n], lay.region)
            rows = [int(e.region_rows[i]) for i, q in enumerate(e.region_positions.tolist())
                    if p < q <= p + n]
            self.assertEqual(rows, want)
            grid_rows.extend(want)
            # <REGION> ids are fed, never chosen: no loss on them; the [SEG] itself is a target
            self.assertTrue(all(int(e.labels[q - 1]) == IGNORE for q in range(p + 1, p + 1 + n)))
            self.assertEqual(int(e.labels[p - 1]), lay.seg)
            # the token after the regions is predicted from the last region position
            self.assertEqual(int(e.labels[p + n]), ids[p + n + 1])
        self.assertEqual(ids[-1], lay.im_end)
        self.assertEqual(int(e.labels[-2]), lay.im_end)
        self.assertTrue(e.seg_targets.shape[1:] == (train_tiny.SAM_IMAGE_SIZE // 4,) * 2)

    def test_series_regions_come_from_frame_seg_count_mod_frames(self):
        s = sample("BCE")
        e = make_example(s, layout())
        nt = CFG.tokens_per_tile
        rows = e.region_rows.tolist()
        first = [r for r, q in zip(rows, e.region_positions.tolist()) if q < e.seg_positions[1]]
        second = [r for r, q in zip(rows, e.region_positions.tolist()) if q > e.seg_positions[1]]
        self.assertTrue(first and all(r < nt for r in first))
        self.assertTrue(second and all(nt <= r < 2 * nt for r in second))
        self.assertEqual(e.seg_frames, s["mask_frames"])


class StageTargets(unittest.TestCase):
    def test_mask_kinds_name_what_each_mask_shows(self):
        for task in ("CA", "CR", "DM", "SEG"):
            s = sample(task)
            kinds = mask_kinds(s)
            self.assertEqual(len(kinds), len(s["masks"]))
            for kind, mask in zip(kinds, s["masks"]):
                self.assertTrue(((s["labels"] == kind) == mask).all(), task)
        self.assertEqual(mask_kinds(sample("BCE")), [BUILDINGS_BEFORE, BUILDINGS_DESTROYED])

    def test_token_fractions_are_the_class_shares_under_each_vision_row(self):
        lay = layout()
        for task in ("CA", "BCE"):  # one tile of 128x128 (single), one tile per frame (series)
            s = sample(task)
            e = make_example(s, lay)
            n = e.pixels.shape[0] * CFG.tokens_per_tile
            self.assertEqual(tuple(e.token_fractions.shape), (n, 6))
            torch.testing.assert_close(e.token_fractions.sum(1), torch.ones(n))
            # brute force: a 128 px scene on a 4x4 token grid is 32x32 pixel cells
            labels = torch.from_numpy(s["labels"].astype("int64"))
            for row in range(CFG.tokens_per_tile):
                r, c = divmod(row, 4)
                cell = labels[32 * r:32 * r + 32, 32 * c:32 * c + 32]
                want = torch.bincount(cell.reshape(-1), minlength=6).float() / cell.numel()
                torch.testing.assert_close(e.token_fractions[row], want)

    def test_tail_positions_cover_the_finding_after_the_last_region(self):
        lay = layout()
        e = make_example(sample("CR"), lay)
        last_region = int(e.region_positions.max())
        self.assertTrue(e.tail_positions)
        self.assertEqual(min(e.tail_positions), last_region)  # predicts the first word after it
        ids = e.ids.tolist()
        answer_start = len(ids) - 1 - ids[::-1].index(lay.answer_start)  # the assistant's
        self.assertEqual(max(e.tail_positions), answer_start - 2)  # up to </think>
        self.assertTrue(all(p < min(e.answer_positions) for p in e.tail_positions))
        answer = lay.tokenizer.decode([int(e.ids[p + 1]) for p in e.answer_positions])
        self.assertEqual(answer.strip(), sample("CR")["answer"])  # the letter (and its spaces)
        text = lay.tokenizer.decode(e.ids[min(e.tail_positions) + 1:answer_start].tolist())
        self.assertRegex(text, r"^\. The .* is (larger|smaller)\.</think>$")


    def test_token_counts_are_the_buildings_each_frame_shows_under_each_row(self):
        s = sample("BCE")
        e = make_example(s, layout())
        n = CFG.tokens_per_tile
        self.assertEqual(tuple(e.token_counts.shape), (2 * n, 2))
        pre, post = e.token_counts[:n], e.token_counts[n:]
        meta = s["meta"]
        self.assertEqual(float(pre[:, 0].sum()), meta["buildings_pre"])
        self.assertEqual(float(pre[:, 1].sum()), 0.0)  # no rubble before the event
        self.assertEqual(float(post[:, 1].sum()), meta["destroyed"])
        self.assertEqual(float(post[:, 0].sum()),
                         meta["buildings_pre"] - meta["destroyed"] + meta["buildings_new"])
        # each destroyed building sits in the cell of its centre, on the post frame's rows
        side = int(round(n ** 0.5))
        h, w = s["frames"][0].shape[:2]
        for cy, cx in meta["centres"]["rubble"]:
            self.assertGreaterEqual(float(post[int(cy * side / h) * side + int(cx * side / w), 1]),
                                    1.0)
        self.assertIsNone(make_example(sample("CA"), layout()).token_counts)


    def test_token_distances_minimum_is_the_distance_dm_asks_for(self):
        from synth import tasks
        from terrascope_ref.train_losses import (DISTANCE_CAP, DISTANCE_UNIT_PX,
                                                 class_distance_maps, token_distances)
        # the exact distance transform against brute force on random class maps
        rng = np.random.default_rng(3)
        for _ in range(5):
            labels = rng.integers(0, 6, (12, 16)) * (rng.random((12, 16)) < 0.3)
            maps = class_distance_maps(labels)
            for c in range(6):
                pts = np.argwhere(labels == c)
                for y, x in [(0, 0), (5, 7), (11, 15)]:
                    want = np.sqrt(((pts - [y, x]) ** 2).sum(1)).min() if len(pts) else np.inf
                    self.assertAlmostEqual(maps[c, y, x], want, places=9)
        s = sample("DM")
        e = make_example(s, layout())
        n = CFG.tokens_per_tile
        images = 2 if s["sar"] is not None else 1
        self.assertEqual(tuple(e.token_distances.shape), (images * n, 36))
        a, b = s["meta"]["classes"]
        want = tasks.min_distance_px(s["labels"] == a, s["labels"] == b) / DISTANCE_UNIT_PX
        got = float(e.token_distances[:, a * 6 + b].min())
        self.assertAlmostEqual(got, min(want, DISTANCE_CAP), places=5)
        self.assertAlmostEqual(float(e.token_distances[:, b * 6 + a].min()), got, places=5)
        self.assertIsNone(make_example(sample("CA"), layout()).token_distances)
        self.assertIsNone(token_distances(sample("BCE"), "series", 2, 4))
        self.assertIsNone(token_distances(s, "single", 4, 4))  # a multi-tile layout: no target


class BatchedForward(unittest.TestCase):
    def test_padded_batch_with_shared_prefix_equals_forward_full(self):
        torch.manual_seed(0)
        lm = TerraScope(CFG).language_model.eval()
        d = CFG.llm.hidden_size
        prefix = torch.randn(5, d)
        seqs = [torch.cat([prefix, torch.randn(n, d)]) for n in (7, 3)]
        batch = torch.stack([torch.nn.functional.pad(s, (0, 0, 0, 12 - s.shape[0]))
                             for s in seqs])
        with torch.no_grad():
            logits, hidden = llm_forward_batch(lm, batch, prefix_len=5)
            for i, s in enumerate(seqs):
                ref_logits, ref_hidden = lm.forward_full(s)
                n = s.shape[0]
                torch.testing.assert_close(logits[i, :n], ref_logits, atol=1e-5, rtol=1e-5)
                torch.testing.assert_close(hidden[i, :n], ref_hidden, atol=1e-5, rtol=1e-5)

    def test_common_prefix_stops_before_the_image(self):
        lay = layout()
        a, b = make_example(sample("CA"), lay), make_example(sample("SEG"), lay)
        p = common_prefix([a, b])
        self.assertGreater(p, 20)  # template + instruction
        self.assertLessEqual(p, int(a.image_positions[0]))
        self.assertTrue(torch.equal(a.ids[:p], b.ids[:p]))


SHIM_CHECK = r"""
import ctypes, sys, torch
torch.manual_seed(0)
a, b = torch.randn(37, 53), torch.randn(53, 29)
want = a.double() @ b.double()
err = max(float((a @ b - want).abs().max()), float((a.t().contiguous().t() @ b - want).abs().max()),
          float((a @ b.t().contiguous().t() - want).abs().max()))
x, y = torch.randn(4, 37, 53), torch.randn(4, 53, 29)
err = max(err, float((torch.bmm(x, y) - torch.bmm(x.double(), y.double())).abs().max()))
lin = torch.nn.Linear(300, 200)
inp = torch.randn(40, 300, requires_grad=True)
lin(inp).square().sum().backward()
lin64 = torch.nn.Linear(300, 200).double()
lin64.load_state_dict(lin.state_dict())
inp64 = inp.detach().double().requires_grad_()
lin64(inp64).square().sum().backward()
err = max(err, float((inp.grad - inp64.grad).abs().max() / inp64.grad.abs().max()),
          float((lin.weight.grad - lin64.weight.grad).abs().max() / lin64.weight.grad.abs().max()))
calls = ctypes.c_ulonglong.in_dll(ctypes.CDLL(sys.argv[1]), "terrascope_sgemm_onednn_calls").value
print(err, calls)
"""


class OneDnnGemmShim(unittest.TestCase):
    def test_products_go_through_onednn_and_match_float64(self):
        with tempfile.TemporaryDirectory() as tmp:
            lib = os.path.join(tmp, "libonednn_sgemm.so")
            subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", lib,
                            os.path.join(TOOLS, "onednn_sgemm.c"), "-ldl"], check=True)
            env = dict(os.environ, LD_PRELOAD=lib, OMP_NUM_THREADS="1")
            out = subprocess.run([sys.executable, "-c", SHIM_CHECK, lib], env=env, check=True,
                                 capture_output=True, text=True).stdout.split()
        err, calls = float(out[0]), int(out[1])
        self.assertLess(err, 1e-5)
        # matmul, bmm, the Linear forward and its two backward products at least
        self.assertGreaterEqual(calls, 5)


class ReplayBatches(unittest.TestCase):
    def test_fresh_examples_lead_and_the_rest_come_from_recent_memory(self):
        replay = train_tiny.Replay(size=5, seed=3)
        seen = []
        for step in range(6):
            fresh = [step * 2, step * 2 + 1]
            batch = replay.batch(fresh, 6)
            self.assertEqual(batch[:2], fresh)
            self.assertEqual(len(batch), 6)
            recent = set(range(max(0, step * 2 + 2 - 5), step * 2 + 2))  # the last 5 examples
            self.assertTrue(set(batch[2:]) <= recent, (step, batch, recent))
            seen.append(batch)
        # seeded: the same draws again; full fresh batches pass through unchanged
        again = train_tiny.Replay(size=5, seed=3)
        self.assertEqual([again.batch([s * 2, s * 2 + 1], 6) for s in range(6)], seen)
        self.assertEqual(train_tiny.Replay(4, 0).batch([7, 8, 9], 3), [7, 8, 9])
        self.assertNotEqual(seen[-1][2:], [seen[-1][0]] * 4)  # draws vary


class SampleJitter(unittest.TestCase):
    def test_jitter_changes_only_the_chosen_samples_pixels(self):
        plain = train_tiny.SampleSet(layout(), 12)
        jittered = train_tiny.SampleSet(layout(), 12, jitter=0.5)
        changed = 0
        for i in range(12):
            a, b = plain[i], jittered[i]
            ref = make_example(records.train_sample(i), layout())
            torch.testing.assert_close(a.pixels, ref.pixels, rtol=0, atol=0)  # jitter 0: as before
            self.assertEqual(b.ids.tolist(), a.ids.tolist())  # text and targets unchanged
            torch.testing.assert_close(b.seg_targets, a.seg_targets, rtol=0, atol=0)
            torch.testing.assert_close(jittered[i].sam_inputs, b.sam_inputs, rtol=0, atol=0)
            if not torch.equal(a.sam_inputs, b.sam_inputs):
                changed += 1
                self.assertFalse(torch.equal(a.pixels, b.pixels))  # the vision tiles too
        self.assertTrue(2 <= changed <= 10, changed)  # about half


class TrainingSteps(unittest.TestCase):
    def test_mask_loss_gradient_flows_through_the_seg_path(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        batch = [make_example(sample("SEG"), layout())]
        out = batch_losses(model, batch, lm_weight=0.0)  # the [SEG] path alone
        out["loss"].backward()
        for name in ("text_hidden_fcs.0.weight", "language_model.model.layers.0.mlp.up_proj.weight",
                     "grounding_encoder.sam2_model.image_encoder.trunk.patch_embed.proj.weight"):
            grad = dict(model.named_parameters())[name].grad
            self.assertIsNotNone(grad, name)
            self.assertGreater(float(grad.abs().sum()), 0.0, name)

    def test_sam_stage_learns_masks_from_kind_embeddings(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        lay = layout()
        batch = [make_example(sample(t), lay) for t in ("SEG", "CR")]
        table = torch.nn.Parameter(torch.randn(NUM_MASK_KINDS, 64) * 0.5)
        opt = torch.optim.AdamW(list(model.grounding_encoder.parameters()) + [table], lr=1e-3)
        first = float(sam_stage_losses(model, batch, table)["mask"])
        for _ in range(12):
            out = sam_stage_losses(model, batch, table)
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
        self.assertIsNotNone(table.grad)
        self.assertLess(float(sam_stage_losses(model, batch, table)["mask"]), first)

    def test_alignment_and_probe_losses_train_their_targets(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        batch = [make_example(sample("SEG"), layout())]
        table = torch.randn(NUM_MASK_KINDS, 64)
        probe = torch.nn.Linear(CFG.llm.hidden_size, 6)
        out = batch_losses(model, batch, kind_table=table, align_weight=1.0, probe=probe,
                           probe_weight=1.0)
        self.assertIn("align", out)
        self.assertIn("probe", out)
        out["loss"].backward()
        self.assertGreater(float(probe.weight.grad.abs().sum()), 0.0)
        for name in ("text_hidden_fcs.2.weight", "vision_model.embeddings.patch_embedding.weight"):
            self.assertGreater(float(dict(model.named_parameters())[name].grad.abs().sum()), 0.0)

    def test_count_probe_trains_on_building_change_pairs_only(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        count_probe = torch.nn.Linear(CFG.llm.hidden_size, 2)
        out = batch_losses(model, [make_example(sample("CA"), layout())],
                           count_probe=count_probe, count_probe_weight=1.0)
        self.assertNotIn("count", out)
        batch = [make_example(sample("CA"), layout()), make_example(sample("BCE"), layout())]
        out = batch_losses(model, batch, count_probe=count_probe, count_probe_weight=1.0)
        self.assertIn("count", out)
        out["loss"].backward()
        self.assertGreater(float(count_probe.weight.grad.abs().sum()), 0.0)
        name = "vision_model.embeddings.patch_embedding.weight"
        self.assertGreater(float(dict(model.named_parameters())[name].grad.abs().sum()), 0.0)

    def test_distance_probe_trains_on_distance_questions_only(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        head = torch.nn.Linear(CFG.llm.hidden_size, 36)
        out = batch_losses(model, [make_example(sample("CR"), layout())], distance_probe=head,
                           distance_probe_weight=1.0)
        self.assertNotIn("distance", out)
        out = batch_losses(model, [make_example(sample("DM"), layout())], distance_probe=head,
                           distance_probe_weight=1.0)
        self.assertIn("distance", out)
        out["loss"].backward()
        self.assertGreater(float(head.weight.grad.abs().sum()), 0.0)

    def test_lot_probe_learns_each_vision_rows_place(self):
        # DM's reasoning names the lot (row, column) of each object's one <REGION> row; the probe
        # teaches the vision rows where their token lies: row-major in its tile, as
        # regions.select_region_tokens numbers them. Both frames of a series count.
        torch.manual_seed(0)
        model = TerraScope(CFG)
        side = int(round(CFG.tokens_per_tile ** 0.5))
        head = torch.nn.Linear(CFG.llm.hidden_size, 2 * side)
        batch = [make_example(sample("BCE"), layout()), make_example(sample("DM"), layout())]
        opt = torch.optim.AdamW(list(head.parameters()) + list(model.vision_model.parameters())
                                + list(model.mlp1.parameters()), lr=3e-3)
        first = None
        for _ in range(40):
            out = batch_losses(model, batch, lm_weight=0.0, mask_weight=0.0, lot_probe=head,
                               lot_probe_weight=1.0)
            first = float(out["lot"]) if first is None else first
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
        self.assertLess(float(out["lot"]), 0.5 * first)
        with torch.no_grad():
            vis = model.extract_feature(torch.cat([e.pixels for e in batch], 0))
            logits = head(vis.reshape(-1, vis.shape[-1]))
        self.assertGreaterEqual(vis.shape[0], 3)  # the two frames, the optical image (and SAR)
        index = torch.arange(side * side).repeat(vis.shape[0])
        self.assertGreater(float((logits[:, :side].argmax(-1) == index // side).float().mean()), 0.9)
        self.assertGreater(float((logits[:, side:].argmax(-1) == index % side).float().mean()), 0.9)

    def test_a_few_steps_lower_language_and_mask_losses(self):
        torch.manual_seed(0)
        model = TerraScope(CFG)
        lay = layout()
        batch = [make_example(sample(t), lay) for t in ("SEG", "CA")]
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
        first = None
        for _ in range(12):
            out = batch_losses(model, batch)
            if first is None:
                first = {k: float(v) for k, v in out.items()}
            opt.zero_grad()
            out["loss"].backward()
            opt.step()
        last = batch_losses(model, batch)
        self.assertLess(float(last["lm"]), 0.7 * first["lm"])
        self.assertLess(float(last["mask"]), first["mask"])


if __name__ == "__main__":
    unittest.main()
