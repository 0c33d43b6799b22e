// ai.onnx.ml LabelEncoder: maps each element through the parallel lists keys_* -> values_*, falling back to a
// default. Opset 1 maps strings to their index in classes_strings (or back); opset 2 takes keys and values as
// float, int64 or string lists; opset 4 adds keys_tensor / values_tensor / default_tensor of other types.
#include <cmath>
#include <map>
#include <unordered_map>

#include "ops/op_helpers.h"

namespace hone {
namespace {

// One list of keys or values, whatever attribute it came from.
struct Column {
  DType dtype = DType::Undefined;
  std::vector<std::string> strings;  // String
  std::vector<int64_t> ints;         // integer types
  std::vector<double> floats;        // float types
  size_t size() const { return dtype == DType::String ? strings.size() : is_float(dtype) ? floats.size() : ints.size(); }
};

Column column_from_tensor(const Node& n, const Tensor& t, const char* what) {
  Column c;
  c.dtype = t.dtype();
  if (t.dtype() == DType::String) c.strings.assign(t.data<std::string>(), t.data<std::string>() + t.numel());
  else if (is_float(t.dtype())) for (int64_t i = 0; i < t.numel(); ++i) c.floats.push_back(t.get_double(i));
  else if (is_integer(t.dtype())) c.ints = t.to_int64_vector();
  else fail("{}: {} has unsupported element type {}", n.label(), what, dtype_name(t.dtype()));
  return c;
}

// The one keys_* (or values_*) attribute the node sets; `prefix` is "keys" or "values".
Column read_column(const Node& n, const std::string& prefix, bool allow_tensor) {
  std::vector<Column> found;
  if (const Attribute* a = n.find_attr(prefix + "_floats")) {
    Column c;
    c.dtype = DType::Float32;
    c.floats.assign(a->floats.begin(), a->floats.end());
    found.push_back(c);
  }
  if (const Attribute* a = n.find_attr(prefix + "_int64s")) {
    Column c;
    c.dtype = DType::Int64;
    c.ints = a->ints;
    found.push_back(c);
  }
  if (const Attribute* a = n.find_attr(prefix + "_strings")) {
    Column c;
    c.dtype = DType::String;
    c.strings = a->strings;
    found.push_back(c);
  }
  if (allow_tensor)
    if (const Tensor* t = n.attr_tensor(prefix + "_tensor")) found.push_back(column_from_tensor(n, *t, "tensor"));
  if (found.size() != 1)
    fail("{}: exactly one {}_* attribute must be set, found {}", n.label(), prefix, found.size());
  return found[0];
}

// The value used for keys not found: a single entry of the values' type.
Column read_default(const Node& n, const Column& values, bool allow_tensor) {
  if (allow_tensor) {
    if (const Tensor* t = n.attr_tensor("default_tensor")) {
      Column c = column_from_tensor(n, *t, "default_tensor");
      if (c.size() != 1) fail("{}: default_tensor must hold one value, got {}", n.label(), c.size());
      if (c.dtype != values.dtype)
        fail("{}: default_tensor is {} but the values are {}", n.label(), dtype_name(c.dtype),
             dtype_name(values.dtype));
      return c;
    }
  }
  Column c;
  c.dtype = values.dtype;
  if (values.dtype == DType::String) c.strings = {n.attr_string("default_string", "_Unused")};
  else if (is_float(values.dtype)) c.floats = {static_cast<double>(n.attr_float("default_float", -0.0f))};
  else c.ints = {n.attr_int("default_int64", -1)};
  return c;
}

bool same_kind(DType a, DType b) {
  if (a == DType::String || b == DType::String) return a == b;
  if (is_float(a) || is_float(b)) return is_float(a) && is_float(b);
  return is_integer(a) && is_integer(b);
}

// Writes entry `k` of `src` into element `i` of `dst` (same kind of type).
void write_entry(const Node& n, const Column& src, size_t k, Tensor& dst, int64_t i) {
  if (src.dtype == DType::String) {
    dst.data<std::string>()[i] = src.strings[k];
  } else if (is_float(src.dtype)) {
    dst.set_double(i, src.floats[k]);
  } else {
    HONE_DISPATCH_NUMERIC(dst.dtype(), n, { dst.data<T>()[i] = static_cast<T>(src.ints[k]); });
  }
}

// Index of each input element's key in `keys`, or -1.
std::vector<int64_t> find_keys(const Node& n, const Column& keys, const Tensor& x) {
  if (!same_kind(keys.dtype, x.dtype()))
    fail("{}: input is {} but the keys are {}", n.label(), dtype_name(x.dtype()), dtype_name(keys.dtype));
  std::vector<int64_t> found(static_cast<size_t>(x.numel()), -1);
  if (keys.dtype == DType::String) {
    std::unordered_map<std::string, int64_t> index;
    for (size_t k = 0; k < keys.strings.size(); ++k) index.emplace(keys.strings[k], static_cast<int64_t>(k));
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto it = index.find(x.data<std::string>()[i]);
      if (it != index.end()) found[static_cast<size_t>(i)] = it->second;
    }
  } else if (is_float(keys.dtype)) {
    // Keys are compared at the input's precision, and NaN finds a NaN key.
    std::map<double, int64_t> index;
    int64_t nan_key = -1;
    Tensor probe(x.dtype(), {});
    for (size_t k = 0; k < keys.floats.size(); ++k) {
      probe.set_double(0, keys.floats[k]);
      double key = probe.get_double(0);
      if (std::isnan(key)) {
        if (nan_key < 0) nan_key = static_cast<int64_t>(k);
      } else {
        index.emplace(key, static_cast<int64_t>(k));
      }
    }
    for (int64_t i = 0; i < x.numel(); ++i) {
      double v = x.get_double(i);
      if (std::isnan(v)) {
        found[static_cast<size_t>(i)] = nan_key;
        continue;
      }
      auto it = index.find(v);
      if (it != index.end()) found[static_cast<size_t>(i)] = it->second;
    }
  } else {
    std::unordered_map<int64_t, int64_t> index;
    for (size_t k = 0; k < keys.ints.size(); ++k) index.emplace(keys.ints[k], static_cast<int64_t>(k));
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto it = index.find(x.get_int(i));
      if (it != index.end()) found[static_cast<size_t>(i)] = it->second;
    }
  }
  return found;
}

