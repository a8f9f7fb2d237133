#include "model/tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <queue>
#include <sstream>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "model/utf8.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using nlohmann::json;

// Unicode White_Space, which is what Oniguruma's \s (Hugging Face tokenizers' regex engine) and
// Python's `regex` match. PCRE2's own \s differs (it also takes U+180E), so patterns are rewritten
// to this explicit class.
constexpr char kWhiteSpaceClassBody[] =
    "\\t-\\r\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}\\x{205F}"
    "\\x{3000}";

bool is_white_space(int32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool is_word_char(int32_t cp) {
  if (cp == '_') return true;
  const utf8proc_category_t cat = utf8proc_category(cp);
  return (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) ||
         (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO);
}

// GPT-2's bytes_to_unicode: printable Latin-1 bytes map to themselves, the other 68 bytes to
// U+0100.. in byte order. Byte-level BPE tokens are spelled in these characters.
std::array<int32_t, 256> byte_to_codepoint_table() {
  std::array<int32_t, 256> table{};
  int32_t shifted = 0;
  for (int b = 0; b < 256; ++b) {
    const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    table[b] = printable ? b : 256 + shifted++;
  }
  return table;
}

const std::array<int32_t, 256>& byte_to_codepoint() {
  static const std::array<int32_t, 256> table = byte_to_codepoint_table();
  return table;
}

// Inverse of byte_to_codepoint for code points below 0x144; -1 where no byte maps there.
const std::array<int16_t, 0x144>& codepoint_to_byte() {
  static const std::array<int16_t, 0x144> table = [] {
    std::array<int16_t, 0x144> t;
    t.fill(-1);
    for (int b = 0; b < 256; ++b) t[byte_to_codepoint()[b]] = static_cast<int16_t>(b);
    return t;
  }();
  return table;
}

std::string utf8_of(int32_t cp) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(cp, buf);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n));
}

// Decodes one character of valid UTF-8 at `at`; returns its length.
std::size_t next_char(std::string_view s, std::size_t at, int32_t* cp) {
  const auto n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data() + at),
                                  static_cast<utf8proc_ssize_t>(s.size() - at), cp);
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

// Start of the character that ends just before `at` (valid UTF-8).
std::size_t previous_char_start(std::string_view s, std::size_t at) {
  std::size_t p = at - 1;
  while (p > 0 && (static_cast<uint8_t>(s[p]) & 0xC0) == 0x80) --p;
  return p;
}

// The bytes a token's text stands for under the ByteLevel decoder: each character mapped back to
// its byte, or, when some character is outside GPT-2's alphabet (e.g. an added token with a
// space), the token's own UTF-8 bytes (tokenizers' ByteLevel decoder does the same).
std::string byte_level_bytes(const std::string& token) {
  std::string bytes;
  std::size_t at = 0;
  while (at < token.size()) {
    int32_t cp = -1;
    at += next_char(token, at, &cp);
    if (cp < 0 || cp >= static_cast<int32_t>(codepoint_to_byte().size()) ||
        codepoint_to_byte()[cp] < 0) {
      return token;
    }
    bytes.push_back(static_cast<char>(codepoint_to_byte()[cp]));
  }
  return bytes;
}

bool is_ascii(std::string_view s) {
  for (char c : s) {
    if (static_cast<uint8_t>(c) >= 0x80) return false;
  }
  return true;
}

std::string nfc(std::string_view text) {
  if (is_ascii(text)) return std::string(text);  // ASCII is always in NFC
  utf8proc_uint8_t* out = nullptr;
  const utf8proc_ssize_t n =
      utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(text.data()),
                   static_cast<utf8proc_ssize_t>(text.size()), &out,
                   static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
  if (n < 0) {
    std::free(out);
    throw Error("tokenizer", std::string("NFC normalisation failed: ") + utf8proc_errmsg(n));
  }
  std::string result(reinterpret_cast<const char*>(out), static_cast<std::size_t>(n));
  std::free(out);
  return result;
}

