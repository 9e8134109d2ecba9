// The machine's ceiling for a memory-bound GEMV: how fast one or more threads
// can stream-read a buffer far larger than the caches.
#pragma once

namespace loom::bench {

// GB/s (1e9 bytes/s) of a streaming sum over a 256 MiB buffer, best of a few
// passes, using `threads` threads each reading its own slice.
double measure_read_bandwidth(int threads);

}  // namespace loom::bench
