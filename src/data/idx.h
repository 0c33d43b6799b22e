// IDX files, the format of (Fashion-)MNIST: magic 0x00 0x00, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
// 0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions, the dimensions as big-endian uint32, then the
// values big-endian in C order. Gzip-compressed files (.gz, as Debian's dataset-fashion-mnist ships them) are read
// transparently. Everything is checked (magic, type, dimension count, sizes against the data) and errors name the
// file.
#pragma once
#include <cstddef>
#include <string>

#include "core/tensor.h"

namespace hone {

// Reads a whole IDX file (plain or gzip). Throws hone::Error naming `path` on any problem.
Tensor read_idx_file(const std::string& path);
// Parses uncompressed IDX bytes; `label` names the source in errors.
Tensor read_idx_bytes(const void* data, size_t size, const std::string& label);

}  // namespace hone