// Hugging Face patterns are Oniguruma syntax; the ones Qwen2-style tokenizers use are also PCRE2
// syntax except for \s / \S, rewritten here to Unicode White_Space.
std::string pcre2_pattern(const std::string& onig) {
  std::string out;
  bool in_class = false;
  for (std::size_t i = 0; i < onig.size(); ++i) {
    const char c = onig[i];
    if (c == '\\' && i + 1 < onig.size()) {
      const char d = onig[++i];
      if (d == 's') {
        out += in_class ? std::string(kWhiteSpaceClassBody)
                        : "[" + std::string(kWhiteSpaceClassBody) + "]";
      } else if (d == 'S' && !in_class) {
        out += "[^" + std::string(kWhiteSpaceClassBody) + "]";
      } else {
        out += c;
        out += d;
      }
      continue;
    }
    out += c;
    if (!in_class && c == '[') {
      in_class = true;
      if (i + 1 < onig.size() && onig[i + 1] == '^') out += onig[++i];
      if (i + 1 < onig.size() && onig[i + 1] == ']') out += onig[++i];  // literal ']'
    } else if (in_class && c == ']') {
      in_class = false;
    }
  }
  return out;
}

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
};

// Cuts added tokens out of text as tokenizers' AddedVocabulary does: leftmost match, longest
// first, with the single_word / lstrip / rstrip rules.
class AddedTokenMatcher {
 public:
  void add(AddedToken token) {
    starts_[static_cast<uint8_t>(token.content[0])] = true;
    tokens_.push_back(std::move(token));
    std::stable_sort(tokens_.begin(), tokens_.end(), [](const AddedToken& a, const AddedToken& b) {
      return a.content.size() > b.content.size();
    });
  }
  bool empty() const { return tokens_.empty(); }

  void split(std::string_view text, const std::function<void(std::string_view)>& on_text,
             const std::function<void(int32_t)>& on_token) const {
    std::size_t piece_start = 0;
    std::size_t at = 0;
    while (at < text.size()) {
      const AddedToken* match =
          starts_[static_cast<uint8_t>(text[at])] ? longest_at(text, at) : nullptr;
      if (!match) {
        ++at;
        continue;
      }
      std::size_t start = at;
      std::size_t stop = at + match->content.size();
      if (match->single_word &&
          !(is_word_boundary_before(text, start) && is_word_boundary_after(text, stop))) {
        at = stop;  // tokenizers' matcher also resumes after a rejected match
        continue;
      }
      if (match->lstrip) {
        while (start > piece_start) {
          const std::size_t prev = previous_char_start(text, start);
          int32_t cp = -1;
          next_char(text, prev, &cp);
          if (!is_white_space(cp)) break;
          start = prev;
        }
      }
      if (match->rstrip) {
        while (stop < text.size()) {
          int32_t cp = -1;
          const std::size_t n = next_char(text, stop, &cp);
          if (!is_white_space(cp)) break;
          stop += n;
        }
      }
      if (start > piece_start) on_text(text.substr(piece_start, start - piece_start));
      on_token(match->id);
      piece_start = at = stop;
    }
    if (piece_start < text.size()) on_text(text.substr(piece_start));
  }

 private:
  const AddedToken* longest_at(std::string_view text, std::size_t at) const {
    for (const AddedToken& token : tokens_) {
      if (text.compare(at, token.content.size(), token.content) == 0) return &token;
    }
    return nullptr;
  }
  static bool is_word_boundary_before(std::string_view text, std::size_t at) {
    if (at == 0) return true;
    int32_t cp = -1;
    next_char(text, previous_char_start(text, at), &cp);
    return !is_word_char(cp);
  }
  static bool is_word_boundary_after(std::string_view text, std::size_t at) {
    if (at >= text.size()) return true;
    int32_t cp = -1;
    next_char(text, at, &cp);
    return !is_word_char(cp);
  }

