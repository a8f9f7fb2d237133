#!/usr/bin/env python3
"""Test data for the C++ tokenizer: the tiny tokenizer and golden ids from the Python reference.

Usage: testdata_tokenizer.py OUTDIR   (run by scripts/make_testdata.sh)
Writes OUTDIR/tiny_tokenizer/tokenizer.json (tools/make_tiny_tokenizer.py),
OUTDIR/tiny_tokenizer/flags_tokenizer.json (the same plus added tokens with lstrip / rstrip /
single_word / normalized set) and golden.jsonl / flags_golden.jsonl, one JSON object per line:
  {"kind": "encode", "text" | "text_hex", "allow_special", "ids", "decoded"}
      text_hex (hex of raw bytes) replaces text for input that is not valid UTF-8;
  {"kind": "decode", "ids", "decoded"}   ids that spell broken UTF-8 or are unknown.
The Python reference is validated against Hugging Face's own golden ids for the real Qwen2 tokenizer
(tests/python/test_tokenizer.py), which is what makes it an oracle for the tiny one.
Skips the work when both files are newer than the tools that make them.
"""

import json
import os
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, TOOLS)

import make_tiny_tokenizer  # noqa: E402
from terrascope_ref.tokenizer import BYTE_TO_CHAR, Tokenizer  # noqa: E402

ENCODE_TEXTS = [
    "",
    "The water covers about 23% of the image.",
    "What percentage of the image is covered by forest? A. 8% B. 16% C. 31% D. 54%",
    "<think>The water [SEG]<REGION><REGION> covers 23%.</think><answer> B </answer><|end|>",
    "<|im_start|>user\n<img><IMG_CONTEXT><IMG_CONTEXT></img>\nSegment the river.<|im_end|>\n"
    "<|im_start|>assistant\n",
    "[SEG] [SEG][SEG] <REGION> <p> water </p> <vp></vp> <quad></quad><ref></ref><box></box>",
    "<|endoftext|><|endoftext|>",
    "<think", "[SEG", "<<think>>", "<p><p>p>",
    "   ", "\n", "\n\n\n", "\r\n", "a\r\nb\r\n\r\n", "\t\tx", "trailing   ", "   leading",
    " \t \n  x", "multiple    spaces\u00a0nbsp\u3000ideographic\u2003em",
    "1234567890 00001 3.14159 -25 dB 1,234,567 m² 2021-07-14",
    "I'm sure they'll say it's DON'T and WE'VE",
    "Überschwemmung: Wasserfläche größer als 5 %",
    "遥感影像中水体占比约为百分之二十三。",
    "衛星画像の雲量は30%です。",
    "صورة الأقمار الصناعية",
    "emoji 🛰️🌍🌊 and ZWJ 👩\u200d🔬 and flags 🇩🇪",
    "cafe\u0301 vs caf\u00e9",  # NFD and NFC spellings of café
    "A\u030a vs \u00c5",
    "nul\u0000byte and \u0085next line",
    "mongolian\u180evowel separator, info\x1c\x1d\x1e\x1fseparators, IT'S it'\u017f",  # edges of \s and (?i)
    "unseenwordsxyzzy Qwertyuiop",
    "segmentation_mask_v2.tif {\"bands\": [4, 3, 2]}",
]

PLAIN_TEXTS = [  # allow_special=False: these must come out as ordinary pieces
    "Is [SEG] in the image? <IMG_CONTEXT> <|im_end|>",
    "<think>x</think><answer>A</answer><REGION><|endoftext|>",
]

INVALID_UTF8 = [  # raw bytes, repaired to U+FFFD by both implementations
    b"a\xffb",
    b"x\xe2\x82",
    b"\xed\xa0\x80 surrogate",
    b"\xf0\x9f\x8c overlong? \xc0\xaf",
    b"\x80\x80 [SEG] \xfe",
]


# Added-token flags that Qwen2's own tokens leave false, on a copy of the tiny tokenizer
# (flags_tokenizer.json): both implementations must agree on them too.
FLAG_TOKENS = [
    {"content": "<L>", "lstrip": True},
    {"content": "<R>", "rstrip": True},
    {"content": "<LR>", "lstrip": True, "rstrip": True},
    {"content": "mask", "single_word": True, "special": False},
    {"content": "cafe\u0301", "normalized": True, "special": False},  # NFD content, NFC matched
]

