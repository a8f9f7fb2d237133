// terrascope perf: how fast the engine runs on this machine, in the style of llama-bench (one
// markdown row per measurement, mean +- std over the repetitions after warm-up; --json for
// scripts). Each stage is timed on its own through the engine's internals (vision encoder, SAM-2
// encoder, prefill, the bare LLM step, one [SEG] mask decode), then whole questions through the
// public Session API: one question on a fresh session, and several questions on one scene (which
// reuses the scene's features and the prompt prefix's KV cache). The decode loop's own overhead is
// the engine's per-token time (between consecutive progress callbacks of plain tokens) over the
// bare `llm.forward` step time, the two interleaved token by token (decode_overhead()).
#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <sys/resource.h>
#include <time.h>
#include <torch/csrc/jit/runtime/graph_executor.h>
#include <torch/cuda.h>
#include <torch/script.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cli_options.h"
#include "cli/commands.h"
#include "model/cpu_gemm.h"
#include "model/kv_cache.h"
#include "model/model_impl.h"
#include "model/scene_features.h"
#include "model/seg_round.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct PerfArgs {
  ModelArgs model;
  GenerationArgs generation;
  RasterArgs raster;
  std::string image;
  std::string question = "What share of the scene is covered by water?";
  std::vector<std::string> options;
  int questions = 8;
  int reps = 5;
  int warmup = 1;
  int decode_tokens = 64;
  int threads = 0;
  int interop_threads = 0;
  std::string jit = "default";
  bool json = false;
};

// Questions of the scene-sharing run after the first (the first is --question).
const char* const kMoreQuestions[] = {
    "Which land cover dominates the scene?",   "Where are the built-up areas?",
    "How much of the scene is vegetation?",    "Is there a river in the scene?",
    "Which part of the scene is cropland?",    "Are there clouds over the scene?",
    "What is the largest object in the scene?"};

// A deterministic scene of one tile (the release's common case: one 448 tile): water, fields,
// a built-up block and a road, with a little noise, so that the models see varied content.
RgbImage synthetic_scene(int size) {
  RgbImage image;
  image.width = image.height = size;
  image.pixels.resize(static_cast<size_t>(size) * size * 3);
  uint32_t state = 12345;
  for (int y = 0; y < size; ++y) {
    for (int x = 0; x < size; ++x) {
      int r, g, b;
      if (x + y < size * 2 / 3) {
        r = 30, g = 70, b = 120;  // water
      } else if (x > size * 2 / 3 && y > size / 2) {
        r = 150, g = 145, b = 140;  // built-up
      } else if (std::abs(x - y) < size / 32 + 1) {
        r = 200, g = 200, b = 190;  // road
      } else {
        r = (x / (size / 8 + 1)) % 2 ? 80 : 120, g = 140, b = 60;  // fields
      }
      state = state * 1664525u + 1013904223u;
      const int noise = static_cast<int>(state >> 28) - 8;
      uint8_t* p = &image.pixels[(static_cast<size_t>(y) * size + x) * 3];
      p[0] = static_cast<uint8_t>(std::clamp(r + noise, 0, 255));
      p[1] = static_cast<uint8_t>(std::clamp(g + noise, 0, 255));
      p[2] = static_cast<uint8_t>(std::clamp(b + noise, 0, 255));
    }
  }
  return image;
}

// CPU seconds of the whole process (all threads): on a machine shared with other work, wall time
// measures the neighbours too; CPU time is what this process spent.
double process_cpu_s() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // KiB on Linux
}

