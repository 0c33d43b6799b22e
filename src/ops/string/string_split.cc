// StringSplit (opset 20): splits each string on a delimiter (or on runs of whitespace when the delimiter is unset or
// empty), as Python's str.split does. Output 0 holds the pieces, padded with "" to the largest count along a new
// last axis; output 1 holds the number of pieces of each element.
#include <algorithm>
#include <climits>

#include "ops/op_helpers.h"

namespace hone {
namespace {

bool is_space(char c) { return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f'); }

// str.split(None, maxsplit): runs of whitespace separate pieces; leading and trailing whitespace yield nothing.
std::vector<std::string> split_whitespace(const std::string& s, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t i = 0, n = s.size();
  for (int64_t done = 0; done < maxsplit; ++done) {
    while (i < n && is_space(s[i])) ++i;
    if (i == n) break;
    size_t j = i;
    while (i < n && !is_space(s[i])) ++i;
    out.push_back(s.substr(j, i - j));
  }
  while (i < n && is_space(s[i])) ++i;
  if (i < n) out.push_back(s.substr(i));
  return out;
}

// str.split(sep, maxsplit): every occurrence separates, so empty pieces are kept.
std::vector<std::string> split_on(const std::string& s, const std::string& sep, int64_t maxsplit) {
  std::vector<std::string> out;
  size_t start = 0;
  for (int64_t done = 0; done < maxsplit; ++done) {
    size_t pos = s.find(sep, start);
    if (pos == std::string::npos) break;
    out.push_back(s.substr(start, pos - start));
    start = pos + sep.size();
  }
  out.push_back(s.substr(start));
  return out;
}

void string_split(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.dtype() != DType::String) fail("{}: input must be a string tensor, got {}", n.label(), dtype_name(x.dtype()));
  std::string delimiter = n.attr_string("delimiter", "");
  int64_t maxsplit = n.attr_int("maxsplit", -1);
  if (maxsplit < 0) maxsplit = INT64_MAX;  // unset: split on every delimiter

  std::vector<std::vector<std::string>> pieces;
  pieces.reserve(static_cast<size_t>(x.numel()));
  size_t widest = 0;
  for (const std::string& s : x.span<std::string>()) {
    pieces.push_back(delimiter.empty() ? split_whitespace(s, maxsplit) : split_on(s, delimiter, maxsplit));
    widest = std::max(widest, pieces.back().size());
  }
  Shape y_shape = x.shape();
  y_shape.push_back(static_cast<int64_t>(widest));
  Tensor& y = ctx.output(0, DType::String, y_shape);  // zero-filled: padding is ""
  std::string* py = y.data<std::string>();
  for (size_t i = 0; i < pieces.size(); ++i)
    for (size_t k = 0; k < pieces[i].size(); ++k) py[i * widest + k] = std::move(pieces[i][k]);
  if (ctx.wants_output(1)) {
    Tensor& z = ctx.output_uninitialized(1, DType::Int64, x.shape());
    for (size_t i = 0; i < pieces.size(); ++i) z.data<int64_t>()[i] = static_cast<int64_t>(pieces[i].size());
  }
}

void infer_string_split(InferenceContext& ctx) {
  const SymShape* s = ctx.input_shape(0);
  if (!s) {
    ctx.set_output_tensor(0, DType::String, std::nullopt);
    if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, DType::Int64, std::nullopt);
    return;
  }
  SymShape y = *s;
  y.push_back(Dim());  // the widest split is data-dependent
  ctx.set_output_tensor(0, DType::String, y);
  if (ctx.num_outputs() > 1) ctx.set_output_tensor(1, DType::Int64, *s);
}

}  // namespace

HONE_REGISTER_OP({.name = "StringSplit", .since = 20, .infer = infer_string_split, .compute = string_split});

}  // namespace hone
