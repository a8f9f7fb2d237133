// Tokenizer: the real Qwen2 tokenizer against golden ids from Hugging Face tokenizers, the tiny
// test tokenizer against the Python reference (tools/terrascope_ref/tokenizer.py), plain-text
// safety, streaming, invalid input and every rejected tokenizer.json.
#include "model/tokenizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "model/text_stream.h"
#include "model/utf8.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using nlohmann::json;

const std::string kQwenDir = std::string(TERRASCOPE_SHARED_DATA) + "/qwen2_tokenizer";
const std::string kTinyDir = std::string(TERRASCOPE_TEST_DATA) + "/tiny_tokenizer";

std::vector<json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<json> records;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) records.push_back(json::parse(line));
  }
  return records;
}

const Tokenizer& qwen() {
  static const Tokenizer tokenizer = Tokenizer::from_file(kQwenDir + "/tokenizer.json");
  return tokenizer;
}

// The tiny tokenizer and its golden file are generated, never skipped when absent.
#define REQUIRE_TINY_TESTDATA()                                        \
  ASSERT_TRUE(std::filesystem::exists(kTinyDir + "/tokenizer.json") && \
              std::filesystem::exists(kTinyDir + "/golden.jsonl"))     \
      << kTinyDir << " is missing: run scripts/make_testdata.sh " << TERRASCOPE_TEST_DATA

std::string from_hex(const std::string& hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return bytes;
}

std::vector<int32_t> ids_of(const json& array) {
  return array.get<std::vector<int32_t>>();
}

TEST(Tokenizer, QwenGoldenIds) {
  const auto records = read_jsonl(kQwenDir + "/golden.jsonl");
  ASSERT_EQ(records.size(), 36u);
  for (const json& r : records) {
    const std::string text = r["text"].get<std::string>();
    EXPECT_EQ(qwen().encode(text), ids_of(r["ids"])) << "text: " << text;
    EXPECT_EQ(qwen().decode(ids_of(r["ids"])), r["decoded"].get<std::string>()) << "text: " << text;
  }
}

TEST(Tokenizer, QwenGoldenTokenSpellings) {
  for (const json& r : read_jsonl(kQwenDir + "/golden.jsonl")) {
    const auto ids = ids_of(r["ids"]);
    const auto tokens = r["tokens"].get<std::vector<std::string>>();
    ASSERT_EQ(ids.size(), tokens.size());
    for (std::size_t i = 0; i < ids.size(); ++i) {
      EXPECT_EQ(qwen().id_to_token(ids[i]), tokens[i]);
      EXPECT_EQ(qwen().token_to_id(tokens[i]), ids[i]);
    }
  }
}

TEST(Tokenizer, QwenAddedTokensReadFromFile) {
  std::ifstream in(kQwenDir + "/tokenizer.json");
  const json file = json::parse(in);
  int32_t max_id = 0;
  for (const json& added : file["added_tokens"]) {
    const auto id = added["id"].get<int32_t>();
    EXPECT_EQ(qwen().token_to_id(added["content"].get<std::string>()), id);
    EXPECT_EQ(qwen().id_to_token(id), added["content"].get<std::string>());
    EXPECT_TRUE(qwen().is_added_token(id));
    max_id = std::max(max_id, id);
  }
  EXPECT_EQ(qwen().vocab_size(), max_id + 1);
  EXPECT_EQ(qwen().vocab_size(), 151685);
  EXPECT_FALSE(qwen().is_added_token(*qwen().token_to_id("Ġworld")));
  EXPECT_FALSE(qwen().token_to_id("no such token").has_value());
}

TEST(Tokenizer, SpecialTokensInlineSplitTheText) {
  const int32_t seg = *qwen().token_to_id("[SEG]");
  const int32_t region = *qwen().token_to_id("<REGION>");
  const auto ids = qwen().encode("water[SEG]<REGION> area");
  std::vector<int32_t> expected = qwen().encode("water");
  expected.push_back(seg);
  expected.push_back(region);
  const auto tail = qwen().encode(" area");
  expected.insert(expected.end(), tail.begin(), tail.end());
  EXPECT_EQ(ids, expected);
  EXPECT_EQ(qwen().decode(ids), "water[SEG]<REGION> area");
}

