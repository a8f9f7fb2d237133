"""Qwen2 decoder (transformers' `Qwen2ForCausalLM`), parameter names as the release checkpoint
(`model.embed_tokens`, `model.layers.N.self_attn.{q,k,v,o}_proj`, `mlp.{gate,up,down}_proj`,
`input_layernorm`, `post_attention_layernorm`, `model.norm`, `lm_head`).

Two ways to run it, which must agree:
- `forward_full(embeds[B,L,D])`: plain causal pass without cache (the definition);
- `step(embeds[L,D], start i64[1], cache[layers,2,kv_heads,Lc,head_dim])`: the static-KV-cache step
  the bundle's `llm.forward` exports (ENGINE.md: a preallocated cache written with index_copy_,
  causal mask computed inside, so the step has static shapes and can be captured in a CUDA graph).

Numerics follow transformers' eager path: RMSNorm in fp32, RoPE cos/sin computed in fp32 and cast
to the model dtype, rotate-half, attention softmax in fp32.
"""

from dataclasses import asdict, dataclass, fields
from typing import Any, Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from terrascope_ref.intern_vit import RMSNorm


@dataclass
class Qwen2Config:
    vocab_size: int = 151674
    hidden_size: int = 3584
    intermediate_size: int = 18944
    num_hidden_layers: int = 28
    num_attention_heads: int = 28
    num_key_value_heads: int = 4
    head_dim: int = 0  # 0: hidden_size // num_attention_heads
    rope_theta: float = 1000000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False
    max_position_embeddings: int = 32768
    # rope_scaling {"type": "dynamic"} (InternVL's Qwen2 llm_config, factor 2): transformers'
    # dynamic NTK RoPE equals the default one for sequences up to max_position_embeddings, so it is
    # supported with a cache no longer than that (the exporter checks).
    rope_dynamic: bool = False

    def __post_init__(self):
        if self.head_dim == 0:
            self.head_dim = self.hidden_size // self.num_attention_heads

    @staticmethod
    def from_dict(d: Dict[str, Any]) -> "Qwen2Config":
        """Reads a transformers Qwen2Config dict (the release's `llm_config`). Features the
        reference does not implement (rope scaling, sliding window, another activation) are
        refused."""
        names = {f.name for f in fields(Qwen2Config)}
        kwargs = {k: v for k, v in d.items() if k in names and v is not None}
        # transformers >= 4.5x moved rope_theta into rope_parameters.
        rope = d.get("rope_parameters") or {}
        if "rope_theta" not in kwargs and "rope_theta" in rope:
            kwargs["rope_theta"] = rope["rope_theta"]
        scaling = d.get("rope_scaling") or {}
        kinds = {scaling.get("rope_type"), scaling.get("type"), rope.get("rope_type")} - {None}
        if kinds - {"default", "dynamic"}:
            raise ValueError(f"llm_config: rope scaling {scaling or rope} is not supported "
                             "(default or dynamic only)")
        kwargs["rope_dynamic"] = "dynamic" in kinds
        if d.get("use_sliding_window"):
            raise ValueError("llm_config: use_sliding_window=true is not supported")
        act = d.get("hidden_act", "silu")
        if act != "silu":
            raise ValueError(f"llm_config: hidden_act '{act}' is not supported")
        arch = (d.get("architectures") or ["Qwen2ForCausalLM"])[0]
        if arch != "Qwen2ForCausalLM":
            raise ValueError(
                f"llm_config: architecture '{arch}' is not supported (Qwen2ForCausalLM)")
        return Qwen2Config(**kwargs)

    def to_dict(self) -> Dict[str, Any]:
        d = asdict(self)
        d["architectures"] = ["Qwen2ForCausalLM"]
        d["model_type"] = "qwen2"
        d["hidden_act"] = "silu"
        d["use_sliding_window"] = False
        del d["rope_dynamic"]
        d["rope_scaling"] = {"type": "dynamic", "rope_type": "dynamic", "factor": 2.0} \
            if self.rope_dynamic else None
        return d

    @staticmethod
    def tiny() -> "Qwen2Config":
        return Qwen2Config(vocab_size=512, hidden_size=64, intermediate_size=128,
                           num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                           rope_theta=1000000.0)


