// Shared by the fast-kernel tests (kernels_elementwise_test.cc, kernels_reduce_test.cc, kernels_layernorm_test.cc):
// plan one node under a forced ISA tier and layout, run the chosen kernel and the op's reference kernel on the same
// inputs, compare (bit for bit, in ulp, or within a tolerance), and time both.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "kernels/cpu/cpu_features.h"
#include "runtime/kernel.h"

namespace hone::test {

// Every tier this machine has (avx512_vnni kernels are the avx512 ones).
inline std::vector<Isa> tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}
inline Isa top_tier() { return tiers().back(); }

inline const float kInf = std::numeric_limits<float>::infinity();
inline const float kNan = std::numeric_limits<float>::quiet_NaN();
inline const std::vector<float> kSpecials = {kInf, -kInf, kNan, -0.0f, 0.0f, 3e38f, -3e38f, 1e-40f, -1e-40f, 88.7f,
                                             89.0f, -87.5f, -103.0f, -104.5f, 1e-4f, 0.625f, -0.625f, 9.0f, -9.0f,
                                             6.0f, -3.0f};

// Uniform values in [lo, hi], with kSpecials sprinkled in (every 7th element) when `specials`.
inline Tensor random_f32(const Shape& shape, float lo, float hi, uint32_t seed, bool specials = true) {
  Tensor t(DType::Float32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = d(rng);
  if (specials)
    for (size_t k = 0; k < kSpecials.size() && static_cast<int64_t>(k * 7) < t.numel(); ++k) p[k * 7] = kSpecials[k];
  return t;
}

inline Tensor scalar_f32(float v, Shape shape = {}) {
  Tensor t(DType::Float32, shape);
  t.data<float>()[0] = v;
  return t;
}

inline Attribute float_attr(const std::string& name, float v) { return Attribute::of_float(name, v); }
inline Attribute int_attr(const std::string& name, int64_t v) { return Attribute::of_int(name, v); }
inline Attribute ints_attr(const std::string& name, std::vector<int64_t> v) { return Attribute::of_ints(name, std::move(v)); }

// A rank-4 float tensor's N,C,H,W values stored N,H,W,C (same logical shape), and back.
inline Tensor permute_layout(const Tensor& t, bool to_channels_last) {
  Tensor r(t.dtype(), t.shape());
  const Shape& s = t.shape();
  int64_t N = s[0], C = s[1], HW = s[2] * s[3];
  const float* p = t.data<float>();
  float* q = r.data<float>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t i = 0; i < HW; ++i) {
        int64_t plain = (n * C + c) * HW + i, last = (n * HW + i) * C + c;
        if (to_channels_last) q[last] = p[plain];
        else q[plain] = p[last];
      }
  return r;
}
inline Tensor to_nhwc(const Tensor& t) { return permute_layout(t, true); }
inline Tensor from_nhwc(const Tensor& t) { return permute_layout(t, false); }

struct Outcome {
  std::string kernel;  // the chosen kernel's name; "declined" when channels-last was asked and refused
  std::vector<Tensor> fast, reference;
  std::string reference_error;  // what the reference kernel threw (then nothing ran)
};

// One node with inputs in0.. (those flagged constant visible to the factory as constants) and outputs out0..
struct NodeCase {
  std::string op;
  int64_t opset = 13;
  std::vector<Tensor> inputs;
  std::vector<Attribute> attrs;
  std::vector<bool> constant;  // per input; missing entries are false
  size_t outputs = 1;
  int threads = 4;
  Layout layout = Layout::Plain;
  std::vector<bool> omitted;  // per input: leave the input unnamed (an omitted optional input)
};

