// The GEMV kernel (Gemm / MatMul with 1 to 4 rows against constant float32 weights) against the reference kernels,
// in every ISA tier, on 1 and 2 threads: K and N around the panel widths (1, 7, 15, 16, 17, 31, 33, 64, 100, 1000),
// every row count, transA and transB, alpha and beta, and every bias shape Gemm broadcasts (constant and fed).
// Inputs are multiples of 1/8 and alpha, beta powers of two, so every product and partial sum is exact in float and
// the kernel must match the reference bit for bit whatever its summation order.
#include <gtest/gtest.h>

#include <random>

#include "hone/hone.h"
#include "kernels/cpu/cpu_features.h"
#include "op_test_util.h"
#include "runtime/plan.h"

namespace hone {
namespace {

Tensor eighths(const Shape& shape, std::mt19937& rng) {
  Tensor t(DType::Float32, shape);
  std::uniform_int_distribution<int> q(-16, 16);
  for (float& v : t.span<float>()) v = static_cast<float>(q(rng)) / 8.f;
  return t;
}

std::vector<Isa> tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (best_isa() >= Isa::Avx2) t.push_back(Isa::Avx2);
  if (best_isa() >= Isa::Avx512) t.push_back(Isa::Avx512);
  return t;
}

// One node: inputs (undefined tensor: omitted), which are plan-time constants, and the attributes.
struct OneNode {
  std::string op;
  int64_t opset = 17;
  std::vector<Tensor> inputs;
  std::vector<bool> constant;
  std::vector<Attribute> attrs;
};

struct Outcome {
  std::string kernel;
  Tensor fast[2];  // on 1 and 2 threads
  Tensor reference;
};

// Chooses the kernel as the planner would (under `isa`), runs it on 1 and 2 threads and runs the reference kernel.
Outcome run_both(const OneNode& c, Isa isa) {
  ScopedIsaOverride force(isa);
  Node n;
  n.op_type = c.op;
  n.name = "n";
  n.attributes = c.attrs;
  std::vector<TypeInfo> types;
  types.reserve(c.inputs.size());
  std::vector<Value> values;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool present = c.inputs[i].defined();
    n.inputs.push_back(present ? "in" + std::to_string(i) : "");
    types.push_back(TypeInfo::tensor(DType::Float32, to_sym_shape(c.inputs[i].shape())));
    values.push_back(present ? Value::of(c.inputs[i]) : Value());
  }
  n.outputs = {"out"};
  KernelQuery q{n, c.opset, {}, {}, {TypeInfo::tensor(DType::Float32)}, 2};
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool present = c.inputs[i].defined();
    q.input_types.push_back(present ? &types[i] : nullptr);
    q.input_constants.push_back(present && c.constant[i] ? &c.inputs[i] : nullptr);
  }
  const OpSchema* schema = OpRegistry::instance().find("", c.op, c.opset);
  EXPECT_NE(schema, nullptr);
  std::unique_ptr<Kernel> k = KernelRegistry::instance().choose(q, *schema);
  std::vector<const Value*> ptrs;
  for (const Value& v : values) ptrs.push_back(&v);
  Outcome o;
  o.kernel = k->name();
  for (int threads : {1, 2}) {
    Value out;
    OpContext ctx(n, c.opset, ptrs.data(), ptrs.size(), &out, 1, threads, nullptr);
    k->run(ctx);
    o.fast[threads - 1] = out.tensor;
  }
  Value ref;
  OpContext ref_ctx(n, c.opset, ptrs.data(), ptrs.size(), &ref, 1, 1, nullptr);
  schema->compute(ref_ctx);
  o.reference = ref.tensor;
  return o;
}

