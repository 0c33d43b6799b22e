// Shortens chains of layout-only operators, none of which changes the order of elements in memory except Transpose:
//   - Transpose -> Transpose composes into one (or none, when the composed permutation is the identity); a lone
//     identity Transpose goes;
//   - Unsqueeze(A) -> Squeeze(A) and Squeeze(A) -> Unsqueeze(A) cancel (symbolic shapes are fine);
//   - a Reshape / Flatten / Squeeze / Unsqueeze whose static output shape equals its static input shape goes;
//   - a chain of them collapses into one Reshape: to the last node's static shape (a new shape initializer), or to
//     the last Reshape's own constant shape when it has no 0 ("copy this dim", which would read another input).
// Every intermediate value absorbed has exactly one reader and is not a graph output.
#include <algorithm>
#include <optional>

#include "passes/pass_manager.h"

namespace hone {
namespace {

bool standard(const Node& n) { return n.domain.empty() || n.domain == "ai.onnx"; }
bool is_op(const Node& n, const char* op) { return standard(n) && n.op_type == op; }

bool single_output(const Node& n) { return n.has_input(0) && n.outputs.size() == 1 && !n.outputs[0].empty(); }

bool reshape_like(const Node& n) {
  return single_output(n) &&
         (is_op(n, "Reshape") || is_op(n, "Flatten") || is_op(n, "Squeeze") || is_op(n, "Unsqueeze"));
}

std::optional<Shape> static_shape(const PassContext& ctx, const std::string& name) {
  const TypeInfo* t = ctx.type(name);
  if (!t || !t->is_tensor() || !t->shape) return std::nullopt;
  return to_concrete(*t->shape);
}

int64_t known_rank(const PassContext& ctx, const std::string& name) {
  const TypeInfo* t = ctx.type(name);
  return t && t->is_tensor() && t->shape ? static_cast<int64_t>(t->shape->size()) : -1;
}

// Negative axes counted from `rank` (which may be -1 when no axis is negative), sorted; false when out of range,
// repeated or not resolvable.
bool normalize_axes(std::vector<int64_t>& axes, int64_t rank) {
  for (int64_t& a : axes) {
    if (a < 0) {
      if (rank < 0) return false;
      a += rank;
    }
    if (a < 0 || (rank >= 0 && a >= rank)) return false;
  }
  std::sort(axes.begin(), axes.end());
  return std::adjacent_find(axes.begin(), axes.end()) == axes.end();
}

// The axes of a Squeeze / Unsqueeze (an attribute before opset 13, a constant input from 13). *given is false for a
// Squeeze without axes (every 1-dim goes). False when the axes are not constant.
bool read_axes(const Node& n, int64_t opset, const PassContext& ctx, std::vector<int64_t>* axes, bool* given) {
  if (opset < 13) {
    *given = n.has_attr("axes");
    *axes = n.attr_ints("axes");
    return true;
  }
  *given = n.has_input(1);
  if (!*given) return true;
  const Tensor* t = ctx.constant(n.inputs[1]);
  if (!t) return false;
  *axes = t->to_int64_vector();
  return true;
}

// Positions of the 1-dims of a shape whose every dim is known (what Squeeze without axes removes), or false.
bool unit_dims(const PassContext& ctx, const std::string& name, std::vector<int64_t>* axes) {
  std::optional<Shape> s = static_shape(ctx, name);
  if (!s) return false;
  axes->clear();
  for (size_t k = 0; k < s->size(); ++k)
    if ((*s)[k] == 1) axes->push_back(static_cast<int64_t>(k));
  return true;
}

// A Transpose's permutation (reversed axes when absent), or empty when the rank is unknown or perm is invalid.
std::vector<int64_t> permutation(const Node& t, const PassContext& ctx) {
  std::vector<int64_t> perm = t.attr_ints("perm");
  if (!t.has_attr("perm")) {
    int64_t r = known_rank(ctx, t.inputs[0]);
    for (int64_t k = r - 1; k >= 0; --k) perm.push_back(k);
  }
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t k = 0; k < sorted.size(); ++k)
    if (sorted[k] != static_cast<int64_t>(k)) return {};
  return perm;
}

bool is_identity(const std::vector<int64_t>& perm) {
  for (size_t k = 0; k < perm.size(); ++k)
    if (perm[k] != static_cast<int64_t>(k)) return false;
  return true;
}

void set_ints(Node& n, const std::string& name, std::vector<int64_t> v) {
  for (Attribute& a : n.attributes)
    if (a.name == name) {
      a = Attribute::of_ints(name, std::move(v));
      return;
    }
  n.attributes.push_back(Attribute::of_ints(name, std::move(v)));
}

class ReshapeSimplifier {
 public:
  ReshapeSimplifier(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx), opset_(ctx.opset("")) {
    for (const ValueInfo& v : g.inputs) names_.insert(v.name);
    for (const ValueInfo& v : g.outputs) names_.insert(v.name);
    for (const auto& [name, t] : g.initializers) names_.insert(name);
    for (const Node& n : g.nodes) names_.insert(n.outputs.begin(), n.outputs.end());
    names_.merge(names_defined_in_subgraphs(g));
  }

