"""Reference model: Qwen2 and InternViT against transformers' own outputs (shared hf_oracles),
the static KV cache, pixel shuffle order, config reading, safetensors round trip.

Run from tests/python: /usr/bin/python3 -m unittest test_model
"""

import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from terrascope_ref import export_modules  # noqa: E402
from terrascope_ref.intern_vit import (InternVisionConfig, InternVisionModel,  # noqa: E402
                                       layers_for_select_layer)
from terrascope_ref.model import (TerraScope, TerraScopeConfig, make_mlp1,  # noqa: E402
                                  pixel_shuffle, shuffle_tokens)
from terrascope_ref.qwen2 import Qwen2Config, Qwen2ForCausalLM  # noqa: E402
from terrascope_ref.safetensors_io import (INDEX_NAME, Checkpoint, SafetensorsError,  # noqa: E402
                                           SafetensorsFile, load_file, save_file, save_sharded)

ORACLES = os.path.join(os.environ.get("TERRASCOPE_SHARED_DATA", "/work/shared/data"), "hf_oracles")


def oracle(name):
    return load_file(os.path.join(ORACLES, name + ".safetensors"))


def oracle_configs():
    with open(os.path.join(ORACLES, "configs.json"), "r", encoding="utf-8") as f:
        return json.load(f)


def max_diff(a, b):
    return float((a.float() - b.float()).abs().max())


class SafetensorsTest(unittest.TestCase):
    def tensors(self):
        g = torch.Generator().manual_seed(3)
        return {
            "a.f32": torch.randn(3, 5, generator=g),
            "b.bf16": torch.randn(7, 2, generator=g).to(torch.bfloat16),
            "c.f16": torch.randn(4, generator=g).to(torch.float16),
            "d.i64": torch.arange(-5, 6, dtype=torch.int64).reshape(11, 1),
            "e.i32": torch.tensor([1, -2, 3], dtype=torch.int32),
            "f.u8": torch.tensor([0, 255, 7], dtype=torch.uint8),
            "g.bool": torch.tensor([True, False, True]),
            "h.scalar": torch.tensor(2.5),
            "i.empty": torch.zeros(0, 4),
        }

    def test_sharded_round_trip_with_index(self):
        tensors = self.tensors()
        with tempfile.TemporaryDirectory() as d:
            shards = save_sharded(tensors, d, max_shard_bytes=48)
            self.assertGreater(len(shards), 2)
            with open(os.path.join(d, INDEX_NAME), "r", encoding="utf-8") as f:
                weight_map = json.load(f)["weight_map"]
            self.assertEqual(set(weight_map), set(tensors))
            ckpt = Checkpoint(d)
            self.assertEqual(set(ckpt.keys()), set(tensors))
            for name, t in tensors.items():
                got = ckpt.get(name)
                self.assertEqual(got.dtype, t.dtype, name)
                self.assertEqual(list(got.shape), list(t.shape), name)
                self.assertEqual(ckpt.shape(name), list(t.shape))
                self.assertTrue(torch.equal(got, t), name)
                self.assertEqual(os.path.basename(ckpt.file_of(name)), weight_map[name])

    def test_single_file_and_directory_without_index(self):
        tensors = self.tensors()
        with tempfile.TemporaryDirectory() as d:
            save_file(tensors, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
            st = SafetensorsFile(os.path.join(d, "model.safetensors"))
            self.assertEqual(st.metadata, {"format": "pt"})
            self.assertEqual(st.dtype("b.bf16"), torch.bfloat16)
            back = Checkpoint(d)
            for name, t in tensors.items():
                self.assertTrue(torch.equal(back.get(name), t), name)

    def test_reads_the_oracle_files_written_by_the_safetensors_package(self):
        st = SafetensorsFile(os.path.join(ORACLES, "qwen2_tiny.safetensors"))
        self.assertEqual(len(st.keys()), oracle_configs()["qwen2"]["n_keys"])
        self.assertEqual(st.shape("language_model.model.embed_tokens.weight"), [1000, 64])

    def test_truncated_file_error_names_the_file(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "model.safetensors")
            save_file({"w": torch.ones(100)}, path)
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) - 10)
            with self.assertRaises(SafetensorsError) as ctx:
                SafetensorsFile(path)
            self.assertIn(path, str(ctx.exception))
            self.assertIn("'w'", str(ctx.exception))

    def test_missing_shard_error_names_index_and_shard(self):
        with tempfile.TemporaryDirectory() as d:
            shards = save_sharded(self.tensors(), d, max_shard_bytes=48)
            os.remove(os.path.join(d, shards[1]))
            with self.assertRaises(SafetensorsError) as ctx:
                Checkpoint(d)
            self.assertIn(INDEX_NAME, str(ctx.exception))
            self.assertIn(shards[1], str(ctx.exception))


