#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <vector>

#include "geo/atomic_file.h"
#include "geo/mask_grid.h"
#include "terrascope/error.h"
#include "terrascope/mask_overlay.h"

namespace terrascope {
namespace {

// Ten distinct colours (RGB), readable on dark and light scenes.
constexpr uint8_t kPalette[10][3] = {{230, 25, 75},  {60, 180, 75},  {0, 130, 200},  {255, 225, 25},
                                     {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
                                     {210, 245, 60}, {250, 190, 212}};

constexpr int kFont = cv::FONT_HERSHEY_SIMPLEX;
constexpr double kFontScale = 0.5;
constexpr int kLegendRow = 20;  // pixels per legend line
constexpr int kMargin = 6;
constexpr int kSwatch = 12;

// Hershey fonts draw printable ASCII only; a UTF-8 character becomes one '?'.
std::string printable_ascii(const std::string& text) {
  std::string out;
  for (const unsigned char c : text) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else if (c < 0x80 || c >= 0xc0) {
      out += '?';
    }
  }
  return out;
}

cv::Scalar bgr(const std::array<uint8_t, 3>& rgb) {
  return cv::Scalar(rgb[2], rgb[1], rgb[0]);
}

void check_scene(const RgbImage& scene, const std::string& path) {
  if (scene.width <= 0 || scene.height <= 0) {
    throw Error(path, "scene image is empty (" + std::to_string(scene.width) + "x" +
                          std::to_string(scene.height) + ")");
  }
  if (scene.pixels.size() != static_cast<size_t>(scene.width) * scene.height * 3) {
    throw Error(path, "scene image holds " + std::to_string(scene.pixels.size()) +
                          " bytes, its size needs " +
                          std::to_string(static_cast<size_t>(scene.width) * scene.height * 3));
  }
}

// Fills the mask's pixels with the colour at kOverlayFillAlpha, then outlines its regions.
void draw_mask(cv::Mat& canvas, const GrayImage& mask, const std::array<uint8_t, 3>& rgb,
               int outline_thickness) {
  cv::Mat region(mask.height, mask.width, CV_8U);
  for (int row = 0; row < mask.height; ++row) {
    const uint8_t* src = mask.pixels.data() + static_cast<size_t>(row) * mask.width;
    cv::Vec3b* dst = canvas.ptr<cv::Vec3b>(row);
    uint8_t* inside = region.ptr<uint8_t>(row);
    for (int col = 0; col < mask.width; ++col) {
      inside[col] = src[col] ? 255 : 0;
      if (!src[col]) continue;
      for (int c = 0; c < 3; ++c) {
        const double colour = rgb[2 - c];  // canvas is BGR
        dst[col][c] = cv::saturate_cast<uint8_t>((1.0 - kOverlayFillAlpha) * dst[col][c] +
                                                 kOverlayFillAlpha * colour);
      }
    }
  }
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(region, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  cv::drawContours(canvas, contours, -1, bgr(rgb), outline_thickness, cv::LINE_8);
}

}  // namespace

std::array<uint8_t, 3> overlay_colour(size_t index) {
  const uint8_t* c = kPalette[index % 10];
  return {c[0], c[1], c[2]};
}

void write_overlay_png(const std::string& path, const RgbImage& scene,
                       const std::vector<LabelledMask>& masks) {
  check_scene(scene, path);
  std::vector<GrayImage> fitted;
  std::vector<std::string> labels;
  int legend_width = 0;
  for (size_t i = 0; i < masks.size(); ++i) {
    const std::string what = "mask " + std::to_string(i + 1) + " (" + masks[i].label + ")";
    geo::check_binary_image(masks[i].mask, what, path);
    if (!geo::same_shape(masks[i].mask.width, masks[i].mask.height, scene.width, scene.height)) {
      throw Error(path, what + " " + std::to_string(masks[i].mask.width) + "x" +
                            std::to_string(masks[i].mask.height) +
                            " does not have the shape of the " + std::to_string(scene.width) + "x" +
                            std::to_string(scene.height) + " scene");
    }
    fitted.push_back(geo::resize_nearest(masks[i].mask, scene.width, scene.height));
    labels.push_back(printable_ascii(masks[i].label));
    int baseline = 0;
    const cv::Size text = cv::getTextSize(labels.back(), kFont, kFontScale, 1, &baseline);
    legend_width = std::max(legend_width, 3 * kMargin + kSwatch + text.width);
  }

  const int legend_height =
      masks.empty() ? 0 : kMargin + kLegendRow * static_cast<int>(masks.size());
  cv::Mat canvas(scene.height + legend_height, std::max(scene.width, legend_width), CV_8UC3,
                 cv::Scalar(32, 32, 32));
  const cv::Mat rgb(scene.height, scene.width, CV_8UC3, const_cast<uint8_t*>(scene.pixels.data()));
  cv::Mat scene_area = canvas(cv::Rect(0, 0, scene.width, scene.height));
  cv::cvtColor(rgb, scene_area, cv::COLOR_RGB2BGR);

  const int outline = std::max(1, std::min(scene.width, scene.height) / 300);
  for (size_t i = 0; i < fitted.size(); ++i) {
    cv::Mat scene_view = canvas(cv::Rect(0, 0, scene.width, scene.height));
    draw_mask(scene_view, fitted[i], overlay_colour(i), outline);
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    const int top = scene.height + kMargin + kLegendRow * static_cast<int>(i);
    cv::rectangle(canvas, cv::Rect(kMargin, top, kSwatch, kSwatch), bgr(overlay_colour(i)),
                  cv::FILLED);
    cv::putText(canvas, labels[i], cv::Point(2 * kMargin + kSwatch, top + kSwatch), kFont,
                kFontScale, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
  }

  std::vector<uint8_t> png;
  if (!cv::imencode(".png", canvas, png)) throw Error(path, "cannot encode the overlay PNG");
  geo::AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary);
    if (!out.is_open()) {
      throw Error(path,
                  std::string("cannot create the overlay PNG (") + std::strerror(errno) + ")");
    }
    out.write(reinterpret_cast<const char*>(png.data()), static_cast<std::streamsize>(png.size()));
    out.close();
    if (!out) throw Error(path, "cannot write the overlay PNG (disk full?)");
  }
  file.commit();
}

}  // namespace terrascope