  std::vector<AddedToken> tokens_;  // longest content first
  std::array<bool, 256> starts_{};  // first bytes of the contents, to skip text fast
};

struct PcreCodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct PcreMatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

struct Merge {
  int32_t rank;
  int32_t result;
};

uint64_t pair_key(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

// --- tokenizer.json reading helpers: every failure names the file and the JSON path ---

[[noreturn]] void fail(const std::string& path, const std::string& problem) {
  throw Error(path, problem);
}

const json& member(const std::string& path, const json& object, const char* key,
                   const std::string& where) {
  auto it = object.find(key);
  if (it == object.end()) fail(path, "missing " + where + key);
  return *it;
}

bool flag(const std::string& path, const json& object, const char* key, const std::string& where) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return false;
  if (!it->is_boolean()) fail(path, where + key + " is not a boolean");
  return it->get<bool>();
}

std::string type_of(const json& j) {
  auto it = j.find("type");
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string("(no type)");
}

}  // namespace

struct Tokenizer::Impl {
  std::string path;
  std::unordered_map<std::string, int32_t> vocab;
  std::unordered_map<uint64_t, Merge> merges;  // (left id, right id) -> rank and merged id
  std::array<int32_t, 256> byte_token{};       // id of the single-byte token of each byte
  bool ignore_merges = false;
  bool use_nfc = false;
  AddedTokenMatcher added_raw;         // added tokens with normalized=false: matched on raw text
  AddedTokenMatcher added_normalized;  // normalized=true: matched on NFC text
  std::unordered_map<std::string, int32_t> added_by_content;
  std::vector<std::string> token_text;   // by id: vocab spelling or added content
  std::vector<std::string> token_bytes;  // by id: what the ByteLevel decoder makes of it
  std::vector<uint8_t> id_kind;          // by id: 0 unknown, 1 vocab, 2 added
  std::unique_ptr<pcre2_code, PcreCodeDeleter> split_regex;

  // Words seen before and their ids: text repeats words, and BPE dominates encode time.
  static constexpr std::size_t kMaxCachedWords = 200000;
  static constexpr std::size_t kMaxCachedWordBytes = 256;
  mutable std::mutex cache_mutex;
  mutable std::unordered_map<std::string, std::vector<int32_t>> word_cache;

  void load(const json& root);
  void load_model(const json& model);
  void load_added_tokens(const json& list);
  void load_pipeline(const json& root);

  void encode_normalized(std::string_view text, pcre2_match_data* match,
                         std::vector<int32_t>& ids) const;
  void encode_word(std::string_view word, std::vector<int32_t>& ids) const;
  std::vector<int32_t> bpe(std::string_view word) const;
};

void Tokenizer::Impl::load(const json& root) {
  if (!root.is_object()) fail(path, "top level is not a JSON object");
  // The normaliser first: added tokens with normalized=true are matched in normalised form.
  auto normalizer = root.find("normalizer");
  if (normalizer != root.end() && !normalizer->is_null()) {
    if (type_of(*normalizer) != "NFC") {
      fail(path, "unsupported normalizer " + type_of(*normalizer) + " (only NFC or null)");
    }
    use_nfc = true;
  }
  load_model(member(path, root, "model", ""));
  auto added = root.find("added_tokens");
  if (added != root.end() && !added->is_null()) load_added_tokens(*added);
  load_pipeline(root);

  // Decoding tables by id, and checks that need both the vocab and the added tokens.
  int32_t max_id = -1;
  for (const auto& [text, id] : vocab) max_id = std::max(max_id, id);
  for (const auto& [text, id] : added_by_content) max_id = std::max(max_id, id);
  // Ids index dense tables; ids far beyond the number of tokens mean a broken (or hostile) file,
  // not a big vocabulary, and must not make us allocate gigabytes.
  const std::size_t token_count = vocab.size() + added_by_content.size();
  if (static_cast<std::size_t>(max_id) >= 4 * token_count + 65536) {
    fail(path, "token id " + std::to_string(max_id) + " is far beyond the " +
                   std::to_string(token_count) + " tokens (ids must be dense)");
  }
  token_text.assign(static_cast<std::size_t>(max_id + 1), std::string());
  token_bytes.assign(token_text.size(), std::string());
  id_kind.assign(token_text.size(), 0);
  for (const auto& [text, id] : vocab) {
    if (id_kind[id] != 0) {
      fail(path, "model.vocab gives id " + std::to_string(id) + " to both \"" + token_text[id] +
                     "\" and \"" + text + "\"");
    }
    token_text[id] = text;
    token_bytes[id] = byte_level_bytes(text);
    id_kind[id] = 1;
  }
  for (const auto& [text, id] : added_by_content) {
    if (id_kind[id] == 1 && token_text[id] != text) {
      fail(path, "added token \"" + text + "\" has id " + std::to_string(id) +
                     ", which model.vocab gives to \"" + token_text[id] + "\"");
    }
    token_text[id] = text;
    token_bytes[id] = byte_level_bytes(text);
    id_kind[id] = 2;
  }
}

