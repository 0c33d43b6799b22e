// ai.onnx.ml TreeEnsemble (opset 5): evaluates an ensemble of decision trees on each row of X [N, F] and aggregates
// the reached leaves' weights per target (sum, average, min or max), then applies an optional post transform.
// Trees are given by parallel nodes_* arrays; a branch leads either to another node or to a leaf (nodes_*leafs).
#include <cmath>
#include <limits>
#include <set>

#include "ops/op_helpers.h"

namespace hone {
namespace {

enum class Mode { LEQ = 0, LT = 1, GTE = 2, GT = 3, EQ = 4, NEQ = 5, MEMBER = 6 };
enum class Aggregate { Average = 0, Sum = 1, Min = 2, Max = 3 };
enum class PostTransform { None = 0, Softmax = 1, Logistic = 2, SoftmaxZero = 3, Probit = 4 };

struct TreeNode {
  Mode mode = Mode::LEQ;
  double split = 0;
  std::set<double> members;
  int64_t feature = 0;
  int64_t next[2] = {0, 0};    // [false, true] branch targets
  bool to_leaf[2] = {false, false};
  bool missing_goes_true = false;
};

struct Ensemble {
  std::vector<TreeNode> nodes;
  std::vector<double> leaf_weights;
  std::vector<int64_t> leaf_targets;
  std::vector<int64_t> roots;
  int64_t n_targets = 0;
  Aggregate aggregate = Aggregate::Sum;
  PostTransform post = PostTransform::None;
};

std::vector<double> tensor_attr_values(const Node& n, const char* name, bool required) {
  const Tensor* t = n.attr_tensor(name);
  if (!t) {
    if (required) fail("{}: missing required attribute '{}'", n.label(), name);
    return {};
  }
  std::vector<double> v(static_cast<size_t>(t->numel()));
  for (int64_t i = 0; i < t->numel(); ++i) v[static_cast<size_t>(i)] = t->get_double(i);
  return v;
}

std::vector<int64_t> required_ints(const Node& n, const char* name) {
  const Attribute* a = n.find_attr(name);
  if (!a) fail("{}: missing required attribute '{}'", n.label(), name);
  return a->ints;
}

Ensemble read_ensemble(const Node& n) {
  Ensemble e;
  std::vector<double> splits = tensor_attr_values(n, "nodes_splits", true);
  std::vector<double> modes = tensor_attr_values(n, "nodes_modes", true);
  std::vector<int64_t> features = required_ints(n, "nodes_featureids");
  std::vector<int64_t> true_ids = required_ints(n, "nodes_truenodeids");
  std::vector<int64_t> false_ids = required_ints(n, "nodes_falsenodeids");
  std::vector<int64_t> true_leafs = required_ints(n, "nodes_trueleafs");
  std::vector<int64_t> false_leafs = required_ints(n, "nodes_falseleafs");
  std::vector<int64_t> missing = n.attr_ints("nodes_missing_value_tracks_true");
  std::vector<double> members = tensor_attr_values(n, "membership_values", false);
  e.leaf_targets = required_ints(n, "leaf_targetids");
  e.leaf_weights = tensor_attr_values(n, "leaf_weights", true);
  e.roots = required_ints(n, "tree_roots");
  e.n_targets = n.require_int("n_targets");
  int64_t agg = n.attr_int("aggregate_function", 1), post = n.attr_int("post_transform", 0);
  if (agg < 0 || agg > 3) fail("{}: aggregate_function {} is not 0..3", n.label(), agg);
  if (post < 0 || post > 4) fail("{}: post_transform {} is not 0..4", n.label(), post);
  e.aggregate = static_cast<Aggregate>(agg);
  e.post = static_cast<PostTransform>(post);
  if (e.n_targets < 1) fail("{}: n_targets must be >= 1, got {}", n.label(), e.n_targets);

  size_t count = splits.size();
  for (size_t len : {modes.size(), features.size(), true_ids.size(), false_ids.size(), true_leafs.size(),
                     false_leafs.size()})
    if (len != count) fail("{}: the nodes_* attributes must all have {} entries", n.label(), count);
  if (!missing.empty() && missing.size() != count)
    fail("{}: nodes_missing_value_tracks_true must have {} entries", n.label(), count);
  if (e.leaf_targets.size() != e.leaf_weights.size())
    fail("{}: leaf_targetids and leaf_weights differ in length", n.label());
  for (int64_t t : e.leaf_targets)
    if (t < 0 || t >= e.n_targets) fail("{}: leaf target {} is outside [0, {})", n.label(), t, e.n_targets);

  // Set members come in node order, each node's set closed by a NaN.
  size_t member_at = 0;
  e.nodes.resize(count);
  for (size_t i = 0; i < count; ++i) {
    TreeNode& t = e.nodes[i];
    if (modes[i] < 0 || modes[i] > 6) fail("{}: node {} has mode {}, not 0..6", n.label(), i, modes[i]);
    t.mode = static_cast<Mode>(static_cast<int>(modes[i]));
    t.split = splits[i];
    t.feature = features[i];
    if (t.feature < 0) fail("{}: node {} has feature id {}", n.label(), i, t.feature);
    t.next[0] = false_ids[i];
    t.next[1] = true_ids[i];
    t.to_leaf[0] = false_leafs[i] != 0;
    t.to_leaf[1] = true_leafs[i] != 0;
    t.missing_goes_true = !missing.empty() && missing[i] != 0;
    for (int b = 0; b < 2; ++b) {
      int64_t limit = static_cast<int64_t>(t.to_leaf[b] ? e.leaf_weights.size() : count);
      if (t.next[b] < 0 || t.next[b] >= limit)
        fail("{}: node {} branches to {} {}, outside [0, {})", n.label(), i, t.to_leaf[b] ? "leaf" : "node",
             t.next[b], limit);
    }
    if (t.mode == Mode::MEMBER) {
      while (member_at < members.size() && !std::isnan(members[member_at])) t.members.insert(members[member_at++]);
      if (member_at == members.size()) fail("{}: membership_values runs out before node {}'s set ends", n.label(), i);
      ++member_at;  // the NaN
    }
  }
  for (int64_t r : e.roots)
    if (r < 0 || r >= static_cast<int64_t>(count)) fail("{}: tree root {} is outside [0, {})", n.label(), r, count);
  return e;
}

bool goes_true(const TreeNode& t, double x) {
  if (std::isnan(x) && t.missing_goes_true) return true;
  switch (t.mode) {
    case Mode::LEQ: return x <= t.split;
    case Mode::LT: return x < t.split;
    case Mode::GTE: return x >= t.split;
    case Mode::GT: return x > t.split;
    case Mode::EQ: return x == t.split;
    case Mode::NEQ: return x != t.split;
    case Mode::MEMBER: return t.members.count(x) > 0;
  }
  return false;
}

// Index of the leaf row `x` reaches from `root`; throws on a cycle.
int64_t find_leaf(const Node& n, const Ensemble& e, int64_t root, const double* x, int64_t features) {
  int64_t at = root;
  for (size_t steps = 0; steps <= e.nodes.size(); ++steps) {
    const TreeNode& t = e.nodes[static_cast<size_t>(at)];
    if (t.feature >= features) fail("{}: feature id {} is outside the input's {} features", n.label(), t.feature, features);
    int b = goes_true(t, x[t.feature]) ? 1 : 0;
    if (t.to_leaf[b]) return t.next[b];
    at = t.next[b];
  }
  fail("{}: the tree rooted at node {} has a cycle", n.label(), root);
}

// Inverse of the standard normal CDF at p, via Newton steps on erf.
double probit(double p) {
  if (p <= 0) return -INFINITY;
  if (p >= 1) return INFINITY;
  double y = 2 * p - 1, w = 0;  // solve erf(w) = y
  for (int i = 0; i < 100; ++i) {
    double err = std::erf(w) - y;
    if (std::abs(err) < 1e-15) break;
    w -= err / (2 / std::sqrt(M_PI) * std::exp(-w * w));
  }
  return std::sqrt(2.0) * w;
}

void post_transform(PostTransform post, double* row, int64_t n) {
  switch (post) {
    case PostTransform::None: return;
    case PostTransform::Logistic:
      for (int64_t i = 0; i < n; ++i) row[i] = 1 / (1 + std::exp(-row[i]));
      return;
    case PostTransform::Probit:
      for (int64_t i = 0; i < n; ++i) row[i] = probit(row[i]);
      return;
    case PostTransform::Softmax:
    case PostTransform::SoftmaxZero: {
      bool skip_zero = post == PostTransform::SoftmaxZero;  // zeros stay zero and take no share
      double top = -INFINITY, sum = 0;
      for (int64_t i = 0; i < n; ++i)
        if (!(skip_zero && row[i] == 0)) top = std::max(top, row[i]);
      for (int64_t i = 0; i < n; ++i) {
        if (skip_zero && row[i] == 0) continue;
        row[i] = std::exp(row[i] - top);
        sum += row[i];
      }
      for (int64_t i = 0; i < n; ++i)
        if (!(skip_zero && row[i] == 0)) row[i] /= sum;
      return;
    }
  }
}

void tree_ensemble(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& x = ctx.input(0);
  if (x.rank() != 2) fail("{}: X must have shape [N, F], got {}", n.label(), shape_str(x.shape()));
  Ensemble e = read_ensemble(n);
  int64_t rows = x.dim(0), features = x.dim(1), targets = e.n_targets;
  Tensor& y = ctx.output_uninitialized(0, x.dtype(), {rows, targets});
  std::vector<double> row(static_cast<size_t>(features)), acc(static_cast<size_t>(targets));
  // Targets no leaf reaches keep the starting value: 0, or the type's extreme for min / max (as ONNX's reference).
  double big = x.dtype() == DType::Float64 ? std::numeric_limits<double>::max() : std::numeric_limits<float>::max();
  double init = e.aggregate == Aggregate::Min ? big : e.aggregate == Aggregate::Max ? -big : 0.0;
  HONE_DISPATCH_FLOAT(x.dtype(), n, {
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t f = 0; f < features; ++f) row[static_cast<size_t>(f)] = x.get_double(r * features + f);
      std::fill(acc.begin(), acc.end(), init);
      for (int64_t root : e.roots) {
        auto leaf = static_cast<size_t>(find_leaf(n, e, root, row.data(), features));
        double w = e.leaf_weights[leaf];
        double& a = acc[static_cast<size_t>(e.leaf_targets[leaf])];
        switch (e.aggregate) {
          case Aggregate::Sum: a += w; break;
          case Aggregate::Average: a += w / static_cast<double>(e.roots.size()); break;
          case Aggregate::Min: a = std::min(a, w); break;
          case Aggregate::Max: a = std::max(a, w); break;
        }
      }
      post_transform(e.post, acc.data(), targets);
      for (int64_t t = 0; t < targets; ++t) y.data<T>()[r * targets + t] = static_cast<T>(acc[static_cast<size_t>(t)]);
    }
  });
}

void infer_tree_ensemble(InferenceContext& ctx) {
  int64_t targets = ctx.node().require_int("n_targets");
  const SymShape* s = ctx.input_shape(0);
  Dim rows = s && s->size() == 2 ? (*s)[0] : Dim();
  ctx.set_output_tensor(0, ctx.input_dtype(0), SymShape{rows, Dim(targets)});
}

}  // namespace

HONE_REGISTER_OP({.domain = "ai.onnx.ml", .name = "TreeEnsemble", .since = 5, .infer = infer_tree_ensemble,
                  .compute = tree_ensemble});

}  // namespace hone
