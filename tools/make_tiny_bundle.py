#!/usr/bin/env python3
"""Make a tiny TerraScope bundle for tests: the full architecture at tiny sizes with random weights
from a fixed seed, written as a checkpoint in the released layout (config.json, model.safetensors,
tokenizer.json) and then passed through the real exporter (tools/export.py).

    make_tiny_bundle.py --seed 0 --out build/testdata/bundles/tiny-s0 [--checkpoint DIR]

Sizes: vision tiles of 112 px, patch 14 (8x8 patches -> 4x4 = 16 tokens per tile after the pixel
shuffle), InternViT hidden 64 x 2 layers; Qwen2 hidden 64, 2 layers, 4 heads / 2 KV heads,
vocabulary of the tiny tokenizer (tools/make_tiny_tokenizer.py); SAM-2 at 256 px
(Sam2Config.tiny()).

Steering (why a random model says [SEG]): a random decoder almost never chooses [SEG] or
<|im_end|> under greedy decoding, yet the golden files must exercise the [SEG] path and the stop
rule. The random weights are therefore shaped, deterministically, into two "flag" features:
- two hidden dimensions, F_SEG = D-2 and F_END = D-1, are made pure copies of the fed token's
  identity: every ordinary (non-added) token whose id % 11 == 3 gets embedding value A at F_SEG,
  every ordinary token whose id % 10 == 4 (and not the former) gets A at F_END, all other embeddings
  (and the vision rows: `mlp1.3` rows and bias zeroed) 0 there; nothing writes to these dimensions
  afterwards (`o_proj` and `down_proj` rows zeroed in every layer), so at the last layer they still
  say which kind of token was just fed;
- `lm_head` row of [SEG] is B at F_SEG and 0 elsewhere, row of <|im_end|> is B at F_END and 0
  elsewhere: after a "SEG trigger" token the [SEG] logit dominates, otherwise it is 0 and loses
  to the largest random logit; the same for <|im_end|>;
- `lm_head` rows of every other added token are zero (never chosen), so generated text is ordinary
  tokens, [SEG] and <|im_end|> only.
A = 3 x the embedding std, B = 3 x lm_head std x sqrt(D): the flagged logit is about 3x the largest
random one. The two residues were picked (by running the golden cases of tools/make_golden.py over
candidate residues with the tiny tokenizer and seed 0) so that every golden case says [SEG] at least
twice and one case stops on <|im_end|> before max_new_tokens; make_golden.py checks both, so a
change of the tokenizer or of the initialisation that breaks this fails loudly. Everything else
stays as drawn from the seed; images still change the generation through
the vision rows in the prompt and the <REGION> rows fed after each [SEG].
"""
import argparse
import json
import os
import subprocess
import sys

import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

from terrascope_ref.model import TerraScope, TerraScopeConfig  # noqa: E402
from terrascope_ref import safetensors_io  # noqa: E402

TILE_SIZE = 112
SEG_TRIGGER_MOD, SEG_TRIGGER_REM = 11, 3
END_TRIGGER_MOD, END_TRIGGER_REM = 10, 4
CACHE_LEN = 2048


def tiny_config(vocab_size):
    cfg = TerraScopeConfig.tiny()
    cfg.vision.image_size = TILE_SIZE
    cfg.llm.vocab_size = int(vocab_size)
    return cfg


def make_tokenizer(path):
    # TERRASCOPE_TINY_TOKENIZER_TOOL: another generator with the same CLI (for debugging only).
    tool = os.environ.get("TERRASCOPE_TINY_TOKENIZER_TOOL",
                          os.path.join(TOOLS, "make_tiny_tokenizer.py"))
    subprocess.run([sys.executable, tool, "--out", path], check=True)


def added_token_ids(tokenizer_json):
    with open(tokenizer_json, "r", encoding="utf-8") as f:
        data = json.load(f)
    return {t["content"]: int(t["id"]) for t in data.get("added_tokens", [])}, data


def vocab_size_of(tokenizer_json):
    added, data = added_token_ids(tokenizer_json)
    ids = list(data["model"]["vocab"].values()) + list(added.values())
    return max(ids) + 1


