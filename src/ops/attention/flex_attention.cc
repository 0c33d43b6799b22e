// FlexAttention (ai.onnx.preview opset 1): scaled dot-product attention over rank-4 Q [B, Hq, L, E],
// K [B, Hkv, S, E], V [B, Hkv, S, Ev] with two optional user subgraphs, each taking and returning the whole
// [B, Hq, L, S] tensor: score_mod after (Q K^T) * scale, prob_mod after Softmax. Query head h uses K/V head
// h / (Hq / Hkv) (grouped-query attention whenever Hq != Hkv).
//
// Precision follows the op's function body: sqrt(scale) is formed in float32 and multiplied into Q and K in the
// input type; the scores are cast to the softmax type (softmax_precision, by default double for double inputs and
// float32 otherwise), which is the type the subgraphs see; Probs @ V runs in the softmax type and is cast back.
// A row whose scores are all -inf (fully masked by score_mod) gives NaN, as Softmax does.
#include <cmath>
#include <limits>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

struct FlexDims {
  int64_t batch = 0, q_heads = 0, kv_heads = 0, q_seq = 0, kv_seq = 0, head = 0, v_head = 0;
};

FlexDims flex_dims(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& q = ctx.input(0);
  const Tensor& k = ctx.input(1);
  const Tensor& v = ctx.input(2);
  if (q.rank() != 4 || k.rank() != 4 || v.rank() != 4)
    fail("{}: Q, K and V must be rank 4 (got {}, {}, {})", n.label(), shape_str(q.shape()), shape_str(k.shape()),
         shape_str(v.shape()));
  if (k.dtype() != q.dtype() || v.dtype() != q.dtype())
    fail("{}: Q, K and V must share one element type (got {}, {}, {})", n.label(), dtype_name(q.dtype()),
         dtype_name(k.dtype()), dtype_name(v.dtype()));
  if (q.dtype() != DType::Float32 && q.dtype() != DType::Float64 && q.dtype() != DType::Float16 &&
      q.dtype() != DType::BFloat16)
    fail("{}: Q, K and V must be float, float16, bfloat16 or double (got {})", n.label(), dtype_name(q.dtype()));
  FlexDims d{q.dim(0), q.dim(1), k.dim(1), q.dim(2), k.dim(2), q.dim(3), v.dim(3)};
  if (k.dim(0) != d.batch || v.dim(0) != d.batch) fail("{}: Q, K and V have different batch sizes", n.label());
  if (v.dim(1) != d.kv_heads || v.dim(2) != d.kv_seq)
    fail("{}: K {} and V {} differ in heads or sequence length", n.label(), shape_str(k.shape()), shape_str(v.shape()));
  if (k.dim(3) != d.head) fail("{}: Q and K head sizes differ ({} and {})", n.label(), d.head, k.dim(3));
  if (d.kv_heads == 0 ? d.q_heads != 0 : d.q_heads % d.kv_heads != 0)
    fail("{}: Q heads ({}) must be a multiple of K/V heads ({})", n.label(), d.q_heads, d.kv_heads);
  return d;
}

// The element type the scores, the subgraphs and the softmax use.
DType softmax_type(const Node& n, DType input) {
  if (!n.has_attr("softmax_precision")) return input == DType::Float64 ? DType::Float64 : DType::Float32;
  auto t = static_cast<DType>(n.attr_int("softmax_precision", 0));
  if (t != DType::Float32 && t != DType::Float64 && t != DType::Float16 && t != DType::BFloat16)
    fail("{}: softmax_precision {} is not a float type", n.label(), n.attr_int("softmax_precision", 0));
  return t;
}

// The modifier graph named `name`, or null; it must take one tensor and give one.
const Graph* modifier(const Node& n, const char* name) {
  const Attribute* a = n.find_attr(name);
  if (!a) return nullptr;
  if (a->type != Attribute::Type::Graph || !a->g) fail("{}: attribute '{}' must be a graph", n.label(), name);
  if (a->g->inputs.size() != 1 || a->g->outputs.size() != 1)
    fail("{}: {} must have one input and one output (has {} and {})", n.label(), name, a->g->inputs.size(),
         a->g->outputs.size());
  return a->g.get();
}

// Runs a modifier on `values` (shape `shape`, type `t`) and returns its result, checked to keep the shape.
std::vector<double> run_modifier(OpContext& ctx, const Graph& g, const char* name, const std::vector<double>& values,
                                 const Shape& shape, DType t) {
  const Node& n = ctx.node();
  Tensor in(t, shape);
  store_float_values(in, values, n);
  std::vector<Value> out = ctx.subgraphs().run(g, {Value::of(std::move(in))});
  if (out.empty() || !out[0].is_tensor()) fail("{}: {} must produce a tensor", n.label(), name);
  const Tensor& r = out[0].tensor;
  if (r.shape() != shape)
    fail("{}: {} changed the shape {} to {}", n.label(), name, shape_str(shape), shape_str(r.shape()));
  if (!is_float(r.dtype())) fail("{}: {} produced {}, a float type is needed", n.label(), name, dtype_name(r.dtype()));
  std::vector<double> v = float_values(r, n);
  for (double& x : v) x = round_to_dtype(x, t);
  return v;
}

