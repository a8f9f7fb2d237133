// Exact Euclidean distance transform on a grid with rectangular pixels (Felzenszwalb &
// Huttenlocher, "Distance Transforms of Sampled Functions", 2012: two passes of the 1-D lower
// envelope of parabolas). OpenCV's distanceTransform assumes square pixels; lat/lon grids are not
// square in metres, hence this one.
#pragma once

#include <cstdint>
#include <vector>

namespace terrascope::geo {

// For every pixel, the squared distance from its centre to the nearest centre of a pixel with
// `in_set` != 0, where neighbouring columns are `column_step` apart and rows `row_step` apart.
// +infinity everywhere when the set is empty.
std::vector<double> squared_distance_to_set(const std::vector<uint8_t>& in_set, int width,
                                            int height, double column_step, double row_step);

}  // namespace terrascope::geo
