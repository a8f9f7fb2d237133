// terrascope batch --model DIR --inputs DIR|LIST --questions q.jsonl --out DIR [--resume]
// [--shard i/n]: the model is loaded once, each scene is read once and its image features are
// computed once (one Session per scene, one ask per question), every item's record is appended to
// a JSONL file as soon as it is finished (crash-safe, resumable), and a bad item is recorded with
// its error while the batch goes on.
#include "cli/batch.h"

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

#include "cli/commands.h"
#include "cli/jsonl.h"
#include "cli/progress.h"
#include "cli/result_json.h"
#include "geo/atomic_file.h"
#include "terrascope/error.h"

namespace fs = std::filesystem;

namespace terrascope::cli {
namespace {

bool has_raster_extension(const fs::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::set<std::string> kRasterExtensions = {".tif",  ".tiff", ".png", ".jpg",
                                                          ".jpeg", ".jp2",  ".vrt", ".img"};
  return kRasterExtensions.count(ext) > 0;
}

std::string resolve(const fs::path& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute() || path.rfind("/vsi", 0) == 0) return path;
  return (base / path).lexically_normal().string();
}

std::string json_string(const nlohmann::json& object, const char* key, const std::string& subject) {
  if (!object.contains(key) || object[key].is_null()) return "";
  if (!object[key].is_string())
    throw Error(subject, std::string("\"") + key + "\" must be a string");
  return object[key].get<std::string>();
}

BatchScene scene_from_json(const nlohmann::json& object, const fs::path& base,
                           const std::string& subject) {
  if (!object.is_object()) throw Error(subject, "a scene must be a path or a JSON object");
  BatchScene scene;
  scene.inputs.image = resolve(base, json_string(object, "image", subject));
  scene.inputs.sar = resolve(base, json_string(object, "sar", subject));
  if (object.contains("frames") && !object["frames"].is_null()) {
    if (!object["frames"].is_array()) throw Error(subject, "\"frames\" must be a list of paths");
    for (const auto& frame : object["frames"]) {
      if (!frame.is_string()) throw Error(subject, "\"frames\" must be a list of paths");
      scene.inputs.frames.push_back(resolve(base, frame.get<std::string>()));
    }
  }
  const bool has_image = !scene.inputs.image.empty();
  const bool has_frames = !scene.inputs.frames.empty();
  if (has_image == has_frames) throw Error(subject, "give either \"image\" or \"frames\"");
  if (has_frames && !scene.inputs.sar.empty()) {
    throw Error(subject, "a time series takes no \"sar\"");
  }
  scene.id = json_string(object, "id", subject);
  if (scene.id.empty()) {
    scene.id =
        has_image ? json_string(object, "image", subject) : object["frames"][0].get<std::string>();
  }
  return scene;
}

// A path or id as a folder name below items/: path separators kept (one folder per level),
// characters that shells and filesystems dislike replaced, no "." / ".." levels.
std::string safe_relative_folder(const std::string& id) {
  std::string out;
  for (const char c : id) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == '_' || c == '/' || c == '+' || c == '=';
    out += ok ? c : '_';
  }
  std::string cleaned;
  for (const auto& part : fs::path(out)) {
    std::string level = part.string();
    if (level.empty() || level == "/") continue;
    if (level == "." || level == "..") level = "_";
    if (!cleaned.empty()) cleaned += "/";
    cleaned += level;
  }
  return cleaned.empty() ? "_" : cleaned;
}

std::atomic<bool> g_stop_requested{false};
// The first SIGINT/SIGTERM stops the batch after the current step (the item is not recorded, so a
// resume redoes it); a second one ends the process at once.
extern "C" void request_stop(int signal_number) {
  g_stop_requested.store(true);
  std::signal(signal_number, SIG_DFL);
}

struct BatchArgs {
  ModelArgs model;
  GenerationArgs generation;
  RasterArgs raster;
  std::string inputs;
  std::string questions_file;
  std::vector<std::string> questions;
  std::string out_dir;
  bool resume = false;
  bool overwrite = false;
  std::string shard = "0/1";
  bool no_overlay = false;
  bool no_polygons = false;
  double log_every_s = 30.0;
};

std::string shard_suffix(const Shard& shard) {
  if (shard.count == 1) return "";
  return ".shard-" + std::to_string(shard.index) + "-of-" + std::to_string(shard.count);
}

