#include "bench/rss.h"

#include <sys/resource.h>

#include <fstream>
#include <sstream>
#include <string>

namespace hone {

int64_t peak_rss_bytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    std::istringstream fields(line.substr(6));
    int64_t kib = 0;
    if (fields >> kib) return kib * 1024;
  }
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) == 0) return static_cast<int64_t>(u.ru_maxrss) * 1024;  // Linux reports KiB
  return 0;
}

}  // namespace hone
