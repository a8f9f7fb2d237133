"""Tests of the SAM-2 grounding encoder (tools/terrascope_ref/sam2.py).

Oracles:
* transformers' own `Sam2Model` at a tiny configuration (shared/data/hf_oracles, SOURCES.md there):
  weights mapped by tools/terrascope_ref/hf_sam2_names.py, a point prompt, the three multimask outputs;
* the released TerraScope code itself (`projects/terrascope/hf/models/sam2.py`, read-only checkout, found
  through TERRASCOPE_RELEASE_DIR, default /tmp/eovlm/TerraScope; skipped when absent), run on CPU at a
  small Hiera with our random weights, through its own language-embedding inference path.
"""

import contextlib
import importlib.util
import io
import json
import os
import sys
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tools"))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from terrascope_ref import sam2  # noqa: E402
from terrascope_ref.hf_sam2_names import hf_to_release  # noqa: E402

from terrascope_ref.safetensors_io import load_file  # noqa: E402

SHARED_DATA = os.environ.get("TERRASCOPE_SHARED_DATA",
                             os.path.normpath(os.path.join(ROOT, "..", "shared", "data")))
ORACLE_DIR = os.path.join(SHARED_DATA, "hf_oracles")
RELEASE_DIR = os.environ.get("TERRASCOPE_RELEASE_DIR", "/tmp/eovlm/TerraScope")
RELEASE_SAM2 = os.path.join(RELEASE_DIR, "projects", "terrascope", "hf", "models", "sam2.py")


def oracle_config():
    """Our config equal to configs.json["sam2"] (Hiera [1,2,3,1] from 16 channels, 1 head, global
    block 4, windows [8,4,14,7]; FPN/decoder width 32, 4 decoder heads, MLP 64, IoU head 32; 512 input)."""
    return sam2.Sam2Config(image_size=512, embed_dim=16, num_heads=1, stages=(1, 2, 3, 1),
                           global_att_blocks=(4,), window_spec=(8, 4, 14, 7), d_model=32,
                           decoder_num_heads=4, decoder_mlp_dim=64, iou_head_hidden_dim=32)