// Plans the node under `isa`, runs the chosen kernel and the reference kernel. In channels-last, the kernel's
// factory must accept the query (else kernel == "declined"); its rank-4 float activations are fed as N,H,W,C and
// its rank-4 float outputs read back from N,H,W,C, so results compare in plain order.
inline Outcome run_both(Isa isa, const NodeCase& c) {
  ScopedIsaOverride force(isa);
  Node n;
  n.op_type = c.op;
  n.name = "n";
  n.attributes = c.attrs;
  std::vector<TypeInfo> types(c.inputs.size());
  std::vector<Value> plain_values, fed_values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool omitted = i < c.omitted.size() && c.omitted[i];
    n.inputs.push_back(omitted ? "" : "in" + std::to_string(i));
    types[i] = TypeInfo::tensor(c.inputs[i].dtype(), to_sym_shape(c.inputs[i].shape()));
    plain_values.push_back(omitted ? Value{} : Value::of(c.inputs[i]));
  }
  for (size_t k = 0; k < c.outputs; ++k) n.outputs.push_back("out" + std::to_string(k));
  const OpSchema* schema = OpRegistry::instance().find("", c.op, c.opset);
  EXPECT_NE(schema, nullptr) << c.op;
  if (!schema) return {};
  std::vector<const Value*> plain_ptrs;
  for (const Value& v : plain_values) plain_ptrs.push_back(&v);
  Outcome o;
  std::vector<Value> ref_out(c.outputs);
  OpContext ref_ctx(n, c.opset, plain_ptrs.data(), plain_ptrs.size(), ref_out.data(), ref_out.size(), 1, nullptr);
  try {
    schema->compute(ref_ctx);
  } catch (const Error& e) {
    o.reference_error = e.what();
  }
  for (const Value& v : ref_out) o.reference.push_back(v.tensor);

  KernelQuery q{n, c.opset, {}, {}, {}, c.threads};
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool omitted = i < c.omitted.size() && c.omitted[i];
    bool constant = i < c.constant.size() && c.constant[i];
    q.input_types.push_back(omitted ? nullptr : &types[i]);
    q.input_constants.push_back(constant ? &c.inputs[i] : nullptr);
  }
  for (const Tensor& r : o.reference) q.output_types.push_back(TypeInfo::tensor(r.dtype(), to_sym_shape(r.shape())));
  std::unique_ptr<Kernel> k;
  if (c.layout == Layout::Plain) {
    k = KernelRegistry::instance().choose(q, *schema);
  } else {
    // As the planner does: the best factory for the plain query must accept channels-last; the kernel is then
    // chosen again for the channels-last query and must come from the same factory.
    const KernelFactory* f = KernelRegistry::instance().best(q);
    q.layout = Layout::ChannelsLast;
    if (!f || !f->channels_last || !f->channels_last(q)) {
      o.kernel = "declined";
      return o;
    }
    EXPECT_EQ(KernelRegistry::instance().best(q), f) << c.op << ": another factory for the channels-last query";
    k = KernelRegistry::instance().choose(q, *schema);
  }
  o.kernel = k->name();
  if (!o.reference_error.empty()) return o;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool nhwc = c.layout == Layout::ChannelsLast && !q.input_constants[i] && q.input_types[i] &&
                is_layout_tensor(q.input_types[i]);
    fed_values.push_back(!q.input_types[i] ? Value{} : Value::of(nhwc ? to_nhwc(c.inputs[i]) : c.inputs[i]));
  }
  std::vector<const Value*> fed_ptrs;
  for (const Value& v : fed_values) fed_ptrs.push_back(&v);
  std::vector<Value> fast_out(c.outputs);
  OpContext fast_ctx(n, c.opset, fed_ptrs.data(), fed_ptrs.size(), fast_out.data(), fast_out.size(), c.threads, nullptr);
  k->run(fast_ctx);
  for (size_t i = 0; i < fast_out.size(); ++i) {
    const Tensor& t = fast_out[i].tensor;
    bool nhwc = c.layout == Layout::ChannelsLast && is_layout_tensor(&q.output_types[i]);
    o.fast.push_back(nhwc ? from_nhwc(t) : t);
  }
  return o;
}

