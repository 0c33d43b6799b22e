// The scalar tier of the per-channel microkernels: the generic body over a "vector" of one float, for CPUs without
// AVX2 and as the tier every machine can test. It also documents what a tier's `struct V` provides.
#include <algorithm>
#include <cstdint>

#include "kernels/cpu/norm_microkernels.h"

namespace hone::cpu {
namespace norm_scalar_tier {
namespace {

struct V {
  using R = float;  // the vector type
  static constexpr int W = 1;
  static R load(const float* p) { return *p; }
  static void store(float* p, R v) { *p = v; }
  static R set1(float v) { return v; }
  static R zero() { return 0.0f; }
  static R add(R a, R b) { return a + b; }
  static R sub(R a, R b) { return a - b; }
  static R fma(R a, R b, R c) { return a * b + c; }  // unfused: a software fma would be slow
  static R max(R a, R b) { return a > b ? a : b; }
  // The first n < W lanes of p, the rest `fill` (W = 1: never called with n > 0).
  static R load_tail(const float* p, int64_t n, R fill) { return n > 0 ? *p : fill; }
  // Stores the first n < W lanes.
  static void store_tail(float* p, R v, int64_t n) {
    if (n > 0) *p = v;
  }
  static float hsum(R a) { return a; }
  static float hmax(R a) { return a; }
};

constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/norm_microkernels.inc"

}  // namespace
}  // namespace norm_scalar_tier

const NormMicrokernels& norm_scalar() { return norm_scalar_tier::kTable; }

const NormMicrokernels& norm_for(Isa isa) {
  return pick_tier(isa, norm_scalar(), norm_avx2(), norm_avx512());
}

}  // namespace hone::cpu
