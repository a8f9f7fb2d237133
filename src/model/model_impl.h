// What a loaded Model holds (internal): the verified bundle and where it runs.
#pragma once

#include <torch/script.h>

#include "model/bundle.h"
#include "terrascope/model.h"

namespace terrascope {

struct Model::Impl {
  Bundle bundle;
  torch::Device device;
  torch::ScalarType dtype;
};

}  // namespace terrascope
