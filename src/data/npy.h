// NumPy .npy files: versions 1.0, 2.0 and 3.0, little-endian, C order, the numeric types f2 f4 f8 i1 i2 i4 i8 u1 u2
// u4 u8 and b1. Everything read is checked (magic, header syntax, dtype, shape against the data size) and errors
// name the file.
#pragma once
#include <cstddef>
#include <string>

#include "core/tensor.h"

namespace hone {

// Reads a whole .npy file. Throws hone::Error naming `path` on any problem.
Tensor read_npy_file(const std::string& path);
// Parses .npy bytes; `label` names the source in errors (a path, "<memory>").
Tensor read_npy_bytes(const void* data, size_t size, const std::string& label);

// The .npy serialization of `t` (version 1.0, or 2.0 when the header needs it). Throws for types .npy cannot hold
// (string, bfloat16, float8, sub-byte, complex).
std::string npy_bytes(const Tensor& t);
// Writes `path`. Without `overwrite`, refuses an existing file (created exclusively, so no race); with it, writes a
// temporary file beside `path` and renames it over, so a symlink at `path` is replaced, never followed.
void write_npy_file(const Tensor& t, const std::string& path, bool overwrite = false);

// Whether .npy can hold this element type.
bool npy_supports(DType t);

}  // namespace hone
