#include <algorithm>
#include <cmath>
#include <set>

#include "data/npy.h"

#include "tools/hone/commands.h"

namespace hone::cli {

std::pair<std::string, std::string> split_assignment(const std::string& arg, const std::vector<ValueInfo>& known,
                                                     const std::string& flag) {
  size_t best = std::string::npos;
  for (const ValueInfo& v : known)
    if (arg.size() > v.name.size() && arg.compare(0, v.name.size(), v.name) == 0 && arg[v.name.size()] == '=' &&
        (best == std::string::npos || v.name.size() > best))
      best = v.name.size();
  if (best == std::string::npos) best = arg.find('=');
  if (best == std::string::npos || best == 0) fail("{} expects NAME=VALUE, got '{}'", flag, arg);
  return {arg.substr(0, best), arg.substr(best + 1)};
}

Shape parse_shape(const std::string& text, const std::string& what) {
  Shape shape;
  if (text.empty() || text == "scalar") return shape;
  size_t start = 0;
  for (;;) {
    size_t end = text.find_first_of("x,", start);
    std::string dim = text.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (dim.empty() || dim.size() > 15 || !std::all_of(dim.begin(), dim.end(), [](char c) { return c >= '0' && c <= '9'; }))
      fail("{}: bad shape '{}' (expected dims like 1x3x224x224)", what, text);
    shape.push_back(std::stoll(dim));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  shape_numel(shape);  // rejects absurd element counts
  return shape;
}

const ValueInfo& find_input(const std::vector<ValueInfo>& inputs, const std::string& name) {
  for (const ValueInfo& v : inputs)
    if (v.name == name) return v;
  std::string names;
  for (const ValueInfo& v : inputs) names += (names.empty() ? "'" : ", '") + v.name + "'";
  fail("the model has no input named '{}' (its inputs: {})", name, names.empty() ? "none" : names);
}

Shape concrete_input_shape(const ValueInfo& input, const std::optional<Shape>& given, std::vector<std::string>* notes) {
  const TypeInfo& t = input.type;
  if (given) {
    if (t.shape) {
      const SymShape& s = *t.shape;
      if (s.size() != given->size())
        fail("input '{}' is declared with shape [{}] (rank {}); shape {} has rank {}", input.name, sym_shape_str(s),
             s.size(), shape_str(*given), given->size());
      for (size_t k = 0; k < s.size(); ++k)
        if (s[k].known() && s[k].value != (*given)[k])
          fail("input '{}' is declared with shape [{}]; shape {} differs in dimension {} ({} != {})", input.name,
               sym_shape_str(s), shape_str(*given), k, (*given)[k], s[k].value);
    }
    return *given;
  }
  if (!t.shape) fail("input '{}' declares no shape; give one with --shape or --input", input.name);
  Shape out;
  for (size_t k = 0; k < t.shape->size(); ++k) {
    const Dim& d = (*t.shape)[k];
    if (d.known()) {
      out.push_back(d.value);
      continue;
    }
    out.push_back(1);
    if (notes)
      notes->push_back(d.symbol.empty()
                           ? fmt::format("input '{}': unknown dimension {} set to 1", input.name, k)
                           : fmt::format("input '{}': symbolic dimension '{}' set to 1", input.name, d.symbol));
  }
  return out;
}

// Uniform in [-1, 1) for floating types, integers in [0, 10), bools 0/1: values every op accepts, even as indices of
// small tensors. mt19937_64's sequence is fixed by the standard, so a seed gives the same data everywhere.
std::string fill_random(Tensor& t, std::mt19937_64& rng) {
  auto unit = [&rng] { return static_cast<double>(rng() >> 11) * 0x1.0p-53; };
  if (t.dtype() == DType::Float32) {
    for (float& v : t.span<float>()) v = static_cast<float>(unit() * 2 - 1);
    return "uniform in [-1, 1)";
  }
  if (is_float(t.dtype())) {
    for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, unit() * 2 - 1);
    return "uniform in [-1, 1)";
  }
  if (t.dtype() == DType::Bool) {
    for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(rng() & 1));
    return "0 or 1";
  }
  if (is_integer(t.dtype())) {
    for (int64_t i = 0; i < t.numel(); ++i) t.set_double(i, static_cast<double>(rng() % 10));
    return "integers in [0, 10)";
  }
  fail("cannot fill an input of type {} with random data", dtype_name(t.dtype()));
}

