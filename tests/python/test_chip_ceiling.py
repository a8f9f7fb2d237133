"""tools/chip_ceiling.py: each half of the chip is predicted only by a net trained on the other."""
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402

import chip_ceiling  # noqa: E402


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
        pred = chip_ceiling.held_out_mask(rgb, label, "pixel", 1, 300, 8, 0)
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
        pred = chip_ceiling.held_out_mask(rgb, label, "pixel", 1, 300, 8, 0)
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


if __name__ == "__main__":
    unittest.main()
