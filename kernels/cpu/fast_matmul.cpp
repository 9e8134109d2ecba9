#include "kernels/cpu/fast_matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#include "kernels/cpu/fast_kernels.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_blocks.h"
#include "kernels/cpu/thread_pool.h"

namespace loom {
namespace {

constexpr int64_t kParallelQuantElems = 8192;
// Tokens per pass over a thread's row groups: their int8 activations stay in
// L1/L2 while the groups' weights are streamed past them (sweeping all 512
// prompt tokens per group ran at half the speed).
constexpr int64_t kTokenChunk = 32;

uint8_t* act_scratch(size_t bytes) {
  thread_local std::unique_ptr<uint8_t[], decltype(&std::free)> buf{nullptr, &std::free};
  thread_local size_t cap = 0;
  if (bytes > cap) {
    cap = (std::max(bytes, cap * 2) + 63) & ~size_t{63};
    buf.reset(static_cast<uint8_t*>(std::aligned_alloc(64, cap)));
    if (!buf) throw std::bad_alloc();
  }
  return buf.get();
}

fast::Job job_for(const PackedWeights& w) {
  fast::Job j{};
  j.kind = w.type == GgmlType::Q8_0 ? fast::Job::kQ8 : fast::Job::kQ4;
  j.has_min = w.type == GgmlType::Q4_1;
  j.zero = w.type == GgmlType::Q4_0 ? 8 : 0;
  j.w = w.data.get();
  j.block_bytes = w.block_bytes;
  j.group_bytes = w.group_bytes;
  j.nb = w.cols / 32;
  j.rows = w.rows;
  return j;
}

}  // namespace

bool fast_packable(GgmlType type) {
  return type == GgmlType::Q4_0 || type == GgmlType::Q4_1 || type == GgmlType::Q8_0;
}

PackedWeights pack_weights(const WeightView& w) {
  if (!fast_packable(w.type))
    throw KernelError("pack_weights: no fast layout for " + std::string(ggml_type_info(w.type).name));
  if (w.rows <= 0 || w.cols <= 0 || w.cols % 32 != 0)
    throw KernelError("pack_weights: bad shape " + std::to_string(w.rows) + "x" + std::to_string(w.cols));
  const auto row_bytes = ggml_row_bytes(w.type, static_cast<uint64_t>(w.cols));
  if (w.rows > 1 && w.row_stride < *row_bytes) throw KernelError("pack_weights: row_stride too small");
  PackedWeights p;
  p.type = w.type;
  p.rows = w.rows;
  p.cols = w.cols;
  p.groups = (w.rows + kFastRows - 1) / kFastRows;
  const bool q8 = w.type == GgmlType::Q8_0;
  const size_t qbytes = q8 ? 512 : 256;
  p.block_bytes = qbytes + 32 + (w.type == GgmlType::Q4_1 ? 32 : 0);
  const int64_t nb = w.cols / 32;
  p.group_bytes = p.block_bytes * size_t(nb);
  const size_t total = (p.bytes() + 63) & ~size_t{63};
  p.data = {static_cast<uint8_t*>(std::aligned_alloc(64, total)), [](uint8_t* q) { std::free(q); }};
  if (!p.data) throw std::bad_alloc();
  std::memset(p.data.get(), 0, total);
  const auto* src = static_cast<const uint8_t*>(w.data);
  for (int64_t r = 0; r < w.rows; ++r) {
    const uint8_t* row = src + r * w.row_stride;
    const int64_t g = r / kFastRows;
    const int lane = int(r % kFastRows);
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* dst = p.data.get() + g * p.group_bytes + b * p.block_bytes;
      auto* d = reinterpret_cast<uint16_t*>(dst + qbytes);  // fp16 bits, as in the GGUF blocks
      if (w.type == GgmlType::Q4_0) {
        const auto& blk = reinterpret_cast<const BlockQ4_0*>(row)[b];
        for (int j = 0; j < 4; ++j) std::memcpy(dst + 64 * j + 4 * lane, blk.qs + 4 * j, 4);
        d[lane] = blk.d;
      } else if (w.type == GgmlType::Q4_1) {
        const auto& blk = reinterpret_cast<const BlockQ4_1*>(row)[b];
        for (int j = 0; j < 4; ++j) std::memcpy(dst + 64 * j + 4 * lane, blk.qs + 4 * j, 4);
        d[lane] = blk.d;
        d[16 + lane] = blk.m;
      } else {
        const auto& blk = reinterpret_cast<const BlockQ8_0*>(row)[b];
        for (int j = 0; j < 8; ++j) std::memcpy(dst + 64 * j + 4 * lane, blk.qs + 4 * j, 4);
        d[lane] = blk.d;
      }
    }
  }
  return p;
}

void matmul_fast(const PackedWeights& w, const float* x, int64_t ldx, int64_t n_tokens, float* y, int64_t ldy,
                 ThreadPool* pool) {
  if (n_tokens < 0) throw KernelError("matmul_fast: negative shape");
  if (n_tokens > 1 && (ldx < w.cols || ldy < w.rows)) throw KernelError("matmul_fast: ldx/ldy smaller than cols/rows");
  if (w.rows == 0 || n_tokens == 0) return;
  const Isa isa = active_isa();
  auto quantize = isa == Isa::Avx512 ? fast::avx512::quantize : isa == Isa::Avx2 ? fast::avx2::quantize
                                                                                  : fast::scalar::quantize;
  auto gemm = isa == Isa::Avx512 ? fast::avx512::gemm : isa == Isa::Avx2 ? fast::avx2::gemm : fast::scalar::gemm;
  fast::Job job = job_for(w);
  job.act_stride = fast::act_row_bytes(job.nb);
  uint8_t* act = act_scratch(job.act_stride * size_t(n_tokens));
  auto quantize_tokens = [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) quantize(x + t * ldx, act + t * job.act_stride, job.nb);
  };
  if (pool && n_tokens > 1 && n_tokens * w.cols >= kParallelQuantElems)
    pool->parallel_for(n_tokens, quantize_tokens);
  else
    quantize_tokens(0, n_tokens, 0);
  job.act = act;
  job.n_tokens = n_tokens;
  job.y = y;
  job.ldy = ldy;
  auto groups = [&](int64_t g0, int64_t g1, int) {
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenChunk) {
      fast::Job chunk = job;
      chunk.act = act + t0 * job.act_stride;
      chunk.y = y + t0 * ldy;
      chunk.n_tokens = std::min(kTokenChunk, n_tokens - t0);
      gemm(chunk, g0, g1);
    }
  };
  if (pool && pool->size() > 1)
    pool->parallel_for(w.groups, groups);
  else
    groups(0, w.groups, 0);
}

}  // namespace loom
