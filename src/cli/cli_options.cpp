#include "cli/cli_options.h"

#include <algorithm>
#include <filesystem>
#include <iostream>

#include "model/sha256.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

// CLI11 validator around a parser that throws terrascope::Error: a bad value is a usage error.
CLI::Validator error_checked(const std::string& description,
                             std::function<void(const std::string&)> parse) {
  return CLI::Validator(
      [parse](std::string& value) -> std::string {
        try {
          parse(value);
        } catch (const Error& e) {
          return e.what();
        }
        return {};
      },
      description);
}

Scaling parse_scaling(const std::string& name) {
  if (name == "auto") return Scaling::kAuto;
  if (name == "as-is") return Scaling::kAsIs;
  if (name == "range") return Scaling::kRange;
  if (name == "percentile") return Scaling::kPercentile;
  if (name == "db") return Scaling::kDecibel;
  throw Error("--scaling", "unknown rule '" + name + "'");
}

void check_pair(const std::vector<double>& values, const char* option) {
  if (!values.empty() && !(values[0] < values[1])) {
    throw UsageError(std::string(option) + ": the first value must be below the second");
  }
}

}  // namespace

std::string one_line(const std::string& message) {
  size_t start = 0;
  while (start < message.size()) {
    size_t end = message.find('\n', start);
    if (end == std::string::npos) end = message.size();
    const size_t a = message.find_first_not_of(" \t\r", start);
    if (a != std::string::npos && a < end) {
      size_t b = end;
      while (b > a && (message[b - 1] == ' ' || message[b - 1] == '\t' || message[b - 1] == '\r')) {
        --b;
      }
      return message.substr(a, b - a);
    }
    start = end + 1;
  }
  return "unknown error";
}

int run_with_exit_codes(const char* command, const std::function<int()>& body) {
  try {
    return body();
  } catch (const UsageError& e) {
    std::cerr << "terrascope " << command << ": " << one_line(e.what()) << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "terrascope: " << one_line(e.what()) << "\n";
    return 1;
  }
}

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

void add_model_options(CLI::App& cmd, ModelArgs& args) {
  auto* group = cmd.add_option_group("Model");
  group->add_option("-m,--model", args.bundle_dir, "Model bundle directory (terrascope.json)")
      ->envname("TERRASCOPE_MODEL")
      ->required();
  group->add_option("--device", args.device, "cpu or cuda:N")->capture_default_str();
  group->add_option("--dtype", args.dtype, "Precision: fp32, bf16, fp16 (half needs CUDA)")
      ->check(CLI::IsMember({"fp32", "bf16", "fp16"}))
      ->capture_default_str();
}

LoadedModel load_model(const ModelArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  LoadedModel loaded;
  const std::string manifest =
      (std::filesystem::path(args.bundle_dir) / "terrascope.json").string();
  if (!std::filesystem::is_regular_file(manifest)) {
    throw Error(args.bundle_dir, "not a model bundle (no terrascope.json)");
  }
  loaded.model = Model::load(args.bundle_dir, {args.device, args.dtype});
  loaded.info = loaded.model->info();
  loaded.bundle_sha256 = sha256_file_hex(manifest);
  loaded.load_ms = elapsed_ms(start);
  return loaded;
}

void add_generation_options(CLI::App& cmd, GenerationArgs& args) {
  auto* group = cmd.add_option_group("Generation", "Defaults come from the bundle's manifest");
  group->add_option("--region-cap", args.region_cap, "Most <REGION> tokens per [SEG] (release 8)")
      ->check(CLI::Range(1, 1 << 20));
  group
      ->add_option("--region-selection", args.region_selection,
                   "release (nearest resize) | paper (cell > 50% covered)")
      ->check(CLI::IsMember({"release", "paper"}));
  group
      ->add_option("--frame-choice", args.frame_choice,
                   "Time series: release (seg_count % frames) | indicator")
      ->check(CLI::IsMember({"release", "indicator"}));
  group->add_option("--sar-fusion", args.sar_fusion, "Optical+SAR: release | adaptive | concat")
      ->check(CLI::IsMember({"release", "adaptive", "concat"}));
  group->add_option("--max-new-tokens", args.max_new_tokens, "Generated ids at most (release 8192)")
      ->check(CLI::Range(1, 1 << 24));
  group->add_option("--max-seg-rounds", args.max_seg_rounds, "[SEG] rounds at most (release 20)")
      ->check(CLI::Range(1, 1 << 20));
  group->add_flag("--no-region-injection", args.no_region_injection,
                  "Diagnosis: feed no <REGION> rows after a [SEG] (grounding ablation)");
  group->add_option("--temperature", args.temperature, "0 = greedy (the release)")
      ->check(CLI::Range(0.0, 100.0));
  group->add_option("--top-k", args.top_k, "Sampling: keep the k likeliest (0 = all)")
      ->check(CLI::Range(0, 1 << 24));
  group->add_option("--top-p", args.top_p, "Sampling: nucleus mass (1 = all)")
      ->check(CLI::Range(0.0, 1.0));
  group->add_option("--seed", args.seed, "Sampling seed");
}

