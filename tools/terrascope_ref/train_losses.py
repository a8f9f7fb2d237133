"""Teacher-forced training of the reference model on Terra-CoT samples (tools/train_tiny.py).

One training example is laid out exactly as the reference loop (loop.py) lays out inference:
prompt (instruction + image blocks + question + options, in the chat template), then the
assistant's Terra-CoT ids followed by `<|im_end|>`, where every `[SEG]` is followed by the K
`<REGION>` positions the loop would feed; their input embeddings are the vision rows selected
from the ground-truth mask by the release rule (`regions.select_region_tokens[_frame]`, K=8):
teacher forcing sees what inference sees when the mask is right.

Losses:
- language model: cross-entropy on every assistant token the loop CHOOSES (text, `[SEG]`, the stop
  id); `<REGION>` ids are fed, never chosen, so they are no target;
- mask: the final-norm hidden state at each `[SEG]` -> `text_hidden_fcs` -> SAM-2 mask decoder with
  the scene's SAM-2 features (the frame the ground-truth mask belongs to) -> low-res logits
  (S/4 x S/4) against the ground-truth mask area-averaged to S/4; BCE + Dice on all three
  multimask outputs, so that whichever the IoU head picks at inference is trained.
"""

from dataclasses import dataclass, field
from typing import List

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import preprocess, prompt as prompt_mod, regions
from .qwen2 import apply_rope, causal_bias, rope_cos_sin

IGNORE = -100


@dataclass
class Example:
    """One sample as tensors, ready for `batch_losses`."""
    task: str
    pixels: torch.Tensor          # [tiles, 3, T, T], all vision inputs (optical tiles, then SAR)
    sam_inputs: torch.Tensor      # [F, 3, S, S] SAM-2 inputs (series: every frame)
    ids: torch.Tensor             # [L] prompt + assistant ids, <REGION> ids included
    image_positions: torch.Tensor  # positions of <IMG_CONTEXT> (rows 0.. of the flat vision rows)
    region_positions: torch.Tensor  # positions of <REGION>
    region_rows: torch.Tensor     # flat vision row fed at each <REGION> position
    labels: torch.Tensor          # [L] next-token target of each position, IGNORE where none
    seg_positions: List[int] = field(default_factory=list)
    seg_frames: List[int] = field(default_factory=list)   # SAM input of each [SEG]'s GT mask
    seg_targets: torch.Tensor = None  # [nseg, S/4, S/4] ground truth, area-averaged
    answer_positions: List[int] = field(default_factory=list)  # positions whose target is in
    # the answer (letter between <answer> and </answer>)
    seg_kinds: List[int] = field(default_factory=list)  # what each [SEG]'s mask shows (MASK_KINDS)
    tail_positions: List[int] = field(default_factory=list)  # positions whose target lies after
    # the last <REGION> and before <answer>: the sentence that states the finding
    token_fractions: torch.Tensor = None  # [vision rows, classes]: class shares under each row
    token_distances: torch.Tensor = None  # distance questions: [vision rows, classes^2], see
    # token_distances(); None for other samples
    token_counts: torch.Tensor = None  # building change pairs: [vision rows, 2] roofs and rubble
    # patches (buildings whose centre lies under the row) each frame shows; None for other samples


# What a [SEG] mask shows: the six land-cover classes (tools/synth/scenes.py order), then the
# buildings before the event and the destroyed ones of a building-change pair.
NUM_LAND_COVER = 6
BUILDINGS_BEFORE, BUILDINGS_DESTROYED = 6, 7
NUM_MASK_KINDS = 8


def mask_kinds(sample):
    """Kind of each ground-truth mask of a synth sample (the order of its [SEG]s)."""
    if sample["task_type"] == "BCE":
        return [BUILDINGS_BEFORE, BUILDINGS_DESTROYED]
    kinds = [int(c) for c in sample["meta"]["classes"]]
    if len(kinds) != len(sample["masks"]):
        raise ValueError(f"{sample['id']}: {len(kinds)} classes for {len(sample['masks'])} masks")
    return kinds