// Device memory in use (MiB) through the CUDA runtime libtorch already loaded; nullopt when there
// is none (CPU-only libtorch). Looked up at run time so that the binary needs no CUDA headers.
std::optional<double> cuda_used_mib() {
  using MemGetInfo = int (*)(size_t*, size_t*);
  static MemGetInfo fn = [] {
    void* sym = dlsym(RTLD_DEFAULT, "cudaMemGetInfo");
    for (const char* name : {"libcudart.so.13", "libcudart.so.12", "libcudart.so"}) {
      if (sym) break;
      if (void* lib = dlopen(name, RTLD_LAZY | RTLD_NOLOAD)) sym = dlsym(lib, "cudaMemGetInfo");
    }
    return reinterpret_cast<MemGetInfo>(sym);
  }();
  size_t free_bytes = 0, total_bytes = 0;
  if (!fn || fn(&free_bytes, &total_bytes) != 0) return std::nullopt;
  return (total_bytes - free_bytes) / 1048576.0;
}

// One table row: samples of a measurement in `unit`.
struct Row {
  std::string test;
  std::string unit;
  std::vector<double> samples;
  double mean() const {
    double s = 0;
    for (double v : samples) s += v;
    return samples.empty() ? 0 : s / samples.size();
  }
  double stddev() const {
    if (samples.size() < 2) return 0;
    const double m = mean();
    double s = 0;
    for (double v : samples) s += (v - m) * (v - m);
    return std::sqrt(s / (samples.size() - 1));
  }
  double median() const {
    if (samples.empty()) return 0;
    std::vector<double> v = samples;
    std::sort(v.begin(), v.end());
    const size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  }
};

class Bench {
 public:
  Bench(const PerfArgs& args, const LoadedModel& loaded, std::vector<RgbImage> frames)
      : args_(args),
        loaded_(loaded),
        model_(loaded.model->impl()),
        frames_(std::move(frames)),
        params_(ask_params(*loaded.model, args.generation)) {
    llm_ = const_cast<torch::jit::Module*>(&model_.bundle.llm);
    question_.text = args.question;
    question_.options = args.options;
  }

  void run() {
    for (int rep = 0; rep < args_.warmup + args_.reps; ++rep) {
      recording_ = rep >= args_.warmup;
      stages();
      questions();
      track_gpu_memory();
    }
  }

  std::vector<Row> rows() const {
    std::vector<Row> out;
    for (const std::string& name : order_) out.push_back(rows_.at(name));
    return out;
  }

  // Weight bytes (every distinct parameter and buffer of the loaded modules) and KV cache bytes.
  std::pair<double, double> weights_and_cache_mib() const {
    std::map<const void*, size_t> seen;
    for (const torch::jit::Module* m :
         {&model_.bundle.vision, &model_.bundle.sar_encoder, &model_.bundle.llm,
          &model_.bundle.seg_proj, &model_.bundle.sam_encoder, &model_.bundle.sam_decoder}) {
      for (const auto& p : m->parameters()) seen[p.data_ptr()] = p.nbytes();
      for (const auto& b : m->buffers()) seen[b.data_ptr()] = b.nbytes();
    }
    size_t weights = 0;
    for (const auto& [ptr, bytes] : seen) weights += bytes;
    size_t cache = c10::elementSize(model_.dtype);
    for (int64_t d : model_.bundle.manifest.llm.cache_shape) cache *= d;
    return {weights / 1048576.0, cache / 1048576.0};
  }

  std::optional<double> gpu_peak_mib() const { return gpu_peak_mib_; }
  int prompt_tokens() const { return prompt_tokens_; }
  int tiles() const { return tiles_; }
  double segs_per_question() const { return segs_per_question_; }
  double tokens_per_question() const { return tokens_per_question_; }
  const std::vector<int32_t>& first_output_ids() const { return first_output_ids_; }

 private:
  void sync() const {
    if (model_.device.is_cuda()) torch::cuda::synchronize(model_.device.index());
  }

  void record(const std::string& test, const std::string& unit, double value) {
    if (!recording_) return;
    auto [it, added] = rows_.emplace(test, Row{test, unit, {}});
    if (added) order_.push_back(test);
    it->second.samples.push_back(value);
  }

  template <typename Fn>
  double timed_ms(Fn&& fn) {
    sync();
    const auto start = Clock::now();
    fn();
    sync();
    return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  }

