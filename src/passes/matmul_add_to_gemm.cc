// MatMul(A, B) + C with A 2-D, B a constant [K, N] matrix and C a constant that broadcasts to the [M, N] result
// ([N], [1, N], [M, N], [M, 1] or a scalar) becomes Gemm(A, B, C): one layer with a bias, which is what exporters
// write for a Linear layer and what runtimes' fully connected kernels take. A of any other rank is left alone (Gemm is
// 2-D only), and so is a MatMul whose result is read by anything else.
#include "passes/pass_manager.h"
#include "passes/weight_folding.h"

namespace hone {

using namespace folding;  // NOLINT: the weight-folding helpers are this file's vocabulary

int matmul_add_to_gemm(Graph& g, PassContext& ctx) {
  if (ctx.opset("") < 7) return 0;  // Gemm's C broadcasts (and Add broadcasts numpy-style) from opset 7 on
  GraphUses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  int rewritten = 0;
  for (size_t ai = 0; ai < g.nodes.size(); ++ai) {
    Node& add = g.nodes[ai];
    if (!add.domain.empty() || add.op_type != "Add" || add.inputs.size() != 2 || add.outputs.size() != 1) continue;
    for (size_t k = 0; k < 2; ++k) {
      const std::string& y = add.inputs[k];
      const std::string& cname = add.inputs[1 - k];
      int mi = uses.producer(y);
      if (mi < 0 || dead[static_cast<size_t>(mi)] || uses.sole_consumer(y) != static_cast<int>(ai) || y == cname)
        continue;
      const Node& mm = g.nodes[static_cast<size_t>(mi)];
      if (!mm.domain.empty() || mm.op_type != "MatMul" || mm.inputs.size() != 2 || mm.outputs.size() != 1) continue;
      DType at = DType::Undefined;
      const Tensor* b = ctx.constant(mm.inputs[1]);
      const TypeInfo* yt = ctx.type(y);
      if (known_rank(ctx, mm.inputs[0], &at) != 2 || at != DType::Float32 || !b || b->dtype() != DType::Float32 ||
          b->rank() != 2 || !yt || !yt->shape || yt->shape->size() != 2)
        continue;
      const Dim& m = (*yt->shape)[0];
      Addend2D c;
      if (!addend_2d(ctx.constant(cname), m.known() ? m.value : -1, b->dim(1), &c)) continue;
      Node gemm{.name = mm.name.empty() ? add.name : mm.name,
                .op_type = "Gemm",
                .inputs = {mm.inputs[0], mm.inputs[1], cname},
                .outputs = add.outputs};
      dead[static_cast<size_t>(mi)] = true;
      add = std::move(gemm);  // in the Add's place: A, B and C are all available there
      ++rewritten;
      break;
    }
  }
  erase_nodes(g, dead);
  return rewritten;
}

HONE_REGISTER_PASS({.name = "matmul-add-to-gemm",
                    .summary = "MatMul of a 2-D input by a constant matrix followed by Add of a constant becomes Gemm",
                    .order = 500,
                    .run = matmul_add_to_gemm});

}  // namespace hone
