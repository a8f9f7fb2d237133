"""The reference loop on the tiny bundle: the [SEG] path, masks, region caps, policies, golden
files, eager model == exported bundle, sampling."""
import json
import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

import testdata_bundles  # noqa: E402
from terrascope_ref import golden_inputs as gi  # noqa: E402
from terrascope_ref import loop, preprocess  # noqa: E402
from terrascope_ref.bundle import Bundle  # noqa: E402
from terrascope_ref.sampling import Sampler, SplitMix64  # noqa: E402

DATA = None
BUNDLE = None


def setUpModule():
    global DATA, BUNDLE
    DATA = testdata_bundles.ensure()
    BUNDLE = Bundle(DATA["bundle"])


def ask(modules, images, sar=None, policies=None, max_new_tokens=48, **kw):
    return loop.run(modules, BUNDLE.spec(), BUNDLE.tokenizer, BUNDLE.token_ids(), images,
                    "How much of the image is water?", sar=sar, policies=policies,
                    max_new_tokens=max_new_tokens, **kw)


class FullMaskModules:
    """The bundle, except that SAM-2 answers "everything" (a mask covering the whole image)."""

    def __init__(self, inner):
        self.inner = inner

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def sam_decode(self, feat, hr0, hr1, lang):
        mask, iou, score = self.inner.sam_decode(feat, hr0, hr1, lang)
        return torch.full_like(mask, 10.0), iou, score


def eager_model(checkpoint):
    """The eager reference model straight from the checkpoint (not through the exporter)."""
    from terrascope_ref.model import TerraScope, TerraScopeConfig
    from terrascope_ref.safetensors_io import load_file
    with open(os.path.join(checkpoint, "config.json"), encoding="utf-8") as f:
        cfg = TerraScopeConfig.from_checkpoint_config(json.load(f))
    model = TerraScope(cfg)
    model.load_state_dict(load_file(os.path.join(checkpoint, "model.safetensors")), strict=True)
    return model.eval()