TEST(Tokenizer, PlainTextNeverYieldsAddedTokens) {
  const std::vector<std::string> texts = {
      "[SEG]",
      "<IMG_CONTEXT>",
      "<|im_end|>",
      "Is [SEG] here? <|im_start|>user\n<img></img>",
      "<think>x</think><answer>B</answer><REGION><p>a</p><vp></vp><|end|><|endoftext|>",
      "<tool_call>"};
  for (const std::string& text : texts) {
    const auto ids = qwen().encode(text, /*allow_special=*/false);
    for (int32_t id : ids) EXPECT_FALSE(qwen().is_added_token(id)) << text << " -> id " << id;
    EXPECT_EQ(qwen().decode(ids), text);
  }
  // The same text with allow_special does contain them: the flag is what keeps them out.
  const auto with_special = qwen().encode("Is [SEG] here?");
  EXPECT_NE(std::find(with_special.begin(), with_special.end(), *qwen().token_to_id("[SEG]")),
            with_special.end());
}

TEST(Tokenizer, StreamingEqualsFullDecodeAndNeverCutsACharacter) {
  bool held_back_somewhere = false;
  for (const json& r : read_jsonl(kQwenDir + "/golden.jsonl")) {
    TextStreamer streamer(qwen());
    std::string streamed;
    for (int32_t id : ids_of(r["ids"])) {
      const std::string piece = streamer.push(id);
      EXPECT_TRUE(utf8_is_valid(piece)) << r["text"];
      if (piece.empty() && !qwen().token_bytes(id).empty()) held_back_somewhere = true;
      streamed += piece;
    }
    streamed += streamer.flush();
    EXPECT_EQ(streamed, qwen().decode(ids_of(r["ids"]))) << r["text"];
  }
  EXPECT_TRUE(held_back_somewhere) << "the Chinese/emoji records split characters over tokens";
}

TEST(Tokenizer, StreamingHoldsEmojiUntilComplete) {
  // U+1F30A (wave) is 4 bytes; push its byte tokens one at a time.
  const std::string wave = "\xF0\x9F\x8C\x8A";
  TextStreamer streamer(qwen());
  std::string out;
  for (unsigned char byte : wave) {
    // Byte tokens are the vocab entries whose decoded bytes are that single byte.
    int32_t byte_id = -1;
    for (int32_t id = 0; id < 512 && byte_id < 0; ++id) {
      if (qwen().token_bytes(id) == std::string(1, static_cast<char>(byte))) byte_id = id;
    }
    ASSERT_GE(byte_id, 0);
    out += streamer.push(byte_id);
    if (byte != 0x8A) {
      EXPECT_TRUE(out.empty());
    }
  }
  EXPECT_EQ(out, wave);
  EXPECT_EQ(streamer.flush(), "");
}

TEST(Tokenizer, StreamingFlushesAnUnfinishedCharacterAsReplacement) {
  const std::vector<int32_t> ids = qwen().encode("遥");  // one 3-byte character
  ASSERT_FALSE(ids.empty());
  int32_t lead_id = -1;
  for (int32_t id = 0; id < 512 && lead_id < 0; ++id) {
    if (qwen().token_bytes(id) == "\xE9") lead_id = id;
  }
  ASSERT_GE(lead_id, 0);
  TextStreamer streamer(qwen());
  EXPECT_EQ(streamer.push(lead_id), "");
  EXPECT_EQ(streamer.flush(), "\xEF\xBF\xBD");
  EXPECT_EQ(qwen().decode({lead_id}), "\xEF\xBF\xBD");
}

TEST(Tokenizer, InvalidUtf8InputIsReplacedNotFatal) {
  // Each maximal invalid subsequence becomes one U+FFFD before tokenisation.
  EXPECT_EQ(qwen().encode(std::string("a\xFF") + "b"),
            qwen().encode(std::string("a\xEF\xBF\xBD") + "b"));
  EXPECT_EQ(qwen().encode("x\xE2\x82"), qwen().encode("x\xEF\xBF\xBD"));
  EXPECT_EQ(qwen().encode("\xED\xA0\x80"),  // a UTF-16 surrogate: three invalid bytes
            qwen().encode("\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"));
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::string noise(rng() % 64, '\0');
    for (char& c : noise) c = static_cast<char>(rng() & 0xFF);
    const auto ids = qwen().encode(noise);
    const std::string back = qwen().decode(ids);
    EXPECT_TRUE(utf8_is_valid(back));
    EXPECT_EQ(ids, qwen().encode(utf8_repair(noise)));
  }
}

TEST(Tokenizer, DecodeSkipsUnknownIdsAndIdToTokenRejectsThem) {
  const auto hello = qwen().encode("Hello");
  std::vector<int32_t> ids = hello;
  ids.push_back(qwen().vocab_size() + 10);
  ids.push_back(-1);
  EXPECT_EQ(qwen().decode(ids), "Hello");
  EXPECT_THROW(qwen().id_to_token(qwen().vocab_size()), Error);
  EXPECT_THROW(qwen().id_to_token(-1), Error);
}

