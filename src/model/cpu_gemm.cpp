// Routes libtorch's single-precision BLAS GEMM to oneDNN.
//
// Debian's libtorch 1.13 (the engine's CPU build) is linked against the reference BLAS
// (`BLAS_INFO=generic`, libblas.so.3 -> netlib): its `sgemm_` runs at 1-3 GFLOP/s on the
// development VM, and profiling `terrascope perf` put about two thirds of the CPU time of a
// question in it (SAM-2 image encoder, vision encoder, prefill). The same libtorch already loads
// oneDNN (libdnnl.so.2, for its mkldnn convolutions), whose `dnnl_sgemm` is a JIT-compiled
// AVX2/AVX-512 GEMM, 30-40x faster there on the same single thread. This file defines `sgemm_` in
// the engine's executable: the dynamic linker binds libtorch's calls to the executable's definition
// first, and it forwards to `dnnl_sgemm` (or, without oneDNN or with TERRASCOPE_GEMM=system, to the
// next `sgemm_` in the search order, the system BLAS). A libtorch that does not call an external
// `sgemm_` (pip wheels link MKL statically) never comes here, and one whose own MKL `sgemm_` is
// interposed by ours keeps using it.
//
// Numerics: oneDNN sums in another order (blocked, FMA), so products differ from netlib's in the
// last bits (relative 1e-7); the golden parity tests (tests/model/parity_test.cpp) still match.
#include "model/cpu_gemm.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "terrascope/error.h"

namespace terrascope {
namespace {

// Fortran BLAS sgemm_ as libtorch declares and calls it (column-major, arguments by pointer, no
// hidden string lengths).
using FortranSgemm = void (*)(const char*, const char*, const int*, const int*, const int*,
                              const float*, const float*, const int*, const float*, const int*,
                              const float*, float*, const int*);
// oneDNN's C API (dnnl.h): row-major; returns dnnl_status_t, 0 = dnnl_success.
using DnnlSgemm = int (*)(char, char, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);

struct Gemm {
  DnnlSgemm onednn = nullptr;     // null: use `system`
  FortranSgemm system = nullptr;  // the next sgemm_ (libblas), for the fallback
  const char* name = "system";
};

const Gemm& gemm() {
  static const Gemm chosen = [] {
    Gemm g;
    g.system = reinterpret_cast<FortranSgemm>(dlsym(RTLD_NEXT, "sgemm_"));
    auto onednn = reinterpret_cast<DnnlSgemm>(dlsym(RTLD_DEFAULT, "dnnl_sgemm"));
    const char* env = std::getenv("TERRASCOPE_GEMM");
    // A libtorch that carries its own BLAS (pip wheels: MKL inside libtorch_cpu.so, whose sgemm_
    // may be exported and so come here) keeps it: only an external BLAS is replaced.
    Dl_info where{};
    const bool blas_in_torch = g.system && dladdr(reinterpret_cast<void*>(g.system), &where) &&
                               where.dli_fname &&
                               std::string(where.dli_fname).find("libtorch") != std::string::npos;
    g.name = choose_cpu_gemm(env, onednn != nullptr && !blas_in_torch);
    if (std::string(g.name) == "onednn") g.onednn = onednn;
    return g;
  }();
  return chosen;
}

}  // namespace

const char* choose_cpu_gemm(const char* env_value, bool have_onednn) {
  const std::string value = env_value ? env_value : "";
  if (value == "system") return "system";
  if (!value.empty() && value != "onednn") {
    throw Error("TERRASCOPE_GEMM", "'" + value + "' is not one of: system, onednn");
  }
  return have_onednn ? "onednn" : "system";
}

const char* cpu_gemm_backend() {
  return gemm().name;
}

}  // namespace terrascope

// Exported from the executable (libtorch_cpu.so references it, so the linker puts it in the
// dynamic symbol table) and bound in place of libblas's.
extern "C" void sgemm_(const char* transa, const char* transb, const int* m, const int* n,
                       const int* k, const float* alpha, const float* a, const int* lda,
                       const float* b, const int* ldb, const float* beta, float* c,
                       const int* ldc) {
  const terrascope::Gemm* g = nullptr;
  try {
    g = &terrascope::gemm();
  } catch (...) {
    // A bad TERRASCOPE_GEMM surfaces through cpu_gemm_backend() at model load; a product that
    // comes first (none does in the engine) falls back to the system BLAS.
    static const auto next = reinterpret_cast<terrascope::FortranSgemm>(dlsym(RTLD_NEXT, "sgemm_"));
    next(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    return;
  }
  // Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T: swap the operands.
  if (g->onednn && *m > 0 && *n > 0 && *k > 0 &&
      g->onednn(*transb, *transa, *n, *m, *k, *alpha, b, *ldb, a, *lda, *beta, c, *ldc) == 0) {
    return;
  }
  if (!g->system) std::abort();  // unreachable: libtorch links a BLAS that defines sgemm_
  g->system(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
