#include "model/utf8.h"

#include <cstdint>

namespace terrascope {
namespace {

constexpr char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Well-formed sequences, Unicode Table 3-7: the lead byte fixes the length and the range of the
// second byte; later bytes are 80..BF.
struct LeadRule {
  int length = 0;  // 0: not a lead byte
  uint8_t second_lo = 0x80;
  uint8_t second_hi = 0xBF;
};

LeadRule lead_rule(uint8_t b) {
  if (b < 0x80) return {1, 0, 0};
  if (b >= 0xC2 && b <= 0xDF) return {2, 0x80, 0xBF};
  if (b == 0xE0) return {3, 0xA0, 0xBF};
  if (b == 0xED) return {3, 0x80, 0x9F};
  if (b >= 0xE1 && b <= 0xEF) return {3, 0x80, 0xBF};
  if (b == 0xF0) return {4, 0x90, 0xBF};
  if (b >= 0xF1 && b <= 0xF3) return {4, 0x80, 0xBF};
  if (b == 0xF4) return {4, 0x80, 0x8F};
  return {};
}

enum class Scan { kComplete, kInvalid, kTruncated };

// Looks at the sequence starting at `at`; `consumed` is its length when complete, or the length of
// the maximal invalid subpart (at least 1) otherwise.
Scan scan_char(std::string_view s, std::size_t at, std::size_t* consumed) {
  const auto lead = static_cast<uint8_t>(s[at]);
  const LeadRule rule = lead_rule(lead);
  if (rule.length == 0) {
    *consumed = 1;
    return Scan::kInvalid;
  }
  for (int k = 1; k < rule.length; ++k) {
    if (at + k >= s.size()) {
      *consumed = s.size() - at;
      return Scan::kTruncated;
    }
    const auto b = static_cast<uint8_t>(s[at + k]);
    const uint8_t lo = k == 1 ? rule.second_lo : 0x80;
    const uint8_t hi = k == 1 ? rule.second_hi : 0xBF;
    if (b < lo || b > hi) {
      *consumed = k;
      return Scan::kInvalid;
    }
  }
  *consumed = rule.length;
  return Scan::kComplete;
}

}  // namespace

std::string utf8_repair(std::string_view bytes, std::size_t* incomplete_tail) {
  std::string out;
  out.reserve(bytes.size());
  if (incomplete_tail) *incomplete_tail = 0;
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (static_cast<uint8_t>(bytes[at]) < 0x80) {
      out.push_back(bytes[at++]);
      continue;
    }
    std::size_t consumed = 0;
    switch (scan_char(bytes, at, &consumed)) {
      case Scan::kComplete:
        out.append(bytes.substr(at, consumed));
        break;
      case Scan::kInvalid:
        out.append(kReplacement);
        break;
      case Scan::kTruncated:
        if (incomplete_tail) {
          *incomplete_tail = consumed;
          return out;
        }
        out.append(kReplacement);
        break;
    }
    at += consumed;
  }
  return out;
}

bool utf8_is_valid(std::string_view bytes) {
  std::size_t at = 0;
  while (at < bytes.size()) {
    if (static_cast<uint8_t>(bytes[at]) < 0x80) {
      ++at;
      continue;
    }
    std::size_t consumed = 0;
    if (scan_char(bytes, at, &consumed) != Scan::kComplete) return false;
    at += consumed;
  }
  return true;
}

}  // namespace terrascope
