// Runs one node through the kernel the registry chooses and through the op's reference kernel, on the same inputs,
// optionally with the chosen kernel in the channels-last layout (rank-4 float activations stored N,H,W,C). Used by
// the fast-kernel tests of Resize and the data-movement ops.
#pragma once
#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "kernel_test_util.h"
#include "kernels/cpu/cpu_features.h"
#include "runtime/kernel.h"

namespace hone::test {

// Every ISA tier this machine has.
inline std::vector<Isa> isa_tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}

// A node input: a tensor fed at run time, a plan-time constant, or omitted ("" in the node).
struct Arg {
  Arg(Tensor t) : tensor(std::move(t)) {}  // NOLINT: a bare tensor is a fed input
  static Arg constant(Tensor t) {
    Arg a(std::move(t));
    a.is_constant = true;
    return a;
  }
  static Arg omitted() {
    Arg a{Tensor()};
    a.is_omitted = true;
    return a;
  }
  Tensor tensor;
  bool is_constant = false;
  bool is_omitted = false;
};

inline Attribute attr_int(const std::string& name, int64_t v) { return Attribute::of_int(name, v); }
inline Attribute attr_float(const std::string& name, float v) { return Attribute::of_float(name, v); }
inline Attribute attr_string(const std::string& name, const std::string& v) { return Attribute::of_string(name, v); }
inline Attribute attr_ints(const std::string& name, std::vector<int64_t> v) { return Attribute::of_ints(name, std::move(v)); }
inline Attribute attr_floats(const std::string& name, std::vector<float> v) {
  return Attribute::of_floats(name, std::move(v));
}

// Rank-4 float [N,C,H,W] between the plain and N,H,W,C byte orders (the logical shape stays [N,C,H,W]).
inline Tensor nchw_to_nhwc(const Tensor& t) { return permute_layout(t, true); }
inline Tensor nhwc_to_nchw(const Tensor& t) { return permute_layout(t, false); }

struct KernelRun {
  std::string kernel;  // the chosen kernel's name ("reference" when no fast kernel applies)
  std::vector<Tensor> fast, reference;
};

struct RunOptions {
  Isa isa = Isa::Scalar;
  int threads = 1;
  size_t outputs = 1;
  bool channels_last = false;  // the chosen factory must accept channels-last; its I/O is converted around it
  std::string domain;
  bool unknown_dims = false;  // fed inputs' types have their rank but no dims (shapes known only at run time)
};

// Plans and runs one node (concrete input types; constants visible to the factory), then the op's reference kernel.
inline KernelRun run_kernel_and_reference(const std::string& op, int64_t opset, const std::vector<Arg>& args,
                                          std::vector<Attribute> attrs, const RunOptions& opt) {
  ScopedIsaOverride force(opt.isa);
  Node n;
  n.op_type = op;
  n.domain = opt.domain;
  n.name = "n";
  n.attributes = std::move(attrs);
  std::vector<TypeInfo> types(args.size());
  for (size_t i = 0; i < args.size(); ++i) {
    n.inputs.push_back(args[i].is_omitted ? "" : "in" + std::to_string(i));
    if (args[i].is_omitted) continue;
    bool unknown = opt.unknown_dims && !args[i].is_constant;
    types[i] = TypeInfo::tensor(args[i].tensor.dtype(),
                                unknown ? SymShape(args[i].tensor.shape().size()) : to_sym_shape(args[i].tensor.shape()));
  }
  for (size_t k = 0; k < opt.outputs; ++k) n.outputs.push_back("out" + std::to_string(k));
  KernelQuery q{n, opset, {}, {}, std::vector<TypeInfo>(opt.outputs), opt.threads};
  for (size_t i = 0; i < args.size(); ++i) {
    q.input_types.push_back(args[i].is_omitted ? nullptr : &types[i]);
    q.input_constants.push_back(args[i].is_constant ? &args[i].tensor : nullptr);
  }
  const OpSchema* schema = OpRegistry::instance().find(opt.domain, op, opset);
  EXPECT_NE(schema, nullptr) << op << "-" << opset;
  if (!schema) return {};
  std::unique_ptr<Kernel> k;
  if (opt.channels_last) {
    const KernelFactory* f = KernelRegistry::instance().best(q);
    if (!f || !f->channels_last || !f->channels_last(q)) {
      ADD_FAILURE() << op << ": no fast kernel takes this node channels-last";
      return {};
    }
    q.layout = Layout::ChannelsLast;
    k = f->create(q);
  } else {
    k = KernelRegistry::instance().choose(q, *schema);
  }
  auto layout_tensor = [](const Tensor& t) {
    return t.dtype() == DType::Float32 && t.rank() == 4;
  };
  std::vector<Value> plain, fast_in;
  for (const Arg& a : args) {
    plain.push_back(a.is_omitted ? Value() : Value::of(a.tensor));
    bool convert = opt.channels_last && !a.is_omitted && !a.is_constant && layout_tensor(a.tensor);
    fast_in.push_back(a.is_omitted ? Value() : Value::of(convert ? nchw_to_nhwc(a.tensor) : a.tensor));
  }
  std::vector<const Value*> plain_ptrs, fast_ptrs;
  for (size_t i = 0; i < args.size(); ++i) {
    plain_ptrs.push_back(args[i].is_omitted ? nullptr : &plain[i]);
    fast_ptrs.push_back(args[i].is_omitted ? nullptr : &fast_in[i]);
  }
  std::vector<Value> fast_out(opt.outputs), ref_out(opt.outputs);
  OpContext fast_ctx(n, opset, fast_ptrs.data(), fast_ptrs.size(), fast_out.data(), opt.outputs, opt.threads, nullptr);
  k->run(fast_ctx);
  OpContext ref_ctx(n, opset, plain_ptrs.data(), plain_ptrs.size(), ref_out.data(), opt.outputs, 1, nullptr);
  schema->compute(ref_ctx);
  KernelRun r;
  r.kernel = k->name();
  for (size_t o = 0; o < opt.outputs; ++o) {
    const Tensor& f = fast_out[o].tensor;
    r.fast.push_back(opt.channels_last && layout_tensor(f) ? nhwc_to_nchw(f) : f);
    r.reference.push_back(ref_out[o].tensor);
  }
  return r;
}

