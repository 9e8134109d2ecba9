#include "kernels/cpu/matmul.h"

#include <algorithm>
#include <climits>
#include <memory>
#include <string>

#include "kernels/cpu/fast_matmul.h"
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

// Software prefetch of the weight rows [r0, r1): decode streams ~96 MB of
// weights per token from DRAM/L3, so the next row block is requested while
// this one is computed (prefetches never fault).
void prefetch_rows(const uint8_t* weights, size_t w_stride, int64_t r0, int64_t r1) {
  for (size_t off = 0; off < size_t(r1 - r0) * w_stride; off += 64)
    __builtin_prefetch(weights + r0 * w_stride + off, 0, 3);
}

// One matmul call after the activations are quantized.
struct RowJob {
  const uint8_t* weights;
  size_t w_stride;
  int64_t rows_total;
  int64_t cols;
  const uint8_t* act;  // quantized activations, one row per token
  size_t act_stride;
  int64_t n_tokens;
  float* y;
  int64_t ldy;
  BatchDots dots;
  const GemmKernel* gemm;     // may be null: one vec_dot per output
  const ActBlockInfo* info;  // gemm only: per token, cols/32 entries
  size_t info_stride;

  // Panels [p0, p1) of kPanelRows rows, every token: each weight block is
  // unpacked once per panel and reused for all tokens.
  void panels(int64_t p0, int64_t p1) const {
    for (int64_t p = p0; p < p1; ++p) {
      const int64_t r = p * kPanelRows;
      const int64_t r_end = std::min(r + kPanelRows, rows_total);
      prefetch_rows(weights, w_stride, r_end, std::min(r_end + kPanelRows, rows_total));
      gemm->panel(cols, weights + r * w_stride, w_stride, int(r_end - r), act, act_stride, info, info_stride,
                  n_tokens, y + r, ldy);
    }
  }

  // Rows [r0, r1), one vec_dot per output, a row block at a time so each
  // weight row is read from memory once and reused from cache for all tokens.
  void rows(int64_t r0, int64_t r1) const {
    for (int64_t rt = r0; rt < r1; rt += kRowTile) {
      const int64_t rt_end = std::min(rt + kRowTile, r1);
      prefetch_rows(weights, w_stride, rt_end, std::min(rt_end + kRowTile, r1));
      for (int64_t t = 0; t < n_tokens; ++t) {
        const VecDotFn f = t < dots.head_tokens ? dots.head : dots.tail;
        for (int64_t r = rt; r < rt_end; ++r) y[t * ldy + r] = f(cols, weights + r * w_stride, act + t * act_stride);
      }
    }
  }
};

}  // namespace

void matmul(const WeightView& w, const float* x, int64_t ldx, int64_t n_tokens, float* y,
            int64_t ldy, ThreadPool* pool) {
  if (w.packed) return matmul_fast(*w.packed, x, ldx, n_tokens, y, ldy, pool);
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
  // The panels' offsets into a row are gathered as int32.
  const GemmKernel* gemm = w.row_stride <= size_t(INT32_MAX / kPanelRows) ? gemm_kernel(w.type, isa) : nullptr;
  if (gemm && n_tokens < gemm->min_tokens) gemm = nullptr;  // the dot kernels: the same bits
  const size_t info_stride = gemm ? size_t(w.cols / 32) : 0;  // per 32 elements (unused by K-quant panels)
  const size_t info_offset = act_stride * n_tokens;
  uint8_t* act = activation_scratch(info_offset + info_stride * n_tokens * sizeof(ActBlockInfo));
  auto* info = reinterpret_cast<ActBlockInfo*>(act + info_offset);  // act_stride keeps it aligned

  auto quantize_tokens = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      quantize_row(act_type, x + t * ldx, act + t * act_stride, w.cols);
      if (gemm) gemm->prepare(w.cols, act + t * act_stride, info + t * info_stride);
    }
  };
  if (pool && n_tokens > 1 && n_tokens * w.cols >= kParallelQuantElems)
    pool->parallel_for(n_tokens, quantize_tokens);
  else
    quantize_tokens(0, n_tokens, 0);

  const RowJob job{static_cast<const uint8_t*>(w.data), w.row_stride, w.rows, w.cols, act, act_stride,
                   n_tokens, y, ldy, batch_dots(w.type, isa, n_tokens), gemm, info, info_stride};
  const bool parallel = pool && pool->size() > 1;
  if (gemm) {
    const int64_t n_panels = (w.rows + kPanelRows - 1) / kPanelRows;
    if (parallel)
      pool->parallel_for(n_panels, [&](int64_t p0, int64_t p1, int) { job.panels(p0, p1); });
    else
      job.panels(0, n_panels);
  } else if (parallel) {
    pool->parallel_for(w.rows, [&](int64_t r0, int64_t r1, int) { job.rows(r0, r1); }, kRowTile);
  } else {
    job.rows(0, w.rows);
  }
}

}  // namespace loom
