"""TerraScope as one nn.Module whose state-dict keys are those of the released checkpoint
(`Sa2VAChatModel` in projects/terrascope/hf/models/modeling_sa2va_chat.py):

  vision_model.*                 InternViT (intern_vit.py)
  mlp1.{0,1,3}.*                 LayerNorm(4C) -> Linear(4C, D) -> GELU -> Linear(D, D)
  language_model.{model,lm_head} Qwen2ForCausalLM (qwen2.py)
  grounding_encoder.sam2_model.* SAM-2 (sam2.py)
  text_hidden_fcs.{0,2}.*        Linear(D, D) -> ReLU -> Linear(D, E) (-> Dropout(0))

`TerraScopeConfig.from_checkpoint_config` reads the release's config.json (Sa2VAChatConfig.to_dict
layout). The release's SAM-2 is hard-coded (Hiera-L, `SAM2()` takes no config), so config.json does
not describe it; our checkpoints at other sizes carry the extra key `grounding_encoder_config`
(ignored by the release), absent means the release's SAM-2.
"""

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Dict, Optional

import torch
from torch import nn

from terrascope_ref.intern_vit import (InternVisionConfig, InternVisionModel,
                                       layers_for_select_layer)
from terrascope_ref.qwen2 import Qwen2Config, Qwen2ForCausalLM

GROUNDING_CONFIG_KEY = "grounding_encoder_config"


def _sam2():
    # Imported on use: sam2.py is a separate part of the reference (SAM-2 grounding encoder).
    from terrascope_ref import sam2
    return sam2


def _sam_config_to_dict(cfg: Any) -> Dict[str, Any]:
    if hasattr(cfg, "to_dict"):
        return cfg.to_dict()
    if dataclasses.is_dataclass(cfg):
        return dataclasses.asdict(cfg)
    return dict(vars(cfg))