class LoopOnTinyBundle(unittest.TestCase):
    def test_single_image_triggers_seg_with_masks_of_image_size(self):
        image = gi.landsat_crop()
        result = ask(BUNDLE, [image])
        self.assertGreaterEqual(len(result.segs), 2)
        ids = BUNDLE.token_ids()
        self.assertEqual(result.output_ids.count(ids["seg"]), len(result.segs))
        self.assertEqual(result.output_ids.count(ids["region"]),
                         sum(len(s.region_indices) for s in result.segs))
        spec = BUNDLE.spec()
        grid = preprocess.choose_tile_grid(300, 180, spec.tile_size, spec.min_tiles,
                                           spec.max_tiles, spec.use_thumbnail)
        self.assertTrue(grid.thumbnail and grid.cols * grid.rows > 1)
        tiled_tokens = grid.cols * grid.rows * spec.tokens_per_tile
        for seg in result.segs:
            self.assertEqual(len(seg.masks), 1)
            self.assertEqual(seg.masks[0].shape, (180, 300))
            self.assertEqual(seg.masks[0].dtype, np.bool_)
            self.assertTrue(1 <= len(seg.region_indices) <= 8)
            # never a thumbnail token
            self.assertTrue(all(0 <= i < tiled_tokens for i in seg.region_indices))
        self.assertIn("[SEG]", result.text)
        self.assertEqual(result.text, BUNDLE.tokenizer.decode(result.output_ids).strip())

    def test_region_cap_paper_selects_more_than_release_on_a_big_mask(self):
        full = FullMaskModules(BUNDLE)
        image = gi.landsat_crop()
        release = ask(full, [image], policies={"region_cap": 8}, max_new_tokens=8)
        paper = ask(full, [image], policies={"region_cap": 128, "region_selection": "paper"},
                    max_new_tokens=8)
        spec = BUNDLE.spec()
        tiled_tokens = 3 * 2 * spec.tokens_per_tile
        self.assertTrue(release.segs and paper.segs)
        self.assertEqual(len(release.segs[0].region_indices), 8)
        # A full mask qualifies every tiled token; 96 < 128, so all of them, in order.
        self.assertEqual(paper.segs[0].region_indices, list(range(tiled_tokens)))
        self.assertTrue(paper.segs[0].masks[0].all())

    def test_indicator_and_alternation_pick_different_frames(self):
        frames = gi.marburg_series()
        release = ask(BUNDLE, frames, policies={"frame_choice": "release"})
        indicator = ask(BUNDLE, frames, policies={"frame_choice": "indicator"})
        self.assertGreaterEqual(len(release.segs), 3)
        self.assertGreaterEqual(len(indicator.segs), 3)
        self.assertEqual([s.frame for s in release.segs],
                         [i % 2 for i in range(len(release.segs))])
        # The random model writes no "Image: t2", so the indicator policy stays on frame 1 (t1).
        self.assertEqual({s.frame for s in indicator.segs}, {0})
        nt = BUNDLE.spec().tokens_per_tile
        for seg in release.segs:
            self.assertEqual(len(seg.masks), 2)
            for mask in seg.masks:
                self.assertEqual(mask.shape, (41, 41))
            lo = seg.frame * nt
            self.assertTrue(all(lo <= i < lo + nt for i in seg.region_indices))
        # The indicator prompt names the frames.
        prompt = BUNDLE.tokenizer.decode(indicator.prompt_ids)
        self.assertIn("Image: t1\n<img>", prompt)
        self.assertIn("Image: t2\n<img>", prompt)
        self.assertNotIn("Image: t1", BUNDLE.tokenizer.decode(release.prompt_ids))

    def test_frame_indicator_in_generated_text_selects_that_frame(self):
        self.assertEqual(loop._frame_from_indicators("<think>Image: t2 the field [SEG]", 2), 1)
        self.assertEqual(loop._frame_from_indicators("Image: t2 a, Image: t1 b", 2), 0)
        self.assertEqual(loop._frame_from_indicators("no indicator", 3), 0)
        self.assertEqual(loop._frame_from_indicators("Image: t9", 2), 1)

    def test_adaptive_sar_picks_rows_per_position(self):
        optical, sar = gi.rotterdam_pair()
        release = ask(BUNDLE, [optical], sar=sar, dump=True)
        adaptive = ask(BUNDLE, [optical], sar=sar, policies={"sar_fusion": "adaptive"},
                       dump=True)
        concat = ask(BUNDLE, [optical], sar=sar, policies={"sar_fusion": "concat"})
        nt = BUNDLE.spec().tokens_per_tile
        opt = release.segs[0].region_indices
        self.assertTrue(all(i < nt for i in opt))
        self.assertEqual(release.segs[0].modality, "optical")
        # Same prefix up to the first [SEG]: same mask, same positions.
        self.assertTrue(np.array_equal(release.segs[0].masks[0], adaptive.segs[0].masks[0]))
        picked = adaptive.segs[0].region_indices
        self.assertEqual(len(picked), len(opt))
        for o, p in zip(opt, picked):
            self.assertIn(p, (o, o + nt))
        # Independent Eq. 4-5 in numpy (float64) on the dumped rows and the prompt's text tokens.
        vit = adaptive.dump["vit_embeds"].double().numpy()
        ids = torch.tensor(adaptive.prompt_ids)
        text = BUNDLE.embed(ids[ids != BUNDLE.token_ids()["img_context"]]).double().numpy()

        def beta(rows):
            s = rows @ text.T / np.sqrt(text.shape[1])
            e = np.exp(s - s.max(axis=0, keepdims=True))
            return (e / e.sum(axis=0, keepdims=True)).mean(axis=1)

        b_opt, b_sar = beta(vit[opt]), beta(vit[[o + nt for o in opt]])
        expected = [o + nt if bs > bo else o for o, bo, bs in zip(opt, b_opt, b_sar)]
        self.assertEqual(picked, expected)
        # concat feeds both rows: K optical then K SAR.
        self.assertEqual(concat.segs[0].region_indices, opt + [o + nt for o in opt])
        self.assertEqual(concat.segs[0].modality, "both")

    def test_adaptive_rows_choose_the_row_with_more_attention(self):
        d = 4
        vit = torch.zeros(8, d)
        query = torch.tensor([[1.0, 0, 0, 0], [1.0, 0, 0, 0]])
        vit[0, 0], vit[1, 0] = 5.0, -5.0   # optical rows at positions 0 and 1
        vit[4, 0], vit[5, 0] = -5.0, 5.0   # SAR rows at the same positions
        self.assertEqual(loop._adaptive_rows(vit, [0, 1], [4, 5], query), [0, 5])

    def test_release_mask_is_double_bilinear_upsample_of_sam_logits(self):
        result = ask(BUNDLE, [gi.landsat_crop()], dump=True, max_new_tokens=12)
        logits = result.dump["mask_logits"][0].float()
        s = BUNDLE.spec().sam_image_size
        full = torch.nn.functional.interpolate(logits, size=(s, s), mode="bilinear",
                                               align_corners=False)
        up = torch.nn.functional.interpolate(full, size=(180, 300), mode="bilinear",
                                             align_corners=False)
        self.assertTrue(np.array_equal(result.segs[0].masks[0], (up[0, 0] > 0).numpy()))

    def test_recomputing_sam_per_seg_changes_nothing(self):
        image = gi.landsat_crop()
        once = ask(BUNDLE, [image])
        every = ask(BUNDLE, [image], recompute_sam_per_seg=True)
        self.assertEqual(once.output_ids, every.output_ids)
        for a, b in zip(once.segs, every.segs):
            self.assertTrue(np.array_equal(a.masks[0], b.masks[0]))

    def test_seg_rounds_limit_ends_after_the_region_feed(self):
        spec = BUNDLE.spec()
        spec.max_seg_rounds = 2
        result = loop.run(BUNDLE, spec, BUNDLE.tokenizer, BUNDLE.token_ids(),
                          [gi.landsat_crop()], "How much of the image is water?",
                          max_new_tokens=400)
        self.assertEqual(result.stop_reason, "max_seg_rounds")
        self.assertEqual(len(result.segs), 2)
        region = BUNDLE.token_ids()["region"]
        self.assertEqual(result.output_ids[-1], region)

    def test_without_region_injection_nothing_is_fed_and_positions_stay_contiguous(self):
        calls = []

        class Recording:
            def __getattr__(self, name):
                return getattr(BUNDLE, name)

            def step(self, embeds, start, cache):
                calls.append((int(start), embeds.shape[0]))
                return BUNDLE.step(embeds, start, cache)

        ids = BUNDLE.token_ids()
        result = ask(Recording(), [gi.landsat_crop()], inject_regions=False)
        self.assertGreaterEqual(len(result.segs), 1)
        self.assertTrue(all(len(s.masks) == 1 for s in result.segs))
        self.assertNotIn(ids["region"], result.output_ids)
        # After the prefill one token per step, each at the position after the last: no rows,
        # and no gap where the rows would have gone (the engine's --no-region-injection).
        self.assertTrue(all(n == 1 for _, n in calls[1:]), calls)
        for (start, n), (next_start, _) in zip(calls, calls[1:]):
            self.assertEqual(next_start, start + n)
        self.assertEqual(len(calls) - 1, len(result.output_ids))  # each output token fed once
        injected = ask(BUNDLE, [gi.landsat_crop()])
        self.assertIn(ids["region"], injected.output_ids)

    def test_bad_policy_and_prompt_are_refused(self):
        with self.assertRaisesRegex(loop.LoopError, "frame_choice"):
            ask(BUNDLE, [gi.landsat_crop()], policies={"frame_choice": "sometimes"})
        with self.assertRaisesRegex(loop.LoopError, "IMG_CONTEXT"):
            loop.run(BUNDLE, BUNDLE.spec(), BUNDLE.tokenizer, BUNDLE.token_ids(),
                     [gi.landsat_crop()], "<image> and <image>", raw_query=True)


