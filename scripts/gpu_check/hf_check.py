#!/usr/bin/env python3
"""The Python half of scripts/gpu_check.sh (issue 7); transformers is the independent reference.

    hf_check.py qwen2-compare [--device cuda]
        Our reference Qwen2 (tools/terrascope_ref/qwen2.py) and transformers' Qwen2ForCausalLM at a
        small random configuration with the same weights: logits NMSE of a full causal pass
        (fp32, TF32 off), the static-cache step path (prefill + 8 greedy steps) against
        transformers' greedy ids, and the exported TorchScript llm module against both.
    hf_check.py export-8b --out FILE [--cache-len N]
        Scripts the llm module of the bundle interface at the TerraScope-8B LLM configuration
        (Qwen2-7B: 28 layers, 3584 hidden, 4 KV heads, vocab 151674) with random bf16 weights on
        the GPU and saves it (about 15 GB).
    hf_check.py hf-decode [--tokens N] [--prompt N]
        Times transformers' eager Qwen2 at the same configuration (random bf16 weights) decoding
        token by token with its KV cache, as the release's loop does: ms per token and prefill ms.
Each prints one JSON object.
"""
import argparse
import json
import os
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tools"))

import torch  # noqa: E402

from terrascope_ref.qwen2 import Qwen2Config, Qwen2ForCausalLM  # noqa: E402


def hf_config(cfg):
    import transformers
    return transformers.Qwen2Config(
        vocab_size=cfg.vocab_size, hidden_size=cfg.hidden_size,
        intermediate_size=cfg.intermediate_size, num_hidden_layers=cfg.num_hidden_layers,
        num_attention_heads=cfg.num_attention_heads, num_key_value_heads=cfg.num_key_value_heads,
        rope_theta=cfg.rope_theta, rms_norm_eps=cfg.rms_norm_eps, tie_word_embeddings=False,
        # transformers 5 reads RoPE's base from rope_parameters (4.x ignores the unknown key)
        rope_parameters={"rope_type": "default", "rope_theta": cfg.rope_theta},
        max_position_embeddings=cfg.max_position_embeddings, use_sliding_window=False,
        attn_implementation="eager")


def nmse(a, b):
    a, b = a.double(), b.double()
    return float(((a - b) ** 2).sum() / (b ** 2).sum())


def qwen2_compare(args):
    import transformers
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=1000, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
                      num_attention_heads=8, num_key_value_heads=2)
    ours = Qwen2ForCausalLM(cfg).eval()
    with torch.no_grad():
        for p in ours.parameters():  # random, not the init's (norm weights of ones hide bugs)
            # scale 0.1: at 0.05 every greedy id was the same (851), which proves little
            p.copy_(torch.randn_like(p) * 0.1 + (1.0 if p.dim() == 1 else 0.0))
    hf = transformers.Qwen2ForCausalLM(hf_config(cfg)).eval()
    missing, unexpected = hf.load_state_dict(ours.state_dict(), strict=False)
    missing = [k for k in missing if "rotary" not in k]
    ours, hf = ours.to(device), hf.to(device)
    ids = torch.randint(0, cfg.vocab_size, (1, 48), generator=torch.Generator().manual_seed(1))
    ids = ids.to(device)
    with torch.no_grad():
        logits_ours, _ = ours.forward_full(ours.embed(ids[0]))
        logits_hf = hf(input_ids=ids).logits[0]
        greedy_hf = hf.generate(ids, max_new_tokens=8, do_sample=False, num_beams=1,
                                pad_token_id=0)[0, ids.shape[1]:].tolist()
        greedy_ours = ours.greedy(ours.embed(ids[0]), 8, cache_len=128).tolist()
        # The exported module (bundle interface) scripted from ours.
        from terrascope_ref.export_modules import LlmModule, script
        scripted = script(LlmModule(ours))
        cache = torch.zeros(ours.cache_shape(128), device=device)
        step_logits, _ = scripted(ours.embed(ids[0]), torch.tensor([0], device=device), cache)
    out = {
        "config": {"hidden": 256, "layers": 4, "heads": 8, "kv_heads": 2, "vocab": 1000},
        "device": str(device),
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "hf_rope": str(getattr(hf.config, "rope_parameters", None) or hf.config.rope_theta),
        "state_dict_missing": missing,
        "state_dict_unexpected": list(unexpected),
        "logits_nmse_full": nmse(logits_ours, logits_hf),
        "logits_nmse_scripted_step_last": nmse(step_logits, logits_hf[-1]),
        "greedy_ids_ours": greedy_ours,
        "greedy_ids_hf": greedy_hf,
        "greedy_equal": greedy_ours == greedy_hf,
    }
    out["ok"] = (not missing and not unexpected and out["logits_nmse_full"] < 1e-6
                 and out["logits_nmse_scripted_step_last"] < 1e-6 and out["greedy_equal"])
    print(json.dumps(out, indent=1))
    return 0 if out["ok"] else 1


def random_8b(dtype=torch.bfloat16):
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = Qwen2ForCausalLM(Qwen2Config(), dtype=dtype).eval()
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.02)
    return model


def export_8b(args):
    from terrascope_ref.export_modules import LlmModule, script
    t0 = time.perf_counter()
    model = random_8b()
    scripted = script(LlmModule(model))
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    scripted.save(args.out)
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    print(json.dumps({"out": args.out, "param_gb": params / 1e9,
                      "seconds": time.perf_counter() - t0}))
    return 0


def hf_decode(args):
    import transformers
    torch.manual_seed(0)
    with torch.device("cuda"):
        hf = transformers.Qwen2ForCausalLM(hf_config(Qwen2Config())).to(torch.bfloat16).eval()
    ids = torch.randint(0, 151674, (1, args.prompt), device="cuda")
    with torch.no_grad():
        def prefill():
            return hf(input_ids=ids, use_cache=True)
        for _ in range(2):
            prefill()
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = prefill()
        torch.cuda.synchronize()
        prefill_ms = (time.perf_counter() - t0) * 1000
        past = out.past_key_values
        nxt = out.logits[0, -1].argmax().view(1, 1)

        def step(n):
            nonlocal past, nxt
            for _ in range(n):
                o = hf(input_ids=nxt, past_key_values=past, use_cache=True)
                past = o.past_key_values
                nxt = torch.tensor([[int(o.logits[0, -1].argmax())]], device="cuda")  # host sync
        step(3)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        step(args.tokens)
        torch.cuda.synchronize()
        decode_ms = (time.perf_counter() - t0) * 1000 / args.tokens
    print(json.dumps({"transformers": transformers.__version__, "prompt": args.prompt,
                      "prefill_ms": prefill_ms, "decode_ms_per_token": decode_ms}))
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("qwen2-compare")
    p.add_argument("--device", default="cuda")
    p = sub.add_parser("export-8b")
    p.add_argument("--out", required=True)
    p = sub.add_parser("hf-decode")
    p.add_argument("--tokens", type=int, default=64)
    p.add_argument("--prompt", type=int, default=600)
    args = parser.parse_args(argv)
    return {"qwen2-compare": qwen2_compare, "export-8b": export_8b,
            "hf-decode": hf_decode}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
