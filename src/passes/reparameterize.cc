// Structural re-parameterization (RepVGG, MobileOne): parallel branches that read the same input x and are summed
// (Add, a chain of Adds, or Sum) become one Conv. A branch is
//   - a Conv of x, optionally followed by an inference BatchNormalization (folded into it first);
//   - an identity: x itself, or a BatchNormalization of x;
// and convolution is linear in its kernel, so the sum of branches is one conv whose kernel is the sum of theirs:
// a k x k kernel is zero-padded at the centre to the largest K x K, and an identity is a K x K kernel holding 1 (the
// BN scale) at the centre, at the input channel equal to the output channel (within its group).
// The branches must produce the same grid: one group count and stride, unit dilations, odd kernels each padded by
// k // 2 on both sides (then every output position is centred on the same input position); identities need stride
// 1 and as many output as input channels. Every value between x and the sum must have no other reader.
#include <algorithm>

#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary
namespace {

bool is_sum(const Node& n) {
  return n.domain.empty() && n.outputs.size() == 1 &&
         ((n.op_type == "Add" && n.inputs.size() == 2) || (n.op_type == "Sum" && !n.inputs.empty()));
}

struct Branch {
  const Node* conv = nullptr;  // null: identity
  ConvWeights cw;
  ConvWindow geo;
  ChannelAffine bn;           // empty: no BatchNormalization
  std::vector<size_t> nodes;  // the nodes the merged conv replaces
};

class Reparameterizer {
 public:
  Reparameterizer(Graph& g, PassContext& ctx) : g_(g), ctx_(ctx), uses_(g), dead_(g.nodes.size(), false) {}

  int run() {
    // Outermost sums first (last in graph order): an Add chain merges at once, its inner Adds only when it fails.
    int merged = 0;
    for (size_t i = g_.nodes.size(); i-- > 0;)
      if (!dead_[i] && is_sum(g_.nodes[i]) && merge(i)) ++merged;
    erase_nodes(g_, dead_);
    return merged;
  }

 private:
  const Node* live(int i) const {
    return i >= 0 && !dead_[static_cast<size_t>(i)] ? &g_.nodes[static_cast<size_t>(i)] : nullptr;
  }

  // The summed values under `root`, looking through Adds / Sums read only by the sum above them.
  void collect_leaves(size_t root, std::vector<std::string>* leaves, std::vector<size_t>* sums) const {
    std::vector<size_t> stack = {root};
    while (!stack.empty()) {
      size_t s = stack.back();
      stack.pop_back();
      for (const std::string& in : g_.nodes[s].inputs) {
        int p = uses_.producer(in);
        const Node* pn = live(p);
        if (pn && is_sum(*pn) && uses_.sole_consumer(in) == static_cast<int>(s)) {
          sums->push_back(static_cast<size_t>(p));
          stack.push_back(static_cast<size_t>(p));
        } else {
          leaves->push_back(in);
        }
      }
    }
  }

  // Reads the branch ending in `v` (summed by node `sum`); returns its input.
  std::string classify(const std::string& v, int sum, Branch* b) const {
    std::string cur = v;
    int reader = sum;
    const Node* n = live(uses_.producer(cur));
    if (n && n->op_type == "BatchNormalization" && uses_.sole_consumer(cur) == reader &&
        batchnorm_affine(*n, ctx_.opset(n->domain), ctx_, &b->bn)) {
      b->nodes.push_back(static_cast<size_t>(uses_.producer(cur)));
      reader = uses_.producer(cur);
      cur = n->inputs[0];
      n = live(uses_.producer(cur));
    }
    if (n && n->domain.empty() && n->op_type == "Conv" && uses_.sole_consumer(cur) == reader &&
        conv_weights(*n, ctx_, &b->cw) && conv_window(*n, *b->cw.w, &b->geo)) {
      b->conv = n;
      b->nodes.push_back(static_cast<size_t>(uses_.producer(cur)));
      return n->inputs[0];
    }
    return cur;
  }

