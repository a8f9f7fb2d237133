"""Reference byte-level BPE tokenizer for Hugging Face `tokenizer.json` files as Qwen2 uses them.

Written for clarity, not speed: it is the oracle the C++ engine's tokenizer is compared against, and
it is itself validated on golden ids from Hugging Face `tokenizers` (shared/data/qwen2_tokenizer).

Pipeline (what `tokenizers` does for Qwen2, encode(..., add_special_tokens=False)):
  1. added tokens are cut out of the raw text first (leftmost, longest match; tokens flagged
     normalized=true are cut from the NFC text in their NFC form), unless the caller says the text
     is plain user text (allow_special=False), in which case none are matched;
  2. every other piece is NFC-normalised, split by the pre-tokenizer regex (matches and the gaps
     between them are kept as pieces: "Isolated"), mapped byte by byte to GPT-2's printable alphabet;
  3. each piece is merged by BPE, always applying the lowest-rank adjacent pair, leftmost first.
Decoding maps tokens back to bytes (added tokens as their content) and decodes UTF-8, replacing each
maximal invalid subsequence with U+FFFD (as Rust's from_utf8_lossy and Python's errors="replace" do).

Invalid UTF-8 input (bytes) is decoded with errors="replace" before step 1 — the C++ engine does the
same, so both turn e.g. b"\\xff" into U+FFFD; a str with lone surrogates is treated as the bytes
they stand for (surrogatepass), so "\\ud800" becomes three U+FFFD, as the bytes ED A0 80 do in C++.
"""

import json
import unicodedata

import regex


def bytes_to_unicode():
    """GPT-2's map from the 256 byte values to printable characters (byte-level BPE alphabet)."""
    printable = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) +
                 list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    mapping = {b: chr(b) for b in printable}
    shifted = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + shifted)
            shifted += 1
    return mapping


BYTE_TO_CHAR = bytes_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


class TokenizerError(ValueError):
    """A tokenizer.json that this tokenizer cannot reproduce faithfully."""


class AddedToken:
    def __init__(self, entry):
        self.id = int(entry["id"])
        self.content = entry["content"]
        self.special = bool(entry.get("special", False))
        self.single_word = bool(entry.get("single_word", False))
        self.lstrip = bool(entry.get("lstrip", False))
        self.rstrip = bool(entry.get("rstrip", False))
        self.normalized = bool(entry.get("normalized", False))


# Unicode White_Space: what Oniguruma's \s (tokenizers) and `regex`'s \s match; used for lstrip/rstrip.
WHITE_SPACE = frozenset("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000" +
                        "".join(chr(c) for c in range(0x2000, 0x200B)))


def _is_word_char(ch):
    return ch == "_" or unicodedata.category(ch)[0] in "LN"