::testing::AssertionResult same(const Tensor& want, const Tensor& got) {
  if (want.shape() != got.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    if (want.data<float>()[i] != got.data<float>()[i])
      return ::testing::AssertionFailure() << "element " << i << ": " << got.data<float>()[i] << " vs reference "
                                           << want.data<float>()[i];
  return ::testing::AssertionSuccess();
}

void expect_gemv_matches(const OneNode& c, Isa isa, const std::string& what) {
  SCOPED_TRACE(what + " isa " + isa_name(isa));
  Outcome o = run_both(c, isa);
  EXPECT_EQ(o.kernel, std::string("gemv-f32-") + isa_name(isa == Isa::Avx512Vnni ? Isa::Avx512 : isa));
  EXPECT_TRUE(same(o.reference, o.fast[0])) << "1 thread";
  EXPECT_TRUE(same(o.reference, o.fast[1])) << "2 threads";
}

const int64_t kSizes[] = {1, 7, 15, 16, 17, 31, 33, 64, 100, 1000};

TEST(KernelsGemv, GemmMatchesReferenceExactly) {
  std::mt19937 rng(7);
  int v = 0;
  for (int64_t k : kSizes)
    for (int64_t n : kSizes) {
      ++v;
      int64_t m = 1 + v % 4;
      bool ta = v % 5 == 4, tb = v % 2 == 1;
      float alpha = v % 3 == 0 ? 0.5f : v % 3 == 1 ? 1.f : 2.f;
      float beta = v % 4 == 0 ? 0.25f : v % 4 == 3 ? 0.f : 1.f;
      // C: none, [n], [1,n], [m,n], [m,1], [1], [] (a scalar); constant or fed.
      int c_kind = v % 7;
      bool c_fed = v % 3 == 2;
      OneNode c{.op = "Gemm"};
      c.attrs = {Attribute::of_int("transA", ta), Attribute::of_int("transB", tb), Attribute::of_float("alpha", alpha),
                 Attribute::of_float("beta", beta)};
      c.inputs = {eighths(ta ? Shape{k, m} : Shape{m, k}, rng), eighths(tb ? Shape{n, k} : Shape{k, n}, rng)};
      c.constant = {false, true};
      Shape cs[] = {{}, {n}, {1, n}, {m, n}, {m, 1}, {1}, {}};
      if (c_kind != 0) {
        c.inputs.push_back(eighths(cs[c_kind], rng));
        c.constant.push_back(!c_fed);
      }
      std::string what = fmt::format("M{} K{} N{} transA{} transB{} alpha{} beta{} C[{}]{}", m, k, n, ta, tb, alpha,
                                     beta, c_kind ? shape_str(cs[c_kind]) : "none", c_fed ? " fed" : "");
      for (Isa isa : tiers()) expect_gemv_matches(c, isa, what);
    }
}

TEST(KernelsGemv, MatMulMatchesReferenceExactly) {
  std::mt19937 rng(8);
  int v = 0;
  for (int64_t k : kSizes)
    for (int64_t n : kSizes) {
      ++v;
      // A as a vector, one row, up to 4 rows, and batch dims folded into rows.
      Shape as[] = {{k}, {1, k}, {3, k}, {2, 2, k}, {1, 1, k}, {4, 1, k}};
      OneNode c{.op = "MatMul", .opset = 13};
      c.inputs = {eighths(as[v % 6], rng), eighths({k, n}, rng)};
      c.constant = {false, true};
      std::string what = fmt::format("A[{}] B[{}x{}]", shape_str(as[v % 6]), k, n);
      for (Isa isa : tiers()) expect_gemv_matches(c, isa, what);
    }
}

TEST(KernelsGemv, LargeShapesSplitOverThreads) {
  // Enough weights for two threads (the kernel splits panels from 2^19 packed floats up), N not a panel multiple.
  std::mt19937 rng(9);
  for (Isa isa : tiers()) {
    OneNode fc{.op = "Gemm"};
    fc.attrs = {Attribute::of_int("transB", 1)};
    fc.inputs = {eighths({1, 1500}, rng), eighths({1001, 1500}, rng), eighths({1001}, rng)};
    fc.constant = {false, true, true};
    expect_gemv_matches(fc, isa, "fc 1x1500 by 1001x1500^T");
    OneNode mm{.op = "MatMul", .opset = 13};
    mm.inputs = {eighths({2, 700}, rng), eighths({700, 1111}, rng)};
    mm.constant = {false, true};
    expect_gemv_matches(mm, isa, "matmul 2x700 by 700x1111");
  }
}

TEST(KernelsGemv, RealValuedInputsWithinTolerance) {
  std::mt19937 rng(10);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  auto real = [&](const Shape& s) {
    Tensor t(DType::Float32, s);
    for (float& x : t.span<float>()) x = u(rng);
    return t;
  };
  for (Isa isa : tiers()) {
    OneNode c{.op = "Gemm"};
    c.attrs = {Attribute::of_int("transB", 1), Attribute::of_float("alpha", 0.3f), Attribute::of_float("beta", 1.7f)};
    c.inputs = {real({1, 2049}), real({333, 2049}), real({333})};
    c.constant = {false, true, true};
    Outcome o = run_both(c, isa);
    EXPECT_EQ(o.kernel.rfind("gemv-f32-", 0), 0u) << o.kernel;
    for (const Tensor& got : o.fast)
      for (int64_t i = 0; i < got.numel(); ++i) {
        float w = o.reference.data<float>()[i], g = got.data<float>()[i];
        EXPECT_NEAR(g, w, 1e-5 + 1e-4 * std::fabs(w)) << "element " << i << " isa " << isa_name(isa);
      }
  }
}

TEST(KernelsGemv, LeavesOtherCasesToOtherKernels) {
  std::mt19937 rng(11);
  auto kernel = [&](const OneNode& c) { return run_both(c, best_isa()).kernel; };
  // Five rows: a GEMM, not a GEMV.
  OneNode rows5{.op = "Gemm", .inputs = {eighths({5, 16}, rng), eighths({16, 8}, rng)}, .constant = {false, true}};
  EXPECT_EQ(kernel(rows5).rfind("gemv", 0), std::string::npos);
  // B fed at run time: nothing to pre-pack.
  OneNode fed_b{.op = "MatMul", .opset = 13, .inputs = {eighths({1, 16}, rng), eighths({16, 8}, rng)},
                .constant = {false, false}};
  EXPECT_EQ(kernel(fed_b).rfind("gemv", 0), std::string::npos);
  // Batched B.
  OneNode batched_b{.op = "MatMul", .opset = 13, .inputs = {eighths({1, 16}, rng), eighths({2, 16, 8}, rng)},
                    .constant = {false, true}};
  EXPECT_EQ(kernel(batched_b).rfind("gemv", 0), std::string::npos);
  // Opset 9 without C is an error the reference reports.
  OneNode no_c{.op = "Gemm", .opset = 9, .inputs = {eighths({1, 16}, rng), eighths({16, 8}, rng)},
               .constant = {false, true}};
  Node n;
  n.op_type = "Gemm";
  std::vector<TypeInfo> types = {TypeInfo::tensor(DType::Float32, to_sym_shape({1, 16})),
                                 TypeInfo::tensor(DType::Float32, to_sym_shape({16, 8}))};
  KernelQuery q{n, 9, {&types[0], &types[1]}, {nullptr, &no_c.inputs[1]}, {}, 1};
  const KernelFactory* f = KernelRegistry::instance().best(q);
  EXPECT_TRUE(f == nullptr || f->name.rfind("gemv", 0) == std::string::npos);
}

TEST(KernelsGemv, UnplannedShapeFallsBackToReference) {
  // A kernel planned for 1 row, run on 3: the reference kernel answers.
  std::mt19937 rng(12);
  OneNode c{.op = "Gemm", .inputs = {eighths({1, 40}, rng), eighths({40, 20}, rng)}, .constant = {false, true}};
  Node n;
  n.op_type = "Gemm";
  n.name = "n";
  n.inputs = {"a", "b"};
  n.outputs = {"y"};
  std::vector<TypeInfo> types = {TypeInfo::tensor(DType::Float32, to_sym_shape({1, 40})),
                                 TypeInfo::tensor(DType::Float32, to_sym_shape({40, 20}))};
  KernelQuery q{n, 17, {&types[0], &types[1]}, {nullptr, &c.inputs[1]}, {}, 1};
  const OpSchema* schema = OpRegistry::instance().find("", "Gemm", 17);
  std::unique_ptr<Kernel> k = KernelRegistry::instance().choose(q, *schema);
  ASSERT_EQ(k->name().rfind("gemv-f32-", 0), 0u);
  Value a = Value::of(eighths({3, 40}, rng)), b = Value::of(c.inputs[1]);
  const Value* ptrs[] = {&a, &b};
  Value fast, ref;
  OpContext fctx(n, 17, ptrs, 2, &fast, 1, 1, nullptr);
  k->run(fctx);
  OpContext rctx(n, 17, ptrs, 2, &ref, 1, 1, nullptr);
  schema->compute(rctx);
  EXPECT_TRUE(same(ref.tensor, fast.tensor));
}

TEST(KernelsGemv, SessionPlansItForBatchOneFullyConnected) {
  std::mt19937 rng(13);
  Tensor x = eighths({1, 300}, rng), w = eighths({50, 300}, rng), b = eighths({50}, rng);
  Model m = test::one_node_model({"Gemm", "", 17}, {x, test::constant(w), test::constant(b)},
                                 {Attribute::of_int("transB", 1)});
  Session s(std::move(m), {.threads = 1});
  const Plan& plan = s.plan_for({Value::of(x)});
  ASSERT_EQ(plan.steps.size(), 1u);
  EXPECT_EQ(plan.steps[0].kernel->name().rfind("gemv-f32-", 0), 0u) << plan.steps[0].kernel->name();
  std::vector<Tensor> out = s.run({{"in0", x}});
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].shape(), (Shape{1, 50}));
  for (int64_t j = 0; j < 50; ++j) {
    float want = b.data<float>()[j];
    for (int64_t kk = 0; kk < 300; ++kk) want += x.data<float>()[kk] * w.data<float>()[j * 300 + kk];
    EXPECT_EQ(out[0].data<float>()[j], want) << j;
  }
}

}  // namespace
}  // namespace hone