def steer(state, cfg, added, seg_trigger_rule=(SEG_TRIGGER_MOD, SEG_TRIGGER_REM),
          end_trigger_rule=(END_TRIGGER_MOD, END_TRIGGER_REM)):
    """Shape the random weights as described in the module docstring (in place on `state`)."""
    d = cfg.llm.hidden_size
    f_seg, f_end = d - 2, d - 1
    seg_id, end_id = added["[SEG]"], added["<|im_end|>"]
    special = torch.zeros(cfg.llm.vocab_size, dtype=torch.bool)
    special[list(added.values())] = True
    ids = torch.arange(cfg.llm.vocab_size)
    seg_trigger = (ids % seg_trigger_rule[0] == seg_trigger_rule[1]) & ~special
    end_trigger = (ids % end_trigger_rule[0] == end_trigger_rule[1]) & ~special & ~seg_trigger

    embed = state["language_model.model.embed_tokens.weight"]
    head = state["language_model.lm_head.weight"]
    a = 3.0 * float(embed.std())
    b = 3.0 * float(head.std()) * d ** 0.5
    embed[:, [f_seg, f_end]] = 0.0
    embed[seg_trigger, f_seg] = a
    embed[end_trigger, f_end] = a
    for i in range(cfg.llm.num_hidden_layers):
        prefix = f"language_model.model.layers.{i}."
        state[prefix + "self_attn.o_proj.weight"][[f_seg, f_end]] = 0.0
        state[prefix + "mlp.down_proj.weight"][[f_seg, f_end]] = 0.0
    state["mlp1.3.weight"][[f_seg, f_end]] = 0.0
    state["mlp1.3.bias"][[f_seg, f_end]] = 0.0
    head[special] = 0.0
    head[seg_id, f_seg] = b
    head[end_id, f_end] = b
    return state


def write_checkpoint(ckpt_dir, cfg, state, tokenizer_json):
    os.makedirs(ckpt_dir, exist_ok=True)
    config = cfg.to_checkpoint_config()
    with open(os.path.join(ckpt_dir, "config.json"), "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    safetensors_io.save_file({k: v.contiguous() for k, v in state.items()},
                             os.path.join(ckpt_dir, "model.safetensors"),
                             metadata={"format": "pt"})
    target = os.path.join(ckpt_dir, "tokenizer.json")
    if os.path.abspath(target) != os.path.abspath(tokenizer_json):
        with open(tokenizer_json, "rb") as src, open(target, "wb") as dst:
            dst.write(src.read())


def make_checkpoint(seed, ckpt_dir):
    os.makedirs(ckpt_dir, exist_ok=True)
    tokenizer_json = os.path.join(ckpt_dir, "tokenizer.json")
    make_tokenizer(tokenizer_json)
    added, _ = added_token_ids(tokenizer_json)
    for needed in ("[SEG]", "<|im_end|>", "<REGION>", "<IMG_CONTEXT>"):
        if needed not in added:
            raise SystemExit(f"{tokenizer_json}: the tiny tokenizer lacks {needed}")
    cfg = tiny_config(vocab_size_of(tokenizer_json))
    torch.manual_seed(seed)
    model = TerraScope(cfg).eval()
    state = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    steer(state, cfg, added)
    write_checkpoint(ckpt_dir, cfg, state, tokenizer_json)
    return ckpt_dir


def export(ckpt_dir, out_dir, seed):
    subprocess.run([sys.executable, os.path.join(TOOLS, "export.py"), "--checkpoint", ckpt_dir,
                    "--out", out_dir, "--dtype", "fp32", "--cache-len", str(CACHE_LEN),
                    "--name", f"terrascope-tiny-random-s{seed}",
                    "--source", f"tools/make_tiny_bundle.py --seed {seed} (random weights)"],
                   check=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="bundle directory to write")
    parser.add_argument("--checkpoint",
                        help="where to keep the checkpoint (default OUT.checkpoint)")
    args = parser.parse_args(argv)
    ckpt_dir = args.checkpoint or os.path.normpath(args.out) + ".checkpoint"
    make_checkpoint(args.seed, ckpt_dir)
    export(ckpt_dir, args.out, args.seed)
    print(f"tiny bundle (seed {args.seed}): {args.out} (checkpoint {ckpt_dir})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