def randomized(model, seed):
    """Default init for conv/linear weights; everything the default leaves constant (zero biases and
    no_mem_embed / position embeddings, unit norm weights) gets random values so no path is trivial."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen)
            if torch.all(p == 1.0):  # norm weights
                p.copy_(1.0 + 0.1 * noise)
            elif torch.all(p == 0.0):  # biases, no_mem_embed, pos_embed
                p.copy_(0.1 * noise)
    return model.eval()


@unittest.skipUnless(os.path.exists(os.path.join(ORACLE_DIR, "sam2_tiny.safetensors")),
                     "shared hf_oracles not found")
class Sam2TransformersOracle(unittest.TestCase):
    """transformers `Sam2Model` (5.17, fp32): pred_masks / iou_scores / object_score_logits.

    Like with like: transformers' Sam2Model adds `no_memory_embedding` to the stride-16 features
    (as the release's `directly_add_no_mem_embed`), so `encode_image` is compared as is; it returns
    all three multimask outputs, ungated (its object score here is negative, -0.0137, and its masks are
    not -1024), so the comparison uses `GroundingEncoder.multimask` with the point prompt (one positive
    point plus the padding "not a point", as the release's prompt encoder pads when there is no box).
    The oracle's `shared_image_embedding` (dense image PE) is untied from the prompt encoder's matrix in
    this random checkpoint; the release has one matrix, and we use the prompt encoder's. Its effect on
    the outputs here is < 4e-9, below the fp32 floor.

    Tolerances: the oracle's random LayerNorm weights (~N(0, 0.05)) shrink activations, so the outputs
    are small (|mask| < 0.01) and weakly sensitive to errors: measured effects of deliberate mistakes
    are no_mem_embed missing 8e-6 (masks), no padding point 7.7e-8 (masks) / 6e-7 (object score),
    decoder LayerNorm eps 1e-6 instead of 1e-5: 7e-8 (masks), point label 0 instead of 1: 1.1e-8
    (object score), no +0.5 pixel-centre shift: 1.9e-8 (object score). Our measured differences are
    4.7e-9 (masks), 0 (IoU), 9.3e-10 (object score), so the bounds below sit between the two.
    """

    @classmethod
    def setUpClass(cls):
        cls.weights = load_file(os.path.join(ORACLE_DIR, "sam2_tiny.safetensors"))
        cls.io = load_file(os.path.join(ORACLE_DIR, "sam2_tiny_io.safetensors"))
        with open(os.path.join(ORACLE_DIR, "configs.json")) as f:
            cls.hf_config = json.load(f)["sam2"]["config"]
        cls.model = sam2.GroundingEncoder(oracle_config()).eval()
        mapped, cls.extra = hf_to_release(cls.weights)
        cls.load_result = cls.model.sam2_model.load_state_dict(mapped, strict=False)

    def test_config_matches_oracle(self):
        backbone = self.hf_config["vision_config"]["backbone_config"]
        cfg = oracle_config()
        self.assertEqual(list(cfg.stages), backbone["blocks_per_stage"])
        self.assertEqual(list(cfg.window_spec), backbone["window_size_per_stage"])
        self.assertEqual(list(cfg.global_att_blocks), backbone["global_attention_blocks"])
        self.assertEqual(list(cfg.backbone_channel_list),
                         self.hf_config["vision_config"]["backbone_channel_list"])
        decoder = self.hf_config["mask_decoder_config"]
        self.assertEqual(cfg.decoder_num_heads, decoder["num_attention_heads"])
        self.assertEqual(cfg.decoder_mlp_dim, decoder["mlp_dim"])
        self.assertEqual(cfg.iou_head_hidden_dim, decoder["iou_head_hidden_dim"])
        self.assertEqual(cfg.image_size, self.hf_config["prompt_encoder_config"]["image_size"])

    def test_every_parameter_of_ours_is_loaded(self):
        self.assertEqual(self.load_result.missing_keys, [])
        # only the mask-input convolutions, which the release never uses on the [SEG] path
        self.assertTrue(all(k.startswith("sam_prompt_encoder.mask_downscaling.")
                            for k in self.load_result.unexpected_keys), self.load_result.unexpected_keys)
        self.assertEqual(list(self.extra), ["shared_image_embedding.positional_embedding"])

    def test_point_prompt_outputs_match(self):
        model = self.model
        prompt = model.sam2_model.sam_prompt_encoder
        with torch.no_grad():
            feat, hr0, hr1 = model.encode_image(self.io["pixel_values"])
            sparse = prompt.embed_points(self.io["input_points"][0], self.io["input_labels"][0],
                                         pad=True)
            masks, iou, object_score = model.multimask(feat, hr0, hr1, sparse)
        want_masks = self.io["pred_masks"][0]  # [1, 3, 128, 128]
        self.assertEqual(masks.shape, want_masks.shape)
        d_masks = (masks - want_masks).abs().max().item()
        d_iou = (iou - self.io["iou_scores"][0]).abs().max().item()
        d_score = (object_score - self.io["object_score_logits"][0]).abs().max().item()
        print(f"\nSAM-2 vs transformers: max|d| masks {d_masks:.3g} (|mask| max "
              f"{want_masks.abs().max().item():.3g}), iou {d_iou:.3g}, object score {d_score:.3g}")
        self.assertLess(d_masks, 2e-8)
        self.assertLess(d_iou, 2e-8)
        self.assertLess(d_score, 5e-9)


class Sam2Shapes(unittest.TestCase):
    def test_tiny_config_shapes(self):
        cfg = sam2.Sam2Config.tiny()
        s, c = cfg.image_size, cfg.d_model
        model = randomized(sam2.GroundingEncoder(cfg), 0)
        with torch.no_grad():
            feat, hr0, hr1 = model.encode_image(torch.randn(1, 3, s, s))
            mask, iou, score = model.decode(feat, hr0, hr1, torch.randn(1, c))
        self.assertEqual(tuple(feat.shape), (1, c, s // 16, s // 16))
        self.assertEqual(tuple(hr0.shape), (1, c // 8, s // 4, s // 4))
        self.assertEqual(tuple(hr1.shape), (1, c // 4, s // 8, s // 8))
        self.assertEqual(tuple(mask.shape), (1, 1, s // 4, s // 4))
        self.assertEqual(tuple(iou.shape), (1,))
        self.assertEqual(tuple(score.shape), (1,))
        for t in (feat, hr0, hr1, mask, iou, score):
            self.assertEqual(t.dtype, torch.float32)

    def test_release_defaults_are_hiera_large(self):
        cfg = sam2.Sam2Config()
        self.assertEqual(cfg.backbone_channel_list, (1152, 576, 288, 144))
        self.assertEqual(cfg.embedding_size, 64)
        self.assertFalse(cfg.gate_object_score)

    def test_bad_image_size_is_rejected(self):
        with self.assertRaisesRegex(ValueError, "image_size"):
            sam2.Sam2Config(image_size=1000)

    def test_global_block_at_stage_start_is_rejected(self):
        with self.assertRaisesRegex(ValueError, "global attention"):
            sam2.Sam2Config(stages=(1, 2, 1, 1), global_att_blocks=(3,))

    def test_no_mem_embed_is_added_to_stride16_features_only(self):
        cfg = sam2.Sam2Config.tiny()
        model = randomized(sam2.GroundingEncoder(cfg), 1)
        image = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        with torch.no_grad():
            feat, hr0, hr1 = model.encode_image(image)
            model.sam2_model.no_mem_embed.zero_()
            feat0, hr0b, hr1b = model.encode_image(image)
        self.assertTrue(torch.equal(hr0, hr0b) and torch.equal(hr1, hr1b))
        self.assertGreater((feat - feat0).abs().max().item(), 1e-3)


    def test_bf16_module_runs_in_bf16(self):
        # the exporter may write bf16 bundles; torch 1.13 on CPU needs fp32 transposed convs
        cfg = sam2.Sam2Config.tiny()
        model = randomized(sam2.GroundingEncoder(cfg), 8)
        image = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        lang = torch.randn(1, cfg.d_model)
        half = sam2.GroundingEncoder(cfg)
        half.load_state_dict(model.state_dict())
        half = half.to(torch.bfloat16).eval()
        with torch.no_grad():
            want, _, _ = model.decode(*model.encode_image(image), lang)
            feats = half.encode_image(image.bfloat16())
            got, iou, score = half.decode(*feats, lang.bfloat16())
        for t in feats + (got, iou, score):
            self.assertEqual(t.dtype, torch.bfloat16)
        self.assertLess((got.float() - want).abs().max().item(),
                        0.1 * want.abs().max().item() + 0.01)


class Sam2LanguagePrompt(unittest.TestCase):
    def setUp(self):
        self.cfg = sam2.Sam2Config.tiny()
        self.model = randomized(sam2.GroundingEncoder(self.cfg), 2)
        s = self.cfg.image_size
        with torch.no_grad():
            self.feats = self.model.encode_image(torch.randn(1, 3, s, s))
        self.lang = torch.randn(1, self.cfg.d_model, generator=torch.Generator().manual_seed(3))

    def test_sparse_prompt_is_two_not_a_point_then_language(self):
        prompt = self.model.sam2_model.sam_prompt_encoder
        sparse = self.model.language_prompt(self.lang)
        self.assertEqual(tuple(sparse.shape), (1, 3, self.cfg.d_model))
        # release: an empty point (0,0) label -1, padded by the prompt encoder (no box) -> both are
        # "not a point" (positional part zeroed), then the language embedding is concatenated
        points = prompt.embed_points(torch.zeros(1, 1, 2), -torch.ones(1, 1), pad=True)
        self.assertTrue(torch.equal(sparse[:, :2], points))
        self.assertTrue(torch.equal(sparse[0, 0], prompt.not_a_point_embed.weight[0]))
        self.assertTrue(torch.equal(sparse[:, 2], self.lang))

    def test_decode_returns_the_best_iou_mask_of_three(self):
        with torch.no_grad():
            mask, iou, score = self.model.decode(*self.feats, self.lang)
            masks, ious, scores = self.model.multimask(*self.feats,
                                                        self.model.language_prompt(self.lang))
        s4 = self.cfg.image_size // 4
        self.assertEqual(tuple(mask.shape), (1, 1, s4, s4))
        self.assertEqual(tuple(masks.shape), (1, 3, s4, s4))
        best = int(torch.argmax(ious[0]))
        self.assertTrue(torch.equal(mask[0, 0], masks[0, best]))
        self.assertEqual(iou.item(), ious.max().item())
        self.assertEqual(score.item(), scores.item())
        # the language embedding changes the mask
        with torch.no_grad():
            other, _, _ = self.model.decode(*self.feats, -self.lang)
        self.assertGreater((other - mask).abs().max().item(), 1e-4)

    def _force_negative_object_score(self, model):
        head = model.sam2_model.sam_mask_decoder.pred_obj_score_head.layers[-1]
        with torch.no_grad():
            head.bias.fill_(-100.0)

    def test_release_does_not_gate_by_object_score(self):
        # release SAM2Base._forward_sam_heads: the NO_OBJ_SCORE torch.where is commented out
        with torch.no_grad():
            before, _, _ = self.model.decode(*self.feats, self.lang)
            self._force_negative_object_score(self.model)
            mask, _, score = self.model.decode(*self.feats, self.lang)
        self.assertLess(score.item(), 0.0)
        self.assertTrue(torch.equal(mask, before))
        self.assertGreater(mask.min().item(), sam2.NO_OBJ_SCORE)

    def test_gating_policy_empties_mask_when_object_score_negative(self):
        cfg = sam2.Sam2Config.tiny()
        cfg.gate_object_score = True
        gated = sam2.GroundingEncoder(cfg)
        gated.load_state_dict(self.model.state_dict())
        gated.eval()
        with torch.no_grad():
            kept, _, score = gated.decode(*self.feats, self.lang)
            self._force_negative_object_score(gated)
            mask, _, neg = gated.decode(*self.feats, self.lang)
        if score.item() > 0:
            self.assertGreater(kept.max().item(), sam2.NO_OBJ_SCORE)
        self.assertLess(neg.item(), 0.0)
        self.assertTrue(torch.all(mask == sam2.NO_OBJ_SCORE))

    def test_upsample_goes_through_image_size_then_original_size(self):
        logits = torch.randn(1, 1, 64, 64)
        out = sam2.upsample_mask_logits_like_release(logits, 256, 100, 150)
        self.assertEqual(tuple(out.shape), (1, 1, 100, 150))
        via = F.interpolate(F.interpolate(logits, size=(256, 256), mode="bilinear",
                                          align_corners=False),
                            size=(100, 150), mode="bilinear", align_corners=False)
        self.assertTrue(torch.equal(out, via))
        direct = F.interpolate(logits, size=(100, 150), mode="bilinear", align_corners=False)
        self.assertGreater((out - direct).abs().max().item(), 1e-4)


class Sam2Export(unittest.TestCase):
    """The bundle wrappers are exported with torch.jit.script (no shapes baked in)."""

    def test_scripted_wrappers_equal_eager(self):
        cfg = sam2.Sam2Config.tiny()
        model = randomized(sam2.GroundingEncoder(cfg), 4)
        image = torch.randn(1, 3, cfg.image_size, cfg.image_size)
        lang = torch.randn(1, cfg.d_model)
        encoder, decoder = sam2.SamEncoderModule(model), sam2.SamDecoderModule(model)
        scripted = []
        for module in (encoder, decoder):
            buf = io.BytesIO()
            torch.jit.save(torch.jit.script(module), buf)
            buf.seek(0)
            scripted.append(torch.jit.load(buf))
        with torch.no_grad():
            want_feats = encoder(image)
            got_feats = scripted[0](image)
            want = decoder(*want_feats, lang)
            got = scripted[1](*got_feats, lang)
        for a, b in zip(list(want_feats) + list(want), list(got_feats) + list(got)):
            self.assertEqual(a.shape, b.shape)
            self.assertLess((a - b).abs().max().item(), 1e-6)


def _load_release_module():
    """Import the release's sam2.py (it imports tqdm, which Debian's set lacks: a pass-through)."""
    if "tqdm" not in sys.modules:
        try:
            import tqdm  # noqa: F401
        except ImportError:
            stub = types.ModuleType("tqdm")
            stub.tqdm = lambda iterable, **kwargs: iterable
            sys.modules["tqdm"] = stub
    spec = importlib.util.spec_from_file_location("terrascope_release_sam2", RELEASE_SAM2)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _release_runtime():
    """While the release runs on CPU with torch 1.13: F.scaled_dot_product_attention (torch >= 2.0)
    is our plain attention (the release never passes a mask; dropout is 0 in eval), and
    torch.backends.cuda.sdp_kernel (a CUDA kernel switch with a torch-2 signature) does nothing, and
    so does `language_embd_inference`'s CUDA bf16 autocast (we compare the fp32 algorithm)."""
    saved_sdpa = getattr(F, "scaled_dot_product_attention", None)
    saved_kernel = getattr(torch.backends.cuda, "sdp_kernel", None)
    saved_autocast = torch.autocast
    torch.autocast = lambda *args, **kwargs: contextlib.nullcontext()
    if saved_sdpa is None:
        F.scaled_dot_product_attention = (
            lambda q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False: sam2.attention(q, k, v))
    torch.backends.cuda.sdp_kernel = lambda **kwargs: contextlib.nullcontext()
    try:
        yield
    finally:
        torch.autocast = saved_autocast
        if saved_sdpa is None:
            del F.scaled_dot_product_attention
        if saved_kernel is None:
            del torch.backends.cuda.sdp_kernel
        else:
            torch.backends.cuda.sdp_kernel = saved_kernel


@contextlib.contextmanager
def _no_weight_init(release_module):
    """Build big models fast: parameter initialisers do nothing (only names and shapes are used)."""
    names = ("kaiming_uniform_", "uniform_", "normal_", "trunc_normal_")
    saved = {n: getattr(torch.nn.init, n) for n in names}
    saved_release = release_module.trunc_normal_
    for n in names:
        setattr(torch.nn.init, n, lambda t, *args, **kwargs: t)
    release_module.trunc_normal_ = lambda t, *args, **kwargs: t
    try:
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.nn.init, n, f)
        release_module.trunc_normal_ = saved_release