def _sam_config_from_dict(d: Optional[Dict[str, Any]]) -> Any:
    sam2 = _sam2()
    if d is None:
        return sam2.Sam2Config()
    if hasattr(sam2.Sam2Config, "from_dict"):
        return sam2.Sam2Config.from_dict(d)
    # JSON has no tuples; Sam2Config's sizes are tuples.
    return sam2.Sam2Config(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass
class TerraScopeConfig:
    vision: InternVisionConfig = field(default_factory=InternVisionConfig)
    llm: Qwen2Config = field(default_factory=Qwen2Config)
    sam: Any = None  # sam2.Sam2Config; None: the release's SAM-2 (Sam2Config())
    downsample_ratio: float = 0.5
    select_layer: int = -1
    ps_version: str = "v2"
    template: str = "qwen_chat"
    force_image_size: Optional[int] = None

    @property
    def tile_size(self) -> int:
        return int(self.force_image_size or self.vision.image_size)

    @property
    def tokens_per_tile(self) -> int:
        # Release: int((image_size // patch_size) ** 2 * downsample_ratio ** 2)
        return int((self.tile_size // self.vision.patch_size) ** 2 * self.downsample_ratio ** 2)

    @property
    def vision_layers(self) -> int:
        return layers_for_select_layer(self.select_layer, self.vision.num_hidden_layers)

    def sam_config(self) -> Any:
        return self.sam if self.sam is not None else _sam_config_from_dict(None)

    @staticmethod
    def from_checkpoint_config(d: Dict[str, Any]) -> "TerraScopeConfig":
        """From the release's config.json dict. Raises ValueError naming the key on a bad value."""
        for key in ("vision_config", "llm_config"):
            if not isinstance(d.get(key), dict):
                raise ValueError(f"missing or malformed '{key}'")
        ratio = float(d.get("downsample_ratio", 0.5))
        if ratio != 0.5:
            # pixel_shuffle works for 1/k in general, but only 0.5 is released and tested.
            raise ValueError(f"downsample_ratio {ratio} is not supported (0.5)")
        # Sa2VAChatConfig's default ps_version is 'v1' (transposed grid); InternVL3 configs say
        # 'v2'.
        ps_version = d.get("ps_version") or "v1"
        if ps_version not in ("v1", "v2"):
            raise ValueError(f"ps_version '{ps_version}' is not supported")
        sam_dict = d.get(GROUNDING_CONFIG_KEY)
        cfg = TerraScopeConfig(
            vision=InternVisionConfig.from_dict(d["vision_config"]),
            llm=Qwen2Config.from_dict(d["llm_config"]),
            sam=_sam_config_from_dict(sam_dict) if sam_dict is not None else None,
            downsample_ratio=ratio,
            select_layer=int(d.get("select_layer", -1)),
            ps_version=ps_version,
            template=d.get("template") or "qwen_chat",
            force_image_size=d.get("force_image_size"),
        )
        cfg.vision_layers  # validates select_layer
        grid = cfg.tile_size // cfg.vision.patch_size
        if grid % 2 != 0:
            raise ValueError(f"tile size {cfg.tile_size} gives an odd patch grid ({grid}); "
                             "pixel shuffle needs an even one")
        return cfg

    def to_checkpoint_config(self) -> Dict[str, Any]:
        """A config.json dict in the release's layout (what Sa2VAChatConfig.to_dict writes)."""
        d: Dict[str, Any] = {
            "architectures": ["Sa2VAChatModel"],
            "model_type": "sa2va_chat",
            "vision_config": self.vision.to_dict(),
            "llm_config": self.llm.to_dict(),
            "downsample_ratio": self.downsample_ratio,
            "select_layer": self.select_layer,
            "ps_version": self.ps_version,
            "template": self.template,
            "force_image_size": self.force_image_size,
            "dynamic_image_size": True,
            "use_thumbnail": True,
            "min_dynamic_patch": 1,
            "max_dynamic_patch": 12,
            "hidden_size": self.llm.hidden_size,
            "tie_word_embeddings": False,
        }
        if self.sam is not None:
            d[GROUNDING_CONFIG_KEY] = _sam_config_to_dict(self.sam)
        return d

    @staticmethod
    def tiny() -> "TerraScopeConfig":
        """The full architecture at test sizes (56 px tiles -> 2x2 tokens per tile)."""
        return TerraScopeConfig(vision=InternVisionConfig.tiny(), llm=Qwen2Config.tiny(),
                                sam=_sam2().Sam2Config.tiny())


def pixel_shuffle(x: torch.Tensor, scale_factor: float, ps_version: str) -> torch.Tensor:
    """The release's `Sa2VAChatModel.pixel_shuffle` on x [N, rows, cols, C]. With 'v2' the result is
    [N, rows*s, cols*s, C/s^2] row-major, each output channel vector holding the 2x2 block as
    (row 2i: col 2j, col 2j+1; row 2i+1: col 2j, col 2j+1); 'v1' leaves the grid transposed."""
    n, w, h, c = x.size(0), x.size(1), x.size(2), x.size(3)
    x = x.reshape(n, w, int(h * scale_factor), int(c / scale_factor))
    x = x.permute(0, 2, 1, 3).contiguous()
    x = x.reshape(n, int(h * scale_factor), int(w * scale_factor),
                  int(c / (scale_factor * scale_factor)))
    if ps_version != "v1":
        x = x.permute(0, 2, 1, 3).contiguous()
    return x


def make_mlp1(vit_hidden: int, llm_hidden: int, downsample_ratio: float) -> nn.Sequential:
    width = vit_hidden * int(1 / downsample_ratio) ** 2
    return nn.Sequential(nn.LayerNorm(width), nn.Linear(width, llm_hidden), nn.GELU(),
                         nn.Linear(llm_hidden, llm_hidden))


class TerraScope(nn.Module):
    def __init__(self, cfg: TerraScopeConfig, dtype: Optional[torch.dtype] = None):
        super().__init__()
        self.config = cfg
        sam2 = _sam2()
        sam_cfg = cfg.sam_config()
        self.vision_model = InternVisionModel(cfg.vision).to(dtype)
        self.mlp1 = make_mlp1(cfg.vision.hidden_size, cfg.llm.hidden_size,
                              cfg.downsample_ratio).to(dtype)
        self.language_model = Qwen2ForCausalLM(cfg.llm, dtype)
        self.grounding_encoder = sam2.GroundingEncoder(sam_cfg).to(dtype)
        lang_dim = language_embedding_dim(self.grounding_encoder, sam_cfg)
        self.text_hidden_fcs = nn.Sequential(
            nn.Linear(cfg.llm.hidden_size, cfg.llm.hidden_size), nn.ReLU(inplace=True),
            nn.Linear(cfg.llm.hidden_size, lang_dim), nn.Dropout(0.0)).to(dtype)

    def extract_feature(self, pixels: torch.Tensor) -> torch.Tensor:
        """Release `extract_feature`: pixels [N,3,T,T] -> projected tokens [N, Nt, D]."""
        hidden = self.vision_model(pixels, self.config.vision_layers)
        return self.mlp1(shuffle_tokens(hidden, self.config.downsample_ratio,
                                        self.config.ps_version))


def shuffle_tokens(hidden: torch.Tensor, downsample_ratio: float, ps_version: str) -> torch.Tensor:
    """The release's `extract_feature` between the ViT and mlp1: hidden [N, 1+P, C] (CLS first) ->
    drop CLS, square grid, pixel shuffle, flatten -> [N, P*r^2, C/r^2]."""
    h = hidden[:, 1:, :]
    side = int(math.sqrt(float(h.size(1))) + 0.5)
    h = h.reshape(h.size(0), side, side, h.size(2))
    h = pixel_shuffle(h, downsample_ratio, ps_version)
    return h.reshape(h.size(0), -1, h.size(3))


def language_embedding_dim(grounding_encoder: nn.Module, sam_cfg: Any) -> int:
    """E, the width of the language embedding SAM-2 takes (the release:
    `grounding_encoder.hidden_dim`, SAM-2's d_model, 256)."""
    for owner in (grounding_encoder, sam_cfg):
        for name in ("hidden_dim", "lang_dim", "d_model"):
            value = getattr(owner, name, None)
            if isinstance(value, int):
                return value
    raise ValueError("cannot tell the SAM-2 language-embedding width (no hidden_dim/d_model)")
