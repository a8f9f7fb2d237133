"""InternViT vision encoder (InternVL's `InternVisionModel`), parameter names as the release.

Release reference: projects/terrascope/hf/models/modeling_intern_vit.py. TerraScope-8B uses
InternViT-300M-448px-V2.5: 24 pre-LN blocks, hidden 1024, LayerNorm, LayerScale (ls1, ls2), fused
qkv with bias, no qk-norm, exact-erf GELU MLP, no final norm after the last block.

Written to be scriptable with torch.jit.script on torch 1.13 (no dataclass or Python objects
in forward).
"""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class InternVisionConfig:
    image_size: int = 448
    patch_size: int = 14
    num_channels: int = 3
    hidden_size: int = 1024
    intermediate_size: int = 4096
    num_attention_heads: int = 16
    num_hidden_layers: int = 24
    qkv_bias: bool = True
    qk_normalization: bool = False
    norm_type: str = "layer_norm"
    layer_norm_eps: float = 1e-6
    hidden_act: str = "gelu"

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "InternVisionConfig":
        """Reads the release's `vision_config` (InternVisionConfig.to_dict() layout); keys the
        reference does not need are ignored. Defaults are the release class's defaults where the
        key is absent, except for sizes (the 300M numbers)."""
        names = {f.name for f in fields(InternVisionConfig)}
        kwargs = {k: v for k, v in d.items() if k in names}
        # The release class defaults (used when a key is absent from config.json).
        kwargs.setdefault("qkv_bias", False)
        kwargs.setdefault("qk_normalization", True)
        kwargs.setdefault("norm_type", "rms_norm")
        cfg = InternVisionConfig(**kwargs)
        if cfg.hidden_act != "gelu":
            raise ValueError(f"vision_config.hidden_act '{cfg.hidden_act}' is not supported")
        if cfg.norm_type not in ("layer_norm", "rms_norm"):
            raise ValueError(f"vision_config.norm_type '{cfg.norm_type}' is not supported")
        if cfg.hidden_size % cfg.num_attention_heads != 0:
            raise ValueError("vision_config.hidden_size is not a multiple of num_attention_heads")
        return cfg

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["architectures"] = ["InternVisionModel"]
        d["model_type"] = "intern_vit_6b"
        return d

    @staticmethod
    def tiny() -> "InternVisionConfig":
        return InternVisionConfig(image_size=56, patch_size=14, hidden_size=64,
                                  intermediate_size=128, num_attention_heads=4,
                                  num_hidden_layers=2)


