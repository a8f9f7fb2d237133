"""The TorchScript-able wrappers the bundle ships (docs/BUNDLE.md, "Modules and methods"):
`vision` (InternViT + pixel shuffle + mlp1), `llm` (embed + static-cache step), `seg_proj`
(text_hidden_fcs). The SAM-2 wrappers live in sam2.py. All are scripted (torch.jit.script), so that
the variable sizes (tiles N, tokens L, cache position) carry no traced constants.
"""

from typing import Tuple

import torch
from torch import nn

from terrascope_ref.model import TerraScope, shuffle_tokens
from terrascope_ref.qwen2 import Qwen2ForCausalLM


class VisionModule(nn.Module):
    """forward(pixels f[N,3,T,T], normalised) -> f[N,Nt,D], mlp1 applied, row-major token grid."""

    def __init__(self, model: TerraScope):
        super().__init__()
        self.vision_model = model.vision_model
        self.mlp1 = model.mlp1
        self.num_layers = model.config.vision_layers
        self.downsample_ratio = float(model.config.downsample_ratio)
        self.ps_version = model.config.ps_version

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        hidden = self.vision_model(pixels, self.num_layers)
        return self.mlp1(shuffle_tokens(hidden, self.downsample_ratio, self.ps_version))


class LlmModule(nn.Module):
    """embed(ids i64[L]) -> f[L,D]; forward(embeds f[L,D], start i64[1],
    cache f[layers,2,kv_heads,Lc,head_dim]) -> (logits f[V], hidden f[D]) of the last position."""

    def __init__(self, language_model: Qwen2ForCausalLM):
        super().__init__()
        self.language_model = language_model

    @torch.jit.export
    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.language_model.embed(ids)

    def forward(self, embeds: torch.Tensor, start: torch.Tensor,
                cache: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.language_model.step(embeds, start, cache)


class SegProjModule(nn.Module):
    """forward(hidden f[N,D]) -> f[N,E]: the release's text_hidden_fcs."""

    def __init__(self, model: TerraScope):
        super().__init__()
        self.text_hidden_fcs = model.text_hidden_fcs

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.text_hidden_fcs(hidden)


def script(module: nn.Module) -> torch.jit.ScriptModule:
    return torch.jit.script(module.eval())
