"""Safetensors reading and writing with the standard library and torch only.

Format (https://github.com/huggingface/safetensors): 8-byte little-endian header length N, N bytes
of JSON {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}, then the
raw little-endian tensor bytes; offsets are relative to the end of the header. A sharded checkpoint
is several such files plus `model.safetensors.index.json` ({"weight_map": {name: file}}).

Tensors are read one at a time by seeking to their offsets, so an 8B checkpoint is never held in
memory as a whole.
"""

import json
import os
import struct
from typing import Dict, Iterator, List, Optional, Tuple

import torch

INDEX_NAME = "model.safetensors.index.json"
SINGLE_NAME = "model.safetensors"

_DTYPES = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
_NAMES = {v: k for k, v in _DTYPES.items()}
_ITEM_SIZE = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1,
    "BOOL": 1,
}
# A header larger than this is not a safetensors file (the reference implementation caps it at
# 100 MB).
_MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(Exception):
    """A problem with a safetensors file; the message names the file and the problem."""


class SafetensorsFile:
    """One .safetensors file: parses the header, reads tensors on demand."""

    def __init__(self, path: str):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                raw_len = f.read(8)
                if len(raw_len) != 8:
                    raise SafetensorsError(f"{path}: file too short for a safetensors header")
                (header_len,) = struct.unpack("<Q", raw_len)
                if header_len > _MAX_HEADER or 8 + header_len > size:
                    raise SafetensorsError(f"{path}: bad header length {header_len}")
                header = json.loads(f.read(header_len).decode("utf-8"))
        except OSError as e:
            raise SafetensorsError(f"{path}: cannot read ({e.strerror})") from e
        except (UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SafetensorsError(f"{path}: header is not valid JSON ({e})") from e
        if not isinstance(header, dict):
            raise SafetensorsError(f"{path}: header is not a JSON object")
        self.metadata: Dict[str, str] = header.pop("__metadata__", None) or {}
        self._data_start = 8 + header_len
        self._entries: Dict[str, Tuple[str, List[int], int, int]] = {}
        for name, info in header.items():
            try:
                dtype = info["dtype"]
                shape = [int(s) for s in info["shape"]]
                begin, end = (int(o) for o in info["data_offsets"])
            except (KeyError, TypeError, ValueError) as e:
                raise SafetensorsError(f"{path}: tensor '{name}': malformed header entry") from e
            if dtype not in _DTYPES:
                raise SafetensorsError(f"{path}: tensor '{name}': unsupported dtype {dtype}")
            numel = 1
            for s in shape:
                numel *= s
            if end - begin != numel * _ITEM_SIZE[dtype] or begin < 0:
                raise SafetensorsError(
                    f"{path}: tensor '{name}': byte range {begin}..{end} does not match "
                    f"{dtype} shape {shape}")
            if self._data_start + end > size:
                raise SafetensorsError(
                    f"{path}: tensor '{name}': data runs past the end of the file")
            self._entries[name] = (dtype, shape, begin, end)

    def keys(self) -> List[str]:
        return list(self._entries.keys())

    def __contains__(self, name: str) -> bool:
        return name in self._entries

    def shape(self, name: str) -> List[int]:
        return list(self._entry(name)[1])

    def dtype(self, name: str) -> torch.dtype:
        return _DTYPES[self._entry(name)[0]]

    def _entry(self, name: str):
        try:
            return self._entries[name]
        except KeyError:
            raise SafetensorsError(f"{self.path}: no tensor '{name}'") from None

    def get(self, name: str) -> torch.Tensor:
        """Reads one tensor (a fresh CPU tensor that owns its memory)."""
        dtype, shape, begin, end = self._entry(name)
        nbytes = end - begin
        buf = bytearray(nbytes)
        with open(self.path, "rb") as f:
            f.seek(self._data_start + begin)
            if f.readinto(buf) != nbytes:
                raise SafetensorsError(f"{self.path}: tensor '{name}': short read")
        if nbytes == 0:
            return torch.empty(shape, dtype=_DTYPES[dtype])
        # frombuffer reads native byte order; safetensors is little-endian, as are our machines.
        flat = torch.frombuffer(buf, dtype=torch.uint8)
        return flat.view(_DTYPES[dtype]).reshape(shape) if dtype != "BOOL" else \
            flat.to(torch.bool).reshape(shape)


class Checkpoint:
    """All tensors of a checkpoint directory: one model.safetensors, a sharded set with
    model.safetensors.index.json, or any *.safetensors files in the directory."""

    def __init__(self, directory: str):
        self.directory = directory
        self._where: Dict[str, SafetensorsFile] = {}
        index_path = os.path.join(directory, INDEX_NAME)
        if not os.path.isdir(directory):
            raise SafetensorsError(f"{directory}: not a directory")
        if os.path.exists(index_path):
            try:
                with open(index_path, "r", encoding="utf-8") as f:
                    weight_map = json.load(f)["weight_map"]
            except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
                raise SafetensorsError(f"{index_path}: not a valid index ({e})") from e
            files: Dict[str, SafetensorsFile] = {}
            for name, shard in weight_map.items():
                if shard not in files:
                    shard_path = os.path.join(directory, shard)
                    if not os.path.exists(shard_path):
                        raise SafetensorsError(
                            f"{index_path}: shard '{shard}' (holding '{name}') does not exist")
                    files[shard] = SafetensorsFile(shard_path)
                if name not in files[shard]:
                    raise SafetensorsError(
                        f"{files[shard].path}: no tensor '{name}' (listed in {INDEX_NAME})")
                self._where[name] = files[shard]
        else:
            names = sorted(n for n in os.listdir(directory) if n.endswith(".safetensors"))
            if not names:
                raise SafetensorsError(
                    f"{directory}: no {INDEX_NAME} and no .safetensors file")
            for n in names:
                st = SafetensorsFile(os.path.join(directory, n))
                for key in st.keys():
                    if key in self._where:
                        raise SafetensorsError(
                            f"{st.path}: tensor '{key}' also in {self._where[key].path}")
                    self._where[key] = st

    def keys(self) -> List[str]:
        return list(self._where.keys())

    def __contains__(self, name: str) -> bool:
        return name in self._where

    def file_of(self, name: str) -> str:
        return self._where[name].path

    def shape(self, name: str) -> List[int]:
        return self._file(name).shape(name)

    def get(self, name: str) -> torch.Tensor:
        return self._file(name).get(name)

    def _file(self, name: str) -> SafetensorsFile:
        try:
            return self._where[name]
        except KeyError:
            raise SafetensorsError(f"{self.directory}: checkpoint has no tensor '{name}'") from None

    def items(self) -> Iterator[Tuple[str, torch.Tensor]]:
        for name in self._where:
            yield name, self.get(name)


def load_file(path: str) -> Dict[str, torch.Tensor]:
    """Reads every tensor of one file (for small files: test oracles, tiny checkpoints)."""
    st = SafetensorsFile(path)
    return {name: st.get(name) for name in st.keys()}


def save_file(tensors: Dict[str, torch.Tensor], path: str,
              metadata: Optional[Dict[str, str]] = None) -> None:
    """Writes tensors to one safetensors file (keys sorted, 8-byte aligned header, as the
    reference)."""
    header: Dict[str, object] = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    order = sorted(tensors.keys())
    for name in order:
        t = tensors[name]
        if t.dtype not in _NAMES:
            raise SafetensorsError(f"{path}: tensor '{name}': unsupported dtype {t.dtype}")
        nbytes = t.numel() * t.element_size()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for name in order:
            t = tensors[name].detach().to("cpu").contiguous()
            if t.numel() == 0:
                continue
            f.write(t.reshape(-1).view(torch.uint8).numpy().tobytes()
                    if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes())
    os.replace(tmp, path)


def save_sharded(tensors: Dict[str, torch.Tensor], directory: str,
                 max_shard_bytes: int = 5 * 1024 ** 3) -> List[str]:
    """Writes a checkpoint as shards `model-0000i-of-0000n.safetensors` plus the index, in the
    layout `save_pretrained` produces. Returns the shard file names."""
    os.makedirs(directory, exist_ok=True)
    shards: List[Dict[str, torch.Tensor]] = [{}]
    size = 0
    for name in sorted(tensors.keys()):
        nbytes = tensors[name].numel() * tensors[name].element_size()
        if shards[-1] and size + nbytes > max_shard_bytes:
            shards.append({})
            size = 0
        shards[-1][name] = tensors[name]
        size += nbytes
    n = len(shards)
    names = [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
    weight_map = {}
    total = 0
    for shard_name, shard in zip(names, shards):
        save_file(shard, os.path.join(directory, shard_name), metadata={"format": "pt"})
        for key, t in shard.items():
            weight_map[key] = shard_name
            total += t.numel() * t.element_size()
    with open(os.path.join(directory, INDEX_NAME), "w", encoding="utf-8") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2,
                  sort_keys=True)
    return names
