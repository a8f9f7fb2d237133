#!/usr/bin/env python3
"""Writes a tiny byte-level BPE tokenizer.json with the structure of Qwen2's, for test bundles.

Same normaliser (NFC), pre-tokenizer (Qwen2's Split regex, Isolated, then ByteLevel), decoder
(ByteLevel) and model fields as the real Qwen2 tokenizer.json; the vocabulary is all 256 byte tokens
(ids 0..255 in GPT-2's order, as Qwen2) plus merges learnt here by a small deterministic BPE trainer
over a built-in English corpus about satellite scenes, then the added tokens of Qwen2, InternVL and
TerraScope (TERRASCOPE.md, "Tokens and prompt"). The output is the same bytes on every run.

Usage: make_tiny_tokenizer.py --out DIR/tokenizer.json [--merges N]
"""

import argparse
import collections
import json
import os
import sys

import regex

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from terrascope_ref.tokenizer import BYTE_TO_CHAR  # noqa: E402

# Qwen2's pre-tokenizer regex (transformers' tokenization_qwen2.py PRETOKENIZE_REGEX).
QWEN2_SPLIT_REGEX = (r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}|"""
                     r""" ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+""")

# (content, special), in id order after the learnt vocabulary.
QWEN2_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
INTERNVL_TOKENS = ["<img>", "</img>", "<IMG_CONTEXT>", "<quad>", "</quad>", "<ref>", "</ref>",
                   "<box>", "</box>"]
TERRASCOPE_TOKENS = ["<think>", "</think>", "<answer>", "</answer>", "[SEG]", "<REGION>", "<p>",
                     "</p>", "<vp>", "</vp>", "<|end|>"]
ADDED_TOKENS = QWEN2_TOKENS + INTERNVL_TOKENS + TERRASCOPE_TOKENS

DEFAULT_MERGES = 600

CORPUS = """\
The image shows a river flowing through farmland, with a small town on the northern bank.
The satellite scene covers an agricultural area with fields, forest, water and buildings.
What percentage of the image is covered by water? A. 12% B. 23% C. 35% D. 47%
What percentage of the image is covered by forest? A. 8% B. 16% C. 31% D. 54%
What is the area of the cropland in square metres? A. 120,000 m² B. 245,600 m² C. 1,234,567 m²
Is the forest adjacent to the river? A. Yes B. No
Is the water body larger than the built-up area? A. Yes B. No
Which land cover class covers the largest area in the image? A. Water B. Forest C. Cropland D. Urban
How many buildings were destroyed after the flood? A. 3 B. 7 C. 12 D. 25
How many buildings are damaged in the post-disaster image compared with the pre-disaster image?
Has the extent of the lake changed between the two images? A. Yes, it grew B. Yes, it shrank C. No
The Sentinel-2 image has a resolution of 10 m per pixel; each pixel covers 100 m².
The Sentinel-1 SAR image shows VV and VH backscatter in dB; water appears dark, buildings bright.
The optical image is cloudy, so the SAR image is used to find the flooded area.
Land cover classes: water, forest, grassland, cropland, wetland, shrubland, bare soil, urban, snow.
The urban area is in the centre of the scene, surrounded by cropland and grassland.
The river runs from the north-west corner to the south-east corner of the image.
A road crosses the river on a bridge near the harbour, and a railway follows the coast.
The reservoir in the east of the image is surrounded by forest and a few farms.
Buildings in the residential area are small; industrial buildings near the port are large.
The flood covered the fields south of the river and damaged about 40 buildings.
Total area: 2,500,000 m² (250 ha); water: 575,000 m² (23%); forest: 800,000 m² (32%).
Coverage: water 23.0%, forest 32.0%, cropland 28.5%, urban 11.5%, other 5.0%.
The scene is 512 x 512 pixels, 5.12 km x 5.12 km, acquired on 2021-07-14 at 10:35 UTC.
The bounding box is [120, 45, 388, 301] and the centre of the mask is at (254, 173).
<think>To answer the question, I first find the water in the image [SEG]<REGION><REGION><REGION>.
The water covers the river and the lake, about 23% of the valid pixels. The forest [SEG]<REGION>
covers about 32%, so the water area is smaller than the forest area.</think><answer> B </answer>
<think>The buildings before the disaster [SEG]<REGION><REGION> and after it [SEG]<REGION> show that
seven buildings in the north of the town were destroyed.</think><answer> B </answer>
<think>The cropland [SEG]<REGION><REGION><REGION><REGION> touches the river [SEG]<REGION> along its
southern edge, so they are adjacent.</think><answer> A </answer>
<think>The lake [SEG]<REGION> in the first image is larger than the lake [SEG]<REGION> in the second
image, so the water area shrank between the two dates.</think><answer> B </answer>
A conversation between User and Assistant. The user asks a question, and the Assistant solves it.
The Assistant first thinks about the reasoning process in the mind and then provides the user with
the answer. The reasoning process and answer are enclosed within <think> </think> and <answer>
</answer> tags, respectively.
<|im_start|>user
<img><IMG_CONTEXT></img>
Please segment the water in this image.<|im_end|>
<|im_start|>assistant
Sure, the water is [SEG].<|im_end|>
The answer is B. The answer is A. The correct option is C. The area is about 1.5 km².
There are 3 lakes, 2 rivers, 14 buildings and 1 harbour in the image.
Numbers: 0 1 2 3 4 5 6 7 8 9 10 11 12 20 25 30 40 50 64 75 100 128 256 448 512 1000 1024 2048.
The water, the forest, the fields, the buildings, the roads and the river are visible.
The forest in the west of the image is dense; the grassland in the south is sparse.
The image was taken by the satellite in summer, and the fields are green; in winter they are brown.
"""


def pre_tokenize(text, split_regex):
    """Pieces of the corpus as the tokenizer will see them: added tokens removed, NFC, regex split."""
    added = regex.compile("|".join(regex.escape(t) for t in sorted(ADDED_TOKENS, key=len,
                                                                      reverse=True)))
    words = []
    for piece in added.split(text):
        words.extend(m.group() for m in split_regex.finditer(piece) if m.group())
    return words


def train_merges(words, num_merges):
    """Plain BPE training: repeatedly merge the most frequent adjacent pair (ties: the smallest pair
    in string order), counting only pairs seen at least twice. Deterministic by construction."""
    counts = collections.Counter(tuple(BYTE_TO_CHAR[b] for b in w.encode("utf-8")) for w in words)
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for symbols, count in counts.items():
            for pair in zip(symbols, symbols[1:]):
                pairs[pair] += count
        if not pairs:
            break
        best = min(pairs, key=lambda p: (-pairs[p], p))
        if pairs[best] < 2:
            break
        merges.append(best)
        merged = collections.Counter()
        for symbols, count in counts.items():
            out = []
            i = 0
            while i < len(symbols):
                if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == best:
                    out.append(symbols[i] + symbols[i + 1])
                    i += 2
                else:
                    out.append(symbols[i])
                    i += 1
            merged[tuple(out)] += count
        counts = merged
    return merges


def build_tokenizer_json(num_merges=DEFAULT_MERGES):
    """The tokenizer.json document (a dict in the key order Hugging Face tokenizers writes)."""
    merges = train_merges(pre_tokenize(CORPUS, regex.compile(QWEN2_SPLIT_REGEX)), num_merges)
    vocab = {}
    for byte in sorted(BYTE_TO_CHAR, key=lambda b: ord(BYTE_TO_CHAR[b])):  # GPT-2 / Qwen2 order
        vocab[BYTE_TO_CHAR[byte]] = len(vocab)
    for left, right in merges:
        vocab.setdefault(left + right, len(vocab))
    added_tokens = []
    for content in ADDED_TOKENS:
        added_tokens.append({"id": len(vocab) + len(added_tokens), "content": content,
                             "single_word": False, "lstrip": False, "rstrip": False,
                             "normalized": False, "special": True})
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added_tokens,
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_SPLIT_REGEX}, "behavior": "Isolated",
             "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True,
             "use_regex": False}]},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                    "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None,
                  "continuing_subword_prefix": None, "end_of_word_suffix": None,
                  "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [[left, right] for left, right in merges]},
    }


def tokenizer_json_text(num_merges=DEFAULT_MERGES):
    return json.dumps(build_tokenizer_json(num_merges), ensure_ascii=False, indent=2) + "\n"


def write_tiny_tokenizer(path, num_merges=DEFAULT_MERGES):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(tokenizer_json_text(num_merges))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="path of the tokenizer.json to write")
    parser.add_argument("--merges", type=int, default=DEFAULT_MERGES, help="merges to learn (max)")
    args = parser.parse_args()
    write_tiny_tokenizer(args.out, args.merges)


if __name__ == "__main__":
    main()
