// terrascope bench --model DIR --bench FILE.jsonl [--tasks CA,AQ] [--limit N] [--report
// md|json|csv]
// [--min-accuracy X] [--out DIR [--resume]]: TerraScope-Bench style evaluation. Each sample's
// question goes to the model in the benchmark's prompt form, the answer is scored as the release
// scores it (bench_score.h), masks are compared with ground truth (mean IoU), and the report is
// the paper's table: one row, a column per task, the macro average last.
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/bench_score.h"
#include "cli/cli_options.h"
#include "cli/commands.h"
#include "cli/jsonl.h"
#include "cli/progress.h"
#include "geo/atomic_file.h"
#include "geo/gdal_dataset.h"
#include "terrascope/error.h"

namespace fs = std::filesystem;

namespace terrascope::cli {
namespace {

struct BenchArgs {
  ModelArgs model;
  GenerationArgs generation;
  RasterArgs raster;
  std::string bench;
  std::string tasks;
  int limit = 0;
  std::string report = "md";
  std::optional<double> min_accuracy;
  std::string scoring = "release";
  std::string out_dir;
  bool resume = false;
};

// A ground-truth mask of one [SEG]: decoded lazily from the record.
struct TruthMask {
  GrayImage mask;
  int frame = 0;
};

struct BenchSample {
  std::string id;
  std::string task;
  SceneInputs inputs;
  Question question;
  std::string answer;
  std::vector<TruthMask> truth;
  std::string error;  // a malformed record: scored as wrong, recorded with its error
};

std::string resolve(const fs::path& base, const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute() || path.rfind("/vsi", 0) == 0) return path;
  return (base / path).lexically_normal().string();
}

GrayImage read_mask_file(const std::string& path) {
  geo::ensure_gdal_registered();
  geo::GdalErrorCapture capture;
  GDALDatasetUniquePtr dataset = geo::open_raster(path);
  GrayImage mask;
  mask.width = dataset->GetRasterXSize();
  mask.height = dataset->GetRasterYSize();
  mask.pixels.resize(static_cast<size_t>(mask.width) * mask.height);
  std::vector<double> values(mask.pixels.size());
  if (dataset->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, mask.width, mask.height, values.data(),
                                          mask.width, mask.height, GDT_Float64, 0, 0) != CE_None) {
    throw Error(path, capture.last_message());
  }
  // Masks are 0/1 or 0/255; anything else non-zero and finite is inside (nodata/NaN is outside).
  for (size_t i = 0; i < values.size(); ++i) {
    mask.pixels[i] = (values[i] > 0 && std::isfinite(values[i])) ? 1 : 0;
  }
  return mask;
}

TruthMask parse_truth(const nlohmann::json& entry, const fs::path& base,
                      const std::string& subject) {
  TruthMask truth;
  if (entry.is_string()) {
    truth.mask = read_mask_file(resolve(base, entry.get<std::string>()));
    return truth;
  }
  if (!entry.is_object()) throw Error(subject, "a gt_masks entry must be a COCO RLE or a file");
  if (entry.contains("frame")) {
    if (!entry["frame"].is_number_integer() || entry["frame"].get<int>() < 0) {
      throw Error(subject, "gt_masks \"frame\" must be a non-negative integer");
    }
    truth.frame = entry["frame"].get<int>();
  }
  if (entry.contains("file")) {
    truth.mask = read_mask_file(resolve(base, entry["file"].get<std::string>()));
    return truth;
  }
  const auto& size = entry.value("size", nlohmann::json());
  if (!size.is_array() || size.size() != 2 || !size[0].is_number_integer() ||
      !size[1].is_number_integer()) {
    throw Error(subject, "gt_masks RLE needs \"size\": [height, width]");
  }
  const int height = size[0].get<int>(), width = size[1].get<int>();
  const auto& counts = entry.value("counts", nlohmann::json());
  if (counts.is_string()) {
    truth.mask = decode_coco_rle(height, width, counts.get<std::string>(), subject);
  } else if (counts.is_array()) {
    std::vector<long long> runs;
    for (const auto& run : counts) {
      if (!run.is_number_integer()) throw Error(subject, "gt_masks RLE counts must be integers");
      runs.push_back(run.get<long long>());
    }
    truth.mask = decode_coco_rle(height, width, runs, subject);
  } else {
    throw Error(subject, "gt_masks RLE needs \"counts\" (a string or a list)");
  }
  return truth;
}

