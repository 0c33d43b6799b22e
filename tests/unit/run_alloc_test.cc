// A run with the same input shapes as the previous one allocates nothing (executor and fast kernels), when the
// outputs are written into the previous call's tensors (Session::run_into). oneDNN 2.6 allocates an argument map
// inside every primitive execution; those calls are marked (core/foreign_alloc.h) and not counted, nor are
// allocations on OpenMP worker threads.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <random>

#include "core/foreign_alloc.h"
#include "hone/hone.h"
#include "runtime/plan.h"

namespace {
std::atomic<bool> g_counting{false};
std::atomic<long> g_allocations{0};
thread_local bool t_counted_thread = false;  // the thread that runs the session
// Counts an allocation by the running thread outside oneDNN's own bookkeeping (see core/foreign_alloc.h).
void count() {
  if (g_counting.load(std::memory_order_relaxed) && t_counted_thread && hone::foreign_call_depth() == 0)
    g_allocations.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

// Counting replacements of the global allocation functions (this test binary only).
void* operator new(size_t n) {
  count();
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n) { return operator new(n); }
void* operator new(size_t n, std::align_val_t a) {
  count();
  size_t al = static_cast<size_t>(a);
  if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
  throw std::bad_alloc();
}
void* operator new[](size_t n, std::align_val_t a) { return operator new(n, a); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, size_t, std::align_val_t) noexcept { std::free(p); }

namespace hone {
namespace {

Tensor random_tensor(Shape s, std::mt19937& rng) {
  Tensor t(DType::Float32, std::move(s));
  std::uniform_real_distribution<float> d(-1.f, 1.f);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// conv-relu, maxpool, conv + residual, relu, global average pool, flatten, gemm, softmax: all on fast kernels.
Model small_cnn(std::mt19937& rng) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  Graph& g = m.graph;
  g.name = "cnn";
  g.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(8), Dim(16), Dim(16)}), ""});
  g.outputs.push_back({"y", TypeInfo::tensor(DType::Float32), ""});
  g.initializers["w1"] = random_tensor({16, 8, 3, 3}, rng);
  g.initializers["b1"] = random_tensor({16}, rng);
  g.initializers["w2"] = random_tensor({16, 16, 3, 3}, rng);
  g.initializers["wf"] = random_tensor({10, 16}, rng);
  g.initializers["bf"] = random_tensor({10}, rng);
  auto ints = [](const char* n, std::vector<int64_t> v) { return Attribute::of_ints(n, std::move(v)); };
  g.nodes.push_back({"c1", "Conv", "", {"x", "w1", "b1"}, {"a"}, {ints("pads", {1, 1, 1, 1})}, ""});
  g.nodes.push_back({"r1", "Relu", "", {"a"}, {"b"}, {}, ""});
  g.nodes.push_back({"p", "MaxPool", "", {"b"}, {"c"}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}, ""});
  g.nodes.push_back({"c2", "Conv", "", {"c", "w2"}, {"d"}, {ints("pads", {1, 1, 1, 1})}, ""});
  g.nodes.push_back({"add", "Add", "", {"d", "c"}, {"e"}, {}, ""});
  g.nodes.push_back({"r2", "Relu", "", {"e"}, {"f"}, {}, ""});
  g.nodes.push_back({"gap", "GlobalAveragePool", "", {"f"}, {"h"}, {}, ""});
  g.nodes.push_back({"fl", "Flatten", "", {"h"}, {"i"}, {}, ""});
  g.nodes.push_back({"fc", "Gemm", "", {"i", "wf", "bf"}, {"j"}, {Attribute::of_int("transB", 1)}, ""});
  g.nodes.push_back({"sm", "Softmax", "", {"j"}, {"y"}, {}, ""});
  return m;
}

