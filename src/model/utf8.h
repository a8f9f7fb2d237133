// UTF-8 repair shared by the tokenizer (input text, decoded text) and the text streamer.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace terrascope {

// `bytes` with each maximal invalid subsequence replaced by U+FFFD (Unicode's "maximal subpart"
// practice, as Rust's String::from_utf8_lossy and Python's bytes.decode(errors="replace") do).
// With `incomplete_tail` set, a trailing sequence that is a valid but unfinished character is not
// replaced: it is left out of the result and its length in bytes is stored there.
std::string utf8_repair(std::string_view bytes, std::size_t* incomplete_tail = nullptr);

// True when `bytes` is well-formed UTF-8.
bool utf8_is_valid(std::string_view bytes);

}  // namespace terrascope