TEST(Tokenizer, LongWhitespaceRunRoundTrips) {
  const std::string spaces(200000, ' ');
  const auto ids = qwen().encode(spaces + "x");
  EXPECT_EQ(qwen().decode(ids), spaces + "x");
  EXPECT_LT(ids.size(), spaces.size() / 4);  // merged into multi-space tokens
}

// Checks every record of a golden.jsonl written by tools/testdata_tokenizer.py; returns the number
// of encode and decode records.
std::pair<int, int> expect_golden(const Tokenizer& tokenizer, const std::string& golden_path) {
  int encode_cases = 0, decode_cases = 0;
  for (const json& r : read_jsonl(golden_path)) {
    if (r["kind"] == "decode") {
      EXPECT_EQ(tokenizer.decode(ids_of(r["ids"])), r["decoded"].get<std::string>()) << r.dump();
      ++decode_cases;
      continue;
    }
    const std::string text = r.contains("text_hex") ? from_hex(r["text_hex"].get<std::string>())
                                                    : r["text"].get<std::string>();
    const bool allow_special = r["allow_special"].get<bool>();
    EXPECT_EQ(tokenizer.encode(text, allow_special), ids_of(r["ids"])) << r.dump();
    EXPECT_EQ(tokenizer.decode(ids_of(r["ids"])), r["decoded"].get<std::string>()) << r.dump();
    ++encode_cases;
  }
  return {encode_cases, decode_cases};
}

TEST(Tokenizer, TinyGoldenIds) {
  REQUIRE_TINY_TESTDATA();
  const Tokenizer tiny = Tokenizer::from_file(kTinyDir + "/tokenizer.json");
  const auto [encode_cases, decode_cases] = expect_golden(tiny, kTinyDir + "/golden.jsonl");
  EXPECT_GE(encode_cases, 40);
  EXPECT_GE(decode_cases, 5);
}

// lstrip / rstrip / single_word / normalized added tokens (all false in Qwen2's own file).
TEST(Tokenizer, TinyAddedTokenFlagsGoldenIds) {
  REQUIRE_TINY_TESTDATA();
  ASSERT_TRUE(std::filesystem::exists(kTinyDir + "/flags_golden.jsonl"))
      << "run scripts/make_testdata.sh " << TERRASCOPE_TEST_DATA;
  const Tokenizer flags = Tokenizer::from_file(kTinyDir + "/flags_tokenizer.json");
  const auto [encode_cases, decode_cases] = expect_golden(flags, kTinyDir + "/flags_golden.jsonl");
  EXPECT_GE(encode_cases, 20);
  EXPECT_EQ(decode_cases, 0);
  // The records must exercise the flags: lstrip took the spaces before <L>.
  EXPECT_EQ(flags.encode("a   <L>b"),
            (std::vector<int32_t>{*flags.token_to_id("a"), *flags.token_to_id("<L>"),
                                  *flags.token_to_id("b")}));
}

TEST(Tokenizer, TinyHasAllTerraScopeTokens) {
  REQUIRE_TINY_TESTDATA();
  const Tokenizer tiny = Tokenizer::from_file(kTinyDir + "/tokenizer.json");
  for (const char* token :
       {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>",     "</img>", "<IMG_CONTEXT>",
        "<quad>",        "</quad>",      "<ref>",      "</ref>",    "<box>",  "</box>",
        "<think>",       "</think>",     "<answer>",   "</answer>", "[SEG]",  "<REGION>",
        "<p>",           "</p>",         "<vp>",       "</vp>",     "<|end|>"}) {
    const auto id = tiny.token_to_id(token);
    ASSERT_TRUE(id.has_value()) << token;
    EXPECT_TRUE(tiny.is_added_token(*id)) << token;
    EXPECT_EQ(tiny.encode(token), std::vector<int32_t>{*id});
  }
  EXPECT_GE(tiny.vocab_size(), 300);
  EXPECT_LE(tiny.vocab_size(), 1200);
}

// --- rejected tokenizer.json files ---

