// ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp,
// ReduceSumSquare.
//
// Axes come from the `axes` attribute before the opset where they became an input (ReduceSum 13, the others 18);
// from then on an omitted or empty axes input reduces everything, or nothing when noop_with_empty_axes is set.
// Reducing an empty set gives the operation's identity: 0 for sums and norms, 1 for the product, the type's lowest
// (-inf) for Max, its highest (+inf) for Min, log(0) = -inf for LogSum and LogSumExp, 0/0 = NaN for Mean.
// Floats accumulate in double; integers in 64 bits with wrap-around (as numpy does in the element type).
#include <cmath>
#include <limits>

#include "ops/reduce/axes.h"

namespace hone {
namespace {

enum class Kind { Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare };

Kind kind_of(const Node& node) {
  const std::string& op = node.op_type;
  if (op == "ReduceSum") return Kind::Sum;
  if (op == "ReduceMean") return Kind::Mean;
  if (op == "ReduceMax") return Kind::Max;
  if (op == "ReduceMin") return Kind::Min;
  if (op == "ReduceProd") return Kind::Prod;
  if (op == "ReduceL1") return Kind::L1;
  if (op == "ReduceL2") return Kind::L2;
  if (op == "ReduceLogSum") return Kind::LogSum;
  if (op == "ReduceLogSumExp") return Kind::LogSumExp;
  return Kind::SumSquare;
}

// The axes list the node gives: from the attribute, or from input 1 (absent input = empty list).
std::vector<int64_t> node_axes(OpContext& ctx) {
  if (!reduce_axes_from_input(ctx.node(), ctx.opset())) return ctx.node().attr_ints("axes");
  if (!ctx.has_input(1)) return {};
  const Tensor& a = ctx.input(1);
  if (a.dtype() != DType::Int64) fail("{}: axes must be int64, got {}", ctx.node().label(), dtype_name(a.dtype()));
  if (a.rank() > 1) fail("{}: axes must be 1-D, got shape {}", ctx.node().label(), shape_str(a.shape()));
  return a.to_int64_vector();
}

ReduceAxes resolve(const Node& node, int64_t opset, const std::vector<int64_t>& axes, int64_t rank) {
  ReduceAxes r;
  if (axes.empty()) {
    r.noop = reduce_axes_from_input(node, opset) && node.attr_int("noop_with_empty_axes", 0) != 0;
    r.reduced.assign(static_cast<size_t>(rank), !r.noop);
    return r;
  }
  r.reduced = axis_flags(axes, rank, node);
  return r;
}

template <typename T>
constexpr bool kIsFloat = std::is_floating_point_v<T> || std::is_same_v<T, Float16> || std::is_same_v<T, BFloat16>;

// A: double for floats, int64_t / uint64_t for integers.
template <typename T>
using Acc = std::conditional_t<kIsFloat<T>, double, std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;

template <typename A>
A wrap_add(A a, A b) {
  if constexpr (std::is_integral_v<A>) return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  else return a + b;
}
template <typename A>
A wrap_mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  else return a * b;
}

template <typename T>
void reduce_typed(Kind kind, const Tensor& x, Tensor& y, const std::vector<bool>& reduced, bool is_bool) {
  using A = Acc<T>;
  const T* px = x.data<T>();
  T* py = y.data<T>();
  int64_t n_out = y.numel();
  if (n_out == 0) return;
  int64_t count = x.numel() / n_out;

  A init{};
  switch (kind) {
    case Kind::Prod: init = A(1); break;
    case Kind::Max:
      if constexpr (kIsFloat<T>) init = -std::numeric_limits<double>::infinity();
      else init = static_cast<A>(std::numeric_limits<T>::lowest());
      break;
    case Kind::Min:
      if constexpr (kIsFloat<T>) init = std::numeric_limits<double>::infinity();
      else init = is_bool ? A(1) : static_cast<A>(std::numeric_limits<T>::max());
      break;
    default: break;
  }
  std::vector<A> acc(static_cast<size_t>(n_out), init);
  auto in = [&](int64_t i) { return static_cast<A>(px[i]); };
  switch (kind) {
    case Kind::Sum:
    case Kind::Mean:
    case Kind::LogSum:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) { acc[o] = wrap_add(acc[o], in(i)); });
      break;
    case Kind::SumSquare:
    case Kind::L2:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) { acc[o] = wrap_add(acc[o], wrap_mul(in(i), in(i))); });
      break;
    case Kind::L1:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) {
        A v = in(i);
        if constexpr (std::is_signed_v<A>) v = v < 0 ? wrap_mul(v, A(-1)) : v;
        acc[o] = wrap_add(acc[o], v);
      });
      break;
    case Kind::Prod:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) { acc[o] = wrap_mul(acc[o], in(i)); });
      break;
    case Kind::Max:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) {
        A v = in(i);
        if (v != v || v > acc[o]) acc[o] = v;  // NaN sticks: nothing compares greater than it
      });
      break;
    case Kind::Min:
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) {
        A v = in(i);
        if (v != v || v < acc[o]) acc[o] = v;
      });
      break;
    case Kind::LogSumExp: {
      // log(sum(exp(x))) = m + log(sum(exp(x - m))), m = max: no overflow for large inputs.
      std::vector<double> mx(static_cast<size_t>(n_out), -std::numeric_limits<double>::infinity());
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) { mx[o] = std::max(mx[o], static_cast<double>(in(i))); });
      std::vector<double> s(static_cast<size_t>(n_out), 0.0);
      for_each_reduced(x.shape(), reduced, [&](int64_t i, int64_t o) {
        s[o] += std::isinf(mx[o]) ? std::exp(static_cast<double>(in(i))) : std::exp(static_cast<double>(in(i)) - mx[o]);
      });
      for (int64_t o = 0; o < n_out; ++o)
        py[o] = static_cast<T>(std::isinf(mx[o]) ? std::log(s[o]) : mx[o] + std::log(s[o]));
      return;
    }
  }
  for (int64_t o = 0; o < n_out; ++o) {
    A a = acc[static_cast<size_t>(o)];
    switch (kind) {
      case Kind::Mean:
        if constexpr (kIsFloat<T>) py[o] = static_cast<T>(a / static_cast<double>(count));
        else py[o] = count == 0 ? T(0) : static_cast<T>(a / static_cast<A>(count));
        break;
      case Kind::L2: py[o] = static_cast<T>(std::sqrt(static_cast<double>(a))); break;
      case Kind::LogSum: py[o] = static_cast<T>(std::log(static_cast<double>(a))); break;
      default: py[o] = static_cast<T>(a); break;
    }
  }
}

