#include "geo/distance_transform.h"

#include <cstddef>
#include <limits>

namespace terrascope::geo {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// 1-D pass over n samples `step` apart: out[i] = min_q ((i - q) * step)^2 + f[q]. Samples with
// f = +inf take no part in the envelope, so no inf - inf arithmetic happens.
void lower_envelope_1d(const double* f, int n, double step, double* out, std::vector<int>& sites,
                       std::vector<double>& bounds) {
  sites.clear();
  bounds.clear();
  for (int q = 0; q < n; ++q) {
    if (f[q] == kInfinity) continue;
    const double p = q * step;
    while (!sites.empty()) {
      const int v = sites.back();
      const double pv = v * step;
      const double meet = ((f[q] + p * p) - (f[v] + pv * pv)) / (2.0 * (p - pv));
      if (meet <= bounds.back()) {
        sites.pop_back();
        bounds.pop_back();
      } else {
        sites.push_back(q);
        bounds.push_back(meet);
        break;
      }
    }
    if (sites.empty()) {
      sites.push_back(q);
      bounds.push_back(-kInfinity);
    }
  }
  if (sites.empty()) {
    for (int i = 0; i < n; ++i) out[i] = kInfinity;
    return;
  }
  size_t k = 0;
  for (int i = 0; i < n; ++i) {
    const double p = i * step;
    while (k + 1 < sites.size() && bounds[k + 1] < p) ++k;
    const double d = p - sites[k] * step;
    out[i] = d * d + f[sites[k]];
  }
}

}  // namespace

std::vector<double> squared_distance_to_set(const std::vector<uint8_t>& in_set, int width,
                                            int height, double column_step, double row_step) {
  const size_t count = static_cast<size_t>(width) * height;
  std::vector<double> field(count);
  for (size_t i = 0; i < count; ++i) field[i] = in_set[i] ? 0.0 : kInfinity;

  std::vector<int> sites;
  std::vector<double> bounds;
  std::vector<double> column(height), column_out(height);
  for (int x = 0; x < width; ++x) {
    for (int y = 0; y < height; ++y) column[y] = field[static_cast<size_t>(y) * width + x];
    lower_envelope_1d(column.data(), height, row_step, column_out.data(), sites, bounds);
    for (int y = 0; y < height; ++y) field[static_cast<size_t>(y) * width + x] = column_out[y];
  }
  std::vector<double> row_out(width);
  for (int y = 0; y < height; ++y) {
    double* row = field.data() + static_cast<size_t>(y) * width;
    lower_envelope_1d(row, width, column_step, row_out.data(), sites, bounds);
    for (int x = 0; x < width; ++x) row[x] = row_out[x];
  }
  return field;
}

}  // namespace terrascope::geo