// Same dtype, shape and bytes.
inline void expect_identical(const Tensor& fast, const Tensor& ref, const std::string& what) {
  ASSERT_EQ(fast.dtype(), ref.dtype()) << what;
  ASSERT_EQ(fast.shape(), ref.shape()) << what << ": " << shape_str(fast.shape()) << " vs " << shape_str(ref.shape());
  ASSERT_EQ(fast.nbytes(), ref.nbytes()) << what;
  if (fast.nbytes() == 0) return;
  if (std::memcmp(fast.raw(), ref.raw(), fast.nbytes()) == 0) return;
  size_t es = dtype_size(fast.dtype());
  for (int64_t i = 0; i < fast.numel(); ++i)
    if (std::memcmp(static_cast<const char*>(fast.raw()) + i * es, static_cast<const char*>(ref.raw()) + i * es, es)) {
      ADD_FAILURE() << what << ": first difference at element " << i;
      return;
    }
}

// Uniform float32 values in [-1, 1) drawn from `rng` (kernel tests that draw several tensors from one generator).
inline Tensor random_floats(Shape shape, std::mt19937& rng) {
  Tensor t(DType::Float32, std::move(shape));
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// Random bytes (every dtype) or uniform floats in [-1, 1] (float32).
inline Tensor random_tensor(DType dtype, const Shape& shape, uint32_t seed) {
  Tensor t(dtype, shape);
  std::mt19937 rng(seed);
  if (dtype == DType::Float32) {
    std::uniform_real_distribution<float> d(-1, 1);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  } else {
    auto* p = static_cast<unsigned char*>(t.raw());
    for (size_t i = 0; i < t.nbytes(); ++i) p[i] = static_cast<unsigned char>(rng());
  }
  return t;
}

}  // namespace hone::test

namespace hone::test {

// Fastest of `reps` runs of a kernel, in milliseconds, with its outputs bound to memory allocated once (as a plan
// binds them to its arena), so that page faults of fresh outputs are not timed.
inline double time_kernel_ms(Kernel& k, const Node& n, int64_t opset, const std::vector<const Value*>& inputs,
                             size_t outputs, int threads, int reps) {
  std::vector<Value> out(outputs);
  {
    OpContext first(n, opset, inputs.data(), inputs.size(), out.data(), outputs, threads, nullptr);
    k.run(first);  // learns the output types
  }
  std::vector<std::vector<std::byte>> memory;
  for (Value& v : out) {
    memory.emplace_back(std::max<size_t>(v.tensor.nbytes(), 1));
    v = Value::of(Tensor::borrow(v.tensor.dtype(), v.tensor.shape(), memory.back().data()));
  }
  OpContext ctx(n, opset, inputs.data(), inputs.size(), out.data(), outputs, threads, nullptr);
  k.run(ctx);  // warm
  double best = 1e30;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    k.run(ctx);
    best = std::min(best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return best;
}

}  // namespace hone::test