void Tokenizer::Impl::load_model(const json& model) {
  if (!model.is_object()) fail(path, "model is not a JSON object");
  auto type = model.find("type");
  if (type != model.end() && !(type->is_string() && type->get<std::string>() == "BPE")) {
    fail(path, "unsupported model type " + type->dump() + " (only BPE)");
  }
  if (flag(path, model, "byte_fallback", "model."))
    fail(path, "model.byte_fallback is unsupported");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    auto it = model.find(key);
    if (it != model.end() && !it->is_null() &&
        !(it->is_string() && it->get<std::string>().empty())) {
      fail(path, std::string("model.") + key + " is unsupported");
    }
  }
  auto dropout = model.find("dropout");
  if (dropout != model.end() && !dropout->is_null() &&
      !(dropout->is_number() && dropout->get<double>() == 0.0)) {
    fail(path, "model.dropout is unsupported");
  }
  ignore_merges = flag(path, model, "ignore_merges", "model.");

  const json& vocab_json = member(path, model, "vocab", "model.");
  if (!vocab_json.is_object()) fail(path, "model.vocab is not a JSON object");
  if (vocab_json.empty()) fail(path, "model.vocab is empty");
  vocab.reserve(vocab_json.size());
  for (auto it = vocab_json.begin(); it != vocab_json.end(); ++it) {
    if (!it.value().is_number_integer() || it.value().get<int64_t>() < 0 ||
        it.value().get<int64_t>() > INT32_MAX - 1) {
      fail(path, "model.vocab[\"" + it.key() + "\"] is not a valid id: " + it.value().dump());
    }
    if (!utf8_is_valid(it.key())) fail(path, "model.vocab has a token that is not valid UTF-8");
    vocab.emplace(it.key(), static_cast<int32_t>(it.value().get<int64_t>()));
  }
  for (int b = 0; b < 256; ++b) {
    auto it = vocab.find(utf8_of(byte_to_codepoint()[b]));
    if (it == vocab.end()) {
      std::ostringstream hex;
      hex << std::hex << b;
      fail(path, "model.vocab has no token for byte 0x" + hex.str() +
                     " (byte-level BPE needs all 256 byte tokens)");
    }
    byte_token[b] = it->second;
  }

  auto merges_json = model.find("merges");
  if (merges_json == model.end() || merges_json->is_null()) return;
  if (!merges_json->is_array()) fail(path, "model.merges is not a JSON array");
  merges.reserve(merges_json->size());
  int32_t rank = 0;
  for (const json& entry : *merges_json) {
    std::string left, right;
    if (entry.is_string()) {  // older files: "left right"
      const std::string s = entry.get<std::string>();
      const auto space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        fail(path, "model.merges[" + std::to_string(rank) + "] is not \"left right\": " + s);
      }
      left = s.substr(0, space);
      right = s.substr(space + 1);
    } else if (entry.is_array() && entry.size() == 2 && entry[0].is_string() &&
               entry[1].is_string()) {
      left = entry[0].get<std::string>();
      right = entry[1].get<std::string>();
    } else {
      fail(path, "model.merges[" + std::to_string(rank) + "] is not a pair of strings");
    }
    auto l = vocab.find(left), r = vocab.find(right), m = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || m == vocab.end()) {
      fail(path, "model.merges[" + std::to_string(rank) + "] (\"" + left + "\" \"" + right +
                     "\") uses or makes a token not in model.vocab");
    }
    // A repeated pair keeps its last rank, as tokenizers' merge map does.
    merges[pair_key(l->second, r->second)] = Merge{rank, m->second};
    ++rank;
  }
}

