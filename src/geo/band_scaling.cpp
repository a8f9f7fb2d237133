#include "geo/band_scaling.h"

#include <algorithm>
#include <cmath>

#include "terrascope/error.h"

namespace terrascope::geo {

ScalingRule resolve_scaling(SampleKind kind, const std::string& type_name,
                            const SceneOptions& options, const std::string& path) {
  const bool sar = options.modality == Modality::kSar;
  if (kind == SampleKind::kComplex) {
    if (options.complex_rule == ComplexRule::kNone) {
      throw Error(path, "complex SAR data (" + type_name +
                            ") without a rule; choose one (intensity: |z|^2 in dB)");
    }
    if (!sar) throw Error(path, "complex data (" + type_name + ") can only be read as SAR");
  }

  Scaling scaling = options.scaling;
  if (scaling == Scaling::kAuto) {
    if (kind == SampleKind::kByte) {
      scaling = Scaling::kAsIs;  // 8-bit input, optical or the release's 8-bit SAR PNGs
    } else if (sar) {
      scaling = Scaling::kDecibel;
    } else if (kind == SampleKind::kInteger) {
      scaling = Scaling::kRange;  // reflectance x10000 (Sentinel-2 L1C/L2A, Landsat DN)
    } else {
      throw Error(path, "floating-point optical bands (" + type_name +
                            ") need a scaling rule: a value range or a percentile stretch");
    }
  }

  ScalingRule rule;
  rule.kind = scaling;
  switch (scaling) {
    case Scaling::kAsIs:
      rule.low = 0.0;
      rule.high = 255.0;
      break;
    case Scaling::kRange:
      rule.low = options.range_min;
      rule.high = options.range_max;
      break;
    case Scaling::kPercentile:
      rule.low = options.percentile_low;
      rule.high = options.percentile_high;
      if (!(rule.low >= 0.0 && rule.low < rule.high && rule.high <= 100.0)) {
        throw Error(path, "percentiles must satisfy 0 <= low < high <= 100");
      }
      break;
    case Scaling::kDecibel:
      rule.low = options.db_min;
      rule.high = options.db_max;
      // Complex samples become |z|^2, a linear power.
      rule.linear_power = options.sar_linear || kind == SampleKind::kComplex;
      break;
    case Scaling::kAuto:
      break;
  }
  if (scaling != Scaling::kPercentile && !(rule.low < rule.high)) {
    throw Error(path, "scaling range must have low < high");
  }
  return rule;
}

void linear_power_to_decibel(std::vector<double>& values, std::vector<uint8_t>& valid) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!valid[i]) continue;
    if (values[i] > 0.0) {
      values[i] = 10.0 * std::log10(values[i]);
    } else {
      valid[i] = 0;
    }
  }
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0.0;
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(rank));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below),
                   values.end());
  const double low_value = values[below];
  if (below + 1 >= values.size()) return low_value;
  const double high_value =
      *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(below) + 1, values.end());
  return low_value + (rank - static_cast<double>(below)) * (high_value - low_value);
}

uint8_t map_to_byte(double value, double low, double high) {
  if (!(high > low)) return value > low ? 255 : 0;
  const double clipped = std::min(std::max(value, low), high);
  const double scaled = (clipped - low) / (high - low) * 255.0;
  return static_cast<uint8_t>(scaled);  // truncation, as numpy's astype(uint8)
}

std::vector<uint8_t> scale_band(const std::vector<double>& values,
                                const std::vector<uint8_t>& valid, const ScalingRule& rule) {
  std::vector<uint8_t> out(values.size(), 0);
  double low = rule.low;
  double high = rule.high;
  if (rule.kind == Scaling::kPercentile) {
    std::vector<double> valid_values;
    valid_values.reserve(values.size());
    for (size_t i = 0; i < values.size(); ++i) {
      if (valid[i]) valid_values.push_back(values[i]);
    }
    low = percentile(valid_values, rule.low);
    high = percentile(std::move(valid_values), rule.high);
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!valid[i]) continue;
    if (rule.kind == Scaling::kAsIs) {
      // Byte data comes through unchanged; a decimated read averages, so round to the nearest
      // level.
      out[i] = static_cast<uint8_t>(std::lround(std::min(std::max(values[i], 0.0), 255.0)));
    } else {
      out[i] = map_to_byte(values[i], low, high);
    }
  }
  return out;
}

}  // namespace terrascope::geo
