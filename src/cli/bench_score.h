// Scoring of multiple-choice answers as TerraScope-Bench scores them, per-task accuracy with the
// macro average, and mask IoU against ground truth (COCO RLE).
//
// The release scores in two steps (projects/terrascope/evaluation/): infer_terrascope_bench.py's
// extract_answer() turns the model's text into `predicted_answer`, then eval_terrascope_bench.py's
// norm_ans() normalises prediction and ground truth and compares them. ScoringRule::kRelease
// reproduces that pipeline. TERRASCOPE.md describes the rule as "the first standalone letter
// \b[A-D]\b in the answer", which is only eval_terrascope_bench.py's fallback for a missing
// prediction (maybe_parse_from_response); ScoringRule::kStandaloneLetter is that rule. The two
// agree on answers of the released shape ("<answer> B </answer>") and differ on free text, e.g.
// "<answer>about 40%</answer>" (release: "A", standalone: unparsable) or "<answer>The answer is
// B</answer>" (release: wrong, standalone: "B").
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "terrascope/image.h"

namespace terrascope::cli {

// The content of the first <answer>...</answer> block (tags case-insensitive, as the release's
// re.IGNORECASE), whitespace trimmed at both ends; nullopt when there is no complete block.
std::optional<std::string> answer_block(const std::string& text);

enum class ScoringRule { kRelease, kStandaloneLetter };
ScoringRule parse_scoring_rule(const std::string& name);  // "release" | "standalone"
const char* scoring_rule_name(ScoringRule rule);

// What the scorer read from one response.
struct Prediction {
  std::string value;    // normalised prediction compared with the normalised ground truth
  bool letter = false;  // value is one of the letters A-D (otherwise: unparsable as an option)
};

// kRelease: extract_answer() (first <answer> block, else the whole text, stripped; a leading
// letter a-d/A-D, whatever follows it, is the prediction) then norm_ans() (upper case); an empty
// response predicts "". kStandaloneLetter: the first \b[A-D]\b (case-insensitive) inside the first
// <answer> block; "" when there is none.
Prediction predict_option(const std::string& response, ScoringRule rule);

// eval_terrascope_bench.py's norm_ans() of a ground-truth answer: a leading letter A-D followed by
// a word boundary becomes that letter (upper case), anything else the stripped text in upper case.
std::string normalise_ground_truth(const std::string& answer);

// Release comparison: equal after normalisation, and the ground truth is not empty.
bool prediction_correct(const Prediction& prediction, const std::string& ground_truth);

// Accuracy per task and overall. Tasks are kept in the paper's column order (CA AQ CR BRD DM BCE),
// other task names after them in name order.
struct TaskScore {
  std::string task;
  int total = 0;
  int correct = 0;
  int unparsable = 0;  // predictions that are not a letter A-D
  double accuracy() const { return total > 0 ? static_cast<double>(correct) / total : 0.0; }
};

struct IouSummary {
  int samples = 0;  // samples with ground-truth masks
  double mean = 0;
  int correct_samples = 0;
  double mean_correct = 0;  // over samples answered correctly (the paper's Fig. 6 split)
  int wrong_samples = 0;
  double mean_wrong = 0;
  int masks = 0;  // every ground-truth mask ([SEG]) of every sample
  double mean_per_mask = 0;
};

class BenchTally {
 public:
  // One scored sample; `iou` when the sample has ground-truth masks.
  void add(const std::string& task, bool correct, bool letter, std::optional<double> iou);
  // A sample without an answer to score (referring segmentation: "Segment the water."): its IoU
  // counts, its task has no accuracy.
  void add_unanswered(std::optional<double> iou);
  // The IoU of each ground-truth mask of one sample (the per-[SEG] mean of the report).
  void add_mask_ious(const std::vector<double>& ious);
  std::vector<TaskScore> tasks() const;
  TaskScore overall() const;      // micro: all samples together
  double macro_accuracy() const;  // mean of the per-task accuracies (the paper's headline)
  IouSummary iou() const;
  int samples() const { return overall_.total + unanswered_; }  // scored + unanswered
  int unanswered() const { return unanswered_; }

 private:
  std::map<std::string, TaskScore> per_task_;
  TaskScore overall_;
  double iou_sum_ = 0, iou_sum_correct_ = 0, iou_sum_wrong_ = 0;
  int iou_n_ = 0, iou_n_correct_ = 0, iou_n_wrong_ = 0;
  int unanswered_ = 0;
  double mask_iou_sum_ = 0;
  int mask_n_ = 0;
};

// Position of a task name in the paper's table (CA=0 ... BCE=5); -1 for other names.
int paper_task_rank(const std::string& task);

// A COCO RLE mask: {"size": [h, w], "counts": compressed string or list of run lengths}, runs in
// column-major order starting with zeros (pycocotools). Throws Error("<subject>: ...") when
// malformed (runs not summing to h*w, bad characters).
GrayImage decode_coco_rle(int height, int width, const std::string& compressed_counts,
                          const std::string& subject);
GrayImage decode_coco_rle(int height, int width, const std::vector<long long>& counts,
                          const std::string& subject);

// Intersection over union of two 0/1 masks; `predicted` is resized to `truth`'s size by nearest
// neighbour when the sizes differ. Two empty masks agree perfectly (1.0).
double mask_iou(const GrayImage& predicted, const GrayImage& truth);

}  // namespace terrascope::cli
