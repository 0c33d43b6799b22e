// The pooling and LRN kernels (src/kernels/cpu/pool_kernels.cc) against the reference kernels they replace: one node
// at a time, over channel counts and sizes around vector widths (1, 3, 15, 16, 17, 33, 64; 1, 7, 8, 9, 17), every
// combination of kernel, stride, dilation, pads, auto_pad, ceil_mode and count_include_pad, in both layouts (the
// channels-last input built here by permuting, the result permuted back), every ISA tier for the own loops, with a
// fixed seed. Pooling inputs are multiples of 1/8, so sums are exact and a wrong tap or divisor shows as a real
// difference. Cases a kernel refuses must stay on the reference, and the common ones must be claimed.
#include <gtest/gtest.h>
#include <omp.h>

#include <chrono>
#include <cmath>
#include <random>

#include "hone/hone.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/norm_microkernels.h"
#include "runtime/kernel.h"

namespace hone {
namespace {

Tensor random_tensor(const Shape& shape, std::mt19937& rng, bool eighths = true) {
  Tensor t(DType::Float32, shape);
  std::uniform_int_distribution<int> q(-16, 16);
  std::uniform_real_distribution<float> f(-1.f, 1.f);
  for (float& v : t.span<float>()) v = eighths ? static_cast<float>(q(rng)) / 8.f : f(rng);
  return t;
}

// N,C,H,W <-> N,H,W,C bytes (the logical shape stays [N,C,H,W]).
Tensor permute(const Tensor& x, bool to_channels_last) {
  Tensor y(DType::Float32, x.shape());
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t p = 0; p < hw; ++p) {
        int64_t plain = (b * c + ch) * hw + p, last = (b * hw + p) * c + ch;
        if (to_channels_last) py[last] = px[plain];
        else py[plain] = px[last];
      }
  return y;
}

struct OneNode {
  Node node;
  int64_t opset = 19;
  std::vector<Tensor> inputs;
};

OneNode one_node(const std::string& op, int64_t opset, Tensor x, std::vector<Attribute> attrs, size_t outputs = 1) {
  OneNode c;
  c.node.op_type = op;
  c.node.name = "n";
  c.node.inputs = {"x"};
  c.node.attributes = std::move(attrs);
  for (size_t i = 0; i < outputs; ++i) c.node.outputs.push_back("y" + std::to_string(i));
  c.opset = opset;
  c.inputs = {std::move(x)};
  return c;
}

std::vector<Value> run_with(const OneNode& c, const std::vector<Tensor>& inputs,
                            const std::function<void(OpContext&)>& compute, int threads = 1) {
  std::vector<Value> vals;
  for (const Tensor& t : inputs) vals.push_back(Value::of(t));
  std::vector<const Value*> ptrs;
  for (const Value& v : vals) ptrs.push_back(&v);
  std::vector<Value> out(c.node.outputs.size());
  OpContext ctx(c.node, c.opset, ptrs.data(), ptrs.size(), out.data(), out.size(), threads, nullptr);
  compute(ctx);
  return out;
}

const OpSchema& schema(const OneNode& c) {
  const OpSchema* s = OpRegistry::instance().find("", c.node.op_type, c.opset);
  if (!s) throw std::runtime_error("no schema");
  return *s;
}

// The reference's output 0, or an undefined tensor when the reference rejects the node.
Tensor run_reference(const OneNode& c) {
  try {
    return run_with(c, c.inputs, schema(c).compute)[0].tensor;
  } catch (const Error&) {
    return {};
  }
}

// The query the planner would build (every input fed, none constant).
struct Query {
  std::vector<TypeInfo> types;
  std::unique_ptr<KernelQuery> q;
};
Query make_query(const OneNode& c) {
  Query st;
  for (const Tensor& t : c.inputs) st.types.push_back(TypeInfo::tensor(DType::Float32, to_sym_shape(t.shape())));
  st.q = std::make_unique<KernelQuery>(KernelQuery{c.node, c.opset, {}, {}, {}, 1});
  for (const TypeInfo& t : st.types) {
    st.q->input_types.push_back(&t);
    st.q->input_constants.push_back(nullptr);
  }
  return st;
}

// The fast factory the planner would pick (null: the reference).
const KernelFactory* fast_factory(const OneNode& c) { return KernelRegistry::instance().best(*make_query(c).q); }

// Runs the fast kernel created through its factory in `layout` (permuting rank-4 inputs and outputs for channels-last).
Tensor run_fast(const OneNode& c, const KernelFactory& f, Layout layout, int threads, std::string* kernel_name = nullptr) {
  Query st = make_query(c);
  st.q->layout = layout;
  st.q->threads = threads;
  std::unique_ptr<Kernel> k = f.create(*st.q);
  if (kernel_name) *kernel_name = k->name();
  bool cl = layout == Layout::ChannelsLast;
  std::vector<Tensor> in;
  for (const Tensor& t : c.inputs) in.push_back(cl && t.rank() == 4 ? permute(t, true) : t);
  Tensor y = run_with(c, in, [&](OpContext& ctx) { k->run(ctx); }, threads)[0].tensor;
  return cl && y.rank() == 4 ? permute(y, false) : y;
}

::testing::AssertionResult close(const Tensor& want, const Tensor& got, double rtol, double atol) {
  if (want.shape() != got.shape())
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double w = want.data<float>()[i], g = got.data<float>()[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)))
      return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs reference " << w;
  }
  return ::testing::AssertionSuccess();
}