  torch::Tensor embed(const std::vector<int32_t>& ids) {
    torch::Tensor t = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64)
                          .to(model_.device);
    return llm_->get_method("embed")({t}).toTensor();
  }

  // The final-norm hidden state of the last of `embeds`, fed at positions start.. on `cache`.
  torch::Tensor step_hidden(const torch::Tensor& embeds, int64_t start, torch::Tensor& cache) {
    torch::Tensor start_t = torch::full({1}, start, torch::kInt64).to(model_.device);
    return llm_->forward({embeds, start_t, attended_cache(cache, start + embeds.size(0))})
        .toTuple()
        ->elements()[1]
        .toTensor();
  }

  // Each stage on its own, through the engine's internals.
  void stages() {
    c10::InferenceMode guard;
    SceneFeatures scene;
    const double vision_ms = timed_ms([&] { scene = compute_scene_features(model_, frames_, {}); });
    tiles_ =
        static_cast<int>(scene.vision_rows.size(0) / model_.bundle.manifest.vision.tokens_per_tile);
    record("vision encode (per tile)", "ms", vision_ms / tiles_);
    record("SAM-2 image encode", "ms",
           timed_ms([&] { ensure_sam_features(model_, frames_, scene); }));

    Session session(loaded_.model);
    session.set_images(frames_);
    const std::vector<int32_t> ids = session.prompt_ids(question_, params_);
    prompt_tokens_ = static_cast<int>(ids.size());
    std::vector<int64_t> image_positions;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == model_.bundle.ids.img_context) image_positions.push_back(i);
    }
    if (!cache_.defined()) {
      cache_ = torch::zeros(model_.bundle.manifest.llm.cache_shape,
                            torch::TensorOptions().dtype(model_.dtype).device(model_.device));
    }
    torch::Tensor hidden;
    const double prefill_ms = timed_ms([&] {
      torch::Tensor embeds = embed(ids);
      embeds.index_copy_(0, torch::tensor(image_positions, torch::kInt64).to(model_.device),
                         scene.vision_rows.to(embeds.scalar_type()));
      hidden = step_hidden(embeds, 0, cache_);
    });
    record("prefill", "tokens/s", ids.size() / (prefill_ms / 1000));

    // The bare step: llm.forward on one precomputed embedding, nothing else.
    const int64_t cache_len = cache_.size(3);
    const int n = static_cast<int>(
        std::min<int64_t>(args_.decode_tokens, cache_len - static_cast<int64_t>(ids.size())));
    if (n > 0) {
      torch::Tensor one = embed({model_.bundle.ids.think_start});
      torch::Tensor start_t = torch::zeros({1}, torch::kInt64).to(model_.device);
      int64_t pos = static_cast<int64_t>(ids.size());
      // Median over the steps, as the engine loop's per-token time: on a shared machine a mean
      // would also count the neighbours' preemptions.
      std::vector<double> step_ms;
      for (int i = 0; i < n; ++i, ++pos) {
        // The slots the engine's step attends over at this position (kv_cache.h), outside the
        // timing: the view is part of the loop's overhead, not of the step.
        torch::Tensor attended = attended_cache(cache_, pos + 1);
        step_ms.push_back(timed_ms([&] {
          start_t.fill_(pos);
          llm_->forward({one, start_t, attended});
        }));
      }
      std::sort(step_ms.begin(), step_ms.end());
      record("bare llm step (forward only)", "ms", step_ms[step_ms.size() / 2]);
    }

    SegRoundInput input;
    input.seg_hidden = hidden;
    record("mask decode (per [SEG])", "ms",
           timed_ms([&] { run_seg_round(model_, scene, params_.policies, input); }));
  }

  // Whole questions through the public API.
  void questions() {
    // Per-token time of the engine's loop: intervals between progress callbacks that each added
    // exactly one plain token (a [SEG] round or a region feed in between is excluded).
    std::vector<double> token_ms;
    Clock::time_point last;
    Progress previous{};
    AskParams params = params_;
    params.on_progress = [&](const Progress& p) {
      const auto now = Clock::now();
      if (p.new_tokens == previous.new_tokens + 1 && p.seg_rounds == previous.seg_rounds &&
          previous.new_tokens > 0) {
        token_ms.push_back(std::chrono::duration<double, std::milli>(now - last).count());
      }
      previous = p;
      last = now;
    };

    Answer first;
    double cpu_start = process_cpu_s();
    const double one_ms = timed_ms([&] {
      Session session(loaded_.model);
      session.set_images(frames_);
      previous = {};
      first = session.ask(question_, params);
    });
    record("question, fresh session (end to end)", "s", one_ms / 1000);
    record("question, fresh session (CPU time)", "s", process_cpu_s() - cpu_start);
    segs_per_question_ = static_cast<double>(first.segs.size());
    tokens_per_question_ = static_cast<double>(first.output_ids.size());
    first_output_ids_ = first.output_ids;
    if (!token_ms.empty()) {
      std::sort(token_ms.begin(), token_ms.end());
      const double median = token_ms[token_ms.size() / 2];
      record("decode (engine loop)", "tokens/s", 1000.0 / median);
      record("decode loop per token", "ms", median);
    }
    decode_overhead();

    if (args_.questions > 1) {
      cpu_start = process_cpu_s();
      const double many_ms = timed_ms([&] {
        Session session(loaded_.model);
        session.set_images(frames_);
        for (int q = 0; q < args_.questions; ++q) {
          Question question = question_;
          if (q > 0) question.text = kMoreQuestions[(q - 1) % std::size(kMoreQuestions)];
          previous = {};
          session.ask(question, params);
        }
      });
      record(std::to_string(args_.questions) + " questions, one scene (per question)", "s",
             many_ms / 1000 / args_.questions);
      record(std::to_string(args_.questions) + " questions, one scene (CPU time per question)", "s",
             (process_cpu_s() - cpu_start) / args_.questions);
    }
  }

  // The decode loop's own overhead, measured in one time window: the same question is asked
  // (kDecodeOverheadAsks times, for more tokens), and after each plain token the progress callback
  // times one bare llm.forward step at that token's position on the scratch cache of stages()
  // (same attended slots, one precomputed embedding); the loop's interval excludes that step. On
  // a shared machine the neighbours' load changes over seconds, so a bare step measured earlier
  // (stages) and a loop measured later differ by more than the overhead itself.
  void decode_overhead() {
    if (!cache_.defined()) return;
    constexpr int kDecodeOverheadAsks = 4;
    std::vector<double> loop_ms, bare_ms;
    Clock::time_point mark;
    Progress previous{};
    torch::Tensor one = embed({model_.bundle.ids.think_start});
    torch::Tensor start_t = torch::zeros({1}, torch::kInt64).to(model_.device);
    const int64_t cache_len = cache_.size(3);
    AskParams params = params_;
    params.on_progress = [&](const Progress& p) {
      const auto now = Clock::now();
      const bool plain = p.new_tokens == previous.new_tokens + 1 &&
                         p.seg_rounds == previous.seg_rounds && previous.new_tokens > 0;
      previous = p;
      const int64_t pos = prompt_tokens_ + p.new_tokens - 1;  // of the token just fed
      if (plain && pos < cache_len) {
        loop_ms.push_back(std::chrono::duration<double, std::milli>(now - mark).count());
        torch::Tensor attended = attended_cache(cache_, pos + 1);
        bare_ms.push_back(timed_ms([&] {
          start_t.fill_(pos);
          llm_->forward({one, start_t, attended});
        }));
      }
      mark = Clock::now();
    };
    for (int i = 0; i < kDecodeOverheadAsks; ++i) {
      Session session(loaded_.model);
      session.set_images(frames_);
      previous = {};
      mark = Clock::now();
      session.ask(question_, params);
    }
    if (loop_ms.empty()) return;
    std::sort(loop_ms.begin(), loop_ms.end());
    std::sort(bare_ms.begin(), bare_ms.end());
    const double loop = loop_ms[loop_ms.size() / 2], bare = bare_ms[bare_ms.size() / 2];
    record("decode loop per token (interleaved)", "ms", loop);
    record("bare llm step (interleaved)", "ms", bare);
    record("decode loop / bare step", "x", loop / bare);
  }

  void track_gpu_memory() {
    if (!model_.device.is_cuda()) return;
    if (auto used = cuda_used_mib()) gpu_peak_mib_ = std::max(gpu_peak_mib_.value_or(0), *used);
  }

  const PerfArgs& args_;
  const LoadedModel& loaded_;
  const Model::Impl& model_;
  std::vector<RgbImage> frames_;
  AskParams params_;
  Question question_;
  torch::jit::Module* llm_;
  torch::Tensor cache_;
  bool recording_ = false;
  std::map<std::string, Row> rows_;
  std::vector<std::string> order_;
  std::optional<double> gpu_peak_mib_;
  int prompt_tokens_ = 0, tiles_ = 0;
  double segs_per_question_ = 0, tokens_per_question_ = 0;
  std::vector<int32_t> first_output_ids_;
};

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