  // One sweep in topological order; returns its rewrites. A sweep stops early after renaming a node's output (its
  // view of who reads what would be stale); the caller sweeps again until nothing changes.
  int sweep() {
    GraphUses uses(g_);
    uses_ = &uses;
    dead_.assign(g_.nodes.size(), false);
    renamed_output_ = false;
    int rewrites = 0;
    for (size_t i : topological_order(g_)) {
      if (dead_[i] || !single_output(g_.nodes[i])) continue;
      rewrites += simplify(i);
      if (renamed_output_) break;
    }
    erase_nodes(g_, dead_);
    return rewrites;
  }

 private:
  // The live node producing `v` when its only reader is node `reader`, else -1.
  int sole_feeder(const std::string& v, size_t reader) const {
    int p = uses_->producer(v);
    if (p < 0 || dead_[static_cast<size_t>(p)] || uses_->sole_consumer(v) != static_cast<int>(reader)) return -1;
    return p;
  }

  // Drops the node(s) ending in `dst`, whose value equals `src`.
  bool forward(const std::string& src, const std::string& dst) {
    bool at_output = uses_->is_graph_output(dst);
    if (!forward_value(g_, src, dst)) return false;
    renamed_output_ = at_output;
    return true;
  }

  int simplify(size_t i) {
    Node& n = g_.nodes[i];
    if (is_op(n, "Transpose")) return simplify_transpose(i);
    if (int r = cancel_squeeze_pair(i)) return r;
    if (reshape_like(n)) return collapse_reshapes(i);
    return 0;
  }

  int simplify_transpose(size_t i) {
    Node& n = g_.nodes[i];
    std::vector<int64_t> perm = permutation(n, ctx_);
    if (perm.empty()) return 0;
    int p = sole_feeder(n.inputs[0], i);
    const Node* t1 = p >= 0 && is_op(g_.nodes[static_cast<size_t>(p)], "Transpose") &&
                             single_output(g_.nodes[static_cast<size_t>(p)])
                         ? &g_.nodes[static_cast<size_t>(p)]
                         : nullptr;
    std::vector<int64_t> first = t1 ? permutation(*t1, ctx_) : std::vector<int64_t>{};
    if (!t1 || first.size() != perm.size()) {
      if (!is_identity(perm) || !forward(n.inputs[0], n.outputs[0])) return 0;
      dead_[i] = true;
      return 1;
    }
    // y = transpose(transpose(x, first), perm): y's axis k is x's axis first[perm[k]].
    std::vector<int64_t> composed(perm.size());
    for (size_t k = 0; k < perm.size(); ++k) composed[k] = first[static_cast<size_t>(perm[k])];
    if (is_identity(composed) && forward(t1->inputs[0], n.outputs[0])) {
      dead_[i] = dead_[static_cast<size_t>(p)] = true;
      return 2;
    }
    n.inputs[0] = t1->inputs[0];
    set_ints(n, "perm", std::move(composed));
    dead_[static_cast<size_t>(p)] = true;
    return 1;
  }

  // Unsqueeze(A) -> Squeeze(A), or Squeeze(A) -> Unsqueeze(A): the second node's output is the first's input.
  int cancel_squeeze_pair(size_t i) {
    Node& n = g_.nodes[i];
    bool squeeze = is_op(n, "Squeeze");
    if (!squeeze && !is_op(n, "Unsqueeze")) return 0;
    int p = sole_feeder(n.inputs[0], i);
    if (p < 0) return 0;
    const Node& first = g_.nodes[static_cast<size_t>(p)];
    if (!is_op(first, squeeze ? "Unsqueeze" : "Squeeze") || !single_output(first)) return 0;
    std::vector<int64_t> a, b;
    bool a_given = false, b_given = false;
    if (!read_axes(first, opset_, ctx_, &a, &a_given) || !read_axes(n, opset_, ctx_, &b, &b_given)) return 0;
    int64_t r = known_rank(ctx_, first.inputs[0]);  // rank of x
    if (squeeze) {  // x -> Unsqueeze(A) -> Squeeze(B): both count axes in the rank of the middle value
      if (!a_given) return 0;
      int64_t mid = r >= 0 ? r + static_cast<int64_t>(a.size()) : -1;
      if (!normalize_axes(a, mid)) return 0;
      if (!b_given) {  // removes every 1-dim: only A's when x has none
        std::vector<int64_t> ones;
        if (!unit_dims(ctx_, first.inputs[0], &ones) || !ones.empty()) return 0;
        b = a;
      } else if (!normalize_axes(b, mid)) {
        return 0;
      }
    } else {  // x -> Squeeze(A) -> Unsqueeze(B): A counts in x's rank, B in the output's, which is x's again
      if (!a_given && !unit_dims(ctx_, first.inputs[0], &a)) return 0;
      if (!normalize_axes(a, r) || !normalize_axes(b, r)) return 0;
    }
    if (a != b || !forward(first.inputs[0], n.outputs[0])) return 0;
    dead_[i] = dead_[static_cast<size_t>(p)] = true;
    return 2;
  }

