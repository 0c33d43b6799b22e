// Kernel microbenchmarks: one ONNX node at a time (large GEMMs, ResNet-50 convolutions, MobileNet-style depthwise
// convolutions, batch-1 fully connected layers), each run through hone::Session as users run it, on 1 and 2
// threads (the Session's thread option). Every result is read against this machine's roofline, measured in the same
// process before the first benchmark: bench/machine_probe's AVX-512 FMA loop of independent accumulators for the fp32
// peak and its streaming sum over 256 MiB of ordinary pages, and peak_probe's same sum over 2 MiB pages; the read
// bandwidth is the faster of the two. Compute-bound cases report GFLOP/s and % of the FMA peak on as many cores as
// threads, memory-bound ones GB/s of weights streamed and % of the read bandwidth.
//
// Rates come from the fastest iteration (best of N): on a shared machine other processes only ever slow a run
// down, and the peaks are best-of measurements too. The mean is reported beside it.
//
//   build/hone_microbench [--benchmark_filter=REGEX] [--benchmark_min_time=0.5]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "bench/machine_probe.h"
#include "hone/hone.h"
#include "kernels/cpu/dnnl_int8.h"
#include "kernels/cpu/dnnl_matmul.h"
#include "peak_probe.h"
#include "runtime/plan.h"

namespace {

using hone::DType;
using hone::Shape;
using hone::Tensor;

// ---------------------------------------------------------------------------------------------- the roofline

struct Roofline {
  double gflops[3] = {};  // by thread count (1, 2)
  double gbs[3] = {};
};
Roofline g_peak;

// The best of a few rounds of each probe: on a shared machine a probe only ever reads low.
void measure_roofline() {
  hone::MachinePeaks one, two;
  hone::bench::HugePageRead huge_one, huge_two;
  for (int round = 0; round < 3; ++round) {
    hone::MachinePeaks o = hone::measure_machine(1), t = hone::measure_machine(2);
    hone::bench::HugePageRead ho = hone::bench::measure_huge_page_read(1), ht = hone::bench::measure_huge_page_read(2);
    if (round == 0) one = o, two = t;
    one.peak_gflops_1thread = std::max(one.peak_gflops_1thread, o.peak_gflops_1thread);
    one.bandwidth_gbs = std::max(one.bandwidth_gbs, o.bandwidth_gbs);
    two.peak_gflops = std::max(two.peak_gflops, t.peak_gflops);
    two.bandwidth_gbs = std::max(two.bandwidth_gbs, t.bandwidth_gbs);
    if (ho.gbs > huge_one.gbs) huge_one = ho;
    if (ht.gbs > huge_two.gbs) huge_two = ht;
  }
  g_peak.gflops[1] = one.peak_gflops_1thread;
  g_peak.gflops[2] = two.peak_gflops;
  g_peak.gbs[1] = std::max(one.bandwidth_gbs, huge_one.gbs);
  g_peak.gbs[2] = std::max(two.bandwidth_gbs, huge_two.gbs);
  std::printf("Measured peaks, best of 3 rounds (%s, %s FMA loop; sum over 256 MiB):\n",
              hone::cpu_model_name().c_str(), one.isa.c_str());
  std::printf("  fp32 FMA peak: %.1f GFLOP/s on 1 core, %.1f on 2\n", g_peak.gflops[1], g_peak.gflops[2]);
  std::printf("  read, 4 KiB pages: %.1f GB/s on 1 core, %.1f on 2\n", one.bandwidth_gbs, two.bandwidth_gbs);
  std::printf("  read, 2 MiB pages (%.0f%% of the buffer on huge pages): %.1f GB/s on 1 core, %.1f on 2\n",
              100 * huge_one.huge_fraction, huge_one.gbs, huge_two.gbs);
  std::printf("  %%bw below is against the faster read: %.1f GB/s on 1 core, %.1f on 2\n\n", g_peak.gbs[1],
              g_peak.gbs[2]);
  benchmark::AddCustomContext("peak_gflops_1t", std::to_string(g_peak.gflops[1]));
  benchmark::AddCustomContext("peak_gflops_2t", std::to_string(g_peak.gflops[2]));
  benchmark::AddCustomContext("read_gbs_4k_pages_1t", std::to_string(one.bandwidth_gbs));
  benchmark::AddCustomContext("read_gbs_4k_pages_2t", std::to_string(two.bandwidth_gbs));
  benchmark::AddCustomContext("read_gbs_2m_pages_1t", std::to_string(huge_one.gbs));
  benchmark::AddCustomContext("read_gbs_2m_pages_2t", std::to_string(huge_two.gbs));
}

// ------------------------------------------------------------------------------------------ one-node models

Tensor random_tensor(const Shape& shape, uint32_t seed) {
  Tensor t(DType::Float32, shape);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1.f, 1.f);
  for (float& v : t.span<float>()) v = u(rng);
  return t;
}

