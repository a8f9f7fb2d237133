// The CPU GEMM routing (model/cpu_gemm.cpp): the choice rules, and that libtorch's matrix products
// (which call `sgemm_`, bound to the engine's definition in this test binary too) stay correct for
// every transpose combination and odd shapes, against a double-precision reference.
#include "model/cpu_gemm.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>

#include "terrascope/error.h"

namespace terrascope {
namespace {

TEST(CpuGemm, ChoiceFollowsTheEnvironmentAndWhatIsThere) {
  EXPECT_STREQ(choose_cpu_gemm(nullptr, true), "onednn");
  EXPECT_STREQ(choose_cpu_gemm(nullptr, false), "system");
  EXPECT_STREQ(choose_cpu_gemm("", true), "onednn");
  EXPECT_STREQ(choose_cpu_gemm("system", true), "system");
  EXPECT_STREQ(choose_cpu_gemm("onednn", false), "system");  // asked for, not there
  try {
    choose_cpu_gemm("mkl", true);
    FAIL() << "no error for TERRASCOPE_GEMM=mkl";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("TERRASCOPE_GEMM"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("mkl"), std::string::npos) << e.what();
  }
}

TEST(CpuGemm, BackendIsOneOfTheTwo) {
  const std::string backend = cpu_gemm_backend();
  EXPECT_TRUE(backend == "onednn" || backend == "system") << backend;
}

TEST(CpuGemm, ProductsMatchADoubleReferenceForEveryLayout) {
  torch::manual_seed(3);
  const std::vector<std::array<int64_t, 3>> shapes = {
      {1, 64, 566}, {317, 64, 128}, {7, 13, 5}, {1024, 16, 1024}, {33, 1, 9}};
  for (const auto& [m, k, n] : shapes) {
    for (bool ta : {false, true}) {
      for (bool tb : {false, true}) {
        // Transposed operands are views of contiguous tensors, so libtorch passes 'T' to sgemm_.
        torch::Tensor a = ta ? torch::randn({k, m}).t() : torch::randn({m, k});
        torch::Tensor b = tb ? torch::randn({n, k}).t() : torch::randn({k, n});
        torch::Tensor got = torch::mm(a, b);
        torch::Tensor want = torch::mm(a.to(torch::kDouble), b.to(torch::kDouble));
        const double err = (got.to(torch::kDouble) - want).abs().max().item<double>();
        const double scale = want.abs().max().item<double>() + 1e-12;
        EXPECT_LT(err / scale, 1e-5) << m << "x" << k << "x" << n << " ta " << ta << " tb " << tb;
      }
    }
    // Batched (attention-shaped) and addmm with beta != 0 through the same entry.
    torch::Tensor q = torch::randn({2, m, k}), kt = torch::randn({2, n, k});
    torch::Tensor s = torch::bmm(q, kt.transpose(1, 2));
    torch::Tensor s_ref = torch::bmm(q.to(torch::kDouble), kt.to(torch::kDouble).transpose(1, 2));
    EXPECT_LT((s.to(torch::kDouble) - s_ref).abs().max().item<double>() /
                  (s_ref.abs().max().item<double>() + 1e-12),
              1e-5);
    torch::Tensor bias = torch::randn({m, n});
    torch::Tensor x = torch::randn({m, k}), w = torch::randn({k, n});
    torch::Tensor y = torch::addmm(bias, x, w, 0.5, 2.0);
    torch::Tensor y_ref =
        torch::addmm(bias.to(torch::kDouble), x.to(torch::kDouble), w.to(torch::kDouble), 0.5, 2.0);
    EXPECT_LT((y.to(torch::kDouble) - y_ref).abs().max().item<double>() /
                  (y_ref.abs().max().item<double>() + 1e-12),
              1e-5);
  }
}

}  // namespace
}  // namespace terrascope
