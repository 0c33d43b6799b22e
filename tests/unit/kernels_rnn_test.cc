// The fast LSTM and GRU kernels (kernels/cpu/rnn_kernels.cc) against the reference kernels of ops/rnn: hidden sizes
// around vector widths (1, 7, 16, 17, 33, 64), input sizes 1, 5, 16, 40, batch 1 and 3, 1 to 10 steps, every direction,
// with and without biases, initial states, sequence lengths (shorter than the sequence, and zero), peepholes, clip,
// input_forget, both layouts, linear_before_reset 0 and 1, omitted outputs, on every ISA tier this machine has and with
// 1 and 2 threads. Cases the kernel does not run must be left to the reference kernel. Fixed seeds throughout.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>

#include "hone/hone.h"
#include "ir/onnx/onnx_io.h"
#include "kernels/cpu/cpu_features.h"
#include "op_test_util.h"
#include "runtime/kernel.h"
#include "runtime/plan.h"
#include "test_paths.h"

namespace hone {
namespace {

std::vector<Isa> tiers() {
  std::vector<Isa> t = {Isa::Scalar};
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx2)) t.push_back(Isa::Avx2);
  if (static_cast<int>(best_isa()) >= static_cast<int>(Isa::Avx512)) t.push_back(Isa::Avx512);
  return t;
}

// The suffix of kernel names: tiers above avx512 use the avx512 microkernels.
std::string tier_name(Isa isa) { return isa >= Isa::Avx512 ? "avx512" : isa_name(isa); }

Tensor uniform(const Shape& shape, float lo, float hi, std::mt19937& rng) {
  Tensor t(DType::Float32, shape);
  std::uniform_real_distribution<float> d(lo, hi);
  for (float& v : t.span<float>()) v = d(rng);
  return t;
}

// One LSTM or GRU node and its inputs, built from a case description.
struct RnnCase {
  std::string op = "LSTM";
  int64_t hidden = 7, input = 5, batch = 3, seq = 4;
  std::string direction = "forward";
  int64_t layout = 0;
  bool bias = true, initial_h = false, initial_c = false, peepholes = false, seq_lens = false;
  bool clip = false, input_forget = false, linear_before_reset = false;
  bool want_y = true, want_yh = true, want_yc = true;
  int64_t opset = 14;

  int64_t directions() const { return direction == "bidirectional" ? 2 : 1; }
  int64_t gates() const { return op == "LSTM" ? 4 : 3; }
  std::string str() const {
    return fmt::format("{} H{} I{} N{} T{} {} layout{}{}{}{}{}{}{}{}{} outputs {}{}{}", op, hidden, input, batch, seq,
                       direction, layout, bias ? " B" : "", initial_h ? " h0" : "", initial_c ? " c0" : "",
                       peepholes ? " P" : "", seq_lens ? " lens" : "", clip ? " clip" : "",
                       input_forget ? " input_forget" : "", linear_before_reset ? " lbr" : "", want_y ? "Y" : "-",
                       want_yh ? " Y_h" : " -", want_yc ? " Y_c" : " -");
  }
};

struct RnnNode {
  Node node;
  int64_t opset = 14;
  std::vector<Tensor> inputs;  // undefined: omitted
  std::vector<bool> constant;
  size_t outputs = 3;
};