// One node whose input 0 is fed ("x") and whose other inputs are initializers (weights): what a plan sees inside a
// real model.
struct NodeCase {
  std::string op;
  std::vector<hone::Attribute> attrs;
  Shape x;
  std::vector<Shape> weights;
  double flops = 0;         // per run
  double weight_bytes = 0;  // per run (the memory-bound cases' traffic)
  bool memory_bound = false;
};

hone::Model one_node_model(const NodeCase& c) {
  hone::Model m;
  m.ir_version = 8;
  m.opset_import = {{"", 17}};
  hone::Graph& g = m.graph;
  g.name = "microbench";
  hone::Node n;
  n.op_type = c.op;
  n.name = "node";
  n.attributes = c.attrs;
  n.inputs = {"x"};
  n.outputs = {"y"};
  g.inputs.push_back({"x", hone::TypeInfo::tensor(DType::Float32, hone::to_sym_shape(c.x)), ""});
  for (size_t i = 0; i < c.weights.size(); ++i) {
    std::string name = "w" + std::to_string(i);
    n.inputs.push_back(name);
    g.initializers[name] = random_tensor(c.weights[i], static_cast<uint32_t>(7 + i));
  }
  g.outputs.push_back({"y", hone::TypeInfo{}, ""});
  g.nodes.push_back(std::move(n));
  return m;
}

using Clock = std::chrono::steady_clock;

// Times `run` once per iteration (manual time), then reports rates from the fastest iteration against the roofline
// for `threads`.
template <typename Run>
double time_iterations(benchmark::State& state, const NodeCase& c, int threads, Run run) {
  double best = std::numeric_limits<double>::infinity(), total = 0;
  for (auto _ : state) {
    auto t0 = Clock::now();
    run();
    double s = std::chrono::duration<double>(Clock::now() - t0).count();
    state.SetIterationTime(s);
    best = std::min(best, s);
    total += s;
  }
  if (state.iterations() == 0) return 0;
  double mean = total / static_cast<double>(state.iterations());
  state.counters["best_us"] = best * 1e6;
  double gflops = c.flops / best / 1e9;
  state.counters["GFLOP/s"] = gflops;
  if (c.memory_bound) {
    double gbs = c.weight_bytes / best / 1e9;
    state.counters["GB/s"] = gbs;
    state.counters["mean_GB/s"] = c.weight_bytes / mean / 1e9;
    state.counters["%bw"] = 100 * gbs / g_peak.gbs[threads];
  } else {
    state.counters["mean_GFLOP/s"] = c.flops / mean / 1e9;
    state.counters["%peak"] = 100 * gflops / g_peak.gflops[threads];
  }
  return mean;
}

// The node through hone::Session with `threads` (state.range(0)); the label names the kernels the plan chose. When
// the plan has more than one step (layout transforms around a channels-last convolution), the slowest step's share
// of the run is reported too (`main_step_share`, from the session's per-step profile).
void run_session(benchmark::State& state, const NodeCase& c) {
  int threads = static_cast<int>(state.range(0));
  hone::Session session(one_node_model(c), {.threads = threads});
  std::vector<std::pair<std::string, Tensor>> feeds = {{"x", random_tensor(c.x, 1)}};
  std::vector<Tensor> out = session.run(feeds);  // plans (packs the weights) and warms up
  const hone::Plan& plan = session.plan_for({hone::Value::of(feeds[0].second)});
  std::string kernels;
  for (const hone::PlanStep& step : plan.steps) kernels += (kernels.empty() ? "" : "+") + step.kernel->name();
  state.SetLabel(kernels);
  bool several = plan.steps.size() > 1;
  session.set_profiling(several);
  session.reset_profile();
  double mean = time_iterations(state, c, threads, [&] {
    out = session.run(feeds);
    benchmark::DoNotOptimize(out.data());
  });
  if (several && mean > 0) {
    int64_t slowest = 0, calls = 1;
    for (const hone::PlanStep& step : plan.steps)
      if (step.profile_ns > slowest) slowest = step.profile_ns, calls = std::max<int64_t>(step.profile_calls, 1);
    state.counters["main_step_share"] = static_cast<double>(slowest) / static_cast<double>(calls) / 1e9 / mean;
  }
}