void flex_attention(OpContext& ctx) {
  const Node& n = ctx.node();
  // mask_mod belongs to a draft of the op with per-element modifiers; ignoring it would silently change results.
  if (n.has_attr("mask_mod"))
    fail("{}: attribute 'mask_mod' is not part of FlexAttention-1 (mask by writing -inf in score_mod)", n.label());
  FlexDims d = flex_dims(ctx);
  DType dt = ctx.input(0).dtype();
  DType st = softmax_type(n, dt);
  const Graph* score_mod = modifier(n, "score_mod");
  const Graph* prob_mod = modifier(n, "prob_mod");

  float scale = n.has_attr("scale") ? n.attr_float("scale", 1.0f)
                                    : 1.0f / std::sqrt(static_cast<float>(d.head));
  double sqrt_scale = round_to_dtype(std::sqrt(scale), dt);
  std::vector<double> q = float_values(ctx.input(0), n);
  std::vector<double> k = float_values(ctx.input(1), n);
  std::vector<double> v = float_values(ctx.input(2), n);
  for (double& x : q) x = round_to_dtype(x * sqrt_scale, dt);
  for (double& x : k) x = round_to_dtype(x * sqrt_scale, dt);
  for (double& x : v) x = round_to_dtype(x, st);

  int64_t group = d.kv_heads == 0 ? 1 : d.q_heads / d.kv_heads;
  auto kv_base = [&](int64_t b, int64_t h) { return b * d.kv_heads + h / group; };
  Shape score_shape = {d.batch, d.q_heads, d.q_seq, d.kv_seq};
  std::vector<double> scores(static_cast<size_t>(shape_numel(score_shape)));
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.q_heads; ++h)
      for (int64_t i = 0; i < d.q_seq; ++i) {
        const double* qi = &q[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.head)];
        for (int64_t j = 0; j < d.kv_seq; ++j) {
          const double* kj = &k[static_cast<size_t>((kv_base(b, h) * d.kv_seq + j) * d.head)];
          double s = 0;
          for (int64_t c = 0; c < d.head; ++c) s += qi[c] * kj[c];
          // MatMul yields the input type; the cast to the softmax type follows.
          scores[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.kv_seq + j)] =
              round_to_dtype(round_to_dtype(s, dt), st);
        }
      }
  if (score_mod) scores = run_modifier(ctx, *score_mod, "score_mod", scores, score_shape, st);

  std::vector<double>& probs = scores;  // softmax in place, row by row
  for (size_t row = 0; d.kv_seq > 0 && row < probs.size(); row += static_cast<size_t>(d.kv_seq)) {
    double* p = &probs[row];
    double max = p[0];
    for (int64_t j = 1; j < d.kv_seq; ++j) max = std::max(max, p[j]);
    double sum = 0;
    for (int64_t j = 0; j < d.kv_seq; ++j) sum += std::exp(p[j] - max);
    for (int64_t j = 0; j < d.kv_seq; ++j) p[j] = round_to_dtype(std::exp(p[j] - max) / sum, st);
  }
  if (prob_mod) probs = run_modifier(ctx, *prob_mod, "prob_mod", probs, score_shape, st);

  std::vector<double> y(static_cast<size_t>(d.batch * d.q_heads * d.q_seq * d.v_head));
  for (int64_t b = 0; b < d.batch; ++b)
    for (int64_t h = 0; h < d.q_heads; ++h)
      for (int64_t i = 0; i < d.q_seq; ++i) {
        const double* p = &probs[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.kv_seq)];
        for (int64_t c = 0; c < d.v_head; ++c) {
          double acc = 0;
          for (int64_t j = 0; j < d.kv_seq; ++j)
            acc += p[j] * v[static_cast<size_t>((kv_base(b, h) * d.kv_seq + j) * d.v_head + c)];
          y[static_cast<size_t>(((b * d.q_heads + h) * d.q_seq + i) * d.v_head + c)] = round_to_dtype(acc, st);
        }
      }
  store_float_values(ctx.output_uninitialized(0, dt, {d.batch, d.q_heads, d.q_seq, d.v_head}), y, n);
}

// Y: Q's type, shape [B, Hq, L, Ev].
void infer_flex_attention(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  const SymShape* q = ctx.input_shape(0);
  const SymShape* v = ctx.input_shape(2);
  std::optional<SymShape> out;
  if (q && v && q->size() == 4 && v->size() == 4) out = SymShape{(*q)[0], (*q)[1], (*q)[2], (*v)[3]};
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.preview", .name = "FlexAttention", .since = 1, .infer = infer_flex_attention,
                  .compute = flex_attention});

}  // namespace hone