RnnNode make_node(const RnnCase& c, std::mt19937& rng) {
  RnnNode n;
  n.opset = c.opset;
  n.node.op_type = c.op;
  n.node.name = "rnn";
  n.node.attributes.push_back(Attribute::of_int("hidden_size", c.hidden));
  if (c.direction != "forward" || rng() % 2)  // "forward" is the default: spelled out or not
    n.node.attributes.push_back(Attribute::of_string("direction", c.direction));
  if (c.layout) n.node.attributes.push_back(Attribute::of_int("layout", c.layout));
  if (c.clip) n.node.attributes.push_back(Attribute::of_float("clip", 0.75f));
  if (c.input_forget) n.node.attributes.push_back(Attribute::of_int("input_forget", 1));
  if (c.linear_before_reset) n.node.attributes.push_back(Attribute::of_int("linear_before_reset", 1));
  const int64_t D = c.directions(), GH = c.gates() * c.hidden;
  Shape xs = c.layout ? Shape{c.batch, c.seq, c.input} : Shape{c.seq, c.batch, c.input};
  Shape ss = c.layout ? Shape{c.batch, D, c.hidden} : Shape{D, c.batch, c.hidden};
  float w = 1.f / std::sqrt(static_cast<float>(std::max<int64_t>(c.input, c.hidden))) * 1.5f;
  n.inputs.push_back(uniform(xs, -1.f, 1.f, rng));
  n.inputs.push_back(uniform({D, GH, c.input}, -w, w, rng));
  n.inputs.push_back(uniform({D, GH, c.hidden}, -w, w, rng));
  n.inputs.push_back(c.bias ? uniform({D, 2 * GH}, -0.5f, 0.5f, rng) : Tensor());
  if (c.seq_lens) {
    // Full length, zero, and shorter: the second entry runs no step at all, the last stops early.
    std::vector<int32_t> lens;
    for (int64_t b = 0; b < c.batch; ++b)
      lens.push_back(static_cast<int32_t>(b == 0 ? c.seq : b == 1 ? 0 : 1 + (c.seq / 2 + b - 2) % c.seq));
    n.inputs.push_back(test::i32({c.batch}, lens));
  } else {
    n.inputs.push_back(Tensor());
  }
  n.inputs.push_back(c.initial_h ? uniform(ss, -1.f, 1.f, rng) : Tensor());
  if (c.op == "LSTM") {
    n.inputs.push_back(c.initial_c ? uniform(ss, -2.f, 2.f, rng) : Tensor());
    n.inputs.push_back(c.peepholes ? uniform({D, 3 * c.hidden}, -1.f, 1.f, rng) : Tensor());
  }
  while (!n.inputs.empty() && !n.inputs.back().defined()) n.inputs.pop_back();  // trailing omitted inputs
  static const char* kNames[] = {"X", "W", "R", "B", "sequence_lens", "initial_h", "initial_c", "P"};
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    n.node.inputs.push_back(n.inputs[i].defined() ? kNames[i] : "");
    n.constant.push_back(i == 1 || i == 2 || i == 3 || i == 7);
  }
  n.outputs = c.op == "LSTM" ? 3 : 2;
  n.node.outputs = {c.want_y ? "Y" : "", c.want_yh ? "Y_h" : ""};
  if (c.op == "LSTM") n.node.outputs.push_back(c.want_yc ? "Y_c" : "");
  while (!n.node.outputs.empty() && n.node.outputs.back().empty()) n.node.outputs.pop_back();
  return n;
}

std::vector<Tensor> run_with(const RnnNode& n, const std::function<void(OpContext&)>& compute, int threads = 1) {
  std::vector<Value> vals;
  for (const Tensor& t : n.inputs) vals.push_back(t.defined() ? Value::of(t) : Value());
  std::vector<const Value*> ptrs;
  for (const Value& v : vals) ptrs.push_back(&v);
  std::vector<Value> outs(n.outputs);
  OpContext ctx(n.node, n.opset, ptrs.data(), ptrs.size(), outs.data(), outs.size(), threads, nullptr);
  compute(ctx);
  std::vector<Tensor> result;
  for (const Value& v : outs) result.push_back(v.tensor);
  return result;
}

const OpSchema& schema(const RnnNode& n) { return *OpRegistry::instance().find("", n.node.op_type, n.opset); }