// The same network quantized as `hone quantize` writes it (QDQ, per-channel int8 weights, uint8 activations), plus a
// squeeze-excitation gate: int8 convs (one with the residual), int8 MaxPool, QGlobalAveragePool, QMul, QMatMul, and
// the input's QuantizeLinear.
Model small_qdq_cnn(std::mt19937& rng) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 13}};
  Graph& g = m.graph;
  g.name = "qdq_cnn";
  g.inputs.push_back({"x", TypeInfo::tensor(DType::Float32, SymShape{Dim(1), Dim(8), Dim(16), Dim(16)}), ""});
  g.outputs.push_back({"y", TypeInfo::tensor(DType::Float32), ""});
  int next = 0;
  auto scalar = [&](DType t, double v) {
    std::string n = "c" + std::to_string(next++);
    Tensor c(t, {});
    c.set_double(0, v);
    g.initializers[n] = c;
    return n;
  };
  auto node = [&](const char* op, std::vector<std::string> in, std::vector<Attribute> a = {}) {
    std::string y = "v" + std::to_string(next++);
    g.nodes.push_back({y, op, "", std::move(in), {y}, std::move(a), ""});
    return y;
  };
  auto qdq = [&](const std::string& v, float s, int zp) {
    std::string q = node("QuantizeLinear", {v, scalar(DType::Float32, s), scalar(DType::UInt8, zp)});
    return node("DequantizeLinear", {q, scalar(DType::Float32, s), scalar(DType::UInt8, zp)});
  };
  auto weight = [&](Shape shape, int64_t axis) {
    Tensor q(DType::Int8, shape);
    std::uniform_int_distribution<int> d(-127, 127);
    for (int64_t i = 0; i < q.numel(); ++i) q.data<int8_t>()[i] = static_cast<int8_t>(d(rng));
    int64_t c = shape[static_cast<size_t>(axis)];
    Tensor s(DType::Float32, {c});
    for (int64_t i = 0; i < c; ++i) s.data<float>()[i] = 0.002f;
    std::string qn = "w" + std::to_string(next++), sn = "s" + std::to_string(next++), zn = "z" + std::to_string(next++);
    g.initializers[qn] = q;
    g.initializers[sn] = s;
    g.initializers[zn] = Tensor(DType::Int8, {c});
    return node("DequantizeLinear", {qn, sn, zn}, {Attribute::of_int("axis", axis)});
  };
  auto ints = [](const char* n, std::vector<int64_t> v) { return Attribute::of_ints(n, std::move(v)); };
  std::string x = qdq("x", 2.f / 255, 128);
  std::string a = qdq(node("Conv", {x, weight({16, 8, 3, 3}, 0)}, {ints("pads", {1, 1, 1, 1})}), 0.02f, 0);
  std::string c = qdq(node("MaxPool", {a}, {ints("kernel_shape", {2, 2}), ints("strides", {2, 2})}), 0.02f, 0);
  std::string d = qdq(node("Conv", {c, weight({16, 16, 3, 3}, 0)}, {ints("pads", {1, 1, 1, 1})}), 0.03f, 128);
  std::string f = qdq(node("Relu", {node("Add", {d, c})}), 0.02f, 0);
  std::string pooled = qdq(node("GlobalAveragePool", {f}), 0.01f, 0);
  std::string gate = node("Sigmoid", {node("Conv", {pooled, weight({16, 16, 1, 1}, 0)})});
  std::string gated = qdq(node("Mul", {f, gate}), 0.02f, 0);
  std::string h = qdq(node("GlobalAveragePool", {gated}), 0.01f, 0);
  std::string i = qdq(node("Flatten", {h}), 0.01f, 0);
  std::string j = node("Gemm", {i, weight({10, 16}, 0)}, {Attribute::of_int("transB", 1)});
  g.nodes.push_back({"sm", "Softmax", "", {j}, {"y"}, {}, ""});
  return m;
}

TEST(RunAllocations, SteadyStateRunsAllocateNothing) {
  t_counted_thread = true;
  for (int threads : {1, 2})
  for (bool quantized : {false, true}) {
    SCOPED_TRACE(threads);
    SCOPED_TRACE(quantized ? "QDQ" : "float");
    std::mt19937 rng(3);
    Session s(quantized ? small_qdq_cnn(rng) : small_cnn(rng), {.threads = threads});
    std::vector<Value> in = {Value::of(random_tensor({1, 8, 16, 16}, rng))};
    std::vector<Value> out;
    s.run_into(in, out);  // plans, allocates the arena and the outputs
    s.run_into(in, out);
    const Plan& p = s.plan_for(in);
    for (const PlanStep& st : p.steps) EXPECT_NE(st.kernel->name(), "reference") << st.node->op_type;
    std::vector<Value> expected = s.run_values(in);
    g_allocations = 0;
    g_counting = true;
    for (int i = 0; i < 5; ++i) s.run_into(in, out);
    g_counting = false;
    EXPECT_EQ(g_allocations.load(), 0);
    // And the in-place results are the results.
    ASSERT_EQ(out.size(), 1u);
    for (int64_t k = 0; k < out[0].tensor.numel(); ++k)
      EXPECT_FLOAT_EQ(out[0].tensor.data<float>()[k], expected[0].tensor.data<float>()[k]);
    // Counting works at all: a run into fresh outputs allocates them.
    std::vector<Value> fresh;
    g_allocations = 0;
    g_counting = true;
    s.run_into(in, fresh);
    g_counting = false;
    EXPECT_GT(g_allocations.load(), 0);
  }
}

}  // namespace
}  // namespace hone
