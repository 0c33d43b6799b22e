// ai.onnx.preview.training optimizers (opset 1): Adagrad, Momentum (standard and Nesterov) and Adam. Each node takes
// a learning rate R, a step count T, then n tensors per group (X..., G..., and the optimizer state V... / H...), and
// returns the updated X... and state, in that order. Arithmetic is in double, stored back in each tensor's type.
#include <cmath>

#include "ops/op_helpers.h"

namespace hone {
namespace {

// Input groups after R and T: X, G, then state; `state_groups` of them (Adagrad: H; Momentum: V; Adam: V, H).
struct OptimizerIO {
  size_t n = 0;  // tensors per group
  size_t state_groups = 0;
};

OptimizerIO layout(const Node& n, size_t num_inputs, size_t num_outputs, size_t state_groups) {
  size_t groups = 2 + state_groups;
  if (num_inputs < 2 + groups || (num_inputs - 2) % groups != 0)
    fail("{}: expected R, T and {} groups of tensors, got {} inputs", n.label(), groups, num_inputs);
  OptimizerIO io{(num_inputs - 2) / groups, state_groups};
  if (num_outputs != io.n * (1 + state_groups))
    fail("{}: expected {} outputs for {} tensors, got {}", n.label(), io.n * (1 + state_groups), io.n, num_outputs);
  return io;
}

// Output j is the update of input group 0 (X) or of a state group (2, 3, ...).
size_t input_for_output(const OptimizerIO& io, size_t j) {
  size_t group = j / io.n, i = j % io.n;
  return 2 + (group == 0 ? 0 : group + 1) * io.n + i;
}

float required_float(const Node& n, const char* name) {
  const Attribute* a = n.find_attr(name);
  if (!a) fail("{}: missing required attribute '{}'", n.label(), name);
  return a->f;
}

double scalar_of(OpContext& ctx, size_t i, const char* what) {
  const Tensor& t = ctx.input(i);
  if (t.numel() != 1) fail("{}: {} must hold one value, got shape {}", ctx.node().label(), what, shape_str(t.shape()));
  return t.get_double(0);
}

// Runs `update(i, x, g, state, out)` over every element of tensor set i, where `state` and `out` hold one pointer
// per state group (out[0] is X's update).
template <typename Update>
void run_optimizer(OpContext& ctx, size_t state_groups, Update update) {
  const Node& n = ctx.node();
  OptimizerIO io = layout(n, ctx.num_inputs(), ctx.num_outputs(), state_groups);
  for (size_t i = 0; i < io.n; ++i) {
    const Tensor& x = ctx.input(2 + i);
    const Tensor& g = ctx.input(2 + io.n + i);
    std::vector<const Tensor*> state;
    for (size_t s = 0; s < state_groups; ++s) state.push_back(&ctx.input(2 + (2 + s) * io.n + i));
    std::vector<const Tensor*> operands = state;
    operands.push_back(&g);
    for (const Tensor* t : operands)
      if (t->shape() != x.shape() || t->dtype() != x.dtype())
        fail("{}: tensor set {} mixes {}[{}] and {}[{}]", n.label(), i, dtype_name(x.dtype()), shape_str(x.shape()),
             dtype_name(t->dtype()), shape_str(t->shape()));
    std::vector<Tensor*> out;
    for (size_t s = 0; s <= state_groups; ++s)
      out.push_back(&ctx.output_uninitialized(s * io.n + i, x.dtype(), x.shape()));
    HONE_DISPATCH_FLOAT(x.dtype(), n, {
      for (int64_t k = 0; k < x.numel(); ++k) {
        double st[2] = {0, 0}, res[3] = {0, 0, 0};
        for (size_t s = 0; s < state_groups; ++s) st[s] = static_cast<double>(state[s]->data<T>()[k]);
        update(static_cast<double>(x.data<T>()[k]), static_cast<double>(g.data<T>()[k]), st, res);
        for (size_t s = 0; s <= state_groups; ++s) out[s]->data<T>()[k] = static_cast<T>(res[s]);
      }
    });
  }
}

void adagrad(OpContext& ctx) {
  const Node& n = ctx.node();
  double r = scalar_of(ctx, 0, "R"), t = scalar_of(ctx, 1, "T");
  double decay = n.attr_float("decay_factor", 0.0f), eps = n.attr_float("epsilon", 0.0f);
  double norm = n.attr_float("norm_coefficient", 0.0f);
  double rate = r / (1 + t * decay);
  run_optimizer(ctx, 1, [&](double x, double g, const double* st, double* res) {
    double gr = norm * x + g;
    double h = st[0] + gr * gr;
    res[0] = x - rate * gr / (std::sqrt(h) + eps);
    res[1] = h;
  });
}

void momentum(OpContext& ctx) {
  const Node& n = ctx.node();
  double r = scalar_of(ctx, 0, "R"), t = scalar_of(ctx, 1, "T");
  double alpha = required_float(n, "alpha"), beta = required_float(n, "beta");
  double norm = required_float(n, "norm_coefficient");
  std::string mode = n.attr_string("mode", "");
  if (mode != "standard" && mode != "nesterov")
    fail("{}: mode must be 'standard' or 'nesterov', got '{}'", n.label(), mode);
  bool nesterov = mode == "nesterov";
  double beta_t = t > 0 ? beta : 1.0;  // the gradient's coefficient is 1 at the first step
  run_optimizer(ctx, 1, [&](double x, double g, const double* st, double* res) {
    double gr = norm * x + g;
    double v = alpha * st[0] + beta_t * gr;
    res[0] = nesterov ? x - r * (gr + alpha * v) : x - r * v;
    res[1] = v;
  });
}

void adam(OpContext& ctx) {
  const Node& n = ctx.node();
  double r = scalar_of(ctx, 0, "R"), t = scalar_of(ctx, 1, "T");
  double alpha = n.attr_float("alpha", 0.9f), beta = n.attr_float("beta", 0.999f);
  double eps = n.attr_float("epsilon", 0.0f);
  double norm = n.attr_float("norm_coefficient", 0.0f), norm_post = n.attr_float("norm_coefficient_post", 0.0f);
  // Bias correction of both momenta, from the second step on.
  double rate = t > 0 ? r * std::sqrt(1 - std::pow(beta, t)) / (1 - std::pow(alpha, t)) : r;
  run_optimizer(ctx, 2, [&](double x, double g, const double* st, double* res) {
    double gr = norm * x + g;
    double v = alpha * st[0] + (1 - alpha) * gr;
    double h = beta * st[1] + (1 - beta) * gr * gr;
    double x_new = x - rate * (v / (std::sqrt(h) + eps));
    res[0] = (1 - norm_post) * x_new;
    res[1] = v;
    res[2] = h;
  });
}

template <size_t StateGroups>
void infer_optimizer(InferenceContext& ctx) {
  OptimizerIO io = layout(ctx.node(), ctx.num_inputs(), ctx.num_outputs(), StateGroups);
  for (size_t j = 0; j < ctx.num_outputs(); ++j) ctx.set_output(j, ctx.input_type(input_for_output(io, j)));
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.preview.training", .name = "Adagrad", .since = 1, .infer = infer_optimizer<1>,
                  .compute = adagrad});
HONE_REGISTER_OP({.domain = "ai.onnx.preview.training", .name = "Momentum", .since = 1, .infer = infer_optimizer<1>,
                  .compute = momentum});
HONE_REGISTER_OP({.domain = "ai.onnx.preview.training", .name = "Adam", .since = 1, .infer = infer_optimizer<2>,
                  .compute = adam});

}  // namespace hone