def qwen2_oracle_model():
    cfg = Qwen2Config.from_dict(oracle_configs()["qwen2"]["config"])
    model = Qwen2ForCausalLM(cfg).eval()
    prefix = "language_model."
    weights = {k[len(prefix):]: v for k, v in oracle("qwen2_tiny").items()}
    model.load_state_dict(weights, strict=True)
    return model


class Qwen2OracleTest(unittest.TestCase):
    """transformers' Qwen2ForCausalLM (hf_oracles/qwen2_tiny): same weights, same outputs."""

    @classmethod
    def setUpClass(cls):
        cls.model = qwen2_oracle_model()
        cls.io = oracle("qwen2_tiny_io")
        cls.scripted = export_modules.script(export_modules.LlmModule(cls.model))

    def test_key_names_are_transformers_qwen2_under_language_model(self):
        ours = {"language_model." + k for k in self.model.state_dict()}
        self.assertEqual(ours, set(oracle("qwen2_tiny").keys()))

    @torch.no_grad()
    def test_full_pass_logits_and_last_hidden_state(self):
        embeds = self.model.embed(self.io["input_ids"][0])
        logits, hidden = self.model.forward_full(embeds)
        self.assertLess(max_diff(logits, self.io["logits"]), 1e-5)
        self.assertLess(max_diff(hidden, self.io["last_hidden_state"]), 1e-5)

    @torch.no_grad()
    def test_injected_embeddings(self):
        embeds = torch.cat([self.model.embed(self.io["input_ids"][0]),
                            self.io["injected_embeds"][0]])
        logits, hidden = self.model.forward_full(embeds)
        self.assertLess(max_diff(logits, self.io["logits_with_injected"]), 1e-5)
        self.assertLess(max_diff(hidden, self.io["last_hidden_with_injected"]), 1e-5)

    @torch.no_grad()
    def test_scripted_step_reproduces_every_position_in_chunks(self):
        """Prefill in chunks through the scripted `llm` module: each chunk's last logits and hidden
        state are transformers' at that position."""
        embeds = torch.cat([self.scripted.embed(self.io["input_ids"][0]),
                            self.io["injected_embeds"][0]])
        logits_ref = self.io["logits_with_injected"]
        hidden_ref = self.io["last_hidden_with_injected"]
        cache = torch.zeros(self.model.cache_shape(40))
        start = 0
        for end in (9, 10, 24, 27, 29):
            logits, hidden = self.scripted(embeds[start:end], torch.tensor([start]), cache)
            self.assertEqual(list(logits.shape), [1000])
            self.assertEqual(list(hidden.shape), [64])
            self.assertLess(max_diff(logits, logits_ref[end - 1]), 1e-5, end)
            self.assertLess(max_diff(hidden, hidden_ref[end - 1]), 1e-5, end)
            start = end

    @torch.no_grad()
    def test_greedy_16_with_static_cache_eager_and_scripted(self):
        expected = oracle_configs()["qwen2"]["greedy_16_after_prompt"]
        embeds = self.model.embed(self.io["input_ids"][0])
        self.assertEqual(self.model.greedy(embeds, 16).tolist(), expected)
        cache = torch.zeros(self.model.cache_shape(64))
        logits, _ = self.scripted(self.scripted.embed(self.io["input_ids"][0]),
                                  torch.tensor([0]), cache)
        ids = []
        pos = embeds.size(0)
        for _ in range(16):
            ids.append(int(torch.argmax(logits)))
            logits, _ = self.scripted(self.scripted.embed(torch.tensor([ids[-1]])),
                                      torch.tensor([pos]), cache)
            pos += 1
        self.assertEqual(ids, expected)