// Distance in representable floats (the sign-magnitude bits mapped onto a line).
inline int64_t ulp_distance(float a, float b) {
  auto key = [](float v) {
    int32_t i = std::bit_cast<int32_t>(v);
    return i < 0 ? -static_cast<int64_t>(i & 0x7fffffff) : static_cast<int64_t>(i);
  };
  return std::llabs(key(a) - key(b));
}

// Output k of the fast kernel against the reference: max_ulp 0 is bit-identical (any NaN matches any NaN); otherwise
// infinities must match exactly and finite values lie within max_ulp.
inline void expect_ulp(const Outcome& o, int64_t max_ulp, const std::string& what, size_t k = 0) {
  ASSERT_GT(o.fast.size(), k) << what;
  const Tensor& ft = o.fast[k];
  const Tensor& rt = o.reference[k];
  ASSERT_EQ(ft.shape(), rt.shape()) << what;
  const float* f = ft.data<float>();
  const float* r = rt.data<float>();
  int bad = 0;
  for (int64_t i = 0; i < ft.numel() && bad < 5; ++i) {
    bool ok;
    if (std::isnan(r[i]) || std::isnan(f[i])) ok = std::isnan(r[i]) && std::isnan(f[i]);
    else if (max_ulp == 0 || std::isinf(r[i]) || std::isinf(f[i]))
      ok = std::bit_cast<uint32_t>(f[i]) == std::bit_cast<uint32_t>(r[i]);
    else ok = ulp_distance(f[i], r[i]) <= max_ulp;
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: fast " << f[i] << " reference " << r[i] << " ("
                    << ulp_distance(f[i], r[i]) << " ulp)";
    }
  }
}

// |fast - reference| <= rtol * (|reference| + scale[i]) elementwise, scale (per element, or empty: 0) being the
// magnitude the error is relative to (e.g. sum |x| for a sum that cancels). NaN and infinities must match.
inline void expect_near(const Outcome& o, double rtol, const std::string& what, const std::vector<double>& scale = {},
                        size_t k = 0) {
  ASSERT_GT(o.fast.size(), k) << what;
  const Tensor& ft = o.fast[k];
  const Tensor& rt = o.reference[k];
  ASSERT_EQ(ft.shape(), rt.shape()) << what;
  int bad = 0;
  for (int64_t i = 0; i < ft.numel() && bad < 5; ++i) {
    double f = ft.get_double(i), r = rt.get_double(i);
    bool ok;
    if (std::isnan(r) || std::isnan(f)) ok = std::isnan(r) && std::isnan(f);
    else if (std::isinf(r) || std::isinf(f)) ok = f == r;
    else ok = std::fabs(f - r) <= rtol * (std::fabs(r) + (scale.empty() ? 0.0 : scale[static_cast<size_t>(i)]));
    if (!ok) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r << " (diff " << f - r << ")";
    }
  }
}

// The chosen kernel is a fast one of this tier, not the reference.
inline void expect_fast(const Outcome& o, Isa isa, const std::string& what) {
  std::string suffix = std::string("_") + isa_name(isa);
  EXPECT_TRUE(o.kernel.size() > suffix.size() && o.kernel.ends_with(suffix)) << what << ": chose " << o.kernel;
}

inline std::string label(Isa isa, const std::string& op, const Shape& a, const std::string& more = "") {
  return std::string(isa_name(isa)) + " " + op + " " + shape_str(a) + " " + more;
}

