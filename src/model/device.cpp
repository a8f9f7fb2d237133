#include "model/device.h"

#include <torch/cuda.h>

#include "terrascope/error.h"

namespace terrascope {

torch::Device parse_device(const std::string& text) {
  if (text == "cpu") return torch::Device(torch::kCPU);
  if (text.rfind("cuda", 0) != 0) {
    throw Error("device '" + text + "'", "unknown (use cpu or cuda:N)");
  }
  int index = 0;
  if (text != "cuda") {
    const std::string digits = text.size() > 5 && text[4] == ':' ? text.substr(5) : "";
    if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos ||
        digits.size() > 3) {
      throw Error("device '" + text + "'", "unknown (use cpu or cuda:N)");
    }
    index = std::stoi(digits);
  }
  if (!torch::cuda::is_available()) {
    throw Error("device '" + text + "'", "CUDA is not available (CPU-only libtorch or no GPU)");
  }
  const int count = static_cast<int>(torch::cuda::device_count());
  if (index >= count) {
    throw Error("device '" + text + "'",
                "no such CUDA device (" + std::to_string(count) + " visible)");
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::ScalarType parse_dtype(const std::string& text, const torch::Device& device) {
  torch::ScalarType dtype;
  if (text == "fp32") {
    dtype = torch::kFloat32;
  } else if (text == "bf16") {
    dtype = torch::kBFloat16;
  } else if (text == "fp16") {
    dtype = torch::kFloat16;
  } else {
    throw Error("dtype '" + text + "'", "unknown (use fp32, bf16 or fp16)");
  }
  if (dtype != torch::kFloat32 && !device.is_cuda()) {
    throw Error("dtype '" + text + "'", "needs a CUDA device (CPU runs fp32)");
  }
  return dtype;
}

const char* dtype_name(torch::ScalarType dtype) {
  switch (dtype) {
    case torch::kBFloat16:
      return "bf16";
    case torch::kFloat16:
      return "fp16";
    default:
      return "fp32";
  }
}

}  // namespace terrascope
