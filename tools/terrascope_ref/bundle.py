"""Load a model bundle (docs/BUNDLE.md) in Python: verify the manifest and every sha256, load the
TorchScript modules, resolve the special tokens through the bundle's tokenizer.

A TorchScript file is code, so no module is loaded before every hash of the manifest matched.
The result offers the interface of the reference loop (`loop.py`): `vision`, `sar_encoder`,
`embed`, `step`, `seg_proj`, `sam_encode`, `sam_decode`, plus `spec()` and `token_ids()`.
"""
import hashlib
import json
import os

import torch

from .tokenizer import Tokenizer

MANIFEST = "terrascope.json"
SCHEMA_VERSION = 1
MODULE_NAMES = ("vision", "sar_encoder", "llm", "seg_proj", "sam_encoder", "sam_decoder")
TOKEN_KEYS = ("img_start", "img_end", "img_context", "seg", "region", "think_start", "think_end",
              "answer_start", "answer_end")


class BundleError(ValueError):
    """A bundle that can not be used; the message names the file and the problem."""


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            block = f.read(chunk)
            if not block:
                break
            digest.update(block)
    return digest.hexdigest()


def _require(mapping, key, where):
    if key not in mapping:
        raise BundleError(f"{where}: missing key '{key}'")
    return mapping[key]


def read_manifest(bundle_dir):
    path = os.path.join(bundle_dir, MANIFEST)
    if not os.path.isfile(path):
        raise BundleError(f"{path}: no manifest (not a bundle directory)")
    try:
        with open(path, "r", encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as exc:
        raise BundleError(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{path}: manifest is not a JSON object")
    version = _require(manifest, "schema_version", path)
    if version != SCHEMA_VERSION:
        raise BundleError(f"{path}: schema_version {version} is not supported "
                          f"(this reader knows {SCHEMA_VERSION})")
    for key in ("architecture", "tokens", "preprocess", "modules", "tokenizer"):
        _require(manifest, key, path)
    return manifest


def _checked_file(bundle_dir, entry, where):
    name = _require(entry, "file", where)
    if os.path.isabs(name) or os.path.normpath(name).startswith(".."):
        raise BundleError(f"{where}: file '{name}' is outside the bundle")
    path = os.path.join(bundle_dir, name)
    if not os.path.isfile(path):
        raise BundleError(f"{path}: missing ({where})")
    expected = str(_require(entry, "sha256", where)).lower()
    actual = sha256_file(path)
    if actual != expected:
        raise BundleError(f"{path}: sha256 mismatch (manifest {expected}, file {actual})")
    return path


class Bundle:
    """A verified, loaded bundle. Methods follow the loop's "modules" interface."""

    def __init__(self, bundle_dir):
        self.dir = bundle_dir
        self.manifest = read_manifest(bundle_dir)
        modules = self.manifest["modules"]
        # Verify every hash before loading any TorchScript (loading runs code).
        paths = {}
        for name in MODULE_NAMES:
            entry = _require(modules, name, os.path.join(bundle_dir, MANIFEST) + " modules")
            paths[name] = _checked_file(bundle_dir, entry, f"module {name}")
        tokenizer_path = _checked_file(bundle_dir, self.manifest["tokenizer"], "tokenizer")
        self.tokenizer = Tokenizer.from_file(tokenizer_path)
        loaded = {}
        self._modules = {}
        for name in MODULE_NAMES:
            path = paths[name]
            if path not in loaded:
                try:
                    loaded[path] = torch.jit.load(path, map_location="cpu").eval()
                except Exception as exc:  # torch raises RuntimeError and friends
                    raise BundleError(f"{path}: not a loadable TorchScript module ({exc})") from exc
            self._modules[name] = loaded[path]
            for method in (modules[name].get("methods") or {}):
                if method != "..." and not hasattr(loaded[path], method):
                    raise BundleError(f"{path}: module {name} has no method '{method}' "
                                      f"(the manifest lists it)")
        self._token_ids = self._resolve_tokens()
        self.dtype = {"fp32": torch.float32, "bf16": torch.bfloat16,
                      "fp16": torch.float16}[self.manifest.get("dtype", "fp32")]

    # -- tokens ------------------------------------------------------------------------------
    def _resolve_tokens(self):
        tokens = self.manifest["tokens"]
        where = os.path.join(self.dir, MANIFEST)
        ids = {}
        for key in TOKEN_KEYS:
            text = _require(tokens, key, where + " tokens")
            token_id = self.tokenizer.token_to_id(text)
            if token_id is None:
                raise BundleError(f"{where}: token '{text}' ({key}) is not in tokenizer.json")
            ids[key] = token_id
        stop = []
        for text in _require(tokens, "stop", where + " tokens"):
            token_id = self.tokenizer.token_to_id(text)
            if token_id is None:
                raise BundleError(f"{where}: stop token '{text}' is not in tokenizer.json")
            stop.append(token_id)
        ids["stop"] = stop
        return ids

    def token_ids(self):
        return dict(self._token_ids)

    def spec(self):
        """The numbers the loop needs (see loop.ModelSpec)."""
        from .loop import ModelSpec
        return ModelSpec.from_manifest(self.manifest)

    # -- the loop's module interface ---------------------------------------------------------
    def vision(self, pixels):
        return self._modules["vision"](pixels)

    def sar_encoder(self, pixels):
        return self._modules["sar_encoder"](pixels)

    def embed(self, ids):
        return self._modules["llm"].embed(ids)

    def step(self, embeds, start, cache):
        logits, hidden = self._modules["llm"](embeds, start, cache)
        return logits, hidden

    def seg_proj(self, hidden):
        return self._modules["seg_proj"](hidden)

    def sam_encode(self, image):
        return tuple(self._modules["sam_encoder"](image))

    def sam_decode(self, feat, hr0, hr1, lang):
        return tuple(self._modules["sam_decoder"](feat, hr0, hr1, lang))

    def new_cache(self):
        shape = self.manifest["architecture"]["llm"]["cache_shape"]
        return torch.zeros(shape, dtype=self.dtype)


def load_bundle(bundle_dir):
    return Bundle(bundle_dir)
