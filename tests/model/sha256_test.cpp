#include "model/sha256.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace terrascope {

// Digests from FIPS 180-4's examples / coreutils sha256sum.
TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileMatchesSha256sum) {
  std::string path = ::testing::TempDir() + "/sha256_file.bin";
  {
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 3000000; ++i) out.put(static_cast<char>(i * 7 % 251));
  }
  std::string cmd = "sha256sum " + path + " > " + path + ".sum";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream sum(path + ".sum");
  std::string expected;
  sum >> expected;
  EXPECT_EQ(sha256_file_hex(path), expected);
}

TEST(Sha256, MissingFileThrowsNamingIt) {
  try {
    sha256_file_hex("/nonexistent/file.pt");
    FAIL() << "no exception";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/file.pt"), std::string::npos);
  }
}

}  // namespace terrascope
