// A gtest fixture for engine tests on the tiny random bundle: the model, its tokenizer, the golden
// single image and the bundle's default generation parameters, loaded before each test.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "engine_test_data.h"
#include "model/tokenizer.h"
#include "terrascope/model.h"

namespace terrascope::testdata {

class TinyBundleTest : public ::testing::Test {
 protected:
  // Derived fixtures call this first and return when HasFatalFailure() (data missing).
  void SetUp() override {
    ASSERT_TRUE(golden_single_image(image_)) << how_to_make();
    model_ = Model::load(tiny_bundle());
    tokenizer_ =
        std::make_unique<Tokenizer>(Tokenizer::from_file(tiny_bundle() + "/tokenizer.json"));
    params_ = model_->default_params();
  }

  RgbImage image_;
  std::shared_ptr<const Model> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  AskParams params_;
};

}  // namespace terrascope::testdata
