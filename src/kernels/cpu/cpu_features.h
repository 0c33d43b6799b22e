// What this CPU can do, detected once, and which instruction-set tier Hone's own kernels use. The tier is the
// best the CPU has unless HONE_ISA=scalar|avx2|avx512|avx512_vnni asks for a lower one (asking for more than the CPU
// has is an error); tests force tiers with ScopedIsaOverride, since HONE_ISA is read once.
#pragma once
#include <optional>
#include <string_view>

namespace hone {

struct CpuFeatures {
  bool avx2 = false, fma = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512_vnni = false, avx512_bf16 = false;
};

// Ordered: a higher tier implies every lower one.
enum class Isa { Scalar, Avx2, Avx512, Avx512Vnni };

// The tier's member of a family of per-ISA tables (AVX-512 VNNI machines use the AVX-512 tier).
template <typename T>
const T& pick_tier(Isa isa, const T& scalar, const T& avx2, const T& avx512) {
  switch (isa) {
    case Isa::Scalar: return scalar;
    case Isa::Avx2: return avx2;
    case Isa::Avx512:
    case Isa::Avx512Vnni: return avx512;
  }
  return scalar;
}

const CpuFeatures& cpu_features();
const char* isa_name(Isa isa);
std::optional<Isa> parse_isa(std::string_view name);
// The best tier this CPU supports (avx2 needs fma too; avx512 means f+bw+vl+dq, the Skylake-X set).
Isa best_isa();
// The tier kernels created now should use: a test override, else HONE_ISA, else best_isa(). Throws hone::Error when
// HONE_ISA names an unknown tier or one above what the CPU has.
Isa active_isa();

// Forces active_isa() to `isa` for its lifetime (tests). Throws when the CPU lacks the tier.
class ScopedIsaOverride {
 public:
  explicit ScopedIsaOverride(Isa isa);
  ~ScopedIsaOverride();
  ScopedIsaOverride(const ScopedIsaOverride&) = delete;
  ScopedIsaOverride& operator=(const ScopedIsaOverride&) = delete;

 private:
  std::optional<Isa> previous_;
};

}  // namespace hone