  bool merge(size_t root) {
    std::vector<std::string> leaves;
    std::vector<size_t> sums;
    collect_leaves(root, &leaves, &sums);
    std::vector<Branch> branches(leaves.size());
    std::string x;
    const Branch* first_conv = nullptr;
    for (size_t i = 0; i < leaves.size(); ++i) {
      // Which sum reads this leaf: the one whose inputs include it and that is root or among `sums`.
      int reader = uses_.sole_consumer(leaves[i]);
      std::string in = classify(leaves[i], reader < 0 ? -2 : reader, &branches[i]);
      if (i == 0) x = in;
      if (in != x) return false;
      if (branches[i].conv && !first_conv) first_conv = &branches[i];
    }
    if (!first_conv) return false;

    // One geometry for all conv branches; the largest kernel per dim.
    const ConvWindow& g0 = first_conv->geo;
    int64_t m_out = first_conv->cw.out_channels, cg = first_conv->cw.w->dim(1), group = g0.group;
    if (m_out < 1 || cg < 1) return false;
    size_t nd = g0.spatial();
    std::vector<int64_t> big(nd, 1);
    for (const Branch& b : branches) {
      if (!b.conv) continue;
      const ConvWindow& geo = b.geo;
      if (geo.spatial() != nd || geo.group != group || geo.strides != g0.strides || !geo.unit_dilations() ||
          b.cw.out_channels != m_out || b.cw.w->dim(1) != cg)
        return false;
      for (size_t d = 0; d < nd; ++d) {
        int64_t k = geo.kernel[d];
        if (k % 2 == 0 || geo.pads[d] != k / 2 || geo.pads[nd + d] != k / 2) return false;
        big[d] = std::max(big[d], k);
      }
    }
    for (const Branch& b : branches) {
      if (!b.bn.scale.empty() && static_cast<int64_t>(b.bn.size()) != m_out) return false;
      if (!b.conv && (!g0.unit_strides() || cg * group != m_out)) return false;  // identity: same grid and channels
    }
    DType xt = DType::Undefined;
    if (known_rank(ctx_, x, &xt) != static_cast<int>(nd) + 2 || xt != DType::Float32) return false;

    // Sum of the branches' kernels and biases, in double.
    int64_t big_size = 1;
    for (int64_t k : big) big_size *= k;
    std::vector<double> w(static_cast<size_t>(m_out * cg * big_size), 0.0), bias(static_cast<size_t>(m_out), 0.0);
    std::vector<int64_t> centre_at(nd);
    for (const Branch& b : branches) {
      for (int64_t m = 0; m < m_out; ++m) {
        double s = b.bn.scale.empty() ? 1.0 : b.bn.scale[static_cast<size_t>(m)];
        double t = b.bn.scale.empty() ? 0.0 : b.bn.shift[static_cast<size_t>(m)];
        bias[static_cast<size_t>(m)] += t;
        if (!b.conv) {  // identity: output channel m reads input channel m, which is m % (C/g) within its group
          w[static_cast<size_t>((m * cg + m % cg) * big_size + centre_index(big, big))] += s;
          continue;
        }
        if (b.cw.b) bias[static_cast<size_t>(m)] += s * b.cw.b->data<float>()[m];
        int64_t ksize = b.cw.w->numel() / (m_out * cg);
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t j = 0; j < ksize; ++j) {
            double wv = b.cw.w->data<float>()[(m * cg + c) * ksize + j];
            w[static_cast<size_t>((m * cg + c) * big_size + embed(j, b.geo.kernel, big))] += s * wv;
          }
      }
    }
    Shape ws = {m_out, cg};
    ws.insert(ws.end(), big.begin(), big.end());
    Tensor wt(DType::Float32, ws), bt(DType::Float32, {m_out});
    for (size_t k = 0; k < w.size(); ++k) wt.data<float>()[k] = static_cast<float>(w[k]);
    for (size_t k = 0; k < bias.size(); ++k) bt.data<float>()[k] = static_cast<float>(bias[k]);

    Node& r = g_.nodes[root];
    std::vector<int64_t> pads(2 * nd);
    for (size_t d = 0; d < nd; ++d) pads[d] = pads[nd + d] = big[d] / 2;
    const std::string& base = first_conv->conv->inputs[1];
    Node conv{.name = r.name.empty() ? first_conv->conv->name : r.name,
              .op_type = "Conv",
              .inputs = {x, add_initializer(g_, ctx_, base + "_reparam", wt),
                         add_initializer(g_, ctx_, base + "_reparam_bias", bt)},
              .outputs = {r.outputs[0]},
              .attributes = {Attribute::of_ints("kernel_shape", big), Attribute::of_ints("strides", g0.strides),
                             Attribute::of_ints("pads", pads), Attribute::of_int("group", group)}};
    for (const Branch& b : branches)
      for (size_t n : b.nodes) dead_[n] = true;
    for (size_t s : sums) dead_[s] = true;
    r = std::move(conv);  // in the sum's place: x and the new weights are available there
    return true;
  }

  // Flat index of the centre of a kernel of shape `k` within a kernel of shape `big` (both odd per dim).
  static int64_t centre_index(const std::vector<int64_t>& k, const std::vector<int64_t>& big) {
    int64_t at = 0;
    for (size_t d = 0; d < big.size(); ++d) at = at * big[d] + k[d] / 2;
    return at;
  }

  // Flat index in `big` of element j of a kernel of shape `k` placed at big's centre.
  static int64_t embed(int64_t j, const std::vector<int64_t>& k, const std::vector<int64_t>& big) {
    std::vector<int64_t> idx(k.size());
    for (size_t d = k.size(); d-- > 0;) {
      idx[d] = j % k[d];
      j /= k[d];
    }
    int64_t at = 0;
    for (size_t d = 0; d < big.size(); ++d) at = at * big[d] + idx[d] + (big[d] - k[d]) / 2;
    return at;
  }

  Graph& g_;
  PassContext& ctx_;
  GraphUses uses_;
  std::vector<bool> dead_;
};

}  // namespace

int reparameterize(Graph& g, PassContext& ctx) { return Reparameterizer(g, ctx).run(); }

HONE_REGISTER_PASS({.name = "reparameterize",
                    .summary = "summed parallel Conv(+BN) / 1x1 / identity branches of one input (RepVGG, MobileOne) "
                               "become one Conv",
                    .order = 600,
                    .run = reparameterize});

}  // namespace hone
