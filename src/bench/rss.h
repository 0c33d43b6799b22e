// Resident memory of this process, for `hone bench`.
#pragma once
#include <cstdint>

namespace hone {

// Peak resident set size in bytes: VmHWM from /proc/self/status, else getrusage's ru_maxrss; 0 when neither is known.
int64_t peak_rss_bytes();

}  // namespace hone
