"""tools/export.py: a tiny checkpoint in the released layout (sharded safetensors + index,
config.json, tokenizer.json) -> bundle; the scripted modules equal the eager reference; the
manifest's hashes and shapes are those of the files; bad checkpoints give errors that name the
file and the key.

Run from tests/python: /usr/bin/python3 -m unittest test_export
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, TOOLS)

import torch  # noqa: E402

import export  # noqa: E402
from terrascope_ref.model import TerraScope, TerraScopeConfig  # noqa: E402
from terrascope_ref.qwen2 import Qwen2Config  # noqa: E402
from terrascope_ref.safetensors_io import (INDEX_NAME, load_file, save_file,  # noqa: E402
                                           save_sharded)

SPECIAL = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<IMG_CONTEXT>",
           "<think>", "</think>", "<answer>", "</answer>", "[SEG]", "<REGION>", "<p>", "</p>",
           "<vp>", "</vp>", "<|end|>"]


def write_tokenizer(path, special=SPECIAL):
    """A minimal tokenizers-format file: 256 byte-level symbols, then the special tokens."""
    vocab = {f"b{i}": i for i in range(256)}
    added = [{"id": 256 + i, "content": t, "special": True, "single_word": False,
              "lstrip": False, "rstrip": False, "normalized": False} for i, t in enumerate(special)]
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"version": "1.0", "added_tokens": added,
                   "model": {"type": "BPE", "vocab": vocab, "merges": []}}, f)


def write_checkpoint(directory, model, max_shard_bytes=300_000):
    os.makedirs(directory, exist_ok=True)
    save_sharded(model.state_dict(), directory, max_shard_bytes=max_shard_bytes)
    with open(os.path.join(directory, "config.json"), "w", encoding="utf-8") as f:
        json.dump(model.config.to_checkpoint_config(), f, indent=1)
    write_tokenizer(os.path.join(directory, "tokenizer.json"))


def max_diff(a, b):
    return float((a.float() - b.float()).abs().max())


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class TinyExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="terrascope_export_")
        torch.manual_seed(11)
        cls.model = TerraScope(TerraScopeConfig.tiny()).eval()
        # Random LayerScale/norm weights (not the constructor's ones) so that a wrong mapping shows.
        with torch.no_grad():
            for name, p in cls.model.named_parameters():
                if name.endswith(("ls1", "ls2", "norm.weight", "layernorm.weight")):
                    p.copy_(torch.rand_like(p) + 0.5)
        cls.ckpt = os.path.join(cls.tmp, "ckpt")
        write_checkpoint(cls.ckpt, cls.model)
        cls.bundle = os.path.join(cls.tmp, "bundle")
        cls.logs = []
        cls.manifest = export.export_checkpoint(cls.ckpt, cls.bundle, "fp32", 48, name="tiny",
                                                source="test", log=cls.logs.append)
        cls.loaded = {}
        for key, entry in cls.manifest["modules"].items():
            cls.loaded[key] = torch.jit.load(os.path.join(cls.bundle, entry["file"]))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_checkpoint_is_sharded_with_index(self):
        with open(os.path.join(self.ckpt, INDEX_NAME), "r", encoding="utf-8") as f:
            shards = set(json.load(f)["weight_map"].values())
        self.assertGreater(len(shards), 1)

    def test_manifest_hashes_match_the_files(self):
        on_disk = sorted(os.listdir(self.bundle))
        self.assertEqual(on_disk, sorted(["terrascope.json", "tokenizer.json", "vision.pt",
                                          "llm.pt", "seg_proj.pt", "sam_encoder.pt",
                                          "sam_decoder.pt"]))
        for key, entry in self.manifest["modules"].items():
            self.assertEqual(entry["sha256"], sha256(os.path.join(self.bundle, entry["file"])), key)
        tok = self.manifest["tokenizer"]
        self.assertEqual(tok["sha256"], sha256(os.path.join(self.bundle, tok["file"])))
        with open(os.path.join(self.bundle, "terrascope.json"), "r", encoding="utf-8") as f:
            self.assertEqual(json.load(f), self.manifest)
        self.assertEqual(self.manifest["modules"]["sar_encoder"]["file"], "vision.pt")
        self.assertEqual(self.manifest["schema_version"], 1)
        self.assertEqual(self.manifest["dtype"], "fp32")

    def check_shapes(self, spec, tensors):
        self.assertEqual(len(spec), len(tensors))
        for want, t in zip(spec, tensors):
            self.assertEqual(len(want), t.dim(), (want, list(t.shape)))
            for w, s in zip(want, t.shape):
                if w != -1:
                    self.assertEqual(w, s, (want, list(t.shape)))

    @torch.no_grad()
    def test_vision_scripted_equals_eager_and_shapes(self):
        spec = self.manifest["modules"]["vision"]["methods"]["forward"]
        pixels = torch.randn(3, 3, 56, 56)
        out = self.loaded["vision"](pixels)
        self.check_shapes(spec["inputs"], [pixels])
        self.check_shapes(spec["outputs"], [out])
        self.assertLess(max_diff(out, self.model.extract_feature(pixels)), 1e-6)
        self.assertEqual(self.manifest["architecture"]["vision"]["tokens_per_tile"], 4)

    @torch.no_grad()
    def test_llm_scripted_equals_eager_and_shapes(self):
        methods = self.manifest["modules"]["llm"]["methods"]
        llm = self.loaded["llm"]
        ids = torch.tensor([5, 300, 7, 261, 9, 11])
        embeds = llm.embed(ids)
        self.check_shapes(methods["embed"]["inputs"], [ids])
        self.check_shapes(methods["embed"]["outputs"], [embeds])
        eager = self.model.language_model
        self.assertLess(max_diff(embeds, eager.embed(ids)), 1e-6)
        ref_logits, ref_hidden = eager.forward_full(embeds)
        cache = torch.zeros(self.manifest["architecture"]["llm"]["cache_shape"])
        self.assertEqual(list(cache.shape), [2, 2, 2, 48, 16])
        start = 0
        for end in (4, 5, 6):  # prefill, then single-token steps
            start_t = torch.tensor([start])
            logits, hidden = llm(embeds[start:end], start_t, cache)
            self.check_shapes(methods["forward"]["inputs"], [embeds[start:end], start_t, cache])
            self.check_shapes(methods["forward"]["outputs"], [logits, hidden])
            self.assertLess(max_diff(logits, ref_logits[end - 1]), 1e-6)
            self.assertLess(max_diff(hidden, ref_hidden[end - 1]), 1e-6)
            start = end

    @torch.no_grad()
    def test_seg_proj_scripted_equals_eager(self):
        spec = self.manifest["modules"]["seg_proj"]["methods"]["forward"]
        hidden = torch.randn(2, 64)
        out = self.loaded["seg_proj"](hidden)
        self.check_shapes(spec["outputs"], [out])
        self.assertLess(max_diff(out, self.model.text_hidden_fcs(hidden)), 1e-6)
        self.assertEqual(self.manifest["architecture"]["seg_proj"], {"in": 64, "out": 32})

    @torch.no_grad()
    def test_sam_scripted_equals_eager_and_shapes(self):
        enc_spec = self.manifest["modules"]["sam_encoder"]["methods"]["forward"]
        dec_spec = self.manifest["modules"]["sam_decoder"]["methods"]["forward"]
        size = self.manifest["architecture"]["sam"]["image_size"]
        image = torch.randn(1, 3, size, size)
        feats = self.loaded["sam_encoder"](image)
        self.check_shapes(enc_spec["inputs"], [image])
        self.check_shapes(enc_spec["outputs"], list(feats))
        for got, ref in zip(feats, self.model.grounding_encoder.encode_image(image)):
            self.assertLess(max_diff(got, ref), 1e-6)
        lang = torch.randn(1, 32)
        out = self.loaded["sam_decoder"](feats[0], feats[1], feats[2], lang)
        self.check_shapes(dec_spec["inputs"], list(feats) + [lang])
        self.check_shapes(dec_spec["outputs"], list(out))
        for got, ref in zip(out, self.model.grounding_encoder.decode(*feats, lang)):
            self.assertLess(max_diff(got, ref), 1e-6)

    def test_manifest_numbers_and_tokens(self):
        arch = self.manifest["architecture"]
        self.assertEqual(arch["llm"]["vocab"], 512)
        self.assertEqual(arch["llm"]["head_dim"], 16)
        self.assertEqual(arch["sam"]["mask_size"], arch["sam"]["image_size"] // 4)
        self.assertEqual(self.manifest["preprocess"]["tile_size"], 56)
        self.assertEqual(self.manifest["tokens"]["img_context"], "<IMG_CONTEXT>")
        self.assertEqual(self.manifest["tokens"]["region"], "<REGION>")
        self.assertIn("{input}", self.manifest["prompt"]["template"])
        self.assertEqual(self.manifest["policies"]["region_cap"], 8)
        self.assertEqual(self.manifest["name"], "tiny")


class OracleWeightsThroughExportTest(unittest.TestCase):
    """transformers' own Qwen2 safetensors file (keys `language_model.`-prefixed) as one shard of a
    checkpoint: the exported `llm.pt` reproduces transformers' outputs."""

    @torch.no_grad()
    def test_llm_bundle_reproduces_transformers_qwen2(self):
        oracles = os.path.join(os.environ.get("TERRASCOPE_SHARED_DATA", "/work/shared/data"),
                               "hf_oracles")
        with open(os.path.join(oracles, "configs.json"), "r", encoding="utf-8") as f:
            configs = json.load(f)
        io = load_file(os.path.join(oracles, "qwen2_tiny_io.safetensors"))
        with tempfile.TemporaryDirectory() as tmp:
            ckpt = os.path.join(tmp, "ckpt")
            os.makedirs(ckpt)
            cfg = TerraScopeConfig.tiny()
            cfg.llm = Qwen2Config.from_dict(configs["qwen2"]["config"])
            torch.manual_seed(4)
            rest = {k: v for k, v in TerraScope(cfg).state_dict().items()
                    if not k.startswith("language_model.")}
            save_file(rest, os.path.join(ckpt, "model-00002-of-00002.safetensors"))
            shutil.copyfile(os.path.join(oracles, "qwen2_tiny.safetensors"),
                            os.path.join(ckpt, "model-00001-of-00002.safetensors"))
            llm_keys = load_file(os.path.join(ckpt, "model-00001-of-00002.safetensors")).keys()
            weight_map = {k: "model-00001-of-00002.safetensors" for k in llm_keys}
            weight_map.update({k: "model-00002-of-00002.safetensors" for k in rest})
            with open(os.path.join(ckpt, INDEX_NAME), "w", encoding="utf-8") as f:
                json.dump({"metadata": {}, "weight_map": weight_map}, f)
            with open(os.path.join(ckpt, "config.json"), "w", encoding="utf-8") as f:
                json.dump(cfg.to_checkpoint_config(), f)
            write_tokenizer(os.path.join(ckpt, "tokenizer.json"))
            export.export_checkpoint(ckpt, os.path.join(tmp, "b"), "fp32", 48, log=lambda m: None)
            llm = torch.jit.load(os.path.join(tmp, "b", "llm.pt"))
        ids = io["input_ids"][0]
        cache = torch.zeros(cfg.llm.num_hidden_layers, 2, cfg.llm.num_key_value_heads, 48,
                            cfg.llm.head_dim)
        logits, hidden = llm(llm.embed(ids), torch.tensor([0]), cache)
        self.assertLess(max_diff(logits, io["logits"][-1]), 1e-5)
        self.assertLess(max_diff(hidden, io["last_hidden_state"][-1]), 1e-5)
        greedy, pos = [], ids.numel()
        for _ in range(16):
            greedy.append(int(torch.argmax(logits)))
            logits, _ = llm(llm.embed(torch.tensor(greedy[-1:])), torch.tensor([pos]), cache)
            pos += 1
        self.assertEqual(greedy, configs["qwen2"]["greedy_16_after_prompt"])


