// PIL-exact resampling. The arithmetic follows Pillow 9.4 (libImaging/Resample.c for the
// convolution resize, Geometry.c's scale-affine path for NEAREST) step by step, because tiles, the
// SAM-2 input and the region-token grid must equal the reference's bit for bit; see image_ops.h.
#include "model/image_ops.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "terrascope/error.h"

namespace terrascope {
namespace {

// 8-bit results, two guard bits for the filter's negative lobes and overshoot: 32 - 8 - 2.
constexpr int kPrecisionBits = 22;

// Keys' cubic convolution kernel with a = -0.5 (PIL's BICUBIC), support 2.
double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}
constexpr double kBicubicSupport = 2.0;

// For each output position along one axis: the first source index, how many source samples, and
// their fixed-point weights.
struct AxisWeights {
  int taps = 0;  // weights stored per output position (the widest filter)
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;  // out_size * taps
};

AxisWeights bicubic_axis_weights(int in_size, int out_size) {
  // Downscaling widens the filter by the scale factor (antialiasing); upscaling keeps support 2.
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kBicubicSupport * filter_scale;
  AxisWeights axis;
  axis.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  axis.first.resize(out_size);
  axis.count.resize(out_size);
  axis.weights.assign(static_cast<size_t>(out_size) * axis.taps, 0);
  std::vector<double> w(axis.taps);
  const double inverse_filter_scale = 1.0 / filter_scale;
  for (int out = 0; out < out_size; ++out) {
    const double center = (out + 0.5) * scale;
    // PIL rounds the window ends by truncating value + 0.5 (toward zero), then clamps.
    int lo = static_cast<int>(center - support + 0.5);
    if (lo < 0) lo = 0;
    int hi = static_cast<int>(center + support + 0.5);
    if (hi > in_size) hi = in_size;
    const int n = hi - lo;
    double sum = 0.0;
    for (int i = 0; i < n; ++i) {
      w[i] = bicubic_kernel((i + lo - center + 0.5) * inverse_filter_scale);
      sum += w[i];
    }
    int32_t* fixed = &axis.weights[static_cast<size_t>(out) * axis.taps];
    for (int i = 0; i < n; ++i) {
      const double normalised = sum != 0.0 ? w[i] / sum : w[i];
      const double scaled = normalised * (1 << kPrecisionBits);
      fixed[i] = static_cast<int32_t>(normalised < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    axis.first[out] = lo;
    axis.count[out] = n;
  }
  return axis;
}

// Rounded (the accumulator starts at one half) and clipped to 0..255. Accumulators are 32-bit as in
// PIL: with 22 fraction bits and the bicubic kernel's overshoot (< 2x), 255 * weights stays in
// range.
inline uint8_t to_pixel(int32_t accumulator) {
  const int32_t value = accumulator >> kPrecisionBits;
  return static_cast<uint8_t>(value < 0 ? 0 : (value > 255 ? 255 : value));
}
constexpr int32_t kHalf = 1 << (kPrecisionBits - 1);

// Rows [row_begin, row_end) of an RGB image, resampled along x: (row_end - row_begin) rows result.
std::vector<uint8_t> resample_rows(const std::vector<uint8_t>& in, int in_w, int row_begin,
                                   int row_end, int out_w) {
  const AxisWeights axis = bicubic_axis_weights(in_w, out_w);
  std::vector<uint8_t> out(static_cast<size_t>(row_end - row_begin) * out_w * 3);
  for (int y = row_begin; y < row_end; ++y) {
    const uint8_t* src = &in[static_cast<size_t>(y) * in_w * 3];
    uint8_t* dst = &out[static_cast<size_t>(y - row_begin) * out_w * 3];
    for (int x = 0; x < out_w; ++x) {
      const int32_t* k = &axis.weights[static_cast<size_t>(x) * axis.taps];
      const uint8_t* s = src + static_cast<size_t>(axis.first[x]) * 3;
      int32_t r = kHalf, g = kHalf, b = kHalf;
      for (int i = 0; i < axis.count[x]; ++i) {
        r += s[i * 3 + 0] * k[i];
        g += s[i * 3 + 1] * k[i];
        b += s[i * 3 + 2] * k[i];
      }
      dst[x * 3 + 0] = to_pixel(r);
      dst[x * 3 + 1] = to_pixel(g);
      dst[x * 3 + 2] = to_pixel(b);
    }
  }
  return out;
}

// Resampled along y; `in` holds the source rows starting at source row `row_offset`.
std::vector<uint8_t> resample_columns(const std::vector<uint8_t>& in, int width,
                                      const AxisWeights& axis, int row_offset, int out_h) {
  const size_t stride = static_cast<size_t>(width) * 3;
  std::vector<uint8_t> out(stride * out_h);
  std::vector<int32_t> acc(stride);
  for (int y = 0; y < out_h; ++y) {
    const int32_t* k = &axis.weights[static_cast<size_t>(y) * axis.taps];
    std::fill(acc.begin(), acc.end(), kHalf);
    for (int i = 0; i < axis.count[y]; ++i) {
      const uint8_t* src = &in[static_cast<size_t>(axis.first[y] - row_offset + i) * stride];
      const int32_t weight = k[i];
      for (size_t j = 0; j < stride; ++j) acc[j] += src[j] * weight;
    }
    uint8_t* dst = &out[static_cast<size_t>(y) * stride];
    for (size_t j = 0; j < stride; ++j) dst[j] = to_pixel(acc[j]);
  }
  return out;
}

void check_resize_args(const char* what, int in_w, int in_h, size_t pixels, int channels, int w,
                       int h) {
  if (in_w <= 0 || in_h <= 0 ||
      pixels != static_cast<size_t>(in_w) * static_cast<size_t>(in_h) * channels) {
    throw Error(what, "input image " + std::to_string(in_w) + "x" + std::to_string(in_h) +
                          " holds " + std::to_string(pixels) + " values, expected " +
                          std::to_string(static_cast<long long>(in_w) * in_h * channels));
  }
  if (w <= 0 || h <= 0) {
    throw Error(what,
                "output size " + std::to_string(w) + "x" + std::to_string(h) + " is not positive");
  }
}

// PIL's COORD(): negative positions map outside the image, others truncate.
inline int source_index(double position) {
  return position < 0.0 ? -1 : static_cast<int>(position);
}

}  // namespace

RgbImage resize_bicubic(const RgbImage& image, int width, int height) {
  constexpr int kChannels = 3;
  check_resize_args("resize_bicubic", image.width, image.height, image.pixels.size(), kChannels,
                    width, height);
  const bool need_x = width != image.width;
  const bool need_y = height != image.height;
  RgbImage out;
  out.width = width;
  out.height = height;
  if (!need_x && !need_y) {
    out.pixels = image.pixels;
    return out;
  }
  // PIL computes the vertical weights first so that the horizontal pass only produces the source
  // rows the vertical pass reads; the intermediate image is 8-bit (rounded and clipped).
  if (!need_y) {
    out.pixels = resample_rows(image.pixels, image.width, 0, image.height, width);
    return out;
  }
  const AxisWeights rows = bicubic_axis_weights(image.height, height);
  if (!need_x) {
    out.pixels = resample_columns(image.pixels, width, rows, 0, height);
    return out;
  }
  const int row_begin = rows.first.front();
  const int row_end = rows.first.back() + rows.count.back();
  const std::vector<uint8_t> wide =
      resample_rows(image.pixels, image.width, row_begin, row_end, width);
  out.pixels = resample_columns(wide, width, rows, row_begin, height);
  return out;
}

GrayImage resize_nearest(const GrayImage& image, int width, int height) {
  check_resize_args("resize_nearest", image.width, image.height, image.pixels.size(), 1, width,
                    height);
  GrayImage out;
  out.width = width;
  out.height = height;
  if (width == image.width && height == image.height) {
    out.pixels = image.pixels;
    return out;
  }
  // PIL maps output pixel centres through an affine scale and, for a pure scale, walks the source
  // position by repeated addition of the step (not multiplication): the rounding of that sum
  // decides which source pixel is taken, so it is reproduced literally. Unmapped pixels stay 0
  // (PIL's fill).
  const double step_x = static_cast<double>(image.width) / width;
  const double step_y = static_cast<double>(image.height) / height;
  std::vector<int> column(width, 0);
  int x_begin = width, x_end = 0;
  double position = step_x * 0.5;
  for (int x = 0; x < width; ++x) {
    const int source = source_index(position);
    if (source >= 0 && source < image.width) {
      x_end = x + 1;
      if (x < x_begin) x_begin = x;
      column[x] = source;
    }
    position += step_x;
  }
  out.pixels.assign(static_cast<size_t>(width) * height, 0);
  position = step_y * 0.5;
  for (int y = 0; y < height; ++y) {
    const int source_row = source_index(position);
    if (source_row >= 0 && source_row < image.height) {
      const uint8_t* src = &image.pixels[static_cast<size_t>(source_row) * image.width];
      uint8_t* dst = &out.pixels[static_cast<size_t>(y) * width];
      for (int x = x_begin; x < x_end; ++x) dst[x] = src[column[x]];
    }
    position += step_y;
  }
  return out;
}

}  // namespace terrascope
