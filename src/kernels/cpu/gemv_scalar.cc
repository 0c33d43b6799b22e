// The scalar tier of the GEMV microkernel (panels of 2 columns, one float per "register"), and the choice of tier.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/gemv_microkernels.h"

namespace hone::cpu {
namespace scalar {
namespace {

struct V {
  using R = float;
  static constexpr int W = 1;
  static constexpr int kVectors = 2;
  static constexpr int kAccumulators = 8;  // 8 of the 16 xmm registers
  static R load(const float* p) { return *p; }
  static R loadu(const float* p) { return *p; }
  static void storeu(float* p, R v) { *p = v; }
  static R zero() { return 0.f; }
  static R fma_x(const float* x, R b, R acc) { return *x * b + acc; }
  static R add(R a, R b) { return a + b; }
};

constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/gemv_microkernels.inc"

}  // namespace
}  // namespace scalar

const GemvMicrokernel& gemv_scalar() { return scalar::kMicrokernel; }

const GemvMicrokernel& gemv_for(Isa isa) {
  return pick_tier(isa, gemv_scalar(), gemv_avx2(), gemv_avx512());
}

}  // namespace hone::cpu
