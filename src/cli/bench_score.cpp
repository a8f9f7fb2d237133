#include "cli/bench_score.h"

#include <utf8proc.h>

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

// One decoded character of a UTF-8 string: its code point and byte span. Invalid bytes decode
// as U+FFFD one byte at a time (the model's text is repaired UTF-8, so this is a safety net).
struct Char {
  int32_t code = 0;
  size_t begin = 0, end = 0;
};

std::vector<Char> decode_utf8(std::string_view text) {
  std::vector<Char> chars;
  size_t pos = 0;
  while (pos < text.size()) {
    utf8proc_int32_t code = 0;
    const utf8proc_ssize_t n =
        utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(text.data() + pos),
                         static_cast<utf8proc_ssize_t>(text.size() - pos), &code);
    if (n <= 0) {
      chars.push_back({0xFFFD, pos, pos + 1});
      pos += 1;
    } else {
      chars.push_back({code, pos, pos + static_cast<size_t>(n)});
      pos += static_cast<size_t>(n);
    }
  }
  return chars;
}

// Python's str.isspace() / the re module's \s on str: Unicode White_Space plus the separators
// U+001C..U+001F that Python counts as whitespace.
bool is_python_space(int32_t c) {
  if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F)) return true;
  if (c < 0x80) return false;
  if (c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 ||
      c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000) {
    return true;
  }
  return false;
}

// Python's re \w on str: letters and numbers of any script, and the underscore.
bool is_python_word(int32_t c) {
  if (c == '_') return true;
  if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

// Python's str.strip() with no argument.
std::string python_strip(std::string_view text) {
  const std::vector<Char> chars = decode_utf8(text);
  size_t first = 0, last = chars.size();
  while (first < last && is_python_space(chars[first].code)) ++first;
  while (last > first && is_python_space(chars[last - 1].code)) --last;
  if (first == last) return "";
  return std::string(text.substr(chars[first].begin, chars[last - 1].end - chars[first].begin));
}

// Python's str.upper() with simple (one-to-one) case mappings; the release compares upper-cased
// answers, which for option letters and ASCII text is the same.
std::string python_upper(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const Char& ch : decode_utf8(text)) {
    if (ch.code < 0x80) {
      const char c = static_cast<char>(ch.code);
      out += (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
      continue;
    }
    utf8proc_uint8_t buffer[4];
    const utf8proc_ssize_t n = utf8proc_encode_char(utf8proc_toupper(ch.code), buffer);
    out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(n));
  }
  return out;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Position of `needle` (ASCII, lower case) in `text` at or after `from`, ASCII case-insensitive.
size_t find_ignore_case(std::string_view text, std::string_view needle, size_t from) {
  if (needle.size() > text.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= text.size(); ++i) {
    bool match = true;
    for (size_t k = 0; k < needle.size() && match; ++k) {
      match = ascii_lower(text[i + k]) == needle[k];
    }
    if (match) return i;
  }
  return std::string_view::npos;
}

// The raw content between the first "<answer>" and the first "</answer>" after it (the release's
// non-greedy `<answer>(.*?)</answer>` with DOTALL and IGNORECASE).
std::optional<std::string_view> answer_block_raw(std::string_view text) {
  const size_t open = find_ignore_case(text, "<answer>", 0);
  if (open == std::string_view::npos) return std::nullopt;
  const size_t begin = open + 8;
  const size_t close = find_ignore_case(text, "</answer>", begin);
  if (close == std::string_view::npos) return std::nullopt;
  return text.substr(begin, close - begin);
}

bool is_option_letter(int32_t c) {
  return (c >= 'A' && c <= 'D') || (c >= 'a' && c <= 'd');
}

std::string upper_letter(int32_t c) {
  return std::string(1, static_cast<char>(c >= 'a' ? c - 'a' + 'A' : c));
}

}  // namespace

std::optional<std::string> answer_block(const std::string& text) {
  const std::optional<std::string_view> raw = answer_block_raw(text);
  if (!raw) return std::nullopt;
  return python_strip(*raw);
}

ScoringRule parse_scoring_rule(const std::string& name) {
  if (name == "release") return ScoringRule::kRelease;
  if (name == "standalone") return ScoringRule::kStandaloneLetter;
  throw Error("--scoring", "unknown rule '" + name + "' (release, standalone)");
}

const char* scoring_rule_name(ScoringRule rule) {
  return rule == ScoringRule::kRelease ? "release" : "standalone";
}