void reduce(OpContext& ctx) {
  const Node& node = ctx.node();
  const Tensor& x = ctx.input(0);
  Kind kind = kind_of(node);
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  ReduceAxes ax = resolve(node, ctx.opset(), node_axes(ctx), x.rank());
  if (ax.noop) {
    Tensor& y = ctx.output_uninitialized(0, x.dtype(), x.shape());
    if (x.numel() > 0) copy_elements(x, 0, y, 0, x.numel());
    return;
  }
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), reduced_shape(x.shape(), ax.reduced, keepdims));
  if (x.dtype() == DType::Bool) {
    if (kind != Kind::Max && kind != Kind::Min)
      fail("{}: element type bool is not supported", node.label());
    reduce_typed<uint8_t>(kind, x, y, ax.reduced, true);
    return;
  }
  HONE_DISPATCH_NUMERIC(x.dtype(), node, reduce_typed<T>(kind, x, y, ax.reduced, false));
}

void infer_reduce(InferenceContext& ctx) {
  if (!ctx.has_input(0)) return;
  const Node& node = ctx.node();
  DType dt = ctx.input_dtype(0);
  const SymShape* in = ctx.input_shape(0);
  if (!in) {
    ctx.set_output_tensor(0, dt, std::nullopt);
    return;
  }
  int64_t rank = static_cast<int64_t>(in->size());
  bool keepdims = node.attr_int("keepdims", 1) != 0;
  std::optional<std::vector<int64_t>> axes;
  int64_t axes_count = -1;  // known length of an unknown axes input
  if (!reduce_axes_from_input(node, ctx.opset())) {
    axes = node.attr_ints("axes");
  } else if (!ctx.has_input(1)) {
    axes = std::vector<int64_t>{};
  } else if (const Tensor* a = ctx.input_value(1)) {
    axes = a->to_int64_vector();
  } else if (const SymShape* as = ctx.input_shape(1); as && as->size() == 1 && (*as)[0].known()) {
    axes_count = (*as)[0].value;
    if (axes_count == 0) axes = std::vector<int64_t>{};
  }
  if (!axes) {
    if (keepdims) {
      SymShape out(*in);
      for (Dim& d : out)
        if (!(d.known() && d.value == 1)) d = Dim();
      ctx.set_output_tensor(0, dt, out);
    } else if (axes_count > 0 && axes_count <= rank) {
      ctx.set_output_tensor(0, dt, SymShape(static_cast<size_t>(rank - axes_count)));
    } else {
      ctx.set_output_tensor(0, dt, std::nullopt);
    }
    return;
  }
  ReduceAxes ax = resolve(node, ctx.opset(), *axes, rank);
  if (ax.noop) {
    ctx.set_output_tensor(0, dt, *in);
    return;
  }
  SymShape out;
  for (size_t d = 0; d < in->size(); ++d) {
    if (!ax.reduced[d]) out.push_back((*in)[d]);
    else if (keepdims) out.push_back(Dim(1));
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

#define HONE_REDUCE_OP(NAME, SWITCH)                                                                 \
  HONE_REGISTER_OP({.name = NAME, .since = 1, .until = SWITCH - 1, .infer = infer_reduce, .compute = reduce}); \
  HONE_REGISTER_OP({.name = NAME, .since = SWITCH, .infer = infer_reduce, .compute = reduce})

HONE_REDUCE_OP("ReduceSum", 13);
HONE_REDUCE_OP("ReduceMean", 18);
HONE_REDUCE_OP("ReduceMax", 18);
HONE_REDUCE_OP("ReduceMin", 18);
HONE_REDUCE_OP("ReduceProd", 18);
HONE_REDUCE_OP("ReduceL1", 18);
HONE_REDUCE_OP("ReduceL2", 18);
HONE_REDUCE_OP("ReduceLogSum", 18);
HONE_REDUCE_OP("ReduceLogSumExp", 18);
HONE_REDUCE_OP("ReduceSumSquare", 18);

}  // namespace hone
