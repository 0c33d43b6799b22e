// Random generators: RandomNormal, RandomUniform (fixed shape from an attribute), RandomNormalLike,
// RandomUniformLike (shape of the input), Bernoulli and Multinomial. Registered non-deterministic, so the planner
// never folds them. With a `seed` attribute each run draws the same numbers (std::mt19937 seeded from the seed's
// bits); without one each run draws fresh numbers. No other engine's random stream is reproduced.
#include <bit>
#include <climits>
#include <cmath>
#include <random>

#include "ops/op_helpers.h"

namespace hone {
namespace {

std::mt19937 make_generator(const Node& n) {
  if (const Attribute* a = n.find_attr("seed")) return std::mt19937(std::bit_cast<uint32_t>(a->f));
  std::random_device device;
  return std::mt19937(device());
}

// The `dtype` attribute as an element type; throws on a code that names none.
DType dtype_attr(const Node& n, int64_t def) {
  int64_t code = n.attr_int("dtype", def);
  if (code < INT32_MIN || code > INT32_MAX || !dtype_is_valid(static_cast<int32_t>(code)))
    fail("{}: dtype {} is not an element type", n.label(), code);
  return static_cast<DType>(code);
}

// Output type from the `dtype` attribute, else `fallback`; must be a float type for the normal/uniform generators.
DType float_dtype_of(const Node& n, DType fallback) {
  DType t = n.has_attr("dtype") ? dtype_attr(n, 1) : fallback;
  if (!n.has_attr("dtype") && fallback == DType::Undefined) return t;  // input type not known yet
  if (t != DType::Float32 && t != DType::Float64 && t != DType::Float16 && t != DType::BFloat16)
    fail("{}: dtype must be a float type, got {}", n.label(), dtype_name(t));
  return t;
}

Shape shape_attr(const Node& n) {
  const Attribute* a = n.find_attr("shape");
  if (!a) fail("{}: missing required attribute 'shape'", n.label());
  for (int64_t d : a->ints)
    if (d < 0) fail("{}: shape dims must be >= 0, got {}", n.label(), d);
  return a->ints;
}

enum class Distribution { Normal, Uniform };

template <Distribution D>
void fill_random(OpContext& ctx, DType dtype, const Shape& shape) {
  const Node& n = ctx.node();
  std::mt19937 gen = make_generator(n);
  Tensor& y = ctx.output_uninitialized(0, dtype, shape);
  auto fill = [&](auto&& dist) {
    HONE_DISPATCH_FLOAT(dtype, n, {
      T* p = y.data<T>();
      for (int64_t i = 0; i < y.numel(); ++i) p[i] = static_cast<T>(static_cast<float>(dist(gen)));
    });
  };
  if constexpr (D == Distribution::Normal) {
    double mean = n.attr_float("mean", 0.0f), scale = n.attr_float("scale", 1.0f);
    if (!(scale >= 0) || !std::isfinite(mean)) fail("{}: needs finite mean and scale >= 0", n.label());
    fill(std::normal_distribution<double>(mean, scale));
  } else {
    double low = n.attr_float("low", 0.0f), high = n.attr_float("high", 1.0f);
    if (!(low <= high) || !std::isfinite(high - low)) fail("{}: needs low <= high, got {} and {}", n.label(), low, high);
    fill(std::uniform_real_distribution<double>(low, high));
  }
}

template <Distribution D>
void random_fixed(OpContext& ctx) {
  fill_random<D>(ctx, float_dtype_of(ctx.node(), DType::Float32), shape_attr(ctx.node()));
}

template <Distribution D>
void random_like(OpContext& ctx) {
  const Tensor& x = ctx.input(0);
  fill_random<D>(ctx, float_dtype_of(ctx.node(), x.dtype()), x.shape());
}

void infer_random_fixed(InferenceContext& ctx) {
  ctx.set_output_tensor(0, float_dtype_of(ctx.node(), DType::Float32), to_sym_shape(shape_attr(ctx.node())));
}

void infer_random_like(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, float_dtype_of(ctx.node(), ctx.input_dtype(0)),
                        s ? std::optional<SymShape>(*s) : std::nullopt);
}

// Bernoulli: 1 with probability x, else 0; output type `dtype` or the input's.
DType bernoulli_dtype(const Node& n, DType input) {
  if (!n.has_attr("dtype")) return input;
  DType t = dtype_attr(n, 1);
  if (t == DType::String || t == DType::Undefined || (!is_float(t) && !is_integer(t) && t != DType::Bool))
    fail("{}: dtype {} is not a numeric or bool type", n.label(), dtype_name(t));
  return t;
}

void bernoulli(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (!is_float(x.dtype())) fail("{}: input must be a float type, got {}", n.label(), dtype_name(x.dtype()));
  DType dtype = bernoulli_dtype(n, x.dtype());
  std::mt19937 gen = make_generator(n);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  Tensor& y = ctx.output_uninitialized(0, dtype, x.shape());
  HONE_DISPATCH_NUMERIC_BOOL(dtype, n, {
    T* py = y.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      double p = x.get_double(i);
      if (!(p >= 0.0 && p <= 1.0)) fail("{}: probability {} is outside [0, 1]", n.label(), p);
      py[i] = static_cast<T>(uniform(gen) < p ? 1 : 0);
    }
  });
}