Prediction predict_option(const std::string& response, ScoringRule rule) {
  Prediction prediction;
  if (rule == ScoringRule::kStandaloneLetter) {
    const std::optional<std::string_view> inner = answer_block_raw(response);
    if (!inner) return prediction;
    const std::vector<Char> chars = decode_utf8(*inner);
    for (size_t i = 0; i < chars.size(); ++i) {
      if (!is_option_letter(chars[i].code)) continue;
      const bool boundary_before = i == 0 || !is_python_word(chars[i - 1].code);
      const bool boundary_after = i + 1 == chars.size() || !is_python_word(chars[i + 1].code);
      if (boundary_before && boundary_after) {
        prediction.value = upper_letter(chars[i].code);
        prediction.letter = true;
        return prediction;
      }
    }
    return prediction;
  }
  // infer_terrascope_bench.extract_answer(): None for an empty response, which the evaluation
  // turns into "" (its fallback parse finds nothing in an empty text).
  if (response.empty()) return prediction;
  const std::optional<std::string> block = answer_block(response);
  const std::string raw = block ? *block : python_strip(response);
  // re.match(r"^\s*([A-Da-d])[\.\)]?\s*", raw): only the first character matters.
  if (!raw.empty() && is_option_letter(static_cast<unsigned char>(raw[0]))) {
    prediction.value = upper_letter(static_cast<unsigned char>(raw[0]));
    prediction.letter = true;
    return prediction;
  }
  // norm_ans() of the raw text: no leading letter here, so the stripped text in upper case.
  prediction.value = python_upper(python_strip(raw));
  return prediction;
}

std::string normalise_ground_truth(const std::string& answer) {
  const std::string s = python_strip(answer);
  // re.match(r"\s*([A-D])\b", s, re.IGNORECASE)
  const std::vector<Char> chars = decode_utf8(s);
  if (!chars.empty() && is_option_letter(chars[0].code) &&
      (chars.size() == 1 || !is_python_word(chars[1].code))) {
    return upper_letter(chars[0].code);
  }
  return python_upper(s);
}

bool prediction_correct(const Prediction& prediction, const std::string& ground_truth) {
  const std::string truth = normalise_ground_truth(ground_truth);
  return !truth.empty() && prediction.value == truth;
}

int paper_task_rank(const std::string& task) {
  static const char* const kOrder[] = {"CA", "AQ", "CR", "BRD", "DM", "BCE"};
  for (int i = 0; i < 6; ++i) {
    if (task == kOrder[i]) return i;
  }
  return -1;
}

void BenchTally::add(const std::string& task, bool correct, bool letter,
                     std::optional<double> iou) {
  for (TaskScore* score : {&per_task_[task], &overall_}) {
    score->total += 1;
    score->correct += correct ? 1 : 0;
    score->unparsable += letter ? 0 : 1;
  }
  per_task_[task].task = task;
  if (iou) {
    iou_sum_ += *iou;
    iou_n_ += 1;
    if (correct) {
      iou_sum_correct_ += *iou;
      iou_n_correct_ += 1;
    } else {
      iou_sum_wrong_ += *iou;
      iou_n_wrong_ += 1;
    }
  }
}

void BenchTally::add_unanswered(std::optional<double> iou) {
  unanswered_ += 1;
  if (!iou) return;
  iou_sum_ += *iou;
  iou_n_ += 1;
}

void BenchTally::add_mask_ious(const std::vector<double>& ious) {
  for (const double v : ious) mask_iou_sum_ += v;
  mask_n_ += static_cast<int>(ious.size());
}

std::vector<TaskScore> BenchTally::tasks() const {
  std::vector<TaskScore> out;
  for (const auto& [name, score] : per_task_) out.push_back(score);
  std::stable_sort(out.begin(), out.end(), [](const TaskScore& a, const TaskScore& b) {
    const int ra = paper_task_rank(a.task), rb = paper_task_rank(b.task);
    if ((ra < 0) != (rb < 0)) return ra >= 0;  // the paper's tasks first
    if (ra >= 0) return ra < rb;
    return a.task < b.task;
  });
  return out;
}

TaskScore BenchTally::overall() const {
  TaskScore all = overall_;
  all.task = "overall";
  return all;
}

double BenchTally::macro_accuracy() const {
  if (per_task_.empty()) return 0.0;
  double sum = 0;
  for (const auto& [name, score] : per_task_) sum += score.accuracy();
  return sum / static_cast<double>(per_task_.size());
}

