#!/usr/bin/env python3
"""Train terrascope-tiny: the reference TerraScope at a small configuration, on synthetic
Terra-CoT (tools/synth, training seeds >= 1,000,000), on CPU.

    train_tiny.py --out models/terrascope-tiny [--stage sam|joint] [--steps N] [--batch B]
                  [--fresh F] [--lr LR] [--max-minutes M] [--seed S] [--threads 2]

scripts/train_tiny.sh runs the two stages that made the committed weights (TRAINING.md), with
tools/onednn_sgemm.c preloaded (Debian's torch multiplies through the reference BLAS).

What it does (tools/terrascope_ref/train_losses.py has the sequence layout and the losses):
1. a byte-level BPE tokenizer with Qwen2's structure and every special token, its merges learnt
   (tools/make_tiny_tokenizer.py's trainer) over the release's instruction and the prompts and
   reasoning of the first training samples;
2. the model: 112 px tiles, patch 14 -> 16 tokens per tile; InternViT 64 x 2 layers; Qwen2
   96 hidden x 3 layers (4 heads, 2 KV heads); SAM-2 at 128 px (Hiera 16 wide, d_model 64);
3. AdamW, linear warm-up then cosine decay over --steps, batches of --batch examples: --fresh
   new ones (sample i of step s is training sample first + s*fresh + i) and the rest drawn again
   from the last --replay-size (a seeded generator: the run is a pure function of the arguments,
   up to the BLAS's summation order), LM loss + BCE/Dice mask loss through the [SEG] path with
   <REGION> injection; --stage sam trains SAM-2 alone first (train_losses.sam_stage_losses);
4. the checkpoint in the released layout (config.json, model.safetensors, tokenizer.json) at the
   end and every --save-every steps; --max-minutes stops early (cleanly, saving) and says so.
"""

import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import regex
import torch

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import make_tiny_tokenizer  # noqa: E402
from make_tiny_bundle import write_checkpoint  # noqa: E402
from synth import records, scenes  # noqa: E402
from terrascope_ref import prompt as prompt_mod  # noqa: E402
from terrascope_ref.intern_vit import InternVisionConfig  # noqa: E402
from terrascope_ref.model import TerraScope, TerraScopeConfig  # noqa: E402
from terrascope_ref.qwen2 import Qwen2Config  # noqa: E402
from terrascope_ref.safetensors_io import load_file  # noqa: E402
from terrascope_ref.sam2 import Sam2Config  # noqa: E402
from terrascope_ref.tokenizer import Tokenizer  # noqa: E402
from terrascope_ref.train_losses import (NUM_LAND_COVER, NUM_MASK_KINDS, Layout,  # noqa: E402
                                         batch_losses, make_example, sam_stage_losses)

TILE_SIZE = 112
SAM_IMAGE_SIZE = 128
TOKENIZER_SAMPLES = 400
TOKENIZER_MERGES = 1000
JITTER_SEED = 0x717


def tokenizer_corpus(n_samples):
    """The text the tokenizer's merges are learnt from: the instruction (weighted, it is in every
    prompt) and the prompts and reasoning of the first training samples."""
    parts = [prompt_mod.INSTRUCTION] * 50
    parts.append(prompt_mod.TEMPLATE)
    for i in range(n_samples):
        s = records.train_sample(i)
        parts.append(s["prompt"])
        parts.append(s["cot"])
    return "\n".join(parts)


def build_tokenizer(path, n_samples=TOKENIZER_SAMPLES, merges=TOKENIZER_MERGES):
    # build_tokenizer_json learns over the module's CORPUS; ours replaces it for this call.
    saved = make_tiny_tokenizer.CORPUS
    make_tiny_tokenizer.CORPUS = tokenizer_corpus(n_samples)
    try:
        doc = make_tiny_tokenizer.build_tokenizer_json(merges)
    finally:
        make_tiny_tokenizer.CORPUS = saved
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    ids = list(doc["model"]["vocab"].values()) + [t["id"] for t in doc["added_tokens"]]
    return max(ids) + 1


def tiny_config(vocab_size):
    vision = InternVisionConfig(image_size=TILE_SIZE, patch_size=14, hidden_size=64,
                                intermediate_size=128, num_attention_heads=4,
                                num_hidden_layers=2)
    llm = Qwen2Config(vocab_size=int(vocab_size), hidden_size=96, intermediate_size=256,
                      num_hidden_layers=3, num_attention_heads=4, num_key_value_heads=2,
                      rope_theta=1000000.0, max_position_embeddings=4096)
    sam = Sam2Config(image_size=SAM_IMAGE_SIZE, embed_dim=16, num_heads=1, stages=(1, 2, 1, 1),
                     global_att_blocks=(2,), window_spec=(8, 4, 4, 2), d_model=64,
                     decoder_num_heads=4, decoder_mlp_dim=128, iou_head_hidden_dim=32)
    return TerraScopeConfig(vision=vision, llm=llm, sam=sam)