// A compact view of a result for the JSONL record: what a pipeline needs without opening
// result.json (the answer, and per mask its file and size).
nlohmann::json record_from_result(const nlohmann::json& result, const std::string& item_dir) {
  nlohmann::json record;
  record["status"] = "ok";
  record["error"] = nullptr;
  record["answer"] = result["answer"];
  record["option"] = result["option"];
  record["text"] = result["text"];
  record["stop_reason"] = result["stop_reason"];
  record["dir"] = item_dir;
  record["masks"] = nlohmann::json::array();
  for (const auto& seg : result["segs"]) {
    for (const auto& mask : seg["masks"]) {
      const auto& m = mask["measurements"];
      nlohmann::json entry = {
          {"seg", seg["index"]},
          {"frame", mask["frame"]},
          {"file", mask["file"].is_null()
                       ? nlohmann::json(nullptr)
                       : nlohmann::json(item_dir + "/" + mask["file"].get<std::string>())},
          {"pixel_count", m["pixel_count"]},
          {"valid_share", m["valid_share"]}};
      entry["area_m2"] = m.contains("area_m2") ? m["area_m2"] : nlohmann::json(nullptr);
      record["masks"].push_back(entry);
    }
  }
  record["timings_ms"] = result["timings_ms"];
  return record;
}

nlohmann::json inputs_json(const SceneInputs& inputs) {
  nlohmann::json out = {{"mode", inputs.mode()}};
  out["image"] = inputs.image.empty() ? nlohmann::json(nullptr) : nlohmann::json(inputs.image);
  out["sar"] = inputs.sar.empty() ? nlohmann::json(nullptr) : nlohmann::json(inputs.sar);
  out["frames"] = inputs.frames;
  return out;
}

