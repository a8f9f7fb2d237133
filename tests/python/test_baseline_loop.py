"""The performance baseline (tools/baseline_loop.py): its release-like modules (attention over the
written cache slots only, as the release's dynamic Hugging Face cache) answer exactly as the
reference's static-cache modules, and the script's JSON reports the same answer."""
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stdout
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import torch  # noqa: E402

import baseline_loop  # noqa: E402
import testdata_bundles  # noqa: E402
from terrascope_ref import golden_inputs as gi  # noqa: E402
from terrascope_ref import loop  # noqa: E402

DATA = None


def setUpModule():
    global DATA
    DATA = testdata_bundles.ensure()


def golden_case():
    with open(os.path.join(DATA["golden"], "cases.json"), encoding="utf-8") as f:
        return next(c for c in json.load(f) if c["name"] == "single_release")


class ReleaseLikeModules(unittest.TestCase):
    def test_step_sees_only_the_written_slots(self):
        manifest, spec, modules, _ = baseline_loop.load(DATA["bundle"], DATA["checkpoint"])
        hidden = manifest["architecture"]["llm"]["hidden"]
        seen = []
        inner = loop.EagerModules.step

        def spy(self, embeds, start, cache):
            seen.append((int(start[0]), embeds.shape[0], cache.shape[3]))
            return inner(self, embeds, start, cache)

        cache = modules.new_cache()
        with mock.patch.object(loop.EagerModules, "step", spy), torch.no_grad():
            modules.step(torch.randn(5, hidden), torch.tensor([0]), cache)
            modules.step(torch.randn(1, hidden), torch.tensor([5]), cache)
        self.assertEqual(seen, [(0, 5, 5), (5, 1, 6)])
        # The writes went through the views into the whole static cache.
        self.assertEqual(cache.shape[3], spec.cache_shape[3])
        self.assertGreater(float(cache[..., :6, :].abs().sum()), 0.0)
        self.assertEqual(float(cache[..., 6:, :].abs().sum()), 0.0)

    def test_same_answer_and_logits_as_the_static_cache(self):
        case = golden_case()
        manifest, spec, modules, tokenizer = baseline_loop.load(DATA["bundle"], DATA["checkpoint"])
        ids = baseline_loop.token_ids(manifest, tokenizer)
        images = [gi.read_rgb(os.path.join(DATA["golden"], p)) for p in case["images"]]
        static = loop.EagerModules(modules.model, spec.cache_shape[3], spec.dtype)
        runs = [loop.run(m, spec, tokenizer, ids, images, case["question"], case["options"] or None,
                         max_new_tokens=case["max_new_tokens"], recompute_sam_per_seg=True)
                for m in (modules, static)]
        self.assertEqual(runs[0].output_ids, runs[1].output_ids)
        self.assertEqual(runs[0].output_ids, case["output_ids"])
        self.assertEqual(len(runs[0].first_logits), len(runs[1].first_logits))
        for a, b in zip(runs[0].first_logits, runs[1].first_logits):
            self.assertTrue(torch.equal(a, b))
        for a, b in zip(runs[0].segs, runs[1].segs):
            self.assertTrue((a.masks[0] == b.masks[0]).all())


class Script(unittest.TestCase):
    def test_json_holds_the_golden_answer(self):
        case = golden_case()
        with tempfile.TemporaryDirectory() as tmp:
            image = os.path.join(tmp, "scene.png")
            gi.read_rgb(os.path.join(DATA["golden"], case["images"][0])).save(image)
            options = [case["options"][k] for k in sorted(case["options"])]
            out = io.StringIO()
            with redirect_stdout(out):
                rc = baseline_loop.main(
                    ["--bundle", DATA["bundle"], "--checkpoint", DATA["checkpoint"], "--image",
                     image, "--question", case["question"], "--options", *options,
                     "--max-new-tokens", str(case["max_new_tokens"]), "--questions", "2",
                     "--reps", "1", "--warmup", "0"])
        self.assertEqual(rc, 0)
        result = json.loads(out.getvalue())
        self.assertEqual(result["answers"][0]["output_ids"], case["output_ids"])
        self.assertEqual(len(result["reps"]), 1)
        self.assertEqual(len(result["reps"][0]["question_s"]), 2)
        self.assertGreater(result["median_first_question_s"], 0)


if __name__ == "__main__":
    unittest.main()