int digits_for(double v) {
  const double a = std::fabs(v);
  return a >= 100 ? 1 : a >= 1 ? 2 : a >= 0.01 ? 4 : 6;
}

// Executor settings, applied before the model's first call (measured in BENCHMARKS.md).
// "default" is the engine's own choice (Model::load: the legacy executor on the CPU); "profiling"
// keeps libtorch's profiling executor.
void apply_jit_setting(const std::string& jit) {
  if (jit == "profiling") {
    setenv("TERRASCOPE_JIT", "profiling", 1);
  } else if (jit == "no-optimize") {
    torch::jit::setGraphExecutorOptimize(false);
  } else if (jit == "simple") {
    torch::jit::getProfilingMode() = false;
    torch::jit::getExecutorMode() = false;
  } else if (jit == "no-profiling") {
    torch::jit::getProfilingMode() = false;
  }
}

int run_perf(const PerfArgs& args) {
  if (args.reps < 1) throw UsageError("--reps must be at least 1");
  if (args.threads > 0) at::set_num_threads(args.threads);
  if (args.interop_threads > 0) at::set_num_interop_threads(args.interop_threads);
  apply_jit_setting(args.jit);
  const double rss_start = peak_rss_mib();
  LoadedModel loaded = load_model(args.model);
  const double rss_loaded = peak_rss_mib();

  std::vector<RgbImage> frames;
  std::string image_name = "synthetic";
  if (!args.image.empty()) {
    SceneInputs inputs;
    inputs.image = args.image;
    frames = model_frames(read_scene(inputs, args.raster));
    image_name = std::filesystem::path(args.image).filename().string();
  } else {
    frames = {synthetic_scene(loaded.info.tile_size)};
  }

  Bench bench(args, loaded, frames);
  bench.run();
  std::vector<Row> rows = bench.rows();
  const auto [weights_mib, cache_mib] = bench.weights_and_cache_mib();
  const double rss_peak = peak_rss_mib();

  const std::string model_name = std::filesystem::path(args.model.bundle_dir).filename().string();
  const int threads = at::get_num_threads();
  if (args.json) {
    nlohmann::json out;
    out["model"] = model_name;
    out["model_name"] = loaded.info.name;
    out["device"] = loaded.info.device;
    out["dtype"] = loaded.info.dtype;
    out["threads"] = threads;
    out["interop_threads"] = at::get_num_interop_threads();
    out["jit"] = args.jit;
    out["cpu_gemm"] = cpu_gemm_backend();
    out["image"] = image_name;
    out["width"] = frames[0].width;
    out["height"] = frames[0].height;
    out["tiles"] = bench.tiles();
    out["prompt_tokens"] = bench.prompt_tokens();
    out["segs_per_question"] = bench.segs_per_question();
    out["output_ids_per_question"] = bench.tokens_per_question();
    out["reps"] = args.reps;
    out["warmup"] = args.warmup;
    out["load_ms"] = loaded.load_ms;
    out["rss_start_mib"] = rss_start;
    out["rss_after_load_mib"] = rss_loaded;
    out["peak_rss_mib"] = rss_peak;
    out["weights_mib"] = weights_mib;
    out["kv_cache_mib"] = cache_mib;
    if (bench.gpu_peak_mib()) out["gpu_used_peak_mib"] = *bench.gpu_peak_mib();
    out["output_ids"] = bench.first_output_ids();
    out["tests"] = nlohmann::json::array();
    for (const Row& r : rows) {
      out["tests"].push_back({{"test", r.test},
                              {"unit", r.unit},
                              {"mean", r.mean()},
                              {"std", r.stddev()},
                              {"median", r.median()},
                              {"samples", r.samples}});
    }
    std::cout << out.dump(1) << "\n";
    return 0;
  }
  std::cout << "| model | device | dtype | threads | test | value | unit |\n"
            << "| --- | --- | --- | ---: | --- | ---: | --- |\n";
  auto line = [&](const std::string& test, const std::string& value, const std::string& unit) {
    std::cout << "| " << model_name << " | " << loaded.info.device << " | " << loaded.info.dtype
              << " | " << threads << " | " << test << " | " << value << " | " << unit << " |\n";
  };
  for (const Row& r : rows) {
    const int d = digits_for(r.mean());
    line(r.test, fixed(r.mean(), d) + " ± " + fixed(r.stddev(), d), r.unit);
  }
  line("peak RSS", fixed(rss_peak, 1), "MiB");
  line("RSS before load (runtime)", fixed(rss_start, 1), "MiB");
  line("weights + KV cache", fixed(weights_mib, 1) + " + " + fixed(cache_mib, 1), "MiB");
  if (bench.gpu_peak_mib())
    line("GPU memory in use (peak seen)", fixed(*bench.gpu_peak_mib(), 0), "MiB");
  std::cout << "\n"
            << image_name << " " << frames[0].width << "x" << frames[0].height << ", "
            << bench.tiles() << " tile(s), prompt " << bench.prompt_tokens() << " tokens, "
            << bench.segs_per_question() << " [SEG] and " << bench.tokens_per_question()
            << " output ids per question; " << args.reps << " reps after " << args.warmup
            << " warm-up; jit " << args.jit << "; CPU GEMM " << cpu_gemm_backend() << "\n";
  return 0;
}

}  // namespace

