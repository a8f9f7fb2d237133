"""The reference generation loop: the released interleaved [SEG] algorithm, step by step.

It mirrors `Sa2VAChatModel.predict_forward_with_grounding` (single image) and
`predict_forward_with_grounding_multi` (time series) of the release
(`projects/terrascope/hf/models/modeling_sa2va_chat.py`), on a "modules" object with the bundle's
interface (docs/BUNDLE.md): `vision(pixels)`, `sar_encoder(pixels)`, `embed(ids)`,
`step(embeds, start, cache) -> (logits, hidden)`, `seg_proj(h)`, `sam_encode(img)`,
`sam_decode(feat, hr0, hr1, lang)`, `new_cache()`. Both a loaded bundle (`bundle.Bundle`) and the
eager model (`EagerModules`) offer it, so the same loop defines the golden files and checks the
exporter.

The released algorithm (what this file reproduces, in order):
1. Vision tokens are computed once (`vit_embeds`, `mlp1` applied) and written into the
   `<IMG_CONTEXT>` rows of the prompt embeddings; the prompt is prefilled on a fresh KV cache and
   the first token is chosen from the logits of the last prompt position.
2. Token by token: the chosen token is FED (one step on the cache) and then appended to the output;
   a stop id ends the loop right after it was fed (the release feeds it too); otherwise, if it is
   `[SEG]`, the final-norm hidden state of that step (the [SEG] position) goes through `seg_proj`,
   SAM-2 decodes it into low-res mask logits (one per frame for a series), upsampled bilinearly
   (align_corners=False) twice, to S x S (SAM-2's video resolution, the 1024 input) and then to the
   original size (frame 0's size for a series, as the release), `sigmoid > 0.5`; the region
   tokens of that mask are selected and their vision rows are fed as `<REGION>` positions on the
   same cache in one step; the next token comes from the logits of the last region position, and
   the `<REGION>` ids are appended to the output. After the 20th
   [SEG] (`max_seg_rounds`) the loop ends right after its region feed (the release's
   `for iteration in range(1, 21)`).
   Otherwise the next token is chosen from the step's logits, and the loop ends when the output
   (region ids included) holds `max_new_tokens` ids (checked only after a non-[SEG] token, as the
   release's `len(all_generated_ids) >= max_length`).
3. Text = `decode(output ids)` with special tokens kept, `.strip()`ed.

Layouts of the vision input:
- single: InternVL dynamic tiling (+ thumbnail when more than one tile); region tokens from the
  tiled grid, never the thumbnail (release `_get_visual_tokens_from_mask_accurate`).
- series: each frame one tile (no tiling); one `<img>` block per frame joined by `\n`; SAM-2 runs on
  every frame with the same language embedding; region tokens from frame `seg_count % frames`
  (release `predict_forward_with_grounding_multi`), or, with the paper's `indicator` policy, from
  the frame named by the last `Image: t{i}` the model wrote before this [SEG] (frame 1 when none);
  with that policy the prompt also names each block (`Image: t{i}\n` before it).
- sar: optical and SAR each one tile, `<img>optical</img>\n<img>SAR</img>` (the layout of the
  release's training set `datasets/SAR_RGB_Dataset.py`; the released inference has no SAR entry);
  the SAR pseudo-RGB goes through `sar_encoder`; SAM-2 sees only the optical image; region
  positions come from the optical tile. `sar_fusion`: `release` feeds the optical rows; `adaptive`
  applies the paper's Eq. 4-5 as the release's training code does (`models/internvl.py`,
  `fusion_mode == 'query_select'`): q = input embeddings of the prompt's text tokens (every prompt
  id that is not `<IMG_CONTEXT>`), beta = mean over q of softmax over the K positions of
  v q^T / sqrt(D), the SAR row where beta_sar > beta_opt, else the optical row; `concat` feeds the
  K optical rows followed by the K SAR rows (2K `<REGION>` positions).
"""
import math
import re

import numpy as np
import torch
import torch.nn.functional as F

from . import preprocess, prompt as prompt_mod, regions
from .sam2 import upsample_mask_logits_like_release
from .sampling import Sampler

RELEASE_POLICIES = {"region_cap": 8, "region_selection": "release", "frame_choice": "release",
                    "sar_fusion": "release"}
PAPER_POLICIES = {"region_cap": 128, "region_selection": "paper", "frame_choice": "indicator",
                  "sar_fusion": "adaptive"}
