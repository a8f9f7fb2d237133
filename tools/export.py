#!/usr/bin/python3
"""Export a TerraScope checkpoint (released HF layout) to a model bundle (docs/BUNDLE.md).

  /usr/bin/python3 tools/export.py --checkpoint DIR --out BUNDLE [--dtype bf16|fp16|fp32]
                                   [--cache-len N] [--name NAME] [--source TEXT]

DIR holds config.json (Sa2VAChatConfig layout), tokenizer.json and the weights as model.safetensors
or shards with model.safetensors.index.json. Weights are read tensor by tensor into a model built
directly in the target dtype, so the 8B release needs about its bf16 size in RAM; no GPU is used.
Every problem is reported as one line naming the file and what is wrong (exit status 1).
"""

import argparse
import contextlib
import json
import os
import shutil
import sys
from typing import Any, Callable, Dict, Iterator, List, Optional

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from terrascope_ref import export_modules  # noqa: E402
from terrascope_ref.model import TerraScope, TerraScopeConfig  # noqa: E402
from terrascope_ref.safetensors_io import INDEX_NAME, Checkpoint, SafetensorsError  # noqa: E402

SCHEMA_VERSION = 1
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
DEFAULT_CACHE_LEN = 8192
MANIFEST = "terrascope.json"
TOKENIZER = "tokenizer.json"

# Token strings of the release (TERRASCOPE.md "Tokens and prompt"); ids come from tokenizer.json.
TOKENS = {
    "img_start": "<img>", "img_end": "</img>", "img_context": "<IMG_CONTEXT>",
    "seg": "[SEG]", "region": "<REGION>",
    "think_start": "<think>", "think_end": "</think>",
    "answer_start": "<answer>", "answer_end": "</answer>",
    # qwen_chat STOP_WORDS (<|im_end|>, <|endoftext|>) and <|end|> (id 151682 in the 8B release,
    # compared literally in predict_forward_with_grounding).
    "stop": ["<|im_end|>", "<|endoftext|>", "<|end|>"],
}
# Values `preparing_for_generation` hard-codes for inference (not read from config.json).
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
MIN_TILES, MAX_TILES, USE_THUMBNAIL = 1, 12, True
POLICIES = {"region_cap": 8, "region_selection": "release", "frame_choice": "release",
            "sar_fusion": "release"}
GENERATION = {"max_new_tokens": 8192, "max_seg_rounds": 20}


class ExportError(Exception):
    """An export that can not proceed; the message names the file and the problem."""


def sha256_file(path: str) -> str:
    import hashlib
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def skipped_init() -> Iterator[None]:
    """Parameters are overwritten by the checkpoint, so random initialisation (minutes for 8B) is
    skipped while the model is built."""
    names = ["uniform_", "normal_", "trunc_normal_", "kaiming_uniform_", "kaiming_normal_",
             "xavier_uniform_", "xavier_normal_", "constant_", "zeros_", "ones_"]
    saved = {n: getattr(nn.init, n) for n in names if hasattr(nn.init, n)}
    try:
        for n in saved:
            setattr(nn.init, n, lambda tensor, *args, **kwargs: tensor)
        yield
    finally:
        for n, fn in saved.items():
            setattr(nn.init, n, fn)


def read_config(checkpoint_dir: str) -> TerraScopeConfig:
    path = os.path.join(checkpoint_dir, "config.json")
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing (not a TerraScope checkpoint directory)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            raw = json.load(f)
    except (OSError, ValueError) as e:
        raise ExportError(f"{path}: unreadable ({e})") from e
    if not isinstance(raw, dict):
        raise ExportError(f"{path}: not a JSON object")
    try:
        return TerraScopeConfig.from_checkpoint_config(raw)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise ExportError(f"{path}: {e}") from e


