// Option groups shared by ask, batch and bench: the model (bundle, device, precision), generation
// (policy overrides, limits, sampling) and raster input (bands, presets, scaling, warping), each
// added to a subcommand in one call and turned into the engine's and raster layer's structs.
#pragma once

#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "terrascope/model.h"
#include "terrascope/scene.h"

namespace terrascope::cli {

// A usage error found after parsing (a combination CLI11 cannot express): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// --- model ---
struct ModelArgs {
  std::string bundle_dir;  // --model (or $TERRASCOPE_MODEL)
  std::string device = "cpu";
  std::string dtype = "fp32";
};
void add_model_options(CLI::App& cmd, ModelArgs& args);

struct LoadedModel {
  std::shared_ptr<const Model> model;
  ModelInfo info;
  std::string bundle_sha256;  // sha256 of terrascope.json, which pins every file's sha256
  double load_ms = 0;
};
LoadedModel load_model(const ModelArgs& args);

// --- generation: policy overrides, limits, sampling ---
struct GenerationArgs {
  std::optional<int> region_cap;
  std::optional<std::string> region_selection, frame_choice, sar_fusion;
  std::optional<int> max_new_tokens, max_seg_rounds;
  bool no_region_injection = false;
  double temperature = 0.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
};
void add_generation_options(CLI::App& cmd, GenerationArgs& args);
// The model's defaults (manifest) with the overrides applied.
AskParams ask_params(const Model& model, const GenerationArgs& args);
nlohmann::json params_json(const AskParams& params);

// --- raster input ---
struct RasterArgs {
  std::string bands;   // "4,3,2"
  std::string preset;  // "", rgb, sentinel2, landsat8, landsat9
  std::string scaling = "auto";
  std::vector<double> range;       // MIN MAX
  std::vector<double> percentile;  // LOW HIGH
  int max_side = 1024;
  bool warp = false;
  std::string sar_bands;         // "VH,VV" as 1-based indices
  std::vector<double> db_range;  // MIN MAX dB
  bool sar_linear = false;
  std::string complex_rule;  // "" | intensity
};
void add_raster_options(CLI::App& cmd, RasterArgs& args);
SceneOptions optical_scene_options(const RasterArgs& args);
SceneOptions sar_scene_options(const RasterArgs& args);

// Which rasters make up one question's imagery.
struct SceneInputs {
  std::string image;                // one optical image
  std::string sar;                  // optional SAR image of the same place
  std::vector<std::string> frames;  // a time series instead of `image`
  std::string mode() const;         // "single", "sar" or "series"
};
// Reads the rasters (time series / pair rules and warping of the raster layer). Errors name the
// file.
Scene read_scene(const SceneInputs& inputs, const RasterArgs& args);

// The images as the model takes them.
std::vector<RgbImage> model_frames(const Scene& scene);
std::optional<RgbImage> model_sar(const Scene& scene);

// Splits "A. text" into its letter and text; nullopt when the option carries no letter.
struct LetteredOption {
  char letter;
  std::string text;
};
std::optional<LetteredOption> split_option_letter(const std::string& option);
// Options as the engine takes them (texts, lettered A, B, ... by position): either all written as
// "A. text" (keys sorted as the release sorts candidates; they must then run A, B, C, ...) or all
// plain texts. Throws Error(subject, ...) otherwise.
std::vector<std::string> option_texts(const std::vector<std::string>& options,
                                      const std::string& subject);

// An error message as one line (libtorch's messages carry backtraces over several lines): the first
// non-blank line, trimmed.
std::string one_line(const std::string& message);

// Runs a subcommand body with the CLI's exit codes: 0/1 as it returns, 2 for a UsageError, 1 with
// "terrascope: <one line>" on stderr for any other exception.
int run_with_exit_codes(const char* command, const std::function<int()>& body);

// Milliseconds since `start` (steady clock).
double elapsed_ms(std::chrono::steady_clock::time_point start);

}  // namespace terrascope::cli