VALUES = {"region_selection": ("release", "paper"), "frame_choice": ("release", "indicator"),
          "sar_fusion": ("release", "adaptive", "concat")}
FIRST_LOGITS = 8


class LoopError(ValueError):
    """A question the loop can not run; the message names what is wrong."""


def check_policies(policies):
    merged = dict(RELEASE_POLICIES)
    merged.update(policies or {})
    for key, allowed in VALUES.items():
        if merged[key] not in allowed:
            raise LoopError(f"policy {key}: '{merged[key]}' is not one of {list(allowed)}")
    if int(merged["region_cap"]) < 1:
        raise LoopError(f"policy region_cap: {merged['region_cap']} must be at least 1")
    merged["region_cap"] = int(merged["region_cap"])
    unknown = set(merged) - set(RELEASE_POLICIES)
    if unknown:
        raise LoopError(f"policies: unknown keys {sorted(unknown)}")
    return merged


class ModelSpec:
    """The numbers of a model that the loop needs (a bundle manifest's preprocess/architecture)."""

    def __init__(self, tile_size, tokens_per_tile, cache_shape, min_tiles=1, max_tiles=12,
                 use_thumbnail=True, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225),
                 sam_image_size=1024, sam_mean=(0.485, 0.456, 0.406),
                 sam_std=(0.229, 0.224, 0.225), max_seg_rounds=20, policies=None,
                 dtype=torch.float32, prompt=None):
        self.tile_size = int(tile_size)
        self.tokens_per_tile = int(tokens_per_tile)
        self.tokens_per_side = int(round(math.sqrt(self.tokens_per_tile)))
        if self.tokens_per_side ** 2 != self.tokens_per_tile:
            raise LoopError(f"tokens_per_tile {tokens_per_tile} is not a square")
        self.cache_shape = tuple(int(v) for v in cache_shape)
        self.min_tiles, self.max_tiles = int(min_tiles), int(max_tiles)
        self.use_thumbnail = bool(use_thumbnail)
        self.mean, self.std = tuple(mean), tuple(std)
        self.sam_image_size = int(sam_image_size)
        self.sam_mean, self.sam_std = tuple(sam_mean), tuple(sam_std)
        self.max_seg_rounds = int(max_seg_rounds)
        self.policies = check_policies(policies)
        self.dtype = dtype
        self.prompt = prompt or prompt_mod.PromptConfig()

    @classmethod
    def from_manifest(cls, manifest):
        pre = manifest["preprocess"]
        arch = manifest["architecture"]
        gen = manifest.get("generation", {})
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16,
                 "fp16": torch.float16}[manifest.get("dtype", "fp32")]
        return cls(tile_size=pre["tile_size"], tokens_per_tile=arch["vision"]["tokens_per_tile"],
                   cache_shape=arch["llm"]["cache_shape"], min_tiles=pre.get("min_tiles", 1),
                   max_tiles=pre.get("max_tiles", 12), use_thumbnail=pre.get("use_thumbnail", True),
                   mean=pre["mean"], std=pre["std"], sam_image_size=pre["sam_image_size"],
                   sam_mean=pre["sam_mean"], sam_std=pre["sam_std"],
                   max_seg_rounds=gen.get("max_seg_rounds", 20),
                   policies=manifest.get("policies"), dtype=dtype,
                   prompt=prompt_mod.PromptConfig.from_manifest(manifest))


class SegResult:
    """One [SEG]: a boolean HxW mask per frame, the fed vision rows, the frame they came from."""

    def __init__(self, masks, region_indices, frame, modality, iou=None, object_score=None):
        self.masks = masks                      # list of np.bool_ [H, W], one per frame
        self.region_indices = region_indices    # indices into the flat vision rows that were fed
        self.frame = frame                      # frame (image block) the region positions come from
        self.modality = modality                # "optical" | "sar" | "both"
        self.iou = iou
        self.object_score = object_score


class LoopResult:
    def __init__(self):
        self.prompt_ids = []
        self.output_ids = []
        self.text = ""
        self.segs = []
        self.first_logits = []     # f32 [V] logits of each of the first chosen tokens
        self.stop_reason = None    # "stop_token" | "max_new_tokens" | "max_seg_rounds"
        self.dump = None

    @property
    def masks(self):
        return [seg.masks for seg in self.segs]