class GoldenFiles(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(DATA["golden"], "cases.json"), encoding="utf-8") as f:
            self.cases = json.load(f)

    def load_inputs(self, case):
        images = [gi.read_rgb(os.path.join(DATA["golden"], p)) for p in case["images"]]
        sar = gi.read_rgb(os.path.join(DATA["golden"], case["sar"])) if case["sar"] else None
        return images, sar

    def test_cases_cover_every_mode_and_exercise_seg_and_stop(self):
        names = [c["name"] for c in self.cases]
        self.assertEqual(names, ["single_release", "single_paper", "sar_release", "sar_adaptive",
                                 "series_release", "series_indicator"])
        for case in self.cases:
            self.assertGreaterEqual(len(case["segs"]), 2, case["name"])
            logits = gi.read_logits(os.path.join(DATA["golden"], case["first_logits"]))
            self.assertEqual(logits.shape[1], BUNDLE.tokenizer.vocab_size)
            # The first output token is the argmax of the first logits row (greedy).
            self.assertEqual(int(np.argmax(logits[0])), case["output_ids"][0])
        self.assertTrue(any(len(c["output_ids"]) < c["max_new_tokens"] and
                            c["output_ids"][-1] in BUNDLE.token_ids()["stop"]
                            for c in self.cases))

    def check_modules_reproduce_golden(self, modules):
        for case in self.cases:
            images, sar = self.load_inputs(case)
            result = loop.run(modules, BUNDLE.spec(), BUNDLE.tokenizer, BUNDLE.token_ids(),
                              images, case["question"], options=case["options"] or None,
                              sar=sar, policies=case["policies"],
                              max_new_tokens=case["max_new_tokens"])
            self.assertEqual(result.prompt_ids, case["prompt_ids"], case["name"])
            self.assertEqual(result.output_ids, case["output_ids"], case["name"])
            self.assertEqual(result.text, case["text"], case["name"])
            self.assertEqual(len(result.segs), len(case["segs"]))
            for seg, want in zip(result.segs, case["segs"]):
                self.assertEqual(seg.region_indices, want["region_indices"], case["name"])
                self.assertEqual(seg.frame, want["frame"])
                for mask, path in zip(seg.masks, want["masks"]):
                    golden = gi.read_mask(os.path.join(DATA["golden"], path))
                    self.assertTrue(np.array_equal(mask, golden), f"{case['name']} {path}")
            logits = gi.read_logits(os.path.join(DATA["golden"], case["first_logits"]))
            got = torch.stack(result.first_logits[:logits.shape[0]]).numpy()
            self.assertLess(float(np.abs(got - logits).max()), 1e-4, case["name"])

    def test_bundle_reproduces_golden(self):
        self.check_modules_reproduce_golden(BUNDLE)

    def test_eager_model_matches_exported_bundle(self):
        model = eager_model(DATA["checkpoint"])
        cache_len = BUNDLE.manifest["architecture"]["llm"]["cache_shape"][3]
        self.check_modules_reproduce_golden(loop.EagerModules(model, cache_len))

    def test_golden_images_are_the_real_inputs(self):
        case = self.cases[0]
        image = gi.read_rgb(os.path.join(DATA["golden"], case["images"][0]))
        self.assertEqual(image.size, (300, 180))
        self.assertTrue(np.array_equal(np.asarray(image), np.asarray(gi.landsat_crop())))


