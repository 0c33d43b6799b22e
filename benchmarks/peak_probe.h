// What the kernel microbenchmarks measure against, beyond bench/machine_probe (the FMA peak and a read over ordinary
// 4 KiB pages): the read bandwidth over a buffer on 2 MiB pages. Hardware prefetchers stop at page boundaries, so a
// stream over small pages reads markedly slower than one over huge pages; the GEMV kernel packs its weights onto huge
// pages, and is held to the faster of the two reads.
#pragma once
#include <cstddef>

namespace hone::bench {

struct HugePageRead {
  double gbs = 0;             // 10^9 bytes/s, best of several passes
  double huge_fraction = 0;   // share of the buffer the kernel backed with 2 MiB pages (0 when THP is off)
};

// Every thread sums its slice of one `bytes` buffer (much larger than the caches), aligned to and advised onto
// 2 MiB pages (transparent huge pages, madvise mode).
HugePageRead measure_huge_page_read(int threads, size_t bytes = size_t{256} << 20);

}  // namespace hone::bench
