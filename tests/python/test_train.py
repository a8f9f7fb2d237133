"""Training of terrascope-tiny (tools/train_tiny.py, terrascope_ref/train_losses.py): the
teacher-forced layout matches the loop's, the batched LLM pass equals the reference forward_full,
gradients reach the model through the [SEG] path, a few steps lower both losses."""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import torch  # noqa: E402

import make_tiny_tokenizer  # noqa: E402
from make_tiny_bundle import vocab_size_of  # noqa: E402
import train_tiny  # noqa: E402
from synth import records  # noqa: E402
from terrascope_ref import regions  # noqa: E402
from terrascope_ref.model import TerraScope  # noqa: E402
from terrascope_ref.tokenizer import Tokenizer  # noqa: E402
from terrascope_ref.train_losses import (IGNORE, Layout, batch_losses, common_prefix,  # noqa: E402
                                         llm_forward_batch, make_example)

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
