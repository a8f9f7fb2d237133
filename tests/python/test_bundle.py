"""The Python bundle loader: verification of the manifest and hashes, token resolution, module
shapes."""
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import torch  # noqa: E402

import testdata_bundles  # noqa: E402
from terrascope_ref.bundle import Bundle, BundleError, sha256_file  # noqa: E402
from terrascope_ref.tokenizer import Tokenizer  # noqa: E402

DATA = None


def setUpModule():
    global DATA
    DATA = testdata_bundles.ensure()


class BundleLoader(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="terrascope-bundle-test-")
        self.copy = os.path.join(self.tmp, "bundle")
        shutil.copytree(DATA["bundle"], self.copy)
        with open(os.path.join(self.copy, "terrascope.json"), encoding="utf-8") as f:
            self.manifest = json.load(f)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_manifest(self):
        with open(os.path.join(self.copy, "terrascope.json"), "w", encoding="utf-8") as f:
            json.dump(self.manifest, f)

    def test_loads_and_resolves_tokens_through_the_tokenizer(self):
        bundle = Bundle(self.copy)
        tok = Tokenizer.from_file(os.path.join(self.copy, "tokenizer.json"))
        ids = bundle.token_ids()
        self.assertEqual(ids["seg"], tok.token_to_id("[SEG]"))
        self.assertEqual(ids["region"], tok.token_to_id("<REGION>"))
        self.assertEqual(ids["img_context"], tok.token_to_id("<IMG_CONTEXT>"))
        self.assertEqual(ids["stop"], [tok.token_to_id(t) for t in
                                       ("<|im_end|>", "<|endoftext|>", "<|end|>")])

    def test_modules_have_the_manifest_shapes(self):
        bundle = Bundle(self.copy)
        spec = bundle.spec()
        arch = self.manifest["architecture"]
        t, nt, d = spec.tile_size, spec.tokens_per_tile, arch["llm"]["hidden"]
        with torch.no_grad():
            vit = bundle.vision(torch.zeros(3, 3, t, t))
            self.assertEqual(tuple(vit.shape), (3, nt, d))
            self.assertEqual(vit.dtype, torch.float32)
            self.assertEqual(tuple(bundle.sar_encoder(torch.zeros(1, 3, t, t)).shape), (1, nt, d))
            emb = bundle.embed(torch.tensor([1, 2, 3]))
            self.assertEqual(tuple(emb.shape), (3, d))
            cache = bundle.new_cache()
            self.assertEqual(list(cache.shape), arch["llm"]["cache_shape"])
            logits, hidden = bundle.step(emb, torch.tensor([0]), cache)
            self.assertEqual(tuple(logits.shape), (arch["llm"]["vocab"],))
            self.assertEqual(tuple(hidden.shape), (d,))
            lang = bundle.seg_proj(hidden.reshape(1, -1))
            self.assertEqual(tuple(lang.shape), (1, arch["seg_proj"]["out"]))
            s = spec.sam_image_size
            feat, hr0, hr1 = bundle.sam_encode(torch.zeros(1, 3, s, s))
            c = arch["sam"]["d_model"]
            self.assertEqual(tuple(feat.shape), (1, c, s // 16, s // 16))
            self.assertEqual(tuple(hr0.shape), (1, c // 8, s // 4, s // 4))
            self.assertEqual(tuple(hr1.shape), (1, c // 4, s // 8, s // 8))
            mask, iou, score = bundle.sam_decode(feat, hr0, hr1, lang)
            self.assertEqual(tuple(mask.shape), (1, 1, s // 4, s // 4))
            self.assertEqual(tuple(iou.shape), (1,))
            self.assertEqual(tuple(score.shape), (1,))

    def test_refuses_a_module_whose_sha256_differs(self):
        path = os.path.join(self.copy, "llm.pt")
        with open(path, "ab") as f:
            f.write(b"\0")
        with self.assertRaisesRegex(BundleError, r"llm\.pt: sha256 mismatch"):
            Bundle(self.copy)

    def test_refuses_a_manifest_hash_that_differs(self):
        self.manifest["modules"]["sam_decoder"]["sha256"] = "0" * 64
        self.write_manifest()
        with self.assertRaisesRegex(BundleError, r"sam_decoder\.pt: sha256 mismatch"):
            Bundle(self.copy)

    def test_refuses_a_tampered_tokenizer(self):
        path = os.path.join(self.copy, "tokenizer.json")
        with open(path, "ab") as f:
            f.write(b" ")
        with self.assertRaisesRegex(BundleError, r"tokenizer\.json: sha256 mismatch"):
            Bundle(self.copy)

    def test_refuses_a_token_missing_from_the_tokenizer(self):
        self.manifest["tokens"]["seg"] = "[NOT-A-TOKEN]"
        self.write_manifest()
        with self.assertRaisesRegex(BundleError, r"\[NOT-A-TOKEN\].*not in tokenizer\.json"):
            Bundle(self.copy)

    def test_refuses_missing_files_and_unknown_schema(self):
        os.remove(os.path.join(self.copy, "seg_proj.pt"))
        with self.assertRaisesRegex(BundleError, r"seg_proj\.pt: missing"):
            Bundle(self.copy)
        self.manifest["schema_version"] = 99
        self.write_manifest()
        with self.assertRaisesRegex(BundleError, "schema_version 99"):
            Bundle(self.copy)
        with self.assertRaisesRegex(BundleError, "no manifest"):
            Bundle(self.tmp)

    def test_refuses_a_file_outside_the_bundle(self):
        self.manifest["modules"]["vision"]["file"] = "../elsewhere.pt"
        self.write_manifest()
        with self.assertRaisesRegex(BundleError, "outside the bundle"):
            Bundle(self.copy)

    def test_refuses_a_module_without_a_listed_method(self):
        self.manifest["modules"]["llm"]["methods"]["prefill"] = {"inputs": [[-1]], "outputs": []}
        self.write_manifest()
        with self.assertRaisesRegex(BundleError, r"llm\.pt: module llm has no method 'prefill'"):
            Bundle(self.copy)

    def test_manifest_hashes_are_the_files_hashes(self):
        for entry in list(self.manifest["modules"].values()) + [self.manifest["tokenizer"]]:
            self.assertEqual(entry["sha256"], sha256_file(os.path.join(self.copy, entry["file"])))


if __name__ == "__main__":
    unittest.main()
