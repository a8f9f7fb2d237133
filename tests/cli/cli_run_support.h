// Running the terrascope binary from CLI tests: exit code, stdout, stderr; the tiny bundle; GDAL's
// own tools and Python's jsonschema as independent checkers.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "geo/scene_test_support.h"

namespace terrascope::test {

struct CliRun {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline std::string quoted(const std::string& text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

// Runs `terrascope <arguments>` (a shell-quoted string) with stdout and stderr kept apart and
// stdin closed; the command's output files live in `scratch`.
inline CliRun run_terrascope(const std::string& arguments, const std::string& scratch) {
  CliRun run;
  const std::string out_file = scratch + "/.stdout.txt";
  const std::string err_file = scratch + "/.stderr.txt";
  const std::string command = std::string(TERRASCOPE_EXE) + " " + arguments + " >" +
                              quoted(out_file) + " 2>" + quoted(err_file) + " </dev/null";
  const int status = std::system(command.c_str());
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = read_text(out_file);
  run.err = read_text(err_file);
  return run;
}

// The tiny random bundle made by scripts/make_testdata.sh (tools/testdata_bundles.py).
inline std::string tiny_bundle() {
  const std::string dir = std::string(TERRASCOPE_TEST_DATA) + "/bundles/tiny-s0";
  EXPECT_TRUE(std::filesystem::exists(dir + "/terrascope.json"))
      << dir << " missing: run scripts/make_testdata.sh " << TERRASCOPE_TEST_DATA;
  return dir;
}

// The real-raster bench made by tools/testdata_realbench.py.
inline std::string realbench_dir() {
  const std::string dir = std::string(TERRASCOPE_TEST_DATA) + "/realbench";
  EXPECT_TRUE(std::filesystem::exists(dir + "/bench.jsonl"))
      << dir << " missing: run scripts/make_testdata.sh " << TERRASCOPE_TEST_DATA;
  return dir;
}

// A tiny-bundle run short enough for tests: few generated tokens, the release's policies.
inline std::string tiny_model_args() {
  return "--model " + quoted(tiny_bundle()) + " --max-new-tokens 40";
}

inline nlohmann::json gdalinfo_json(const std::string& path) {
  std::string out;
  EXPECT_EQ(run_command("gdalinfo -json " + quoted(path) + " 2>/dev/null", &out), 0) << path;
  return nlohmann::json::parse(out);
}

// The JSON lines of a file, parsed.
inline std::vector<nlohmann::json> read_json_lines(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// Validates `instance_path` against the repository's docs/result.schema.json with Python's
// jsonschema (Debian python3-jsonschema); returns "" when valid, else the validator's message.
inline std::string schema_errors(const std::string& instance_path) {
  const std::string schema = std::string(TERRASCOPE_SOURCE_DIR) + "/docs/result.schema.json";
  const std::string script =
      "import json,sys,jsonschema\n"
      "schema=json.load(open(sys.argv[1]))\n"
      "jsonschema.Draft7Validator.check_schema(schema)\n"
      "errors=[e.message+' at '+'/'.join(map(str,e.absolute_path)) for e in "
      "jsonschema.Draft7Validator(schema).iter_errors(json.load(open(sys.argv[2])))]\n"
      "print('\\n'.join(errors))\n"
      "sys.exit(1 if errors else 0)\n";
  std::string out;
  const int code = run_command("/usr/bin/python3 -c " + quoted(script) + " " + quoted(schema) +
                                   " " + quoted(instance_path) + " 2>&1",
                               &out);
  return code == 0 ? "" : (out.empty() ? "validator failed" : out);
}

// Every non-empty line of stderr: errors must be exactly one line.
inline int line_count(const std::string& text) {
  int lines = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) lines += line.empty() ? 0 : 1;
  return lines;
}

// The last non-empty line of a text (a run's verdict after its progress lines).
inline std::string last_line(const std::string& text) {
  std::string last;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

}  // namespace terrascope::test
