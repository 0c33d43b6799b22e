// The scalar tier: the generic microkernels over a "vector" of one float, for CPUs without AVX2 and as the tier
// every machine can test. It also documents what a tier's `struct V` provides.
#include <bit>
#include <cmath>
#include <cstdint>

#include "kernels/cpu/elementwise_microkernels.h"

namespace hone::cpu {
namespace scalar {
namespace {

struct V {
  using R = float;  // the vector type
  using M = bool;   // a lane mask
  static constexpr int W = 1;
  static R load(const float* p) { return *p; }
  static void store(float* p, R v) { *p = v; }
  static R set1(float v) { return v; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R mul(R a, R b) { return a * b; }
  static R div(R a, R b) { return a / b; }
  static R fma(R a, R b, R c) { return a * b + c; }  // unfused: a software fma would be slow
  static R max(R a, R b) { return a > b ? a : b; }
  static R min(R a, R b) { return a < b ? a : b; }
  static R sqrt(R a) { return std::sqrt(a); }
  static R abs(R a) { return std::fabs(a); }
  static R neg_abs(R a) { return -std::fabs(a); }
  static R copy_sign(R mag, R sign) { return std::copysign(mag, sign); }
  static R round(R a) { return std::nearbyint(a); }
  static M cmp_ge(R a, R b) { return a >= b; }
  static M cmp_lt(R a, R b) { return a < b; }
  static M is_nan(R a) { return a != a; }
  static M mask_or(M a, M b) { return a || b; }
  static R select(M m, R a, R b) { return m ? a : b; }
  static float hsum(R a) { return a; }
  static float hmax(R a) { return a; }
  static float pow2(int32_t e) { return std::bit_cast<float>(static_cast<uint32_t>(e + 127) << 23); }
  // y * 2^n for integral n in [-150, 128], in two exact-range steps.
  static R scale_pow2(R y, R n) {
    if (n != n) return n;
    int32_t i = static_cast<int32_t>(n), h = i >> 1;
    return y * pow2(h) * pow2(i - h);
  }
};

constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/elementwise_microkernels.inc"

}  // namespace
}  // namespace scalar

const ElementwiseMicrokernels& elementwise_scalar() { return scalar::kTable; }

const ElementwiseMicrokernels& elementwise_for(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return elementwise_scalar();
    case Isa::Avx2: return elementwise_avx2();
    case Isa::Avx512:
    case Isa::Avx512Vnni: return elementwise_avx512();
  }
  return elementwise_scalar();
}

}  // namespace hone::cpu