// The node's kernel alone, called directly with an OpContext (no Session around it): the planner's choice
// (kOneDnn false) or the oneDNN matmul kernel, which the planner chose for batch-1 products before the GEMV kernel.
// The comparison for the batch-1 cases, and the only fair one for products of a few microseconds.
template <bool kOneDnn>
void run_kernel(benchmark::State& state, const NodeCase& c) {
  int threads = static_cast<int>(state.range(0));
  hone::Model m = one_node_model(c);
  const hone::Node& node = m.graph.nodes[0];
  Tensor x = random_tensor(c.x, 1);
  std::vector<hone::TypeInfo> types = {hone::TypeInfo::tensor(DType::Float32, hone::to_sym_shape(c.x))};
  std::vector<const Tensor*> constants = {nullptr};
  for (size_t i = 0; i < c.weights.size(); ++i) {
    types.push_back(hone::TypeInfo::tensor(DType::Float32, hone::to_sym_shape(c.weights[i])));
    constants.push_back(&m.graph.initializers.at(node.inputs[i + 1]));
  }
  hone::KernelQuery q{node, 17, {}, constants, {}, threads};
  for (const hone::TypeInfo& t : types) q.input_types.push_back(&t);
  std::unique_ptr<hone::Kernel> kernel;
  std::string label;
  if constexpr (kOneDnn) {
    auto dnnl = std::make_unique<hone::dnnl_cpu::DnnlMatMulKernel>(q);
    label = dnnl->name() + " (" + dnnl->impl() + ")";
    kernel = std::move(dnnl);
  } else {
    kernel = hone::KernelRegistry::instance().choose(q, *hone::OpRegistry::instance().find("", node.op_type, 17));
    label = kernel->name();
  }
  std::vector<hone::Value> inputs = {hone::Value::of(x)};
  for (size_t i = 0; i < c.weights.size(); ++i) inputs.push_back(hone::Value::of(*constants[i + 1]));
  std::vector<const hone::Value*> ptrs;
  for (const hone::Value& v : inputs) ptrs.push_back(&v);
  hone::Value out;
  auto run = [&] {
    hone::OpContext ctx(node, 17, ptrs.data(), ptrs.size(), &out, 1, threads, nullptr);
    kernel->run(ctx);
    benchmark::DoNotOptimize(out.tensor.raw());
  };
  run();
  state.SetLabel(label);
  time_iterations(state, c, threads, run);
}

// ------------------------------------------------------------------------------------------------- the cases

NodeCase matmul_square(int64_t n) {
  NodeCase c{.op = "MatMul", .x = {n, n}, .weights = {{n, n}}};
  c.flops = 2.0 * static_cast<double>(n * n * n);
  return c;
}

// Conv with bias: `c` input channels of h x w, `oc` outputs, k x k kernel, pads k / 2, stride `s`, `group`.
NodeCase conv(int64_t ci, int64_t h, int64_t w, int64_t oc, int64_t k, int64_t s = 1, int64_t group = 1) {
  int64_t p = k / 2;
  NodeCase c{.op = "Conv", .x = {1, ci, h, w}, .weights = {{oc, ci / group, k, k}, {oc}}};
  c.attrs = {hone::Attribute::of_ints("kernel_shape", {k, k}), hone::Attribute::of_ints("pads", {p, p, p, p}),
             hone::Attribute::of_ints("strides", {s, s}), hone::Attribute::of_int("group", group)};
  int64_t oh = (h + 2 * p - k) / s + 1, ow = (w + 2 * p - k) / s + 1;
  c.flops = 2.0 * static_cast<double>(oc * oh * ow * (ci / group) * k * k);
  return c;
}

// y = x * W^T + b with W stored [n, k] (transB = 1), as fully connected layers export.
NodeCase gemm_fc(int64_t k, int64_t n) {
  NodeCase c{.op = "Gemm", .x = {1, k}, .weights = {{n, k}, {n}}};
  c.attrs = {hone::Attribute::of_int("transB", 1)};
  c.flops = 2.0 * static_cast<double>(k * n);
  c.weight_bytes = 4.0 * static_cast<double>(k * n);
  c.memory_bound = true;
  return c;
}

NodeCase matmul_vec(int64_t k, int64_t n, int64_t rows = 1) {
  NodeCase c{.op = "MatMul", .x = {rows, k}, .weights = {{k, n}}};
  c.flops = 2.0 * static_cast<double>(rows * k * n);
  c.weight_bytes = 4.0 * static_cast<double>(k * n);
  c.memory_bound = true;
  return c;
}

