// 8-bit conversion rules (docs/RASTERS.md). Expected values come from numpy evaluating the
// release's formula (data_process/bigearthnet.py: (np.clip(x, 0, 3000) / 3000.0 *
// 255).astype(np.uint8)) and np.percentile, computed outside this code and pasted here.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "geo/band_scaling.h"
#include "terrascope/error.h"

namespace terrascope::geo {
namespace {

std::vector<int> as_ints(const std::vector<uint8_t>& bytes) {
  return std::vector<int>(bytes.begin(), bytes.end());
}

TEST(SceneScaling, ReflectanceRangeMatchesReleaseBigEarthNetRule) {
  SceneOptions options;  // defaults: range 0..3000
  const ScalingRule rule = resolve_scaling(SampleKind::kInteger, "Int16", options, "s2.tif");
  EXPECT_EQ(rule.kind, Scaling::kRange);
  const std::vector<double> values = {-5, 0, 1, 11, 12, 1499, 1500, 2999, 3000, 5000};
  const std::vector<uint8_t> valid(values.size(), 1);
  EXPECT_EQ(as_ints(scale_band(values, valid, rule)),
            (std::vector<int>{0, 0, 0, 0, 1, 127, 127, 254, 255, 255}));
}

TEST(SceneScaling, PercentileStretchMatchesNumpy) {
  SceneOptions options;
  options.scaling = Scaling::kPercentile;
  const ScalingRule rule = resolve_scaling(SampleKind::kFloat, "Float32", options, "x.tif");
  const std::vector<double> values = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9};
  EXPECT_DOUBLE_EQ(percentile(values, 2.0), 1.0);
  EXPECT_DOUBLE_EQ(percentile(values, 98.0), 9.0);
  EXPECT_DOUBLE_EQ(percentile(values, 37.5), 4.25);
  const std::vector<uint8_t> valid(values.size(), 1);
  EXPECT_EQ(as_ints(scale_band(values, valid, rule)),
            (std::vector<int>{63, 0, 95, 0, 127, 255, 31, 159, 127, 63, 127, 223, 255, 191, 255}));
}

TEST(SceneScaling, PercentileIgnoresInvalidPixels) {
  SceneOptions options;
  options.scaling = Scaling::kPercentile;
  options.percentile_low = 0.0;
  options.percentile_high = 100.0;
  const ScalingRule rule = resolve_scaling(SampleKind::kInteger, "UInt16", options, "x.tif");
  // The 60000 is nodata: were it counted, 100 would map far below 255.
  const std::vector<double> values = {0, 50, 100, 60000};
  const std::vector<uint8_t> valid = {1, 1, 1, 0};
  EXPECT_EQ(as_ints(scale_band(values, valid, rule)), (std::vector<int>{0, 127, 255, 0}));
}

TEST(SceneScaling, SarDecibelClipsMinus25To0) {
  SceneOptions options;
  options.modality = Modality::kSar;
  const ScalingRule rule = resolve_scaling(SampleKind::kFloat, "Float32", options, "s1.tif");
  EXPECT_EQ(rule.kind, Scaling::kDecibel);
  EXPECT_FALSE(rule.linear_power);
  const std::vector<double> values = {-40, -25, -24.9, -12.5, -0.1, 0, 3.0};
  const std::vector<uint8_t> valid(values.size(), 1);
  EXPECT_EQ(as_ints(scale_band(values, valid, rule)),
            (std::vector<int>{0, 0, 1, 127, 253, 255, 255}));
}

TEST(SceneScaling, LinearPowerBecomesDecibelFirst) {
  SceneOptions options;
  options.modality = Modality::kSar;
  options.sar_linear = true;
  const ScalingRule rule = resolve_scaling(SampleKind::kFloat, "Float32", options, "s1.tif");
  ASSERT_TRUE(rule.linear_power);
  std::vector<double> values = {0.01, 1.0, 0.1, 0.5, 0.0, -1.0};
  std::vector<uint8_t> valid(values.size(), 1);
  linear_power_to_decibel(values, valid);
  EXPECT_NEAR(values[0], -20.0, 1e-12);
  EXPECT_NEAR(values[3], -3.0102999566, 1e-9);
  // Non-positive power has no dB value.
  EXPECT_EQ(as_ints(valid), (std::vector<int>{1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(as_ints(scale_band(values, valid, rule)), (std::vector<int>{51, 255, 153, 224, 0, 0}));
}

TEST(SceneScaling, ByteDataComesThroughUnchanged) {
  SceneOptions options;
  const ScalingRule rule = resolve_scaling(SampleKind::kByte, "Byte", options, "rgb.png");
  EXPECT_EQ(rule.kind, Scaling::kAsIs);
  const std::vector<double> values = {0, 1, 128, 254, 255};
  EXPECT_EQ(as_ints(scale_band(values, std::vector<uint8_t>(5, 1), rule)),
            (std::vector<int>{0, 1, 128, 254, 255}));
}

TEST(SceneScaling, ByteSarIsTakenAsReleasePngs) {
  SceneOptions options;
  options.modality = Modality::kSar;
  EXPECT_EQ(resolve_scaling(SampleKind::kByte, "Byte", options, "vh.png").kind, Scaling::kAsIs);
}

TEST(SceneScaling, FloatOpticalWithoutRuleIsAnError) {
  SceneOptions options;
  try {
    resolve_scaling(SampleKind::kFloat, "Float32", options, "optical.tif");
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("optical.tif: floating-point optical bands", 0), 0u)
        << e.what();
  }
}

TEST(SceneScaling, ComplexWithoutRuleIsAnError) {
  SceneOptions options;
  options.modality = Modality::kSar;
  EXPECT_THROW(resolve_scaling(SampleKind::kComplex, "CFloat32", options, "slc.tif"), Error);
  options.complex_rule = ComplexRule::kIntensity;
  const ScalingRule rule = resolve_scaling(SampleKind::kComplex, "CFloat32", options, "slc.tif");
  EXPECT_EQ(rule.kind, Scaling::kDecibel);
  EXPECT_TRUE(rule.linear_power);
}

}  // namespace
}  // namespace terrascope::geo
