#include "kernels/cuda/attention/paged_kv.cuh"

namespace loom::cuda {

cudaError_t check_paged_kv_shape(const PagedKvCache& kv) {
  if (!kv.block_indptr || !kv.block_indices || !kv.kv_len) return cudaErrorInvalidValue;
  if (kv.num_blocks <= 0 || kv.block_size <= 0 || kv.n_kv_heads <= 0 || kv.batch <= 0)
    return cudaErrorInvalidValue;
  if (kv.head_dim != 64 && kv.head_dim != 128 && kv.head_dim != 256) return cudaErrorInvalidValue;
  const auto addr = [](const void* p) { return reinterpret_cast<uintptr_t>(p); };
  if (kv.dtype == KvCacheDtype::kF16) {
    // 16-byte loads of K/V rows.
    return kv.k && kv.v && (addr(kv.k) | addr(kv.v)) % 16 == 0 ? cudaSuccess
                                                                : cudaErrorInvalidValue;
  }
  if (kv.dtype != KvCacheDtype::kInt8) return cudaErrorInvalidValue;
  // 8- and 16-byte loads of int8 rows, 4-byte scale loads.
  const bool ptrs = kv.k_q && kv.v_q && kv.k_scale && kv.v_scale;
  return ptrs && (addr(kv.k_q) | addr(kv.v_q)) % 16 == 0 &&
                 (addr(kv.k_scale) | addr(kv.v_scale)) % 4 == 0
             ? cudaSuccess
             : cudaErrorInvalidValue;
}

std::string validate_paged_kv_tables(const PagedKvCache& kv, const int32_t* host_indptr,
                                     const int32_t* host_indices, const int32_t* host_kv_len) {
  if (!host_indptr || !host_kv_len) return "block_indptr and kv_len must not be null";
  if (host_indptr[0] != 0) return "block_indptr[0] must be 0";
  for (int b = 0; b < kv.batch; ++b) {
    const std::string seq = "sequence " + std::to_string(b) + ": ";
    const int32_t n = host_indptr[b + 1] - host_indptr[b];
    if (n < 0) return seq + "block_indptr decreases";
    if (host_kv_len[b] < 1) return seq + "kv_len must be >= 1";
    if (static_cast<int64_t>(host_kv_len[b]) > static_cast<int64_t>(n) * kv.block_size)
      return seq + "kv_len " + std::to_string(host_kv_len[b]) + " exceeds its " +
             std::to_string(n) + " blocks";
    if (n > 0 && !host_indices) return "block_indices must not be null";
    for (int32_t j = host_indptr[b]; j < host_indptr[b + 1]; ++j)
      if (host_indices[j] < 0 || host_indices[j] >= kv.num_blocks)
        return seq + "block id " + std::to_string(host_indices[j]) + " outside [0, " +
               std::to_string(kv.num_blocks) + ")";
  }
  return "";
}

}  // namespace loom::cuda