def _as_rgb(image):
    return image.convert("RGB") if image.mode != "RGB" else image


def _frame_from_indicators(text, frames):
    """Paper policy: the frame named by the last `Image: t{i}` (1-based) in the text so far."""
    found = re.findall(r"Image:\s*t(\d+)", text)
    if not found:
        return 0
    index = int(found[-1]) - 1
    return min(max(index, 0), frames - 1)


class _Recorder:
    def __init__(self, enabled):
        self.enabled = enabled
        self.data = {} if enabled else None

    def put(self, key, value):
        if self.enabled:
            self.data[key] = value.detach().clone() if torch.is_tensor(value) else value

    def append(self, key, value):
        if self.enabled:
            self.data.setdefault(key, []).append(
                value.detach().clone() if torch.is_tensor(value) else value)


def run(modules, spec, tokenizer, token_ids, images, question, options=None, sar=None,
        policies=None, max_new_tokens=8192, sampler=None, recompute_sam_per_seg=False,
        dump=False, raw_query=False, inject_regions=True):
    """Answer one question.

    images: list of PIL images (one = single image or optical of an optical+SAR pair; several = a
    time series); sar: PIL pseudo-RGB SAR image or None. question: the question text; with
    raw_query=True it is the whole user text (must hold the `<image>` placeholder), otherwise it is
    wrapped as the benchmark does (instruction + `<image>\n` + question + `\n` + options).
    token_ids: dict with img_context, seg, region, stop (list). Returns a LoopResult.
    inject_regions=False is the engine's --no-region-injection (a diagnosis, not the release): each
    [SEG] still makes its masks, but no <REGION> rows are fed or emitted, and the next token comes
    from the [SEG] step's own logits at the next position.
    """
    pol = check_policies(dict(spec.policies, **(policies or {})))
    sampler = sampler or Sampler()
    rec = _Recorder(dump)
    images = [_as_rgb(img) for img in images]
    if not images:
        raise LoopError("no image given")
    if sar is not None and len(images) != 1:
        raise LoopError("an optical+SAR question takes exactly one optical image")
    mode = "sar" if sar is not None else ("series" if len(images) > 1 else "single")
    orig_w, orig_h = images[0].size
    cfg = spec.prompt
    T, Nt, tps = spec.tile_size, spec.tokens_per_tile, spec.tokens_per_side

    # -- vision tokens, once ------------------------------------------------------------------
    grid = None
    with torch.no_grad():
        if mode == "single":
            grid = preprocess.choose_tile_grid(orig_w, orig_h, T, spec.min_tiles, spec.max_tiles,
                                               spec.use_thumbnail)
            pixels = preprocess.tiles_to_tensor(preprocess.make_tiles(images[0], grid, T),
                                                spec.mean, spec.std).to(spec.dtype)
            vit = modules.vision(pixels)
            blocks = [vit.shape[0] * Nt]
            frame_offsets = [0]
        elif mode == "series":
            tiles = [preprocess.make_frame_tile(img, T) for img in images]
            pixels = preprocess.tiles_to_tensor(tiles, spec.mean, spec.std).to(spec.dtype)
            vit = modules.vision(pixels)
            blocks = [Nt] * len(images)
            frame_offsets = [i * Nt for i in range(len(images))]
        else:
            opt_pixels = preprocess.tiles_to_tensor([preprocess.make_frame_tile(images[0], T)],
                                                    spec.mean, spec.std).to(spec.dtype)
            sar_pixels = preprocess.tiles_to_tensor([preprocess.make_frame_tile(_as_rgb(sar), T)],
                                                    spec.mean, spec.std).to(spec.dtype)
            vit = torch.cat([modules.vision(opt_pixels), modules.sar_encoder(sar_pixels)], dim=0)
            rec.put("sar_pixels", sar_pixels)
            pixels = opt_pixels
            blocks = [Nt, Nt]
            frame_offsets = [0, Nt]
        if vit.dim() != 3 or vit.shape[1] != Nt:
            raise LoopError(f"vision: got tokens of shape {tuple(vit.shape)}, expected [N,{Nt},D]")
        vit_flat = vit.reshape(-1, vit.shape[-1])
        rec.put("pixels", pixels)
        rec.put("vit_embeds", vit_flat)

        # -- prompt ---------------------------------------------------------------------------
        query = question if raw_query else prompt_mod.build_query(question, options, cfg)
        indicators = mode == "series" and pol["frame_choice"] == "indicator"
        prompt_text = prompt_mod.build_prompt(query, blocks, cfg, frame_indicators=indicators)
        prompt_ids = tokenizer.encode(prompt_text, allow_special=True)
        ids_t = torch.tensor(prompt_ids, dtype=torch.int64)
        is_image = ids_t == token_ids["img_context"]
        if int(is_image.sum()) != vit_flat.shape[0]:
            raise LoopError(f"prompt: {int(is_image.sum())} <IMG_CONTEXT> tokens for "
                            f"{vit_flat.shape[0]} vision rows (does the question hold "
                            f"'{cfg.img_context}' or several '{cfg.image_placeholder}'?)")
        text_embeds = modules.embed(ids_t)
        embeds = text_embeds.clone()
        embeds[is_image] = vit_flat.to(embeds.dtype)
        rec.put("prompt_embeds", embeds)

        # -- SAM-2 image features --------------------------------------------------------------
        sam_images = images  # series: every frame; single and sar: the optical image only
        sam_inputs = [preprocess.sam_input_tensor(img, spec.sam_image_size, spec.sam_mean,
                                                  spec.sam_std).to(spec.dtype)
                      for img in sam_images]
        rec.put("sam_inputs", torch.cat(sam_inputs, 0))

        def sam_features():
            return [modules.sam_encode(x) for x in sam_inputs]

        sam_cache = None if recompute_sam_per_seg else sam_features()

        # -- prefill --------------------------------------------------------------------------
        cache = modules.new_cache() if hasattr(modules, "new_cache") else \
            torch.zeros(spec.cache_shape, dtype=spec.dtype)
        cache_len = cache.shape[3]
        if len(prompt_ids) > cache_len:
            raise LoopError(f"prompt: {len(prompt_ids)} tokens exceed the KV cache of {cache_len}")
        logits, _ = modules.step(embeds, torch.tensor([0]), cache)
        pos = len(prompt_ids)

        result = LoopResult()
        result.prompt_ids = list(prompt_ids)
        stop_ids = set(token_ids["stop"])
        seg_id, region_id = token_ids["seg"], token_ids["region"]
        output = result.output_ids
        seg_count = 0

        def choose(step_logits):
            if len(result.first_logits) < FIRST_LOGITS:
                result.first_logits.append(step_logits.detach().float().clone().reshape(-1))
            return sampler.choose(step_logits)

        def feed(rows):
            nonlocal pos
            if pos + rows.shape[0] > cache_len:
                raise LoopError(f"generation: {pos + rows.shape[0]} positions exceed the KV "
                                f"cache of {cache_len}")
            out = modules.step(rows, torch.tensor([pos]), cache)
            pos += rows.shape[0]
            return out

        next_id = choose(logits)
        while True:
            logits, hidden = feed(modules.embed(torch.tensor([next_id], dtype=torch.int64)))
            output.append(next_id)
            if next_id in stop_ids:
                result.stop_reason = "stop_token"
                break
            if next_id == seg_id:
                feats = sam_cache if sam_cache is not None else sam_features()
                seg, rows = _seg_round(modules, spec, pol, mode, hidden, feats, images, grid,
                                       vit_flat, text_embeds, is_image, frame_offsets, seg_count,
                                       tokenizer, output, orig_w, orig_h, rec)
                result.segs.append(seg)
                seg_count += 1
                if inject_regions:
                    logits, _ = feed(rows)
                    output.extend([region_id] * rows.shape[0])
                if seg_count >= spec.max_seg_rounds:
                    result.stop_reason = "max_seg_rounds"
                    break
                next_id = choose(logits)
                continue
            if len(output) >= max_new_tokens:
                result.stop_reason = "max_new_tokens"
                break
            next_id = choose(logits)

        result.text = tokenizer.decode(output).strip()
        result.dump = rec.data
        return result


