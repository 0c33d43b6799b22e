// Shared by the int8 kernel tests (kernels_quantize_test.cc, kernels_int8_test.cc): plan one node of any domain under
// a forced ISA tier and layout, run the chosen kernel and the op's reference kernel on the same inputs, and compare
// 8-bit results in quantization steps. Channels-last feeds rank-4 activations of any element type (float32, uint8,
// int8) stored N,H,W,C and reads rank-4 outputs back from N,H,W,C, as the planner would.
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "hone/hone.h"
#include "kernels/cpu/cpu_features.h"
#include "runtime/kernel.h"

namespace hone::test {

// N,C,H,W <-> N,H,W,C for a rank-4 tensor of any element size.
inline Tensor permute_any(const Tensor& t, bool to_channels_last) {
  Tensor r(t.dtype(), t.shape());
  const Shape& s = t.shape();
  int64_t n = s[0], c = s[1], hw = s[2] * s[3];
  size_t es = dtype_size(t.dtype());
  const char* p = static_cast<const char*>(t.raw());
  char* q = static_cast<char*>(r.raw());
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < hw; ++i) {
        int64_t plain = (b * c + ch) * hw + i, last = (b * hw + i) * c + ch;
        if (to_channels_last) std::memcpy(q + last * es, p + plain * es, es);
        else std::memcpy(q + plain * es, p + last * es, es);
      }
  return r;
}

inline Tensor random_u8(const Shape& s, uint32_t seed, int lo = 0, int hi = 255) {
  Tensor t(DType::UInt8, s);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(d(rng));
  return t;
}
inline Tensor random_s8(const Shape& s, uint32_t seed, int lo = -128, int hi = 127) {
  Tensor t(DType::Int8, s);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
  return t;
}
inline Tensor random_q8(DType type, const Shape& s, uint32_t seed) {
  return type == DType::UInt8 ? random_u8(s, seed) : random_s8(s, seed);
}
inline Tensor random_floats(const Shape& s, uint32_t seed, float lo, float hi) {
  Tensor t(DType::Float32, s);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

struct Int8Case {
  std::string domain = "hone";
  std::string op;
  int64_t opset = 1;
  std::vector<Tensor> inputs;
  std::vector<bool> constant;  // per input
  std::vector<bool> omitted;   // per input: left unnamed (an optional input not given)
  std::vector<Attribute> attrs;
  int threads = 1;
  Layout layout = Layout::Plain;
};

struct Int8Outcome {
  std::string kernel;  // "declined" when channels-last was asked and refused; "reference" when no fast kernel
  const Kernel* fast_kernel = nullptr;
  std::unique_ptr<Kernel> owned;
  Tensor fast, reference;
};

inline Int8Outcome run_int8_case(const Int8Case& c, Isa isa) {
  ScopedIsaOverride force(isa);
  Node n;
  n.domain = c.domain;
  n.op_type = c.op;
  n.name = "n";
  n.attributes = c.attrs;
  n.outputs = {"y"};
  std::vector<TypeInfo> types(c.inputs.size());
  std::vector<Value> plain;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool omitted = i < c.omitted.size() && c.omitted[i];
    n.inputs.push_back(omitted ? "" : "in" + std::to_string(i));
    types[i] = TypeInfo::tensor(c.inputs[i].dtype(), to_sym_shape(c.inputs[i].shape()));
    plain.push_back(omitted ? Value{} : Value::of(c.inputs[i]));
  }
  const OpSchema* schema = OpRegistry::instance().find(c.domain, c.op, c.opset);
  Int8Outcome o;
  if (!schema) {
    ADD_FAILURE() << "no schema for " << c.op;
    return o;
  }
  std::vector<const Value*> ptrs;
  for (const Value& v : plain) ptrs.push_back(&v);
  std::vector<Value> ref_out(1);
  OpContext rc(n, c.opset, ptrs.data(), ptrs.size(), ref_out.data(), 1, 1, nullptr);
  schema->compute(rc);
  o.reference = ref_out[0].tensor;

  KernelQuery q{n, c.opset, {}, {}, {}, c.threads};
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool omitted = i < c.omitted.size() && c.omitted[i];
    q.input_types.push_back(omitted ? nullptr : &types[i]);
    q.input_constants.push_back(!omitted && i < c.constant.size() && c.constant[i] ? &c.inputs[i] : nullptr);
  }
  q.output_types.push_back(TypeInfo::tensor(o.reference.dtype(), to_sym_shape(o.reference.shape())));
  const KernelFactory* f = KernelRegistry::instance().best(q);
  if (c.layout == Layout::ChannelsLast) {
    q.layout = Layout::ChannelsLast;
    if (!f || !f->channels_last || !f->channels_last(q)) {
      o.kernel = "declined";
      return o;
    }
  }
  o.owned = KernelRegistry::instance().choose(q, *schema);
  o.fast_kernel = o.owned.get();
  o.kernel = o.owned->name();
  std::vector<Value> fed;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool nhwc = c.layout == Layout::ChannelsLast && q.input_types[i] && !q.input_constants[i] &&
                is_layout_tensor(q.input_types[i]);
    fed.push_back(!q.input_types[i] ? Value{} : Value::of(nhwc ? permute_any(c.inputs[i], true) : c.inputs[i]));
  }
  std::vector<const Value*> fptrs;
  for (const Value& v : fed) fptrs.push_back(&v);
  std::vector<Value> out(1);
  OpContext fc(n, c.opset, fptrs.data(), fptrs.size(), out.data(), 1, c.threads, nullptr);
  o.owned->run(fc);
  bool nhwc = c.layout == Layout::ChannelsLast && is_layout_tensor(&q.output_types[0]);
  o.fast = nhwc ? permute_any(out[0].tensor, false) : out[0].tensor;
  return o;
}