class Tokenizer:
    def __init__(self, config, source="tokenizer.json"):
        self.source = source
        self._check_supported(config)
        model = config["model"]
        self.vocab = {tok: int(i) for tok, i in model["vocab"].items()}
        missing = [b for b, c in BYTE_TO_CHAR.items() if c not in self.vocab]
        if missing:
            raise TokenizerError(f"{source}: model.vocab has no token for byte 0x{missing[0]:x} "
                                 "(byte-level BPE needs all 256 byte tokens)")
        self.ignore_merges = bool(model.get("ignore_merges", False))
        self.merge_ranks = {}
        for rank, merge in enumerate(model.get("merges", [])):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            if left + right not in self.vocab:
                raise TokenizerError(f"{source}: merge {left!r} {right!r} makes a token not in vocab")
            self.merge_ranks[(left, right)] = rank  # a repeated pair keeps its last rank
        self.added = [AddedToken(e) for e in config.get("added_tokens") or []]
        self.id_to_str = {i: t for t, i in self.vocab.items()}
        for tok in self.added:
            self.id_to_str[tok.id] = tok.content
        self.added_by_id = {tok.id: tok for tok in self.added}
        self.added_by_content = {tok.content: tok for tok in self.added}
        self.use_nfc = config.get("normalizer") is not None
        # Added tokens with normalized=False are cut from the raw text; normalized=True ones from
        # the normalised pieces, in their normalised form (as tokenizers' AddedVocabulary).
        self.added_raw = sorted((t for t in self.added if not t.normalized),
                                key=lambda t: -len(t.content))
        self.added_normalized = sorted((t for t in self.added if t.normalized),
                                       key=lambda t: -len(t.content))
        for tok in self.added_normalized:
            tok.match_content = self._normalize(tok.content)
        self.split_regex = regex.compile(self._split_pattern(config["pre_tokenizer"]))
        self.vocab_size = max(self.id_to_str) + 1 if self.id_to_str else 0
        self._cache = {}

    @classmethod
    def from_file(cls, path):
        with open(path, encoding="utf-8") as f:
            return cls(json.load(f), source=str(path))

    # --- configuration checks: only what Qwen2's tokenizer.json uses is accepted ---
    def _check_supported(self, config):
        model = config.get("model")
        if not isinstance(model, dict) or "vocab" not in model:
            raise TokenizerError(f"{self.source}: missing model.vocab")
        if model.get("type", "BPE") != "BPE":
            raise TokenizerError(f"{self.source}: unsupported model type {model.get('type')!r}")
        normalizer = config.get("normalizer")
        if normalizer is not None and normalizer.get("type") != "NFC":
            raise TokenizerError(f"{self.source}: unsupported normalizer {normalizer.get('type')!r}")
        decoder = config.get("decoder")
        if decoder is None or decoder.get("type") != "ByteLevel":
            raise TokenizerError(f"{self.source}: unsupported decoder (ByteLevel required)")

    def _split_pattern(self, pre):
        parts = pre.get("pretokenizers", []) if pre and pre.get("type") == "Sequence" else [pre]
        if (len(parts) != 2 or parts[0].get("type") != "Split" or
                parts[0].get("behavior") != "Isolated" or parts[0].get("invert") or
                "Regex" not in parts[0].get("pattern", {}) or parts[1].get("type") != "ByteLevel" or
                parts[1].get("use_regex") or parts[1].get("add_prefix_space")):
            raise TokenizerError(f"{self.source}: unsupported pre_tokenizer (Qwen2's Split+ByteLevel)")
        return parts[0]["pattern"]["Regex"]

    # --- encoding ---
    def encode(self, text, allow_special=True):
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", errors="replace")
        elif any("\ud800" <= c <= "\udfff" for c in text):
            # Lone surrogates are what the bytes ED A0 80.. decode to with surrogatepass; repair
            # them the way the C++ engine repairs those bytes (one U+FFFD per byte).
            text = text.encode("utf-8", "surrogatepass").decode("utf-8", errors="replace")
        ids = []
        if not allow_special:
            for word in self._pre_tokenize(self._normalize(text)):
                ids.extend(self._bpe(word))
            return ids
        for piece, added in self._split_added(text, self.added_raw, "content"):
            if added is not None:
                ids.append(added.id)
                continue
            for part, added2 in self._split_added(self._normalize(piece), self.added_normalized,
                                                  "match_content"):
                if added2 is not None:
                    ids.append(added2.id)
                    continue
                for word in self._pre_tokenize(part):
                    ids.extend(self._bpe(word))
        return ids

    def _normalize(self, text):
        return unicodedata.normalize("NFC", text) if self.use_nfc else text

    @staticmethod
    def _split_added(text, tokens, field):
        """Pieces of text as (str, None) or (str, AddedToken), as tokenizers' AddedVocabulary:
        leftmost match, longest first (tokens are sorted longest first)."""
        pieces = []
        start_offset = 0
        pos = 0
        while tokens and pos < len(text):
            # the leftmost occurrence of any token; at one position the first listed (longest)
            match, at = None, -1
            for tok in tokens:
                found = text.find(getattr(tok, field), pos)
                if found != -1 and (match is None or found < at):
                    match, at = tok, found
            if match is None:
                break
            pos = at
            start, stop = pos, pos + len(getattr(match, field))
            if match.single_word:
                before_ok = start == 0 or not _is_word_char(text[start - 1])
                after_ok = stop == len(text) or not _is_word_char(text[stop])
                if not (before_ok and after_ok):
                    pos = stop  # tokenizers' matcher also resumes after a rejected match
                    continue
            if match.lstrip:
                while start > start_offset and text[start - 1] in WHITE_SPACE:
                    start -= 1
            if match.rstrip:
                while stop < len(text) and text[stop] in WHITE_SPACE:
                    stop += 1
            if start > start_offset:
                pieces.append((text[start_offset:start], None))
            pieces.append((text[start:stop], match))
            start_offset = pos = stop
        if start_offset < len(text):
            pieces.append((text[start_offset:], None))
        return pieces

    def _pre_tokenize(self, text):
        """Isolated split: every match and every gap between matches is a piece."""
        words = []
        last = 0
        for m in self.split_regex.finditer(text):
            if m.end() == m.start():  # an empty match isolates nothing
                continue
            if m.start() > last:
                words.append(text[last:m.start()])
            words.append(m.group())
            last = m.end()
        if last < len(text):
            words.append(text[last:])
        return words

    def _bpe(self, word):
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        symbols = [BYTE_TO_CHAR[b] for b in word.encode("utf-8")]
        joined = "".join(symbols)
        if self.ignore_merges and joined in self.vocab:
            symbols = [joined]
        while len(symbols) > 1:
            best_rank, best_at = None, None
            for i in range(len(symbols) - 1):
                rank = self.merge_ranks.get((symbols[i], symbols[i + 1]))
                if rank is not None and (best_rank is None or rank < best_rank):
                    best_rank, best_at = rank, i
            if best_rank is None:
                break
            symbols[best_at:best_at + 2] = [symbols[best_at] + symbols[best_at + 1]]
        ids = []
        for sym in symbols:
            if sym not in self.vocab:
                raise TokenizerError(f"{self.source}: no token for {sym!r} (byte missing from vocab)")
            ids.append(self.vocab[sym])
        self._cache[word] = ids
        return ids

    # --- decoding ---
    def decode(self, ids):
        """Text of ids, special tokens kept as their content; unknown ids are skipped (as tokenizers)."""
        data = bytearray()
        for i in ids:
            token = self.id_to_str.get(int(i))
            if token is None:
                continue
            if all(c in CHAR_TO_BYTE for c in token):
                data.extend(CHAR_TO_BYTE[c] for c in token)
            else:  # tokenizers' ByteLevel decoder keeps such a token's own UTF-8 bytes
                data.extend(token.encode("utf-8"))
        return data.decode("utf-8", errors="replace")

    def token_to_id(self, token):
        if token in self.added_by_content:
            return self.added_by_content[token].id
        return self.vocab.get(token)

    def id_to_token(self, i):
        return self.id_to_str.get(int(i))
