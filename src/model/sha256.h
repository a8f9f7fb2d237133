// SHA-256 of files and byte strings (FIPS 180-4), for verifying bundle files against the manifest.
#pragma once

#include <string>

namespace terrascope {

// Lower-case hex digest of `data`.
std::string sha256_hex(const std::string& data);

// Lower-case hex digest of the file at `path`, streamed; throws terrascope::Error if unreadable.
std::string sha256_file_hex(const std::string& path);

}  // namespace terrascope
