#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <memory>
#include <string>

#include "kernels/cpu/isa.h"
#include "kernels/cpu/quantize.h"
#include "kernels/cpu/thread_pool.h"
#include "kernels/cpu/vec_dot.h"

namespace loom {
namespace {

// A block of weight rows is reused across all tokens while it sits in L1
// (16 rows x 1536 cols of Q4_1 = 15 KB); rows per parallel chunk at least this.
constexpr int64_t kRowTile = 16;
// Quantizing activations is parallelized only when there is enough of it.
constexpr int64_t kParallelQuantElems = 8192;

// Grows-only scratch for the quantized activations of the calling thread
// (workers only read it during the call): no allocation in steady state.
uint8_t* activation_scratch(size_t bytes) {
  thread_local std::unique_ptr<uint8_t[]> buf;
  thread_local size_t cap = 0;
  if (bytes > cap) {
    cap = std::max(bytes, cap * 2);
    buf.reset(new uint8_t[cap]);
  }
  return buf.get();
}

void check_shapes(const WeightView& w, int64_t ldx, int64_t n_tokens, int64_t ldy) {
  const auto& info = ggml_type_info(w.type);
  if (w.rows < 0 || w.cols < 0 || n_tokens < 0)
    throw KernelError("matmul: negative shape");
  const auto row_bytes = ggml_row_bytes(w.type, static_cast<uint64_t>(w.cols));
  if (!row_bytes)
    throw KernelError("matmul: cols=" + std::to_string(w.cols) + " is not a whole number of " +
                      std::string(info.name) + " blocks");
  if (w.rows > 1 && w.row_stride < *row_bytes)
    throw KernelError("matmul: row_stride " + std::to_string(w.row_stride) + " < row bytes " +
                      std::to_string(*row_bytes));
  if (n_tokens > 1 && (ldx < w.cols || ldy < w.rows))
    throw KernelError("matmul: ldx/ldy smaller than cols/rows");
}

// One matmul call after the activations are quantized: computes output
// blocks with register tiles where the ISA has them, one vec_dot elsewhere.
struct RowJob {
  const uint8_t* weights;
  size_t w_stride;
  int64_t cols;
  const uint8_t* act;  // quantized activations, one row per token
  size_t act_stride;
  int64_t n_tokens;
  float* y;
  int64_t ldy;
  VecDotFn dot;
  VecDotTileFn tile[2];  // kTileRows x 1 and x 2 tokens; may be null

  // Outputs of rows [r0, r1) for tokens [t, t + nt).
  void block(int64_t r0, int64_t r1, int64_t t, int nt) const {
    const uint8_t* a = act + t * act_stride;
    float* yt = y + t * ldy;
    int64_t r = r0;
    if (const VecDotTileFn fn = tile[nt - 1])
      for (; r + kTileRows <= r1; r += kTileRows)
        fn(cols, weights + r * w_stride, w_stride, a, act_stride, yt + r, ldy);
    for (; r < r1; ++r)
      for (int u = 0; u < nt; ++u) yt[u * ldy + r] = dot(cols, weights + r * w_stride, a + u * act_stride);
  }

  // Rows [r0, r1) for all tokens, one row tile at a time: each weight row is
  // read from memory once and reused from cache for every token.
  void rows(int64_t r0, int64_t r1) const {
    for (int64_t rt = r0; rt < r1; rt += kRowTile) {
      const int64_t rt_end = std::min(rt + kRowTile, r1);
      // Decode streams weights from DRAM/L3: ask for the next row block now so
      // its loads overlap this block's math (prefetches never fault).
      const int64_t next_end = std::min(rt_end + kRowTile, r1);
      for (size_t off = 0; off < size_t(next_end - rt_end) * w_stride; off += 64)
        __builtin_prefetch(weights + rt_end * w_stride + off, 0, 3);
      int64_t t = 0;
      if (tile[1])
        for (; t + 2 <= n_tokens; t += 2) block(rt, rt_end, t, 2);
      for (; t < n_tokens; ++t) block(rt, rt_end, t, 1);
    }
  }
};

}  // namespace

void matmul(const WeightView& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
            int64_t ldy, ThreadPool* pool) {
  check_shapes(w, ldx, n_tokens, ldy);
  if (w.rows == 0 || n_tokens == 0) return;
  const GgmlType act_type = activation_type(w.type);
  const Isa isa = active_isa();
  // Activation blocks must cover cols too (e.g. Q8_K needs multiples of 256).
  const auto act_row = ggml_row_bytes(act_type, static_cast<uint64_t>(w.cols));
  if (!act_row)
    throw KernelError("matmul: cols=" + std::to_string(w.cols) + " not a whole number of " +
                      std::string(ggml_type_info(act_type).name) + " blocks");
  const size_t act_stride = (*act_row + 63) & ~size_t{63};
  uint8_t* act = activation_scratch(act_stride * n_tokens);

  auto quantize_tokens = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) quantize_row(act_type, x + t * ldx, act + t * act_stride, w.cols);
  };
  if (pool && n_tokens > 1 && n_tokens * w.cols >= kParallelQuantElems)
    pool->parallel_for(n_tokens, quantize_tokens);
  else
    quantize_tokens(0, n_tokens, 0);

  const RowJob job{static_cast<const uint8_t*>(w.data), w.row_stride, w.cols, act, act_stride, n_tokens,
                   y, ldy, vec_dot_fn(w.type, isa),
                   {vec_dot_tile_fn(w.type, isa, 1), vec_dot_tile_fn(w.type, isa, 2)}};
  if (pool && pool->size() > 1)
    pool->parallel_for(w.rows, [&](int64_t r0, int64_t r1, int) { job.rows(r0, r1); }, kRowTile);
  else
    job.rows(0, w.rows);
}

}  // namespace loom