def tokenizer_ids(path: str) -> Dict[str, int]:
    """Token string -> id for everything tokenizer.json knows (vocabulary and added tokens)."""
    if not os.path.isfile(path):
        raise ExportError(f"{path}: missing (the bundle needs the Hugging Face tokenizer.json)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            tok = json.load(f)
        ids = {str(k): int(v) for k, v in tok["model"]["vocab"].items()}
        for t in tok.get("added_tokens", []):
            ids[str(t["content"])] = int(t["id"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
        raise ExportError(f"{path}: not a tokenizers JSON file ({e})") from e
    return ids


def check_tokens(path: str, vocab_size: int) -> None:
    """Every special token of the manifest exists and has a row in the LLM's embedding."""
    known = tokenizer_ids(path)
    for key, value in TOKENS.items():
        for text in (value if isinstance(value, list) else [value]):
            if text not in known:
                raise ExportError(f"{path}: special token '{text}' ({key}) is missing")
            if known[text] >= vocab_size:
                raise ExportError(f"{path}: special token '{text}' has id {known[text]}, outside "
                                  f"the model's vocabulary of {vocab_size}")


def load_weights(model: nn.Module, ckpt: Checkpoint, tied: List[str],
                 log: Callable[[str], None]) -> None:
    """Copies every inference tensor of `model` from the checkpoint (strict: a missing tensor or a
    shape mismatch is an error); checkpoint tensors the model does not use are reported, not
    loaded."""
    where = os.path.join(ckpt.directory, INDEX_NAME) \
        if os.path.exists(os.path.join(ckpt.directory, INDEX_NAME)) else ckpt.directory
    targets = model.state_dict(keep_vars=True)
    for name, target in targets.items():
        if name not in ckpt:
            if name in tied:
                continue
            raise ExportError(f"{where}: missing tensor '{name}'")
        shape = ckpt.shape(name)
        if list(target.shape) != shape:
            raise ExportError(f"{ckpt.file_of(name)}: tensor '{name}' has shape {shape}, "
                              f"the model expects {list(target.shape)}")
        try:
            value = ckpt.get(name)
        except SafetensorsError as e:
            raise ExportError(str(e)) from e
        if value.is_floating_point() != target.is_floating_point():
            raise ExportError(f"{ckpt.file_of(name)}: tensor '{name}' has dtype {value.dtype}, "
                              f"the model expects {target.dtype}")
        with torch.no_grad():
            target.copy_(value)
    unused = [k for k in ckpt.keys() if k not in targets]
    if unused:
        log(f"export: {len(unused)} checkpoint tensors are not used for inference "
            f"(e.g. {', '.join(sorted(unused)[:3])})")


def build_model(cfg: TerraScopeConfig, ckpt: Checkpoint, dtype: torch.dtype,
                log: Callable[[str], None]) -> TerraScope:
    with skipped_init():
        model = TerraScope(cfg, dtype)
    tied = ["language_model.lm_head.weight"] if cfg.llm.tie_word_embeddings else []
    load_weights(model, ckpt, tied, log)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def _sam_numbers(model: TerraScope) -> Dict[str, int]:
    """SAM input size S, d_model C, language width E from the grounding encoder."""
    from terrascope_ref.model import language_embedding_dim
    sam_cfg = model.config.sam_config()
    size = None
    for owner in (sam_cfg, model.grounding_encoder, model.grounding_encoder.sam2_model):
        for attr in ("image_size", "input_size"):
            if isinstance(getattr(owner, attr, None), int):
                size = getattr(owner, attr)
                break
        if size is not None:
            break
    d_model = None
    for owner in (sam_cfg, model.grounding_encoder.sam2_model):
        for attr in ("d_model", "hidden_dim"):
            if isinstance(getattr(owner, attr, None), int):
                d_model = getattr(owner, attr)
                break
        if d_model is not None:
            break
    if size is None or d_model is None:
        raise ExportError("sam2.py: cannot tell the SAM-2 input size / d_model from Sam2Config")
    return {"image_size": size, "d_model": d_model,
            "lang_dim": language_embedding_dim(model.grounding_encoder, sam_cfg)}


def module_specs(cfg: TerraScopeConfig, sam: Dict[str, int],
                 cache_shape: List[int]) -> Dict[str, Dict[str, Any]]:
    """Method names and shapes (BUNDLE.md table; -1 = free dimension)."""
    t, nt, d = cfg.tile_size, cfg.tokens_per_tile, cfg.llm.hidden_size
    v, e = cfg.llm.vocab_size, sam["lang_dim"]
    s, c = sam["image_size"], sam["d_model"]
    feats = [[1, c, s // 16, s // 16], [1, c // 8, s // 4, s // 4], [1, c // 4, s // 8, s // 8]]
    vision = {"forward": {"inputs": [[-1, 3, t, t]], "outputs": [[-1, nt, d]]}}
    return {
        "vision": vision,
        "sar_encoder": vision,
        "llm": {"embed": {"inputs": [[-1]], "outputs": [[-1, d]]},
                "forward": {"inputs": [[-1, d], [1], cache_shape], "outputs": [[v], [d]]}},
        "seg_proj": {"forward": {"inputs": [[-1, d]], "outputs": [[-1, e]]}},
        "sam_encoder": {"forward": {"inputs": [[1, 3, s, s]], "outputs": feats}},
        "sam_decoder": {"forward": {"inputs": feats + [[1, e]],
                                    "outputs": [[1, 1, s // 4, s // 4], [1], [1]]}},
    }


def scripted_modules(model: TerraScope) -> Dict[str, torch.jit.ScriptModule]:
    from terrascope_ref import sam2
    modules = {
        "vision": export_modules.script(export_modules.VisionModule(model)),
        "llm": export_modules.script(export_modules.LlmModule(model.language_model)),
        "seg_proj": export_modules.script(export_modules.SegProjModule(model)),
    }
    for name, cls in (("sam_encoder", sam2.SamEncoderModule),
                      ("sam_decoder", sam2.SamDecoderModule)):
        wrapper = cls(model.grounding_encoder).eval()
        try:
            modules[name] = torch.jit.script(wrapper)
        except Exception as e:  # scripting errors come as several exception types
            raise ExportError(f"sam2.py: {cls.__name__} is not scriptable ({e})") from e
    return modules


FILES = {"vision": "vision.pt", "llm": "llm.pt", "seg_proj": "seg_proj.pt",
         "sam_encoder": "sam_encoder.pt", "sam_decoder": "sam_decoder.pt"}


def write_bundle(model: TerraScope, modules: Dict[str, torch.jit.ScriptModule], out_dir: str,
                 tokenizer_path: str, dtype_name: str, cache_len: int, name: str,
                 source: str, max_tiles: int = MAX_TILES) -> Dict[str, Any]:
    from terrascope_ref.prompt import PromptConfig
    cfg = model.config
    os.makedirs(out_dir, exist_ok=True)
    manifest_path = os.path.join(out_dir, MANIFEST)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # a half-written bundle must not look valid
    hashes = {}
    for key, module in modules.items():
        path = os.path.join(out_dir, FILES[key])
        torch.jit.save(module, path)
        hashes[key] = sha256_file(path)
    shutil.copyfile(tokenizer_path, os.path.join(out_dir, TOKENIZER))
    hashes["tokenizer"] = sha256_file(os.path.join(out_dir, TOKENIZER))

    llm = cfg.llm
    cache_shape = list(model.language_model.cache_shape(cache_len))
    sam = _sam_numbers(model)
    specs = module_specs(cfg, sam, cache_shape)
    module_entries = {}
    for key in ("vision", "sar_encoder", "llm", "seg_proj", "sam_encoder", "sam_decoder"):
        file_key = "vision" if key == "sar_encoder" else key  # the release: SAR through InternViT
        module_entries[key] = {"file": FILES[file_key], "sha256": hashes[file_key],
                               "methods": specs[key]}
    manifest = {
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "source": source,
        "dtype": dtype_name,
        "requires": {"torch": ">=1.13"},
        "architecture": {
            "llm": {"hidden": llm.hidden_size, "layers": llm.num_hidden_layers,
                    "heads": llm.num_attention_heads, "kv_heads": llm.num_key_value_heads,
                    "head_dim": llm.head_dim, "ffn": llm.intermediate_size,
                    "vocab": llm.vocab_size, "rope_theta": float(llm.rope_theta),
                    "rms_eps": float(llm.rms_norm_eps), "cache_shape": cache_shape},
            "vision": {"image_size": cfg.tile_size, "patch_size": cfg.vision.patch_size,
                       "downsample_ratio": cfg.downsample_ratio,
                       "tokens_per_tile": cfg.tokens_per_tile,
                       "hidden": cfg.vision.hidden_size, "out_dim": llm.hidden_size,
                       "layers": cfg.vision.num_hidden_layers, "select_layer": cfg.select_layer,
                       "ps_version": cfg.ps_version},
            "sam": {"image_size": sam["image_size"], "d_model": sam["d_model"],
                    "mask_size": sam["image_size"] // 4, "lang_dim": sam["lang_dim"]},
            "seg_proj": {"in": llm.hidden_size, "out": sam["lang_dim"]},
        },
        "tokens": dict(TOKENS),
        "prompt": PromptConfig().as_manifest(),
        "preprocess": {"tile_size": cfg.tile_size, "min_tiles": MIN_TILES, "max_tiles": max_tiles,
                       "use_thumbnail": USE_THUMBNAIL, "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                       "sam_image_size": sam["image_size"], "sam_mean": IMAGENET_MEAN,
                       "sam_std": IMAGENET_STD},
        "policies": dict(POLICIES),
        "generation": dict(GENERATION),
        "modules": module_entries,
        "tokenizer": {"file": TOKENIZER, "sha256": hashes["tokenizer"]},
    }
    tmp = manifest_path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    os.replace(tmp, manifest_path)
    return manifest


def export_checkpoint(checkpoint_dir: str, out_dir: str, dtype: str = "fp32",
                      cache_len: int = DEFAULT_CACHE_LEN, name: Optional[str] = None,
                      source: Optional[str] = None, max_tiles: int = MAX_TILES,
                      log: Callable[[str], None] = lambda m: print(m, file=sys.stderr)
                      ) -> Dict[str, Any]:
    """The whole export; returns the manifest written. Raises ExportError."""
    if dtype not in DTYPES:
        raise ExportError(f"--dtype: '{dtype}' is not one of {', '.join(DTYPES)}")
    if cache_len <= 0:
        raise ExportError(f"--cache-len: {cache_len} is not positive")
    if max_tiles < MIN_TILES:
        raise ExportError(f"--max-tiles: {max_tiles} is below {MIN_TILES}")
    if not os.path.isdir(checkpoint_dir):
        raise ExportError(f"{checkpoint_dir}: not a directory")
    cfg = read_config(checkpoint_dir)
    if cfg.llm.rope_dynamic and cache_len > cfg.llm.max_position_embeddings:
        raise ExportError(
            f"{os.path.join(checkpoint_dir, 'config.json')}: dynamic RoPE scaling changes the "
            f"frequencies past max_position_embeddings {cfg.llm.max_position_embeddings}; "
            f"--cache-len {cache_len} is longer (not supported)")
    tokenizer_path = os.path.join(checkpoint_dir, TOKENIZER)
    check_tokens(tokenizer_path, cfg.llm.vocab_size)
    try:
        ckpt = Checkpoint(checkpoint_dir)
    except SafetensorsError as e:
        raise ExportError(str(e)) from e
    model = build_model(cfg, ckpt, DTYPES[dtype], log)
    modules = scripted_modules(model)
    checkpoint_name = os.path.basename(os.path.normpath(os.path.abspath(checkpoint_dir)))
    return write_bundle(model, modules, out_dir, tokenizer_path, dtype, cache_len,
                        name or f"terrascope-{checkpoint_name}",
                        source or os.path.abspath(checkpoint_dir), max_tiles)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="checkpoint directory (HF layout)")
    parser.add_argument("--out", required=True, help="bundle directory to write")
    parser.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    parser.add_argument("--cache-len", type=int, default=DEFAULT_CACHE_LEN,
                        help="static KV-cache length (prompt + generated tokens)")
    parser.add_argument("--name", help="bundle name (default terrascope-<checkpoint dir name>)")
    parser.add_argument("--source", help="free text for the manifest (default the checkpoint path)")
    parser.add_argument("--max-tiles", type=int, default=MAX_TILES,
                        help="most tiles per image in the manifest (release %(default)s, hard-coded "
                        "in its inference; terrascope-tiny, trained on single tiles, takes 1)")
    args = parser.parse_args(argv)
    try:
        with torch.no_grad():
            manifest = export_checkpoint(args.checkpoint, args.out, args.dtype, args.cache_len,
                                         args.name, args.source, args.max_tiles)
    except ExportError as e:
        print(f"export: {e}", file=sys.stderr)
        return 1
    print(f"export: wrote {os.path.join(args.out, MANIFEST)} ({manifest['name']}, "
          f"{manifest['dtype']})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