void Tokenizer::Impl::load_added_tokens(const json& list) {
  if (!list.is_array()) fail(path, "added_tokens is not a JSON array");
  std::size_t index = 0;
  for (const json& entry : list) {
    const std::string where = "added_tokens[" + std::to_string(index++) + "].";
    if (!entry.is_object()) fail(path, where.substr(0, where.size() - 1) + " is not a JSON object");
    const json& id = member(path, entry, "id", where);
    const json& content = member(path, entry, "content", where);
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > INT32_MAX - 1) {
      fail(path, where + "id is not a valid id: " + id.dump());
    }
    if (!content.is_string() || content.get<std::string>().empty() ||
        !utf8_is_valid(content.get<std::string>())) {
      fail(path, where + "content is not a non-empty UTF-8 string");
    }
    AddedToken token;
    token.id = static_cast<int32_t>(id.get<int64_t>());
    token.content = content.get<std::string>();
    token.special = flag(path, entry, "special", where);
    token.single_word = flag(path, entry, "single_word", where);
    token.lstrip = flag(path, entry, "lstrip", where);
    token.rstrip = flag(path, entry, "rstrip", where);
    token.normalized = flag(path, entry, "normalized", where);
    auto [it, inserted] = added_by_content.emplace(token.content, token.id);
    if (!inserted) fail(path, where + "content \"" + token.content + "\" is listed twice");
    if (token.normalized && use_nfc) {
      // tokenizers matches these on the normalised text, with their normalised content.
      token.content = nfc(token.content);
    }
    (token.normalized ? added_normalized : added_raw).add(std::move(token));
  }
}

void Tokenizer::Impl::load_pipeline(const json& root) {
  auto decoder = root.find("decoder");
  if (decoder == root.end() || decoder->is_null() || type_of(*decoder) != "ByteLevel") {
    fail(path, "unsupported decoder (ByteLevel required)");
  }

  const json* pre = nullptr;
  auto pre_it = root.find("pre_tokenizer");
  if (pre_it != root.end()) pre = &*pre_it;
  const std::string expected =
      "unsupported pre_tokenizer (expected Qwen2's Sequence of Split(Regex, Isolated) and "
      "ByteLevel(use_regex=false))";
  if (!pre || !pre->is_object() || type_of(*pre) != "Sequence") fail(path, expected);
  auto steps = pre->find("pretokenizers");
  if (steps == pre->end() || !steps->is_array() || steps->size() != 2) fail(path, expected);
  const json& split = (*steps)[0];
  const json& byte_level = (*steps)[1];
  if (type_of(split) != "Split" || split.value("behavior", std::string()) != "Isolated" ||
      flag(path, split, "invert", "pre_tokenizer.Split.") || !split.contains("pattern") ||
      !split["pattern"].is_object() || !split["pattern"].contains("Regex") ||
      !split["pattern"]["Regex"].is_string()) {
    fail(path, expected);
  }
  if (type_of(byte_level) != "ByteLevel" ||
      flag(path, byte_level, "use_regex", "pre_tokenizer.ByteLevel.") ||
      flag(path, byte_level, "add_prefix_space", "pre_tokenizer.ByteLevel.")) {
    fail(path, expected);
  }

  const std::string pattern = pcre2_pattern(split["pattern"]["Regex"].get<std::string>());
  int error = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error, &error_offset, nullptr);
  if (!code) {
    fail(path, "pre_tokenizer regex does not compile at offset " + std::to_string(error_offset) +
                   ": " + pcre2_message(error));
  }
  split_regex.reset(code);
  // JIT is a speed-up only: without it (platform lacks support) pcre2_match interprets.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
}

