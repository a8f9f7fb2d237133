"""SAM-2 grounding encoder of TerraScope: Hiera trunk + FPN neck, prompt encoder, mask decoder.

Only the path the released inference takes is implemented: a single language-embedding prompt on a
freshly initialised video state (no memory). What the release does there (TerraScope
`projects/terrascope/hf/models/sam2.py`, `SAM2.language_embd_inference` -> `add_language_embd` ->
`track_step` -> `SAM2Base._forward_sam_heads`, then `propagate_in_video`):

* image features (`forward_image`, `_prepare_backbone_features`): the neck's three highest-resolution
  levels (`scalp=1` drops the stride-32 level, which still feeds the stride-16 level top-down);
  levels 0 and 1 go through the mask decoder's `conv_s0` / `conv_s1` once; the stride-16 level gets
  `no_mem_embed` added (`directly_add_no_mem_embed=True`, the frame is an initial conditioning frame);
* sparse prompt: no point inputs, so the release builds one point at (0,0) with label -1, and the prompt
  encoder pads one more (label -1) because there is no box: two "not a point" embeddings
  (`not_a_point_embed`, the positional part is zeroed), then the language embedding is appended:
  `[not_a_point, not_a_point, lang]`, shape [1, 3, C];
* dense prompt: `no_mask_embed` broadcast over the stride-16 grid (no mask input, no previous mask);
* multimask output (0 points is within `multimask_min_pt_num=0 .. multimask_max_pt_num=1`): the three
  masks of tokens 1..3, the one with the highest predicted IoU (sigmoid IoU head) is returned;
* object-score gating: the release's `SAM2Base._forward_sam_heads` has the `torch.where(..., NO_OBJ_SCORE)`
  line commented out, so the returned logits are NOT gated. `Sam2Config.gate_object_score=True` turns on
  the gating of upstream SAM-2 (-1024 where the object score is not positive) for other policies;
* the low-res mask [1,1,S/4,S/4] is upsampled bilinearly (align_corners=False) to S x S by
  `_get_orig_video_res_output` (video size = image_size in `init_state`), and then again to the original
  H x W in `predict_forward_with_grounding`, then sigmoid > 0.5: see `upsample_mask_logits_like_release`.

Parameter names are those of the released checkpoint under `grounding_encoder.sam2_model.` so that a real
checkpoint loads with `strict=False` (memory attention/encoder, object pointers and the mask-input path are
not needed and not built). No `scaled_dot_product_attention` (Debian's torch 1.13): attention is written
out; the modules are scriptable (`torch.jit.script`).
"""

import math
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Release constant (sam2.py NO_OBJ_SCORE): mask logits of an absent object.
NO_OBJ_SCORE = -1024.0


