// Generated test data the engine tests read: the tiny bundle and the reference's golden cases
// (made by scripts/make_testdata.sh into TERRASCOPE_TEST_DATA), and readers for the golden formats
// of tools/terrascope_ref/golden_inputs.py (.rgb, .mask: uint32 w, h then bytes; logits: uint32 n,
// V, then n*V float32, all little-endian).
#pragma once

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope::testdata {

inline std::string dir() {
  return TERRASCOPE_TEST_DATA;
}
inline std::string tiny_bundle() {
  return dir() + "/bundles/tiny-s0";
}
inline std::string tiny_golden() {
  return dir() + "/golden/tiny-s0";
}

inline std::string how_to_make() {
  return "generated test data missing under " + dir() + ": run scripts/make_testdata.sh " + dir();
}

inline bool read_bytes(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  out.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  return true;
}

inline uint32_t u32(const std::string& data, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(data[at + i]);
  return v;
}

// Returns false when the file is missing or malformed.
inline bool read_rgb(const std::string& path, RgbImage& image) {
  std::string data;
  if (!read_bytes(path, data) || data.size() < 8) return false;
  image.width = static_cast<int>(u32(data, 0));
  image.height = static_cast<int>(u32(data, 4));
  if (data.size() != 8 + static_cast<size_t>(image.width) * image.height * 3) return false;
  image.pixels.assign(data.begin() + 8, data.end());
  return true;
}

inline bool read_mask(const std::string& path, GrayImage& mask) {
  std::string data;
  if (!read_bytes(path, data) || data.size() < 8) return false;
  mask.width = static_cast<int>(u32(data, 0));
  mask.height = static_cast<int>(u32(data, 4));
  if (data.size() != 8 + static_cast<size_t>(mask.width) * mask.height) return false;
  mask.pixels.assign(data.begin() + 8, data.end());
  return true;
}

inline bool read_logits(const std::string& path, std::vector<std::vector<float>>& rows) {
  std::string data;
  if (!read_bytes(path, data) || data.size() < 8) return false;
  const uint32_t n = u32(data, 0), v = u32(data, 4);
  if (data.size() != 8 + static_cast<size_t>(n) * v * 4) return false;
  rows.assign(n, std::vector<float>(v));
  for (uint32_t i = 0; i < n; ++i)
    std::memcpy(rows[i].data(), data.data() + 8 + 4ull * i * v, 4ull * v);
  return true;
}

}  // namespace terrascope::testdata

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>

#include "model/sha256.h"

namespace terrascope::testdata {

// A fresh copy of the tiny bundle at `dest` (replaced if present); false if the bundle is missing.
inline bool copy_tiny_bundle(const std::string& dest) {
  namespace fs = std::filesystem;
  if (!fs::exists(tiny_bundle() + "/terrascope.json")) return false;
  fs::remove_all(dest);
  fs::create_directories(dest);
  for (const auto& entry : fs::directory_iterator(tiny_bundle())) {
    fs::copy(entry.path(), fs::path(dest) / entry.path().filename());
  }
  return true;
}

// Rewrites DIR/terrascope.json after `edit`.
inline void edit_manifest(const std::string& dir,
                          const std::function<void(nlohmann::json&)>& edit) {
  const std::string path = dir + "/terrascope.json";
  nlohmann::json m;
  {
    std::ifstream in(path);
    m = nlohmann::json::parse(in);
  }
  edit(m);
  std::ofstream out(path, std::ios::trunc);
  out << m.dump(1);
}

// The first tiny-bundle image of the golden cases (the single-image input).
inline bool golden_single_image(RgbImage& image) {
  return read_rgb(tiny_golden() + "/single_release_img0.rgb", image);
}

}  // namespace terrascope::testdata
