#include "passes/runtime_lowering.h"

#include "passes/pass.h"

namespace hone {

std::shared_ptr<Graph> lower_for_runtime(const Graph& g, const std::function<int64_t(const std::string&)>& opset,
                                         LoweringStats* stats) {
  auto out = std::make_shared<Graph>(g);  // initializers share their buffers with the model's
  PassContext ctx;
  ctx.opset = opset;
  ctx.refresh_types(*out);
  LoweringStats st;
  st.folded_constants = fold_constants(*out, ctx);
  st.folded_batchnorms = fold_batchnorm(*out, ctx);
  if (st.folded_batchnorms) ctx.refresh_types(*out);
  st.fused_convs = fuse_conv(*out, ctx);
  st.channel_shuffles = fuse_channel_shuffle(*out, ctx);
  remove_unused_initializers(*out);
  if (stats) *stats = st;
  return out;
}

}  // namespace hone
