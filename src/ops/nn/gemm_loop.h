// The matrix product every nn kernel here reduces to (MatMul, Gemm, Conv via im2col, ConvTranspose via col2im):
//   C(i, j) = (accumulate ? C(i, j) : 0) + sum_p A(i, p) * B(p, j)
// with A(i, p) = a[i * a_rs + p * a_cs], B(p, j) = b[p * b_rs + j * b_cs], C(i, j) = c[i * ldc + j], so transposed
// operands are just other strides. float and double use a cache-blocked loop with packed panels and a small
// register tile the compiler vectorizes; integer types use a plain i-p-j loop that wraps like numpy.
#pragma once
#include <cstdint>

namespace hone::nn {

template <typename T>
void gemm_loop(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_rs, int64_t a_cs, const T* b, int64_t b_rs,
               int64_t b_cs, T* c, int64_t ldc, bool accumulate);

}  // namespace hone::nn