// Whether the fast kernel claimed the node; if so it must match the reference in both layouts (channels-last where
// its factory accepts it, which it must for rank 4) with 1 and 2 threads.
bool check_fast(const OneNode& c, const std::string& want_kernel, const std::string& what, double rtol = 1e-6,
                double atol = 1e-6, const std::string& want_channels_last_kernel = "") {
  SCOPED_TRACE(what);
  Tensor want = run_reference(c);
  const KernelFactory* f = fast_factory(c);
  if (!f) return false;
  EXPECT_TRUE(want.defined()) << "the fast kernel claims a node the reference rejects";
  if (!want.defined()) return true;
  std::string name;
  for (int threads : {1, 2}) {
    EXPECT_TRUE(close(want, run_fast(c, *f, Layout::Plain, threads, &name), rtol, atol)) << "plain, threads " << threads;
    EXPECT_EQ(name, want_kernel);
  }
  if (c.inputs[0].rank() == 4) {
    Query st = make_query(c);
    EXPECT_TRUE(f->channels_last && f->channels_last(*st.q)) << "rank 4 must run channels-last too";
    if (f->channels_last && f->channels_last(*st.q))
      for (int threads : {1, 2}) {
        EXPECT_TRUE(close(want, run_fast(c, *f, Layout::ChannelsLast, threads, &name), rtol, atol))
            << "channels-last, threads " << threads;
        EXPECT_EQ(name, want_channels_last_kernel.empty() ? want_kernel : want_channels_last_kernel);
      }
  } else if (f->channels_last) {
    EXPECT_FALSE(f->channels_last(*make_query(c).q)) << "channels-last is for rank 4 only";
  }
  return true;
}

// ---------------------------------------------------------------------------------------------------- pooling

struct PoolCase {
  int64_t k = 3, s = 1, d = 1;
  std::vector<int64_t> pads;  // begins then ends, per spatial dim
  std::string auto_pad;
  bool ceil = false, include_pad = false;
};

std::vector<Attribute> pool_attrs(const PoolCase& p, size_t nd) {
  std::vector<Attribute> a = {Attribute::of_ints("kernel_shape", std::vector<int64_t>(nd, p.k)),
                              Attribute::of_ints("strides", std::vector<int64_t>(nd, p.s))};
  if (p.d != 1) a.push_back(Attribute::of_ints("dilations", std::vector<int64_t>(nd, p.d)));
  if (!p.pads.empty()) a.push_back(Attribute::of_ints("pads", p.pads));
  if (!p.auto_pad.empty()) a.push_back(Attribute::of_string("auto_pad", p.auto_pad));
  if (p.ceil) a.push_back(Attribute::of_int("ceil_mode", 1));
  if (p.include_pad) a.push_back(Attribute::of_int("count_include_pad", 1));
  return a;
}

