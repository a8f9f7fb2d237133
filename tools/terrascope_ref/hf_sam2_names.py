"""Hugging Face transformers' `Sam2Model` parameter names -> the released SAM-2 names.

The release (TerraScope `hf/models/sam2.py`, the original facebookresearch SAM-2 layout) and
transformers name the same tensors differently; one tensor is fused differently
(`prompt_encoder.point_embed.weight` [4, C] is four `point_embeddings.i.weight` [1, C]).
Used by the oracle test (`tests/python/test_sam2.py`) to load transformers' weights into
`terrascope_ref.sam2.GroundingEncoder.sam2_model`.

transformers' `shared_image_embedding.positional_embedding` (dense position encoding of the image
grid) is, in a converted checkpoint, a tied copy of `prompt_encoder.shared_embedding.positional_embedding`
(the release has one matrix, `sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix`). It is
returned separately by `hf_to_release` so that a caller can check the tie or use it on purpose.
"""

import re
from typing import Dict, Tuple

import torch

SHARED_IMAGE_PE = "shared_image_embedding.positional_embedding"

# Whole-name renames (after the prefix rename below).
_FIXED = {
    "no_memory_embedding": "no_mem_embed",
    "prompt_encoder.shared_embedding.positional_embedding":
        "sam_prompt_encoder.pe_layer.positional_encoding_gaussian_matrix",
    "vision_encoder.backbone.pos_embed": "image_encoder.trunk.pos_embed",
    "vision_encoder.backbone.pos_embed_window": "image_encoder.trunk.pos_embed_window",
}

# (pattern, replacement) applied in order to the remaining names; each name matches at most one.
_RULES = [
    (r"^vision_encoder\.backbone\.patch_embed\.projection\.", "image_encoder.trunk.patch_embed.proj."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.layer_norm(\d)\.", r"image_encoder.trunk.blocks.\1.norm\2."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.proj_in\.", r"image_encoder.trunk.blocks.\1.mlp.layers.0."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.mlp\.proj_out\.", r"image_encoder.trunk.blocks.\1.mlp.layers.1."),
    (r"^vision_encoder\.backbone\.blocks\.(\d+)\.(attn\.qkv|attn\.proj|proj)\.", r"image_encoder.trunk.blocks.\1.\2."),
    (r"^vision_encoder\.neck\.convs\.(\d+)\.", r"image_encoder.neck.convs.\1.conv."),
    (r"^prompt_encoder\.(not_a_point_embed|no_mask_embed)\.", r"sam_prompt_encoder.\1."),
    (r"^prompt_encoder\.mask_embed\.conv1\.", "sam_prompt_encoder.mask_downscaling.0."),
    (r"^prompt_encoder\.mask_embed\.layer_norm1\.", "sam_prompt_encoder.mask_downscaling.1."),
    (r"^prompt_encoder\.mask_embed\.conv2\.", "sam_prompt_encoder.mask_downscaling.3."),
    (r"^prompt_encoder\.mask_embed\.layer_norm2\.", "sam_prompt_encoder.mask_downscaling.4."),
    (r"^prompt_encoder\.mask_embed\.conv3\.", "sam_prompt_encoder.mask_downscaling.6."),
    (r"^mask_decoder\.upscale_conv1\.", "sam_mask_decoder.output_upscaling.0."),
    (r"^mask_decoder\.upscale_layer_norm\.", "sam_mask_decoder.output_upscaling.1."),
    (r"^mask_decoder\.upscale_conv2\.", "sam_mask_decoder.output_upscaling.3."),
    (r"^mask_decoder\.transformer\.layer_norm_final_attn\.", "sam_mask_decoder.transformer.norm_final_attn."),
    (r"^mask_decoder\.transformer\.(layers\.\d+\.)layer_norm(\d)\.", r"sam_mask_decoder.transformer.\1norm\2."),
    # two-layer MLP of the two-way blocks
    (r"^mask_decoder\.transformer\.(layers\.\d+)\.mlp\.proj_in\.", r"sam_mask_decoder.transformer.\1.mlp.layers.0."),
    (r"^mask_decoder\.transformer\.(layers\.\d+)\.mlp\.proj_out\.", r"sam_mask_decoder.transformer.\1.mlp.layers.1."),
    (r"^mask_decoder\.transformer\.(.*)\.o_proj\.", r"sam_mask_decoder.transformer.\1.out_proj."),
    (r"^mask_decoder\.transformer\.(.*)\.(q_proj|k_proj|v_proj)\.", r"sam_mask_decoder.transformer.\1.\2."),
    # three-layer MLP heads: proj_in, layers.0, proj_out -> layers.0, layers.1, layers.2
    (r"^mask_decoder\.(.*)\.proj_in\.", r"sam_mask_decoder.\1.layers.0."),
    (r"^mask_decoder\.(.*)\.layers\.0\.", r"sam_mask_decoder.\1.layers.1."),
    (r"^mask_decoder\.(.*)\.proj_out\.", r"sam_mask_decoder.\1.layers.2."),
    (r"^mask_decoder\.(iou_token|mask_tokens|obj_score_token|conv_s0|conv_s1)\.", r"sam_mask_decoder.\1."),
]


def release_name(hf_name: str) -> str:
    """The release name of one transformers `Sam2Model` parameter (not the fused point embeddings)."""
    if hf_name in _FIXED:
        return _FIXED[hf_name]
    for pattern, replacement in _RULES:
        new, n = re.subn(pattern, replacement, hf_name)
        if n:
            return new
    raise KeyError(f"hf_sam2_names: no release name for transformers key '{hf_name}'")


def hf_to_release(hf_state: Dict[str, torch.Tensor],
                  prefix: str = "") -> Tuple[Dict[str, torch.Tensor], Dict[str, torch.Tensor]]:
    """transformers `Sam2Model` state dict -> (release-named tensors with `prefix` prepended,
    tensors with no release counterpart: the tied `shared_image_embedding.positional_embedding`)."""
    mapped: Dict[str, torch.Tensor] = {}
    extra: Dict[str, torch.Tensor] = {}
    for name, tensor in hf_state.items():
        if name == SHARED_IMAGE_PE:
            extra[name] = tensor
        elif name == "prompt_encoder.point_embed.weight":
            for i in range(tensor.shape[0]):  # labels 0, 1 (points), 2, 3 (box corners)
                mapped[f"{prefix}sam_prompt_encoder.point_embeddings.{i}.weight"] = tensor[i:i + 1]
        else:
            mapped[prefix + release_name(name)] = tensor
    return mapped, extra