struct Query {
  std::vector<TypeInfo> types;
  std::unique_ptr<KernelQuery> q;
};
Query make_query(const RnnNode& n, int threads) {
  Query st;
  st.types.reserve(n.inputs.size());
  for (const Tensor& t : n.inputs)
    st.types.push_back(t.defined() ? TypeInfo::tensor(t.dtype(), to_sym_shape(t.shape())) : TypeInfo{});
  st.q = std::make_unique<KernelQuery>(KernelQuery{n.node, n.opset, {}, {}, {}, threads});
  for (size_t i = 0; i < n.inputs.size(); ++i) {
    bool present = n.inputs[i].defined();
    st.q->input_types.push_back(present ? &st.types[i] : nullptr);
    st.q->input_constants.push_back(present && n.constant[i] ? &n.inputs[i] : nullptr);
  }
  return st;
}

std::unique_ptr<Kernel> choose(const RnnNode& n, int threads = 1) {
  Query st = make_query(n, threads);
  return KernelRegistry::instance().choose(*st.q, schema(n));
}

// |fast - reference| <= atol + rtol * |reference|, element by element; reports the worst.
::testing::AssertionResult close(const Tensor& want, const Tensor& got, double rtol = 3e-5, double atol = 1e-5) {
  if (want.defined() != got.defined())
    return ::testing::AssertionFailure() << (got.defined() ? "unexpected output" : "missing output");
  if (!want.defined()) return ::testing::AssertionSuccess();
  if (want.shape() != got.shape() || got.dtype() != DType::Float32)
    return ::testing::AssertionFailure() << "shape " << shape_str(got.shape()) << " vs " << shape_str(want.shape());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double w = want.data<float>()[i], g = got.data<float>()[i];
    if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w)))
      return ::testing::AssertionFailure() << "element " << i << ": " << g << " vs reference " << w;
  }
  return ::testing::AssertionSuccess();
}