std::string pool_str(const std::string& op, const Shape& x, const PoolCase& p) {
  return fmt::format("{} x[{}] k{} s{} d{} pads[{}] {} ceil{} include_pad{}", op, shape_str(x), p.k, p.s, p.d,
                     shape_str(p.pads), p.auto_pad, p.ceil, p.include_pad);
}

// Every window/pad combination on 2-D inputs, channels and sizes cycling through the boundary values.
TEST(PoolKernels, MatchReferenceOverEveryAttributeCombination) {
  std::mt19937 rng(7);
  const int64_t channels[] = {1, 3, 15, 16, 17, 33, 64};
  const int64_t sizes[] = {1, 7, 8, 9, 17};
  const std::vector<std::vector<int64_t>> pad_sets = {{}, {1, 1, 1, 1}, {0, 1, 1, 0}, {1, 0, 0, 1}, {2, 2, 2, 2}};
  const char* auto_pads[] = {"", "SAME_UPPER", "SAME_LOWER", "VALID"};
  int v = 0, claimed[2] = {0, 0}, total[2] = {0, 0};
  for (bool average : {false, true})
    for (int64_t k : {1, 2, 3})
      for (int64_t s : {1, 2, 3})
        for (int64_t d : {1, 2})
          for (size_t pi = 0; pi < pad_sets.size() + 3; ++pi)
            for (bool ceil : {false, true})
              for (bool include : {false, true}) {
                if (!average && include) continue;
                PoolCase p{k, s, d};
                if (pi < pad_sets.size()) p.pads = pad_sets[pi];
                else p.auto_pad = auto_pads[pi - pad_sets.size() + 1];
                p.ceil = ceil;
                p.include_pad = include;
                ++v;
                int64_t h = sizes[v % 5], w = sizes[(v / 5 + v) % 5];
                Shape x = {v % 7 == 3 ? 2 : 1, channels[v % 7], h, w};
                const char* op = average ? "AveragePool" : "MaxPool";
                OneNode c = one_node(op, 19, random_tensor(x, rng), pool_attrs(p, 2));
                ++total[average];
                if (check_fast(c, average ? "dnnl-avgpool-f32" : "dnnl-maxpool-f32", pool_str(op, x, p)))
                  ++claimed[average];
              }
  // Claims are checked case by case below; here only that the sweep exercised the kernels broadly.
  EXPECT_GE(claimed[0], total[0] * 6 / 10) << claimed[0] << " of " << total[0];
  EXPECT_GE(claimed[1], total[1] * 5 / 10) << claimed[1] << " of " << total[1];
}

// The shapes real networks use, over every channel count and size: these must be claimed.
TEST(PoolKernels, CommonShapesAreClaimedAndMatch) {
  std::mt19937 rng(11);
  const std::vector<std::pair<std::string, PoolCase>> cases = {
      {"MaxPool", {3, 2, 1, {1, 1, 1, 1}}},               // ResNet stem
      {"MaxPool", {2, 2, 1, {}}},                         // VGG
      {"MaxPool", {3, 2, 1, {}, "", true}},               // GoogLeNet / SqueezeNet ceil_mode
      {"MaxPool", {3, 1, 1, {}, "SAME_UPPER"}},           // TF exports
      {"MaxPool", {3, 1, 2, {2, 2, 2, 2}}},               // dilated
      {"AveragePool", {3, 1, 1, {1, 1, 1, 1}}},           // Inception, exclude pads
      {"AveragePool", {3, 1, 1, {1, 1, 1, 1}, "", false, true}},
      {"AveragePool", {2, 2, 1, {}}},
      {"AveragePool", {3, 2, 1, {}, "", true, true}},     // ceil with no pads: include == exclude
      {"AveragePool", {3, 2, 1, {0, 0, 0, 0}, "", true, false}},
      {"AveragePool", {3, 2, 1, {}, "SAME_LOWER", false, true}},
  };
  for (const auto& [op, p] : cases)
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64})
      for (int64_t s : {7, 8, 9, 17}) {
        Shape x = {c == 3 ? 2 : 1, c, s, s == 17 ? 9 : s};
        OneNode node = one_node(op, 19, random_tensor(x, rng), pool_attrs(p, 2));
        EXPECT_TRUE(check_fast(node, op == "MaxPool" ? "dnnl-maxpool-f32" : "dnnl-avgpool-f32", pool_str(op, x, p)))
            << "not claimed: " << pool_str(op, x, p);
      }
}

