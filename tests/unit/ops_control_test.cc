// Control flow (If, Loop, Scan, SequenceMap), sequence and optional ops, and the recurrent ops (RNN, GRU, LSTM):
// what the conformance corpus does not cover (zero-trip loops, early exit, reversed and re-axed Scan, Scan-8
// sequence lengths, out-of-range positions, bad attributes, layout 1, reverse/bidirectional recurrences, inferred
// shapes).
#include <gtest/gtest.h>

#include <cmath>

#include "op_test_util.h"

namespace hone::test {
namespace {

Tensor boolean(bool v) { return scalar_tensor(DType::Bool, v ? 1 : 0); }

ValueInfo tensor_info(const std::string& name, DType t = DType::Float32) { return {name, TypeInfo::tensor(t), ""}; }
ValueInfo seq_info(const std::string& name) {
  TypeInfo t;
  t.kind = TypeInfo::Kind::Sequence;
  t.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(DType::Float32));
  return {name, t, ""};
}

Node node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, std::vector<Attribute> attrs = {}) {
  return {op + "_node", op, "", std::move(in), std::move(out), std::move(attrs), ""};
}

Model model_of(Graph g, int opset) {
  Model m;
  m.ir_version = 8;
  m.opset_import = {{"", opset}};
  m.graph = std::move(g);
  return m;
}

std::vector<Value> run(const Model& m, std::vector<Value> inputs) {
  Session s(m, {.threads = 1});
  return s.run_values(inputs);
}

// If ----------------------------------------------------------------------------------------------------------

// out = cond ? x + x : x * x, where x comes from the enclosing graph.
Model if_model() {
  Graph then_g, else_g, g;
  then_g.name = "then";
  then_g.nodes.push_back(node("Add", {"x", "x"}, {"t"}));
  then_g.outputs.push_back(tensor_info("t"));
  else_g.name = "else";
  else_g.nodes.push_back(node("Mul", {"x", "x"}, {"e"}));
  else_g.outputs.push_back(tensor_info("e"));
  g.name = "if";
  g.inputs = {tensor_info("cond", DType::Bool), tensor_info("x")};
  g.outputs = {tensor_info("y")};
  g.nodes.push_back(node("If", {"cond"}, {"y"},
                         {Attribute::of_graph("then_branch", std::make_shared<Graph>(then_g)),
                          Attribute::of_graph("else_branch", std::make_shared<Graph>(else_g))}));
  return model_of(std::move(g), 13);
}

TEST(ControlIf, RunsTheChosenBranchWithOuterScopeValues) {
  Model m = if_model();
  Tensor x = f32({3}, {1, 2, 3});
  EXPECT_EQ(values<float>(run(m, {Value::of(boolean(true)), Value::of(x)})[0].tensor), (std::vector<float>{2, 4, 6}));
  EXPECT_EQ(values<float>(run(m, {Value::of(boolean(false)), Value::of(x)})[0].tensor), (std::vector<float>{1, 4, 9}));
}

TEST(ControlIf, ConditionWithTwoElementsThrows) {
  Model m = if_model();
  Tensor cond(DType::Bool, {2});
  EXPECT_THROW(run(m, {Value::of(cond), Value::of(f32({1}, {1}))}), Error);
}

// Loop --------------------------------------------------------------------------------------------------------

// Body: sum_out = sum_in + x; cond_out = sum_out < limit (via Less) when `exit_early`; scan output = sum_out.
Model loop_model(bool with_m, bool with_cond, bool exit_early) {
  Graph body, g;
  body.name = "body";
  body.inputs = {tensor_info("i", DType::Int64), tensor_info("c_in", DType::Bool), tensor_info("sum_in")};
  body.nodes.push_back(node("Add", {"sum_in", "x"}, {"sum_out"}));
  if (exit_early) {
    body.nodes.push_back(node("Less", {"sum_out", "limit"}, {"c_out"}));
  } else {
    body.nodes.push_back(node("Identity", {"c_in"}, {"c_out"}));
  }
  body.nodes.push_back(node("Identity", {"sum_out"}, {"scan_out"}));
  body.outputs = {tensor_info("c_out", DType::Bool), tensor_info("sum_out"), tensor_info("scan_out")};
  g.name = "loop";
  g.inputs = {tensor_info("M", DType::Int64), tensor_info("cond", DType::Bool), tensor_info("x"), tensor_info("s0")};
  g.initializers["limit"] = f32({}, {5.5f});
  g.outputs = {tensor_info("final"), tensor_info("scans")};
  g.nodes.push_back(node("Loop", {with_m ? "M" : "", with_cond ? "cond" : "", "s0"}, {"final", "scans"},
                         {Attribute::of_graph("body", std::make_shared<Graph>(body))}));
  return model_of(std::move(g), 13);
}

