#include "cli/result_json.h"

#include <filesystem>
#include <fstream>

#include "cli/bench_score.h"
#include "geo/atomic_file.h"
#include "terrascope/error.h"
#include "terrascope/mask_measure.h"
#include "terrascope/mask_overlay.h"
#include "terrascope/mask_polygons.h"
#include "terrascope/mask_writer.h"

namespace terrascope::cli {
namespace {

nlohmann::json frame_json(const SceneFrame& frame) {
  nlohmann::json out = {{"path", frame.path},
                        {"modality", frame.modality == Modality::kSar ? "sar" : "optical"},
                        {"bands", frame.bands},
                        {"width", frame.grid.width},
                        {"height", frame.grid.height},
                        {"working_width", frame.rgb.width},
                        {"working_height", frame.rgb.height},
                        {"warped", frame.warped},
                        {"valid_share", frame.valid_share()}};
  return out;
}

nlohmann::json grid_json(const RasterGrid& grid) {
  nlohmann::json out = {{"width", grid.width}, {"height", grid.height}};
  out["geotransform"] = grid.has_geotransform ? nlohmann::json(grid.geotransform) : nullptr;
  out["crs_wkt"] = grid.crs_wkt.empty() ? nlohmann::json(nullptr) : nlohmann::json(grid.crs_wkt);
  out["georeferenced"] = grid.has_geotransform && !grid.crs_wkt.empty();
  return out;
}

// File names of [SEG] i on frame f: one per [SEG] for a single image, per frame for a series.
std::string mask_stem(size_t seg, size_t frame, bool series) {
  std::string stem = "seg" + std::to_string(seg);
  if (series) stem += "_t" + std::to_string(frame);
  return stem;
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  geo::AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    out << text;
    out.flush();
    if (!out) throw Error(path, "cannot write");
  }
  file.commit();
}

}  // namespace

ParsedAnswer parse_answer(const std::string& text, const Question& question) {
  ParsedAnswer parsed;
  parsed.answer = answer_block(text);
  if (!question.options.empty() && parsed.answer) {
    const Prediction prediction = predict_option(text, ScoringRule::kRelease);
    if (prediction.letter) {
      const size_t index = static_cast<size_t>(prediction.value[0] - 'A');
      if (index < question.options.size()) {
        parsed.option = prediction.value[0];
        parsed.option_text = question.options[index];
      }
    }
  }
  return parsed;
}

nlohmann::json write_result(const ResultContext& context, const Answer& answer,
                            const std::string& dir, const ResultOutputs& outputs) {
  const auto start = std::chrono::steady_clock::now();
  const Scene& scene = *context.scene;
  const bool series = scene.frames.size() > 1;
  const bool writing = !dir.empty();
  auto path_in_dir = [&](const std::string& name) {
    return (std::filesystem::path(dir) / name).string();
  };

  nlohmann::json result;
  result["schema"] = kResultSchemaId;
  result["version"] = std::string("terrascope ") + TERRASCOPE_VERSION;
  result["question"] = {{"text", context.question.text}, {"options", context.question.options}};

  nlohmann::json inputs = {{"mode", context.inputs.mode()}};
  inputs["frames"] = nlohmann::json::array();
  for (const SceneFrame& frame : scene.frames) inputs["frames"].push_back(frame_json(frame));
  inputs["sar"] = scene.sar.empty() ? nlohmann::json(nullptr) : frame_json(scene.sar.front());
  inputs["grid"] = grid_json(scene.grid());
  result["inputs"] = inputs;

  const ParsedAnswer parsed = parse_answer(answer.text, context.question);
  result["text"] = answer.text;
  result["answer"] = parsed.answer ? nlohmann::json(*parsed.answer) : nullptr;
  result["option"] = parsed.option ? nlohmann::json(std::string(1, *parsed.option)) : nullptr;
  result["option_text"] = parsed.option ? nlohmann::json(parsed.option_text) : nullptr;
  result["stop_reason"] = stop_reason_name(answer.stop);
  result["tokens"] = {{"prompt", answer.prompt_ids.size()}, {"output", answer.output_ids.size()}};

  const RasterGrid& grid = scene.grid();
  result["segs"] = nlohmann::json::array();
  std::vector<std::vector<LabelledMask>> overlay_masks(scene.frames.size());
  for (size_t s = 0; s < answer.segs.size(); ++s) {
    const SegResult& seg = answer.segs[s];
    nlohmann::json seg_json = {{"index", s},
                               {"frame", seg.frame},
                               {"modality", seg.modality},
                               {"region_indices", seg.region_indices}};
    seg_json["masks"] = nlohmann::json::array();
    for (size_t f = 0; f < seg.frame_masks.size(); ++f) {
      const GrayImage& mask = seg.frame_masks[f];
      // Masks lie on the first frame's grid (frames of a series share it, warped or not); each
      // frame's own validity restricts its mask.
      const size_t frame_index = std::min(f, scene.frames.size() - 1);
      const GrayImage& validity = scene.frames[frame_index].validity;
      const GrayImage* valid =
          (validity.width == mask.width && validity.height == mask.height) ? &validity : nullptr;
      nlohmann::json mask_json = {{"frame", f}, {"image", scene.frames[frame_index].path}};
      mask_json["measurements"] = measure_mask(grid, mask, valid);
      const std::string stem = mask_stem(s, f, series);
      mask_json["file"] = nullptr;
      mask_json["polygons"] = nullptr;
      mask_json["polygon_count"] = nullptr;
      if (writing && outputs.masks) {
        write_mask_geotiff(path_in_dir(stem + ".tif"), grid, mask, valid);
        mask_json["file"] = stem + ".tif";
      }
      if (writing && outputs.polygons) {
        const PolygonsWritten polygons =
            write_mask_geojson(path_in_dir(stem + ".geojson"), grid, mask, valid);
        mask_json["polygons"] = stem + ".geojson";
        mask_json["polygon_count"] = polygons.polygon_count;
      }
      seg_json["masks"].push_back(mask_json);
      if (frame_index < overlay_masks.size()) {
        overlay_masks[frame_index].push_back({"[SEG] " + std::to_string(s), mask});
      }
    }
    result["segs"].push_back(seg_json);
  }

  result["overlays"] = nlohmann::json::array();
  if (writing && outputs.overlay) {
    for (size_t f = 0; f < scene.frames.size(); ++f) {
      const std::string name = series ? "overlay_t" + std::to_string(f) + ".png" : "overlay.png";
      write_overlay_png(path_in_dir(name), scene.frames[f].rgb, overlay_masks[f]);
      result["overlays"].push_back(name);
    }
  }

  const LoadedModel& model = *context.model;
  result["model"] = {{"name", model.info.name},
                     {"bundle_sha256", model.bundle_sha256},
                     {"device", model.info.device},
                     {"dtype", model.info.dtype}};
  result["params"] = params_json(context.params);

  const double write_ms = elapsed_ms(start);
  result["timings_ms"] = {{"read", context.read_ms},    {"load", context.load_ms},
                          {"vision", answer.vision_ms}, {"prefill", answer.prefill_ms},
                          {"decode", answer.decode_ms}, {"sam", answer.sam_ms},
                          {"write", write_ms}};
  if (writing) {
    write_text_file_atomically(
        path_in_dir("result.json"),
        result.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  }
  return result;
}

}  // namespace terrascope::cli