TEST(PoolKernels, Ranks3And5StayPlain) {
  std::mt19937 rng(3);
  for (const char* op : {"MaxPool", "AveragePool"})
    for (size_t nd : {1, 3})
      for (int64_t c : {1, 16, 17}) {
        PoolCase p{3, 2, 1, std::vector<int64_t>(2 * nd, 1)};
        p.include_pad = std::string(op) == "AveragePool" && c == 16;
        Shape x = {1, c};
        for (size_t i = 0; i < nd; ++i) x.push_back(nd == 1 ? 17 : 7 + static_cast<int64_t>(i));
        OneNode node = one_node(op, 19, random_tensor(x, rng), pool_attrs(p, nd));
        EXPECT_TRUE(check_fast(node, std::string(op) == "MaxPool" ? "dnnl-maxpool-f32" : "dnnl-avgpool-f32",
                               pool_str(op, x, p)));
      }
}

// Older opsets (no dilations or ceil_mode attributes yet) use the same kernels.
TEST(PoolKernels, OldOpsetsAreClaimed) {
  std::mt19937 rng(5);
  for (int64_t opset : {1, 7, 8, 10, 11, 12, 22}) {
    PoolCase p{3, 2, 1, {1, 1, 1, 1}};
    OneNode mx = one_node("MaxPool", opset, random_tensor({1, 8, 9, 9}, rng), pool_attrs(p, 2));
    EXPECT_TRUE(check_fast(mx, "dnnl-maxpool-f32", fmt::format("MaxPool opset {}", opset)));
    OneNode av = one_node("AveragePool", opset, random_tensor({1, 8, 9, 9}, rng), pool_attrs(p, 2));
    EXPECT_TRUE(check_fast(av, "dnnl-avgpool-f32", fmt::format("AveragePool opset {}", opset)));
  }
}

TEST(PoolKernels, RefusesWhatOneDnnCannotMatch) {
  std::mt19937 rng(9);
  // MaxPool asked for Indices.
  OneNode idx = one_node("MaxPool", 12, random_tensor({1, 4, 8, 8}, rng), pool_attrs({2, 2}, 2), 2);
  EXPECT_EQ(fast_factory(idx), nullptr);
  // ...but an omitted Indices output is fine.
  idx.node.outputs[1] = "";
  EXPECT_NE(fast_factory(idx), nullptr);
  // count_include_pad with ceil_mode windows reaching past the end pads: ONNX leaves that padding out of the divisor.
  PoolCase p{3, 2, 1, {1, 1, 1, 1}, "", true, true};
  OneNode avg = one_node("AveragePool", 19, random_tensor({1, 4, 8, 8}, rng), pool_attrs(p, 2));
  EXPECT_EQ(fast_factory(avg), nullptr);
  EXPECT_TRUE(run_reference(avg).defined());
  // A window that sees only padding.
  OneNode empty = one_node("MaxPool", 19, random_tensor({1, 4, 1, 1}, rng), pool_attrs({3, 1, 2, {1, 1, 1, 1}}, 2));
  EXPECT_EQ(fast_factory(empty), nullptr);
  // Other element types and unknown shapes.
  OneNode f64 = one_node("MaxPool", 19, Tensor(DType::Float64, {1, 4, 8, 8}), pool_attrs({2, 2}, 2));
  Query st = make_query(f64);
  st.types[0] = TypeInfo::tensor(DType::Float64, to_sym_shape(Shape{1, 4, 8, 8}));
  EXPECT_EQ(KernelRegistry::instance().best(*st.q), nullptr);
  OneNode sym = one_node("MaxPool", 19, random_tensor({1, 4, 8, 8}, rng), pool_attrs({2, 2}, 2));
  Query ss = make_query(sym);
  (*ss.types[0].shape)[0] = Dim();
  EXPECT_EQ(KernelRegistry::instance().best(*ss.q), nullptr);
  // Invalid attributes stay with the reference, which reports them.
  OneNode bad = one_node("MaxPool", 19, random_tensor({1, 4, 2, 2}, rng), pool_attrs({5, 1}, 2));
  EXPECT_EQ(fast_factory(bad), nullptr);
}