// Creates the fast kernel under `isa`, checks the planner would pick it, and compares every output with the
// reference's, with 1 and 2 threads.
void expect_matches_reference(const RnnCase& c, uint32_t seed, Isa isa, const std::vector<int>& threads = {1, 2}) {
  SCOPED_TRACE(c.str() + " isa " + isa_name(isa) + " seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  RnnNode n = make_node(c, rng);
  std::vector<Tensor> want = run_with(n, schema(n).compute);
  for (int t : threads) {
    ScopedIsaOverride force(isa);
    std::unique_ptr<Kernel> k = choose(n, t);
    std::string prefix = c.op == "LSTM" ? "dnnl-lstm-f32_" : "dnnl-gru-f32_";
    ASSERT_EQ(k->name(), prefix + tier_name(isa));
    for (int rep = 0; rep < 2; ++rep) {  // a second run must not see the first one's state
      std::vector<Tensor> got = run_with(n, [&](OpContext& ctx) { k->run(ctx); }, t);
      for (size_t o = 0; o < want.size(); ++o)
        EXPECT_TRUE(close(want[o], got[o])) << "output " << o << " threads " << t << " run " << rep;
    }
  }
}

const std::vector<std::string> kDirections = {"forward", "reverse", "bidirectional"};

// Every shape of the sweep, with the options varied case by case (each option takes both values many times).
void sweep_shapes(const std::string& op) {
  uint32_t k = 0;
  for (int64_t hidden : {1, 7, 16, 17, 33, 64})
    for (int64_t input : {1, 5, 16, 40})
      for (int64_t batch : {1, 3})
        for (int64_t seq : {1, 4, 10}) {
          ++k;
          RnnCase c;
          c.op = op;
          c.hidden = hidden;
          c.input = input;
          c.batch = batch;
          c.seq = seq;
          c.direction = kDirections[k % 3];
          c.layout = (k / 3) % 2;
          c.bias = (k / 2) % 2 == 0;
          c.initial_h = (k / 5) % 2 == 1;
          c.initial_c = (k / 7) % 2 == 0;
          c.peepholes = (k / 4) % 2 == 1;
          c.seq_lens = batch > 1 && k % 5 < 2;
          c.clip = k % 7 == 3;
          c.linear_before_reset = (k / 6) % 2 == 1;
          expect_matches_reference(c, k, best_isa(), {1, 2});
        }
}

TEST(KernelsRnn, LstmShapesMatchReference) { sweep_shapes("LSTM"); }
TEST(KernelsRnn, GruShapesMatchReference) { sweep_shapes("GRU"); }

// Every combination of the options that change the step's control flow, at one shape, on every ISA tier.
TEST(KernelsRnn, LstmOptionsMatchReference) {
  uint32_t seed = 100;
  for (Isa isa : tiers())
    for (const std::string& dir : kDirections)
      for (int64_t layout : {0, 1})
        for (bool lens : {false, true})
          for (bool peep : {false, true})
            for (bool clip : {false, true}) {
              RnnCase c;
              c.hidden = 17;
              c.input = 5;
              c.seq = 4;
              c.direction = dir;
              c.layout = layout;
              c.seq_lens = lens;
              c.peepholes = peep;
              c.clip = clip;
              c.bias = seed % 3 != 0;
              c.initial_h = seed % 2 == 0;
              c.initial_c = seed % 4 < 2;
              c.input_forget = seed % 5 == 1;
              expect_matches_reference(c, seed++, isa, {1});
            }
}

TEST(KernelsRnn, GruOptionsMatchReference) {
  uint32_t seed = 200;
  for (Isa isa : tiers())
    for (const std::string& dir : kDirections)
      for (int64_t layout : {0, 1})
        for (bool lens : {false, true})
          for (bool lbr : {false, true})
            for (bool clip : {false, true})
              for (bool bias : {false, true}) {
                RnnCase c;
                c.op = "GRU";
                c.hidden = 33;
                c.input = 16;
                c.seq = 4;
                c.direction = dir;
                c.layout = layout;
                c.seq_lens = lens;
                c.linear_before_reset = lbr;
                c.clip = clip;
                c.bias = bias;
                c.initial_h = seed % 2 == 0;
                expect_matches_reference(c, seed++, isa, {1});
              }
}

TEST(KernelsRnn, InputForgetAndPeepholes) {
  uint32_t seed = 300;
  for (const std::string& dir : kDirections)
    for (bool peep : {false, true})
      for (bool clip : {false, true}) {
        RnnCase c;
        c.hidden = 16;
        c.input = 5;
        c.seq = 10;
        c.direction = dir;
        c.input_forget = true;
        c.peepholes = peep;
        c.clip = clip;
        c.initial_c = true;
        expect_matches_reference(c, seed++, best_isa());
      }
}

TEST(KernelsRnn, OmittedOutputs) {
  uint32_t seed = 400;
  for (const std::string& op : {"LSTM", "GRU"})
    for (int mask = 0; mask < 8; ++mask) {
      if (op == std::string("GRU") && mask >= 4) continue;
      RnnCase c;
      c.op = op;
      c.direction = "bidirectional";
      c.seq_lens = true;
      c.initial_h = true;
      c.want_y = mask & 1;
      c.want_yh = mask & 2;
      c.want_yc = mask & 4;
      expect_matches_reference(c, seed++, best_isa());
    }
}

// Larger steps, where the step matmul and the gate rows may go parallel.
TEST(KernelsRnn, LargeBatchMatchesReference) {
  uint32_t seed = 500;
  for (const std::string& op : {"LSTM", "GRU"})
    for (const std::string& dir : {"forward", "bidirectional"}) {
      RnnCase c;
      c.op = op;
      c.hidden = 128;
      c.input = 64;
      c.batch = 130;
      c.seq = 3;
      c.direction = dir;
      c.seq_lens = true;
      c.initial_h = true;
      c.initial_c = true;
      c.linear_before_reset = seed % 2 == 1;
      expect_matches_reference(c, seed++, best_isa(), {1, 2});
    }
}

TEST(KernelsRnn, OlderOpsetsMatchReference) {
  uint32_t seed = 600;
  for (const std::string& op : {"LSTM", "GRU"})
    for (int64_t opset : {7, 22}) {
      RnnCase c;
      c.op = op;
      c.opset = opset;
      c.direction = "bidirectional";
      c.initial_h = true;
      expect_matches_reference(c, seed++, best_isa());
    }
}

// Default activations named explicitly (any case, once for both directions) are still the fast path.
TEST(KernelsRnn, ExplicitDefaultActivations) {
  std::mt19937 rng(7);
  RnnCase c;
  c.direction = "bidirectional";
  RnnNode n = make_node(c, rng);
  n.node.attributes.push_back(Attribute::of_strings("activations", {"sigmoid", "TANH", "Tanh"}));
  EXPECT_EQ(choose(n)->name().rfind("dnnl-lstm-f32_", 0), 0u);
  RnnCase g = c;
  g.op = "GRU";
  RnnNode m = make_node(g, rng);
  m.node.attributes.push_back(Attribute::of_strings("activations", {"Sigmoid", "Tanh", "Sigmoid", "Tanh"}));
  std::unique_ptr<Kernel> k = choose(m);
  EXPECT_EQ(k->name().rfind("dnnl-gru-f32_", 0), 0u);
  std::vector<Tensor> want = run_with(m, schema(m).compute);
  std::vector<Tensor> got = run_with(m, [&](OpContext& ctx) { k->run(ctx); });
  for (size_t o = 0; o < want.size(); ++o) EXPECT_TRUE(close(want[o], got[o]));
}

TEST(KernelsRnn, LeavesUnsupportedCasesToTheReference) {
  std::mt19937 rng(9);
  RnnCase c;
  c.peepholes = true;
  c.initial_h = true;
  auto expect_reference = [&](const RnnNode& n, const std::string& what) {
    std::unique_ptr<Kernel> k = choose(n);
    EXPECT_EQ(k->name(), "reference") << what;
    // And the chosen (reference) kernel runs it.
    std::vector<Tensor> got = run_with(n, [&](OpContext& ctx) { k->run(ctx); });
    EXPECT_TRUE(got[0].defined()) << what;
  };
  RnnNode n = make_node(c, rng);
  ASSERT_NE(choose(n)->name(), "reference");
  for (size_t i : {1, 2, 3, 7}) {  // W, R, B, P fed at run time
    RnnNode m = n;
    m.constant[i] = false;
    expect_reference(m, "input " + std::to_string(i) + " not constant");
  }
  RnnNode acts = n;
  acts.node.attributes.push_back(Attribute::of_strings("activations", {"HardSigmoid", "Tanh", "Tanh"}));
  expect_reference(acts, "HardSigmoid gate activation");
  RnnNode relu = n;
  relu.node.attributes.push_back(Attribute::of_strings("activations", {"Sigmoid", "Relu", "Tanh"}));
  expect_reference(relu, "Relu cell activation");
  RnnCase g = c;
  g.op = "GRU";
  g.direction = "bidirectional";
  RnnNode gru = make_node(g, rng);
  gru.node.attributes.push_back(Attribute::of_strings("activations", {"Sigmoid", "Tanh", "Sigmoid", "Softsign"}));
  expect_reference(gru, "Softsign in the second direction");
  RnnNode f64 = n;
  for (size_t i : {0, 1, 2, 3, 5, 7}) {
    Tensor t(DType::Float64, f64.inputs[i].shape());
    for (int64_t e = 0; e < t.numel(); ++e) t.set_double(e, f64.inputs[i].data<float>()[e]);
    f64.inputs[i] = t;
  }
  expect_reference(f64, "float64");
  // The RNN op is not this kernel's.
  RnnNode rnn = n;
  rnn.node.op_type = "RNN";
  rnn.inputs.resize(6);
  rnn.constant.resize(6);
  rnn.node.inputs.resize(6);
  rnn.node.outputs.resize(2);
  rnn.outputs = 2;
  rnn.inputs[1] = uniform({1, c.hidden, c.input}, -1, 1, rng);
  rnn.inputs[2] = uniform({1, c.hidden, c.hidden}, -1, 1, rng);
  rnn.inputs[3] = uniform({1, 2 * c.hidden}, -1, 1, rng);
  EXPECT_EQ(choose(rnn)->name(), "reference");
}

// Malformed inputs never crash: the kernel declines at plan time, or hands the run to the reference, which reports.
TEST(KernelsRnn, BadInputsReachTheReference) {
  std::mt19937 rng(11);
  RnnCase c;
  c.seq_lens = true;
  RnnNode n = make_node(c, rng);
  std::unique_ptr<Kernel> k = choose(n);
  ASSERT_NE(k->name(), "reference");
  n.inputs[4].data<int32_t>()[1] = static_cast<int32_t>(c.seq + 1);
  EXPECT_ERROR("sequence length", run_with(n, [&](OpContext& ctx) { k->run(ctx); }));
  n.inputs[4].data<int32_t>()[1] = -1;
  EXPECT_ERROR("sequence length", run_with(n, [&](OpContext& ctx) { k->run(ctx); }));
  RnnNode wrong_w = make_node(c, rng);
  wrong_w.inputs[1] = uniform({1, 4 * c.hidden, c.input + 1}, -1, 1, rng);
  EXPECT_EQ(choose(wrong_w)->name(), "reference");
  RnnNode wrong_hidden = make_node(c, rng);
  wrong_hidden.node.attributes[0] = Attribute::of_int("hidden_size", c.hidden + 1);
  EXPECT_EQ(choose(wrong_hidden)->name(), "reference");
  RnnNode bad_direction = make_node(c, rng);
  bad_direction.node.attributes.push_back(Attribute::of_string("direction", "sideways"));
  EXPECT_EQ(choose(bad_direction)->name(), "reference");
}

// Through a session: the plan picks the kernel and its outputs are the reference's.
TEST(KernelsRnn, SessionPicksTheFastKernel) {
  std::mt19937 rng(13);
  for (const std::string& op : {"LSTM", "GRU"}) {
    RnnCase c;
    c.op = op;
    c.direction = "bidirectional";
    c.initial_h = true;
    c.seq_lens = true;
    RnnNode n = make_node(c, rng);
    std::vector<test::In> ins;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (!n.inputs[i].defined()) ins.emplace_back(std::string());
      else ins.emplace_back(n.node.inputs[i], n.inputs[i], static_cast<bool>(n.constant[i]));
    }
    test::OpSpec spec{op, "", 14, n.node.outputs.size()};
    Model m = test::one_node_model(spec, ins, n.node.attributes);
    Session s(std::move(m), {.threads = 2});
    std::vector<Value> fed = test::fed_values(ins);
    const Plan& plan = s.plan_for(fed);
    ASSERT_EQ(plan.steps.size(), 1u);
    EXPECT_EQ(plan.steps[0].kernel->name().rfind(op == "LSTM" ? "dnnl-lstm-f32_" : "dnnl-gru-f32_", 0), 0u);
    std::vector<Value> got = s.run_values(fed);
    std::vector<Tensor> want = run_with(n, schema(n).compute);
    ASSERT_EQ(got.size(), want.size());
    for (size_t o = 0; o < want.size(); ++o) EXPECT_TRUE(close(want[o], got[o].tensor)) << op << " output " << o;
  }
}