@dataclass
class Sam2Config:
    """SAM-2 sizes; defaults are the release's Hiera-L (sam2.py `SAM2.build_image_encoder`, `SAM2Base_`)."""

    image_size: int = 1024
    # Hiera trunk
    embed_dim: int = 144
    num_heads: int = 2
    stages: Tuple[int, ...] = (2, 6, 36, 4)
    global_att_blocks: Tuple[int, ...] = (23, 33, 43)
    window_spec: Tuple[int, ...] = (8, 4, 16, 8)
    window_pos_embed_bkg_spatial_size: Tuple[int, int] = (7, 7)
    q_pool: int = 3
    q_stride: Tuple[int, int] = (2, 2)
    dim_mul: float = 2.0
    head_mul: float = 2.0
    mlp_ratio: float = 4.0
    patch_kernel_size: int = 7
    patch_stride: int = 4
    patch_padding: int = 3
    # FPN neck
    d_model: int = 256
    backbone_channel_list: Optional[Tuple[int, ...]] = None  # None: trunk stage dims, lowest res first
    fpn_top_down_levels: Tuple[int, ...] = (2, 3)
    fpn_interp_mode: str = "nearest"
    scalp: int = 1
    backbone_stride: int = 16
    # mask decoder (SAM2Base_._build_sam_heads)
    decoder_depth: int = 2
    decoder_num_heads: int = 8
    decoder_mlp_dim: int = 2048
    attention_downsample_rate: int = 2
    num_multimask_outputs: int = 3
    iou_head_depth: int = 3
    iou_head_hidden_dim: int = 256
    iou_prediction_use_sigmoid: bool = True
    # release: gating commented out in SAM2Base._forward_sam_heads (see module docstring)
    gate_object_score: bool = False

    def __post_init__(self):
        self.stages = tuple(self.stages)
        self.global_att_blocks = tuple(self.global_att_blocks)
        self.window_spec = tuple(self.window_spec)
        self.fpn_top_down_levels = tuple(self.fpn_top_down_levels)
        if self.backbone_channel_list is None:
            dims = [int(self.embed_dim * self.dim_mul**i) for i in range(len(self.stages))]
            self.backbone_channel_list = tuple(reversed(dims))
        else:
            self.backbone_channel_list = tuple(self.backbone_channel_list)
        if len(self.stages) != len(self.window_spec):
            raise ValueError("Sam2Config: stages and window_spec differ in length")
        if self.image_size % (self.patch_stride * self.window_spec[0]) != 0:
            raise ValueError(
                f"Sam2Config: image_size {self.image_size} is not a multiple of patch stride x first "
                f"window ({self.patch_stride} x {self.window_spec[0]})")
        stage_starts = [sum(self.stages[:i]) for i in range(1, len(self.stages))][:self.q_pool]
        if any(b in stage_starts for b in self.global_att_blocks):
            # the release's MultiScaleBlock divides by the pooled window size: it cannot run this
            raise ValueError("Sam2Config: a global attention block cannot start a pooled stage")
        if self.d_model % 8 != 0:
            raise ValueError(f"Sam2Config: d_model {self.d_model} is not a multiple of 8")

    @property
    def embedding_size(self) -> int:
        """Side of the stride-16 feature grid (release `sam_image_embedding_size`)."""
        return self.image_size // self.backbone_stride

    @staticmethod
    def tiny() -> "Sam2Config":
        """A few-hundred-KB configuration with the release's structure, for tests and tiny bundles."""
        return Sam2Config(image_size=256, embed_dim=16, num_heads=1, stages=(1, 2, 1, 1),
                          global_att_blocks=(2,), window_spec=(8, 4, 4, 2), d_model=32,
                          decoder_num_heads=4, decoder_mlp_dim=64, iou_head_hidden_dim=32)


class MLP(nn.Module):
    """Stack of Linear layers, activation between them (sam2.py `MLP`; names `layers.i`)."""

    def __init__(self, input_dim: int, hidden_dim: int, output_dim: int, num_layers: int,
                 activation: str = "relu", sigmoid_output: bool = False):
        super().__init__()
        dims_in = [input_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [output_dim]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims_in, dims_out))
        self.act = nn.GELU() if activation == "gelu" else nn.ReLU()
        self.num_layers = num_layers
        self.sigmoid_output = sigmoid_output

    def forward(self, x: Tensor) -> Tensor:
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < self.num_layers - 1:
                x = self.act(x)
        if self.sigmoid_output:
            x = torch.sigmoid(x)
        return x


