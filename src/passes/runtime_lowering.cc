#include "passes/runtime_lowering.h"

#include "passes/fuse_qdq.h"
#include "passes/lower_low_precision.h"
#include "passes/pass.h"
#include "passes/pass_manager.h"

namespace hone {

std::shared_ptr<Graph> lower_for_runtime(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                         LoweringStats* stats) {
  auto out = std::make_shared<Graph>(g);  // initializers share their buffers with the model's
  LoweringStats st;
  {  // quantized (QDQ) patterns to int8 ops, before constant folding would dequantize their weights; types fold
     // values up to 1 MiB only, so large weights' DequantizeLinear nodes are read, never computed
    PassContext q;
    q.opset = opset;
    q.max_folded_bytes = int64_t{1} << 20;
    q.refresh_types(*out);
    st.quantized_ops = fuse_qdq(*out, q).total();
  }
  {  // float16 / bfloat16 values to float32 storage rounded as the model's type rounds, before the float32 passes
    PassContext lp;
    lp.opset = opset;
    st.low_precision = lower_low_precision(*out, lp);
  }
  // First the standard passes `hone optimize` runs (those marked at_load), then the runtime-only fusions into
  // hone-domain ops.
  std::vector<const PassInfo*> standard;
  for (const PassInfo& p : PassRegistry::instance().all())
    if (p.at_load) standard.push_back(&p);
  OptimizeReport r = run_passes(*out, opset, standard, 4);
  for (const PassStats& p : r.passes) {
    if (p.name == "fold-constants") st.folded_constants = p.rewrites;
    if (p.name == "fold-batchnorm") st.folded_batchnorms = p.rewrites;
    st.standard_rewrites += p.rewrites;
  }
  PassContext ctx;
  ctx.opset = opset;
  ctx.refresh_types(*out);
  st.fused_convs = fuse_conv(*out, ctx);
  st.channel_shuffles = fuse_channel_shuffle(*out, ctx);
  if (st.low_precision > 0) st.rounded_kernels = fuse_rounding(*out, ctx);
  remove_unused_initializers(*out);
  if (stats) *stats = st;
  return out;
}

}  // namespace hone