Tensor read_input_file(const ValueInfo& decl, const std::string& path) {
  Tensor t = read_npy_file(path);
  const TypeInfo& type = decl.type;
  if (!type.is_tensor()) fail("input '{}' is not a tensor input; it cannot be read from {}", decl.name, path);
  if (type.elem != DType::Undefined && t.dtype() != type.elem)
    fail("input '{}' must be {} but {} holds {}", decl.name, dtype_label(type.elem), path, dtype_label(t.dtype()));
  if (type.shape) {
    const SymShape& s = *type.shape;
    bool ok = s.size() == static_cast<size_t>(t.rank());
    for (size_t k = 0; ok && k < s.size(); ++k) ok = !s[k].known() || s[k].value == t.shape()[k];
    if (!ok)
      fail("input '{}' must have shape [{}] but {} holds shape [{}]", decl.name, sym_shape_str(s), path,
           shape_str(t.shape()));
  }
  return t;
}

Feeds make_feeds(const std::vector<ValueInfo>& decl, const FeedRequest& request) {
  Feeds out;
  out.values.resize(decl.size());
  const std::optional<int64_t>& batch = request.batch;
  std::set<std::string> given;
  for (const std::string& arg : request.inputs) {
    auto [name, path] = split_assignment(arg, decl, "--input");
    const ValueInfo& d = find_input(decl, name);
    if (!given.insert(name).second) fail("input '{}' is given twice with --input", name);
    Tensor t = read_input_file(d, path);
    if (batch && (t.rank() == 0 || t.shape()[0] != *batch))
      fail("input '{}' from {} has shape [{}]; --batch {} needs a leading dimension of {}", name, path,
           shape_str(t.shape()), *batch, *batch);
    out.file_lines.push_back(
        fmt::format("input '{}' from {}: {} [{}]", name, path, dtype_label(t.dtype()), shape_str(t.shape())));
    size_t k = static_cast<size_t>(&d - decl.data());
    out.values[k] = Value::of(std::move(t));
  }
  std::unordered_map<std::string, Shape> shapes;
  for (const std::string& arg : request.shapes) {
    auto [name, text] = split_assignment(arg, decl, "--shape");
    find_input(decl, name);
    if (given.count(name)) fail("input '{}' is given with --input; --shape applies to random inputs only", name);
    if (shapes.count(name)) fail("input '{}' is given twice with --shape", name);
    shapes[name] = parse_shape(text, fmt::format("--shape for input '{}'", name));
    if (batch && (shapes[name].empty() || shapes[name][0] != *batch))
      fail("--shape {} for input '{}' disagrees with --batch {} (its leading dimension must be {})", text, name,
           *batch, *batch);
  }
  std::mt19937_64 rng(request.seed);
  for (size_t k = 0; k < decl.size(); ++k) {
    if (given.count(decl[k].name)) continue;
    const TypeInfo& type = decl[k].type;
    if (!type.is_tensor() || type.elem == DType::Undefined)
      fail("input '{}' ({}) cannot be filled randomly; give it with --input NAME=FILE.npy", decl[k].name, type.str());
    ValueInfo with_batch = decl[k];
    if (batch && with_batch.type.shape) {
      SymShape& s = *with_batch.type.shape;
      if (s.empty()) fail("input '{}' is a scalar; --batch needs a leading dimension", decl[k].name);
      if (s[0].known() && s[0].value != *batch)
        fail("input '{}' has a fixed leading dimension {} (shape [{}]); --batch {} cannot change it", decl[k].name,
             s[0].value, sym_shape_str(s), *batch);
      s[0] = Dim(*batch);
    }
    auto sh = shapes.find(decl[k].name);
    Shape shape = concrete_input_shape(with_batch, sh == shapes.end() ? std::nullopt : std::optional<Shape>(sh->second),
                                       &out.notes);
    Tensor t(type.elem, shape);
    std::string how = fill_random(t, rng);
    out.random_lines.push_back(
        fmt::format("  '{}': {} [{}], {}", decl[k].name, dtype_label(type.elem), shape_str(shape), how));
    out.values[k] = Value::of(std::move(t));
  }
  return out;
}

std::string human_count(double v) {
  const char* units[] = {"", " k", " M", " G", " T", " P"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f}", v);
  return fmt::format("{:.3g}{}", v, units[u]);
}

std::string human_bytes(double v) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (std::fabs(v) >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{:.0f} B", v);
  return fmt::format("{:.3g} {}", v, units[u]);
}

std::string dtype_label(DType t) {
  if (t == DType::Float32) return "float32";
  if (t == DType::Float64) return "float64";
  if (t == DType::Undefined) return "?";
  return std::string(dtype_name(t));
}

std::string describe_model_header(const Model& m, const std::string& path) {
  std::string opsets;
  for (const OperatorSetId& o : m.opset_import)
    opsets += fmt::format("{}{} {}", opsets.empty() ? "" : ", ", o.domain.empty() ? "ai.onnx" : o.domain, o.version);
  std::string producer = m.producer_name.empty() ? "unknown producer" : m.producer_name;
  if (!m.producer_version.empty()) producer += " " + m.producer_version;
  return fmt::format("model {}: IR version {}, {}, opsets: {}", path, m.ir_version, producer,
                     opsets.empty() ? "none" : opsets);
}

}  // namespace hone::cli