def _cell_fractions(labels, rows, cols):
    """[rows * cols, classes]: the class shares of a label map over a rows x cols grid of cells
    (area-weighted resampling of the one-hot map)."""
    onehot = F.one_hot(torch.from_numpy(np.asarray(labels, dtype=np.int64)), NUM_LAND_COVER)
    onehot = onehot.permute(2, 0, 1)[None].float()
    cells = F.interpolate(onehot, size=(rows, cols), mode="area")[0]
    return cells.permute(1, 2, 0).reshape(rows * cols, NUM_LAND_COVER)


def token_fractions(labels, mode, grid, n_images, tokens_per_side):
    """Class shares under every vision row, in the order of the rows (tiles row-major, tokens
    row-major in a tile, then the thumbnail; one frame tile per image in single-tile modes)."""
    n = tokens_per_side
    if mode != "single":
        return torch.cat([_cell_fractions(labels, n, n)] * n_images, 0)
    full = _cell_fractions(labels, grid.rows * n, grid.cols * n)
    full = full.reshape(grid.rows, n, grid.cols, n, NUM_LAND_COVER).permute(0, 2, 1, 3, 4)
    parts = [full.reshape(-1, NUM_LAND_COVER)]
    if grid.thumbnail:
        parts.append(_cell_fractions(labels, n, n))
    return torch.cat(parts, 0)


class Layout:
    """Sizes and token ids the examples need (the model's, as the manifest will carry them)."""

    def __init__(self, tokenizer, tile_size, tokens_per_tile, sam_image_size, region_cap=8,
                 prompt_config=None):
        self.tokenizer = tokenizer
        self.tile_size = int(tile_size)
        self.tokens_per_tile = int(tokens_per_tile)
        self.tokens_per_side = int(round(tokens_per_tile ** 0.5))
        self.sam_image_size = int(sam_image_size)
        self.region_cap = int(region_cap)
        self.prompt = prompt_config or prompt_mod.PromptConfig()
        tid = tokenizer.token_to_id
        self.img_context = tid("<IMG_CONTEXT>")
        self.seg = tid("[SEG]")
        self.region = tid("<REGION>")
        self.im_end = tid("<|im_end|>")
        self.answer_start = tid("<answer>")
        self.answer_end = tid("</answer>")
        for name in ("img_context", "seg", "region", "im_end", "answer_start", "answer_end"):
            if getattr(self, name) is None:
                raise ValueError(f"tokenizer: lacks the token for {name}")


# Distances in the probe targets: units of 100 m, capped at 600 m (the DM ranges end at 350 m).
DISTANCE_UNIT_PX, DISTANCE_CAP = 10.0, 6.0


def class_distance_maps(labels, classes=NUM_LAND_COVER):
    """[classes, H, W]: Euclidean distance (pixel centres) from every pixel to the nearest pixel of
    each class (inf where the class is absent); exact, separably: the distance within the row,
    then the minimum over rows of (dy^2 + that^2)."""
    labels = np.asarray(labels)
    h, w = labels.shape
    xs = np.arange(w)
    far = 4 * (h + w)
    dy2 = (np.arange(h)[:, None] - np.arange(h)[None, :]).astype(np.float64) ** 2
    out = np.full((classes, h, w), np.inf)
    for c in range(classes):
        m = labels == c
        if not m.any():
            continue
        left = np.maximum.accumulate(np.where(m, xs, -far), axis=1)
        right = np.minimum.accumulate(np.where(m, xs, 2 * far)[:, ::-1], axis=1)[:, ::-1]
        row = np.minimum(xs - left, right - xs).astype(np.float64)
        out[c] = np.sqrt((dy2[:, :, None] + row[None, :, :] ** 2).min(axis=1))
    return out