int run_batch(const BatchArgs& args) {
  const auto start = std::chrono::steady_clock::now();
  const Shard shard = parse_shard(args.shard);
  if (args.resume && args.overwrite)
    throw UsageError("--resume and --overwrite exclude each other");
  if (args.questions_file.empty() && args.questions.empty()) {
    throw UsageError("no questions (--questions FILE or -q TEXT)");
  }
  if (fs::is_regular_file(args.inputs) && has_raster_extension(args.inputs)) {
    throw UsageError("--inputs takes a folder or a list file; for one raster use 'terrascope ask'");
  }

  std::vector<BatchQuestion> questions;
  if (!args.questions_file.empty()) questions = read_batch_questions(args.questions_file);
  for (size_t i = 0; i < args.questions.size(); ++i) {
    questions.push_back({"q" + std::to_string(questions.size() + 1), {args.questions[i], {}}});
  }
  std::set<std::string> question_ids;
  for (const BatchQuestion& q : questions) {
    if (!question_ids.insert(q.id).second) {
      throw Error(args.questions_file.empty() ? "-q" : args.questions_file,
                  "question id '" + q.id + "' appears twice");
    }
  }
  std::vector<BatchScene> all_scenes = list_batch_scenes(args.inputs);
  std::vector<BatchScene> scenes;
  for (BatchScene& scene : all_scenes) {
    if (shard_of(scene.id, shard.count) == shard.index) scenes.push_back(std::move(scene));
  }

  std::error_code ec;
  fs::create_directories(args.out_dir, ec);
  if (ec || !fs::is_directory(args.out_dir)) {
    throw Error(args.out_dir, "cannot create the output directory" +
                                  (ec ? " (" + ec.message() + ")" : std::string()));
  }
  const std::string suffix = shard_suffix(shard);
  const std::string results_path =
      (fs::path(args.out_dir) / ("results" + suffix + ".jsonl")).string();
  FinishedItems finished;
  if (fs::exists(results_path) && fs::file_size(results_path) > 0) {
    if (!args.resume && !args.overwrite) {
      throw Error(results_path, "exists (--resume continues it, --overwrite starts again)");
    }
    if (args.resume) finished = finished_items(results_path);
  }
  JsonlAppender results(results_path, /*truncate=*/args.overwrite);

  int to_do = 0;
  for (const BatchScene& scene : scenes) {
    for (const BatchQuestion& q : questions) {
      to_do += finished.ids.count(batch_item_id(scene.id, q.id)) ? 0 : 1;
    }
  }
  const int skipped = static_cast<int>(scenes.size() * questions.size()) - to_do;

  const LoadedModel model = load_model(args.model);
  const AskParams base_params = ask_params(*model.model, args.generation);

  std::signal(SIGINT, request_stop);
  std::signal(SIGTERM, request_stop);
  ProgressReporter progress("batch" + (shard.count > 1 ? " " + args.shard : std::string()), to_do,
                            is_terminal(stderr), args.log_every_s);
  ResultOutputs outputs;
  outputs.overlay = !args.no_overlay;
  outputs.polygons = !args.no_polygons;
  double item_ms_sum = 0;
  bool interrupted = false;

  for (const BatchScene& scene : scenes) {
    std::vector<const BatchQuestion*> pending;
    for (const BatchQuestion& q : questions) {
      if (!finished.ids.count(batch_item_id(scene.id, q.id))) pending.push_back(&q);
    }
    if (pending.empty()) continue;
    if (g_stop_requested.load()) {
      interrupted = true;
      break;
    }

    // The scene once for all its questions; a scene that cannot be read fails each of them.
    std::optional<Scene> raster;
    std::optional<Session> session;
    std::string scene_error;
    const auto read_start = std::chrono::steady_clock::now();
    try {
      raster = read_scene(scene.inputs, args.raster);
      session.emplace(model.model);
      session->set_images(model_frames(*raster), model_sar(*raster));
    } catch (const std::exception& e) {
      scene_error = one_line(e.what());
    }
    const double read_ms = elapsed_ms(read_start);

    for (const BatchQuestion* q : pending) {
      const auto item_start = std::chrono::steady_clock::now();
      const std::string item_id = batch_item_id(scene.id, q->id);
      const std::string item_dir =
          "items/" + safe_relative_folder(scene.id) + "/" + safe_relative_folder(q->id);
      nlohmann::json record;
      std::string error = scene_error;
      if (error.empty()) {
        const fs::path final_dir = fs::path(args.out_dir) / item_dir;
        const fs::path partial_dir =
            final_dir.parent_path() / ("." + final_dir.filename().string() + ".partial");
        try {
          AskParams params = base_params;
          params.should_abort = [] { return g_stop_requested.load(); };
          const Answer answer = session->ask(q->question, params);
          if (answer.stop == StopReason::kAborted) {
            interrupted = true;
            break;
          }
          // The item's files appear together: written into a hidden folder, renamed into place,
          // and only then recorded, so a crash never leaves a recorded item without its files.
          fs::remove_all(partial_dir);
          fs::create_directories(partial_dir);
          ResultContext context;
          context.question = q->question;
          context.inputs = scene.inputs;
          context.scene = &*raster;
          context.model = &model;
          context.params = params;
          context.read_ms = read_ms;
          nlohmann::json result = write_result(context, answer, partial_dir.string(), outputs);
          fs::remove_all(final_dir);
          fs::rename(partial_dir, final_dir);
          record = record_from_result(result, item_dir);
        } catch (const std::exception& e) {
          error = one_line(e.what());
          std::error_code ignored;
          fs::remove_all(partial_dir, ignored);
        }
      }
      nlohmann::json line = {{"id", item_id},
                             {"scene", scene.id},
                             {"question_id", q->id},
                             {"question", q->question.text},
                             {"options", q->question.options},
                             {"inputs", inputs_json(scene.inputs)}};
      if (!error.empty()) {
        line["status"] = "error";
        line["error"] = error;
        line["timings_ms"] = {{"item", elapsed_ms(item_start)}};
        progress.note("terrascope batch: " + item_id + ": " + error);
      } else {
        line.update(record);
        line["timings_ms"]["item"] = elapsed_ms(item_start);
      }
      results.append(line);
      item_ms_sum += elapsed_ms(item_start);
      progress.item_done(error.empty());
    }
    if (interrupted) break;
  }
  progress.finish();

  const FinishedItems all = finished_items(results_path);
  const int failed_total = all.failed;
  const int done_now = progress.done();
  nlohmann::json summary = {
      {"results", results_path},
      {"shard", args.shard},
      {"scenes", scenes.size()},
      {"questions", questions.size()},
      {"items", scenes.size() * questions.size()},
      {"recorded", all.ids.size()},
      {"failed", failed_total},
      {"done_this_run", done_now},
      {"failed_this_run", progress.failed()},
      {"skipped_already_done", skipped},
      {"interrupted", interrupted},
      {"seconds", elapsed_ms(start) / 1000.0},
      {"seconds_per_item", done_now > 0 ? item_ms_sum / done_now / 1000.0 : 0.0},
      {"model", model.info.name},
      {"bundle_sha256", model.bundle_sha256}};
  {
    const std::string summary_path =
        (fs::path(args.out_dir) / ("summary" + suffix + ".json")).string();
    geo::AtomicFile file(summary_path);
    {
      std::ofstream out(file.temp_path());
      out << summary.dump(2) << "\n";
      if (!out) throw Error(summary_path, "cannot write");
    }
    file.commit();
  }
  std::cerr << "terrascope batch: " << done_now << " done this run (" << progress.failed()
            << " failed), " << skipped << " already done; " << all.ids.size() << "/"
            << scenes.size() * questions.size() << " recorded, " << failed_total << " failed; "
            << format_duration(progress.elapsed_s());
  if (done_now > 0) {
    char per_item[32];
    std::snprintf(per_item, sizeof per_item, "%.2f", item_ms_sum / done_now / 1000.0);
    std::cerr << ", " << per_item << " s/item";
  }
  std::cerr << "; results: " << results_path << "\n";
  if (interrupted) {
    std::cerr << "terrascope batch: " << results_path
              << ": interrupted; run again with --resume to finish\n";
    return 1;
  }
  if (failed_total > 0) {
    std::cerr << "terrascope batch: " << results_path << ": " << failed_total
              << (failed_total == 1 ? " item" : " items") << " failed (status \"error\")\n";
    return 1;
  }
  return 0;
}

}  // namespace