class ReleaseShapesTest(unittest.TestCase):
    def test_manifest_shapes_at_the_release_size(self):
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from test_model import release_8b_config
        cfg = TerraScopeConfig.from_checkpoint_config(release_8b_config())
        specs = export.module_specs(cfg, {"image_size": 1024, "d_model": 256, "lang_dim": 256},
                                    [28, 2, 4, 8192, 128])
        self.assertEqual(specs["vision"]["forward"],
                         {"inputs": [[-1, 3, 448, 448]], "outputs": [[-1, 256, 3584]]})
        self.assertEqual(specs["llm"]["forward"]["outputs"], [[151685], [3584]])
        self.assertEqual(specs["seg_proj"]["forward"]["outputs"], [[-1, 256]])
        self.assertEqual(specs["sam_encoder"]["forward"]["outputs"],
                         [[1, 256, 64, 64], [1, 32, 256, 256], [1, 64, 128, 128]])
        self.assertEqual(specs["sam_decoder"]["forward"]["outputs"], [[1, 1, 256, 256], [1], [1]])


class ExportDtypeTest(unittest.TestCase):
    @torch.no_grad()
    def test_bf16_bundle_runs_and_stays_close_to_fp32(self):
        with tempfile.TemporaryDirectory() as tmp:
            torch.manual_seed(5)
            model = TerraScope(TerraScopeConfig.tiny()).eval()
            write_checkpoint(os.path.join(tmp, "ckpt"), model)
            manifest = export.export_checkpoint(os.path.join(tmp, "ckpt"), os.path.join(tmp, "b"),
                                                "bf16", 16, log=lambda m: None)
            self.assertEqual(manifest["dtype"], "bf16")
            llm = torch.jit.load(os.path.join(tmp, "b", "llm.pt"))
            embeds = llm.embed(torch.tensor([1, 2, 3]))
            self.assertEqual(embeds.dtype, torch.bfloat16)
            cache = torch.zeros(manifest["architecture"]["llm"]["cache_shape"],
                                dtype=torch.bfloat16)
            logits, _ = llm(embeds, torch.tensor([0]), cache)
            ref, _ = model.language_model.forward_full(model.language_model.embed(
                torch.tensor([1, 2, 3])))
            self.assertEqual(logits.dtype, torch.bfloat16)
            self.assertLess(max_diff(logits, ref[-1]), 0.1 * float(ref[-1].abs().max()))
            vision = torch.jit.load(os.path.join(tmp, "b", "vision.pt"))
            tokens = vision(torch.randn(1, 3, 56, 56).to(torch.bfloat16))
            self.assertEqual(tokens.dtype, torch.bfloat16)


class ExportErrorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="terrascope_export_err_")
        torch.manual_seed(1)
        cls.model = TerraScope(TerraScopeConfig.tiny()).eval()
        cls.good = os.path.join(cls.tmp, "good")
        write_checkpoint(cls.good, cls.model)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def copy(self, name):
        path = os.path.join(self.tmp, name)
        shutil.copytree(self.good, path)
        return path

    def export_error(self, ckpt):
        with self.assertRaises(export.ExportError) as ctx:
            export.export_checkpoint(ckpt, os.path.join(ckpt, "out"), log=lambda m: None)
        return str(ctx.exception)

    def test_missing_config(self):
        ckpt = self.copy("noconfig")
        os.remove(os.path.join(ckpt, "config.json"))
        message = self.export_error(ckpt)
        self.assertIn(os.path.join(ckpt, "config.json"), message)
        self.assertIn("missing", message)

    def test_malformed_config(self):
        ckpt = self.copy("badconfig")
        with open(os.path.join(ckpt, "config.json"), "w", encoding="utf-8") as f:
            json.dump({"vision_config": {}}, f)
        message = self.export_error(ckpt)
        self.assertIn(os.path.join(ckpt, "config.json"), message)
        self.assertIn("llm_config", message)

    def test_dynamic_rope_with_a_cache_past_max_positions(self):
        ckpt = self.copy("dynrope")
        path = os.path.join(ckpt, "config.json")
        with open(path, "r", encoding="utf-8") as f:
            config = json.load(f)
        config["llm_config"]["rope_scaling"] = {"type": "dynamic", "factor": 2.0}
        config["llm_config"]["max_position_embeddings"] = 32
        with open(path, "w", encoding="utf-8") as f:
            json.dump(config, f)
        with self.assertRaises(export.ExportError) as ctx:
            export.export_checkpoint(ckpt, os.path.join(ckpt, "out"), cache_len=48,
                                     log=lambda m: None)
        self.assertIn(path, str(ctx.exception))
        self.assertIn("--cache-len 48", str(ctx.exception))
        # Within max_position_embeddings dynamic RoPE is the default one: the export proceeds.
        manifest = export.export_checkpoint(ckpt, os.path.join(ckpt, "out"), cache_len=32,
                                            log=lambda m: None)
        self.assertEqual(manifest["architecture"]["llm"]["cache_shape"][3], 32)

    def test_max_tiles_goes_to_the_manifest_and_must_be_positive(self):
        ckpt = self.copy("tiles")
        out = os.path.join(ckpt, "out")
        with self.assertRaises(export.ExportError) as ctx:
            export.export_checkpoint(ckpt, out, max_tiles=0, log=lambda m: None)
        self.assertIn("--max-tiles", str(ctx.exception))
        self.assertFalse(os.path.exists(os.path.join(out, "terrascope.json")))
        manifest = export.export_checkpoint(ckpt, out, max_tiles=1, log=lambda m: None)
        self.assertEqual(manifest["preprocess"]["max_tiles"], 1)
        with open(os.path.join(out, "terrascope.json"), "r", encoding="utf-8") as f:
            self.assertEqual(json.load(f)["preprocess"]["max_tiles"], 1)
        # the default is the release's hard-coded 12
        manifest = export.export_checkpoint(ckpt, out, log=lambda m: None)
        self.assertEqual(manifest["preprocess"]["max_tiles"], 12)

    def shard_of(self, ckpt, key):
        with open(os.path.join(ckpt, INDEX_NAME), "r", encoding="utf-8") as f:
            return os.path.join(ckpt, json.load(f)["weight_map"][key])

    def test_missing_tensor_names_index_and_key(self):
        ckpt = self.copy("missing")
        key = "language_model.model.layers.1.mlp.up_proj.weight"
        shard = self.shard_of(ckpt, key)
        tensors = load_file(shard)
        del tensors[key]
        save_file(tensors, shard)
        index_path = os.path.join(ckpt, INDEX_NAME)
        with open(index_path, "r", encoding="utf-8") as f:
            index = json.load(f)
        del index["weight_map"][key]
        with open(index_path, "w", encoding="utf-8") as f:
            json.dump(index, f)
        message = self.export_error(ckpt)
        self.assertIn(index_path, message)
        self.assertIn(f"'{key}'", message)

    def test_shape_mismatch_names_shard_and_key(self):
        ckpt = self.copy("shape")
        key = "mlp1.1.weight"
        shard = self.shard_of(ckpt, key)
        tensors = load_file(shard)
        tensors[key] = tensors[key][:, :-1].contiguous()
        save_file(tensors, shard)
        message = self.export_error(ckpt)
        self.assertIn(shard, message)
        self.assertIn(f"'{key}'", message)
        self.assertIn("[64, 255]", message)

    def test_index_naming_an_absent_shard(self):
        ckpt = self.copy("noshard")
        shard = self.shard_of(ckpt, "mlp1.1.weight")
        os.remove(shard)
        message = self.export_error(ckpt)
        self.assertIn(os.path.basename(shard), message)
        self.assertIn(INDEX_NAME, message)

    def test_missing_tokenizer_and_missing_special_token(self):
        ckpt = self.copy("notok")
        os.remove(os.path.join(ckpt, "tokenizer.json"))
        self.assertIn(os.path.join(ckpt, "tokenizer.json"), self.export_error(ckpt))
        write_tokenizer(os.path.join(ckpt, "tokenizer.json"),
                        [t for t in SPECIAL if t != "[SEG]"])
        message = self.export_error(ckpt)
        self.assertIn("tokenizer.json", message)
        self.assertIn("[SEG]", message)

    def test_unused_checkpoint_tensors_are_reported_not_fatal(self):
        ckpt = self.copy("extra")
        # The released checkpoint also holds SAM-2's video-memory parts, unused for inference.
        save_file({"grounding_encoder.sam2_model.memory_encoder.x": torch.zeros(2)},
                  os.path.join(ckpt, "extra.safetensors"))
        index_path = os.path.join(ckpt, INDEX_NAME)
        with open(index_path, "r", encoding="utf-8") as f:
            index = json.load(f)
        index["weight_map"]["grounding_encoder.sam2_model.memory_encoder.x"] = "extra.safetensors"
        with open(index_path, "w", encoding="utf-8") as f:
            json.dump(index, f)
        logs = []
        export.export_checkpoint(ckpt, os.path.join(ckpt, "out"), cache_len=8, log=logs.append)
        self.assertTrue(any("memory_encoder.x" in m for m in logs), logs)

    def test_cli_exit_status_and_message(self):
        ckpt = self.copy("cli")
        os.remove(os.path.join(ckpt, "config.json"))
        proc = subprocess.run([sys.executable, os.path.join(TOOLS, "export.py"), "--checkpoint",
                               ckpt, "--out", os.path.join(ckpt, "out")],
                              capture_output=True, text=True, check=False)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(os.path.join(ckpt, "config.json"), proc.stderr)
        self.assertFalse(os.path.exists(os.path.join(ckpt, "out", "terrascope.json")))


if __name__ == "__main__":
    unittest.main()
