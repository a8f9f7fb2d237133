"""Reference tokenizer (tools/terrascope_ref/tokenizer.py) and the tiny test tokenizer.

Oracle: golden ids from Hugging Face `tokenizers` for the real Qwen2 tokenizer
(shared/data/qwen2_tokenizer, SOURCES.md there). Reproducing them is what makes the reference an
oracle for the tiny tokenizer's golden file (tools/testdata_tokenizer.py), which the C++ engine is
tested against.

Run from tests/python: /usr/bin/python3 -m unittest test_tokenizer
"""

import json
import os
import subprocess
import sys
import tempfile
import unicodedata
import unittest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools")
sys.path.insert(0, TOOLS)

import make_tiny_tokenizer  # noqa: E402
import testdata_tokenizer  # noqa: E402
from terrascope_ref.tokenizer import BYTE_TO_CHAR, Tokenizer, TokenizerError  # noqa: E402

SHARED = os.environ.get("TERRASCOPE_SHARED_DATA",
                        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                     "shared", "data"))
QWEN_DIR = os.path.join(SHARED, "qwen2_tokenizer")


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class QwenGolden(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tok = Tokenizer.from_file(os.path.join(QWEN_DIR, "tokenizer.json"))
        cls.records = read_jsonl(os.path.join(QWEN_DIR, "golden.jsonl"))

    def test_every_golden_record_ids_and_decoded(self):
        self.assertEqual(len(self.records), 36)
        for r in self.records:
            with self.subTest(text=r["text"]):
                self.assertEqual(self.tok.encode(r["text"]), r["ids"])
                self.assertEqual(self.tok.decode(r["ids"]), r["decoded"])

    def test_token_spellings(self):
        for r in self.records:
            self.assertEqual([self.tok.id_to_token(i) for i in r["ids"]], r["tokens"])

    def test_vocab_size_and_added_tokens_from_file(self):
        with open(os.path.join(QWEN_DIR, "tokenizer.json"), encoding="utf-8") as f:
            added = json.load(f)["added_tokens"]
        for entry in added:
            self.assertEqual(self.tok.token_to_id(entry["content"]), entry["id"])
        self.assertEqual(self.tok.vocab_size, max(e["id"] for e in added) + 1)
        self.assertEqual(self.tok.vocab_size, 151685)

    def test_plain_text_never_yields_added_tokens(self):
        added_ids = set(self.tok.added_by_id)
        for text in ["[SEG]", "<IMG_CONTEXT>", "<|im_end|>", "Is [SEG] here? <think></think>"]:
            ids = self.tok.encode(text, allow_special=False)
            self.assertFalse(added_ids & set(ids), text)
            self.assertEqual(self.tok.decode(ids), text)
        self.assertIn(self.tok.token_to_id("[SEG]"), self.tok.encode("Is [SEG] here?"))

    def test_invalid_utf8_bytes_become_replacement_characters(self):
        self.assertEqual(self.tok.encode(b"a\xffb"), self.tok.encode("a\ufffdb"))
        self.assertEqual(self.tok.encode(b"\xed\xa0\x80"), self.tok.encode("\ufffd" * 3))

    def test_decode_repairs_broken_utf8_and_skips_unknown_ids(self):
        byte = {b: self.tok.vocab[c] for b, c in BYTE_TO_CHAR.items()}
        self.assertEqual(self.tok.decode([byte[0xE2], byte[0x41]]), "\ufffdA")
        self.assertEqual(self.tok.decode([byte[0xF0], byte[0x9F]]), "\ufffd")
        self.assertEqual(self.tok.decode([self.tok.vocab_size + 3] + self.tok.encode("x")), "x")

    def test_pretokenizer_regex_is_qwen2s(self):
        with open(os.path.join(QWEN_DIR, "pretokenizer_regex.txt"), encoding="utf-8") as f:
            regex_line = f.readline().rstrip("\n")
        self.assertEqual(make_tiny_tokenizer.QWEN2_SPLIT_REGEX, regex_line)
        self.assertEqual(self.tok.split_regex.pattern, regex_line)


class BadFiles(unittest.TestCase):
    def load(self, config):
        return Tokenizer(config, source="bad.json")

    def test_missing_vocab(self):
        config = make_tiny_tokenizer.build_tokenizer_json()
        del config["model"]["vocab"]
        with self.assertRaisesRegex(TokenizerError, "bad.json: missing model.vocab"):
            self.load(config)

    def test_unsupported_model_type(self):
        config = make_tiny_tokenizer.build_tokenizer_json()
        config["model"]["type"] = "Unigram"
        with self.assertRaisesRegex(TokenizerError, "unsupported model type"):
            self.load(config)

    def test_merge_outside_vocab(self):
        config = make_tiny_tokenizer.build_tokenizer_json()
        config["model"]["merges"].append(["q", "zzz"])
        with self.assertRaisesRegex(TokenizerError, "not in vocab"):
            self.load(config)

    def test_missing_byte_token(self):
        config = make_tiny_tokenizer.build_tokenizer_json()
        del config["model"]["vocab"][BYTE_TO_CHAR[0]]
        with self.assertRaisesRegex(TokenizerError, "no token for byte 0x0"):
            self.load(config)


class TinyTokenizer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.config = make_tiny_tokenizer.build_tokenizer_json()
        cls.tok = Tokenizer(cls.config, source="tiny")
        with open(os.path.join(QWEN_DIR, "tokenizer.json"), encoding="utf-8") as f:
            cls.qwen = json.load(f)

    def test_same_bytes_every_run(self):
        with tempfile.TemporaryDirectory() as d:
            paths = [os.path.join(d, f"{i}", "tokenizer.json") for i in range(2)]
            for p in paths:
                subprocess.run([sys.executable, os.path.join(TOOLS, "make_tiny_tokenizer.py"),
                                "--out", p], check=True)
            with open(paths[0], "rb") as a, open(paths[1], "rb") as b:
                first = a.read()
                self.assertEqual(first, b.read())
            self.assertEqual(first.decode("utf-8"), make_tiny_tokenizer.tokenizer_json_text())

    def test_structure_is_qwen2s(self):
        for key in ("normalizer", "pre_tokenizer", "decoder"):
            self.assertEqual(self.config[key], self.qwen[key], key)
        model = {k: v for k, v in self.config["model"].items() if k not in ("vocab", "merges")}
        qwen_model = {k: v for k, v in self.qwen["model"].items() if k not in ("vocab", "merges")}
        self.assertEqual(model, qwen_model)
        self.assertEqual(list(self.config), list(self.qwen))

    def test_byte_tokens_have_qwen2_ids(self):
        qwen_vocab = self.qwen["model"]["vocab"]
        for char in BYTE_TO_CHAR.values():
            self.assertEqual(self.config["model"]["vocab"][char], qwen_vocab[char])

    def test_sizes(self):
        merges = len(self.config["model"]["merges"])
        self.assertGreaterEqual(merges, 200)
        self.assertGreaterEqual(self.tok.vocab_size, 300)
        self.assertLessEqual(self.tok.vocab_size, 1200)

    def test_all_added_tokens_are_special_and_after_the_vocab(self):
        vocab_max = max(self.config["model"]["vocab"].values())
        contents = [t["content"] for t in self.config["added_tokens"]]
        self.assertEqual(contents, make_tiny_tokenizer.ADDED_TOKENS)
        for t in self.config["added_tokens"]:
            self.assertTrue(t["special"])
            self.assertGreater(t["id"], vocab_max)
            self.assertEqual(self.tok.encode(t["content"]), [t["id"]])
        for token in ("<img>", "<IMG_CONTEXT>", "[SEG]", "<REGION>", "<|end|>", "<|im_end|>",
                      "</answer>", "<vp>"):
            self.assertIn(token, contents)

    def test_learnt_merges_compress_domain_text(self):
        text = "What percentage of the image is covered by water? The answer is B."
        ids = self.tok.encode(text)
        self.assertLess(len(ids), len(text.encode("utf-8")) / 2)
        self.assertEqual(self.tok.decode(ids), text)

    def test_round_trip_of_testdata_strings(self):
        for text in testdata_tokenizer.ENCODE_TEXTS:
            self.assertEqual(self.tok.decode(self.tok.encode(text)),
                             unicodedata.normalize("NFC", text))


class TestdataScript(unittest.TestCase):
    def test_writes_tokenizer_and_golden(self):
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([sys.executable, os.path.join(TOOLS, "testdata_tokenizer.py"), d],
                           check=True)
            tok_path = os.path.join(d, "tiny_tokenizer", "tokenizer.json")
            records = read_jsonl(os.path.join(d, "tiny_tokenizer", "golden.jsonl"))
            tok = Tokenizer.from_file(tok_path)
            kinds = {r["kind"] for r in records}
            self.assertEqual(kinds, {"encode", "decode"})
            self.assertTrue(any(not r.get("allow_special", True) for r in records))
            self.assertTrue(any("text_hex" in r for r in records))
            for r in records:
                if r["kind"] == "encode" and "text" in r:
                    self.assertEqual(tok.encode(r["text"], r["allow_special"]), r["ids"])
            flags = Tokenizer.from_file(os.path.join(d, "tiny_tokenizer", "flags_tokenizer.json"))
            flag_records = read_jsonl(os.path.join(d, "tiny_tokenizer", "flags_golden.jsonl"))
            self.assertGreaterEqual(len(flag_records), 20)
            for r in flag_records:
                self.assertEqual(flags.encode(r["text"], r["allow_special"]), r["ids"])


class AddedTokenFlags(unittest.TestCase):
    """lstrip / rstrip / single_word / normalized, as tokenizers' AddedVocabulary applies them."""

    @classmethod
    def setUpClass(cls):
        config = testdata_tokenizer.flags_tokenizer_json(make_tiny_tokenizer.build_tokenizer_json())
        cls.tok = Tokenizer(config, source="flags")

    def pieces(self, text):
        return [self.tok.id_to_token(i) for i in self.tok.encode(text)]

    def test_lstrip_takes_the_whitespace_before(self):
        self.assertEqual(self.pieces("a   <L>b"), ["a", "<L>", "b"])

    def test_rstrip_takes_the_whitespace_after(self):
        self.assertEqual(self.pieces("x<R>\u3000 y"), ["x", "<R>", "y"])

    def test_single_word_only_matches_whole_words(self):
        mask = self.tok.token_to_id("mask")
        self.assertIn(mask, self.tok.encode("a mask."))
        self.assertNotIn(mask, self.tok.encode("masks"))
        self.assertNotIn(mask, self.tok.encode("mask_x"))

    def test_normalized_token_matches_nfc_and_nfd_text(self):
        cafe = self.tok.token_to_id("cafe\u0301")
        self.assertEqual(self.tok.encode("caf\u00e9"), [cafe])
        self.assertEqual(self.tok.encode("cafe\u0301"), [cafe])
        self.assertNotIn(cafe, self.tok.encode("caf\u00e9", allow_special=False))


if __name__ == "__main__":
    unittest.main()