TEST(ControlLoop, TripCountStacksScanOutputs) {
  auto out = run(loop_model(true, true, false), {Value::of(i64({}, {3})), Value::of(boolean(true)),
                                                 Value::of(f32({2}, {1, 10})), Value::of(f32({2}, {0, 0}))});
  EXPECT_EQ(values<float>(out[0].tensor), (std::vector<float>{3, 30}));
  EXPECT_EQ(out[1].tensor.shape(), (Shape{3, 2}));
  EXPECT_EQ(values<float>(out[1].tensor), (std::vector<float>{1, 10, 2, 20, 3, 30}));
}

TEST(ControlLoop, ZeroTripsReturnsInitialValuesAndEmptyScans) {
  auto out = run(loop_model(true, true, false), {Value::of(i64({}, {0})), Value::of(boolean(true)),
                                                 Value::of(f32({2}, {1, 10})), Value::of(f32({2}, {7, 8}))});
  EXPECT_EQ(values<float>(out[0].tensor), (std::vector<float>{7, 8}));
  EXPECT_EQ(out[1].tensor.numel(), 0);
  EXPECT_EQ(out[1].tensor.shape()[0], 0);
  auto no_start = run(loop_model(true, true, false), {Value::of(i64({}, {5})), Value::of(boolean(false)),
                                                      Value::of(f32({1}, {1})), Value::of(f32({1}, {4}))});
  EXPECT_EQ(values<float>(no_start[0].tensor), (std::vector<float>{4}));
}

TEST(ControlLoop, BodyConditionEndsAWhileLoopWithoutTripCount) {
  // sum grows by 2 until it is no longer < 5.5: 2, 4, 6.
  auto out = run(loop_model(false, true, true),
                 {Value::of(i64({}, {0})), Value::of(boolean(true)), Value::of(f32({}, {2})), Value::of(f32({}, {0}))});
  EXPECT_EQ(values<float>(out[0].tensor), (std::vector<float>{6}));
  EXPECT_EQ(values<float>(out[1].tensor), (std::vector<float>{2, 4, 6}));
  // The trip count still bounds it.
  auto bounded = run(loop_model(true, false, true), {Value::of(i64({}, {2})), Value::of(boolean(true)),
                                                     Value::of(f32({}, {2})), Value::of(f32({}, {0}))});
  EXPECT_EQ(values<float>(bounded[0].tensor), (std::vector<float>{4}));
}

TEST(ControlLoop, NonScalarTripCountThrows) {
  EXPECT_THROW(run(loop_model(true, true, false), {Value::of(i64v({1, 2})), Value::of(boolean(true)),
                                                    Value::of(f32({1}, {1})), Value::of(f32({1}, {0}))}),
               Error);
}

// Scan --------------------------------------------------------------------------------------------------------

// Running sum over the scan axis: state += x_t, scan output = state.
Graph running_sum_body() {
  Graph body;
  body.name = "scan_body";
  body.inputs = {tensor_info("s_in"), tensor_info("x_t")};
  body.nodes.push_back(node("Add", {"s_in", "x_t"}, {"s_out"}));
  body.nodes.push_back(node("Identity", {"s_out"}, {"y_t"}));
  body.outputs = {tensor_info("s_out"), tensor_info("y_t")};
  return body;
}