class _CpuFrames:
    """Frames for the release's inference state: it calls `.cuda()` on each frame."""

    class _Frame:
        def __init__(self, t):
            self.t = t

        def cuda(self):
            return self.t

    def __init__(self, frames):
        self.frames = frames

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, i):
        return _CpuFrames._Frame(self.frames[i])


@unittest.skipUnless(os.path.exists(RELEASE_SAM2), "release checkout not found")
class Sam2ReleaseOracle(unittest.TestCase):
    """The released code's own [SEG] path, at a small Hiera (the release hard-codes d_model 256,
    decoder heads 8, MLP 2048, IoU head 256, memory modules), image size 256, our random weights."""

    @classmethod
    def setUpClass(cls):
        rel = _load_release_module()
        cls.rel = rel
        cfg = sam2.Sam2Config(image_size=256, embed_dim=16, num_heads=1, stages=(1, 2, 2, 1),
                              global_att_blocks=(2,), window_spec=(8, 4, 4, 2), d_model=256)
        cls.cfg = cfg
        torch.manual_seed(0)
        trunk = rel.Hiera(embed_dim=cfg.embed_dim, num_heads=cfg.num_heads, stages=list(cfg.stages),
                          global_att_blocks=list(cfg.global_att_blocks),
                          window_pos_embed_bkg_spatial_size=[7, 7],
                          window_spec=list(cfg.window_spec))
        neck = rel.FpnNeck(position_encoding=rel.PositionEmbeddingSine(num_pos_feats=256),
                           d_model=256, backbone_channel_list=list(cfg.backbone_channel_list),
                           fpn_top_down_levels=[2, 3], fpn_interp_model="nearest")
        # the SAM2VideoPredictor arguments of the release's SAM2.__init__, image_size 256
        predictor = rel.SAM2VideoPredictor(
            image_encoder=rel.ImageEncoder(scalp=1, trunk=trunk, neck=neck),
            memory_attention=rel.SAM2.build_memory_attention(None),
            memory_encoder=rel.SAM2.build_memory_encoder(None),
            num_maskmem=7, image_size=cfg.image_size, sigmoid_scale_for_mem_enc=20.0,
            sigmoid_bias_for_mem_enc=-10.0, use_mask_input_as_output_without_sam=True,
            directly_add_no_mem_embed=True, use_high_res_features_in_sam=True,
            multimask_output_in_sam=True, iou_prediction_use_sigmoid=True,
            use_obj_ptrs_in_encoder=True, add_tpos_enc_to_obj_ptrs=False,
            only_obj_ptrs_in_the_past_for_eval=True, pred_obj_scores=True,
            pred_obj_scores_mlp=True, fixed_no_obj_ptr=True, multimask_output_for_tracking=True,
            use_multimask_token_for_obj_ptr=True, multimask_min_pt_num=0, multimask_max_pt_num=1,
            use_mlp_for_obj_ptr_proj=True, compile_image_encoder=False,
            sam_mask_decoder_extra_args={"dynamic_multimask_via_stability": True,
                                         "dynamic_multimask_stability_delta": 0.05,
                                         "dynamic_multimask_stability_thresh": 0.98})
        wrapper = rel.SAM2.__new__(rel.SAM2)
        torch.nn.Module.__init__(wrapper)
        wrapper.sam2_model = predictor
        cls.release = wrapper.eval()
        cls.ours = randomized(sam2.GroundingEncoder(cfg), 5)
        cls.release_keys = set(predictor.state_dict())
        cls.load_result = predictor.load_state_dict(cls.ours.sam2_model.state_dict(), strict=False)

    def _release_state(self, image):
        state = self.release.get_sam2_embeddings(_CpuFrames(image))
        state["device"] = state["storage_device"] = torch.device("cpu")
        return state

    def test_names_are_the_release_names(self):
        self.assertEqual(self.load_result.unexpected_keys, [])
        not_inference = ("memory_attention.", "memory_encoder.", "maskmem_tpos_enc", "no_mem_pos_enc",
                         "no_obj_ptr", "obj_ptr_proj.", "mask_downsample.",
                         "sam_prompt_encoder.mask_downscaling.")
        missing = [k for k in self.load_result.missing_keys if not k.startswith(not_inference)]
        self.assertEqual(missing, [])

    def test_release_hiera_large_checkpoint_names_and_shapes(self):
        # the release's own SAM2() (Hiera-L, 1024) against our defaults: a real checkpoint's
        # `grounding_encoder.sam2_model.*` tensors load into ours with no missing key
        with _no_weight_init(self.rel):
            release = {k: tuple(v.shape) for k, v in self.rel.SAM2().state_dict().items()}
            ours = {k: tuple(v.shape) for k, v in sam2.GroundingEncoder().state_dict().items()}
        self.assertEqual(len(ours), 733)
        for name, shape in ours.items():
            self.assertIn(name, release)
            self.assertEqual(release[name], shape, name)

    def test_language_path_matches_release(self):
        s, c = self.cfg.image_size, self.cfg.d_model
        gen = torch.Generator().manual_seed(6)
        image = torch.randn(1, 3, s, s, generator=gen)
        lang = torch.randn(1, c, generator=gen)
        height, width = 300, 200
        with torch.no_grad(), _release_runtime():
            mask, iou, score = self.ours.decode(*self.ours.encode_image(image), lang)
            ours_full = sam2.upsample_mask_logits_like_release(mask, s, height, width)
            # low-res best-IoU mask: add_language_embd's third result on a fresh state
            _, _, low_res = self.release.sam2_model.add_language_embd(
                self._release_state(image), 0, 100, lang[0][None][None])
            # predict_forward_with_grounding: language_embd_inference, then interpolate to H x W
            video_res = self.release.language_embd_inference(self._release_state(image), [lang])
            release_full = F.interpolate(video_res, size=(height, width), mode="bilinear",
                                         align_corners=False)
        self.assertEqual(tuple(low_res.shape), (1, 1, s // 4, s // 4))
        self.assertEqual(tuple(video_res.shape), (1, 1, s, s))
        d_low = (mask - low_res).abs().max().item()
        d_full = (ours_full - release_full).abs().max().item()
        print(f"\nSAM-2 vs release [SEG] path: max|d| low-res {d_low:.3g} (|logit| max "
              f"{low_res.abs().max().item():.3g}), at {height}x{width} {d_full:.3g}")
        self.assertLess(d_low, 1e-4)
        self.assertLess(d_full, 1e-4)
        binary = (ours_full.sigmoid() > 0.5) != (release_full.sigmoid() > 0.5)
        near_zero = release_full.abs() < 1e-4
        self.assertFalse(torch.any(binary & ~near_zero))

    def test_release_leaves_negative_object_score_ungated(self):
        s, c = self.cfg.image_size, self.cfg.d_model
        gen = torch.Generator().manual_seed(7)
        image = torch.randn(1, 3, s, s, generator=gen)
        lang = torch.randn(1, c, generator=gen)
        head = self.release.sam2_model.sam_mask_decoder.pred_obj_score_head.layers[-1]
        saved = head.bias.detach().clone()
        try:
            with torch.no_grad(), _release_runtime():
                head.bias.fill_(-100.0)
                _, _, low_res = self.release.sam2_model.add_language_embd(
                    self._release_state(image), 0, 100, lang[0][None][None])
        finally:
            with torch.no_grad():
                head.bias.copy_(saved)
        self.assertGreater(low_res.min().item(), sam2.NO_OBJ_SCORE)


if __name__ == "__main__":
    unittest.main()