class RMSNorm(nn.Module):
    """InternRMSNorm / Qwen2RMSNorm: computed in fp32, scaled by `weight` in the input dtype."""

    def __init__(self, hidden_size: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dtype = x.dtype
        h = x.to(torch.float32)
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        return self.weight * h.to(dtype)


def _make_norm(norm_type: str, dim: int, eps: float) -> nn.Module:
    if norm_type == "rms_norm":
        return RMSNorm(dim, eps)
    return nn.LayerNorm(dim, eps=eps)


class VisionEmbeddings(nn.Module):
    """Patch conv + class token + position embedding. The release always resamples the patch
    position grid bicubically (align_corners=False, in fp32) to the actual grid, which is the
    identity when the image has the configured size."""

    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.embed_dim = cfg.hidden_size
        self.grid = cfg.image_size // cfg.patch_size
        self.class_embedding = nn.Parameter(torch.zeros(1, 1, cfg.hidden_size))
        self.patch_embedding = nn.Conv2d(cfg.num_channels, cfg.hidden_size,
                                         kernel_size=cfg.patch_size, stride=cfg.patch_size)
        self.position_embedding = nn.Parameter(torch.zeros(1, self.grid * self.grid + 1,
                                                           cfg.hidden_size))

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        dtype = self.patch_embedding.weight.dtype
        patches = self.patch_embedding(pixels.to(dtype))  # [N, C, h, w]
        n = patches.size(0)
        h = patches.size(2)
        w = patches.size(3)
        patches = patches.flatten(2).transpose(1, 2)
        cls = self.class_embedding.expand(n, 1, self.embed_dim).to(dtype)
        x = torch.cat([cls, patches], dim=1)
        pos = self.position_embedding[:, 1:, :]
        if h != self.grid or w != self.grid:
            pos = pos.float().reshape(1, self.grid, self.grid, self.embed_dim).permute(0, 3, 1, 2)
            pos = F.interpolate(pos, size=(h, w), mode="bicubic", align_corners=False)
            pos = pos.reshape(1, self.embed_dim, h * w).permute(0, 2, 1).to(dtype)
        pos = torch.cat([self.position_embedding[:, :1, :], pos], dim=1)
        return x + pos.to(dtype)


class VisionAttention(nn.Module):
    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads
        self.scale = self.head_dim ** -0.5
        self.qkv = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size, bias=cfg.qkv_bias)
        self.qk_normalization = cfg.qk_normalization
        # q_norm/k_norm normalise over all heads together (the flattened embedding), as the release.
        if cfg.qk_normalization:
            self.q_norm = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps)
            self.k_norm = RMSNorm(cfg.hidden_size, cfg.layer_norm_eps)
        else:
            self.q_norm = nn.Identity()
            self.k_norm = nn.Identity()
        self.proj = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(x).reshape(b, n, 3, c)
        q = qkv[:, :, 0]
        k = qkv[:, :, 1]
        v = qkv[:, :, 2]
        if self.qk_normalization:
            q = self.q_norm(q)
            k = self.k_norm(k)
        q = q.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        k = k.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        v = v.reshape(b, n, self.num_heads, self.head_dim).transpose(1, 2)
        attn = torch.matmul(q * self.scale, k.transpose(-2, -1)).softmax(dim=-1)
        out = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, c)
        return self.proj(out)


class VisionMLP(nn.Module):
    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.fc1 = nn.Linear(cfg.hidden_size, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, cfg.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class VisionEncoderLayer(nn.Module):
    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.attn = VisionAttention(cfg)
        self.mlp = VisionMLP(cfg)
        self.norm1 = _make_norm(cfg.norm_type, cfg.hidden_size, cfg.layer_norm_eps)
        self.norm2 = _make_norm(cfg.norm_type, cfg.hidden_size, cfg.layer_norm_eps)
        self.ls1 = nn.Parameter(torch.ones(cfg.hidden_size))
        self.ls2 = nn.Parameter(torch.ones(cfg.hidden_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x)) * self.ls1
        x = x + self.mlp(self.norm2(x)) * self.ls2
        return x


class VisionEncoder(nn.Module):
    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.layers = nn.ModuleList([VisionEncoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])


class InternVisionModel(nn.Module):
    """`forward(pixels[N,3,H,W], num_layers)` returns the hidden states (CLS first) after the first
    `num_layers` blocks; num_layers = num_hidden_layers is the release's `last_hidden_state`."""

    def __init__(self, cfg: InternVisionConfig):
        super().__init__()
        self.embeddings = VisionEmbeddings(cfg)
        self.encoder = VisionEncoder(cfg)

    def forward(self, pixels: torch.Tensor, num_layers: int) -> torch.Tensor:
        x = self.embeddings(pixels)
        for i, layer in enumerate(self.encoder.layers):
            if i < num_layers:
                x = layer(x)
        return x


def layers_for_select_layer(select_layer: int, num_hidden_layers: int) -> int:
    """How many blocks the release runs for `select_layer`: -1 takes `last_hidden_state` (all
    blocks); any other value indexes `hidden_states`, whose entry 0 is the embeddings and entry k
    the output of block k (Python indexing, so -2 is the output of the second-to-last block)."""
    if select_layer == -1:
        return num_hidden_layers
    count = num_hidden_layers + 1
    if not -count <= select_layer < count:
        raise ValueError(f"select_layer {select_layer} out of range for {num_hidden_layers} layers")
    return select_layer % count
