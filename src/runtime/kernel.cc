#include "runtime/kernel.h"

#include <cstdlib>
#include <cstring>

namespace hone {

KernelRegistry& KernelRegistry::instance() {
  static KernelRegistry r;
  return r;
}

void KernelRegistry::add(KernelFactory f) { factories_.push_back(std::move(f)); }

const char* layout_name(Layout l) { return l == Layout::ChannelsLast ? "channels-last" : "plain"; }

bool is_layout_tensor(const TypeInfo* t) {
  if (!t || !t->is_tensor() || !t->shape || t->shape->size() != 4) return false;
  // float32, and the 8-bit activations of quantized models (the int8 kernels read and write them channels-last).
  if (t->elem != DType::Float32 && t->elem != DType::UInt8 && t->elem != DType::Int8) return false;
  return to_concrete(*t->shape).has_value();
}

bool is_layout_neutral(const Shape& s) { return s.size() == 4 && (s[2] * s[3] == 1 || s[1] == 1); }

const KernelFactory* KernelRegistry::best(const KernelQuery& q) const {
  // HONE_KERNELS=reference forces every node onto its reference kernel (for testing fast paths against it).
  static const bool reference_only = [] {
    const char* v = std::getenv("HONE_KERNELS");
    return v && std::strcmp(v, "reference") == 0;
  }();
  if (reference_only) return nullptr;
  const KernelFactory* best = nullptr;
  for (const KernelFactory& f : factories_)
    if (f.domain == q.node.domain && f.op == q.node.op_type && (!best || f.priority > best->priority) && f.applies(q))
      best = &f;
  return best;
}

std::unique_ptr<Kernel> KernelRegistry::choose(const KernelQuery& q, const OpSchema& schema) const {
  if (const KernelFactory* f = best(q)) return f->create(q);
  if (!schema.compute) fail("{}: operator has no kernel", q.node.label());
  return std::make_unique<ReferenceKernel>(schema);
}

}  // namespace hone