void infer_bernoulli(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, bernoulli_dtype(ctx.node(), ctx.input_dtype(0)),
                        s ? std::optional<SymShape>(*s) : std::nullopt);
}

// Multinomial: sample_size draws per row of [batch, classes] unnormalized log-probabilities.
DType multinomial_dtype(const Node& n) {
  DType t = dtype_attr(n, static_cast<int64_t>(DType::Int32));
  if (t != DType::Int32 && t != DType::Int64) fail("{}: dtype must be int32 or int64, got {}", n.label(), dtype_name(t));
  return t;
}

int64_t sample_size_of(const Node& n) {
  int64_t s = n.attr_int("sample_size", 1);
  if (s < 0) fail("{}: sample_size must be >= 0, got {}", n.label(), s);
  return s;
}

void multinomial(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) fail("{}: input must have shape [batch, classes], got {}", n.label(), shape_str(x.shape()));
  if (!is_float(x.dtype())) fail("{}: input must be a float type, got {}", n.label(), dtype_name(x.dtype()));
  DType dtype = multinomial_dtype(n);
  int64_t samples = sample_size_of(n), batch = x.dim(0), classes = x.dim(1);
  std::mt19937 gen = make_generator(n);
  Tensor& y = ctx.output_uninitialized(0, dtype, {batch, samples});
  std::vector<double> weights(static_cast<size_t>(classes));
  for (int64_t b = 0; b < batch; ++b) {
    double top = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) {
      double v = x.get_double(b * classes + c);
      if (std::isnan(v) || v == INFINITY) fail("{}: log-probability {} in row {} is not usable", n.label(), v, b);
      top = std::max(top, v);
    }
    if (samples > 0 && top == -INFINITY) fail("{}: row {} has no class with nonzero probability", n.label(), b);
    for (int64_t c = 0; c < classes; ++c)
      weights[static_cast<size_t>(c)] = std::exp(x.get_double(b * classes + c) - top);
    std::discrete_distribution<int64_t> pick(weights.begin(), weights.end());
    for (int64_t s = 0; s < samples; ++s) y.set_double(b * samples + s, static_cast<double>(pick(gen)));
  }
}

void infer_multinomial(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  Dim batch = s && s->size() == 2 ? (*s)[0] : Dim();
  ctx.set_output_tensor(0, multinomial_dtype(ctx.node()), SymShape{batch, Dim(sample_size_of(ctx.node()))});
}

}  // namespace

HONE_REGISTER_OP({.name = "RandomNormal", .since = 1, .infer = infer_random_fixed,
                  .compute = random_fixed<Distribution::Normal>, .deterministic = false});
HONE_REGISTER_OP({.name = "RandomUniform", .since = 1, .infer = infer_random_fixed,
                  .compute = random_fixed<Distribution::Uniform>, .deterministic = false});
HONE_REGISTER_OP({.name = "RandomNormalLike", .since = 1, .infer = infer_random_like,
                  .compute = random_like<Distribution::Normal>, .deterministic = false});
HONE_REGISTER_OP({.name = "RandomUniformLike", .since = 1, .infer = infer_random_like,
                  .compute = random_like<Distribution::Uniform>, .deterministic = false});
HONE_REGISTER_OP({.name = "Bernoulli", .since = 15, .infer = infer_bernoulli, .compute = bernoulli,
                  .deterministic = false});
HONE_REGISTER_OP({.name = "Multinomial", .since = 7, .infer = infer_multinomial, .compute = multinomial,
                  .deterministic = false});

}  // namespace hone
