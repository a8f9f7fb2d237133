// The TerraScope engine as another C++ program uses it: load a model bundle once (Model, immutable
// and shareable between threads), open a Session per conversation on one scene, ask questions, read
// the answer text and the masks the model reasoned with. No libtorch types here.
//
//   auto model = terrascope::Model::load("models/tiny", {"cpu", "fp32"});
//   terrascope::Session session(model);
//   session.set_images({image});
//   terrascope::Answer a = session.ask({"How much of the scene is water?", {"10%", "40%"}},
//                                      model->default_params());
//   // a.text, a.segs[i].frame_masks[f] (0/1, original size)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope {

// Where and in which precision the modules run. bf16/fp16 need a CUDA device.
struct ModelOptions {
  std::string device = "cpu";  // "cpu" or "cuda:N"
  std::string dtype = "fp32";  // "fp32", "bf16", "fp16"
};

// Behaviours where the released code and the paper differ (docs/BUNDLE.md, "Policy values").
struct Policies {
  int region_cap = 8;                        // K, most <REGION> tokens per [SEG]; release 8
  std::string region_selection = "release";  // "release" (NEAREST resize) | "paper" (cell > 50%)
  std::string frame_choice = "release";      // "release" (seg_count % frames) | "indicator"
  std::string sar_fusion = "release";        // "release" | "adaptive" (Eq. 4-5) | "concat"
  // Diagnosis only (the grounding ablation): false feeds no <REGION> rows after a [SEG]; the mask
  // is still made and returned. Not a manifest policy: the release always injects.
  bool inject_regions = true;
};

// Token choice. temperature 0 is greedy (the release); otherwise temperature, then top-k, then
// top-p over the softmax, drawn with a generator seeded by `seed`.
struct Sampling {
  double temperature = 0.0;
  int top_k = 0;       // 0: no limit
  double top_p = 1.0;  // 1: no limit
  uint64_t seed = 0;
};

// One [SEG] round: the masks SAM-2 decoded and the vision tokens fed back as <REGION>.
struct SegResult {
  std::vector<GrayImage> frame_masks;   // one 0/1 mask per frame, at the first frame's size
  std::vector<int64_t> region_indices;  // rows of the flat vision tokens fed as <REGION>
  int frame = 0;                        // frame whose mask chose the rows
  std::vector<bool> region_from_sar;    // per row, true where the SAR row was fed (sar fusion)
  std::string modality = "optical";     // rows fed: "optical", "sar" or "both"
};

// Why generation ended.
enum class StopReason { kStopToken, kMaxNewTokens, kMaxSegRounds, kContextFull, kAborted };
const char* stop_reason_name(StopReason reason);

struct Progress {
  int new_tokens = 0;  // generated ids so far (<REGION> included, as the release counts)
  int max_new_tokens = 0;
  int seg_rounds = 0;
};

// Per-question settings and callbacks, in the manner of whisper.cpp's full_params. Start from
// Model::default_params() (the manifest's policies and limits) and override what you need.
struct AskParams {
  Policies policies;
  Sampling sampling;
  int max_new_tokens = 8192;  // release: max_length 8192 generated ids
  int max_seg_rounds = 20;    // release: max_iterations 20
  int keep_logits = 0;        // keep the logits of the first n sampled tokens (Answer::logits)
  // Each decoded text piece as it is produced (never a cut UTF-8 character).
  std::function<void(const std::string& piece)> on_text;
  // Each finished [SEG] round, with its index.
  std::function<void(const SegResult& seg, int index)> on_mask;
  std::function<void(const Progress& progress)> on_progress;
  // Checked before every step; returning true stops generation (StopReason::kAborted).
  std::function<bool()> should_abort;
};

// A question in the benchmark's form: text, then "A. opt\nB. opt\n..." when options are given.
struct Question {
  std::string text;
  std::vector<std::string> options;
};

struct Answer {
  std::string text;                 // decoded output, special tokens kept, trimmed (release)
  std::vector<int32_t> prompt_ids;  // the prompt as fed (vision positions hold <IMG_CONTEXT>)
  std::vector<int32_t> output_ids;  // generated ids, <REGION> ids included (release)
  std::vector<SegResult> segs;
  StopReason stop = StopReason::kStopToken;
  std::vector<std::vector<float>> logits;  // first AskParams::keep_logits sampled steps, fp32
  double prefill_ms = 0, decode_ms = 0, vision_ms = 0, sam_ms = 0;
};

struct ModelInfo {
  std::string name;
  std::string device;
  std::string dtype;
  int tile_size = 0;
  int tokens_per_tile = 0;
  int max_tiles = 0;
  int cache_length = 0;
};

class Session;

// A loaded, verified bundle. Immutable after load; share it (shared_ptr) between sessions.
class Model {
 public:
  // Reads DIR/terrascope.json, verifies every file against its sha256 before loading any code,
  // checks methods, shapes and special tokens. Throws Error naming the file and the problem.
  static std::shared_ptr<const Model> load(const std::string& bundle_dir,
                                           const ModelOptions& options = {});
  ~Model();

  AskParams default_params() const;  // policies and limits from the manifest
  ModelInfo info() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  explicit Model(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One conversation over one scene: owns the KV cache, the scene's vision tokens and SAM-2 features
// (computed once per image, reused by every [SEG] and every later question), and the last answer.
class Session {
 public:
  explicit Session(std::shared_ptr<const Model> model);
  ~Session();
  Session(Session&&) noexcept;
  Session& operator=(Session&&) noexcept;

  // One optical image, or a time series (several frames of one size), optionally with a SAR
  // pseudo-RGB image [VH, VV, (VH+VV)/2] of the optical frame. Clears cached features.
  void set_images(const std::vector<RgbImage>& frames, const std::optional<RgbImage>& sar = {});

  // Runs the interleaved [SEG] loop for one question; each question starts a fresh prompt.
  Answer ask(const Question& question, const AskParams& params);

  // The token ids the prompt of `question` would have (for inspection and tests).
  std::vector<int32_t> prompt_ids(const Question& question, const AskParams& params) const;

 private:
  struct State;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<State> state_;
};

}  // namespace terrascope
