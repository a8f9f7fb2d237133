#include "geo/distance_transform.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <opencv2/imgproc.hpp>
#include <random>

namespace terrascope {
namespace {

// With square pixels the transform must equal OpenCV's exact one (DIST_MASK_PRECISE).
TEST(DistanceTransform, SquarePixelsMatchOpenCvPrecise) {
  const int width = 64, height = 48;
  std::mt19937 random(3);
  std::vector<uint8_t> in_set(width * height, 0);
  for (int i = 0; i < 25; ++i) in_set[random() % in_set.size()] = 1;
  const std::vector<double> d2 = geo::squared_distance_to_set(in_set, width, height, 1.0, 1.0);

  cv::Mat outside(height, width, CV_8U);
  for (int i = 0; i < width * height; ++i) outside.data[i] = in_set[i] ? 0 : 255;
  cv::Mat reference;
  cv::distanceTransform(outside, reference, cv::DIST_L2, cv::DIST_MASK_PRECISE, CV_32F);
  for (int i = 0; i < width * height; ++i) {
    ASSERT_NEAR(std::sqrt(d2[i]), reference.at<float>(i / width, i % width), 1e-4) << i;
  }
}

TEST(DistanceTransform, RectangularPixelsScaleEachAxis) {
  std::vector<uint8_t> in_set(5 * 4, 0);
  in_set[0] = 1;  // (col 0, row 0)
  const std::vector<double> d2 = geo::squared_distance_to_set(in_set, 5, 4, 3.0, 7.0);
  for (int row = 0; row < 4; ++row) {
    for (int col = 0; col < 5; ++col) {
      EXPECT_DOUBLE_EQ(d2[row * 5 + col], (3.0 * col) * (3.0 * col) + (7.0 * row) * (7.0 * row));
    }
  }
}

TEST(DistanceTransform, EmptySetIsInfinitelyFar) {
  const std::vector<double> d2 =
      geo::squared_distance_to_set(std::vector<uint8_t>(6, 0), 3, 2, 1, 1);
  for (double v : d2) EXPECT_EQ(v, std::numeric_limits<double>::infinity());
}

}  // namespace
}  // namespace terrascope