TEST(ControlScan, Opset9AxesAndDirections) {
  Graph g;
  g.name = "scan9";
  g.inputs = {tensor_info("s0"), tensor_info("x")};
  g.outputs = {tensor_info("s"), tensor_info("y")};
  // x is [2, 3]; scan along axis 1 (3 steps of [2]) in reverse; the outputs stack along axis 1, reversed too.
  g.nodes.push_back(
      node("Scan", {"s0", "x"}, {"s", "y"},
           {Attribute::of_graph("body", std::make_shared<Graph>(running_sum_body())),
            Attribute::of_int("num_scan_inputs", 1), Attribute::of_ints("scan_input_axes", {1}),
            Attribute::of_ints("scan_input_directions", {1}), Attribute::of_ints("scan_output_axes", {-1}),
            Attribute::of_ints("scan_output_directions", {1})}));
  auto out = run(model_of(std::move(g), 16), {Value::of(f32({2}, {0, 0})), Value::of(f32({2, 3}, {1, 2, 3, 10, 20, 30}))});
  EXPECT_EQ(values<float>(out[0].tensor), (std::vector<float>{6, 60}));
  // Steps read columns 2, 1, 0 (sums 3, 5, 6) and write them to positions 2, 1, 0.
  EXPECT_EQ(out[1].tensor.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(out[1].tensor), (std::vector<float>{6, 5, 3, 60, 50, 30}));
}