// GPT-2's byte alphabet, written out independently of the code under test.
std::string byte_char(int b) {
  int shifted = 0;
  for (int x = 0; x < 256; ++x) {
    const bool printable = (x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174;
    const int cp = printable ? x : 256 + shifted++;
    if (x == b) {
      std::string s;
      if (cp < 0x80) {
        s.push_back(static_cast<char>(cp));
      } else {
        s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
      return s;
    }
  }
  return {};
}

// A minimal valid tokenizer.json in Qwen2's structure: 256 byte tokens, one merge, one added token.
json minimal_tokenizer() {
  json vocab = json::object();
  for (int b = 0; b < 256; ++b) vocab[byte_char(b)] = b;
  vocab["ab"] = 256;
  json j;
  j["version"] = "1.0";
  j["added_tokens"] = json::array({{{"id", 257},
                                    {"content", "[SEG]"},
                                    {"single_word", false},
                                    {"lstrip", false},
                                    {"rstrip", false},
                                    {"normalized", false},
                                    {"special", true}}});
  j["normalizer"] = {{"type", "NFC"}};
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       json::array(
           {{{"type", "Split"},
             {"pattern", {{"Regex", "\\p{L}+|\\p{N}|\\s+(?!\\S)|\\s+|[^\\s\\p{L}\\p{N}]+"}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"},
             {"add_prefix_space", false},
             {"trim_offsets", true},
             {"use_regex", false}}})}};
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"}, {"vocab", vocab}, {"merges", json::array({{"a", "b"}})}};
  return j;
}

class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    static int counter = 0;
    path_ = (std::filesystem::temp_directory_path() /
             ("terrascope_tokenizer_test_" + std::to_string(::getpid()) + "_" +
              std::to_string(counter++) + ".json"))
                .string();
    std::ofstream(path_, std::ios::binary) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void expect_load_error(const std::string& content, const std::string& problem) {
  TempFile file(content);
  try {
    Tokenizer::from_file(file.path());
    ADD_FAILURE() << "loaded a tokenizer.json that should fail with: " << problem;
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.path()), std::string::npos) << message;
    EXPECT_NE(message.find(problem), std::string::npos) << message;
  }
}

TEST(Tokenizer, MinimalFileLoadsAndEncodes) {
  TempFile file(minimal_tokenizer().dump());
  const Tokenizer t = Tokenizer::from_file(file.path());
  EXPECT_EQ(t.encode("ab[SEG]"), (std::vector<int32_t>{256, 257}));
  EXPECT_EQ(t.encode("ab[SEG]", false).size(), 6u);
  EXPECT_EQ(t.vocab_size(), 258);
}

TEST(Tokenizer, MissingFileIsAnError) {
  try {
    Tokenizer::from_file("/nonexistent/tokenizer.json");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/tokenizer.json: cannot open"),
              std::string::npos);
  }
}

TEST(Tokenizer, NotJsonIsAnError) {
  expect_load_error("{\"model\": ", "not valid JSON");
}

TEST(Tokenizer, TopLevelNotObjectIsAnError) {
  expect_load_error("[1, 2]", "not a JSON object");
}

TEST(Tokenizer, MissingModelIsAnError) {
  json j = minimal_tokenizer();
  j.erase("model");
  expect_load_error(j.dump(), "missing model");
}

TEST(Tokenizer, MissingVocabIsAnError) {
  json j = minimal_tokenizer();
  j["model"].erase("vocab");
  expect_load_error(j.dump(), "missing model.vocab");
}

TEST(Tokenizer, UnsupportedModelTypeIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["type"] = "WordPiece";
  expect_load_error(j.dump(), "unsupported model type \"WordPiece\"");
}

TEST(Tokenizer, BadVocabIdIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["vocab"]["ab"] = "x";
  expect_load_error(j.dump(), "model.vocab[\"ab\"] is not a valid id");
}

TEST(Tokenizer, DuplicateVocabIdIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["vocab"]["ab"] = 5;
  expect_load_error(j.dump(), "gives id 5 to both");
}

TEST(Tokenizer, SparseHugeIdIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["vocab"]["ab"] = 2000000000;
  expect_load_error(j.dump(), "token id 2000000000 is far beyond the 258 tokens");
}

TEST(Tokenizer, MissingByteTokenIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["vocab"].erase(byte_char(0));
  expect_load_error(j.dump(), "no token for byte 0x0");
}

TEST(Tokenizer, MergeOutsideVocabIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["merges"] = json::array({"b c"});
  expect_load_error(j.dump(), "model.merges[0]");
}

TEST(Tokenizer, MalformedMergeIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["merges"] = json::array({json::array({"a"})});
  expect_load_error(j.dump(), "model.merges[0] is not a pair of strings");
}

TEST(Tokenizer, ByteFallbackIsAnError) {
  json j = minimal_tokenizer();
  j["model"]["byte_fallback"] = true;
  expect_load_error(j.dump(), "model.byte_fallback is unsupported");
}

TEST(Tokenizer, UnsupportedNormalizerIsAnError) {
  json j = minimal_tokenizer();
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_load_error(j.dump(), "unsupported normalizer Lowercase");
}

