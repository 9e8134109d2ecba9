// Shared fixtures of the attention kernel tests: a random paged KV cache with
// shuffled block tables (unused slots poisoned with NaN), fp16 queries, the
// CPU reference (loom::cpu::ref::attention_paged) and a float64 dense one.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cuda/attention/paged_kv.cuh"
#include "tests/simt/simt_test_util.h"

namespace loom::attention_test {

using simt_test::to_device;
using simt_test::to_host;

constexpr uint16_t kHalfNan = 0x7e00;

struct Shape {
  int head_dim = 64;
  int n_kv_heads = 1;
  int group = 1;  // n_heads / n_kv_heads
  int block_size = 16;
  int n_heads() const { return n_kv_heads * group; }
};

// Host copy of a paged cache holding `kv_len[b]` tokens for each sequence.
struct HostCache {
  Shape shape;
  int num_blocks = 0;
  std::vector<uint16_t> k, v;  // [num_blocks][block_size][n_kv_heads][head_dim] fp16 bits
  std::vector<int32_t> indptr, indices, kv_len;

  const int32_t* table(int b) const { return indices.data() + indptr[b]; }
  int table_len(int b) const { return indptr[b + 1] - indptr[b]; }
  // fp16 bits of K or V at (sequence b, position pos, kv head, dim 0).
  const uint16_t* row(const std::vector<uint16_t>& pool, int b, int pos, int kv_head) const {
    const int64_t blk = table(b)[pos / shape.block_size];
    return pool.data() +
           ((blk * shape.block_size + pos % shape.block_size) * shape.n_kv_heads + kv_head) *
               shape.head_dim;
  }
};

inline uint16_t half_bits(float x) {
  return __half_as_ushort(__float2half_rn(x));
}
inline float half_value(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}

// Blocks of all sequences are a random permutation of the pool (plus two
// spare blocks), so tables are shuffled and interleaved between sequences.
inline HostCache make_cache(const Shape& s, const std::vector<int>& kv_len, unsigned seed) {
  std::mt19937 rng(seed);
  HostCache c;
  c.shape = s;
  c.kv_len.assign(kv_len.begin(), kv_len.end());
  c.indptr.push_back(0);
  for (int len : kv_len)
    c.indptr.push_back(c.indptr.back() + (len + s.block_size - 1) / s.block_size);
  c.num_blocks = c.indptr.back() + 2;
  std::vector<int32_t> perm(c.num_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  c.indices.assign(perm.begin(), perm.begin() + c.indptr.back());
  const size_t elems = static_cast<size_t>(c.num_blocks) * s.block_size * s.n_kv_heads * s.head_dim;
  c.k.assign(elems, kHalfNan);  // slots no sequence owns stay NaN: reading one shows
  c.v.assign(elems, kHalfNan);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (size_t b = 0; b < kv_len.size(); ++b)
    for (int p = 0; p < kv_len[b]; ++p)
      for (int h = 0; h < s.n_kv_heads; ++h) {
        uint16_t* kr = const_cast<uint16_t*>(c.row(c.k, b, p, h));
        uint16_t* vr = const_cast<uint16_t*>(c.row(c.v, b, p, h));
        for (int d = 0; d < s.head_dim; ++d)
          kr[d] = half_bits(dist(rng)), vr[d] = half_bits(dist(rng));
      }
  return c;
}

// Random queries [rows][n_heads][head_dim], already rounded to fp16.
inline std::vector<float> make_queries(int rows, const Shape& s, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-4.0f, 4.0f);  // peaky enough that masks matter
  std::vector<float> q(static_cast<size_t>(rows) * s.n_heads() * s.head_dim);
  for (auto& x : q) x = half_value(half_bits(dist(rng)));
  return q;
}

inline std::vector<__half> to_halves(const std::vector<float>& x) {
  std::vector<__half> h(x.size());
  for (size_t i = 0; i < x.size(); ++i) h[i] = __float2half_rn(x[i]);
  return h;
}

// Device copies of a HostCache and the descriptor over them.
struct DeviceCache {
  loom::cuda::PagedKvCache kv;
  std::vector<void*> owned;
  explicit DeviceCache(const HostCache& c) {
    auto* k = to_device(c.k);
    auto* v = to_device(c.v);
    auto* indptr = to_device(c.indptr);
    auto* indices = to_device(c.indices.empty() ? std::vector<int32_t>{0} : c.indices);
    auto* len = to_device(c.kv_len);
    owned = {k, v, indptr, indices, len};
    kv.k = reinterpret_cast<const __half*>(k);
    kv.v = reinterpret_cast<const __half*>(v);
    kv.num_blocks = c.num_blocks;
    kv.block_size = c.shape.block_size;
    kv.n_kv_heads = c.shape.n_kv_heads;
    kv.head_dim = c.shape.head_dim;
    kv.batch = static_cast<int32_t>(c.kv_len.size());
    kv.block_indptr = indptr;
    kv.block_indices = indices;
    kv.kv_len = len;
  }
  ~DeviceCache() {
    for (void* p : owned) cudaFree(p);
  }
};

// float64 attention of sequence b's query rows [n_q][n_heads][head_dim]
// (row i at position kv_len - n_q + i) straight from the definition.
inline std::vector<double> dense_reference(const HostCache& c, int b, const float* q, int n_q,
                                           float scale) {
  const Shape& s = c.shape;
  const int hd = s.head_dim, pos0 = c.kv_len[b] - n_q;
  std::vector<double> out(static_cast<size_t>(n_q) * s.n_heads() * hd, 0.0);
  std::vector<double> w;
  for (int i = 0; i < n_q; ++i)
    for (int h = 0; h < s.n_heads(); ++h) {
      const float* qr = q + (static_cast<size_t>(i) * s.n_heads() + h) * hd;
      const int kvh = h / s.group, n_keys = pos0 + i + 1;
      w.assign(n_keys, 0.0);
      double mx = -INFINITY, sum = 0.0;
      for (int p = 0; p < n_keys; ++p) {
        const uint16_t* kr = c.row(c.k, b, p, kvh);
        double dot = 0.0;
        for (int d = 0; d < hd; ++d) dot += static_cast<double>(qr[d]) * half_value(kr[d]);
        w[p] = dot * scale;
        mx = std::max(mx, w[p]);
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      double* o = out.data() + (static_cast<size_t>(i) * s.n_heads() + h) * hd;
      for (int p = 0; p < n_keys; ++p) {
        const uint16_t* vr = c.row(c.v, b, p, kvh);
        for (int d = 0; d < hd; ++d) o[d] += w[p] / sum * half_value(vr[d]);
      }
    }
  return out;
}

// loom::cpu::ref::attention_paged over the same cache and rows.
inline std::vector<float> cpu_reference(const HostCache& c, int b, const float* q, int n_q,
                                        float scale) {
  const Shape& s = c.shape;
  std::vector<float> out(static_cast<size_t>(n_q) * s.n_heads() * s.head_dim);
  loom::cpu::PagedKv kv{c.k.data(),   c.v.data(),   c.num_blocks,
                        s.block_size, s.n_kv_heads, s.head_dim};
  loom::cpu::AttentionArgs a;
  a.q = q;
  a.n_q = n_q;
  a.n_heads = s.n_heads();
  a.pos0 = c.kv_len[b] - n_q;
  a.block_table = c.table(b);
  a.block_table_len = c.table_len(b);
  a.scale = scale;
  a.out = out.data();
  loom::cpu::ref::attention_paged(kv, a);
  return out;
}

// Every element written (no NaN left from the poisoned buffer) and within
// fp16-output tolerance of both references; the references agree too.
inline void expect_matches(const std::vector<__half>& got, size_t offset,
                           const std::vector<double>& dense, const std::vector<float>& cpu,
                           const std::string& what) {
  int reported = 0;
  for (size_t i = 0; i < dense.size(); ++i) {
    const float g = __half2float(got[offset + i]);
    const double tol = 2e-3 + 2e-3 * std::fabs(dense[i]);
    const bool ok = std::isfinite(g) && std::fabs(g - dense[i]) <= tol &&
                    std::fabs(cpu[i] - dense[i]) <= 1e-4 + 1e-4 * std::fabs(dense[i]);
    if (!ok && reported++ < 5)
      ADD_FAILURE() << what << " element " << i << ": gpu " << g << " cpu ref " << cpu[i]
                    << " float64 " << dense[i];
  }
}

}  // namespace loom::attention_test
