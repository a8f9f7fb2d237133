// Which single-precision GEMM libtorch's CPU matrix products run on (cpu_gemm.cpp).
#pragma once

namespace terrascope {

// "onednn" when libtorch's BLAS calls (`sgemm_`) are routed to oneDNN's `dnnl_sgemm`, "system"
// when they go to the BLAS libtorch was linked with. Decided once per process, at the first call
// of this function or of a matrix product: `TERRASCOPE_GEMM=system` in the environment keeps the
// system BLAS; otherwise oneDNN is used when the process has `dnnl_sgemm` (Debian's libtorch links
// libdnnl) and this executable's `sgemm_` is the one libtorch binds to.
const char* cpu_gemm_backend();

// The choice for a value of TERRASCOPE_GEMM (nullptr: unset) and whether dnnl_sgemm was found:
// "system" or "onednn". Error for a value other than "system", "onednn" or empty.
const char* choose_cpu_gemm(const char* env_value, bool have_onednn);

}  // namespace terrascope
