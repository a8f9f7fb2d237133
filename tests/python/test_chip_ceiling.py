"""tools/chip_ceiling.py: each half of the chip is predicted only by a net trained on the other."""
import functools
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import chip_ceiling  # noqa: E402
import make_tiny_tokenizer  # noqa: E402
import train_tiny  # noqa: E402
from make_tiny_bundle import vocab_size_of  # noqa: E402
from terrascope_ref.model import TerraScope  # noqa: E402


def colour_net(rgb):
    return functools.partial(chip_ceiling.NetHead, rgb, "pixel", 8)


class ChipCeiling(unittest.TestCase):
    def test_halves_split_the_grid(self):
        for axis in (0, 1):
            a, b = chip_ceiling.half_masks((6, 8), axis)
            self.assertTrue((a ^ b).all())
            self.assertEqual(a.sum(), 24)
        left, _ = chip_ceiling.half_masks((6, 8), 1)
        self.assertTrue(left[:, :4].all() and not left[:, 4:].any())

    def test_colour_rule_learnt_on_one_half_predicts_the_other(self):
        # water is blue wherever it is: a colour net trained on either half finds it in the other
        rng = np.random.default_rng(0)
        label = (rng.random((16, 16)) < 0.4).astype(np.int16)
        rgb = np.where(label[None] == 1, np.array([0.1, 0.2, 0.6])[:, None, None], 0.5)
        rgb = rgb + rng.normal(0, 0.02, rgb.shape)
        pred = chip_ceiling.held_out_mask(colour_net(rgb), label, 1, 300, 0)
        self.assertTrue((pred == label).all())

    def test_held_out_half_never_sees_its_own_labels(self):
        # opposite rules in the two halves: on the left bright is water and dark is dry land, on
        # the right dark is water and bright is dry land
        rgb = np.full((3, 16, 16), 0.2)
        rgb[:, :8, :8] = 0.8
        rgb[:, 8:, 8:] = 0.8
        label = np.zeros((16, 16), np.int16)
        label[:8, :8] = 1
        label[:8, 8:] = 1
        pred = chip_ceiling.held_out_mask(colour_net(rgb), label, 1, 300, 0)
        # each half follows the other half's rule, so every pixel comes out wrong
        self.assertTrue((pred == 1 - label).all())

    def test_linear_rule_finds_a_colour_boundary_and_its_sign(self):
        # water darker than land in blue only: the fitted weight on blue is negative and the rule
        # separates them exactly
        rng = np.random.default_rng(1)
        label = (rng.random((20, 20)) < 0.3).astype(np.int16)
        label[0, :5] = -1  # ignored pixels are neither trained on nor scored
        rgb = np.full((3, 20, 20), 0.4) + rng.normal(0, 0.01, (3, 20, 20))
        rgb[2][label == 1] -= 0.2
        iou, weights = chip_ceiling.whole_chip_linear(rgb, label, 200)
        self.assertEqual(iou, 1.0)
        self.assertLess(weights[2], 0)
        self.assertGreater(abs(weights[2]), 5 * max(abs(weights[0]), abs(weights[1])))

    def test_sam_head_trains_on_its_half_and_predicts_the_whole_chip(self):
        # terrascope-tiny's SAM-2 from a checkpoint (random weights here) and a kind embedding
        torch.manual_seed(0)
        with tempfile.TemporaryDirectory() as tmp:
            tok = os.path.join(tmp, "tokenizer.json")
            make_tiny_tokenizer.write_tiny_tokenizer(tok)
            cfg = train_tiny.tiny_config(vocab_size_of(tok))
            ck = os.path.join(tmp, "ck")
            kinds = torch.randn(8, TerraScope(cfg).text_hidden_fcs[2].out_features)
            train_tiny.save(TerraScope(cfg), cfg, ck, tok, kind_table=kinds)
            label = np.zeros((48, 64), np.int16)
            label[:, 10:30] = 1
            rgb = np.full((3, 48, 64), 0.6)
            rgb[:, label == 1] = np.array([0.1, 0.2, 0.4])[:, None]
            head = chip_ceiling.SamHead(rgb, ck, os.path.join(ck, "mask_kinds.pt"))
            torch.testing.assert_close(head.emb.detach(), kinds[chip_ceiling.WATER_KIND])
            left, _ = chip_ceiling.half_masks(label.shape, 1)
            sel = torch.tensor(left)
            target = torch.tensor(label == 1, dtype=torch.float32)[sel]
            opt = torch.optim.Adam(head.parameters(), 1e-3)
            losses = []
            for _ in range(15):
                loss = head.loss(sel, target)
                opt.zero_grad()
                loss.backward()
                opt.step()
                losses.append(loss.item())
            self.assertLess(losses[-1], 0.8 * losses[0])
            pred = head.predict()
            self.assertEqual((pred.dtype, pred.shape), (np.dtype(bool), label.shape))
            # and through held_out_mask: a 0/1 mask on the chip's grid
            out = chip_ceiling.held_out_mask(
                functools.partial(chip_ceiling.SamHead, rgb, ck, os.path.join(ck, "mask_kinds.pt")),
                label, 0, 2, 0)
            self.assertEqual((out.dtype, out.shape), (np.dtype(np.uint8), label.shape))
            self.assertTrue(set(np.unique(out)) <= {0, 1})


if __name__ == "__main__":
    unittest.main()