std::string string_field(const nlohmann::json& record, const char* key, const std::string& subject,
                         bool required) {
  if (!record.contains(key) || record[key].is_null()) {
    if (required) throw Error(subject, std::string("no \"") + key + "\"");
    return "";
  }
  if (!record[key].is_string())
    throw Error(subject, std::string("\"") + key + "\" must be a string");
  return record[key].get<std::string>();
}

// A record of the bench format (docs/SYNTH.md; tools/bench_from_parquet.py writes the same).
BenchSample parse_sample(const JsonlRecord& line, const fs::path& base, const std::string& path) {
  const std::string subject = path + ":" + std::to_string(line.line);
  const nlohmann::json& record = line.value;
  BenchSample sample;
  sample.id = "line" + std::to_string(line.line);
  try {
    if (!record.is_object()) throw Error(subject, "a sample must be a JSON object");
    if (record.contains("id") && record["id"].is_string()) sample.id = record["id"];
    if (record.contains("id") && record["id"].is_number_integer()) {
      sample.id = std::to_string(record["id"].get<long long>());
    }
    sample.task = string_field(record, "task_type", subject, false);
    if (sample.task.empty()) sample.task = "UNKNOWN";  // the release's default task name
    sample.inputs.image = resolve(base, string_field(record, "image", subject, false));
    sample.inputs.sar = resolve(base, string_field(record, "sar", subject, false));
    if (record.contains("frames") && record["frames"].is_array()) {
      for (const auto& frame : record["frames"]) {
        if (!frame.is_string()) throw Error(subject, "\"frames\" must be a list of paths");
        sample.inputs.frames.push_back(resolve(base, frame.get<std::string>()));
      }
    }
    if (sample.inputs.image.empty() == sample.inputs.frames.empty()) {
      throw Error(subject, "give either \"image\" or \"frames\"");
    }
    sample.question.text = string_field(record, "question", subject, true);
    sample.answer = record.contains("answer") && record["answer"].is_string()
                        ? record["answer"].get<std::string>()
                        : "";
    std::vector<std::string> options;
    const nlohmann::json candidates = record.value("candidates", nlohmann::json::array());
    if (candidates.is_array()) {
      for (const auto& c : candidates) {
        if (!c.is_string()) throw Error(subject, "\"candidates\" must hold strings");
        options.push_back(c.get<std::string>());
      }
      // A list holds texts; lettered A, B, ... by position (as records.bench_record writes).
      sample.question.options = options;
    } else if (candidates.is_object()) {
      // The official parquet's dict {"A": text, ...}: keys sorted, as the release formats them.
      for (const auto& [key, value] : candidates.items()) {
        if (key.size() != 1 || !value.is_string()) {
          throw Error(subject, "\"candidates\" as an object maps letters to strings");
        }
        options.push_back(key + ". " + value.get<std::string>());
      }
      sample.question.options = option_texts(options, subject);
    } else if (!candidates.is_null()) {
      throw Error(subject, "\"candidates\" must be a list or an object");
    }
    if (record.contains("gt_masks") && record["gt_masks"].is_array()) {
      for (const auto& entry : record["gt_masks"]) {
        sample.truth.push_back(parse_truth(entry, base, subject));
      }
    }
  } catch (const Error& e) {
    sample.error = e.what();
  }
  return sample;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t a = item.find_first_not_of(" \t"), b = item.find_last_not_of(" \t");
    if (a != std::string::npos) out.push_back(item.substr(a, b - a + 1));
  }
  return out;
}

// Mean IoU of a sample's [SEG] masks against its ground truth: the i-th [SEG] against the i-th
// ground-truth mask (on that mask's frame); a missing [SEG] is an empty mask.
std::vector<double> sample_ious(const Answer& answer, const std::vector<TruthMask>& truth) {
  std::vector<double> ious;
  for (size_t i = 0; i < truth.size(); ++i) {
    GrayImage predicted;
    if (i < answer.segs.size() && !answer.segs[i].frame_masks.empty()) {
      const auto& masks = answer.segs[i].frame_masks;
      predicted = masks[std::min(static_cast<size_t>(truth[i].frame), masks.size() - 1)];
    }
    ious.push_back(mask_iou(predicted, truth[i].mask));
  }
  return ious;
}

std::string percent(double fraction) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << 100.0 * fraction;
  return out.str();
}

std::string fixed3(double value) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(3) << value;
  return out.str();
}