void label_encoder(OpContext& ctx) {
  const Node& n = ctx.node();
  bool tensors = ctx.opset() >= 4;
  Column keys = read_column(n, "keys", tensors);
  Column values = read_column(n, "values", tensors);
  if (keys.size() != values.size())
    fail("{}: {} keys but {} values", n.label(), keys.size(), values.size());
  Column fallback = read_default(n, values, tensors);
  const Tensor& x = ctx.input(0);
  std::vector<int64_t> found = find_keys(n, keys, x);
  Tensor& y = ctx.output(0, values.dtype, x.shape());
  for (int64_t i = 0; i < x.numel(); ++i) {
    int64_t k = found[static_cast<size_t>(i)];
    if (k >= 0) write_entry(n, values, static_cast<size_t>(k), y, i);
    else write_entry(n, fallback, 0, y, i);
  }
}

void infer_label_encoder(InferenceContext& ctx) {
  const Node& n = ctx.node();
  bool tensors = ctx.opset() >= 4;
  read_column(n, "keys", tensors);
  Column values = read_column(n, "values", tensors);
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, values.dtype, s ? std::optional<SymShape>(*s) : std::nullopt);
}

// Opset 1: strings -> index in classes_strings (default_int64), or int64 index -> string (default_string).
void label_encoder_v1(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  std::vector<std::string> classes = n.attr_strings("classes_strings");
  if (x.dtype() == DType::String) {
    std::unordered_map<std::string, int64_t> index;
    for (size_t k = 0; k < classes.size(); ++k) index.emplace(classes[k], static_cast<int64_t>(k));
    int64_t fallback = n.attr_int("default_int64", -1);
    Tensor& y = ctx.output_uninitialized(0, DType::Int64, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      auto it = index.find(x.data<std::string>()[i]);
      y.data<int64_t>()[i] = it == index.end() ? fallback : it->second;
    }
  } else if (x.dtype() == DType::Int64) {
    std::string fallback = n.attr_string("default_string", "_Unused");
    Tensor& y = ctx.output(0, DType::String, x.shape());
    for (int64_t i = 0; i < x.numel(); ++i) {
      int64_t v = x.data<int64_t>()[i];
      bool known = v >= 0 && v < static_cast<int64_t>(classes.size());
      y.data<std::string>()[i] = known ? classes[static_cast<size_t>(v)] : fallback;
    }
  } else {
    fail("{}: input must be string or int64, got {}", n.label(), dtype_name(x.dtype()));
  }
}

void infer_label_encoder_v1(InferenceContext& ctx) {
  DType in = ctx.input_dtype(0);
  DType out = in == DType::String ? DType::Int64 : in == DType::Int64 ? DType::String : DType::Undefined;
  const SymShape* s = ctx.input_shape(0);
  ctx.set_output_tensor(0, out, s ? std::optional<SymShape>(*s) : std::nullopt);
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.ml", .name = "LabelEncoder", .since = 1, .until = 1,
                  .infer = infer_label_encoder_v1, .compute = label_encoder_v1});
HONE_REGISTER_OP({.domain = "ai.onnx.ml", .name = "LabelEncoder", .since = 2, .infer = infer_label_encoder,
                  .compute = label_encoder});

}  // namespace hone