FLAG_TEXTS = [
    "a <L> b", "a   <L>b", "\t\n<L>x", "x<R>   y", "x<R>\u3000\u00a0y", "q  <LR>  r", "<L><L>  <R> <R> ",
    "mask masks unmask mask_ mask. (mask)", "[SEG]mask<REGION>", "maskmask mask",
    "caf\u00e9 cafe\u0301 caf\u00e9s", "<think>caf\u00e9</think>",
]


def flags_tokenizer_json(tiny_config):
    config = json.loads(json.dumps(tiny_config))
    next_id = max(t["id"] for t in config["added_tokens"]) + 1
    for i, flags in enumerate(FLAG_TOKENS):
        entry = {"id": next_id + i, "content": flags["content"], "single_word": False,
                 "lstrip": False, "rstrip": False, "normalized": False, "special": True}
        entry.update({k: v for k, v in flags.items() if k != "content"})
        config["added_tokens"].append(entry)
    return config


def flag_records(tok):
    records = []
    for text in FLAG_TEXTS:
        for allow_special in (True, False):
            ids = tok.encode(text, allow_special)
            records.append({"kind": "encode", "text": text, "allow_special": allow_special,
                            "ids": ids, "decoded": tok.decode(ids)})
    return records


def decode_cases(tok):
    byte = {b: tok.vocab[c] for b, c in BYTE_TO_CHAR.items()}
    seg = tok.token_to_id("[SEG]")
    return [
        [byte[0xE2], byte[ord("A")]],                       # truncated 3-byte sequence
        [byte[0xF0], byte[0x9F]],                           # truncated at the end
        [byte[0xED], byte[0xA0], byte[0x80]],               # surrogate: three replacements
        [byte[0x80], byte[0xC0], byte[0xAF], seg],          # stray continuation, overlong
        [byte[0xF0], byte[0x9F], byte[0x8C], byte[0x8A]],   # complete emoji from bytes
        [seg, tok.vocab_size + 5, byte[ord("x")]],          # unknown id skipped
    ]


def golden_records(tok):
    records = []
    for text in ENCODE_TEXTS:
        ids = tok.encode(text)
        records.append({"kind": "encode", "text": text, "allow_special": True, "ids": ids,
                        "decoded": tok.decode(ids)})
    for text in PLAIN_TEXTS:
        ids = tok.encode(text, allow_special=False)
        records.append({"kind": "encode", "text": text, "allow_special": False, "ids": ids,
                        "decoded": tok.decode(ids)})
    for data in INVALID_UTF8:
        ids = tok.encode(data)
        records.append({"kind": "encode", "text_hex": data.hex(), "allow_special": True,
                        "ids": ids, "decoded": tok.decode(ids)})
    for ids in decode_cases(tok):
        records.append({"kind": "decode", "ids": ids, "decoded": tok.decode(ids)})
    return records


def up_to_date(outputs, sources):
    if not all(os.path.exists(p) for p in outputs):
        return False
    newest_source = max(os.path.getmtime(p) for p in sources)
    return min(os.path.getmtime(p) for p in outputs) > newest_source


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: testdata_tokenizer.py OUTDIR")
    out_dir = os.path.join(sys.argv[1], "tiny_tokenizer")
    tokenizer_path = os.path.join(out_dir, "tokenizer.json")
    golden_path = os.path.join(out_dir, "golden.jsonl")
    flags_path = os.path.join(out_dir, "flags_tokenizer.json")
    flags_golden_path = os.path.join(out_dir, "flags_golden.jsonl")
    sources = [os.path.abspath(__file__), make_tiny_tokenizer.__file__,
               os.path.join(TOOLS, "terrascope_ref", "tokenizer.py")]
    if up_to_date([tokenizer_path, golden_path, flags_path, flags_golden_path], sources):
        return
    make_tiny_tokenizer.write_tiny_tokenizer(tokenizer_path)
    write_jsonl(golden_path, golden_records(Tokenizer.from_file(tokenizer_path)))
    with open(flags_path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(flags_tokenizer_json(make_tiny_tokenizer.build_tokenizer_json()),
                           ensure_ascii=False, indent=2) + "\n")
    write_jsonl(flags_golden_path, flag_records(Tokenizer.from_file(flags_path)))


def write_jsonl(path, records):
    with open(path + ".tmp", "w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
