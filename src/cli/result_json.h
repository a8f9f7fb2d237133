// One answered question as files: result.json (docs/result.schema.json) and the rasters and
// vectors it names: one mask GeoTIFF per [SEG] and frame on the input's grid, the masks as GeoJSON
// polygons, and an overlay PNG per frame. Shared by ask (--out / --json) and batch (per item).
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/cli_options.h"
#include "terrascope/model.h"
#include "terrascope/scene.h"

namespace terrascope::cli {

inline constexpr const char* kResultSchemaId = "terrascope-result/1";

// The answer as people read it: the <answer> block, and for a multiple-choice question the option
// letter (the release's parse: infer_terrascope_bench.extract_answer) when it names an option.
struct ParsedAnswer {
  std::optional<std::string> answer;  // <answer> content, trimmed; nullopt without a block
  std::optional<char> option;         // 'A'.. within the question's options
  std::string option_text;
};
ParsedAnswer parse_answer(const std::string& text, const Question& question);

// What a result needs besides the answer.
struct ResultContext {
  Question question;
  SceneInputs inputs;
  const Scene* scene = nullptr;
  const LoadedModel* model = nullptr;
  AskParams params;
  double read_ms = 0;  // reading the rasters
  double load_ms = 0;  // loading the model (0 when shared, as in a batch)
};

struct ResultOutputs {
  bool masks = true;     // mask GeoTIFFs
  bool polygons = true;  // GeoJSON
  bool overlay = true;   // overlay PNG(s)
};

// Builds result.json's content. With `dir` non-empty, also writes the masks, polygons and overlays
// there (the directory must exist) and result.json last, each file atomically; file names in the
// JSON are relative to `dir` (null when not written). Throws Error naming the file that failed.
nlohmann::json write_result(const ResultContext& context, const Answer& answer,
                            const std::string& dir, const ResultOutputs& outputs = {});

}  // namespace terrascope::cli
