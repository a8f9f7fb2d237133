#!/usr/bin/env python3
"""The performance baseline: the Python reference loop run the way the release runs it.

    baseline_loop.py --bundle DIR --checkpoint DIR --image PNG [--question TEXT ...]
                     [--questions N] [--reps N] [--warmup N] [--max-new-tokens N]

What "as the release runs it" means here (release `Sa2VAChatModel.predict_forward_with_grounding`,
`projects/terrascope/hf/models/modeling_sa2va_chat.py`):
- eager PyTorch modules (`terrascope_ref.model.TerraScope` loaded from the checkpoint in the
  released layout, not the exported TorchScript bundle), fp32 on the CPU;
- SAM-2 image features recomputed at every [SEG] (`loop.run(recompute_sam_per_seg=True)`: the
  release calls `grounding_encoder` on the image inside its [SEG] branch);
- nothing reused between questions: every question preprocesses the image, runs the vision
  encoder, builds and prefills its whole prompt on a fresh KV cache.
- attention over the positions written so far only: the release's Hugging Face Qwen2 keeps a
  dynamic KV cache (`past_key_values` grows with every token), so its attention never touches
  unwritten positions. The reference's static-cache step attends over `cache.size(3)` slots, so
  each step here gets the cache narrowed to `start + L` slots (`ReleaseLikeModules`); the results
  are the same (masked slots add exact zeros), without the cost of the unused slots. The dynamic
  cache's own cost (a `torch.cat` of K/V at every step) is not charged, in the baseline's favour.
One thing is deliberately NOT like the release, in the baseline's favour: the release tokenizes
with Hugging Face's Rust tokenizer, whose cost is negligible; our Python tokenizer is a slow oracle,
so its encode/decode results are memoised after the warm-up and cost ~nothing in timed runs.

Prints one JSON object: per repetition the seconds (wall and process CPU) of each question and of
the whole set, the answers' output ids (so a benchmark script can check the engine answered the
same), and medians.
Model loading is timed separately (`load_s`) and not counted in the question times.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

TOOLS = os.path.dirname(os.path.abspath(__file__))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)

import torch  # noqa: E402
from PIL import Image  # noqa: E402

from terrascope_ref import loop  # noqa: E402
from terrascope_ref.bundle import read_manifest  # noqa: E402
from terrascope_ref.model import TerraScope, TerraScopeConfig  # noqa: E402
from terrascope_ref.safetensors_io import load_file  # noqa: E402
from terrascope_ref.tokenizer import Tokenizer  # noqa: E402

# The questions after the first (--question) of a run of N questions on one scene, cycling; the
# same list as `terrascope perf` (src/cli/perf.cpp), so both answer the same questions.
MORE_QUESTIONS = [
    "Which land cover dominates the scene?",
    "Where are the built-up areas?",
    "How much of the scene is vegetation?",
    "Is there a river in the scene?",
    "Which part of the scene is cropland?",
    "Are there clouds over the scene?",
    "What is the largest object in the scene?",
]


class MemoTokenizer:
    """Memoises encode/decode of the Python oracle tokenizer (see the module docstring)."""

    def __init__(self, inner):
        self.inner = inner
        self.encoded, self.decoded = {}, {}

    def encode(self, text, allow_special=True):
        key = (text, allow_special)
        if key not in self.encoded:
            self.encoded[key] = self.inner.encode(text, allow_special=allow_special)
        return list(self.encoded[key])

    def decode(self, ids, *args, **kwargs):
        key = (tuple(ids), args, tuple(sorted(kwargs.items())))
        if key not in self.decoded:
            self.decoded[key] = self.inner.decode(ids, *args, **kwargs)
        return self.decoded[key]

    def __getattr__(self, name):
        return getattr(self.inner, name)


class ReleaseLikeModules(loop.EagerModules):
    """The eager modules with the attention of a dynamic KV cache (see the module docstring):
    every step attends over the slots written so far, `start + L`, not the whole static cache."""

    def step(self, embeds, start, cache):
        end = int(start.reshape(-1)[0]) + embeds.shape[0]
        return super().step(embeds, start, cache.narrow(3, 0, end))


def token_ids(manifest, tokenizer):
    tokens = manifest["tokens"]
    ids = {key: tokenizer.token_to_id(tokens[key]) for key in ("img_context", "seg", "region")}
    ids["stop"] = [tokenizer.token_to_id(text) for text in tokens["stop"]]
    return ids


def load(bundle_dir, checkpoint_dir):
    manifest = read_manifest(bundle_dir)
    with open(os.path.join(checkpoint_dir, "config.json"), encoding="utf-8") as f:
        cfg = TerraScopeConfig.from_checkpoint_config(json.load(f))
    model = TerraScope(cfg)
    model.load_state_dict(load_file(os.path.join(checkpoint_dir, "model.safetensors")),
                          strict=True)
    spec = loop.ModelSpec.from_manifest(manifest)
    modules = ReleaseLikeModules(model.eval(), spec.cache_shape[3], spec.dtype)
    tokenizer = Tokenizer.from_file(os.path.join(bundle_dir, manifest["tokenizer"]["file"]))
    return manifest, spec, modules, tokenizer


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", required=True, help="bundle directory (manifest, tokenizer)")
    parser.add_argument("--checkpoint", required=True, help="checkpoint in the released layout")
    parser.add_argument("--image", required=True, help="RGB image (PNG/JPEG)")
    parser.add_argument("--question", default="What share of the scene is covered by water?",
                        help="the first question (the others: MORE_QUESTIONS)")
    parser.add_argument("--options", nargs="*", default=[],
                        help="multiple-choice options of every question (lettered A, B, ...)")
    parser.add_argument("--questions", type=int, default=1, help="questions per set (default 1)")
    parser.add_argument("--max-seg-rounds", type=int, default=0,
                        help="[SEG] rounds at most (default: the manifest's)")
    parser.add_argument("--reps", type=int, default=3, help="timed repetitions of the set")
    parser.add_argument("--warmup", type=int, default=1, help="untimed repetitions first")
    parser.add_argument("--max-new-tokens", type=int, default=0,
                        help="limit (default: the manifest's)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    manifest, spec, modules, tokenizer = load(args.bundle, args.checkpoint)
    ids = token_ids(manifest, tokenizer)
    load_s = time.perf_counter() - t0
    tokenizer = MemoTokenizer(tokenizer)
    max_new = args.max_new_tokens or manifest.get("generation", {}).get("max_new_tokens", 8192)
    if args.max_seg_rounds > 0:
        spec.max_seg_rounds = args.max_seg_rounds
    questions = [args.question] + [MORE_QUESTIONS[i % len(MORE_QUESTIONS)]
                                   for i in range(args.questions - 1)]
    options = {chr(ord("A") + i): text for i, text in enumerate(args.options)} or None
    image = Image.open(args.image).convert("RGB")

    def ask(question):
        start = time.perf_counter()
        cpu_start = time.process_time()
        # A fresh image object per question, as a new request of the release would bring.
        result = loop.run(modules, spec, tokenizer, ids, [image.copy()], question, options,
                          max_new_tokens=max_new, recompute_sam_per_seg=True)
        return time.perf_counter() - start, time.process_time() - cpu_start, result

    reps = []
    for rep in range(args.warmup + args.reps):
        set_start, set_cpu = time.perf_counter(), time.process_time()
        answers = [ask(q) for q in questions]
        set_s, set_cpu = time.perf_counter() - set_start, time.process_time() - set_cpu
        if rep >= args.warmup:
            reps.append({"set_s": set_s, "set_cpu_s": set_cpu,
                         "question_s": [s for s, _, _ in answers],
                         "question_cpu_s": [c for _, c, _ in answers]})
    last = [r for _, _, r in answers]
    out = {
        "engine": "python-baseline",
        "bundle": args.bundle,
        "image": args.image,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "load_s": load_s,
        "questions": questions,
        "reps": reps,
        "median_set_s": statistics.median(r["set_s"] for r in reps),
        "median_set_cpu_s": statistics.median(r["set_cpu_s"] for r in reps),
        "median_first_question_s": statistics.median(r["question_s"][0] for r in reps),
        "median_first_question_cpu_s": statistics.median(r["question_cpu_s"][0] for r in reps),
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
        "answers": [{"output_ids": r.output_ids, "segs": len(r.segs), "text": r.text,
                     "stop": r.stop_reason} for r in last],
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