// ---------------------------------------------------------------------------------------------------- global pooling

std::vector<Isa> tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}

TEST(GlobalPoolKernels, MatchReferenceOnEveryTier) {
  std::mt19937 rng(13);
  int ran = 0;
  for (Isa isa : tiers()) {
    ScopedIsaOverride force(isa);
    for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
      bool max = op == std::string("GlobalMaxPool");
      std::string want = std::string(max ? "f32_global_maxpool_" : "f32_global_avgpool_") + isa_name(isa);
      std::string want_cl = max ? "dnnl-global-maxpool-f32" : "dnnl-global-avgpool-f32";  // faster in that layout
      for (int64_t c : {1, 3, 15, 16, 17, 33, 64, 65, 130})
        for (Shape sp : {Shape{1, 1}, Shape{7, 7}, Shape{8, 8}, Shape{9, 9}, Shape{17, 17}, Shape{1, 17}, Shape{17, 1}}) {
          Shape x = {c == 17 ? 3 : 1, c, sp[0], sp[1]};
          OneNode node = one_node(op, 1, random_tensor(x, rng), {});
          EXPECT_TRUE(check_fast(node, want, fmt::format("{} {} x[{}]", isa_name(isa), op, shape_str(x)), 1e-6, 1e-6,
                                 want_cl));
          ++ran;
        }
      for (Shape x : {Shape{2, 17, 33}, Shape{1, 16, 1}, Shape{2, 5, 3, 4, 5}, Shape{1, 33, 2, 2, 2, 2}}) {
        OneNode node = one_node(op, 1, random_tensor(x, rng), {});
        EXPECT_TRUE(check_fast(node, want, fmt::format("{} {} x[{}]", isa_name(isa), op, shape_str(x))));
      }
      // Large enough to run on two threads, in both layouts.
      OneNode big = one_node(op, 1, random_tensor({2, 64, 56, 56}, rng), {});
      EXPECT_TRUE(check_fast(big, want, fmt::format("{} {} large", isa_name(isa), op), 1e-6, 1e-6, want_cl));
    }
  }
  EXPECT_GE(ran, 100);
}

// Float inputs: the sums are no longer exact; the reference adds in float one by one, the kernel in vector blocks.
TEST(GlobalPoolKernels, FloatInputsWithinTolerance) {
  std::mt19937 rng(17);
  OneNode node = one_node("GlobalAveragePool", 1, random_tensor({1, 2048, 7, 7}, rng, false), {});
  EXPECT_TRUE(check_fast(node, std::string("f32_global_avgpool_") + cpu::norm_for(active_isa()).isa, "resnet head", 1e-4,
                         1e-5, "dnnl-global-avgpool-f32"));
}

// ---------------------------------------------------------------------------------------------------- LRN

TEST(LrnKernel, MatchesReference) {
  std::mt19937 rng(19);
  int v = 0;
  for (int64_t size : {1, 3, 5, 7})
    for (int64_t c : {1, 3, 15, 16, 17, 33, 64, 96})
      for (int64_t s : {1, 7, 8, 9, 17}) {
        ++v;
        Shape x = {v % 5 == 0 ? 2 : 1, c, s, s == 9 ? 5 : s};
        float alpha = v % 2 ? 1e-4f : 0.5f, beta = v % 3 ? 0.75f : 0.5f + static_cast<float>(v % 4) * 0.25f;
        float bias = v % 4 ? 1.0f : 2.0f;
        OneNode node = one_node("LRN", 13, random_tensor(x, rng, false),
                                {Attribute::of_int("size", size), Attribute::of_float("alpha", alpha),
                                 Attribute::of_float("beta", beta), Attribute::of_float("bias", bias)});
        EXPECT_TRUE(check_fast(node, "dnnl-lrn-f32",
                               fmt::format("LRN x[{}] size {} alpha {} beta {} bias {}", shape_str(x), size, alpha,
                                           beta, bias),
                               1e-4, 1e-5));
      }
}