// An int8 depthwise convolution (hone.QConv, uint8 activations channels-last, per-channel int8 weights, a HardSwish
// and an affine step after it, uint8 output: PP-LCNetV3's layers), kernel against kernel: the planner's choice
// (Hone's q8-dwconv on AVX-512 VNNI) or oneDNN's int8 convolution (kOneDnn). Rates count 2 ops per multiply-add.
struct DwCase {
  int64_t c, h, w, k, stride;
};

template <bool kOneDnn>
void run_q8_depthwise(benchmark::State& state, const DwCase& d) {
  int threads = static_cast<int>(state.range(0));
  const int64_t p = d.k / 2, oh = (d.h + 2 * p - d.k) / d.stride + 1, ow = (d.w + 2 * p - d.k) / d.stride + 1;
  hone::Node node;
  node.domain = "hone";
  node.op_type = "QConv";
  node.name = "dw";
  node.inputs = {"x", "w", "ws", "b"};
  node.outputs = {"y"};
  node.attributes = {hone::Attribute::of_ints("kernel_shape", {d.k, d.k}),
                     hone::Attribute::of_ints("pads", {p, p, p, p}),
                     hone::Attribute::of_ints("strides", {d.stride, d.stride}), hone::Attribute::of_int("group", d.c),
                     hone::Attribute::of_float("x_scale", 0.02f), hone::Attribute::of_int("x_zero_point", 128),
                     hone::Attribute::of_int("y_type", static_cast<int64_t>(DType::UInt8)),
                     hone::Attribute::of_float("y_scale", 0.05f), hone::Attribute::of_int("y_zero_point", 60),
                     hone::Attribute::of_strings("post_ops", {"HardSwish", "Linear"}),
                     hone::Attribute::of_floats("post_op_params", {0.9f, 0.1f})};
  std::mt19937 rng(3);
  // Channels-last data under the logical N,C,H,W shape, as the runtime stores it.
  Tensor x(DType::UInt8, {1, d.c, d.h, d.w}), w(DType::Int8, {d.c, 1, d.k, d.k});
  for (uint8_t& v : x.span<uint8_t>()) v = static_cast<uint8_t>(rng() % 256);
  for (int8_t& v : w.span<int8_t>()) v = static_cast<int8_t>(static_cast<int>(rng() % 255) - 127);
  Tensor ws = random_tensor({d.c}, 5), b = random_tensor({d.c}, 6);
  for (float& v : ws.span<float>()) v = 0.002f + 0.001f * std::abs(v);
  std::vector<hone::TypeInfo> types = {hone::TypeInfo::tensor(DType::UInt8, hone::to_sym_shape({1, d.c, d.h, d.w})),
                                       hone::TypeInfo::tensor(DType::Int8, hone::to_sym_shape(w.shape())),
                                       hone::TypeInfo::tensor(DType::Float32, hone::to_sym_shape(ws.shape())),
                                       hone::TypeInfo::tensor(DType::Float32, hone::to_sym_shape(b.shape()))};
  hone::KernelQuery q{node, 1, {}, {nullptr, &w, &ws, &b}, {}, threads};
  for (const hone::TypeInfo& t : types) q.input_types.push_back(&t);
  q.output_types.push_back(hone::TypeInfo::tensor(DType::UInt8, hone::to_sym_shape({1, d.c, oh, ow})));
  q.layout = hone::Layout::ChannelsLast;
  std::unique_ptr<hone::Kernel> kernel =
      kOneDnn ? hone::dnnl_cpu::make_dnnl_qconv_kernel(q)
              : hone::KernelRegistry::instance().choose(q, *hone::OpRegistry::instance().find("hone", "QConv", 1));
  std::vector<hone::Value> inputs = {hone::Value::of(x), hone::Value::of(w), hone::Value::of(ws), hone::Value::of(b)};
  std::vector<const hone::Value*> ptrs;
  for (const hone::Value& v : inputs) ptrs.push_back(&v);
  hone::Value out;
  auto run = [&] {
    hone::OpContext ctx(node, 1, ptrs.data(), ptrs.size(), &out, 1, threads, nullptr);
    kernel->run(ctx);
    benchmark::DoNotOptimize(out.tensor.raw());
  };
  run();
  state.SetLabel(kernel->name());
  NodeCase c;
  c.flops = 2.0 * static_cast<double>(d.c * oh * ow * d.k * d.k);
  time_iterations(state, c, threads, run);
}