def _seg_round(modules, spec, pol, mode, hidden, sam_feats, images, grid, vit_flat, text_embeds,
               is_image, frame_offsets, seg_count, tokenizer, output, orig_w, orig_h, rec):
    """One [SEG]: language embedding, masks, region selection. Returns (SegResult, rows to feed)."""
    lang = modules.seg_proj(hidden.reshape(1, -1))
    rec.append("seg_hidden", hidden)
    rec.append("lang_embeds", lang)
    masks, ious, scores = [], [], []
    for feat, hr0, hr1 in sam_feats:
        mask_logits, iou, score = modules.sam_decode(feat, hr0, hr1, lang)
        rec.append("mask_logits", mask_logits)
        # Release: bilinear to S x S in SAM-2's propagate_in_video (video size = the 1024 input),
        # then bilinear to the original H x W; sigmoid > 0.5.
        up = upsample_mask_logits_like_release(mask_logits.float(), spec.sam_image_size, orig_h,
                                               orig_w)
        masks.append((up[0, 0].sigmoid() > 0.5).numpy())
        ious.append(float(iou.reshape(-1)[0]))
        scores.append(float(score.reshape(-1)[0]))

    T, tps, cap, rule = spec.tile_size, spec.tokens_per_side, pol["region_cap"], \
        pol["region_selection"]
    frame = 0
    if mode == "single":
        local = regions.select_region_tokens(masks[0], grid, T, tps, cap, rule)
        indices = [int(i) for i in local]
        modality = "optical"
    elif mode == "series":
        if pol["frame_choice"] == "release":
            frame = seg_count % len(images)
        else:
            frame = _frame_from_indicators(tokenizer.decode(output), len(images))
        local = regions.select_region_tokens_frame(masks[frame], T, tps, cap, rule)
        indices = [int(i) + frame_offsets[frame] for i in local]
        modality = "optical"
    else:
        local = [int(i) for i in regions.select_region_tokens_frame(masks[0], T, tps, cap, rule)]
        opt = [i + frame_offsets[0] for i in local]
        sar = [i + frame_offsets[1] for i in local]
        if pol["sar_fusion"] == "release":
            indices, modality = opt, "optical"
        elif pol["sar_fusion"] == "concat":
            indices, modality = opt + sar, "both"
        else:
            indices = _adaptive_rows(vit_flat, opt, sar, text_embeds[~is_image])
            n_sar = sum(1 for i in indices if i >= frame_offsets[1])
            modality = "sar" if n_sar == len(indices) else ("optical" if n_sar == 0 else "both")
    rows = vit_flat[torch.tensor(indices, dtype=torch.int64)]
    rec.append("region_rows", rows)
    seg = SegResult(masks, indices, frame, modality, ious, scores)
    return seg, rows