// 8-bit results within `max_steps` quantization steps everywhere and identical in at least `min_exact` of the
// elements; float32 results within `tol` * (1 + |reference|).
inline void expect_close_q8(const Int8Outcome& o, const std::string& what, int max_steps = 1, double min_exact = 0.98,
                            double tol = 1e-4) {
  ASSERT_EQ(o.fast.dtype(), o.reference.dtype()) << what;
  ASSERT_EQ(o.fast.shape(), o.reference.shape()) << what;
  int64_t exact = 0, bad = 0;
  for (int64_t i = 0; i < o.fast.numel(); ++i) {
    if (o.fast.dtype() == DType::Float32) {
      float f = o.fast.data<float>()[i], r = o.reference.data<float>()[i];
      bool ok = std::fabs(f - r) <= tol * (1 + std::fabs(r));
      exact += f == r;
      if (!ok && ++bad <= 5) ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r;
    } else {
      int64_t f = o.fast.get_int(i), r = o.reference.get_int(i);
      exact += f == r;
      if (std::llabs(f - r) > max_steps && ++bad <= 5)
        ADD_FAILURE() << what << " [" << i << "]: fast " << f << " reference " << r;
    }
  }
  if (o.fast.dtype() != DType::Float32 && o.fast.numel() > 0)
    EXPECT_GE(static_cast<double>(exact) / static_cast<double>(o.fast.numel()), min_exact)
        << what << ": " << exact << " of " << o.fast.numel() << " exact";
}

inline void expect_identical(const Int8Outcome& o, const std::string& what) {
  ASSERT_EQ(o.fast.dtype(), o.reference.dtype()) << what;
  ASSERT_EQ(o.fast.shape(), o.reference.shape()) << what;
  ASSERT_EQ(o.fast.nbytes(), o.reference.nbytes());
  int bad = 0;
  const auto* f = static_cast<const uint8_t*>(o.fast.raw());
  const auto* r = static_cast<const uint8_t*>(o.reference.raw());
  size_t es = dtype_size(o.fast.dtype());
  for (int64_t i = 0; i < o.fast.numel() && bad < 5; ++i)
    if (std::memcmp(f + i * es, r + i * es, es) != 0) {
      ++bad;
      ADD_FAILURE() << what << " [" << i << "]: fast " << o.fast.get_double(i) << " reference "
                    << o.reference.get_double(i);
    }
}

inline Tensor f32_scalar(float v) {
  Tensor t(DType::Float32, {});
  t.data<float>()[0] = v;
  return t;
}
inline Tensor q8_scalar(DType type, int v) {
  Tensor t(type, {});
  if (type == DType::UInt8) t.data<uint8_t>()[0] = static_cast<uint8_t>(v);
  else t.data<int8_t>()[0] = static_cast<int8_t>(v);
  return t;
}

}  // namespace hone::test
