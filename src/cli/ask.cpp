// terrascope ask: one question about one scene (an image, an optical+SAR pair or a time series).
// Prints the answer; on a terminal the reasoning streams as it is generated. With --out, writes
// result.json, the masks as GeoTIFFs on the input grid, GeoJSON polygons and an overlay PNG.
#include <filesystem>
#include <iostream>
#include <memory>

#include "cli/cli_options.h"
#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/result_json.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

struct AskArgs {
  ModelArgs model;
  GenerationArgs generation;
  RasterArgs raster;
  SceneInputs inputs;
  std::string question;
  std::vector<std::string> options;
  std::string out_dir;
  bool json = false;
  bool full = false;
  bool no_stream = false;
  bool no_overlay = false;
  bool no_polygons = false;
};

constexpr const char* kDim = "\033[2m";
constexpr const char* kBold = "\033[1m";
constexpr const char* kReset = "\033[0m";

// What a person reads on a terminal while the model thinks: the text without the runs of
// <REGION> placeholders (the [SEG] before them says where a mask was made).
std::string displayable(std::string piece) {
  const std::string region = "<REGION>";
  for (size_t at = piece.find(region); at != std::string::npos; at = piece.find(region, at)) {
    piece.erase(at, region.size());
  }
  return piece;
}

void print_answer(const AskArgs& args, const Answer& answer, const ParsedAnswer& parsed,
                  bool terminal) {
  if (args.full) {
    if (!terminal) std::cout << answer.text << "\n";  // a terminal saw it stream already
    return;
  }
  if (!parsed.answer) {
    // No <answer> block (stopped early, or a model that does not answer in the release's form):
    // the whole text is all there is.
    std::cerr << "terrascope: no <answer> in the output (stopped: " << stop_reason_name(answer.stop)
              << "); printing the whole text\n";
    if (!terminal) std::cout << answer.text << "\n";
    return;
  }
  std::string line = *parsed.answer;
  if (parsed.option && line.size() <= 3) {
    line = std::string(1, *parsed.option) + ". " + parsed.option_text;
  }
  if (terminal) {
    std::cout << kBold << line << kReset << "\n";
  } else {
    std::cout << line << "\n";
  }
}

int run_ask(const AskArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  Question question;
  question.text = args.question;
  try {
    question.options = option_texts(args.options, "--options");
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
  if (!args.out_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(args.out_dir, ec);
    if (ec || !std::filesystem::is_directory(args.out_dir)) {
      throw Error(args.out_dir, "cannot create the output directory" +
                                    (ec ? " (" + ec.message() + ")" : std::string()));
    }
  }

  const auto read_start = std::chrono::steady_clock::now();
  const Scene scene = read_scene(args.inputs, args.raster);
  const double read_ms = elapsed_ms(read_start);
  const LoadedModel model = load_model(args.model);

  Session session(model.model);
  session.set_images(model_frames(scene), model_sar(scene));
  AskParams params = ask_params(*model.model, args.generation);

  const bool terminal = is_terminal(stdout) && !args.json && !args.no_stream;
  if (terminal) {
    std::cout << kDim << std::flush;
    params.on_text = [](const std::string& piece) {
      std::cout << displayable(piece) << std::flush;
    };
  }
  const Answer answer = session.ask(question, params);
  if (terminal) std::cout << kReset << "\n";

  ResultContext context;
  context.question = question;
  context.inputs = args.inputs;
  context.scene = &scene;
  context.model = &model;
  context.params = params;
  context.read_ms = read_ms;
  context.load_ms = model.load_ms;
  ResultOutputs outputs;
  outputs.overlay = !args.no_overlay;
  outputs.polygons = !args.no_polygons;
  nlohmann::json result = write_result(context, answer, args.out_dir, outputs);
  result["timings_ms"]["total"] = elapsed_ms(start);

  if (args.json) {
    std::cout << result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    print_answer(args, answer, parse_answer(answer.text, question), terminal);
    if (!args.out_dir.empty()) {
      std::cerr << "terrascope: wrote "
                << (std::filesystem::path(args.out_dir) / "result.json").string() << " and "
                << answer.segs.size() << (answer.segs.size() == 1 ? " mask" : " masks") << "\n";
    }
  }
  return 0;
}

}  // namespace

CommandRunner add_ask_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "ask", "Ask one question about a scene; print the answer, write masks with --out");
  auto args = std::make_shared<AskArgs>();
  add_model_options(*cmd, args->model);

  auto* image =
      cmd->add_option("-i,--image", args->inputs.image, "Optical image (GeoTIFF, PNG, ...)");
  auto* frames = cmd->add_option("--frames", args->inputs.frames,
                                 "A time series instead of --image: frames in time order");
  image->excludes(frames);
  frames->excludes(image);
  auto* sar = cmd->add_option("--sar", args->inputs.sar, "SAR image of the same place (VH, VV)");
  sar->needs(image);
  cmd->add_option("-q,--question", args->question, "The question")->required();
  cmd->add_option("--options", args->options,
                  "Multiple choice: \"A. text\" \"B. text\" ... (the benchmark's prompt form)");
  cmd->add_option("-o,--out", args->out_dir,
                  "Write result.json, mask GeoTIFFs, GeoJSON polygons and overlay PNGs here");
  cmd->add_flag("--json", args->json, "Print result.json's content instead of the answer");
  cmd->add_flag("--full", args->full, "Print the whole output (reasoning, [SEG]s, answer)");
  cmd->add_flag("--no-stream", args->no_stream, "Do not stream the reasoning on a terminal");
  cmd->add_flag("--no-overlay", args->no_overlay, "With --out: no overlay PNG");
  cmd->add_flag("--no-polygons", args->no_polygons, "With --out: no GeoJSON polygons");
  add_raster_options(*cmd, args->raster);
  add_generation_options(*cmd, args->generation);
  cmd->callback([args]() {
    if (args->inputs.image.empty() && args->inputs.frames.empty()) {
      throw CLI::RequiredError("--image or --frames");
    }
  });
  return [args]() -> int { return run_with_exit_codes("ask", [&args] { return run_ask(*args); }); };
}

}  // namespace terrascope::cli