class StaticCacheTest(unittest.TestCase):
    @torch.no_grad()
    def test_cache_written_only_in_range_and_stale_slots_ignored(self):
        torch.manual_seed(1)
        model = Qwen2ForCausalLM(Qwen2Config.tiny()).eval()
        embeds = torch.randn(9, 64)
        full_logits, full_hidden = model.forward_full(embeds)
        cache = torch.zeros(model.cache_shape(16))
        model.step(embeds[:5], torch.tensor([0]), cache)
        self.assertTrue(torch.all(cache[:, :, :, 5:] == 0))
        self.assertTrue(torch.all(cache[:, :, :, :5].abs().sum(-1) > 0))
        # Slots past start+L hold leftovers of another conversation: they must not matter.
        cache[:, :, :, 9:] = 1e4
        logits, hidden = model.step(embeds[5:], torch.tensor([5]), cache)
        self.assertLess(max_diff(logits, full_logits[-1]), 1e-5)
        self.assertLess(max_diff(hidden, full_hidden[-1]), 1e-5)
        # A cloned prefix cache continues the same way (prefix reuse).
        prefix = torch.zeros(model.cache_shape(16))
        model.step(embeds[:5], torch.tensor([0]), prefix)
        logits2, _ = model.step(embeds[5:], torch.tensor([5]), prefix.clone())
        self.assertLess(max_diff(logits2, full_logits[-1]), 1e-5)

    def test_gqa_and_tied_head(self):
        cfg = Qwen2Config(vocab_size=50, hidden_size=32, intermediate_size=40, num_hidden_layers=1,
                          num_attention_heads=4, num_key_value_heads=1, tie_word_embeddings=True)
        model = Qwen2ForCausalLM(cfg)
        self.assertIs(model.lm_head.weight, model.model.embed_tokens.weight)
        self.assertEqual(model.cache_shape(7), (1, 2, 1, 7, 8))


def hf_internvl_to_release(weights, num_layers):
    """transformers' InternVL names -> the release's (InternViT + mlp1). q/k/v are fused into
    attn.qkv (rows q, then k, then v), projection_layer -> attn.proj, lambda_1/2 -> ls1/ls2,
    layernorm_before/after -> norm1/norm2, multi_modal_projector.{layer_norm,linear_1,linear_2} ->
    mlp1.{0,1,3}. `vision_tower.layernorm` has no counterpart in the release (returned apart)."""
    out = {
        "vision_model.embeddings.class_embedding": weights["vision_tower.embeddings.cls_token"],
        "vision_model.embeddings.position_embedding":
            weights["vision_tower.embeddings.position_embeddings"],
    }
    for t in ("weight", "bias"):
        out[f"vision_model.embeddings.patch_embedding.{t}"] = \
            weights[f"vision_tower.embeddings.patch_embeddings.projection.{t}"]
        out[f"mlp1.0.{t}"] = weights[f"multi_modal_projector.layer_norm.{t}"]
        out[f"mlp1.1.{t}"] = weights[f"multi_modal_projector.linear_1.{t}"]
        out[f"mlp1.3.{t}"] = weights[f"multi_modal_projector.linear_2.{t}"]
    for i in range(num_layers):
        hf, ours = f"vision_tower.encoder.layer.{i}.", f"vision_model.encoder.layers.{i}."
        out[ours + "attn.qkv.weight"] = torch.cat(
            [weights[hf + f"attention.{x}_proj.weight"] for x in "qkv"])
        if hf + "attention.q_proj.bias" in weights:
            out[ours + "attn.qkv.bias"] = torch.cat(
                [weights[hf + f"attention.{x}_proj.bias"] for x in "qkv"])
        out[ours + "ls1"] = weights[hf + "lambda_1"]
        out[ours + "ls2"] = weights[hf + "lambda_2"]
        for a, b in (("attn.proj", "attention.projection_layer"), ("norm1", "layernorm_before"),
                     ("norm2", "layernorm_after"), ("mlp.fc1", "mlp.fc1"), ("mlp.fc2", "mlp.fc2")):
            for t in ("weight", "bias"):
                out[ours + f"{a}.{t}"] = weights[hf + f"{b}.{t}"]
    final_norm = (weights["vision_tower.layernorm.weight"], weights["vision_tower.layernorm.bias"])
    return out, final_norm