CommandRunner add_perf_command(CLI::App& app) {
  auto args = std::make_shared<PerfArgs>();
  CLI::App* cmd = app.add_subcommand(
      "perf", "Measure the engine's speed stage by stage (llama-bench style table)");
  add_model_options(*cmd, args->model);
  add_generation_options(*cmd, args->generation);
  add_raster_options(*cmd, args->raster);
  cmd->add_option("--image", args->image, "Raster to use (default: a built-in synthetic scene)");
  cmd->add_option("-q,--question", args->question, "Question of the timed runs")
      ->capture_default_str();
  cmd->add_option("--options", args->options, "Multiple-choice options of --question");
  cmd->add_option("--questions", args->questions, "Questions asked on one scene (shared prefix)")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("-r,--reps", args->reps, "Timed repetitions")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--warmup", args->warmup, "Untimed repetitions first")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  cmd->add_option("--decode-tokens", args->decode_tokens, "Bare LLM steps timed per repetition")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("-t,--threads", args->threads, "Intra-op threads (default: libtorch's)")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--interop-threads", args->interop_threads, "Inter-op threads")
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--jit", args->jit,
                  "TorchScript executor: default (the engine's) | profiling | no-optimize | "
                  "no-profiling | simple")
      ->check(CLI::IsMember({"default", "profiling", "no-optimize", "no-profiling", "simple"}))
      ->capture_default_str();
  cmd->add_flag("--json", args->json, "Print JSON (every sample) instead of the table");
  return [args] { return run_with_exit_codes("perf", [&] { return run_perf(*args); }); };
}

}  // namespace terrascope::cli
