// The scalar tier of the Resize microkernels: the generic body over a "vector" of one float (the tier every
// machine can test), and the tier dispatch.
#include <cstdint>
#include <cstring>

#include "kernels/cpu/resize_microkernels.h"

namespace hone::cpu {
namespace resize_scalar_tier {
namespace {

struct V {
  using R = float;
  static constexpr int W = 1;
  static R load(const float* p) { return *p; }
  static void store(float* p, R v) { *p = v; }
  static R set1(float v) { return v; }
  static R mul(R a, R b) { return a * b; }
  static R fmadd(R a, R b, R c) { return a * b + c; }
  static R gather(const float* base, const int32_t* idx) { return base[*idx]; }
  static void store_repeat(float* y, R v, int f, int) {
    for (int r = 0; r < f; ++r) y[r] = v;
  }
};

constexpr const char* kIsaName = "scalar";
#include "kernels/cpu/resize_microkernels.inc"

}  // namespace
}  // namespace resize_scalar_tier

const ResizeMicrokernels& resize_scalar() { return resize_scalar_tier::kTable; }

const ResizeMicrokernels& resize_for(Isa isa) {
  return pick_tier(isa, resize_scalar(), resize_avx2(), resize_avx512());
}

}  // namespace hone::cpu
