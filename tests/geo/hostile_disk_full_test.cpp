// Nothing lost (issue 8): writers on a full disk and on a read-only directory end with an Error
// naming the output and leave neither a truncated file nor a temporary one; an older file at the
// destination stays as it was. The full disk is a real one: a 64 KiB tmpfs mounted for the test
// (needs root and mount(2); skipped otherwise, with the reason).
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <set>
#include <string>

#include "geo/scene_test_support.h"
#include "terrascope/error.h"
#include "terrascope/mask_overlay.h"
#include "terrascope/mask_polygons.h"
#include "terrascope/mask_writer.h"

namespace terrascope {
namespace {

namespace fs = std::filesystem;

// A small tmpfs mounted on a fresh directory, unmounted at the end.
class SmallTmpfs {
 public:
  explicit SmallTmpfs(const std::string& options) {
    if (::geteuid() != 0) {
      reason_ = "not root";
      return;
    }
    if (::mount("terrascope_test", dir_.path().c_str(), "tmpfs", 0, options.c_str()) != 0) {
      reason_ = std::string("mount -t tmpfs failed: ") + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~SmallTmpfs() {
    if (mounted_) ::umount2(dir_.path().c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  const std::string& reason() const { return reason_; }
  std::string file(const std::string& name) const { return dir_.file(name); }
  std::set<std::string> entries() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path())) names.insert(e.path().filename());
    return names;
  }

 private:
  test::TempDir dir_;
  bool mounted_ = false;
  std::string reason_;
};

std::string error_of(const std::function<void()>& write) {
  try {
    write();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

// Noise compresses badly: a 1500 x 1500 0/1 mask is far more than 64 KiB as DEFLATE GeoTIFF.
GrayImage noise_mask(int side) {
  GrayImage mask{side, side, std::vector<uint8_t>(static_cast<size_t>(side) * side)};
  std::mt19937 random(7);
  for (auto& p : mask.pixels) p = random() & 1;
  return mask;
}

RasterGrid grid_of(int side) {
  RasterGrid grid;
  grid.width = grid.height = side;
  grid.geotransform = {500000.0, 10.0, 0.0, 4000000.0, 0.0, -10.0};
  grid.has_geotransform = true;
  return grid;
}

void fill_disk(const SmallTmpfs& disk) {
  std::ofstream filler(disk.file("filler"), std::ios::binary);
  const std::string block(4096, 'x');
  for (int i = 0; i < 64 && filler; ++i) filler << block;
}

TEST(HostileDiskFull, MaskGeotiffOnAFullDiskIsAnErrorAndKeepsTheOldFile) {
  SmallTmpfs disk("size=64k");
  if (!disk.mounted()) GTEST_SKIP() << disk.reason();
  const std::string out = disk.file("mask.tif");
  std::ofstream(out) << "previous run";
  const std::string message =
      error_of([&] { write_mask_geotiff(out, grid_of(1500), noise_mask(1500)); });
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  EXPECT_EQ(disk.entries(), std::set<std::string>{"mask.tif"});  // no temporary file left
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "previous run");
}

TEST(HostileDiskFull, PolygonsAndOverlayOnAFullDiskAreErrorsWithNothingLeft) {
  SmallTmpfs disk("size=64k");
  if (!disk.mounted()) GTEST_SKIP() << disk.reason();
  fill_disk(disk);
  const GrayImage mask = noise_mask(300);
  for (const std::string name : {"mask.geojson", "mask.gpkg", "overlay.png", "mask.tif"}) {
    const std::string out = disk.file(name);
    const std::string message = error_of([&] {
      if (name == "mask.geojson") write_mask_geojson(out, grid_of(300), mask);
      if (name == "mask.gpkg") write_mask_geopackage(out, grid_of(300), mask);
      if (name == "mask.tif") write_mask_geotiff(out, grid_of(300), mask);
      if (name == "overlay.png") {
        RgbImage scene{300, 300, std::vector<uint8_t>(300 * 300 * 3, 90)};
        write_overlay_png(out, scene, {{"water", mask}});
      }
    });
    EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << name << ": " << message;
    EXPECT_EQ(disk.entries(), std::set<std::string>{"filler"}) << name;
  }
}

TEST(HostileDiskFull, ReadOnlyDirectoryIsAnErrorNamingTheOutput) {
  SmallTmpfs disk("size=64k");
  if (!disk.mounted()) GTEST_SKIP() << disk.reason();
  std::ofstream(disk.file("mask.tif")) << "previous run";
  // Remount read-only: root's permission bits do not stop root, a read-only mount does.
  ASSERT_EQ(::mount("terrascope_test", disk.file("").c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY,
                    "size=64k"),
            0)
      << std::strerror(errno);
  const std::string out = disk.file("mask.tif");
  const std::string message =
      error_of([&] { write_mask_geotiff(out, grid_of(16), noise_mask(16)); });
  EXPECT_EQ(message.rfind(out + ": ", 0), 0u) << message;
  std::ifstream in(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "previous run");
}

}  // namespace
}  // namespace terrascope