IouSummary BenchTally::iou() const {
  IouSummary s;
  s.samples = iou_n_;
  s.mean = iou_n_ > 0 ? iou_sum_ / iou_n_ : 0.0;
  s.masks = mask_n_;
  s.mean_per_mask = mask_n_ > 0 ? mask_iou_sum_ / mask_n_ : 0.0;
  s.correct_samples = iou_n_correct_;
  s.mean_correct = iou_n_correct_ > 0 ? iou_sum_correct_ / iou_n_correct_ : 0.0;
  s.wrong_samples = iou_n_wrong_;
  s.mean_wrong = iou_n_wrong_ > 0 ? iou_sum_wrong_ / iou_n_wrong_ : 0.0;
  return s;
}

GrayImage decode_coco_rle(int height, int width, const std::vector<long long>& counts,
                          const std::string& subject) {
  if (height <= 0 || width <= 0) {
    throw Error(subject, "RLE size " + std::to_string(height) + "x" + std::to_string(width) +
                             " is not positive");
  }
  const long long total = static_cast<long long>(height) * width;
  GrayImage mask;
  mask.width = width;
  mask.height = height;
  mask.pixels.assign(static_cast<size_t>(total), 0);
  long long pos = 0;
  uint8_t value = 0;
  for (const long long run : counts) {
    if (run < 0 || run > total - pos) {
      throw Error(subject, "RLE runs do not fit a " + std::to_string(height) + "x" +
                               std::to_string(width) + " mask");
    }
    if (value) {
      // Runs are column-major: pixel k is (row k % h, column k / h).
      for (long long k = pos; k < pos + run; ++k) {
        mask.pixels[static_cast<size_t>((k % height) * width + k / height)] = 1;
      }
    }
    pos += run;
    value ^= 1;
  }
  if (pos != total) {
    throw Error(subject, "RLE runs cover " + std::to_string(pos) + " of " + std::to_string(total) +
                             " pixels");
  }
  return mask;
}

GrayImage decode_coco_rle(int height, int width, const std::string& compressed,
                          const std::string& subject) {
  // pycocotools' rleFrString: 5-bit little-endian groups (+48), 0x20 = more groups, sign from
  // bit 0x10 of the last group; from the third count on, deltas against the count two before.
  std::vector<long long> counts;
  size_t p = 0;
  while (p < compressed.size()) {
    long long x = 0;
    int k = 0;
    bool more = true;
    while (more) {
      if (p >= compressed.size()) throw Error(subject, "RLE string ends inside a count");
      const int c = static_cast<unsigned char>(compressed[p]) - 48;
      if (c < 0 || c > 63) throw Error(subject, "RLE string has a character outside '0'..'o'");
      if (k >= 12) throw Error(subject, "RLE count too long");
      x |= static_cast<long long>(c & 0x1F) << (5 * k);
      more = (c & 0x20) != 0;
      ++p;
      ++k;
      if (!more && (c & 0x10)) x |= static_cast<long long>(~0ULL << (5 * k));  // sign-extend
    }
    if (counts.size() > 2) x += counts[counts.size() - 2];
    counts.push_back(x);
  }
  return decode_coco_rle(height, width, counts, subject);
}

double mask_iou(const GrayImage& predicted, const GrayImage& truth) {
  // Nearest neighbour by pixel centres: source index floor((i + 0.5) * source / target).
  auto source_index = [](int i, int source, int target) {
    return static_cast<int>((2LL * i + 1) * source / (2LL * target));
  };
  const bool has_prediction = predicted.width > 0 && predicted.height > 0;
  long long intersection = 0, uni = 0;
  for (int y = 0; y < truth.height; ++y) {
    const int py = has_prediction ? source_index(y, predicted.height, truth.height) : 0;
    for (int x = 0; x < truth.width; ++x) {
      const bool p =
          has_prediction && predicted.pixels[static_cast<size_t>(py) * predicted.width +
                                             source_index(x, predicted.width, truth.width)] != 0;
      const bool t = truth.pixels[static_cast<size_t>(y) * truth.width + x] != 0;
      intersection += (p && t) ? 1 : 0;
      uni += (p || t) ? 1 : 0;
    }
  }
  return uni == 0 ? 1.0 : static_cast<double>(intersection) / static_cast<double>(uni);
}

}  // namespace terrascope::cli
