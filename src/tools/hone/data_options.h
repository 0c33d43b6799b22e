// The command-line options of every command that reads a data set (`hone eval`, `hone quantize`'s calibration and
// evaluation data): how samples are preprocessed and batched. One definition, so every command spells and checks
// them the same way.
#pragma once
#include <CLI/CLI.hpp>
#include <string>

#include "data/dataset.h"

namespace hone::cli {

// Adds to `app`, writing into `o` when parsed (so `o` must outlive parsing):
//   --resize S|HxW   --crop S|HxW   --scale X (a number or a fraction: 1/255)   --mean A[,B,C]   --std A[,B,C]
//   --layout nchw|nhwc   --color rgb|bgr|gray   --limit N   --batch N
// Malformed values are usage errors naming the option. `group` titles the options in --help.
void add_data_options(CLI::App& app, data::DataOptions& o, const std::string& group = "Data options");

// "resize 256, center crop 224, mean 0.485,0.456,0.406, std 0.229,0.224,0.225": the preprocessing options given,
// for commands to print ("" when none were).
std::string describe_data_options(const data::DataOptions& o);

}  // namespace hone::cli
