#include "kernels/cpu/cpu_features.h"

#include <cstdlib>
#include <string>

#include "core/error.h"

namespace hone {
namespace {

std::optional<Isa>& isa_override() {
  static std::optional<Isa> o;
  return o;
}

void require_supported(Isa isa, const char* who) {
  if (static_cast<int>(isa) > static_cast<int>(best_isa()))
    fail("{} asks for ISA tier '{}', but this CPU supports at most '{}'", who, isa_name(isa), isa_name(best_isa()));
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = [] {
    CpuFeatures c;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    c.avx2 = __builtin_cpu_supports("avx2");
    c.fma = __builtin_cpu_supports("fma");
    c.avx512f = __builtin_cpu_supports("avx512f");
    c.avx512bw = __builtin_cpu_supports("avx512bw");
    c.avx512vl = __builtin_cpu_supports("avx512vl");
    c.avx512dq = __builtin_cpu_supports("avx512dq");
    c.avx512_vnni = __builtin_cpu_supports("avx512vnni");
    c.avx512_bf16 = __builtin_cpu_supports("avx512bf16");
#endif
    return c;
  }();
  return f;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Avx512Vnni: return "avx512_vnni";
  }
  return "?";
}

std::optional<Isa> parse_isa(std::string_view name) {
  for (Isa i : {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Avx512Vnni})
    if (name == isa_name(i)) return i;
  return std::nullopt;
}

Isa best_isa() {
  const CpuFeatures& c = cpu_features();
  if (!(c.avx2 && c.fma)) return Isa::Scalar;
  if (!(c.avx512f && c.avx512bw && c.avx512vl && c.avx512dq)) return Isa::Avx2;
  return c.avx512_vnni ? Isa::Avx512Vnni : Isa::Avx512;
}

Isa active_isa() {
  if (isa_override()) return *isa_override();
  static const Isa from_env = [] {
    const char* v = std::getenv("HONE_ISA");
    if (!v || !*v) return best_isa();
    std::optional<Isa> isa = parse_isa(v);
    if (!isa) fail("HONE_ISA='{}' is not a tier; expected scalar, avx2, avx512 or avx512_vnni", v);
    require_supported(*isa, "HONE_ISA");
    return *isa;
  }();
  return from_env;
}

ScopedIsaOverride::ScopedIsaOverride(Isa isa) : previous_(isa_override()) {
  require_supported(isa, "ScopedIsaOverride");
  isa_override() = isa;
}
ScopedIsaOverride::~ScopedIsaOverride() { isa_override() = previous_; }

}  // namespace hone
