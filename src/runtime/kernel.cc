#include "runtime/kernel.h"

#include <cstdlib>
#include <cstring>

namespace hone {

KernelRegistry& KernelRegistry::instance() {
  static KernelRegistry r;
  return r;
}

void KernelRegistry::add(KernelFactory f) { factories_.push_back(std::move(f)); }

std::unique_ptr<Kernel> KernelRegistry::choose(const KernelQuery& q, const OpSchema& schema) const {
  // HONE_KERNELS=reference forces every node onto its reference kernel (for testing fast paths against it).
  static const bool reference_only = [] {
    const char* v = std::getenv("HONE_KERNELS");
    return v && std::strcmp(v, "reference") == 0;
  }();
  if (!reference_only) {
    const KernelFactory* best = nullptr;
    for (const KernelFactory& f : factories_)
      if (f.domain == q.node.domain && f.op == q.node.op_type && (!best || f.priority > best->priority) && f.applies(q))
        best = &f;
    if (best) return best->create(q);
  }
  if (!schema.compute) fail("{}: operator has no kernel", q.node.label());
  return std::make_unique<ReferenceKernel>(schema);
}

}  // namespace hone
