// Run-time choice of device and precision: "cpu" / "cuda:N" and "fp32" / "bf16" / "fp16".
#pragma once

#include <torch/types.h>

#include <string>

namespace terrascope {

// Parses "cpu" or "cuda:N" (plain "cuda" means cuda:0); Error if unknown or no such CUDA device.
torch::Device parse_device(const std::string& text);

// Parses "fp32", "bf16", "fp16"; half precisions need a CUDA device (Error otherwise).
torch::ScalarType parse_dtype(const std::string& text, const torch::Device& device);

const char* dtype_name(torch::ScalarType dtype);

}  // namespace terrascope