class InternVisionOracleTest(unittest.TestCase):
    """transformers' InternVL vision tower + pixel shuffle + projector
    (hf_oracles/internvl_vision)."""

    @classmethod
    def setUpClass(cls):
        hf = oracle_configs()["internvl_vision"]["vision_config"]
        cls.cfg = InternVisionConfig.from_dict({
            "image_size": hf["image_size"][0], "patch_size": hf["patch_size"][0],
            "hidden_size": hf["hidden_size"], "intermediate_size": hf["intermediate_size"],
            "num_attention_heads": hf["num_attention_heads"],
            "num_hidden_layers": hf["num_hidden_layers"], "qkv_bias": hf["attention_bias"],
            "qk_normalization": hf["use_qk_norm"], "norm_type": hf["norm_type"],
            "layer_norm_eps": hf["layer_norm_eps"], "hidden_act": hf["hidden_act"]})
        weights, cls.final_norm = hf_internvl_to_release(oracle("internvl_vision_tiny"),
                                                         cls.cfg.num_hidden_layers)
        cls.vision = InternVisionModel(cls.cfg).eval()
        cls.vision.load_state_dict({k[len("vision_model."):]: v for k, v in weights.items()
                                    if k.startswith("vision_model.")}, strict=True)
        cls.mlp1 = make_mlp1(cls.cfg.hidden_size, 96, 0.5).eval()
        cls.mlp1.load_state_dict({k[len("mlp1."):]: v for k, v in weights.items()
                                  if k.startswith("mlp1.")}, strict=True)
        cls.io = oracle("internvl_vision_tiny_io")

    def hidden(self):
        # transformers' InternVLVisionModel (use_mean_pooling=False) applies a final LayerNorm
        # (`vision_tower.layernorm`) that the release's InternViT does not have: applied here.
        h = self.vision(self.io["pixel_values"], self.cfg.num_hidden_layers)
        return F.layer_norm(h, (self.cfg.hidden_size,), self.final_norm[0], self.final_norm[1],
                            self.cfg.layer_norm_eps)

    @torch.no_grad()
    def test_last_hidden_state(self):
        self.assertLess(max_diff(self.hidden(), self.io["vision_last_hidden_state"]), 1e-5)

    @torch.no_grad()
    def test_pixel_shuffle_and_projector_v2(self):
        tokens = self.mlp1(shuffle_tokens(self.hidden(), 0.5, "v2"))
        self.assertEqual(list(tokens.shape), [2, 4, 96])
        self.assertLess(max_diff(tokens, self.io["projected_image_features"]), 1e-5)
        # ps_version v1 (transposed grid) is a different layout: the check can tell them apart.
        transposed = self.mlp1(shuffle_tokens(self.hidden(), 0.5, "v1"))
        self.assertGreater(max_diff(transposed, self.io["projected_image_features"]), 1e-2)


class PixelShuffleTest(unittest.TestCase):
    def test_token_order_and_channel_layout(self):
        # x[0, r, c, :] = [100 r + c]: after the v2 shuffle token (i, j) of the 2x2 output grid
        # holds rows 2i, 2i+1 and columns 2j, 2j+1 in the order
        # (2i,2j) (2i,2j+1) (2i+1,2j) (2i+1,2j+1).
        rows = torch.arange(4).reshape(4, 1) * 100 + torch.arange(4).reshape(1, 4)
        x = rows.reshape(1, 4, 4, 1).float()
        out = pixel_shuffle(x, 0.5, "v2")
        self.assertEqual(list(out.shape), [1, 2, 2, 4])
        self.assertEqual(out[0, 0, 1].tolist(), [2, 3, 102, 103])
        self.assertEqual(out[0, 1, 0].tolist(), [200, 201, 300, 301])
        v1 = pixel_shuffle(x, 0.5, "v1")
        self.assertTrue(torch.equal(v1, out.transpose(1, 2)))


