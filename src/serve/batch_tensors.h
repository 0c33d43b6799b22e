// Dynamic batching's tensor work: stack requests' tensors along dim 0, and cut a batched output back into rows.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tensor.h"

namespace hone::serve {

// Same dtype, same rank >= 1 and same dims after the first for every part (the caller checked); the result owns a
// copy with dim 0 the sum of the parts' dim 0.
Tensor concat_rows(const std::vector<const Tensor*>& parts);
// Rows [begin, begin + count) of a tensor of rank >= 1, as a tensor owning a copy.
Tensor slice_rows(const Tensor& t, int64_t begin, int64_t count);

}  // namespace hone::serve
