// Kernels the plan can choose per node. Every op's reference kernel is always a candidate; fast kernels register
// against the same op with a predicate saying when they apply, and may pre-pack constant weights when created.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ops/op_registry.h"

namespace hone {

// How a kernel's rank-4 activations (float32; uint8 / int8 in quantized models) are stored. Plain is ONNX's
// row-major N,C,H,W. ChannelsLast stores the same logical [N,C,H,W] tensor as N,H,W,C (what oneDNN's fastest
// convolutions read and write); the shape seen through Tensor::shape() stays [N,C,H,W]. Only the planner converts
// between them (a hone.LayoutTransform step), so chains of channels-last kernels run without reorders.
enum class Layout : uint8_t { Plain = 0, ChannelsLast = 1 };
const char* layout_name(Layout l);

// Whether a value takes part in layout planning: a float32, uint8 or int8 rank-4 tensor with a concrete shape.
bool is_layout_tensor(const TypeInfo* t);
// A rank-4 shape whose plain and channels-last orders are the same bytes (H*W == 1 or C == 1).
bool is_layout_neutral(const Shape& nchw);

class Kernel {
 public:
  virtual ~Kernel() = default;
  virtual void run(OpContext& ctx) = 0;
  virtual std::string name() const = 0;
  // Layout reorders the kernel runs around its own work on every call (e.g. into a oneDNN blocked layout).
  virtual int reorders() const { return 0; }
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
  // Channels-last: every non-constant input and every output for which is_layout_tensor holds is stored N,H,W,C;
  // everything else (constants such as weights, other ranks and types) stays plain. Only for factories whose
  // `channels_last` predicate accepted the query.
  Layout layout = Layout::Plain;
};

struct KernelFactory {
  std::string domain;  // "" is ai.onnx
  std::string op;
  std::string name;    // e.g. "dnnl-conv-f32"
  int priority = 0;    // higher wins among applicable factories
  std::function<bool(const KernelQuery&)> applies;
  std::function<std::unique_ptr<Kernel>(const KernelQuery&)> create;
  // Null, or whether the kernel can run the query with layout ChannelsLast (see KernelQuery::layout). The planner
  // runs a node channels-last when its kernel prefers it, or when an activation input already is channels-last.
  std::function<bool(const KernelQuery&)> channels_last;
  bool prefers_channels_last = false;  // convolutions: channels-last is their fast layout
};

class KernelRegistry {
 public:
  static KernelRegistry& instance();
  void add(KernelFactory f);
  // The best applicable fast kernel's factory, or null (the reference kernel; always null under
  // HONE_KERNELS=reference).
  const KernelFactory* best(const KernelQuery& q) const;
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
