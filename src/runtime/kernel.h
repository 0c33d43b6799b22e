// Kernels the plan can choose per node. Every op's reference kernel is always a candidate; fast kernels register
// against the same op with a predicate saying when they apply, and may pre-pack constant weights when created.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace hone {

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(OpContext& ctx) = 0;
  virtual std::string name() const = 0;
};

// What a kernel factory sees at plan time: the node, its input types (concrete shapes where known), the values of
// constant inputs (weights), and the session's settings.
struct KernelQuery {
  const Node& node;
  int64_t opset;
  std::vector<const TypeInfo*> input_types;   // null for omitted inputs
  std::vector<const Tensor*> input_constants;  // null when not constant
  std::vector<TypeInfo> output_types;
  int threads;
};

struct KernelFactory {
  std::string domain;  // "" is ai.onnx
  std::string op;
  std::string name;    // e.g. "dnnl-conv-f32"
  int priority = 0;    // higher wins among applicable factories
  std::function<bool(const KernelQuery&)> applies;
  std::function<std::unique_ptr<Kernel>(const KernelQuery&)> create;
};

class KernelRegistry {
 public:
  static KernelRegistry& instance();
  void add(KernelFactory f);
  // The best applicable fast kernel for the node, or the reference kernel of `schema`.
  std::unique_ptr<Kernel> choose(const KernelQuery& q, const OpSchema& schema) const;

 private:
  std::vector<KernelFactory> factories_;
};

struct KernelRegistrar {
  explicit KernelRegistrar(KernelFactory f) { KernelRegistry::instance().add(std::move(f)); }
};
#define HONE_REGISTER_KERNEL(...) \
  static const ::hone::KernelRegistrar HONE_CONCAT(hone_kernel_registrar_, __COUNTER__)(::hone::KernelFactory __VA_ARGS__)

// Wraps an op's reference kernel.
class ReferenceKernel final : public Kernel {
 public:
  explicit ReferenceKernel(const OpSchema& s) : schema_(s) {}
  void run(OpContext& ctx) override { schema_.compute(ctx); }
  std::string name() const override { return "reference"; }

 private:
  const OpSchema& schema_;
};

}  // namespace hone
