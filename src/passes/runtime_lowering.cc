#include "passes/runtime_lowering.h"

#include "passes/pass.h"
#include "passes/pass_manager.h"

namespace hone {

std::shared_ptr<Graph> lower_for_runtime(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                         LoweringStats* stats) {
  auto out = std::make_shared<Graph>(g);  // initializers share their buffers with the model's
  // First the standard passes `hone optimize` runs (those marked at_load), then the runtime-only fusions into
  // hone-domain ops.
  std::vector<const PassInfo*> standard;
  for (const PassInfo& p : PassRegistry::instance().all())
    if (p.at_load) standard.push_back(&p);
  OptimizeReport r = run_passes(*out, opset, standard, 4);
  LoweringStats st;
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
  remove_unused_initializers(*out);
  if (stats) *stats = st;
  return out;
}

}  // namespace hone