nlohmann::json report_json(const BenchTally& tally, const std::string& model_name,
                           const std::string& bundle_sha256, const std::string& bench,
                           ScoringRule rule, int errors) {
  nlohmann::json out = {{"model", model_name},
                        {"bundle_sha256", bundle_sha256},
                        {"bench", bench},
                        {"scoring", scoring_rule_name(rule)},
                        {"samples", tally.samples()},
                        {"errors", errors}};
  out["tasks"] = nlohmann::json::array();
  for (const TaskScore& t : tally.tasks()) {
    out["tasks"].push_back({{"task", t.task},
                            {"total", t.total},
                            {"correct", t.correct},
                            {"unparsable", t.unparsable},
                            {"accuracy_pct", 100.0 * t.accuracy()}});
  }
  const TaskScore all = tally.overall();
  out["macro_accuracy_pct"] = 100.0 * tally.macro_accuracy();
  out["overall_accuracy_pct"] = 100.0 * all.accuracy();
  out["unparsable"] = all.unparsable;
  const IouSummary iou = tally.iou();
  if (iou.samples > 0) {
    out["iou"] = {{"samples", iou.samples},
                  {"mean", iou.mean},
                  {"correct_samples", iou.correct_samples},
                  {"mean_correct", iou.correct_samples > 0 ? nlohmann::json(iou.mean_correct)
                                                           : nlohmann::json(nullptr)},
                  {"masks", iou.masks},
                  {"mean_per_mask", iou.mean_per_mask},
                  {"wrong_samples", iou.wrong_samples},
                  {"mean_wrong", iou.wrong_samples > 0 ? nlohmann::json(iou.mean_wrong)
                                                       : nlohmann::json(nullptr)}};
  } else {
    out["iou"] = nullptr;
  }
  return out;
}

std::string report_markdown(const BenchTally& tally, const std::string& model_name,
                            ScoringRule rule) {
  std::ostringstream out;
  const std::vector<TaskScore> tasks = tally.tasks();
  out << "| Model |";
  for (const TaskScore& t : tasks) out << " " << t.task << " |";
  out << " Avg |\n|---|";
  for (size_t i = 0; i < tasks.size(); ++i) out << "---:|";
  out << "---:|\n| " << model_name << " |";
  for (const TaskScore& t : tasks) out << " " << percent(t.accuracy()) << " |";
  out << " " << percent(tally.macro_accuracy()) << " |\n\n";
  const TaskScore all = tally.overall();
  out << "Accuracy in % (" << scoring_rule_name(rule) << " scoring), Avg = macro average over "
      << tasks.size() << (tasks.size() == 1 ? " task" : " tasks") << "; " << all.total
      << " samples (";
  for (size_t i = 0; i < tasks.size(); ++i) {
    out << (i ? ", " : "") << tasks[i].task << " " << tasks[i].total;
  }
  out << "), overall " << percent(all.accuracy()) << "%, " << all.unparsable
      << " unparsable answers";
  if (tally.unanswered() > 0) {
    out << "; " << tally.unanswered() << " samples without an answer key (masks only)";
  }
  out << ".\n";
  const IouSummary iou = tally.iou();
  if (iou.samples > 0) {
    auto part = [](double mean, int n) {
      return (n > 0 ? fixed3(mean) : "n/a") + " (" + std::to_string(n) + ")";
    };
    out << "\nMask quality, mean IoU against ground truth (" << iou.samples
        << " samples): " << fixed3(iou.mean) << "; correct answers "
        << part(iou.mean_correct, iou.correct_samples) << ", wrong answers "
        << part(iou.mean_wrong, iou.wrong_samples) << "; over all " << iou.masks << " [SEG] masks "
        << fixed3(iou.mean_per_mask) << ".\n";
  }
  return out.str();
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string report_csv(const BenchTally& tally, const std::string& model_name) {
  std::ostringstream out;
  const std::vector<TaskScore> tasks = tally.tasks();
  const IouSummary iou = tally.iou();
  out << "model";
  for (const TaskScore& t : tasks) out << "," << csv_field(t.task);
  out << ",Avg";
  if (iou.samples > 0) out << ",mIoU,mIoU_correct,mIoU_wrong";
  out << "\n" << csv_field(model_name);
  for (const TaskScore& t : tasks) out << "," << percent(t.accuracy());
  out << "," << percent(tally.macro_accuracy());
  if (iou.samples > 0) {
    out << "," << fixed3(iou.mean) << "," << (iou.correct_samples ? fixed3(iou.mean_correct) : "")
        << "," << (iou.wrong_samples ? fixed3(iou.mean_wrong) : "");
  }
  out << "\n";
  return out.str();
}

void write_file_atomically(const std::string& path, const std::string& text) {
  geo::AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    out << text;
    if (!out) throw Error(path, "cannot write");
  }
  file.commit();
}