std::vector<BatchScene> list_batch_scenes(const std::string& inputs) {
  std::vector<BatchScene> scenes;
  std::error_code ec;
  if (fs::is_directory(inputs, ec)) {
    const fs::path root(inputs);
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file() || !has_raster_extension(it->path())) continue;
      const std::string name = it->path().filename().string();
      if (!name.empty() && name[0] == '.') continue;
      BatchScene scene;
      scene.id = it->path().lexically_relative(root).generic_string();
      scene.inputs.image = it->path().string();
      scenes.push_back(std::move(scene));
    }
    if (ec) throw Error(inputs, "cannot list the folder (" + ec.message() + ")");
    std::sort(scenes.begin(), scenes.end(),
              [](const BatchScene& a, const BatchScene& b) { return a.id < b.id; });
    if (scenes.empty())
      throw Error(inputs, "no rasters in the folder (.tif .png .jpg .jp2 .vrt ...)");
    return scenes;
  }
  std::ifstream in(inputs);
  if (!in) throw Error(inputs, "no such folder or list file");
  const fs::path base = fs::path(inputs).parent_path();
  std::string line;
  int number = 0;
  std::set<std::string> ids;
  while (std::getline(in, line)) {
    ++number;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) {
      line.pop_back();
    }
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    line = line.substr(first);
    const std::string subject = inputs + ":" + std::to_string(number);
    BatchScene scene;
    if (line[0] == '{') {
      nlohmann::json object;
      try {
        object = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {  // parse_error, out_of_range (1e999)
        throw Error(subject, "not valid JSON");
      }
      scene = scene_from_json(object, base, subject);
    } else {
      scene.id = line;
      scene.inputs.image = resolve(base, line);
    }
    if (!ids.insert(scene.id).second) throw Error(subject, "scene '" + scene.id + "' listed twice");
    scenes.push_back(std::move(scene));
  }
  if (scenes.empty()) throw Error(inputs, "the list names no scene");
  return scenes;
}

std::vector<BatchQuestion> read_batch_questions(const std::string& path) {
  std::vector<BatchQuestion> questions;
  for (const JsonlRecord& record : read_jsonl(path)) {
    const std::string subject = path + ":" + std::to_string(record.line);
    const nlohmann::json& object = record.value;
    if (!object.is_object()) throw Error(subject, "a question must be a JSON object");
    BatchQuestion q;
    if (object.contains("id") && !object["id"].is_null()) {
      if (object["id"].is_string()) {
        q.id = object["id"].get<std::string>();
      } else if (object["id"].is_number_integer()) {
        q.id = std::to_string(object["id"].get<long long>());
      } else {
        throw Error(subject, "\"id\" must be a string or an integer");
      }
    } else {
      q.id = "q" + std::to_string(record.line);
    }
    if (q.id.empty()) throw Error(subject, "\"id\" is empty");
    q.question.text = json_string(object, "question", subject);
    if (q.question.text.empty()) throw Error(subject, "no \"question\"");
    std::vector<std::string> options;
    if (object.contains("options") && !object["options"].is_null()) {
      const nlohmann::json& o = object["options"];
      if (o.is_array()) {
        for (const auto& option : o) {
          if (!option.is_string()) throw Error(subject, "\"options\" must hold strings");
          options.push_back(option.get<std::string>());
        }
      } else if (o.is_object()) {
        for (const auto& [key, value] : o.items()) {
          if (key.size() != 1 || !value.is_string()) {
            throw Error(subject, "\"options\" as an object maps letters to strings");
          }
          options.push_back(key + ". " + value.get<std::string>());
        }
      } else {
        throw Error(subject, "\"options\" must be a list or an object");
      }
    }
    q.question.options = option_texts(options, subject);
    questions.push_back(std::move(q));
  }
  if (questions.empty()) throw Error(path, "no questions");
  return questions;
}