// Median microseconds per run of the chosen fast kernel and of the reference kernel on the case's inputs (fed as
// its layout wants), printed with `bytes` moved per run for a GB/s figure. Never asserted: timing is information.
inline void print_timing(const NodeCase& c, const std::string& what, double bytes) {
  ScopedIsaOverride force(top_tier());
  Node n;
  n.op_type = c.op;
  n.name = "n";
  n.attributes = c.attrs;
  std::vector<TypeInfo> types(c.inputs.size());
  std::vector<Value> values, fed;
  KernelQuery q{n, c.opset, {}, {}, {}, c.threads};
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    n.inputs.push_back("in" + std::to_string(i));
    types[i] = TypeInfo::tensor(c.inputs[i].dtype(), to_sym_shape(c.inputs[i].shape()));
    values.push_back(Value::of(c.inputs[i]));
  }
  for (size_t k = 0; k < c.outputs; ++k) n.outputs.push_back("out" + std::to_string(k));
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    q.input_types.push_back(&types[i]);
    q.input_constants.push_back(i < c.constant.size() && c.constant[i] ? &c.inputs[i] : nullptr);
  }
  const OpSchema* schema = OpRegistry::instance().find("", c.op, c.opset);
  std::vector<Value> out(c.outputs);
  std::vector<const Value*> ptrs;
  for (const Value& v : values) ptrs.push_back(&v);
  {
    OpContext ctx(n, c.opset, ptrs.data(), ptrs.size(), out.data(), out.size(), 1, nullptr);
    schema->compute(ctx);
    for (const Value& v : out) q.output_types.push_back(TypeInfo::tensor(v.tensor.dtype(), to_sym_shape(v.tensor.shape())));
  }
  std::unique_ptr<Kernel> k;
  if (c.layout == Layout::ChannelsLast) {
    const KernelFactory* f = KernelRegistry::instance().best(q);
    q.layout = Layout::ChannelsLast;
    ASSERT_TRUE(f && f->channels_last && f->channels_last(q)) << what;
    k = f->create(q);
  } else {
    k = KernelRegistry::instance().choose(q, *schema);
  }
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool nhwc = c.layout == Layout::ChannelsLast && !q.input_constants[i] && is_layout_tensor(q.input_types[i]);
    fed.push_back(Value::of(nhwc ? to_nhwc(c.inputs[i]) : c.inputs[i]));
  }
  std::vector<const Value*> fed_ptrs;
  for (const Value& v : fed) fed_ptrs.push_back(&v);
  // Outputs are bound to memory allocated once, as a plan binds them to its arena (a fresh multi-megabyte output
  // per run would time the allocator's page faults).
  std::vector<Tensor> keep;
  auto bind_outputs = [&keep](std::vector<Value>& outs) {
    for (Value& v : outs) {
      keep.push_back(v.tensor);
      v = Value::of(Tensor::borrow(keep.back().dtype(), keep.back().shape(), keep.back().raw()));
    }
  };
  auto median_us = [&](auto&& body, std::vector<Value>& outs) {
    std::vector<double> t;
    body();  // warm up, allocating the outputs
    bind_outputs(outs);
    for (int rep = 0; rep < 15; ++rep) {
      auto start = std::chrono::steady_clock::now();
      for (int it = 0; it < 5; ++it) body();
      t.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / 5);
    }
    std::sort(t.begin(), t.end());
    return t[t.size() / 2];
  };
  std::vector<Value> fast_out(c.outputs), ref_out(c.outputs);
  double fast = median_us(
      [&] {
        OpContext ctx(n, c.opset, fed_ptrs.data(), fed_ptrs.size(), fast_out.data(), fast_out.size(), c.threads, nullptr);
        k->run(ctx);
      },
      fast_out);
  double ref = median_us(
      [&] {
        OpContext ctx(n, c.opset, ptrs.data(), ptrs.size(), ref_out.data(), ref_out.size(), 1, nullptr);
        schema->compute(ctx);
      },
      ref_out);
  std::printf("[ timing   ] %-48s %-28s threads %d: fast %9.1f us (%6.2f GB/s), reference %10.1f us, %6.1fx\n",
              what.c_str(), k->name().c_str(), c.threads, fast, bytes / fast * 1e-3, ref, ref / fast);
}

}  // namespace hone::test
