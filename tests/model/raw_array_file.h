// Reads the `.tsra` arrays tools/testdata_resample.py writes (PIL and Python-reference outputs for
// the preprocessing tests): "TSRA", a type byte ('u' uint8, 'f' float32), 3 zero bytes, uint32
// rank, uint32 dims, row-major little-endian data. Test-only; the model library reads no image
// files.
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "terrascope/error.h"
#include "terrascope/image.h"

namespace terrascope::testing {

struct RawArray {
  char type = 0;  // 'u' or 'f'
  std::vector<int64_t> dims;
  std::vector<uint8_t> bytes;

  int64_t elements() const {
    int64_t n = 1;
    for (int64_t d : dims) n *= d;
    return n;
  }
};

inline uint32_t read_u32(const std::vector<uint8_t>& data, size_t offset) {
  return static_cast<uint32_t>(data[offset]) | static_cast<uint32_t>(data[offset + 1]) << 8 |
         static_cast<uint32_t>(data[offset + 2]) << 16 |
         static_cast<uint32_t>(data[offset + 3]) << 24;
}

inline RawArray read_raw_array(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(path, "cannot open (run scripts/make_testdata.sh BUILD_DIR/testdata)");
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  if (data.size() < 12 || std::memcmp(data.data(), "TSRA", 4) != 0) {
    throw Error(path, "not a TSRA array");
  }
  RawArray array;
  array.type = static_cast<char>(data[4]);
  const uint32_t rank = read_u32(data, 8);
  size_t offset = 12;
  if (data.size() < offset + 4 * rank) throw Error(path, "truncated header");
  for (uint32_t i = 0; i < rank; ++i, offset += 4) array.dims.push_back(read_u32(data, offset));
  const size_t element_size = array.type == 'f' ? 4 : 1;
  if (data.size() - offset != static_cast<size_t>(array.elements()) * element_size) {
    throw Error(path, "data size does not match the dimensions");
  }
  array.bytes.assign(data.begin() + static_cast<std::ptrdiff_t>(offset), data.end());
  return array;
}

// An H x W x 3 uint8 array as an RgbImage.
inline RgbImage read_rgb(const std::string& path) {
  RawArray array = read_raw_array(path);
  if (array.type != 'u' || array.dims.size() != 3 || array.dims[2] != 3) {
    throw Error(path, "not an H x W x 3 uint8 image");
  }
  RgbImage image;
  image.height = static_cast<int>(array.dims[0]);
  image.width = static_cast<int>(array.dims[1]);
  image.pixels = std::move(array.bytes);
  return image;
}

// An H x W x 1 uint8 array as a GrayImage.
inline GrayImage read_gray(const std::string& path) {
  RawArray array = read_raw_array(path);
  if (array.type != 'u' || array.dims.size() != 3 || array.dims[2] != 1) {
    throw Error(path, "not an H x W x 1 uint8 image");
  }
  GrayImage image;
  image.height = static_cast<int>(array.dims[0]);
  image.width = static_cast<int>(array.dims[1]);
  image.pixels = std::move(array.bytes);
  return image;
}

// Float32 data of an 'f' array.
inline std::vector<float> floats_of(const RawArray& array) {
  std::vector<float> values(static_cast<size_t>(array.elements()));
  std::memcpy(values.data(), array.bytes.data(), values.size() * sizeof(float));
  return values;
}

inline std::string resample_dir() {
  return std::string(TERRASCOPE_TEST_DATA) + "/resample/";
}

// The cases of the resample test data (tools/testdata_resample.py) whose "kind" is `kind`.
inline nlohmann::json resample_cases(const std::string& kind) {
  std::ifstream file(resample_dir() + "cases.json");
  if (!file) throw Error(resample_dir() + "cases.json", "missing: run scripts/make_testdata.sh");
  nlohmann::json selected = nlohmann::json::array();
  for (const auto& c : nlohmann::json::parse(file)) {
    if (c["kind"] == kind) selected.push_back(c);
  }
  return selected;
}

}  // namespace terrascope::testing