def _adaptive_rows(vit_flat, opt, sar, query):
    """Paper Eq. 4-5 (release training code, fusion_mode 'query_select'): per position, the SAR
    row where its mean attention weight over the text tokens beats the optical row's."""
    v_opt = vit_flat[torch.tensor(opt, dtype=torch.int64)].float()
    v_sar = vit_flat[torch.tensor(sar, dtype=torch.int64)].float()
    q = query.float()
    scale = math.sqrt(q.shape[-1])
    beta_opt = torch.softmax(v_opt @ q.t() / scale, dim=0).mean(dim=1)
    beta_sar = torch.softmax(v_sar @ q.t() / scale, dim=0).mean(dim=1)
    pick_sar = (beta_sar > beta_opt).tolist()
    return [s if use_sar else o for o, s, use_sar in zip(opt, sar, pick_sar)]


class EagerModules:
    """The loop's module interface over the eager reference model (`model.TerraScope`).

    It goes through the same wrappers the exporter scripts (export.bundle_wrappers) when they
    exist, so eager == bundle compares TorchScript against the very same Python code."""

    def __init__(self, model, cache_len, dtype=torch.float32):
        self.model = model.eval()
        self.dtype = dtype
        self.cache_len = int(cache_len)

    def vision(self, pixels):
        return self.model.extract_feature(pixels)

    def sar_encoder(self, pixels):
        return self.model.extract_feature(pixels)

    def embed(self, ids):
        return self.model.language_model.embed(ids)

    def step(self, embeds, start, cache):
        return self.model.language_model.step(embeds, start, cache)

    def seg_proj(self, hidden):
        return self.model.text_hidden_fcs(hidden)

    def sam_encode(self, image):
        return tuple(self.model.grounding_encoder.encode_image(image))

    def sam_decode(self, feat, hr0, hr1, lang):
        return tuple(self.model.grounding_encoder.decode(feat, hr0, hr1, lang))

    def new_cache(self):
        return torch.zeros(self.model.language_model.cache_shape(self.cache_len), dtype=self.dtype)


def mask_to_numpy(mask):
    return np.asarray(mask, dtype=bool)
