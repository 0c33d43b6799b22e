// Einsum: numpy-style Einstein summation: explicit ("ij,jk->ik") or implicit output (labels seen once, sorted,
// after the ellipsis dims), repeated labels within an operand (diagonals), ellipsis broadcasting, size-1 broadcasting.
// Computed directly: for each output element, a sum over the contracted labels of the operands' product.
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "ops/nn/float_staging.h"

namespace hone::nn {
namespace {

// Labels are numbered: ellipsis dims first (0..ell-1, right-aligned across operands), then letters.
struct EinsumSpec {
  int num_ellipsis = 0;
  std::vector<std::vector<int>> operand_labels;  // per operand, the label of each dim
  std::vector<int> output_labels;
  int num_labels = 0;
};

EinsumSpec parse_einsum(const Node& node, const std::string& equation_in, const std::vector<size_t>& ranks) {
  std::string eq;
  for (char ch : equation_in)
    if (ch != ' ') eq += ch;
  std::string lhs = eq, rhs;
  bool explicit_out = false;
  if (size_t arrow = eq.find("->"); arrow != std::string::npos) {
    lhs = eq.substr(0, arrow);
    rhs = eq.substr(arrow + 2);
    explicit_out = true;
  }
  std::vector<std::string> terms;
  size_t start = 0;
  for (size_t i = 0; i <= lhs.size(); ++i)
    if (i == lhs.size() || lhs[i] == ',') {
      terms.push_back(lhs.substr(start, i - start));
      start = i + 1;
    }
  if (terms.size() != ranks.size())
    fail("{}: equation '{}' names {} operands but {} inputs are given", node.label(), equation_in, terms.size(), ranks.size());

  // Splits a term into letters and the position of its ellipsis (-1 if none).
  auto split_term = [&](const std::string& t, std::string& letters, int& ell_pos) {
    letters.clear();
    ell_pos = -1;
    for (size_t i = 0; i < t.size();) {
      if (t.compare(i, 3, "...") == 0) {
        if (ell_pos >= 0) fail("{}: term '{}' has more than one ellipsis", node.label(), t);
        ell_pos = static_cast<int>(letters.size());
        i += 3;
      } else if (std::isalpha(static_cast<unsigned char>(t[i]))) {
        letters += t[i++];
      } else {
        fail("{}: invalid character '{}' in equation '{}'", node.label(), t[i], equation_in);
      }
    }
  };

  EinsumSpec spec;
  std::vector<std::string> letters(terms.size());
  std::vector<int> ell_pos(terms.size()), ell_dims(terms.size(), 0);
  for (size_t k = 0; k < terms.size(); ++k) {
    split_term(terms[k], letters[k], ell_pos[k]);
    int64_t extra = static_cast<int64_t>(ranks[k]) - static_cast<int64_t>(letters[k].size());
    if (ell_pos[k] < 0 ? extra != 0 : extra < 0)
      fail("{}: term '{}' does not match operand {} of rank {}", node.label(), terms[k], k, ranks[k]);
    ell_dims[k] = static_cast<int>(extra);
    spec.num_ellipsis = std::max(spec.num_ellipsis, ell_dims[k]);
  }
  std::map<char, int> label_of;
  std::map<char, int> count;
  for (const std::string& l : letters)
    for (char ch : l) ++count[ch];
  int next = spec.num_ellipsis;
  for (auto& [ch, c] : count) label_of[ch] = next++;  // map order: ASCII (numpy's implicit output order)
  spec.num_labels = next;
  for (size_t k = 0; k < terms.size(); ++k) {
    std::vector<int> labs;
    for (int i = 0; i <= static_cast<int>(letters[k].size()); ++i) {
      if (i == ell_pos[k])
        for (int e = 0; e < ell_dims[k]; ++e) labs.push_back(spec.num_ellipsis - ell_dims[k] + e);
      if (i < static_cast<int>(letters[k].size())) labs.push_back(label_of[letters[k][i]]);
    }
    spec.operand_labels.push_back(labs);
  }
  if (explicit_out) {
    std::string out_letters;
    int out_ell = -1;
    split_term(rhs, out_letters, out_ell);
    for (int i = 0; i <= static_cast<int>(out_letters.size()); ++i) {
      if (i == out_ell)
        for (int e = 0; e < spec.num_ellipsis; ++e) spec.output_labels.push_back(e);
      if (i == static_cast<int>(out_letters.size())) break;
      char ch = out_letters[i];
      if (!label_of.count(ch)) fail("{}: output label '{}' does not occur in the inputs", node.label(), ch);
      int lab = label_of[ch];
      if (std::find(spec.output_labels.begin(), spec.output_labels.end(), lab) != spec.output_labels.end())
        fail("{}: output label '{}' is repeated", node.label(), ch);
      spec.output_labels.push_back(lab);
    }
  } else {
    for (int e = 0; e < spec.num_ellipsis; ++e) spec.output_labels.push_back(e);
    for (auto& [ch, c] : count)
      if (c == 1) spec.output_labels.push_back(label_of[ch]);
  }
  return spec;
}

// Size of each label across the operands: dims of size 1 broadcast against the others.
std::vector<int64_t> label_sizes(const Node& node, const EinsumSpec& spec, const std::vector<const Tensor*>& in) {
  std::vector<int64_t> size(static_cast<size_t>(spec.num_labels), 1);
  for (size_t k = 0; k < in.size(); ++k)
    for (size_t d = 0; d < spec.operand_labels[k].size(); ++d) {
      int lab = spec.operand_labels[k][d];
      int64_t n = in[k]->dim(static_cast<int>(d));
      if (n == 1) continue;
      if (size[lab] != 1 && size[lab] != n)
        fail("{}: label sizes disagree ({} vs {}) for operand {} dim {}", node.label(), size[lab], n, k, d);
      size[lab] = n;
    }
  return size;
}

template <typename T>
void einsum_compute(const EinsumSpec& spec, const std::vector<int64_t>& size, const std::vector<const Tensor*>& in,
                    Tensor& y) {
  using A = std::conditional_t<std::is_same_v<T, double>, double,
                               std::conditional_t<std::is_integral_v<T>, uint64_t, float>>;
  size_t nops = in.size();
  // Label order: output labels outermost, contracted labels innermost.
  std::vector<int> order = spec.output_labels;
  for (int lab = 0; lab < spec.num_labels; ++lab)
    if (std::find(order.begin(), order.end(), lab) == order.end()) order.push_back(lab);
  size_t nout = spec.output_labels.size(), nall = order.size();
  // stride[k][j]: step in operand k for label order[j] (summed over repeated dims = diagonal; 0 where broadcast).
  std::vector<std::vector<int64_t>> stride(nops, std::vector<int64_t>(nall, 0));
  std::vector<const T*> data(nops);
  for (size_t k = 0; k < nops; ++k) {
    data[k] = in[k]->data<T>();
    std::vector<int64_t> st = strides_of(in[k]->shape());
    for (size_t d = 0; d < spec.operand_labels[k].size(); ++d) {
      if (in[k]->dim(static_cast<int>(d)) == 1) continue;
      size_t j = static_cast<size_t>(std::find(order.begin(), order.end(), spec.operand_labels[k][d]) - order.begin());
      stride[k][j] += st[d];
    }
  }
  int64_t inner = 1;
  for (size_t j = nout; j < nall; ++j) inner *= size[order[j]];
  T* out = y.data<T>();
  int64_t total_out = y.numel();
  std::vector<int64_t> idx(nall, 0), off(nops, 0);
  for (int64_t o = 0; o < total_out; ++o) {
    A acc = 0;
    for (int64_t r = 0; r < inner; ++r) {
      A prod = 1;
      for (size_t k = 0; k < nops; ++k) prod *= static_cast<A>(data[k][off[k]]);
      acc += prod;
      // Advance the contracted labels' odometer.
      for (size_t j = nall; j-- > nout;) {
        if (++idx[j] < size[order[j]]) {
          for (size_t k = 0; k < nops; ++k) off[k] += stride[k][j];
          break;
        }
        for (size_t k = 0; k < nops; ++k) off[k] -= stride[k][j] * (size[order[j]] - 1);
        idx[j] = 0;
      }
    }
    out[o] = static_cast<T>(acc);
    for (size_t j = nout; j-- > 0;) {
      if (++idx[j] < size[order[j]]) {
        for (size_t k = 0; k < nops; ++k) off[k] += stride[k][j];
        break;
      }
      for (size_t k = 0; k < nops; ++k) off[k] -= stride[k][j] * (size[order[j]] - 1);
      idx[j] = 0;
    }
  }
}

void einsum(OpContext& ctx) {
  const Node& node = ctx.node();
  std::string equation = node.attr_string("equation", "");
  if (equation.empty()) fail("{}: attribute equation is required", node.label());
  std::vector<const Tensor*> in;
  std::vector<size_t> ranks;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    in.push_back(&ctx.input(i));
    ranks.push_back(static_cast<size_t>(in.back()->rank()));
    if (in.back()->dtype() != in[0]->dtype()) fail("{}: inputs have different element types", node.label());
  }
  if (in.empty()) fail("{}: needs at least one input", node.label());
  EinsumSpec spec = parse_einsum(node, equation, ranks);
  std::vector<int64_t> size = label_sizes(node, spec, in);
  Shape out_shape;
  for (int lab : spec.output_labels) out_shape.push_back(size[lab]);
  Tensor& y = ctx.output(0, in[0]->dtype(), out_shape);
  if (y.numel() == 0) return;
  DType dt = in[0]->dtype();
  if (is_half_type(dt)) {
    // Widen every operand to float, compute, round once.
    std::vector<Tensor> wide;
    std::vector<const Tensor*> win;
    for (const Tensor* t : in) {
      std::vector<float> f = widen_to_float(*t);
      Tensor w(DType::Float32, t->shape());
      std::copy(f.begin(), f.end(), w.data<float>());
      wide.push_back(std::move(w));
    }
    for (const Tensor& w : wide) win.push_back(&w);
    Tensor yf(DType::Float32, out_shape);
    einsum_compute<float>(spec, size, win, yf);
    std::vector<float> v(yf.data<float>(), yf.data<float>() + yf.numel());
    narrow_from_float(v, y);
    return;
  }
  switch (dt) {
    HONE_TYPE_CASE(Float32, float, einsum_compute<T>(spec, size, in, y))
    HONE_TYPE_CASE(Float64, double, einsum_compute<T>(spec, size, in, y))
    HONE_INT_CASES(einsum_compute<T>(spec, size, in, y))
    default: fail("{}: element type {} is not supported", node.label(), dtype_name(dt));
  }
}

void infer_einsum(InferenceContext& ctx) {
  DType dt = ctx.input_dtype(0);
  std::vector<size_t> ranks;
  std::vector<const SymShape*> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    const SymShape* s = ctx.input_shape(i);
    if (!s) {
      ctx.set_output_tensor(0, dt, std::nullopt);
      return;
    }
    shapes.push_back(s);
    ranks.push_back(s->size());
  }
  EinsumSpec spec = parse_einsum(ctx.node(), ctx.node().attr_string("equation", ""), ranks);
  SymShape out;
  for (int lab : spec.output_labels) {
    // A known size other than 1 decides; all-known-1 gives 1; otherwise unknown.
    Dim d(1);
    bool all_known = true, found = false;
    for (size_t k = 0; k < shapes.size() && !found; ++k)
      for (size_t j = 0; j < spec.operand_labels[k].size(); ++j) {
        if (spec.operand_labels[k][j] != lab) continue;
        const Dim& s = (*shapes[k])[j];
        if (!s.known()) all_known = false;
        else if (s.value != 1) {
          d = s;
          found = true;
          break;
        }
      }
    out.push_back(found || all_known ? d : Dim());
  }
  ctx.set_output_tensor(0, dt, out);
}

}  // namespace

HONE_REGISTER_OP({.name = "Einsum", .since = 12, .infer = infer_einsum, .compute = einsum});

}  // namespace hone::nn