class SampleSet(torch.utils.data.Dataset):
    """Training example i = make_example(records.train_sample(first + i)); with probability
    `jitter` its optical frames first go through scenes.photometric_jitter (seeded by i)."""

    def __init__(self, layout, length, first=0, jitter=0.0):
        self.layout = layout
        self.length = length
        self.first = first
        self.jitter = jitter

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        index = self.first + int(i)
        sample = records.train_sample(index)
        if self.jitter:
            rng = np.random.default_rng([JITTER_SEED, index])
            if rng.random() < self.jitter:
                if sample["frames"] is not None:
                    sample["frames"] = scenes.photometric_jitter(rng, sample["frames"])
                else:
                    sample["optical"] = scenes.photometric_jitter(rng, [sample["optical"]])[0]
        return make_example(sample, self.layout)


class Replay:
    """The last `size` training examples; `batch(fresh, n)` returns the fresh examples plus
    n - len(fresh) drawn (uniformly, with replacement, from a seeded generator) from the memory,
    which the fresh ones enter first. With n == len(fresh) it is the identity."""

    def __init__(self, size, seed):
        self.size = max(1, int(size))
        self.memory = []
        self.next = 0
        self.rng = random.Random(seed)

    def batch(self, fresh, n):
        for e in fresh:
            if len(self.memory) < self.size:
                self.memory.append(e)
            else:
                self.memory[self.next] = e
                self.next = (self.next + 1) % self.size
        extra = [self.memory[self.rng.randrange(len(self.memory))]
                 for _ in range(n - len(fresh))]
        return list(fresh) + extra


def lr_at(step, steps, lr, warmup):
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return lr * (0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress))))