AskParams ask_params(const Model& model, const GenerationArgs& args) {
  AskParams params = model.default_params();
  if (args.region_cap) params.policies.region_cap = *args.region_cap;
  if (args.region_selection) params.policies.region_selection = *args.region_selection;
  if (args.frame_choice) params.policies.frame_choice = *args.frame_choice;
  if (args.sar_fusion) params.policies.sar_fusion = *args.sar_fusion;
  if (args.max_new_tokens) params.max_new_tokens = *args.max_new_tokens;
  if (args.max_seg_rounds) params.max_seg_rounds = *args.max_seg_rounds;
  if (args.no_region_injection) params.policies.inject_regions = false;
  params.sampling.temperature = args.temperature;
  params.sampling.top_k = args.top_k;
  params.sampling.top_p = args.top_p;
  params.sampling.seed = args.seed;
  return params;
}

nlohmann::json params_json(const AskParams& params) {
  return {{"policies",
           {{"region_cap", params.policies.region_cap},
            {"region_selection", params.policies.region_selection},
            {"frame_choice", params.policies.frame_choice},
            {"sar_fusion", params.policies.sar_fusion},
            {"inject_regions", params.policies.inject_regions}}},
          {"sampling",
           {{"temperature", params.sampling.temperature},
            {"top_k", params.sampling.top_k},
            {"top_p", params.sampling.top_p},
            {"seed", params.sampling.seed}}},
          {"max_new_tokens", params.max_new_tokens},
          {"max_seg_rounds", params.max_seg_rounds}};
}

void add_raster_options(CLI::App& cmd, RasterArgs& args) {
  auto* group = cmd.add_option_group("Raster input", "How rasters become the model's 8-bit RGB");
  group->add_option("--bands", args.bands, "Optical bands as R,G,B (1-based), e.g. 4,3,2")
      ->check(error_checked("BANDS", [](const std::string& v) { parse_band_list(v); }));
  group->add_option("--preset", args.preset, "Band preset: rgb, sentinel2, landsat8, landsat9")
      ->check(CLI::IsMember({"rgb", "sentinel2", "landsat8", "landsat9"}));
  group
      ->add_option("--scaling", args.scaling,
                   "To 8-bit: auto | as-is | range | percentile | db (docs/RASTERS.md)")
      ->check(CLI::IsMember({"auto", "as-is", "range", "percentile", "db"}))
      ->capture_default_str();
  group->add_option("--range", args.range, "range scaling: MIN MAX (default 0 3000)")->expected(2);
  group->add_option("--percentile", args.percentile, "percentile scaling: LOW HIGH (default 2 98)")
      ->expected(2)
      ->check(CLI::Range(0.0, 100.0));
  group
      ->add_option("--max-side", args.max_side,
                   "Read decimated to at most this many pixels a side (0 = full resolution)")
      ->check(CLI::Range(0, 1 << 20))
      ->capture_default_str();
  group->add_flag("--warp", args.warp,
                  "Warp frames / the SAR image on another grid onto the first frame's grid");
  group->add_option("--sar-bands", args.sar_bands, "SAR bands as VH,VV (1-based)")
      ->check(error_checked("VH,VV", [](const std::string& v) {
        if (parse_band_list(v).size() != 2) throw Error("--sar-bands", "give two bands: VH,VV");
      }));
  group->add_option("--db-range", args.db_range, "SAR dB clip: MIN MAX (default -25 0)")
      ->expected(2);
  group->add_flag("--sar-linear", args.sar_linear, "SAR values are linear power (converted to dB)");
  group->add_option("--complex", args.complex_rule, "Complex SAR: intensity (|z|^2 in dB)")
      ->check(CLI::IsMember({"intensity"}));
}