class PromptFormat(unittest.TestCase):
    def test_benchmark_query_is_instruction_image_question_and_sorted_options(self):
        from terrascope_ref import prompt
        query = prompt.build_query("Which is larger?", {"B": "the lake", "A": "the town"})
        self.assertEqual(query, prompt.INSTRUCTION + "<image>\nWhich is larger?\n"
                         "A. the town\nB. the lake\n")
        self.assertTrue(prompt.INSTRUCTION.startswith("A conversation between User and Assistant."))
        self.assertTrue(prompt.INSTRUCTION.endswith(
            "<think> reasoning process here </think><answer> answer here </answer>\n\n"))
        self.assertEqual(prompt.build_query("Q", ["x", "y"]),
                         prompt.INSTRUCTION + "<image>\nQ\nA. x\nB. y\n")

    def test_prompt_wraps_blocks_in_the_chat_template(self):
        from terrascope_ref import prompt
        text = prompt.build_prompt("<image>\nQ\n", [2, 1])
        self.assertEqual(text, "<|im_start|>user\n<img><IMG_CONTEXT><IMG_CONTEXT></img>\n"
                               "<img><IMG_CONTEXT></img>\nQ\n<|im_end|>\n<|im_start|>assistant\n")
        named = prompt.build_prompt("<image>Q", [1, 1], frame_indicators=True)
        self.assertIn("Image: t1\n<img><IMG_CONTEXT></img>\nImage: t2\n<img>", named)


class Sampling(unittest.TestCase):
    def test_splitmix64_reference_values(self):
        rng = SplitMix64(0)
        self.assertEqual(rng.next_u64(), 0xE220A8397B1DCDAF)
        self.assertEqual(rng.next_u64(), 0x6E789E6AA1B965F4)

    def test_greedy_takes_lowest_id_among_ties(self):
        self.assertEqual(Sampler().choose(torch.tensor([1.0, 3.0, 3.0, 2.0])), 1)

    def test_seeded_sampling_is_reproducible_and_top_k_one_is_greedy(self):
        logits = torch.randn(50, generator=torch.Generator().manual_seed(1))
        fresh = [Sampler(0.9, top_k=10, top_p=0.9, seed=7).choose(logits) for _ in range(3)]
        self.assertEqual(len(set(fresh)), 1)
        s1, s2 = Sampler(1.0, seed=3), Sampler(1.0, seed=3)
        self.assertEqual([s1.choose(logits) for _ in range(20)],
                         [s2.choose(logits) for _ in range(20)])
        self.assertEqual(Sampler(1.0, top_k=1, seed=5).choose(logits), int(torch.argmax(logits)))
        top5 = set(torch.topk(logits, 5).indices.tolist())
        s = Sampler(2.0, top_k=5, seed=11)
        self.assertTrue({s.choose(logits) for _ in range(50)} <= top5)

    def test_sampled_loop_is_reproducible(self):
        image = gi.landsat_crop()
        a = ask(BUNDLE, [image], sampler=Sampler(0.8, top_p=0.95, seed=3), max_new_tokens=24)
        b = ask(BUNDLE, [image], sampler=Sampler(0.8, top_p=0.95, seed=3), max_new_tokens=24)
        self.assertEqual(a.output_ids, b.output_ids)


if __name__ == "__main__":
    unittest.main()