def rope_cos_sin(positions: torch.Tensor, head_dim: int, theta: float,
                 dtype: torch.dtype) -> Tuple[torch.Tensor, torch.Tensor]:
    """cos/sin [L, head_dim] for integer positions [L] (transformers' default RoPE)."""
    exponent = torch.arange(0, head_dim, 2, dtype=torch.int64, device=positions.device).float()
    inv_freq = 1.0 / (theta ** (exponent / head_dim))
    freqs = positions.float()[:, None] * inv_freq[None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    return emb.cos().to(dtype), emb.sin().to(dtype)


def causal_bias(allowed: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """Additive attention mask: 0 where allowed, the most negative fp32 value elsewhere
    (transformers uses finfo(dtype).min; in bf16/fp16 ours rounds to -inf, which softmax maps to
    the same 0).
    torch.finfo is not scriptable in torch 1.13, hence the literal."""
    bias = torch.zeros(allowed.shape, dtype=torch.float32, device=allowed.device)
    return bias.masked_fill(~allowed, -3.4028234663852886e38).to(dtype)


def _rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.size(-1) // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x [..., L, head_dim]; cos/sin [L, head_dim]."""
    return x * cos + _rotate_half(x) * sin


class Qwen2Attention(nn.Module):
    def __init__(self, cfg: Qwen2Config):
        super().__init__()
        self.num_heads = cfg.num_attention_heads
        self.num_kv_heads = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        self.groups = cfg.num_attention_heads // cfg.num_key_value_heads
        self.scale = cfg.head_dim ** -0.5
        self.q_proj = nn.Linear(cfg.hidden_size, cfg.num_attention_heads * cfg.head_dim, bias=True)
        self.k_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim, bias=True)
        self.v_proj = nn.Linear(cfg.hidden_size, cfg.num_key_value_heads * cfg.head_dim, bias=True)
        self.o_proj = nn.Linear(cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size, bias=False)

    def project(self, x: torch.Tensor, cos: torch.Tensor,
                sin: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [L, D] -> q [H, L, hd], k [KVH, L, hd], v [KVH, L, hd], RoPE applied to q and k."""
        n = x.size(0)
        q = self.q_proj(x).reshape(n, self.num_heads, self.head_dim).transpose(0, 1)
        k = self.k_proj(x).reshape(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
        v = self.v_proj(x).reshape(n, self.num_kv_heads, self.head_dim).transpose(0, 1)
        return apply_rope(q, cos, sin), apply_rope(k, cos, sin), v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               bias: torch.Tensor) -> torch.Tensor:
        """q [H, L, hd], k/v [KVH, S, hd], bias [L, S] additive mask -> [L, D] through o_proj.
        Query head h uses KV head h // groups (transformers' repeat_kv); the groups are folded into
        the query rows instead of repeating K/V, so the static cache is never copied."""
        n = q.size(1)
        s = k.size(1)
        q = q.reshape(self.num_kv_heads, self.groups * n, self.head_dim)
        scores = torch.matmul(q, k.transpose(1, 2)) * self.scale
        scores = scores.reshape(self.num_kv_heads, self.groups, n, s) + bias
        probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs.reshape(self.num_kv_heads, self.groups * n, s), v)
        out = out.reshape(self.num_heads, n, self.head_dim).transpose(0, 1)
        return self.o_proj(out.reshape(n, self.num_heads * self.head_dim))


class Qwen2MLP(nn.Module):
    def __init__(self, cfg: Qwen2Config):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Qwen2DecoderLayer(nn.Module):
    def __init__(self, cfg: Qwen2Config):
        super().__init__()
        self.self_attn = Qwen2Attention(cfg)
        self.mlp = Qwen2MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


class Qwen2Model(nn.Module):
    def __init__(self, cfg: Qwen2Config, dtype: Optional[torch.dtype] = None):
        super().__init__()
        # With `dtype`, each part is converted as soon as it is built, so that building the 8B model
        # in bf16 never holds all of it in fp32.
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size).to(dtype)
        self.layers = nn.ModuleList([Qwen2DecoderLayer(cfg).to(dtype)
                                     for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps).to(dtype)


class Qwen2ForCausalLM(nn.Module):
    def __init__(self, cfg: Qwen2Config, dtype: Optional[torch.dtype] = None):
        super().__init__()
        self.num_layers = cfg.num_hidden_layers
        self.num_kv_heads = cfg.num_key_value_heads
        self.head_dim = cfg.head_dim
        self.rope_theta = float(cfg.rope_theta)
        self.model = Qwen2Model(cfg, dtype)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False).to(dtype)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    def cache_shape(self, cache_len: int) -> Tuple[int, int, int, int, int]:
        return (self.num_layers, 2, self.num_kv_heads, cache_len, self.head_dim)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.model.embed_tokens(ids)

    def forward_full(self, embeds: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Causal pass without cache. embeds [L, D] -> (logits [L, V], final-norm hidden [L, D])."""
        n = embeds.size(0)
        positions = torch.arange(n, device=embeds.device)
        cos, sin = rope_cos_sin(positions, self.head_dim, self.rope_theta, embeds.dtype)
        bias = causal_bias(positions[None, :] <= positions[:, None], embeds.dtype)
        x = embeds
        for layer in self.model.layers:
            q, k, v = layer.self_attn.project(layer.input_layernorm(x), cos, sin)
            x = x + layer.self_attn.attend(q, k, v, bias)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        hidden = self.model.norm(x)
        return self.lm_head(hidden), hidden

    def step(self, embeds: torch.Tensor, start: torch.Tensor,
             cache: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Static-cache step: embeds [L, D] at positions start..start+L-1, cache
        [layers, 2, kv_heads, Lc, head_dim] updated in place at those positions.
        Returns (logits [V] and final-norm hidden [D]) of the last position."""
        n = embeds.size(0)
        cache_len = cache.size(3)
        # `start` may live on the host or the device; positions follow the embeddings.
        positions = start.to(device=embeds.device, dtype=torch.int64).reshape(1) + \
            torch.arange(n, device=embeds.device)
        cos, sin = rope_cos_sin(positions, self.head_dim, self.rope_theta, embeds.dtype)
        key_positions = torch.arange(cache_len, device=embeds.device)
        # Query i sees cache slots 0..start+i; slots past the written range never enter.
        bias = causal_bias(key_positions[None, :] <= positions[:, None], embeds.dtype)
        x = embeds
        for i, layer in enumerate(self.model.layers):
            q, k, v = layer.self_attn.project(layer.input_layernorm(x), cos, sin)
            layer_cache = cache[i]
            layer_cache[0].index_copy_(1, positions, k.to(cache.dtype))
            layer_cache[1].index_copy_(1, positions, v.to(cache.dtype))
            x = x + layer.self_attn.attend(q, layer_cache[0], layer_cache[1], bias)
            x = x + layer.mlp(layer.post_attention_layernorm(x))
        hidden = self.model.norm(x[n - 1:n])
        return self.lm_head(hidden)[0], hidden[0]

    def greedy(self, embeds: torch.Tensor, steps: int, cache_len: int = 0) -> torch.Tensor:
        """Greedy continuation with the static cache (for tests): prefill `embeds` [L, D], then feed
        back the argmax `steps` times; returns the `steps` chosen ids."""
        n = embeds.size(0)
        cache = torch.zeros(self.cache_shape(cache_len or n + steps), dtype=embeds.dtype,
                            device=embeds.device)
        logits, _ = self.step(embeds, torch.tensor([0]), cache)
        out = []
        pos = n
        for _ in range(steps):
            nxt = int(torch.argmax(logits))
            out.append(nxt)
            ids = torch.tensor([nxt], device=embeds.device)
            logits, _ = self.step(self.embed(ids), torch.tensor([pos]), cache)
            pos += 1
        return torch.tensor(out, dtype=torch.int64)