  int collapse_reshapes(size_t i) {
    Node& n = g_.nodes[i];
    std::optional<Shape> out = static_shape(ctx_, n.outputs[0]);
    std::optional<Shape> in = static_shape(ctx_, n.inputs[0]);
    if (out && in && *out == *in) {
      if (!forward(n.inputs[0], n.outputs[0])) return 0;
      dead_[i] = true;
      return 1;
    }
    if (opset_ < 5) return 0;  // Reshape takes its shape as an attribute there
    std::vector<size_t> chain;
    std::string origin = n.inputs[0];
    for (size_t reader = i;;) {
      int p = sole_feeder(origin, reader);
      if (p < 0 || !reshape_like(g_.nodes[static_cast<size_t>(p)])) break;
      chain.push_back(static_cast<size_t>(p));
      reader = static_cast<size_t>(p);
      origin = g_.nodes[reader].inputs[0];
    }
    if (chain.empty()) return 0;
    auto absorb = [&] {
      for (size_t c : chain) dead_[c] = true;
      return static_cast<int>(chain.size());
    };
    std::optional<Shape> first = static_shape(ctx_, origin);
    if (out && first && *first == *out && forward(origin, n.outputs[0])) {
      dead_[i] = true;
      return absorb() + 1;
    }
    // The last node's own constant shape serves when it reads nothing from its input's shape (no 0 to copy).
    if (is_op(n, "Reshape") && n.has_input(1)) {
      const Tensor* target = ctx_.constant(n.inputs[1]);
      std::vector<int64_t> dims = target ? target->to_int64_vector() : std::vector<int64_t>{};
      bool copies = n.attr_int("allowzero", 0) == 0 && std::find(dims.begin(), dims.end(), 0) != dims.end();
      if (target && !copies) {
        n.inputs[0] = origin;
        return absorb();
      }
    }
    if (!out || std::find(out->begin(), out->end(), 0) != out->end()) return 0;  // a 0 dim needs allowzero
    std::string shape_name = fresh_name(n.outputs[0] + "_shape");
    Tensor shape = int64_tensor(*out);
    g_.initializers[shape_name] = shape;
    ctx_.types.constants[shape_name] = shape;
    ctx_.types.types[shape_name] = TypeInfo::tensor(DType::Int64, to_sym_shape(shape.shape()));
    n.op_type = "Reshape";
    n.domain.clear();
    n.attributes.clear();
    n.inputs = {origin, shape_name};
    return absorb();
  }

  std::string fresh_name(const std::string& base) {
    std::string name = base;
    for (int k = 1; names_.count(name); ++k) name = base + "_" + std::to_string(k);
    names_.insert(name);
    return name;
  }

  Graph& g_;
  PassContext& ctx_;
  int64_t opset_;
  std::unordered_set<std::string> names_;
  const GraphUses* uses_ = nullptr;
  std::vector<bool> dead_;
  bool renamed_output_ = false;
};

}  // namespace

int simplify_reshapes(Graph& g, PassContext& ctx) {
  ReshapeSimplifier s(g, ctx);
  int total = 0;
  for (size_t sweeps = 0; sweeps <= g.nodes.size(); ++sweeps) {
    int n = s.sweep();
    if (n == 0) break;
    total += n;
  }
  return total;
}

HONE_REGISTER_PASS({.name = "simplify-reshapes",
                    .summary = "Reshape/Flatten/Squeeze/Unsqueeze chains collapsed, no-op ones removed, Transposes "
                               "composed, cancelling Squeeze/Unsqueeze pairs removed",
                    .order = 200,
                    .run = simplify_reshapes});

}  // namespace hone