TEST(LrnKernel, OtherRanksAndRefusals) {
  std::mt19937 rng(23);
  for (Shape x : {Shape{2, 17, 9}, Shape{1, 16, 3, 4, 5}}) {
    OneNode node = one_node("LRN", 13, random_tensor(x, rng, false), {Attribute::of_int("size", 5)});
    check_fast(node, "dnnl-lrn-f32", "LRN x[" + shape_str(x) + "]", 1e-4, 1e-5);  // claimed where oneDNN can
  }
  // Even sizes: ONNX's window is lopsided, oneDNN's is not.
  OneNode even = one_node("LRN", 13, random_tensor({1, 8, 4, 4}, rng, false), {Attribute::of_int("size", 4)});
  EXPECT_EQ(fast_factory(even), nullptr);
  EXPECT_TRUE(run_reference(even).defined());
}

// ---------------------------------------------------------------------------------------------------- timing

// The best of 15 batches' mean time per run: the machine is shared, and the minimum is what the code can do.
double seconds_per_run(const std::function<void()>& f) {
  f();
  auto now = [] { return std::chrono::steady_clock::now(); };
  auto start = now();
  int reps = 1;
  for (f(); std::chrono::duration<double>(now() - start).count() < 0.01; ++reps) f();
  double best = 1e30;
  for (int batch = 0; batch < 15; ++batch) {
    auto b = now();
    for (int i = 0; i < reps; ++i) f();
    best = std::min(best, std::chrono::duration<double>(now() - b).count() / reps);
  }
  return best;
}

void time_node(const OneNode& c) {
  const KernelFactory* f = fast_factory(c);
  ASSERT_NE(f, nullptr);
  double ref = seconds_per_run([&] { run_with(c, c.inputs, schema(c).compute); });
  for (Layout layout : {Layout::Plain, Layout::ChannelsLast})
    for (int threads : {1, 2}) {
      Query st = make_query(c);
      st.q->layout = layout;
      st.q->threads = threads;
      omp_set_num_threads(threads);  // as a Session does at plan time: oneDNN sizes its thread team at creation
      std::unique_ptr<Kernel> k = f->create(*st.q);
      double fast = seconds_per_run([&] { run_with(c, c.inputs, [&](OpContext& ctx) { k->run(ctx); }, threads); });
      double gb = static_cast<double>(c.inputs[0].nbytes()) / fast / 1e9;
      printf("%-18s x[%s] %-13s threads %d: %s %8.1f us (%.1f GB/s in), reference %9.1f us (1 thread): %6.1fx\n",
             c.node.op_type.c_str(), shape_str(c.inputs[0].shape()).c_str(), layout_name(layout), threads,
             k->name().c_str(), fast * 1e6, gb, ref * 1e6, ref / fast);
    }
}

// Not run by default (timing is never asserted): --gtest_also_run_disabled_tests --gtest_filter='*PoolTiming*'.
TEST(PoolTiming, DISABLED_FastVersusReference) {
  std::mt19937 rng(1);
  time_node(one_node("MaxPool", 12, random_tensor({1, 64, 112, 112}, rng),
                     pool_attrs({3, 2, 1, {1, 1, 1, 1}}, 2)));
  time_node(one_node("GlobalAveragePool", 1, random_tensor({1, 2048, 7, 7}, rng), {}));
  // GlobalAveragePool as an AveragePool over the whole plane: oneDNN's pooling, for comparison with the own loop.
  time_node(one_node("AveragePool", 19, random_tensor({1, 2048, 7, 7}, rng), pool_attrs({7, 1}, 2)));
  time_node(one_node("LRN", 13, random_tensor({1, 96, 55, 55}, rng, false),
                     {Attribute::of_int("size", 5), Attribute::of_float("alpha", 1e-4f),
                      Attribute::of_float("beta", 0.75f), Attribute::of_float("bias", 1.0f)}));
}

}  // namespace
}  // namespace hone