void Tokenizer::Impl::encode_normalized(std::string_view text, pcre2_match_data* match,
                                        std::vector<int32_t>& ids) const {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  std::size_t piece_start = 0;  // start of text not yet emitted (a gap between matches)
  std::size_t search_from = 0;
  while (search_from < text.size()) {
    const int rc = pcre2_match(split_regex.get(), subject, text.size(), search_from,
                               PCRE2_NO_UTF_CHECK, match, nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) throw Error(path, "pre_tokenizer regex failed: " + pcre2_message(rc));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match);
    const std::size_t start = ovector[0], end = ovector[1];
    if (end == start) {  // an empty match isolates nothing: look again one character further
      int32_t cp = -1;
      search_from = start + next_char(text, start, &cp);
      continue;
    }
    if (start > piece_start) encode_word(text.substr(piece_start, start - piece_start), ids);
    encode_word(text.substr(start, end - start), ids);
    piece_start = search_from = end;
  }
  if (piece_start < text.size()) encode_word(text.substr(piece_start), ids);
}

void Tokenizer::Impl::encode_word(std::string_view word, std::vector<int32_t>& ids) const {
  if (word.size() == 1) {
    ids.push_back(byte_token[static_cast<uint8_t>(word[0])]);
    return;
  }
  const bool cacheable = word.size() <= kMaxCachedWordBytes;
  std::string key;
  if (cacheable) {
    key.assign(word);
    std::lock_guard<std::mutex> lock(cache_mutex);
    auto it = word_cache.find(key);
    if (it != word_cache.end()) {
      ids.insert(ids.end(), it->second.begin(), it->second.end());
      return;
    }
  }
  std::vector<int32_t> word_ids = bpe(word);
  ids.insert(ids.end(), word_ids.begin(), word_ids.end());
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex);
    if (word_cache.size() >= kMaxCachedWords) word_cache.clear();
    word_cache.emplace(std::move(key), std::move(word_ids));
  }
}

// Byte-level BPE: start from one symbol per byte and keep merging the adjacent pair of lowest
// rank, leftmost first on ties (tokenizers' Word::merge_all). A heap over candidate pairs with
// lazy invalidation keeps long words (e.g. whitespace runs) O(n log n).
std::vector<int32_t> Tokenizer::Impl::bpe(std::string_view word) const {
  if (ignore_merges) {
    std::string spelled;
    for (char c : word) spelled += utf8_of(byte_to_codepoint()[static_cast<uint8_t>(c)]);
    auto it = vocab.find(spelled);
    if (it != vocab.end()) return {it->second};
  }
  struct Symbol {
    int32_t id;  // -1 once merged into its left neighbour
    int32_t prev;
    int32_t next;  // -1 at the end
  };
  struct Candidate {
    int32_t rank;
    int32_t left;
    int32_t right;
    int32_t left_id;
    int32_t right_id;
    int32_t result;
    bool operator>(const Candidate& o) const {
      return rank != o.rank ? rank > o.rank : left > o.left;
    }
  };
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> symbols(static_cast<std::size_t>(n));
  for (int32_t i = 0; i < n; ++i) {
    symbols[i] = Symbol{byte_token[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1};
  }
  std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> queue;
  auto consider = [&](int32_t left) {
    if (left < 0) return;
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    auto it = merges.find(pair_key(symbols[left].id, symbols[right].id));
    if (it == merges.end()) return;
    queue.push(Candidate{it->second.rank, left, right, symbols[left].id, symbols[right].id,
                         it->second.result});
  };
  for (int32_t i = 0; i + 1 < n; ++i) consider(i);
  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    if (left.id != c.left_id || left.next != c.right || symbols[c.right].id != c.right_id) {
      continue;  // stale: one side was merged since this pair was queued
    }
    left.id = c.result;
    left.next = symbols[c.right].next;
    if (left.next >= 0) symbols[left.next].prev = c.left;
    symbols[c.right].id = -1;
    consider(left.prev);
    consider(c.left);
  }
  std::vector<int32_t> ids;
  for (int32_t i = 0; i >= 0; i = symbols[i].next) ids.push_back(symbols[i].id);
  return ids;
}