TEST(ControlScan, Opset8SequenceLensPadWithZeros) {
  Graph g;
  g.name = "scan8";
  g.inputs = {tensor_info("lens", DType::Int64), tensor_info("s0"), tensor_info("x")};
  g.outputs = {tensor_info("s"), tensor_info("y")};
  g.nodes.push_back(node("Scan", {"lens", "s0", "x"}, {"s", "y"},
                         {Attribute::of_graph("body", std::make_shared<Graph>(running_sum_body())),
                          Attribute::of_int("num_scan_inputs", 1)}));
  // batch 2, sequence 3, element [1].
  auto out = run(model_of(std::move(g), 8), {Value::of(i64v({3, 1})), Value::of(f32({2, 1}, {0, 100})),
                                             Value::of(f32({2, 3, 1}, {1, 2, 3, 4, 5, 6}))});
  EXPECT_EQ(values<float>(out[0].tensor), (std::vector<float>{6, 104}));
  EXPECT_EQ(out[1].tensor.shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(values<float>(out[1].tensor), (std::vector<float>{1, 3, 6, 104, 0, 0}));
}

TEST(ControlScan, MismatchedScanLengthsThrow) {
  Graph body;
  body.name = "b";
  body.inputs = {tensor_info("s_in"), tensor_info("a"), tensor_info("b")};
  body.nodes.push_back(node("Add", {"s_in", "a"}, {"s_out"}));
  body.outputs = {tensor_info("s_out")};
  Graph g;
  g.name = "scan";
  g.inputs = {tensor_info("s0"), tensor_info("x1"), tensor_info("x2")};
  g.outputs = {tensor_info("s")};
  g.nodes.push_back(
      node("Scan", {"s0", "x1", "x2"}, {"s"},
           {Attribute::of_graph("body", std::make_shared<Graph>(body)), Attribute::of_int("num_scan_inputs", 2)}));
  EXPECT_THROW(run(model_of(std::move(g), 11), {Value::of(f32({}, {0})), Value::of(f32({3}, {1, 2, 3})),
                                                Value::of(f32({2}, {1, 2}))}),
               Error);
}

// Sequences -----------------------------------------------------------------------------------------------------

Value seq(std::vector<Tensor> items) { return Value::of_sequence(std::move(items), DType::Float32); }

// One node reading a sequence `s` (and optionally a position or a tensor), returning whatever it returns.
std::vector<Value> run_seq_op(const std::string& op, Value s, std::vector<Value> more, std::vector<Attribute> attrs,
                              int opset = 13) {
  std::vector<In> in = {std::move(s)};
  for (Value& v : more) in.push_back(std::move(v));
  return run_values({op, "", opset}, in, std::move(attrs));
}

TEST(ControlSequence, NegativePositionsAndOutOfRange) {
  Value s = seq({f32({1}, {1}), f32({1}, {2}), f32({1}, {3})});
  EXPECT_EQ(values<float>(run_seq_op("SequenceAt", s, {Value::of(i64({}, {-1}))}, {})[0].tensor),
            (std::vector<float>{3}));
  EXPECT_THROW(run_seq_op("SequenceAt", s, {Value::of(i64({}, {3}))}, {}), Error);
  EXPECT_THROW(run_seq_op("SequenceAt", s, {Value::of(i64({}, {-4}))}, {}), Error);
  auto erased = run_seq_op("SequenceErase", s, {Value::of(i64({}, {-3}))}, {})[0];
  ASSERT_EQ(erased.sequence.size(), 2u);
  EXPECT_EQ(values<float>(erased.sequence[0]), (std::vector<float>{2}));
  EXPECT_THROW(run_seq_op("SequenceErase", seq({}), {}, {}), Error);
  // Insertion accepts position == length (append) but not beyond.
  auto ins = run_seq_op("SequenceInsert", s, {Value::of(f32({1}, {9})), Value::of(i64({}, {3}))}, {})[0];
  EXPECT_EQ(values<float>(ins.sequence[3]), (std::vector<float>{9}));
  EXPECT_THROW(run_seq_op("SequenceInsert", s, {Value::of(f32({1}, {9})), Value::of(i64({}, {4}))}, {}), Error);
  // The inserted tensor's type must be the sequence's.
  EXPECT_THROW(run_seq_op("SequenceInsert", s, {Value::of(i64v({9}))}, {}), Error);
  EXPECT_EQ(run_seq_op("SequenceLength", seq({}), {}, {})[0].tensor.get_int(0), 0);
}

TEST(ControlSequence, ConcatFromSequenceWithAndWithoutNewAxis) {
  Value s = seq({f32({2}, {1, 2}), f32({2}, {3, 4})});
  Tensor stacked =
      run_seq_op("ConcatFromSequence", s, {}, {Attribute::of_int("axis", -1), Attribute::of_int("new_axis", 1)})[0]
          .tensor;
  EXPECT_EQ(stacked.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(stacked), (std::vector<float>{1, 3, 2, 4}));
  Tensor joined = run_seq_op("ConcatFromSequence", s, {}, {Attribute::of_int("axis", 0)})[0].tensor;
  EXPECT_EQ(values<float>(joined), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_THROW(run_seq_op("ConcatFromSequence", s, {}, {Attribute::of_int("axis", 1)}), Error);
  EXPECT_THROW(run_seq_op("ConcatFromSequence", seq({}), {}, {Attribute::of_int("axis", 0)}), Error);
  EXPECT_THROW(run_seq_op("ConcatFromSequence", seq({f32({2}, {1, 2}), f32({3}, {1, 2, 3})}), {},
                          {Attribute::of_int("axis", 0), Attribute::of_int("new_axis", 1)}),
               Error);
}

std::vector<Value> split_to_sequence(Tensor x, std::optional<Tensor> split, std::vector<Attribute> attrs) {
  std::vector<In> in = {{"x", x}};
  if (split) in.push_back({"split", *split});
  return run_values({"SplitToSequence", "", 13}, in, std::move(attrs));
}

TEST(ControlSequence, SplitToSequenceScalarSplitAndErrors) {
  Tensor x = f32({5}, {1, 2, 3, 4, 5});
  auto parts = split_to_sequence(x, i64({}, {2}), {})[0].sequence;
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(values<float>(parts[2]), (std::vector<float>{5}));
  auto singles = split_to_sequence(x, std::nullopt, {Attribute::of_int("keepdims", 0)})[0].sequence;
  ASSERT_EQ(singles.size(), 5u);
  EXPECT_EQ(singles[4].rank(), 0);
  EXPECT_EQ(values<float>(singles[4]), (std::vector<float>{5}));
  EXPECT_THROW(split_to_sequence(x, i64v({2, 2}), {}), Error);
  EXPECT_THROW(split_to_sequence(x, i64({}, {0}), {}), Error);
  EXPECT_THROW(split_to_sequence(x, std::nullopt, {Attribute::of_int("axis", 1)}), Error);
}

TEST(ControlSequence, SequenceMapOverSequenceAndTensor) {
  Graph body;
  body.name = "body";
  body.inputs = {tensor_info("a"), tensor_info("b")};
  body.nodes.push_back(node("Mul", {"a", "b"}, {"c"}));
  body.outputs = {tensor_info("c")};
  Graph g;
  g.name = "map";
  g.inputs = {seq_info("s"), tensor_info("k")};
  g.outputs = {seq_info("out")};
  g.nodes.push_back(
      node("SequenceMap", {"s", "k"}, {"out"}, {Attribute::of_graph("body", std::make_shared<Graph>(body))}));
  Model m = model_of(std::move(g), 17);
  auto out = run(m, {seq({f32({2}, {1, 2}), f32({1}, {3})}), Value::of(f32({}, {10}))})[0];
  ASSERT_EQ(out.sequence.size(), 2u);
  EXPECT_EQ(values<float>(out.sequence[0]), (std::vector<float>{10, 20}));
  EXPECT_EQ(values<float>(out.sequence[1]), (std::vector<float>{30}));
  auto empty = run(m, {seq({}), Value::of(f32({}, {10}))})[0];
  EXPECT_TRUE(empty.is_sequence());
  EXPECT_EQ(empty.sequence.size(), 0u);
  EXPECT_EQ(empty.sequence_elem, DType::Float32);
}

// Optionals -------------------------------------------------------------------------------------------------------

TEST(ControlOptional, GetElementOfEmptyOptionalThrows) {
  Graph g;
  g.name = "opt";
  TypeInfo opt;
  opt.kind = TypeInfo::Kind::Optional;
  opt.inner = std::make_shared<TypeInfo>(TypeInfo::tensor(DType::Float32));
  g.inputs = {{"o", opt, ""}};
  g.outputs = {tensor_info("has", DType::Bool), tensor_info("v")};
  g.nodes.push_back(node("OptionalHasElement", {"o"}, {"has"}));
  g.nodes.push_back(node("OptionalGetElement", {"o"}, {"v"}));
  Model m = model_of(std::move(g), 18);
  auto full = run(m, {Value::of(f32({2}, {1, 2}))});
  EXPECT_EQ(full[0].tensor.get_int(0), 1);
  EXPECT_EQ(values<float>(full[1].tensor), (std::vector<float>{1, 2}));
  EXPECT_THROW(run(m, {Value{}}), Error);
}

// Recurrent ops ---------------------------------------------------------------------------------------------------

// One recurrent node over fed X, W, R, B (and optionally sequence_lens); returns Y and Y_h.
std::vector<Value> run_rnn(const std::string& op, const Tensor& x, const Tensor& w, const Tensor& r, const Tensor& b,
                           std::vector<Attribute> attrs, std::optional<Tensor> lens = std::nullopt, int opset = 14) {
  std::vector<In> in = {{"X", x}, {"W", w}, {"R", r}, {"B", b}};
  if (lens) in.push_back({"lens", *lens});
  return run_values({op, "", opset, 2}, in, std::move(attrs));
}

// Deterministic small values in [-0.5, 0.5).
Tensor pattern(Shape s, int seed) {
  Tensor t(DType::Float32, std::move(s));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = static_cast<float>(((i * 37 + seed * 11) % 23) - 11) / 23.0f;
  return t;
}

TEST(ControlRecurrent, SimpleRnnMatchesHandComputation) {
  // H = I = 1, batch 1, two steps: h1 = tanh(0.5 * 1 + 0.1), h2 = tanh(0.5 * 2 + 0.25 * h1 + 0.1).
  auto out = run_rnn("RNN", f32({2, 1, 1}, {1, 2}), f32({1, 1, 1}, {0.5f}), f32({1, 1, 1}, {0.25f}),
                     f32({1, 2}, {0.04f, 0.06f}), {Attribute::of_int("hidden_size", 1)});
  double h1 = std::tanh(0.6), h2 = std::tanh(1.1 + 0.25 * h1);
  ASSERT_EQ(out[0].tensor.shape(), (Shape{2, 1, 1, 1}));
  EXPECT_NEAR(out[0].tensor.get_double(0), h1, 1e-6);
  EXPECT_NEAR(out[0].tensor.get_double(1), h2, 1e-6);
  EXPECT_NEAR(out[1].tensor.get_double(0), h2, 1e-6);
}

// Reversing the sequence and running in reverse gives the forward outputs, reversed in time.
TEST(ControlRecurrent, ReverseIsForwardOnReversedInput) {
  const int64_t seq = 3, batch = 2, in = 3, hid = 2;
  for (auto [op, gates] : std::vector<std::pair<std::string, int>>{{"RNN", 1}, {"GRU", 3}, {"LSTM", 4}}) {
    Tensor x = pattern({seq, batch, in}, 1), w = pattern({1, gates * hid, in}, 2), r = pattern({1, gates * hid, hid}, 3),
           b = pattern({1, 2 * gates * hid}, 4);
    Tensor xr(DType::Float32, x.shape());
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t k = 0; k < batch * in; ++k) xr.data<float>()[t * batch * in + k] = x.data<float>()[(seq - 1 - t) * batch * in + k];
    auto fwd = run_rnn(op, x, w, r, b, {Attribute::of_int("hidden_size", hid)});
    auto rev =
        run_rnn(op, xr, w, r, b, {Attribute::of_int("hidden_size", hid), Attribute::of_string("direction", "reverse")});
    for (int64_t t = 0; t < seq; ++t)
      for (int64_t k = 0; k < batch * hid; ++k)
        EXPECT_NEAR(fwd[0].tensor.get_double(t * batch * hid + k), rev[0].tensor.get_double((seq - 1 - t) * batch * hid + k), 1e-6)
            << op;
    EXPECT_EQ(values<float>(fwd[1].tensor), values<float>(rev[1].tensor)) << op;
  }
}

TEST(ControlRecurrent, BidirectionalLayout1AndSequenceLens) {
  const int64_t seq = 3, batch = 2, in = 2, hid = 3, gates = 4;
  Tensor x = pattern({seq, batch, in}, 5), w = pattern({2, gates * hid, in}, 6), r = pattern({2, gates * hid, hid}, 7),
         b = pattern({2, 2 * gates * hid}, 8);
  Tensor lens(DType::Int32, {batch});
  lens.data<int32_t>()[0] = 3;
  lens.data<int32_t>()[1] = 2;
  std::vector<Attribute> attrs = {Attribute::of_int("hidden_size", hid),
                                  Attribute::of_string("direction", "bidirectional"),
                                  Attribute::of_float("clip", 0.3f)};
  auto l0 = run_rnn("LSTM", x, w, r, b, attrs, lens);
  ASSERT_EQ(l0[0].tensor.shape(), (Shape{seq, 2, batch, hid}));
  ASSERT_EQ(l0[1].tensor.shape(), (Shape{2, batch, hid}));
  // Batch entry 1 stops after 2 steps: Y is zero at t = 2, Y_h forward is Y at t = 1, Y_h reverse is Y at t = 0.
  auto y = [&](const Tensor& t, int64_t s, int64_t d, int64_t bb, int64_t u) { return t.get_double(((s * 2 + d) * batch + bb) * hid + u); };
  for (int64_t u = 0; u < hid; ++u) {
    EXPECT_EQ(y(l0[0].tensor, 2, 0, 1, u), 0.0);
    EXPECT_EQ(y(l0[0].tensor, 2, 1, 1, u), 0.0);
    EXPECT_EQ(l0[1].tensor.get_double((0 * batch + 1) * hid + u), y(l0[0].tensor, 1, 0, 1, u));
    EXPECT_EQ(l0[1].tensor.get_double((1 * batch + 1) * hid + u), y(l0[0].tensor, 0, 1, 1, u));
    EXPECT_NE(y(l0[0].tensor, 2, 0, 0, u), 0.0);
  }
  // Layout 1: the same numbers with batch first.
  Tensor xb(DType::Float32, {batch, seq, in});
  for (int64_t s = 0; s < seq; ++s)
    for (int64_t bb = 0; bb < batch; ++bb)
      for (int64_t i = 0; i < in; ++i) xb.data<float>()[(bb * seq + s) * in + i] = x.data<float>()[(s * batch + bb) * in + i];
  attrs.push_back(Attribute::of_int("layout", 1));
  auto l1 = run_rnn("LSTM", xb, w, r, b, attrs, lens);
  ASSERT_EQ(l1[0].tensor.shape(), (Shape{batch, seq, 2, hid}));
  ASSERT_EQ(l1[1].tensor.shape(), (Shape{batch, 2, hid}));
  for (int64_t s = 0; s < seq; ++s)
    for (int64_t d = 0; d < 2; ++d)
      for (int64_t bb = 0; bb < batch; ++bb)
        for (int64_t u = 0; u < hid; ++u)
          EXPECT_EQ(l1[0].tensor.get_double(((bb * seq + s) * 2 + d) * hid + u), y(l0[0].tensor, s, d, bb, u));
}

TEST(ControlRecurrent, GruLinearBeforeResetChangesTheResult) {
  Tensor x = pattern({2, 1, 2}, 1), w = pattern({1, 6, 2}, 2), r = pattern({1, 6, 2}, 3), b = pattern({1, 12}, 4);
  auto a = run_rnn("GRU", x, w, r, b, {Attribute::of_int("hidden_size", 2)});
  auto c = run_rnn("GRU", x, w, r, b, {Attribute::of_int("hidden_size", 2), Attribute::of_int("linear_before_reset", 1)});
  EXPECT_NE(values<float>(a[1].tensor), values<float>(c[1].tensor));
}

TEST(ControlRecurrent, CustomActivationsWithAlphaBeta) {
  // RNN with Affine(alpha=2, beta=1): h = 2 * (0.5 x) + 1, R = 0.
  auto out = run_rnn("RNN", f32({1, 1, 1}, {3}), f32({1, 1, 1}, {0.5f}), f32({1, 1, 1}, {0}), f32({1, 2}, {0, 0}),
                     {Attribute::of_int("hidden_size", 1), Attribute::of_strings("activations", {"Affine"}),
                      Attribute::of_floats("activation_alpha", {2}),
                      Attribute::of_floats("activation_beta", {1})});
  EXPECT_NEAR(out[1].tensor.get_double(0), 4.0, 1e-6);
}

TEST(ControlRecurrent, BadAttributesAndShapesThrow) {
  Tensor x = pattern({2, 1, 2}, 1), w = pattern({1, 4, 2}, 2), r = pattern({1, 4, 4}, 3), b = pattern({1, 8}, 4);
  EXPECT_THROW(
      run_rnn("RNN", x, w, r, b, {Attribute::of_int("hidden_size", 4), Attribute::of_string("direction", "sideways")}),
      Error);
  EXPECT_THROW(run_rnn("RNN", x, w, r, b,
                       {Attribute::of_int("hidden_size", 4), Attribute::of_strings("activations", {"Swish"})}),
               Error);
  EXPECT_THROW(run_rnn("RNN", x, w, r, b, {Attribute::of_int("hidden_size", 3)}), Error);
  EXPECT_THROW(run_rnn("RNN", x, pattern({1, 4, 3}, 2), r, b, {Attribute::of_int("hidden_size", 4)}), Error);
  Tensor lens(DType::Int32, {1});
  lens.data<int32_t>()[0] = 3;  // longer than the sequence
  EXPECT_THROW(run_rnn("RNN", x, w, r, b, {Attribute::of_int("hidden_size", 4)}, lens), Error);
}

TEST(ControlRecurrent, OutputShapesAreInferredFromXAndAttributes) {
  Graph g;
  g.name = "gru";
  g.inputs = {{"X", TypeInfo::tensor(DType::Float32, SymShape{Dim::named("T"), Dim(2), Dim(3)}), ""}};
  g.initializers["W"] = pattern({2, 12, 3}, 1);
  g.initializers["R"] = pattern({2, 12, 4}, 2);
  g.outputs = {tensor_info("Y"), tensor_info("Y_h")};
  g.nodes.push_back(node("GRU", {"X", "W", "R"}, {"Y", "Y_h"}, {Attribute::of_string("direction", "bidirectional")}));
  Session s(model_of(std::move(g), 14), {.threads = 1});
  Tensor x = pattern({5, 2, 3}, 3);
  const Plan& p = s.plan_for({Value::of(x)});
  EXPECT_EQ(sym_shape_str(*p.types.types.at("Y").shape), sym_shape_str(SymShape{Dim(5), Dim(2), Dim(2), Dim(4)}));
  EXPECT_EQ(sym_shape_str(*p.types.types.at("Y_h").shape), sym_shape_str(SymShape{Dim(2), Dim(2), Dim(4)}));
  auto out = s.run_values({Value::of(x)});
  EXPECT_EQ(out[0].tensor.shape(), (Shape{5, 2, 2, 4}));
}

}  // namespace
}  // namespace hone