// The ONNX backend tests of LSTM and GRU, with their weights made constants so the fast kernel runs them, against
// the expected outputs ONNX ships (its own numpy reference), at the conformance tolerance (rtol 1e-3, atol 1e-7).
TEST(KernelsRnn, ConformanceDataWithConstantWeights) {
  const std::vector<std::string> tests = {"test_gru_batchwise",  "test_gru_defaults",          "test_gru_seq_length",
                                          "test_gru_with_initial_bias", "test_lstm_batchwise", "test_lstm_defaults",
                                          "test_lstm_with_initial_bias", "test_lstm_with_peepholes"};
  for (const std::string& name : tests) {
    SCOPED_TRACE(name);
    std::string dir = test::conformance_dir() + "/onnx-node/" + name;
    ASSERT_TRUE(std::filesystem::exists(dir + "/model.onnx")) << dir << " is missing";
    Model m = load_onnx_file(dir + "/model.onnx");
    ASSERT_EQ(m.graph.nodes.size(), 1u);
    RnnNode n;
    n.node = m.graph.nodes[0];
    n.opset = 22;
    for (const auto& [domain, version] : m.opset_import)
      if (domain.empty() || domain == "ai.onnx") n.opset = version;
    for (size_t i = 0; i < n.node.inputs.size(); ++i) {
      Tensor t;
      for (size_t g = 0; g < m.graph.inputs.size(); ++g)
        if (!n.node.inputs[i].empty() && m.graph.inputs[g].name == n.node.inputs[i])
          t = load_tensor_pb_file(dir + "/test_data_set_0/input_" + std::to_string(g) + ".pb");
      n.inputs.push_back(t);
      n.constant.push_back(i == 1 || i == 2 || i == 3 || i == 7);
    }
    n.outputs = n.node.op_type == "LSTM" ? 3 : 2;
    std::unique_ptr<Kernel> k = choose(n);
    EXPECT_NE(k->name(), "reference");
    std::vector<Tensor> got = run_with(n, [&](OpContext& ctx) { k->run(ctx); });
    for (size_t o = 0; o < m.graph.outputs.size(); ++o) {
      const std::vector<std::string>& outs = n.node.outputs;
      size_t slot = static_cast<size_t>(std::find(outs.begin(), outs.end(), m.graph.outputs[o].name) - outs.begin());
      ASSERT_LT(slot, got.size());
      Tensor want = load_tensor_pb_file(dir + "/test_data_set_0/output_" + std::to_string(o) + ".pb");
      EXPECT_TRUE(close(want, got[slot], 1e-3, 1e-7)) << "output " << o;
    }
  }
}