TEST(Tokenizer, UnsupportedPreTokenizerIsAnError) {
  json j = minimal_tokenizer();
  j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  expect_load_error(j.dump(), "unsupported pre_tokenizer");
}

TEST(Tokenizer, BadRegexIsAnError) {
  json j = minimal_tokenizer();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "(unclosed";
  expect_load_error(j.dump(), "pre_tokenizer regex does not compile");
}

TEST(Tokenizer, MissingDecoderIsAnError) {
  json j = minimal_tokenizer();
  j["decoder"] = nullptr;
  expect_load_error(j.dump(), "unsupported decoder");
}

TEST(Tokenizer, AddedTokenWithoutContentIsAnError) {
  json j = minimal_tokenizer();
  j["added_tokens"][0].erase("content");
  expect_load_error(j.dump(), "missing added_tokens[0].content");
}

TEST(Tokenizer, AddedTokenClashingWithVocabIdIsAnError) {
  json j = minimal_tokenizer();
  j["added_tokens"][0]["id"] = 256;
  expect_load_error(j.dump(), "which model.vocab gives to \"ab\"");
}

// --- benchmark: not a test (never timed in CI); run with
//   test_model --gtest_also_run_disabled_tests --gtest_filter=Tokenizer.DISABLED_Benchmark

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Wall time and process CPU time of one call: the VM is shared, so CPU time is the steadier figure.
struct Timing {
  double wall_s;
  double cpu_s;
};

template <class F>
Timing time_call(F&& call) {
  const auto wall0 = std::chrono::steady_clock::now();
  const std::clock_t cpu0 = std::clock();
  call();
  const double cpu_s = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(), cpu_s};
}

TEST(Tokenizer, DISABLED_Benchmark) {
  std::string golden_text;
  for (const json& r : read_jsonl(kQwenDir + "/golden.jsonl")) {
    golden_text += r["text"].get<std::string>() + "\n";
  }
  std::ifstream license_file(std::string(TERRASCOPE_SOURCE_DIR) + "/LICENSE");
  std::stringstream license;
  license << license_file.rdbuf();
  auto repeat_to_1mb = [](const std::string& unit) {
    std::string s;
    while (s.size() < (1u << 20)) s += unit;
    return s;
  };
  const std::vector<std::pair<std::string, std::string>> corpora = {
      {"golden texts x N (mixed scripts)", repeat_to_1mb(golden_text)},
      {"LICENSE x N (English prose)", repeat_to_1mb(license.str())}};
  const int runs = 7;
  std::vector<double> load_wall, load_cpu;
  std::vector<std::vector<double>> enc_wall(corpora.size()), enc_cpu(corpora.size()),
      plain_cpu(corpora.size()), dec_cpu(corpora.size());
  for (int run = 0; run < runs; ++run) {
    std::optional<Tokenizer> t;
    const Timing load = time_call([&] { t = Tokenizer::from_file(kQwenDir + "/tokenizer.json"); });
    load_wall.push_back(load.wall_s);
    load_cpu.push_back(load.cpu_s);
    for (std::size_t c = 0; c < corpora.size(); ++c) {
      const std::string& text = corpora[c].second;
      const double mb = text.size() / 1e6;
      std::vector<int32_t> ids;
      const Timing enc = time_call([&] { ids = t->encode(text); });  // word cache empty at start
      enc_wall[c].push_back(mb / enc.wall_s);
      enc_cpu[c].push_back(mb / enc.cpu_s);
      plain_cpu[c].push_back(mb / time_call([&] { t->encode(text, false); }).cpu_s);
      std::string back;
      dec_cpu[c].push_back(mb / time_call([&] { back = t->decode(ids); }).cpu_s);
      if (run == 0) {
        std::printf("%s: %zu bytes -> %zu ids\n", corpora[c].first.c_str(), text.size(),
                    ids.size());
      }
    }
  }
  std::printf("load tokenizer.json: median %.3f s CPU, %.3f s wall (%d runs)\n", median(load_cpu),
              median(load_wall), runs);
  for (std::size_t c = 0; c < corpora.size(); ++c) {
    std::printf(
        "%s: encode %.1f MB/s CPU (%.1f wall), allow_special=false %.1f MB/s CPU, decode "
        "%.1f MB/s CPU (medians of %d)\n",
        corpora[c].first.c_str(), median(enc_cpu[c]), median(enc_wall[c]), median(plain_cpu[c]),
        median(dec_cpu[c]), runs);
  }
}

}  // namespace
}  // namespace terrascope