class LayerNorm2d(nn.Module):
    """LayerNorm over the channel axis of NCHW (eps 1e-6, as sam2.py `LayerNorm2d`)."""

    def __init__(self, num_channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        mean = x.mean(1, keepdim=True)
        var = (x - mean).pow(2).mean(1, keepdim=True)
        x = (x - mean) / torch.sqrt(var + self.eps)
        return self.weight[:, None, None] * x + self.bias[:, None, None]


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(d)) v over [..., tokens, d]: scaled_dot_product_attention without a mask."""
    scale = 1.0 / math.sqrt(q.shape[-1])
    weights = torch.softmax(torch.matmul(q * scale, k.transpose(-2, -1)), dim=-1)
    return torch.matmul(weights, v)


# ----------------------------------------------------------------------------------------------
# Hiera trunk


def window_partition(x: Tensor, window: int) -> Tuple[Tensor, int, int]:
    """[B,H,W,C] -> [B*nw, window, window, C], zero-padded at the bottom/right; returns padded H, W."""
    b, h, w, c = x.shape
    pad_h = (window - h % window) % window
    pad_w = (window - w % window) % window
    if pad_h > 0 or pad_w > 0:
        x = F.pad(x, (0, 0, 0, pad_w, 0, pad_h))
    hp, wp = h + pad_h, w + pad_w
    x = x.view(b, hp // window, window, wp // window, window, c)
    return x.permute(0, 1, 3, 2, 4, 5).reshape(-1, window, window, c), hp, wp


def window_unpartition(windows: Tensor, window: int, hp: int, wp: int, h: int, w: int) -> Tensor:
    """Inverse of window_partition, dropping the padding."""
    b = windows.shape[0] // ((hp // window) * (wp // window))
    x = windows.view(b, hp // window, wp // window, window, window, -1)
    x = x.permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, -1)
    return x[:, :h, :w, :].contiguous()


class PatchEmbed(nn.Module):
    def __init__(self, cfg: Sam2Config):
        super().__init__()
        k, s, p = cfg.patch_kernel_size, cfg.patch_stride, cfg.patch_padding
        self.proj = nn.Conv2d(3, cfg.embed_dim, kernel_size=k, stride=s, padding=p)

    def forward(self, x: Tensor) -> Tensor:
        return self.proj(x).permute(0, 2, 3, 1)  # NHWC


class MultiScaleAttention(nn.Module):
    """Hiera attention, with max-pooled queries at a stage change (sam2.py `MultiScaleAttention`)."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, q_stride: int):
        super().__init__()
        self.num_heads = num_heads
        self.q_stride = q_stride  # 0: no pooling
        self.qkv = nn.Linear(dim, dim_out * 3)
        self.proj = nn.Linear(dim_out, dim_out)

    def forward(self, x: Tensor) -> Tensor:
        b, h, w, _ = x.shape
        qkv = self.qkv(x).reshape(b, h * w, 3, self.num_heads, -1)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]  # [B, HW, heads, hd]
        if self.q_stride > 0:
            q = q.reshape(b, h, w, -1).permute(0, 3, 1, 2)
            q = F.max_pool2d(q, kernel_size=self.q_stride, stride=self.q_stride)
            h, w = q.shape[2], q.shape[3]
            q = q.permute(0, 2, 3, 1).reshape(b, h * w, self.num_heads, -1)
        out = attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
        out = out.transpose(1, 2).reshape(b, h, w, -1)
        return self.proj(out)


class MultiScaleBlock(nn.Module):
    """One Hiera block (sam2.py `MultiScaleBlock`): pre-norm windowed attention + MLP."""

    def __init__(self, dim: int, dim_out: int, num_heads: int, mlp_ratio: float, q_stride: int,
                 window_size: int):
        super().__init__()
        self.dim = dim
        self.dim_out = dim_out
        self.window_size = window_size
        self.q_stride = q_stride
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = MultiScaleAttention(dim, dim_out, num_heads, q_stride)
        self.norm2 = nn.LayerNorm(dim_out, eps=1e-6)
        self.mlp = MLP(dim_out, int(dim_out * mlp_ratio), dim_out, 2, activation="gelu")
        # the shortcut is projected (from the normed input) when the width changes
        self.proj = nn.Linear(dim, dim_out) if dim != dim_out else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        shortcut = x
        x = self.norm1(x)
        if self.dim != self.dim_out:
            shortcut = self.proj(x)
            if self.q_stride > 0:
                shortcut = F.max_pool2d(shortcut.permute(0, 3, 1, 2), kernel_size=self.q_stride,
                                        stride=self.q_stride).permute(0, 2, 3, 1)
        window = self.window_size
        h, w = x.shape[1], x.shape[2]
        hp, wp = h, w
        if window > 0:
            x, hp, wp = window_partition(x, window)
        x = self.attn(x)
        if self.q_stride > 0:
            # queries were pooled: the windows shrank, unpartition on the shortcut's grid
            window = self.window_size // self.q_stride
            h, w = shortcut.shape[1], shortcut.shape[2]
            if window > 0:
                hp = h + (window - h % window) % window
                wp = w + (window - w % window) % window
        if self.window_size > 0:
            x = window_unpartition(x, window, hp, wp, h, w)
        x = shortcut + x
        return x + self.mlp(self.norm2(x))