double seconds_per_run(const std::function<void()>& f) {
  f();
  int reps = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < 0.5 || reps < 5) {
    f();
    ++reps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return elapsed / reps;
}

// Not run by default (timing is never asserted): --gtest_also_run_disabled_tests --gtest_filter='*RnnTiming*'.
TEST(RnnTiming, DISABLED_FastVersusReference) {
  for (const std::string& op : {"LSTM", "GRU"})
    for (const std::string& dir : {"forward", "bidirectional"}) {
      std::mt19937 rng(1);
      RnnCase c;
      c.op = op;
      c.hidden = 128;
      c.input = 64;
      c.batch = 1;
      c.seq = 50;
      c.direction = dir;
      c.bias = true;
      RnnNode n = make_node(c, rng);
      double ref = seconds_per_run([&] { run_with(n, schema(n).compute); });
      double macs = static_cast<double>(c.directions() * c.seq * c.batch * c.gates() * c.hidden * (c.input + c.hidden));
      for (int threads : {1, 2}) {
        std::unique_ptr<Kernel> k = choose(n, threads);
        double fast = seconds_per_run([&] { run_with(n, [&](OpContext& ctx) { k->run(ctx); }, threads); });
        printf("%-4s %-13s seq %lld batch %lld input %lld hidden %lld threads %d: %s %8.1f us (%.1f GFLOP/s), "
               "reference %9.1f us: %6.1fx\n",
               op.c_str(), dir.c_str(), static_cast<long long>(c.seq), static_cast<long long>(c.batch),
               static_cast<long long>(c.input), static_cast<long long>(c.hidden), threads, k->name().c_str(),
               fast * 1e6, 2 * macs / fast / 1e9, ref * 1e6, ref / fast);
      }
    }
}

}  // namespace
}  // namespace hone