Tokenizer Tokenizer::from_file(const std::string& tokenizer_json_path) {
  std::ifstream file(tokenizer_json_path, std::ios::binary);
  if (!file) throw Error(tokenizer_json_path, "cannot open file");
  std::ostringstream buffer;
  buffer << file.rdbuf();
  json root;
  try {
    root = json::parse(buffer.str());
  } catch (const json::exception& e) {
    throw Error(tokenizer_json_path, std::string("not valid JSON: ") + e.what());
  }
  auto impl = std::make_shared<Impl>();
  impl->path = tokenizer_json_path;
  try {
    impl->load(root);
  } catch (const json::exception& e) {  // a value of an unexpected JSON type somewhere
    throw Error(tokenizer_json_path, std::string("unexpected JSON content: ") + e.what());
  }
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(const std::string& text, bool allow_special) const {
  const Impl& impl = *impl_;
  std::string repaired;
  std::string_view input = text;
  if (!utf8_is_valid(text)) {
    repaired = utf8_repair(text);
    input = repaired;
  }
  std::unique_ptr<pcre2_match_data, PcreMatchDataDeleter> match(
      pcre2_match_data_create_from_pattern(impl.split_regex.get(), nullptr));
  std::vector<int32_t> ids;
  ids.reserve(input.size() / 3 + 1);
  auto encode_plain = [&](std::string_view piece) {
    if (!impl.use_nfc) {
      impl.encode_normalized(piece, match.get(), ids);
      return;
    }
    const std::string normalized = nfc(piece);
    impl.encode_normalized(normalized, match.get(), ids);
  };
  if (!allow_special) {
    encode_plain(input);
    return ids;
  }
  auto push_token = [&](int32_t id) { ids.push_back(id); };
  impl.added_raw.split(
      input,
      [&](std::string_view piece) {
        if (impl.added_normalized.empty()) {
          encode_plain(piece);
          return;
        }
        const std::string normalized = impl.use_nfc ? nfc(piece) : std::string(piece);
        impl.added_normalized.split(
            normalized,
            [&](std::string_view rest) { impl.encode_normalized(rest, match.get(), ids); },
            push_token);
      },
      push_token);
  return ids;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids) const {
  std::string bytes;
  for (int32_t id : ids) bytes += token_bytes(id);
  return utf8_repair(bytes);
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string kNone;
  if (id < 0 || id >= vocab_size() || impl_->id_kind[id] == 0) return kNone;
  return impl_->token_bytes[id];
}

std::optional<int32_t> Tokenizer::token_to_id(const std::string& token) const {
  auto added = impl_->added_by_content.find(token);
  if (added != impl_->added_by_content.end()) return added->second;
  auto it = impl_->vocab.find(token);
  if (it != impl_->vocab.end()) return it->second;
  return std::nullopt;
}

std::string Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || id >= vocab_size() || impl_->id_kind[id] == 0) {
    throw Error(impl_->path, "token id " + std::to_string(id) + " is not in the vocabulary");
  }
  return impl_->token_text[id];
}

bool Tokenizer::is_added_token(int32_t id) const {
  return id >= 0 && id < vocab_size() && impl_->id_kind[id] == 2;
}

int32_t Tokenizer::vocab_size() const {
  return static_cast<int32_t>(impl_->token_text.size());
}

const std::string& Tokenizer::source_path() const {
  return impl_->path;
}

}  // namespace terrascope