class Hiera(nn.Module):
    """Hiera trunk (sam2.py `Hiera`); returns the output of every stage, highest resolution first."""

    def __init__(self, cfg: Sam2Config):
        super().__init__()
        self.patch_embed = PatchEmbed(cfg)
        self.pos_embed = nn.Parameter(
            torch.zeros(1, cfg.embed_dim, *cfg.window_pos_embed_bkg_spatial_size))
        self.pos_embed_window = nn.Parameter(
            torch.zeros(1, cfg.embed_dim, cfg.window_spec[0], cfg.window_spec[0]))
        stage_ends = [sum(cfg.stages[:i]) - 1 for i in range(1, len(cfg.stages) + 1)]
        q_pool_blocks = [e + 1 for e in stage_ends[:-1]][:cfg.q_pool]
        self.stage_ends: List[int] = stage_ends
        blocks = []
        dim, heads, stage = cfg.embed_dim, cfg.num_heads, 1
        for i in range(sum(cfg.stages)):
            dim_out = dim
            # the first block of a stage still uses the previous stage's window (release: "lags by
            # a block")
            window = 0 if i in cfg.global_att_blocks else cfg.window_spec[stage - 1]
            if i - 1 in stage_ends:
                dim_out = int(dim * cfg.dim_mul)
                heads = int(heads * cfg.head_mul)
                stage += 1
            q_stride = cfg.q_stride[0] if i in q_pool_blocks else 0
            blocks.append(MultiScaleBlock(dim, dim_out, heads, cfg.mlp_ratio, q_stride, window))
            dim = dim_out
        self.blocks = nn.ModuleList(blocks)

    def _pos_embed(self, h: int, w: int) -> Tensor:
        pos = F.interpolate(self.pos_embed.float(), size=(h, w), mode="bicubic",
                            align_corners=False).to(self.pos_embed.dtype)
        win = self.pos_embed_window
        pos = pos + win.tile([1, 1, h // win.shape[2], w // win.shape[3]])
        return pos.permute(0, 2, 3, 1)

    def forward(self, x: Tensor) -> List[Tensor]:
        x = self.patch_embed(x)
        x = x + self._pos_embed(x.shape[1], x.shape[2])
        outputs: List[Tensor] = []
        for i, block in enumerate(self.blocks):
            x = block(x)
            if i in self.stage_ends:
                outputs.append(x.permute(0, 3, 1, 2))
        return outputs


class FpnLateralConv(nn.Module):
    """Holds the lateral 1x1 conv under the release name `convs.i.conv`."""

    def __init__(self, in_channels: int, d_model: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, d_model, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class FpnNeck(nn.Module):
    """FPN neck (sam2.py `FpnNeck`): lateral 1x1 convs, top-down nearest x2 on `fpn_top_down_levels`.

    The sine position encodings of the release's neck only feed the memory attention, so they are not
    computed here.
    """

    def __init__(self, cfg: Sam2Config):
        super().__init__()
        self.convs = nn.ModuleList(FpnLateralConv(c, cfg.d_model) for c in cfg.backbone_channel_list)
        self.top_down_levels: List[int] = list(cfg.fpn_top_down_levels)
        self.interp_mode = cfg.fpn_interp_mode

    def forward(self, xs: List[Tensor]) -> List[Tensor]:
        n = len(xs) - 1
        out: List[Tensor] = []
        prev = xs[n]  # placeholder, replaced at the first (lowest-resolution) level
        for j, conv in enumerate(self.convs):  # j = n - i: lowest resolution first
            i = n - j
            lateral = conv(xs[i])
            if i in self.top_down_levels and j > 0:
                # release: interpolated in fp32 (no bf16 nearest upsampling in older torch)
                top_down = F.interpolate(prev.float(), scale_factor=2.0, mode=self.interp_mode)
                prev = lateral + top_down.to(lateral.dtype)
            else:
                prev = lateral
            out.insert(0, prev)
        return out


class ImageEncoder(nn.Module):
    def __init__(self, cfg: Sam2Config):
        super().__init__()
        self.trunk = Hiera(cfg)
        self.neck = FpnNeck(cfg)
        self.scalp = cfg.scalp

    def forward(self, x: Tensor) -> List[Tensor]:
        features = self.neck(self.trunk(x))
        if self.scalp > 0:
            features = features[:len(features) - self.scalp]
        return features


# ----------------------------------------------------------------------------------------------
# Prompt encoder


class PositionEmbeddingRandom(nn.Module):
    """Random-Fourier position encoding (sam2.py `PositionEmbeddingRandom`), a checkpoint buffer."""

    def __init__(self, num_pos_feats: int):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn(2, num_pos_feats))

    def encode(self, coords: Tensor) -> Tensor:
        """coords in [0,1], [..., 2] as (x, y) -> [..., 2*num_pos_feats] (sin, cos)."""
        matrix = self.positional_encoding_gaussian_matrix
        coords = (2.0 * coords.to(matrix.dtype) - 1.0) @ matrix
        coords = 2.0 * math.pi * coords
        return torch.cat([torch.sin(coords), torch.cos(coords)], dim=-1)

    def grid(self, h: int, w: int) -> Tensor:
        """Encoding of the pixel centres of an h x w grid: [C, h, w]."""
        device = self.positional_encoding_gaussian_matrix.device
        ones = torch.ones((h, w), device=device, dtype=torch.float32)
        y = (ones.cumsum(dim=0) - 0.5) / h
        x = (ones.cumsum(dim=1) - 0.5) / w
        return self.encode(torch.stack([x, y], dim=-1)).permute(2, 0, 1)


class PromptEncoder(nn.Module):
    """Point and no-mask part of SAM's prompt encoder (sam2.py `PromptEncoder`); the mask-input
    convolutions (`mask_downscaling`) are not built: the release never feeds a mask on this path."""

    def __init__(self, cfg: Sam2Config):
        super().__init__()
        c = cfg.d_model
        self.embed_dim = c
        self.image_size = cfg.image_size
        self.embedding_size = cfg.embedding_size
        self.pe_layer = PositionEmbeddingRandom(c // 2)
        # labels 0 (negative), 1 (positive), 2/3 (box corners)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, c) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, c)
        self.no_mask_embed = nn.Embedding(1, c)

    def dense_pe(self) -> Tensor:
        """Position encoding of the stride-16 grid: [1, C, h, w] (release `get_dense_pe`)."""
        return self.pe_layer.grid(self.embedding_size, self.embedding_size).unsqueeze(0)

    def dense_no_mask(self) -> Tensor:
        """Dense prompt without a mask input: `no_mask_embed` on every cell, [1, C, h, w]."""
        return self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(
            1, self.embed_dim, self.embedding_size, self.embedding_size)

    def not_a_point(self, n: int) -> Tensor:
        """n "not a point" (label -1) embeddings: [1, n, C]; their positional part is zeroed."""
        return self.not_a_point_embed.weight.reshape(1, 1, -1).expand(1, n, self.embed_dim)

    def embed_points(self, coords: Tensor, labels: Tensor, pad: bool) -> Tensor:
        """Points [B,N,2] (x,y in input-image pixels) with labels [B,N] -> [B, N(+1), C].

        `pad` appends a label -1 point, as the release does when no box is given.
        """
        coords = coords + 0.5  # pixel centre
        if pad:
            coords = torch.cat([coords, torch.zeros_like(coords[:, :1])], dim=1)
            labels = torch.cat([labels, -torch.ones_like(labels[:, :1])], dim=1)
        norm = coords / torch.tensor([float(self.image_size), float(self.image_size)],
                                     device=coords.device)
        pe = self.pe_layer.encode(norm)
        lab = labels.unsqueeze(-1)
        pe = torch.where(lab == -1, torch.zeros_like(pe), pe)
        pe = pe + (lab == -1).to(pe.dtype) * self.not_a_point_embed.weight
        for i, embedding in enumerate(self.point_embeddings):
            pe = pe + (lab == i).to(pe.dtype) * embedding.weight
        return pe


# ----------------------------------------------------------------------------------------------
# Mask decoder


class Attention(nn.Module):
    """SAM attention with an optional down-projection of q/k/v (sam2.py `Attention`)."""

    def __init__(self, dim: int, num_heads: int, downsample_rate: int = 1):
        super().__init__()
        internal = dim // downsample_rate
        self.num_heads = num_heads
        self.q_proj = nn.Linear(dim, internal)
        self.k_proj = nn.Linear(dim, internal)
        self.v_proj = nn.Linear(dim, internal)
        self.out_proj = nn.Linear(internal, dim)

    def _heads(self, x: Tensor) -> Tensor:
        b, n, c = x.shape
        return x.reshape(b, n, self.num_heads, c // self.num_heads).transpose(1, 2)

    def forward(self, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        out = attention(self._heads(self.q_proj(q)), self._heads(self.k_proj(k)),
                        self._heads(self.v_proj(v)))
        b, h, n, d = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * d))


class TwoWayAttentionBlock(nn.Module):
    """Tokens self-attend, attend to the image, MLP, then the image attends to the tokens."""

    def __init__(self, dim: int, num_heads: int, mlp_dim: int, downsample_rate: int,
                 skip_first_layer_pe: bool):
        super().__init__()
        self.self_attn = Attention(dim, num_heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, num_heads, downsample_rate)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLP(dim, mlp_dim, dim, 2, activation="relu")
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, num_heads, downsample_rate)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(self, queries: Tensor, keys: Tensor, query_pe: Tensor,
                key_pe: Tensor) -> Tuple[Tensor, Tensor]:
        if self.skip_first_layer_pe:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q = queries + query_pe
        k = keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q = queries + query_pe
        k = keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, cfg: Sam2Config):
        super().__init__()
        c = cfg.d_model
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(c, cfg.decoder_num_heads, cfg.decoder_mlp_dim,
                                 cfg.attention_downsample_rate, skip_first_layer_pe=(i == 0))
            for i in range(cfg.decoder_depth))
        self.final_attn_token_to_image = Attention(c, cfg.decoder_num_heads,
                                                   cfg.attention_downsample_rate)
        self.norm_final_attn = nn.LayerNorm(c)

    def forward(self, image: Tensor, image_pe: Tensor, tokens: Tensor) -> Tuple[Tensor, Tensor]:
        keys = image.flatten(2).permute(0, 2, 1)  # [B, HW, C]
        key_pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = tokens
        for layer in self.layers:
            queries, keys = layer(queries, keys, tokens, key_pe)
        attn = self.final_attn_token_to_image(queries + tokens, keys + key_pe, keys)
        return self.norm_final_attn(queries + attn), keys


