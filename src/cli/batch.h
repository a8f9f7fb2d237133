// terrascope batch: many scenes x many questions with one loaded model. The pure parts (what the
// work is, how shards split it, which items a result file already holds) are here for tests; the
// command is in batch.cpp.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "cli/cli_options.h"
#include "terrascope/model.h"

namespace terrascope::cli {

// One scene of a batch: an id (its path relative to the input folder or as listed) and its
// rasters.
struct BatchScene {
  std::string id;
  SceneInputs inputs;
};

// --inputs: a folder (its rasters, recursively, sorted by relative path), or a list file with one
// scene per line: a path (relative to the list's folder), or a JSON object {"id", "image", "sar",
// "frames"} for pairs and time series. Blank lines and lines starting with '#' are skipped. Throws
// Error naming the folder, or the list's file and line.
std::vector<BatchScene> list_batch_scenes(const std::string& inputs);

struct BatchQuestion {
  std::string id;
  Question question;
};

// --questions q.jsonl: {"id": "...", "question": "...", "options": ["...", ...] or {"A": ...}}
// per line (id defaults to "q<line>"). Throws Error naming file and line.
std::vector<BatchQuestion> read_batch_questions(const std::string& path);

// --shard i/n: this process does shard i (0-based) of n.
struct Shard {
  int index = 0;
  int count = 1;
};
Shard parse_shard(const std::string& text);  // Error for anything but 0 <= i < n

// A scene's shard: FNV-1a (64-bit) of its id modulo n. It depends only on the id, so every
// machine of a job array computes the same split from its own listing, and all questions about a
// scene stay on one machine (its image features are computed once).
int shard_of(const std::string& scene_id, int count);
uint64_t fnv1a64(const std::string& text);

// An item's id in results: "<scene id>#<question id>".
std::string batch_item_id(const std::string& scene_id, const std::string& question_id);

// Ids of the items a result file already holds, and how many of them failed.
struct FinishedItems {
  std::set<std::string> ids;
  int failed = 0;
};
FinishedItems finished_items(const std::string& results_path);

}  // namespace terrascope::cli