SceneOptions optical_scene_options(const RasterArgs& args) {
  check_pair(args.range, "--range");
  check_pair(args.percentile, "--percentile");
  SceneOptions options;
  options.modality = Modality::kOptical;
  if (!args.bands.empty()) options.bands = parse_band_list(args.bands);
  options.preset = args.preset;
  options.scaling = parse_scaling(args.scaling);
  // A range or percentile given with automatic scaling asks for that rule.
  if (options.scaling == Scaling::kAuto && !args.range.empty()) options.scaling = Scaling::kRange;
  if (options.scaling == Scaling::kAuto && !args.percentile.empty()) {
    options.scaling = Scaling::kPercentile;
  }
  if (!args.range.empty()) {
    options.range_min = args.range[0];
    options.range_max = args.range[1];
  }
  if (!args.percentile.empty()) {
    options.percentile_low = args.percentile[0];
    options.percentile_high = args.percentile[1];
  }
  options.max_side = args.max_side;
  options.warp = args.warp;
  return options;
}

SceneOptions sar_scene_options(const RasterArgs& args) {
  check_pair(args.db_range, "--db-range");
  SceneOptions options;
  options.modality = Modality::kSar;
  if (!args.sar_bands.empty()) options.bands = parse_band_list(args.sar_bands);
  options.scaling = Scaling::kAuto;
  if (!args.db_range.empty()) {
    options.db_min = args.db_range[0];
    options.db_max = args.db_range[1];
  }
  options.sar_linear = args.sar_linear;
  options.complex_rule =
      args.complex_rule == "intensity" ? ComplexRule::kIntensity : ComplexRule::kNone;
  options.max_side = args.max_side;
  options.warp = args.warp;
  return options;
}

std::string SceneInputs::mode() const {
  if (!frames.empty()) return "series";
  if (!sar.empty()) return "sar";
  return "single";
}

Scene read_scene(const SceneInputs& inputs, const RasterArgs& args) {
  const SceneOptions optical = optical_scene_options(args);
  if (!inputs.frames.empty()) {
    if (!inputs.sar.empty()) {
      throw UsageError("--sar: a time series takes no SAR image (optical+SAR is one image)");
    }
    return read_time_series(inputs.frames, optical);
  }
  if (inputs.image.empty()) throw UsageError("no image given (--image or --frames)");
  if (!inputs.sar.empty()) {
    return read_optical_sar(inputs.image, optical, inputs.sar, sar_scene_options(args));
  }
  Scene scene;
  scene.frames.push_back(read_frame(inputs.image, optical));
  return scene;
}

std::vector<RgbImage> model_frames(const Scene& scene) {
  std::vector<RgbImage> frames;
  for (const SceneFrame& frame : scene.frames) frames.push_back(frame.rgb);
  return frames;
}

std::optional<RgbImage> model_sar(const Scene& scene) {
  if (scene.sar.empty()) return std::nullopt;
  return scene.sar.front().rgb;
}

std::optional<LetteredOption> split_option_letter(const std::string& option) {
  // "A. text", "A) text", "A: text" (spaces around allowed); the letter alone is not an option.
  size_t p = option.find_first_not_of(" \t");
  if (p == std::string::npos || p + 1 >= option.size()) return std::nullopt;
  const char letter = option[p];
  const char mark = option[p + 1];
  if (letter < 'A' || letter > 'Z' || (mark != '.' && mark != ')' && mark != ':')) {
    return std::nullopt;
  }
  const size_t text_start = option.find_first_not_of(" \t", p + 2);
  if (p + 2 < option.size() && option[p + 2] != ' ' && option[p + 2] != '\t') return std::nullopt;
  std::string text = text_start == std::string::npos ? "" : option.substr(text_start);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.pop_back();
  return LetteredOption{letter, text};
}

std::vector<std::string> option_texts(const std::vector<std::string>& options,
                                      const std::string& subject) {
  std::vector<LetteredOption> lettered;
  for (const std::string& option : options) {
    if (auto split = split_option_letter(option)) lettered.push_back(*split);
  }
  if (lettered.empty()) return options;
  if (lettered.size() != options.size()) {
    throw Error(subject, "write every option as \"A. text\" or none of them");
  }
  std::stable_sort(
      lettered.begin(), lettered.end(),
      [](const LetteredOption& a, const LetteredOption& b) { return a.letter < b.letter; });
  std::vector<std::string> texts;
  for (size_t i = 0; i < lettered.size(); ++i) {
    const char expected = static_cast<char>('A' + i);
    if (lettered[i].letter != expected) {
      throw Error(subject, std::string("option letters must run A, B, C, ... (no ") + expected +
                               ", or " + lettered[i].letter + " twice)");
    }
    if (lettered[i].text.empty()) {
      throw Error(subject, std::string("option ") + expected + " has no text");
    }
    texts.push_back(lettered[i].text);
  }
  return texts;
}

}  // namespace terrascope::cli