def token_distances(sample, mode, n_tiles, tokens_per_side):
    """[rows, classes * classes] for a distance (DM) question on a single-tile scene (`n_tiles`
    tiles: 1, or the optical and SAR frame tiles): row r,
    channel a * classes + b = the distance from the pixels of class a under row r's cell to the
    nearest pixel of class b (DISTANCE_UNIT_PX pixels per unit, capped at DISTANCE_CAP; the cap
    where the cell holds no pixel of a). The minimum over the rows of channel (a, b) is the
    distance DM asks for. None for other samples and layouts."""
    labels = np.asarray(sample["labels"])
    n = tokens_per_side
    h, w = labels.shape
    if (sample["task_type"] != "DM" or mode == "series" or (mode == "single" and n_tiles != 1)
            or h % n or w % n):
        return None
    k = NUM_LAND_COVER
    dist = np.minimum(class_distance_maps(labels, k) / DISTANCE_UNIT_PX, DISTANCE_CAP)
    out = np.full((n * n, k, k), DISTANCE_CAP)
    for a in range(k):
        inside = labels == a
        if not inside.any():
            continue
        vals = np.where(inside[None], dist, DISTANCE_CAP)  # [k, h, w]
        cells = vals.reshape(k, n, h // n, n, w // n).min(axis=(2, 4))  # [k, n, n]
        out[:, a, :] = cells.reshape(k, n * n).T
    rows = torch.from_numpy(out.reshape(n * n, k * k)).float()
    return torch.cat([rows] * n_tiles, 0)


def token_counts(sample, tokens_per_side):
    """[frames * tokens, 2]: per vision row of a building-change pair, the roofs and the rubble
    patches whose box centre lies in its cell (pre frame: every building, no rubble; post frame:
    the intact and new buildings, the destroyed ones as rubble). None for other samples."""
    centres = sample["meta"].get("centres") if sample["frames"] is not None else None
    if centres is None or len(sample["frames"]) != 2:
        return None
    n = tokens_per_side
    h, w = sample["frames"][0].shape[:2]
    counts = torch.zeros(2, n * n, 2)
    shown = ((centres["roofs_pre"], []), (centres["roofs_post"], centres["rubble"]))
    for frame, kinds in enumerate(shown):
        for channel, points in enumerate(kinds):
            for cy, cx in points:
                cell = min(n - 1, int(cy / h * n)) * n + min(n - 1, int(cx / w * n))
                counts[frame, cell, channel] += 1.0
    return counts.reshape(2 * n * n, 2)


def sample_images(sample):
    """(mode, optical PIL images, SAR PIL or None) of a synth sample, as the loop takes them."""
    if sample["frames"] is not None:
        return "series", [Image.fromarray(f) for f in sample["frames"]], None
    sar = Image.fromarray(sample["sar"]) if sample["sar"] is not None else None
    return ("sar" if sar is not None else "single"), [Image.fromarray(sample["optical"])], sar


def downsample_mask(mask, size):
    """Ground-truth mask -> soft target [size, size]: the share of each low-res cell that is true."""
    t = torch.from_numpy(np.asarray(mask, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(size, size), mode="area")[0, 0]


def make_example(sample, layout, inject_regions=True):
    """The teacher-forced sequence of a synth sample (records.make_sample dict)."""
    lay = layout
    T, Nt, tps = lay.tile_size, lay.tokens_per_tile, lay.tokens_per_side
    mode, images, sar = sample_images(sample)
    w, h = images[0].size
    grid = None
    if mode == "single":
        grid = preprocess.choose_tile_grid(w, h, T)
        tiles = preprocess.make_tiles(images[0], grid, T)
        blocks = [len(tiles) * Nt]
        offsets = [0]
    elif mode == "series":
        tiles = [preprocess.make_frame_tile(img, T) for img in images]
        blocks = [Nt] * len(images)
        offsets = [i * Nt for i in range(len(images))]
    else:
        tiles = [preprocess.make_frame_tile(images[0], T), preprocess.make_frame_tile(sar, T)]
        blocks = [Nt, Nt]
        offsets = [0, Nt]
    pixels = preprocess.tiles_to_tensor(tiles)
    sam_inputs = torch.cat([preprocess.sam_input_tensor(img, lay.sam_image_size)
                            for img in images], 0)

    query = prompt_mod.build_query(sample["question"], sample["options"], lay.prompt)
    prompt_ids = lay.tokenizer.encode(prompt_mod.build_prompt(query, blocks, lay.prompt),
                                      allow_special=True)
    answer_ids = lay.tokenizer.encode(sample["cot"], allow_special=True) + [lay.im_end]
    kinds = mask_kinds(sample)

    ids = list(prompt_ids)
    chosen = [False] * len(ids)   # is position p an id the loop chooses (a loss target)?
    region_positions, region_rows = [], []
    seg_positions, seg_frames, targets = [], [], []
    low = lay.sam_image_size // 4
    seg_index = 0
    for tok in answer_ids:
        ids.append(tok)
        chosen.append(True)
        if tok != lay.seg:
            continue
        mask = sample["masks"][seg_index]
        frame = sample["mask_frames"][seg_index] if sample["mask_frames"] else 0
        seg_positions.append(len(ids) - 1)
        seg_frames.append(frame)
        targets.append(downsample_mask(mask, low))
        if inject_regions:
            if mode == "single":
                local = regions.select_region_tokens(mask, grid, T, tps, lay.region_cap)
                rows = [int(i) for i in local]
            else:
                # series: frame seg_count % frames (release), whose GT mask is this one;
                # sar: positions of the optical mask, optical rows (release fusion)
                region_frame = seg_index % len(images) if mode == "series" else 0
                local = regions.select_region_tokens_frame(mask, T, tps, lay.region_cap)
                rows = [int(i) + offsets[region_frame] for i in local]
            for r in rows:
                region_positions.append(len(ids))
                region_rows.append(r)
                ids.append(lay.region)
                chosen.append(False)
        seg_index += 1
    if seg_index != len(sample["masks"]):
        raise ValueError(f"{sample['id']}: {seg_index} [SEG] for {len(sample['masks'])} masks")

    ids_t = torch.tensor(ids, dtype=torch.int64)
    labels = torch.full((len(ids),), IGNORE, dtype=torch.int64)
    answer_positions, tail_positions = [], []
    phase = "prompt"  # prompt -> reasoning -> answer (between <answer> and </answer>) -> end
    last_seg = max(seg_positions) if seg_positions else len(ids)
    for p in range(len(ids) - 1):
        target = ids[p + 1]
        if phase == "prompt" and p + 1 >= len(prompt_ids):
            phase = "reasoning"  # (the instruction in the prompt names the tags too)
        if phase == "reasoning" and target == lay.answer_start:
            phase = "answer"
        elif phase == "answer" and target == lay.answer_end:
            phase = "end"
        if not chosen[p + 1]:
            continue
        labels[p] = target
        if phase == "answer" and target != lay.answer_start:
            answer_positions.append(p)
        elif phase == "reasoning" and p > last_seg:
            tail_positions.append(p)

    image_positions = (ids_t == lay.img_context).nonzero().reshape(-1)
    if image_positions.numel() != sum(blocks):
        raise ValueError(f"{sample['id']}: {image_positions.numel()} <IMG_CONTEXT> for "
                         f"{sum(blocks)} vision rows")
    return Example(task=sample["task_type"], pixels=pixels, sam_inputs=sam_inputs, ids=ids_t,
                   image_positions=image_positions,
                   region_positions=torch.tensor(region_positions, dtype=torch.int64),
                   region_rows=torch.tensor(region_rows, dtype=torch.int64), labels=labels,
                   seg_positions=seg_positions, seg_frames=seg_frames,
                   seg_targets=torch.stack(targets), answer_positions=answer_positions,
                   seg_kinds=kinds, tail_positions=tail_positions,
                   token_fractions=token_fractions(sample["labels"], mode, grid, len(tiles)
                                                   if mode != "single" else 1, tps),
                   token_counts=token_counts(sample, tps),
                   token_distances=token_distances(sample, mode, len(tiles), tps))


def _attention(att, hs, cos, sin, prefix_kv, bias):
    """Qwen2 attention of hs [B, n, D] at the positions of cos/sin, over the keys/values of a
    shared prefix (prefix_kv: k, v [1, H, P, hd] or None) followed by its own, with `bias`
    [n, P + n]. Returns (output [B, n, D], own k, v)."""
    b, n, _ = hs.shape
    q = att.q_proj(hs).reshape(b, n, att.num_heads, att.head_dim).transpose(1, 2)
    k = att.k_proj(hs).reshape(b, n, att.num_kv_heads, att.head_dim).transpose(1, 2)
    v = att.v_proj(hs).reshape(b, n, att.num_kv_heads, att.head_dim).transpose(1, 2)
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    k = k.repeat_interleave(att.groups, dim=1)
    v = v.repeat_interleave(att.groups, dim=1)
    keys, values = k, v
    if prefix_kv is not None:
        keys = torch.cat([prefix_kv[0].expand(b, -1, -1, -1), k], dim=2)
        values = torch.cat([prefix_kv[1].expand(b, -1, -1, -1), v], dim=2)
    scores = torch.matmul(q, keys.transpose(-1, -2)) * att.scale + bias
    out = torch.matmul(F.softmax(scores, dim=-1), values)
    return att.o_proj(out.transpose(1, 2).reshape(b, n, att.num_heads * att.head_dim)), k, v


def llm_forward_batch(lm, embeds, prefix_len=0):
    """Qwen2ForCausalLM.forward_full over a right-padded batch: embeds [B, L, D] ->
    (logits [B, L, V], final-norm hidden [B, L, D]). Causal attention alone keeps padding out of
    every real position (pads come after), so no padding mask is needed. The first `prefix_len`
    rows, identical in every sequence (the chat template and the instruction), are computed once
    and shared (the same numbers, fewer operations)."""
    b, n, _ = embeds.shape
    p = int(prefix_len)
    positions = torch.arange(n)
    cos, sin = rope_cos_sin(positions, lm.head_dim, lm.rope_theta, embeds.dtype)
    bias = causal_bias(positions[None, :] <= positions[:, None], embeds.dtype)
    x_pre = embeds[:1, :p]
    x = embeds[:, p:]
    for layer in lm.model.layers:
        att = layer.self_attn
        prefix_kv = None
        if p:
            out, k_pre, v_pre = _attention(att, layer.input_layernorm(x_pre), cos[:p], sin[:p],
                                           None, bias[:p, :p])
            x_pre = x_pre + out
            x_pre = x_pre + layer.mlp(layer.post_attention_layernorm(x_pre))
            prefix_kv = (k_pre, v_pre)
        out, _, _ = _attention(att, layer.input_layernorm(x), cos[p:], sin[p:], prefix_kv,
                               bias[p:, :])
        x = x + out
        x = x + layer.mlp(layer.post_attention_layernorm(x))
    if p:
        x = torch.cat([x_pre.expand(b, -1, -1), x], dim=1)
    hidden = lm.model.norm(x)
    return lm.lm_head(hidden), hidden


def common_prefix(examples):
    """Length of the id prefix all examples share, stopping before the first image row."""
    first = examples[0].ids
    limit = min(min(e.ids.numel() for e in examples), int(first.numel()))
    if examples[0].image_positions.numel():
        limit = min(limit, int(examples[0].image_positions[0]))
    n = 0
    while n < limit and all(int(e.ids[n]) == int(first[n]) for e in examples):
        n += 1
    return n


def dice_loss(logits, target):
    p = logits.sigmoid().flatten(1)
    t = target.flatten(1)
    return 1.0 - (2.0 * (p * t).sum(1) + 1.0) / (p.sum(1) + t.sum(1) + 1.0)


def mask_losses(model, feat, hr0, hr1, lang, target, pos_weight=1.0):
    """SAM-2's three multimask outputs for the language embeddings `lang` [N, C] on the image
    features (one row per mask) against the soft targets [N, S/4, S/4]: (BCE + Dice over the three
    outputs, MSE of the IoU head, low-res IoU of the output the IoU head picks)."""
    g = model.grounding_encoder
    pe = g.sam2_model.sam_prompt_encoder
    sparse = torch.cat([pe.not_a_point(2).expand(lang.shape[0], -1, -1), lang[:, None, :]], 1)
    masks, iou_pred, _ = g.sam2_model.sam_mask_decoder(feat, pe.dense_pe(), sparse,
                                                       pe.dense_no_mask(), hr0, hr1)
    masks, iou_pred = masks[:, 1:], iou_pred[:, 1:]
    k = masks.shape[1]
    tgt = target[:, None].expand(-1, k, -1, -1)
    pw = torch.tensor(float(pos_weight)) if pos_weight != 1.0 else None
    bce = F.binary_cross_entropy_with_logits(masks, tgt, reduction="none",
                                             pos_weight=pw).mean((2, 3))
    dice = dice_loss(masks.reshape(-1, *masks.shape[2:]), tgt.reshape(-1, *tgt.shape[2:]))
    mask_loss = (bce + dice.reshape(bce.shape)).mean()
    with torch.no_grad():
        pred = masks > 0
        gt = tgt > 0.5
        inter = (pred & gt).flatten(2).sum(-1).float()
        union = (pred | gt).flatten(2).sum(-1).float().clamp(min=1)
        true_iou = inter / union
    # the IoU head learns each output's IoU, so the release's argmax picks a good one
    iou_loss = F.mse_loss(iou_pred, true_iou)
    best = iou_pred.argmax(1)
    picked_iou = true_iou.gather(1, best[:, None]).mean()
    return mask_loss, iou_loss, picked_iou.detach()


def seg_inputs(model, examples):
    """What SAM-2 sees at every [SEG] of a batch, in order: (feat, hr0, hr1) of the frame its
    ground-truth mask belongs to, the mask kinds (tensor) and the targets [N, S/4, S/4]. The
    images are encoded once each, whatever number of [SEG]s use them."""
    feat, hr0, hr1 = model.grounding_encoder.encode_image(
        torch.cat([e.sam_inputs for e in examples], 0))
    index, kinds, targets = [], [], []
    base = 0
    for e in examples:
        index += [base + f for f in e.seg_frames]
        kinds += e.seg_kinds
        targets.append(e.seg_targets)
        base += e.sam_inputs.shape[0]
    index = torch.tensor(index, dtype=torch.int64)
    features = tuple(t.index_select(0, index) for t in (feat, hr0, hr1))
    return features, torch.tensor(kinds, dtype=torch.int64), torch.cat(targets, 0)


def sam_stage_losses(model, examples, kind_table, pos_weight=1.0):
    """SAM-2 alone, prompted with a learnt embedding per mask kind (`kind_table` [kinds, C]) in
    the language slot: the grounding encoder learns to segment before any LLM exists."""
    features, kinds, targets = seg_inputs(model, examples)
    mask_loss, iou_loss, iou = mask_losses(model, *features, kind_table[kinds], targets, pos_weight)
    return {"loss": mask_loss + 0.1 * iou_loss, "mask": mask_loss.detach(), "iou": iou}


def batch_losses(model, examples, mask_weight=1.0, answer_weight=1.0, lm_weight=1.0,
                 pos_weight=1.0, tail_weight=1.0, kind_table=None, align_weight=0.0,
                 probe=None, probe_weight=0.0, count_probe=None, count_probe_weight=0.0,
                 distance_probe=None, distance_probe_weight=0.0, lot_probe=None,
                 lot_probe_weight=0.0):
    """Forward a list of Examples; returns a dict of scalar tensors: loss, lm, mask, and the
    detached metrics iou (low-res, best-IoU output vs GT > 0.5) and token accuracy.
    `pos_weight` > 1 weighs the mask BCE's positive term (objects cover a small share of the
    image: unweighted, an all-empty mask is a deep, flat minimum for a SAM-2 trained from scratch).
    `tail_weight` weighs the reasoning's last sentence (the finding, after the last <REGION>);
    `kind_table` + `align_weight`: MSE between text_hidden_fcs at each [SEG] and the embedding
    the SAM-2 stage learnt for that mask kind; `probe` (a module vision row -> class logits) +
    `probe_weight`: cross-entropy of the vision rows against the class shares under them;
    `count_probe` (a module vision row -> 2) + `count_probe_weight`: MSE of the building-change
    pairs' vision rows against the roofs and rubble patches under them (`token_counts`);
    `distance_probe` (vision row -> classes^2) + `distance_probe_weight`: MSE of the distance
    questions' vision rows against `token_distances`; `lot_probe` (vision row -> 2 x side logits)
    + `lot_probe_weight`: cross-entropy of every vision row against the row and the column of its
    token in its tile (the lots DM's reasoning names, docs/SYNTH.md)."""
    vis = model.extract_feature(torch.cat([e.pixels for e in examples], 0))
    d = vis.shape[-1]
    lengths = [e.ids.numel() for e in examples]
    lmax = max(lengths)
    lm = model.language_model
    rows, flats = [], []  # flats: each example's vision rows
    start = 0
    for e in examples:
        n_tiles = e.pixels.shape[0]
        flat = vis[start:start + n_tiles].reshape(-1, d)
        flats.append(flat)
        start += n_tiles
        emb = lm.embed(e.ids)
        emb = emb.index_copy(0, e.image_positions, flat)
        if e.region_positions.numel():
            emb = emb.index_copy(0, e.region_positions, flat.index_select(0, e.region_rows))
        rows.append(F.pad(emb, (0, 0, 0, lmax - emb.shape[0])))
    logits, hidden = llm_forward_batch(lm, torch.stack(rows), common_prefix(examples))
    labels = torch.stack([F.pad(e.labels, (0, lmax - e.labels.numel()), value=IGNORE)
                          for e in examples])
    weights = (labels != IGNORE).float()
    for i, e in enumerate(examples):
        if answer_weight != 1.0 and e.answer_positions:
            weights[i, torch.tensor(e.answer_positions)] = answer_weight
        if tail_weight != 1.0 and e.tail_positions:
            weights[i, torch.tensor(e.tail_positions)] = tail_weight
    ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1).clamp(min=0),
                         reduction="none").reshape(labels.shape)
    lm_loss = (ce * weights).sum() / weights.sum()
    with torch.no_grad():
        valid = labels != IGNORE
        token_acc = ((logits.argmax(-1) == labels) & valid).sum().float() / valid.sum()
        ans = torch.zeros_like(valid)
        for i, e in enumerate(examples):
            if e.answer_positions:
                ans[i, torch.tensor(e.answer_positions)] = True
        answer_acc = ((logits.argmax(-1) == labels) & ans).sum().float() / ans.sum().clamp(min=1)

    # [SEG] path
    seg_hidden = [hidden[i, p] for i, e in enumerate(examples) for p in e.seg_positions]
    features, kinds, targets = seg_inputs(model, examples)
    lang = model.text_hidden_fcs(torch.stack(seg_hidden))
    mask_loss, iou_loss, picked_iou = mask_losses(model, *features, lang, targets, pos_weight)
    loss = lm_weight * lm_loss + mask_weight * mask_loss + 0.1 * iou_loss
    out = {"lm": lm_loss.detach(), "mask": mask_loss.detach(), "iou": picked_iou,
           "token_acc": token_acc.detach(), "answer_acc": answer_acc}
    if kind_table is not None and align_weight:
        want = kind_table[kinds]
        align = F.mse_loss(lang, want) / want.pow(2).mean().clamp(min=1e-6)
        loss = loss + align_weight * align
        out["align"] = align.detach()
    if probe is not None and probe_weight:
        fractions = torch.cat([e.token_fractions for e in examples], 0)
        logp = F.log_softmax(probe(vis.reshape(-1, d)), -1)
        probe_loss = -(fractions * logp).sum(-1).mean()
        loss = loss + probe_weight * probe_loss
        out["probe"] = probe_loss.detach()
    if lot_probe is not None and lot_probe_weight:
        per_tile = vis.shape[1]
        side = int(round(per_tile ** 0.5))
        cells = torch.arange(per_tile).repeat(vis.shape[0])
        logits_rc = lot_probe(vis.reshape(-1, d))
        lot_loss = (F.cross_entropy(logits_rc[:, :side], cells // side)
                    + F.cross_entropy(logits_rc[:, side:], cells % side))
        loss = loss + lot_probe_weight * lot_loss
        out["lot"] = lot_loss.detach()
    for name, head, weight, field in (("count", count_probe, count_probe_weight, "token_counts"),
                                      ("distance", distance_probe, distance_probe_weight,
                                       "token_distances")):
        if head is None or not weight:
            continue
        pairs = [(flat, getattr(e, field)) for flat, e in zip(flats, examples)
                 if getattr(e, field) is not None]
        if pairs:
            inputs, targets = zip(*pairs)
            term = F.mse_loss(head(torch.cat(inputs, 0)), torch.cat(targets, 0))
            loss = loss + weight * term
            out[name] = term.detach()
    out["loss"] = loss
    return out
