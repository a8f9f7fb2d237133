/* LD_PRELOAD shim for training (tools/train_tiny.sh): Debian's torch calls the Fortran `sgemm_` of
 * libblas.so.3, the netlib reference BLAS (1-3 GFLOP/s); this library defines `sgemm_` first in
 * the search order and forwards every product to oneDNN's `dnnl_sgemm`, which the same torch
 * already loads (libdnnl.so.2). The engine does the same inside its executable
 * (src/model/cpu_gemm.cpp); this is the Python side's equivalent, used only for training speed.
 *
 * Build: gcc -O2 -shared -fPIC -o libonednn_sgemm.so tools/onednn_sgemm.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>

typedef void (*fortran_sgemm)(const char *, const char *, const int *, const int *, const int *,
                              const float *, const float *, const int *, const float *,
                              const int *, const float *, float *, const int *);
typedef int (*dnnl_sgemm_fn)(char, char, int64_t, int64_t, int64_t, float, const float *,
                             int64_t, const float *, int64_t, float, float *, int64_t);

/* Products oneDNN computed (read by tests/python/test_train.py through ctypes). */
unsigned long long terrascope_sgemm_onednn_calls;

void sgemm_(const char *transa, const char *transb, const int *m, const int *n, const int *k,
            const float *alpha, const float *a, const int *lda, const float *b, const int *ldb,
            const float *beta, float *c, const int *ldc) {
  static dnnl_sgemm_fn onednn;
  static fortran_sgemm next;
  if (!onednn && !next) {
    /* Python loads torch's libraries RTLD_LOCAL: look them up by handle, not in the global scope. */
    void *dnnl = dlopen("libdnnl.so.2", RTLD_LAZY);
    void *blas = dlopen("libblas.so.3", RTLD_LAZY);
    onednn = dnnl ? (dnnl_sgemm_fn)dlsym(dnnl, "dnnl_sgemm") : NULL;
    next = blas ? (fortran_sgemm)dlsym(blas, "sgemm_") : NULL;
  }
  /* Column-major C = op(A) op(B) is row-major C^T = op(B)^T op(A)^T: swap the operands. */
  if (onednn && *m > 0 && *n > 0 && *k > 0 &&
      onednn(*transb, *transa, *n, *m, *k, *alpha, b, *ldb, a, *lda, *beta, c, *ldc) == 0) {
    __atomic_add_fetch(&terrascope_sgemm_onednn_calls, 1, __ATOMIC_RELAXED);
    return;
  }
  if (!next) abort();
  next(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