def save(model, cfg, out, tokenizer_json, kind_table=None):
    """The checkpoint; with `kind_table` (a sam stage) also OUT/mask_kinds.pt for --kinds."""
    state = {k: v.detach().clone().float() for k, v in model.state_dict().items()}
    write_checkpoint(out, cfg, state, tokenizer_json)
    if kind_table is not None:
        torch.save(kind_table.detach().clone(), os.path.join(out, "mask_kinds.pt"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="checkpoint directory to write")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--weight-decay", type=float, default=0.01)
    parser.add_argument("--sam-lr-scale", type=float, default=1.0 / 3.0)
    parser.add_argument("--mask-weight", type=float, default=1.0)
    parser.add_argument("--answer-weight", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (1: on a shared, loaded CPU, 2 threads spin and lose)")
    parser.add_argument("--workers", type=int, default=1, help="data loader processes")
    parser.add_argument("--fresh", type=int, default=0,
                        help="new samples per step (0: --batch); the rest of each batch is drawn "
                        "again from the last --replay-size samples (generating a scene costs "
                        "more CPU than training on it)")
    parser.add_argument("--replay-size", type=int, default=2048)
    parser.add_argument("--max-minutes", type=float, default=0.0,
                        help="stop (and save) after this wall time; 0: no limit")
    parser.add_argument("--log-every", type=int, default=20)
    parser.add_argument("--save-every", type=int, default=200)
    parser.add_argument("--stop-at", type=int, default=0,
                        help="stop after this step (the schedule still spans --steps)")
    parser.add_argument("--init-from", help="start from this checkpoint's weights")
    parser.add_argument("--train-only", help="comma-separated parameter-name prefixes to train "
                        "(the rest frozen), e.g. grounding_encoder.,text_hidden_fcs.")
    parser.add_argument("--reinit", help="comma-separated parameter-name prefixes to re-initialise "
                        "after --init-from (fresh weights of --seed), e.g. grounding_encoder.")
    parser.add_argument("--pos-weight", type=float, default=1.0,
                        help="weight of the positive term of the mask BCE")
    parser.add_argument("--jitter", type=float, default=0.0,
                        help="share of training samples whose optical colours are randomised "
                             "(scenes.photometric_jitter)")
    parser.add_argument("--first-sample", type=int, default=0,
                        help="training sample index of the first example")
    parser.add_argument("--log", help="also append the log lines to this file")
    parser.add_argument("--stage", choices=("joint", "sam"), default="joint",
                        help="sam: SAM-2 alone, prompted by a learnt embedding per mask kind "
                        "(saved as OUT/mask_kinds.pt); joint: the whole model")
    parser.add_argument("--kinds", help="mask_kinds.pt of a sam stage: text_hidden_fcs at each "
                        "[SEG] is pulled towards its kind's embedding (--align-weight)")
    parser.add_argument("--align-weight", type=float, default=1.0)
    parser.add_argument("--probe-weight", type=float, default=0.0,
                        help="weight of a linear probe's cross-entropy from each vision row to "
                        "the class shares under it (the probe is dropped after training)")
    parser.add_argument("--count-probe-weight", type=float, default=0.0,
                        help="weight of a linear probe's MSE from the vision rows of building-change "
                        "pairs to the roofs and rubble patches under them (dropped afterwards)")
    parser.add_argument("--lot-probe-weight", type=float, default=0.0,
                        help="weight of a linear probe's cross-entropy from each vision row to the "
                        "row and column of its token (dropped after training)")
    parser.add_argument("--distance-probe-weight", type=float, default=0.0,
                        help="weight of a linear probe's MSE from the vision rows of distance "
                        "questions to the class-to-class distances under each row (dropped "
                        "afterwards)")
    parser.add_argument("--tail-weight", type=float, default=1.0,
                        help="loss weight of the reasoning's last sentence (the finding)")
    parser.add_argument("--freeze", help="comma-separated parameter-name prefixes to freeze")
    parser.add_argument("--sam-frozen-steps", type=int, default=0,
                        help="SAM-2 learns only from this step on (a trained SAM-2 is not pulled "
                        "towards the untrained LLM's first [SEG] states)")
    args = parser.parse_args(argv)

    t0 = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    np.random.seed(args.seed)
    log_file = open(args.log, "a", encoding="utf-8") if args.log else None

    def log(msg):
        line = f"[{time.time() - t0:7.1f}s] {msg}"
        print(line, flush=True)
        if log_file:
            log_file.write(line + "\n")
            log_file.flush()

    os.makedirs(args.out, exist_ok=True)
    tokenizer_json = os.path.join(args.out, "tokenizer.json")
    vocab = build_tokenizer(tokenizer_json)
    tokenizer = Tokenizer.from_file(tokenizer_json)
    cfg = tiny_config(vocab)
    model = TerraScope(cfg)
    if args.init_from:
        state = load_file(os.path.join(args.init_from, "model.safetensors"))
        model.load_state_dict(state, strict=True)
        log(f"initialised from {args.init_from}")
    if args.reinit:
        fresh = TerraScope(cfg).state_dict()
        prefixes = tuple(args.reinit.split(","))
        state = model.state_dict()
        names = [k for k in state if k.startswith(prefixes)]
        model.load_state_dict({**state, **{k: fresh[k] for k in names}}, strict=True)
        log(f"re-initialised {len(names)} tensors under {args.reinit}")
    if args.stage == "sam" and not args.train_only:
        args.train_only = "grounding_encoder."
    if args.train_only:
        prefixes = tuple(args.train_only.split(","))
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith(prefixes))
    if args.freeze:
        prefixes = tuple(args.freeze.split(","))
        for name, p in model.named_parameters():
            if name.startswith(prefixes):
                p.requires_grad_(False)
    extra = []  # trained alongside the model, not part of the checkpoint
    kind_table, probe, count_probe, distance_probe, lot_probe = None, None, None, None, None
    lang_dim = model.text_hidden_fcs[2].out_features
    if args.stage == "sam":
        kind_table = torch.nn.Parameter(torch.randn(NUM_MASK_KINDS, lang_dim) * 0.5)
        extra.append(kind_table)
    elif args.kinds:
        kind_table = torch.load(args.kinds)
        log(f"mask-kind embeddings from {args.kinds}: {tuple(kind_table.shape)}")
    if args.stage == "joint" and args.probe_weight:
        probe = torch.nn.Linear(cfg.llm.hidden_size, NUM_LAND_COVER)
        extra += list(probe.parameters())
    if args.stage == "joint" and args.count_probe_weight:
        count_probe = torch.nn.Linear(cfg.llm.hidden_size, 2)
        extra += list(count_probe.parameters())
    if args.stage == "joint" and args.lot_probe_weight:
        side = int(round(cfg.tokens_per_tile ** 0.5))
        lot_probe = torch.nn.Linear(cfg.llm.hidden_size, 2 * side)
        extra += list(lot_probe.parameters())
    if args.stage == "joint" and args.distance_probe_weight:
        distance_probe = torch.nn.Linear(cfg.llm.hidden_size, NUM_LAND_COVER ** 2)
        extra += list(distance_probe.parameters())
    n_params = sum(p.numel() for p in model.parameters())
    log(f"tokenizer: vocab {vocab}; model: {n_params} parameters; args {vars(args)}")
    layout = Layout(tokenizer, cfg.tile_size, cfg.tokens_per_tile, SAM_IMAGE_SIZE)

    # SAM-2 learns at --sam-lr-scale x --lr: at 3e-3 its masks stay empty (measured: IoU 0 after
    # 120 steps with an oracle class embedding; 0.34 after 70 steps at 1e-3).
    groups = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        wd = 0.0 if p.dim() < 2 or "norm" in name or "embed" in name else args.weight_decay
        sam = name.startswith("grounding_encoder.")
        scale = args.sam_lr_scale if sam else 1.0
        groups.setdefault((wd, scale, sam), []).append(p)
    param_groups = [{"params": ps, "weight_decay": wd, "lr_scale": scale, "sam": sam}
                    for (wd, scale, sam), ps in sorted(groups.items())]
    if extra:
        param_groups.append({"params": extra, "weight_decay": 0.0, "lr_scale": 1.0})
    opt = torch.optim.AdamW(param_groups, lr=args.lr, betas=(0.9, 0.98), eps=1e-8)
    fresh = args.fresh or args.batch
    if not 0 < fresh <= args.batch:
        parser.error(f"--fresh {args.fresh}: must be between 1 and --batch ({args.batch})")
    data = SampleSet(layout, args.steps * fresh, args.first_sample, args.jitter)
    replay = Replay(args.replay_size, args.seed)
    loader = torch.utils.data.DataLoader(data, batch_size=fresh, shuffle=False,
                                         num_workers=args.workers, collate_fn=list,
                                         prefetch_factor=4 if args.workers else 2)
    saved_kinds = kind_table if args.stage == "sam" else None  # written beside each checkpoint
    model.train()
    sums = {}
    stopped = "steps"
    step = 0
    for step, batch in enumerate(loader):
        batch = replay.batch(batch, args.batch)
        for group in opt.param_groups:
            scale = group["lr_scale"]
            if group.get("sam") and step < args.sam_frozen_steps:
                scale = 0.0
            group["lr"] = scale * lr_at(step, args.steps, args.lr, args.warmup)
        if args.stage == "sam":
            out = sam_stage_losses(model, batch, kind_table, pos_weight=args.pos_weight)
        else:
            out = batch_losses(model, batch, mask_weight=args.mask_weight,
                               answer_weight=args.answer_weight, pos_weight=args.pos_weight,
                               tail_weight=args.tail_weight, kind_table=kind_table,
                               align_weight=args.align_weight, probe=probe,
                               probe_weight=args.probe_weight, count_probe=count_probe,
                               count_probe_weight=args.count_probe_weight,
                               distance_probe=distance_probe,
                               distance_probe_weight=args.distance_probe_weight,
                               lot_probe=lot_probe, lot_probe_weight=args.lot_probe_weight)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_([p for p in model.parameters() if p.requires_grad] + extra,
                                       1.0)
        opt.step()
        for k, v in out.items():  # some terms (count) exist only in some batches
            total, n = sums.get(k, (0.0, 0))
            sums[k] = (total + float(v), n + 1)
        if (step + 1) % args.log_every == 0 or step == 0:
            means = " ".join(f"{k} {total / n:.4f}" for k, (total, n) in sums.items())
            log(f"step {step + 1}/{args.steps} lr {lr_at(step, args.steps, args.lr, args.warmup):.2e} {means}")
            sums = {}
        if (step + 1) % args.save_every == 0:
            save(model, cfg, args.out, tokenizer_json, saved_kinds)
        if args.stop_at and step + 1 >= args.stop_at:
            stopped = f"stop-at {args.stop_at}"
            break
        if args.max_minutes and time.time() - t0 > args.max_minutes * 60:
            stopped = f"max-minutes {args.max_minutes}"
            break
    save(model, cfg, args.out, tokenizer_json, saved_kinds)
    log(f"done: {step + 1} steps ({stopped}), {(time.time() - t0) / 60:.1f} min; "
        f"checkpoint {args.out}")
    if log_file:
        log_file.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