class VisionModelTest(unittest.TestCase):
    def test_select_layer(self):
        self.assertEqual(layers_for_select_layer(-1, 24), 24)
        self.assertEqual(layers_for_select_layer(-2, 24), 23)
        self.assertEqual(layers_for_select_layer(0, 24), 0)
        self.assertEqual(layers_for_select_layer(24, 24), 24)
        with self.assertRaises(ValueError):
            layers_for_select_layer(25, 24)

    @torch.no_grad()
    def test_position_embedding_resampled_for_another_size(self):
        torch.manual_seed(2)
        model = InternVisionModel(InternVisionConfig.tiny()).eval()
        pos = torch.randn_like(model.embeddings.position_embedding)
        model.embeddings.position_embedding.copy_(pos)
        model.embeddings.patch_embedding.weight.zero_()
        model.embeddings.patch_embedding.bias.zero_()
        model.embeddings.class_embedding.zero_()
        same = model(torch.randn(1, 3, 56, 56), 0)
        self.assertLess(max_diff(same, pos), 1e-6)
        out = model(torch.randn(1, 3, 84, 84), 0)  # 6x6 patches from a 4x4 table
        grid = pos[:, 1:].reshape(1, 4, 4, 64).permute(0, 3, 1, 2)
        expected = F.interpolate(grid, size=(6, 6), mode="bicubic", align_corners=False)
        expected = expected.reshape(1, 64, 36).permute(0, 2, 1)
        self.assertLess(max_diff(out[:, 1:], expected), 1e-6)
        self.assertLess(max_diff(out[:, :1], pos[:, :1]), 1e-6)

    @torch.no_grad()
    def test_qk_normalization_and_rms_norm_variant_runs_scripted(self):
        cfg = InternVisionConfig(image_size=28, patch_size=14, hidden_size=32,
                                 intermediate_size=64, num_attention_heads=2, num_hidden_layers=1,
                                 qkv_bias=False, qk_normalization=True, norm_type="rms_norm")
        model = InternVisionModel(cfg).eval()
        x = torch.randn(2, 3, 28, 28)
        scripted = torch.jit.script(model)
        self.assertLess(max_diff(scripted(x, 1), model(x, 1)), 1e-6)
        self.assertEqual(list(model(x, 1).shape), [2, 5, 32])


def release_8b_config():
    """config.json of the release as Sa2VAChatConfig.to_dict writes it (InternVL3-8B numbers,
    vocabulary len(tokenizer) = 151674 + TerraScope's 11 added tokens)."""
    return {
        "architectures": ["Sa2VAChatModel"], "model_type": "sa2va_chat",
        "downsample_ratio": 0.5, "select_layer": -1, "ps_version": "v2", "template": "qwen_chat",
        "force_image_size": 448, "dynamic_image_size": True, "use_thumbnail": True,
        "min_dynamic_patch": 1, "max_dynamic_patch": 12,
        "vision_config": {
            "architectures": ["InternVisionModel"], "hidden_size": 1024, "image_size": 448,
            "intermediate_size": 4096, "num_attention_heads": 16, "num_hidden_layers": 24,
            "patch_size": 14, "qkv_bias": True, "qk_normalization": False,
            "norm_type": "layer_norm", "layer_norm_eps": 1e-6, "hidden_act": "gelu",
            "use_flash_attn": True, "drop_path_rate": 0.0, "initializer_factor": 0.1},
        "llm_config": {
            "architectures": ["Qwen2ForCausalLM"], "hidden_size": 3584, "intermediate_size": 18944,
            "num_hidden_layers": 28, "num_attention_heads": 28, "num_key_value_heads": 4,
            "rope_theta": 1000000.0, "rms_norm_eps": 1e-6, "vocab_size": 151685,
            "tie_word_embeddings": False, "hidden_act": "silu",
            "rope_scaling": {"factor": 2.0, "rope_type": "dynamic", "type": "dynamic"},
            "use_sliding_window": False, "max_position_embeddings": 32768},
    }


class ConfigTest(unittest.TestCase):
    def test_release_config(self):
        cfg = TerraScopeConfig.from_checkpoint_config(release_8b_config())
        self.assertEqual(cfg.tokens_per_tile, 256)
        self.assertEqual(cfg.tile_size, 448)
        self.assertEqual(cfg.vision_layers, 24)
        self.assertTrue(cfg.vision.qkv_bias)
        self.assertFalse(cfg.vision.qk_normalization)
        self.assertEqual(cfg.llm.head_dim, 128)
        self.assertEqual(cfg.llm.num_key_value_heads, 4)
        self.assertEqual(cfg.llm.vocab_size, 151685)
        self.assertIsNone(cfg.sam)  # the release's SAM-2 is not described by config.json
        self.assertTrue(cfg.llm.rope_dynamic)
        self.assertEqual(cfg.llm.max_position_embeddings, 32768)

    def test_defaults_of_the_release_classes(self):
        d = release_8b_config()
        del d["ps_version"]
        del d["vision_config"]["qk_normalization"]
        cfg = TerraScopeConfig.from_checkpoint_config(d)
        self.assertEqual(cfg.ps_version, "v1")  # Sa2VAChatConfig default
        self.assertTrue(cfg.vision.qk_normalization)  # InternVisionConfig default

    def test_rope_theta_in_rope_parameters(self):
        d = release_8b_config()
        del d["llm_config"]["rope_theta"]
        d["llm_config"]["rope_parameters"] = {"rope_theta": 5e5, "rope_type": "default"}
        self.assertEqual(TerraScopeConfig.from_checkpoint_config(d).llm.rope_theta, 5e5)

    def test_unsupported_values_are_named(self):
        yarn = {"type": "yarn", "factor": 4.0}
        for path, value, word in ((("llm_config", "rope_scaling"), yarn, "rope"),
                                  (("ps_version",), "v3", "ps_version"),
                                  (("llm_config", "architectures"), ["LlamaForCausalLM"],
                                   "LlamaForCausalLM"),
                                  (("downsample_ratio",), 0.25, "downsample_ratio")):
            d = release_8b_config()
            target = d
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            with self.assertRaises(ValueError) as ctx:
                TerraScopeConfig.from_checkpoint_config(d)
            self.assertIn(word, str(ctx.exception))

    def test_round_trip_of_the_tiny_config(self):
        cfg = TerraScopeConfig.tiny()
        again = TerraScopeConfig.from_checkpoint_config(
            json.loads(json.dumps(cfg.to_checkpoint_config())))
        self.assertEqual(again.vision, cfg.vision)
        self.assertEqual(again.llm, cfg.llm)
        self.assertEqual(again.sam, cfg.sam)
        self.assertEqual(again.ps_version, "v2")


class TerraScopeModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.manual_seed(0)
        cls.model = TerraScope(TerraScopeConfig.tiny()).eval()

    def test_checkpoint_key_prefixes(self):
        keys = set(self.model.state_dict())
        prefixes = ("vision_model.", "mlp1.", "language_model.", "grounding_encoder.sam2_model.",
                    "text_hidden_fcs.")
        self.assertTrue(all(k.startswith(prefixes) for k in keys))
        for p in prefixes:
            self.assertTrue(any(k.startswith(p) for k in keys), p)
        for k in ("mlp1.0.weight", "mlp1.1.weight", "mlp1.3.bias", "text_hidden_fcs.0.weight",
                  "text_hidden_fcs.2.bias", "vision_model.encoder.layers.1.attn.qkv.bias",
                  "vision_model.encoder.layers.0.ls1", "vision_model.embeddings.class_embedding",
                  "language_model.lm_head.weight", "language_model.model.norm.weight"):
            self.assertIn(k, keys)

    @torch.no_grad()
    def test_module_shapes_and_dtypes(self):
        vision = export_modules.VisionModule(self.model)
        pixels = torch.randn(3, 3, 56, 56)
        tokens = vision(pixels)
        self.assertEqual(list(tokens.shape), [3, 4, 64])
        self.assertEqual(tokens.dtype, torch.float32)
        self.assertTrue(torch.equal(tokens, self.model.extract_feature(pixels)))
        llm = export_modules.LlmModule(self.model.language_model)
        embeds = llm.embed(torch.tensor([1, 2, 3]))
        self.assertEqual(list(embeds.shape), [3, 64])
        cache = torch.zeros(self.model.language_model.cache_shape(8))
        self.assertEqual(list(cache.shape), [2, 2, 2, 8, 16])
        logits, hidden = llm(embeds, torch.tensor([0]), cache)
        self.assertEqual(list(logits.shape), [512])
        self.assertEqual(list(hidden.shape), [64])
        lang = export_modules.SegProjModule(self.model)(hidden[None])
        self.assertEqual(list(lang.shape), [1, 32])

    @torch.no_grad()
    def test_seg_proj_is_linear_relu_linear(self):
        fcs = self.model.text_hidden_fcs
        x = torch.randn(2, 64)
        expected = F.linear(torch.relu(F.linear(x, fcs[0].weight, fcs[0].bias)),
                            fcs[2].weight, fcs[2].bias)
        self.assertLess(max_diff(export_modules.SegProjModule(self.model)(x), expected), 1e-6)

    @torch.no_grad()
    def test_extract_feature_is_vit_shuffle_mlp1(self):
        x = torch.randn(2, 3, 56, 56)
        h = self.model.vision_model(x, 2)[:, 1:].reshape(2, 4, 4, 64)
        expected = self.model.mlp1(pixel_shuffle(h, 0.5, "v2").reshape(2, 4, 256))
        self.assertLess(max_diff(self.model.extract_feature(x), expected), 1e-6)


if __name__ == "__main__":
    unittest.main()
