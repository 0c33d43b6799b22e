// NumPy .npz archives (numpy.savez / savez_compressed): a zip file of .npy members, stored or deflated. Members are
// read through the zip's central directory; sizes, CRCs and every .npy inside are checked, and errors name the file
// and the member. Zip64, encryption and other compression methods are refused with a clear error.
#pragma once
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace hone {

// The arrays of an .npz file in archive order, named as numpy names them (the member name without ".npy").
std::vector<std::pair<std::string, Tensor>> read_npz_file(const std::string& path);
std::vector<std::pair<std::string, Tensor>> read_npz_bytes(const void* data, size_t size, const std::string& label);

}  // namespace hone