Shard parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  auto number = [&](const std::string& part) {
    if (part.empty() || part.size() > 9 ||
        part.find_first_not_of("0123456789") != std::string::npos) {
      throw Error("--shard", "'" + text + "' is not i/n (0 <= i < n)");
    }
    return std::stoi(part);
  };
  if (slash == std::string::npos) throw Error("--shard", "'" + text + "' is not i/n (0 <= i < n)");
  Shard shard{number(text.substr(0, slash)), number(text.substr(slash + 1))};
  if (shard.count < 1 || shard.index >= shard.count) {
    throw Error("--shard", "'" + text + "': need 0 <= i < n");
  }
  return shard;
}

uint64_t fnv1a64(const std::string& text) {
  uint64_t hash = 14695981039346656037ULL;
  for (const char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ULL;
  }
  return hash;
}

int shard_of(const std::string& scene_id, int count) {
  return static_cast<int>(fnv1a64(scene_id) % static_cast<uint64_t>(count));
}

std::string batch_item_id(const std::string& scene_id, const std::string& question_id) {
  return scene_id + "#" + question_id;
}

FinishedItems finished_items(const std::string& results_path) {
  FinishedItems finished;
  std::map<std::string, bool> failed_by_id;
  for (const nlohmann::json& record : read_result_file(results_path).records) {
    if (!record.is_object() || !record.contains("id") || !record["id"].is_string()) {
      throw Error(results_path, "a record without an \"id\" (not a batch result file?)");
    }
    const std::string id = record["id"].get<std::string>();
    finished.ids.insert(id);
    failed_by_id[id] = record.value("status", "") != "ok";
  }
  for (const auto& [id, failed] : failed_by_id) finished.failed += failed ? 1 : 0;
  return finished;
}

CommandRunner add_batch_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "batch", "Ask questions about many scenes with one loaded model (JSONL results, resumable)");
  auto args = std::make_shared<BatchArgs>();
  add_model_options(*cmd, args->model);
  cmd->add_option("--inputs", args->inputs,
                  "Folder of rasters, or a list file (one path or JSON scene per line)")
      ->required();
  cmd->add_option("--questions", args->questions_file,
                  "JSONL: {\"id\", \"question\", \"options\"} per line");
  cmd->add_option("-q,--question", args->questions, "A question (repeatable; ids q1, q2, ...)");
  cmd->add_option("-o,--out", args->out_dir, "Output folder: results.jsonl, items/, summary.json")
      ->required();
  cmd->add_flag("--resume", args->resume, "Continue a batch: skip items already in the results");
  cmd->add_flag("--overwrite", args->overwrite, "Start the results file again");
  cmd->add_option("--shard", args->shard,
                  "Do shard i of n (0 <= i < n): scenes split by a hash of their id")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            try {
              parse_shard(value);
            } catch (const Error& e) {
              return e.what();
            }
            return {};
          },
          "i/n"));
  cmd->add_flag("--no-overlay", args->no_overlay, "No overlay PNGs");
  cmd->add_flag("--no-polygons", args->no_polygons, "No GeoJSON polygons");
  cmd->add_option("--log-every", args->log_every_s,
                  "Seconds between progress lines when stderr is not a terminal")
      ->check(CLI::Range(0.0, 86400.0))
      ->capture_default_str();
  add_raster_options(*cmd, args->raster);
  add_generation_options(*cmd, args->generation);
  return [args]() -> int {
    return run_with_exit_codes("batch", [&args] { return run_batch(*args); });
  };
}

}  // namespace terrascope::cli
