#include "geo/atomic_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "rasters_out_support.h"
#include "terrascope/error.h"

namespace terrascope {
namespace {

using test::error_of;
using test::ScratchDir;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

TEST(AtomicFile, TempFileSitsBesideDestinationWithItsExtension) {
  ScratchDir dir;
  geo::AtomicFile file(dir.file("mask.gpkg"));
  const std::filesystem::path temp(file.temp_path());
  EXPECT_EQ(temp.parent_path().string(), dir.path());
  EXPECT_EQ(temp.extension().string(), ".gpkg");
  EXPECT_NE(temp.filename().string(), "mask.gpkg");
  EXPECT_EQ(temp.filename().string()[0], '.');
}

TEST(AtomicFile, CommitMovesTheFinishedFileIntoPlace) {
  ScratchDir dir;
  {
    geo::AtomicFile file(dir.file("out.txt"));
    write_text(file.temp_path(), "finished");
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.txt")));
    file.commit();
  }
  EXPECT_EQ(read_text(dir.file("out.txt")), "finished");
  EXPECT_EQ(dir.entries(), std::set<std::string>{"out.txt"});
}

TEST(AtomicFile, CommitReplacesAnOlderFile) {
  ScratchDir dir;
  write_text(dir.file("out.txt"), "old");
  geo::AtomicFile file(dir.file("out.txt"));
  write_text(file.temp_path(), "new");
  file.commit();
  EXPECT_EQ(read_text(dir.file("out.txt")), "new");
}

TEST(AtomicFile, UncommittedFileLeavesNothingBehind) {
  ScratchDir dir;
  {
    geo::AtomicFile file(dir.file("out.txt"));
    write_text(file.temp_path(), "partial");
    write_text(file.temp_path() + ".aux.xml", "side file");
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, MissingDirectoryIsAnErrorNamingThePath) {
  ScratchDir dir;
  const std::string path = dir.file("no_such_dir/out.txt");
  const std::string message = error_of([&] { geo::AtomicFile file(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
}

// Tests run as root, for whom permission bits do not stop writing; a regular file used as a
// directory cannot hold files for anybody.
TEST(AtomicFile, RegularFileAsDirectoryIsAnError) {
  ScratchDir dir;
  write_text(dir.file("plain_file"), "x");
  const std::string path = dir.file("plain_file/out.txt");
  const std::string message = error_of([&] { geo::AtomicFile file(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("not a directory"), std::string::npos) << message;
  EXPECT_EQ(dir.entries(), std::set<std::string>{"plain_file"});
}

TEST(AtomicFile, FailedRenameIsAnErrorAndRemovesTheTempFile) {
  ScratchDir dir;
  // The destination is a non-empty directory: rename(2) cannot replace it, even for root.
  std::filesystem::create_directory(dir.file("taken.txt"));
  write_text(dir.file("taken.txt/inside"), "x");
  geo::AtomicFile file(dir.file("taken.txt"));
  write_text(file.temp_path(), "finished");
  const std::string message = error_of([&] { file.commit(); });
  EXPECT_NE(message.find(dir.file("taken.txt")), std::string::npos) << message;
  EXPECT_EQ(dir.entries(), std::set<std::string>{"taken.txt"});
}

TEST(AtomicFile, PathThroughARegularFileIsAnError) {
  ScratchDir dir;
  write_text(dir.file("plain_file"), "x");
  const std::string path = dir.file("plain_file/sub/out.txt");
  const std::string message = error_of([&] { geo::AtomicFile file(path); });
  EXPECT_EQ(message.rfind(path + ": output directory", 0), 0u) << message;
}

TEST(AtomicFile, PathEndingInASlashIsAnError) {
  ScratchDir dir;
  const std::string path = dir.path() + "/";
  const std::string message = error_of([&] { geo::AtomicFile file(path); });
  EXPECT_NE(message.find("names a directory, not a file"), std::string::npos) << message;
}

TEST(AtomicFile, EmptyPathIsAnError) {
  EXPECT_THROW(geo::AtomicFile file(""), Error);
}

}  // namespace
}  // namespace terrascope