int run_bench(const BenchArgs& args) {
  const ScoringRule rule = parse_scoring_rule(args.scoring);
  if (args.resume && args.out_dir.empty()) throw UsageError("--resume needs --out");
  const std::vector<JsonlRecord> lines = read_jsonl(args.bench);
  const fs::path base = fs::path(args.bench).parent_path();
  std::vector<BenchSample> samples;
  for (const JsonlRecord& line : lines) samples.push_back(parse_sample(line, base, args.bench));
  if (samples.empty()) throw Error(args.bench, "no samples");

  if (!args.tasks.empty()) {
    const std::vector<std::string> wanted = split_list(args.tasks);
    std::vector<BenchSample> kept;
    for (BenchSample& s : samples) {
      if (std::find(wanted.begin(), wanted.end(), s.task) != wanted.end()) kept.push_back(s);
    }
    for (const std::string& task : wanted) {
      const bool present = std::any_of(kept.begin(), kept.end(),
                                       [&](const BenchSample& s) { return s.task == task; });
      if (!present) throw Error(args.bench, "no samples of task '" + task + "' (--tasks)");
    }
    samples = std::move(kept);
  }
  if (args.limit > 0 && samples.size() > static_cast<size_t>(args.limit)) {
    samples.resize(static_cast<size_t>(args.limit));
  }

  // Per-sample results: crash-safe JSONL; --resume reuses the samples already scored.
  std::unique_ptr<JsonlAppender> sample_file;
  std::map<std::string, nlohmann::json> previous;
  if (!args.out_dir.empty()) {
    std::error_code ec;
    fs::create_directories(args.out_dir, ec);
    if (ec || !fs::is_directory(args.out_dir)) {
      throw Error(args.out_dir, "cannot create the output directory");
    }
    const std::string path = (fs::path(args.out_dir) / "samples.jsonl").string();
    if (args.resume) {
      for (const nlohmann::json& r : read_result_file(path).records) {
        if (r.is_object() && r.contains("id") && r["id"].is_string()) previous[r["id"]] = r;
      }
    }
    sample_file = std::make_unique<JsonlAppender>(path, /*truncate=*/!args.resume);
  }

  const LoadedModel model = load_model(args.model);
  const AskParams params = ask_params(*model.model, args.generation);
  BenchTally tally;
  int errors = 0;
  int to_do = 0;
  for (const BenchSample& s : samples) to_do += previous.count(s.id) ? 0 : 1;
  ProgressReporter progress("bench", to_do, is_terminal(stderr));

  for (const BenchSample& sample : samples) {
    nlohmann::json record;
    const auto found = previous.find(sample.id);
    if (found != previous.end()) {
      record = found->second;
    } else {
      const auto start = std::chrono::steady_clock::now();
      record = {{"id", sample.id}, {"task_type", sample.task}, {"answer", sample.answer}};
      std::string error = sample.error;
      Answer answer;
      if (error.empty()) {
        try {
          const Scene scene = read_scene(sample.inputs, args.raster);
          Session session(model.model);
          session.set_images(model_frames(scene), model_sar(scene));
          answer = session.ask(sample.question, params);
        } catch (const std::exception& e) {
          error = one_line(e.what());
        }
      }
      // As the release: a sample that fails has the response "" and is scored wrong.
      record["response"] = error.empty() ? answer.text : "";
      record["error"] = error.empty() ? nlohmann::json(nullptr) : nlohmann::json(error);
      // (a null const char* would make nlohmann::json build a std::string from nullptr)
      record["stop_reason"] =
          error.empty() ? nlohmann::json(stop_reason_name(answer.stop)) : nlohmann::json(nullptr);
      record["segs"] = answer.segs.size();
      if (!sample.truth.empty() && error.empty()) {
        const std::vector<double> ious = sample_ious(answer, sample.truth);
        double sum = 0;
        for (const double v : ious) sum += v;
        record["ious"] = ious;
        record["iou"] = sum / static_cast<double>(ious.size());
      } else if (!sample.truth.empty()) {
        record["ious"] = nlohmann::json::array();
        record["iou"] = 0.0;  // no masks from a failed sample
      } else {
        record["ious"] = nullptr;
        record["iou"] = nullptr;
      }
      record["timings_ms"] = {{"sample", elapsed_ms(start)},
                              {"vision", answer.vision_ms},
                              {"prefill", answer.prefill_ms},
                              {"decode", answer.decode_ms},
                              {"sam", answer.sam_ms}};
      if (!error.empty()) progress.note("terrascope bench: " + sample.id + ": " + error);
    }
    // Scored from the stored response, so a resumed run (or another --scoring) scores alike.
    const std::string response = record.value("response", "");
    const Prediction prediction = predict_option(response, rule);
    const bool correct = prediction_correct(prediction, sample.answer);
    record["prediction"] = prediction.value;
    record["parsed"] = prediction.letter;
    record["correct"] = correct;
    record["scoring"] = scoring_rule_name(rule);
    if (!record["error"].is_null()) ++errors;
    std::optional<double> iou;
    if (record.contains("iou") && record["iou"].is_number()) iou = record["iou"].get<double>();
    // No answer key (referring segmentation): no accuracy, only the masks count.
    if (sample.answer.empty()) {
      tally.add_unanswered(iou);
    } else {
      tally.add(sample.task, correct, prediction.letter, iou);
    }
    if (record.contains("ious") && record["ious"].is_array()) {
      tally.add_mask_ious(record["ious"].get<std::vector<double>>());
    }
    if (found == previous.end()) {
      if (sample_file) sample_file->append(record);
      progress.item_done(record["error"].is_null());
    }
  }
  progress.finish();

  const nlohmann::json json_report =
      report_json(tally, model.info.name, model.bundle_sha256, args.bench, rule, errors);
  const std::string md = report_markdown(tally, model.info.name, rule);
  const std::string csv = report_csv(tally, model.info.name);
  if (!args.out_dir.empty()) {
    write_file_atomically((fs::path(args.out_dir) / "report.md").string(), md);
    write_file_atomically((fs::path(args.out_dir) / "report.csv").string(), csv);
    write_file_atomically((fs::path(args.out_dir) / "report.json").string(),
                          json_report.dump(2) + "\n");
  }
  if (args.report == "json") {
    std::cout << json_report.dump(2) << "\n";
  } else if (args.report == "csv") {
    std::cout << csv;
  } else {
    std::cout << md;
  }

  int code = 0;
  if (errors > 0) {
    std::cerr << "terrascope bench: " << args.bench << ": " << errors
              << (errors == 1 ? " sample" : " samples") << " failed (scored as wrong)\n";
    code = 1;
  }
  const double macro = 100.0 * tally.macro_accuracy();
  if (args.min_accuracy && macro < *args.min_accuracy) {
    std::cerr << "terrascope bench: " << args.bench << ": macro accuracy " << percent(macro / 100.0)
              << "% is below --min-accuracy " << *args.min_accuracy << "\n";
    code = 1;
  }
  return code;
}

}  // namespace

