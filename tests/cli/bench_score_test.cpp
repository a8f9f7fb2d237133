// Bench scoring against hand-computed cases: the release's two scripts applied by hand
// (infer_terrascope_bench.extract_answer, then eval_terrascope_bench.norm_ans and the comparison),
// the standalone-letter rule, tallies, COCO RLE decoding and IoU.
#include <gtest/gtest.h>

#include <string>

#include "cli/bench_score.h"
#include "terrascope/error.h"

namespace terrascope::cli {
namespace {

Prediction release(const std::string& response) {
  return predict_option(response, ScoringRule::kRelease);
}
Prediction standalone(const std::string& response) {
  return predict_option(response, ScoringRule::kStandaloneLetter);
}

TEST(BenchScore, ReleaseReadsTheAnswerBlock) {
  const Prediction p = release("<think>water [SEG]<REGION> is large</think><answer> B </answer>");
  EXPECT_EQ(p.value, "B");
  EXPECT_TRUE(p.letter);
  EXPECT_TRUE(prediction_correct(p, "B"));
  EXPECT_FALSE(prediction_correct(p, "A"));
  // Tags in any case, whitespace and newlines inside, a lower-case letter with punctuation.
  EXPECT_EQ(release("<ANSWER>\n  d.\n</Answer>").value, "D");
  EXPECT_EQ(release("<answer>c) 30%</answer>").value, "C");
  // The first complete block wins.
  EXPECT_EQ(release("<answer>A</answer> then <answer>B</answer>").value, "A");
}

TEST(BenchScore, ReleaseTakesAnyLeadingLetterAToD) {
  // extract_answer's re.match(r"^\s*([A-Da-d])[\.\)]?\s*") needs no word boundary: free text that
  // starts with a-d counts as that letter.
  EXPECT_EQ(release("<answer>about 40%</answer>").value, "A");
  EXPECT_EQ(release("<answer>Cannot tell</answer>").value, "C");
  EXPECT_TRUE(prediction_correct(release("<answer>Bigger</answer>"), "B"));
}

TEST(BenchScore, ReleaseUnparsableAnswersAreWrong) {
  // A letter later in the text is not found: the prediction is the text in upper case.
  const Prediction later = release("<answer>The answer is B</answer>");
  EXPECT_EQ(later.value, "THE ANSWER IS B");
  EXPECT_FALSE(later.letter);
  EXPECT_FALSE(prediction_correct(later, "B"));
  // No block: the whole stripped response, which starts with "<think>".
  const Prediction unclosed = release("<think>water</think><answer>B");
  EXPECT_EQ(unclosed.value, "<THINK>WATER</THINK><ANSWER>B");
  EXPECT_FALSE(prediction_correct(unclosed, "B"));
  // Empty response (a failed generation): "" never matches.
  EXPECT_EQ(release("").value, "");
  EXPECT_FALSE(prediction_correct(release(""), "A"));
  EXPECT_FALSE(prediction_correct(release("<answer></answer>"), "A"));
  EXPECT_FALSE(prediction_correct(release("   "), "A"));
  // A letter beyond D is text, compared as text.
  EXPECT_FALSE(release("<answer>E</answer>").letter);
  EXPECT_TRUE(prediction_correct(release("<answer>E</answer>"), "e"));
  // Without a block, a response that starts with a letter is read as the answer.
  EXPECT_EQ(release("  B. 40%\n").value, "B");
}

TEST(BenchScore, GroundTruthNormalisation) {
  EXPECT_EQ(normalise_ground_truth(" b "), "B");
  EXPECT_EQ(normalise_ground_truth("B. 40%"), "B");
  EXPECT_EQ(normalise_ground_truth("Both"), "BOTH");  // no word boundary after the B
  EXPECT_EQ(normalise_ground_truth("yes"), "YES");
  EXPECT_EQ(normalise_ground_truth(""), "");
  EXPECT_FALSE(prediction_correct(Prediction{"", false}, ""));  // empty ground truth never scores
}

TEST(BenchScore, StandaloneLetterRule) {
  EXPECT_EQ(standalone("<answer>The answer is B</answer>").value, "B");
  EXPECT_EQ(standalone("<answer> c </answer>").value, "C");
  EXPECT_EQ(standalone("<answer>A-B</answer>").value, "A");
  // Inside words, after an underscore or a CJK letter there is no word boundary; after CJK
  // punctuation there is (Python's Unicode \b).
  EXPECT_FALSE(standalone("<answer>Bob and Dave</answer>").letter);
  EXPECT_EQ(standalone("<answer>Bob and Dave</answer>").value, "");
  EXPECT_FALSE(standalone("<answer>_A</answer>").letter);
  EXPECT_FALSE(standalone("<answer>\xe7\xad\x94\x42</answer>").letter);   // "答B"
  EXPECT_EQ(standalone("<answer>\xe3\x80\x82\x42</answer>").value, "B");  // "。B"
  // Only inside an answer block.
  EXPECT_FALSE(standalone("B").letter);
  EXPECT_FALSE(standalone("<think>A</think><answer>").letter);
  EXPECT_FALSE(standalone("<answer>about 40%</answer>").letter);
}

TEST(BenchScore, AnswerBlockTrimsUnicodeWhitespace) {
  EXPECT_EQ(answer_block("x<answer>\xc2\xa0 B \xe3\x80\x80</answer>").value(), "B");
  EXPECT_FALSE(answer_block("<answer>B").has_value());
  EXPECT_EQ(answer_block("<answer></answer>").value(), "");
}

TEST(BenchScore, TallyMacroMicroAndUnparsable) {
  BenchTally tally;
  // CA: 3 of 4 right; AQ: 0 of 2 (one unparsable); RSVQA: 1 of 1.
  tally.add("CA", true, true, 0.5);
  tally.add("CA", true, true, 0.7);
  tally.add("CA", true, true, std::nullopt);
  tally.add("CA", false, true, 0.1);
  tally.add("AQ", false, false, 0.3);
  tally.add("AQ", false, true, std::nullopt);
  tally.add("RSVQA", true, true, std::nullopt);
  const auto tasks = tally.tasks();
  ASSERT_EQ(tasks.size(), 3u);
  EXPECT_EQ(tasks[0].task, "CA");  // paper order first, then other names
  EXPECT_EQ(tasks[1].task, "AQ");
  EXPECT_EQ(tasks[2].task, "RSVQA");
  EXPECT_DOUBLE_EQ(tasks[0].accuracy(), 0.75);
  EXPECT_DOUBLE_EQ(tasks[1].accuracy(), 0.0);
  EXPECT_EQ(tasks[1].unparsable, 1);
  EXPECT_DOUBLE_EQ(tally.macro_accuracy(), (0.75 + 0.0 + 1.0) / 3.0);
  EXPECT_DOUBLE_EQ(tally.overall().accuracy(), 4.0 / 7.0);
  const IouSummary iou = tally.iou();
  EXPECT_EQ(iou.samples, 4);
  EXPECT_DOUBLE_EQ(iou.mean, (0.5 + 0.7 + 0.1 + 0.3) / 4);
  EXPECT_EQ(iou.correct_samples, 2);
  EXPECT_DOUBLE_EQ(iou.mean_correct, 0.6);
  EXPECT_EQ(iou.wrong_samples, 2);
  EXPECT_DOUBLE_EQ(iou.mean_wrong, 0.2);
}

// Referring segmentation has no answer key: its masks count, its task gets no accuracy column and
// does not drag the macro average down; the per-mask mean weighs every [SEG] alike.
TEST(BenchScore, UnansweredSamplesCountOnlyForMasks) {
  BenchTally tally;
  tally.add("CA", true, true, 0.8);
  tally.add("CR", false, true, 0.4);
  tally.add_unanswered(0.9);
  tally.add_unanswered(std::nullopt);
  tally.add_mask_ious({0.8});
  tally.add_mask_ious({0.6, 0.2});
  tally.add_mask_ious({0.9});
  ASSERT_EQ(tally.tasks().size(), 2u);
  EXPECT_DOUBLE_EQ(tally.macro_accuracy(), 0.5);
  EXPECT_EQ(tally.samples(), 4);
  EXPECT_EQ(tally.unanswered(), 2);
  EXPECT_EQ(tally.overall().total, 2);
  const IouSummary iou = tally.iou();
  EXPECT_EQ(iou.samples, 3);
  EXPECT_DOUBLE_EQ(iou.mean, (0.8 + 0.4 + 0.9) / 3);
  EXPECT_EQ(iou.correct_samples + iou.wrong_samples, 2);
  EXPECT_EQ(iou.masks, 4);
  EXPECT_DOUBLE_EQ(iou.mean_per_mask, (0.8 + 0.6 + 0.2 + 0.9) / 4);
}

TEST(BenchScore, CocoRleDecodesColumnMajorRuns) {
  // h=2, w=3; runs 1 zero, 2 ones, 3 zeros over column-major pixels:
  // (r0,c0)=0, (r1,c0)=1, (r0,c1)=1, then zeros.
  const GrayImage m = decode_coco_rle(2, 3, std::vector<long long>{1, 2, 3}, "t");
  ASSERT_EQ(m.width, 3);
  ASSERT_EQ(m.height, 2);
  const std::vector<uint8_t> expected = {0, 1, 0,  //
                                         1, 0, 0};
  EXPECT_EQ(m.pixels, expected);
}

TEST(BenchScore, CocoRleCompressedStringsByHand) {
  // "1234": counts 1, 2, 3, then 4 + (count two before = 2) = 6; a 4x3 mask of 12 pixels.
  const GrayImage a = decode_coco_rle(4, 3, std::string("1234"), "t");
  const GrayImage b = decode_coco_rle(4, 3, std::vector<long long>{1, 2, 3, 6}, "t");
  EXPECT_EQ(a.pixels, b.pixels);
  // "05:L": 0, 5, 10, then 'L' = 28 = 0b11100: sign bit 0x10 -> -4, plus 5 = 1.
  const GrayImage c = decode_coco_rle(4, 4, std::string("05:L"), "t");
  const GrayImage d = decode_coco_rle(4, 4, std::vector<long long>{0, 5, 10, 1}, "t");
  EXPECT_EQ(c.pixels, d.pixels);
  // "T3": one count of two 5-bit groups: 4 | 3 << 5 = 100 zeros.
  const GrayImage e = decode_coco_rle(10, 10, std::string("T3"), "t");
  EXPECT_EQ(std::count(e.pixels.begin(), e.pixels.end(), 1), 0);
}

TEST(BenchScore, CocoRleErrorsNameTheSubject) {
  EXPECT_THROW(decode_coco_rle(2, 2, std::vector<long long>{1, 2}, "s"), Error);  // 3 of 4
  EXPECT_THROW(decode_coco_rle(2, 2, std::vector<long long>{1, 9}, "s"), Error);  // too many
  EXPECT_THROW(decode_coco_rle(2, 2, std::string("1\x7f"), "s"), Error);          // bad char
  EXPECT_THROW(decode_coco_rle(2, 2, std::string("T"), "s"), Error);              // cut count
  try {
    decode_coco_rle(0, 2, std::vector<long long>{}, "bench.jsonl:3");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bench.jsonl:3: "), std::string::npos);
  }
}

TEST(BenchScore, IouByHandAndAcrossSizes) {
  GrayImage truth{4, 4, std::vector<uint8_t>(16, 0)};
  GrayImage pred{4, 4, std::vector<uint8_t>(16, 0)};
  truth.pixels[0] = truth.pixels[1] = truth.pixels[4] = truth.pixels[5] = 1;  // top-left 2x2
  pred.pixels[1] = pred.pixels[2] = 1;  // one inside, one outside
  EXPECT_DOUBLE_EQ(mask_iou(pred, truth), 1.0 / 5.0);
  // A 2x2 prediction covering its top-left pixel upsamples to the truth's 2x2 block.
  GrayImage small{2, 2, {1, 0, 0, 0}};
  EXPECT_DOUBLE_EQ(mask_iou(small, truth), 1.0);
  // No prediction at all against a non-empty truth: 0; both empty: 1.
  EXPECT_DOUBLE_EQ(mask_iou(GrayImage{}, truth), 0.0);
  GrayImage empty{4, 4, std::vector<uint8_t>(16, 0)};
  EXPECT_DOUBLE_EQ(mask_iou(empty, empty), 1.0);
}

TEST(BenchScore, ScoringRuleNames) {
  EXPECT_EQ(parse_scoring_rule("release"), ScoringRule::kRelease);
  EXPECT_EQ(parse_scoring_rule("standalone"), ScoringRule::kStandaloneLetter);
  EXPECT_THROW(parse_scoring_rule("loose"), Error);
}

}  // namespace
}  // namespace terrascope::cli
