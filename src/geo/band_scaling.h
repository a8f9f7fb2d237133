// Conversion of one band's values to the model's 8-bit input, per data type (docs/RASTERS.md).
// Plain arrays in, plain arrays out: no GDAL here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "terrascope/scene.h"

namespace terrascope::geo {

// What a band stores, as far as the conversion cares.
enum class SampleKind { kByte, kInteger, kFloat, kComplex };

// The conversion a band gets, with kAuto resolved.
struct ScalingRule {
  Scaling kind = Scaling::kAsIs;  // never kAuto
  double low = 0.0;  // kRange, kDecibel: the clip range; kPercentile: the percentiles (0..100)
  double high = 255.0;
  bool linear_power = false;  // kDecibel: values are linear power, converted to 10*log10 first
};

// Resolves options.scaling for a band of `kind` (docs/RASTERS.md, "Conversion"). Throws Error
// naming `path` where no rule applies: complex data without a complex rule, floating-point optical
// data without an explicit rule.
ScalingRule resolve_scaling(SampleKind kind, const std::string& type_name,
                            const SceneOptions& options, const std::string& path);

// Linear power to dB in place; non-positive power has no dB value and becomes invalid.
void linear_power_to_decibel(std::vector<double>& values, std::vector<uint8_t>& valid);

// 8-bit values of one band; pixels with valid[i] == 0 become 0. kPercentile takes its range from
// the valid pixels of `values`.
std::vector<uint8_t> scale_band(const std::vector<double>& values,
                                const std::vector<uint8_t>& valid, const ScalingRule& rule);

// The p-th percentile (0..100) with linear interpolation between order statistics (numpy's
// default).
double percentile(std::vector<double> values, double p);

// Maps [low, high] linearly onto 0..255 after clipping, truncating toward zero like numpy's
// astype(uint8) (release: data_process/bigearthnet.py, clip(x, 0, 3000) / 3000 * 255).
uint8_t map_to_byte(double value, double low, double high);

}  // namespace terrascope::geo