CommandRunner add_bench_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "bench", "Score the model on a TerraScope-Bench style JSONL (accuracy per task, mask IoU)");
  auto args = std::make_shared<BenchArgs>();
  add_model_options(*cmd, args->model);
  cmd->add_option("--bench", args->bench,
                  "Bench JSONL (docs/SYNTH.md; tools/bench_from_parquet.py)")
      ->required();
  cmd->add_option("--tasks", args->tasks, "Only these task types, comma-separated (e.g. CA,AQ)");
  cmd->add_option("--limit", args->limit, "Only the first N samples (after --tasks)")
      ->check(CLI::Range(1, 1 << 30));
  cmd->add_option("--report", args->report, "Report on stdout: md | json | csv")
      ->check(CLI::IsMember({"md", "json", "csv"}))
      ->capture_default_str();
  cmd->add_option("--min-accuracy", args->min_accuracy,
                  "Exit 1 when the macro average accuracy (%) is below this")
      ->check(CLI::Range(0.0, 100.0));
  cmd->add_option("--scoring", args->scoring,
                  "release (infer+eval scripts of the release) | standalone (first \\b[A-D]\\b in "
                  "<answer>)")
      ->check(CLI::IsMember({"release", "standalone"}))
      ->capture_default_str();
  cmd->add_option("-o,--out", args->out_dir,
                  "Write samples.jsonl (per sample) and report.{md,json,csv} here");
  cmd->add_flag("--resume", args->resume, "Keep the samples already in OUT/samples.jsonl");
  add_raster_options(*cmd, args->raster);
  add_generation_options(*cmd, args->generation);
  return [args]() -> int {
    return run_with_exit_codes("bench", [&args] { return run_bench(*args); });
  };
}

}  // namespace terrascope::cli