class UpscalingConv(nn.ConvTranspose2d):
    """2x2 stride-2 transposed conv; in fp32 for other dtypes (torch 1.13 on CPU mis-dispatches
    bf16 conv_transpose2d), result cast back."""

    def forward(self, x: Tensor) -> Tensor:
        if x.dtype == torch.float32:
            return F.conv_transpose2d(x, self.weight, self.bias, stride=2)
        bias = self.bias
        if bias is not None:
            bias = bias.float()
        return F.conv_transpose2d(x.float(), self.weight.float(), bias, stride=2).to(x.dtype)


class MaskDecoder(nn.Module):
    """SAM-2 mask decoder with high-resolution features and the object-score head
    (sam2.py `MaskDecoder`, `use_high_res_features=True`, `pred_obj_scores(_mlp)=True`)."""

    def __init__(self, cfg: Sam2Config):
        super().__init__()
        c = cfg.d_model
        self.num_mask_tokens = cfg.num_multimask_outputs + 1
        self.transformer = TwoWayTransformer(cfg)
        self.iou_token = nn.Embedding(1, c)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, c)
        self.obj_score_token = nn.Embedding(1, c)
        self.output_upscaling = nn.Sequential(
            UpscalingConv(c, c // 4, kernel_size=2, stride=2),
            LayerNorm2d(c // 4),
            nn.GELU(),
            UpscalingConv(c // 4, c // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.conv_s0 = nn.Conv2d(c, c // 8, kernel_size=1)
        self.conv_s1 = nn.Conv2d(c, c // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(c, c, c // 8, 3) for _ in range(self.num_mask_tokens))
        self.iou_prediction_head = MLP(c, cfg.iou_head_hidden_dim, self.num_mask_tokens,
                                       cfg.iou_head_depth,
                                       sigmoid_output=cfg.iou_prediction_use_sigmoid)
        self.pred_obj_score_head = MLP(c, c, 1, 3)

    def _upscale(self, src: Tensor, hr0: Tensor, hr1: Tensor) -> Tensor:
        # output_upscaling's modules, with the high-res features added (release predict_masks)
        up = self.output_upscaling
        x = up[2](up[1](up[0](src) + hr1))
        return up[4](up[3](x) + hr0)

    def forward(self, image: Tensor, image_pe: Tensor, sparse: Tensor, dense: Tensor, hr0: Tensor,
                hr1: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """All mask tokens: masks [B, 4, 4h, 4w], IoU [B, 4], object-score logits [B, 1]."""
        b = sparse.shape[0]
        out_tokens = torch.cat(
            [self.obj_score_token.weight, self.iou_token.weight, self.mask_tokens.weight], dim=0)
        tokens = torch.cat([out_tokens.unsqueeze(0).expand(b, -1, -1), sparse], dim=1)
        src = image + dense
        _, c, h, w = src.shape
        hs, src = self.transformer(src, image_pe, tokens)
        src = src.transpose(1, 2).reshape(b, c, h, w)
        upscaled = self._upscale(src, hr0, hr1)
        hyper: List[Tensor] = []
        for i, mlp in enumerate(self.output_hypernetworks_mlps):
            hyper.append(mlp(hs[:, 2 + i, :]))
        hyper_in = torch.stack(hyper, dim=1)
        _, cu, hu, wu = upscaled.shape
        masks = torch.matmul(hyper_in, upscaled.reshape(b, cu, hu * wu)).reshape(b, -1, hu, wu)
        iou = self.iou_prediction_head(hs[:, 1, :])
        object_score = self.pred_obj_score_head(hs[:, 0, :])
        return masks, iou, object_score


# ----------------------------------------------------------------------------------------------
# The release's SAM2VideoPredictor, inference parts only


class Sam2Model(nn.Module):
    """Holds the submodules under the release's names (`SAM2VideoPredictor` attributes)."""

    def __init__(self, cfg: Sam2Config):
        super().__init__()
        self.image_encoder = ImageEncoder(cfg)
        self.sam_prompt_encoder = PromptEncoder(cfg)
        self.sam_mask_decoder = MaskDecoder(cfg)
        self.no_mem_embed = nn.Parameter(torch.zeros(1, 1, cfg.d_model))


class GroundingEncoder(nn.Module):
    """TerraScope's `grounding_encoder` (checkpoint prefix `grounding_encoder.`) for inference."""

    def __init__(self, cfg: Optional[Sam2Config] = None):
        super().__init__()
        cfg = cfg if cfg is not None else Sam2Config()
        self.config = cfg
        self.hidden_dim = cfg.d_model  # the release's SAM2.hidden_dim: width of the language embedding
        self.sam2_model = Sam2Model(cfg)
        self.gate_object_score = cfg.gate_object_score
        self.no_obj_score = NO_OBJ_SCORE

    def encode_image(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """image [1,3,S,S] normalised -> (feat [1,C,S/16,S/16] + no_mem_embed, hr0 [1,C/8,S/4,S/4],
        hr1 [1,C/4,S/8,S/8]) (release `forward_image` + `_prepare_memory_conditioned_features`)."""
        m = self.sam2_model
        features = m.image_encoder(image)
        hr0 = m.sam_mask_decoder.conv_s0(features[0])
        hr1 = m.sam_mask_decoder.conv_s1(features[1])
        feat = features[2] + m.no_mem_embed.reshape(1, -1, 1, 1)
        return feat, hr0, hr1

    def multimask(self, feat: Tensor, hr0: Tensor, hr1: Tensor,
                  sparse: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """The three multimask outputs for a sparse prompt: masks [1,3,S/4,S/4], IoU [1,3],
        object-score logits [1,1] (release MaskDecoder.forward with multimask_output=True)."""
        pe = self.sam2_model.sam_prompt_encoder
        masks, iou, object_score = self.sam2_model.sam_mask_decoder(
            feat, pe.dense_pe(), sparse, pe.dense_no_mask(), hr0, hr1)
        return masks[:, 1:], iou[:, 1:], object_score

    def language_prompt(self, lang: Tensor) -> Tensor:
        """Sparse prompt of the release for a [SEG]: two "not a point" embeddings (the empty point
        `_forward_sam_heads` adds, plus the prompt encoder's padding point), then lang: [1, 3, C]."""
        pe = self.sam2_model.sam_prompt_encoder
        return torch.cat([pe.not_a_point(2), lang.reshape(1, 1, -1)], dim=1)

    def decode(self, feat: Tensor, hr0: Tensor, hr1: Tensor,
               lang: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        """lang [1,E] -> (mask_logits [1,1,S/4,S/4] of the best-IoU mask, iou [1], object_score [1])."""
        masks, iou, object_score = self.multimask(feat, hr0, hr1, self.language_prompt(lang))
        best = torch.argmax(iou, dim=1)  # first index on ties, as the release's argmax
        mask = masks.index_select(1, best)
        score = object_score.reshape(1)
        if self.gate_object_score:
            mask = torch.where(score > 0, mask, torch.full_like(mask, self.no_obj_score))
        return mask, iou.index_select(1, best).reshape(1), score


class SamEncoderModule(nn.Module):
    """Bundle module `sam_encoder`: forward = GroundingEncoder.encode_image (scriptable)."""

    def __init__(self, grounding: GroundingEncoder):
        super().__init__()
        self.grounding = grounding

    def forward(self, image: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        return self.grounding.encode_image(image)


class SamDecoderModule(nn.Module):
    """Bundle module `sam_decoder`: forward = GroundingEncoder.decode (scriptable)."""

    def __init__(self, grounding: GroundingEncoder):
        super().__init__()
        self.grounding = grounding

    def forward(self, feat: Tensor, hr0: Tensor, hr1: Tensor,
                lang: Tensor) -> Tuple[Tensor, Tensor, Tensor]:
        return self.grounding.decode(feat, hr0, hr1, lang)


def upsample_mask_logits_like_release(mask_logits: Tensor, image_size: int, height: int,
                                      width: int) -> Tensor:
    """Low-res logits [F,1,S/4,S/4] -> [F,1,H,W] as the release does: bilinear (align_corners=False)
    to S x S in `propagate_in_video` (`_get_orig_video_res_output`, video size = image_size), then
    bilinear again to the original H x W in `predict_forward_with_grounding`. The mask is
    `sigmoid(...) > 0.5`, i.e. logits > 0."""
    full = F.interpolate(mask_logits, size=(image_size, image_size), mode="bilinear",
                         align_corners=False)
    return F.interpolate(full, size=(height, width), mode="bilinear", align_corners=False)