template <typename Case>
void register_case(const std::string& name, Case c, void (*fn)(benchmark::State&, const Case&)) {
  benchmark::RegisterBenchmark(name.c_str(), fn, std::move(c))
      ->ArgName("threads")
      ->Arg(1)
      ->Arg(2)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
}

void register_all() {
  register_case("Gemm/f32/1024x1024x1024", matmul_square(1024), run_session);
  register_case("Gemm/f32/2048x2048x2048", matmul_square(2048), run_session);
  register_case("Conv3x3/resnet50/1x64x56x56->64", conv(64, 56, 56, 64, 3), run_session);
  register_case("Conv3x3/resnet50/1x256x14x14->256", conv(256, 14, 14, 256, 3), run_session);
  register_case("Conv1x1/resnet50/1x256x56x56->64", conv(256, 56, 56, 64, 1), run_session);
  register_case("Conv1x1/resnet50/1x1024x14x14->256", conv(1024, 14, 14, 256, 1), run_session);
  register_case("ConvDepthwise3x3/1x32x112x112", conv(32, 112, 112, 32, 3, 1, 32), run_session);
  register_case("ConvDepthwise3x3/1x96x56x56/stride2", conv(96, 56, 56, 96, 3, 2, 96), run_session);
  register_case("Gemv/fc6/Gemm_1x9216_by_9216x4096_transB", gemm_fc(9216, 4096), run_session);
  register_case("Gemv/MatMul_1x4096_by_4096x4096", matmul_vec(4096, 4096), run_session);
  // Four rows (the most the GEMV kernel takes), and weights small enough for the caches (4 MiB: L3, not L2).
  register_case("Gemv/MatMul_4x4096_by_4096x4096", matmul_vec(4096, 4096, 4), run_session);
  register_case("Gemv/MatMul_1x1024_by_1024x1024", matmul_vec(1024, 1024), run_session);
  register_case("GemvOneDNN/fc6/Gemm_1x9216_by_9216x4096_transB", gemm_fc(9216, 4096), run_kernel<true>);
  register_case("GemvOneDNN/MatMul_1x4096_by_4096x4096", matmul_vec(4096, 4096), run_kernel<true>);
  register_case("GemvOneDNN/MatMul_4x4096_by_4096x4096", matmul_vec(4096, 4096, 4), run_kernel<true>);
  register_case("GemvOneDNN/MatMul_1x1024_by_1024x1024", matmul_vec(1024, 1024), run_kernel<true>);
  // Small products, kernel against kernel (a Session's own cost per run would dominate): where the GEMV kernel
  // wins, weights in L1 and L2 (1 MiB), rows 1 to 4.
  struct Small {
    const char* name;
    NodeCase c;
  };
  const Small small[] = {
      {"fc_1x100_by_100x7", gemm_fc(100, 7)},
      {"fc_1x512_by_512x10", gemm_fc(512, 10)},
      {"MatMul_1x64_by_64x64", matmul_vec(64, 64)},
      {"MatMul_1x256_by_256x1000", matmul_vec(256, 1000)},
      {"MatMul_2x256_by_256x1000", matmul_vec(256, 1000, 2)},
      {"MatMul_3x256_by_256x1000", matmul_vec(256, 1000, 3)},
      {"MatMul_4x256_by_256x1000", matmul_vec(256, 1000, 4)},
  };
  // PaddleOCR v4 rec's 5x5 depthwise layers (stride 1 and 2) and det's 3x3 ones, int8, kernel against kernel.
  const std::pair<const char*, DwCase> dw[] = {{"240x12x80_k5", {240, 12, 80, 5, 1}},
                                               {"480x6x80_k5", {480, 6, 80, 5, 1}},
                                               {"64x48x320_k3_stride2", {64, 48, 320, 3, 2}},
                                               {"32x160x160_k3", {32, 160, 160, 3, 1}}};
  for (const auto& [name, d] : dw) {
    register_case(std::string("QDepthwise/") + name, d, run_q8_depthwise<false>);
    register_case(std::string("QDepthwiseOneDNN/") + name, d, run_q8_depthwise<true>);
  }
  for (const Small& s : small) {
    register_case(std::string("GemvSmall/") + s.name, s.c, run_kernel<false>);
    register_case(std::string("GemvSmallOneDNN/") + s.name, s.c, run_kernel<true>);
  }
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  measure_roofline();
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
