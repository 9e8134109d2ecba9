// Shared fixtures of the attention kernel tests: a random paged KV cache, fp16
// or int8 with per-(token, kv head) scales, with shuffled block tables (unused
// slots poisoned: NaN fp16 / NaN scales), fp16 queries, the CPU reference
// (loom::cpu::ref::attention_paged, fp16 or int8 overload) and a float64
// dense one over the cache's (dequantized) values.
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
#include "kernels/cpu/attention_int8.h"
#include "kernels/cuda/attention/paged_kv.cuh"
#include "kernels/cuda/common/device.cuh"

// Built twice: under the SIMT emulator (tests/cuda/attention) and by nvcc for
// a real device (tests/gpu). On a device there is no fiber resume order to
// vary, so the EveryResumeOrder tests rerun their checks unchanged there.
#if !defined(LOOM_SIMT_EMULATION)
namespace loom::simt {
enum class Schedule { kForward, kReverse, kShuffled };
inline void set_schedule(Schedule, uint64_t = 0) {}
}  // namespace loom::simt
#endif

namespace loom::attention_test {

template <class T>
T* to_device(const std::vector<T>& host) {
  T* d = nullptr;
  EXPECT_EQ(cudaMalloc(&d, host.size() * sizeof(T)), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(d, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice),
            cudaSuccess);
  return d;
}

template <class T>
std::vector<T> to_host(const T* d, size_t n) {
  std::vector<T> host(n);
  EXPECT_EQ(cudaMemcpy(host.data(), d, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return host;
}

using loom::cuda::KvCacheDtype;

constexpr uint16_t kHalfNan = 0x7e00;
constexpr int8_t kQuantPoison = -128;  // not a valid quant (they are clamped to +-127)

struct Shape {
  int head_dim = 64;
  int n_kv_heads = 1;
  int group = 1;  // n_heads / n_kv_heads
  int block_size = 16;
  int n_heads() const { return n_kv_heads * group; }
};

inline float half_value(uint16_t bits);

// Host copy of a paged cache holding `kv_len[b]` tokens for each sequence.
struct HostCache {
  Shape shape;
  KvCacheDtype dtype = KvCacheDtype::kF16;
  int num_blocks = 0;
  std::vector<uint16_t> k, v;  // kF16: [num_blocks][block_size][n_kv_heads][head_dim] fp16 bits
  std::vector<int8_t> kq, vq;  // kInt8: same shape, quants
  std::vector<float> ks, vs;   // kInt8: [num_blocks][block_size][n_kv_heads] scales
  std::vector<int32_t> indptr, indices, kv_len;

  const int32_t* table(int b) const { return indices.data() + indptr[b]; }
  int table_len(int b) const { return indptr[b + 1] - indptr[b]; }
  // Slot index ([num_blocks][block_size][n_kv_heads]) of (sequence b, pos, kv head).
  int64_t slot(int b, int pos, int kv_head) const {
    const int64_t blk = table(b)[pos / shape.block_size];
    return (blk * shape.block_size + pos % shape.block_size) * shape.n_kv_heads + kv_head;
  }
  // fp16 bits of K or V at (sequence b, position pos, kv head, dim 0).
  const uint16_t* row(const std::vector<uint16_t>& pool, int b, int pos, int kv_head) const {
    return pool.data() + slot(b, pos, kv_head) * shape.head_dim;
  }
  // The value attention must see: the fp16 value, or q * scale in float64.
  double key(int b, int pos, int kv_head, int d) const { return value(k, kq, ks, b, pos, kv_head, d); }
  double val(int b, int pos, int kv_head, int d) const { return value(v, vq, vs, b, pos, kv_head, d); }

 private:
  double value(const std::vector<uint16_t>& f16, const std::vector<int8_t>& q,
               const std::vector<float>& sc, int b, int pos, int kv_head, int d) const {
    const int64_t s = slot(b, pos, kv_head);
    if (dtype == KvCacheDtype::kF16) return half_value(f16[s * shape.head_dim + d]);
    return static_cast<double>(q[s * shape.head_dim + d]) * static_cast<double>(sc[s]);
  }
};

inline uint16_t half_bits(float x) {
  return __half_as_ushort(__float2half_rn(x));
}
inline float half_value(uint16_t bits) {
  return __half2float(__ushort_as_half(bits));
}

// One int8 head: random quants with one at +-127 (as a real amax gives) and
// a scale log-uniform over [lo, hi] / 127; every 11th head is all zeros with
// scale 0 (amax == 0).
inline void fill_int8_head(std::mt19937& rng, int8_t* q, float* scale, int head_dim, float lo,
                           float hi, int64_t index) {
  std::uniform_int_distribution<int> quant(-127, 127);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  if (index % 11 == 5) {
    std::fill(q, q + head_dim, 0);
    *scale = 0.0f;
    return;
  }
  for (int d = 0; d < head_dim; ++d) q[d] = static_cast<int8_t>(quant(rng));
  q[quant(rng) & (head_dim - 1)] = u(rng) < 0.5f ? -127 : 127;
  *scale = lo * std::pow(hi / lo, u(rng)) / 127.0f;
}

// Blocks of all sequences are a random permutation of the pool (plus two
// spare blocks), so tables are shuffled and interleaved between sequences.
// kInt8: K's amax spans [0.25, 2] per token (scores stay in the fp16 tests'
// range, but every token has its own scale), V's [0.01, 10].
inline HostCache make_cache(const Shape& s, const std::vector<int>& kv_len, unsigned seed,
                            KvCacheDtype dtype = KvCacheDtype::kF16) {
  std::mt19937 rng(seed);
  HostCache c;
  c.shape = s;
  c.dtype = dtype;
  c.kv_len.assign(kv_len.begin(), kv_len.end());
  c.indptr.push_back(0);
  for (int len : kv_len)
    c.indptr.push_back(c.indptr.back() + (len + s.block_size - 1) / s.block_size);
  c.num_blocks = c.indptr.back() + 2;
  std::vector<int32_t> perm(c.num_blocks);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  c.indices.assign(perm.begin(), perm.begin() + c.indptr.back());
  const size_t slots = static_cast<size_t>(c.num_blocks) * s.block_size * s.n_kv_heads;
  const size_t elems = slots * s.head_dim;
  if (dtype == KvCacheDtype::kInt8) {
    c.kq.assign(elems, kQuantPoison);  // slots no sequence owns have NaN scales: reading one shows
    c.vq.assign(elems, kQuantPoison);
    c.ks.assign(slots, NAN);
    c.vs.assign(slots, NAN);
    for (size_t b = 0; b < kv_len.size(); ++b)
      for (int p = 0; p < kv_len[b]; ++p)
        for (int h = 0; h < s.n_kv_heads; ++h) {
          const int64_t slot = c.slot(static_cast<int>(b), p, h);
          fill_int8_head(rng, &c.kq[slot * s.head_dim], &c.ks[slot], s.head_dim, 0.25f, 2.0f, slot);
          fill_int8_head(rng, &c.vq[slot * s.head_dim], &c.vs[slot], s.head_dim, 0.01f, 10.0f, slot + 3);
        }
    return c;
  }
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
    auto* indptr = to_device(c.indptr);
    auto* indices = to_device(c.indices.empty() ? std::vector<int32_t>{0} : c.indices);
    auto* len = to_device(c.kv_len);
    owned = {indptr, indices, len};
    kv.dtype = c.dtype;
    if (c.dtype == KvCacheDtype::kInt8) {
      kv.k_q = to_device(c.kq);
      kv.v_q = to_device(c.vq);
      kv.k_scale = to_device(c.ks);
      kv.v_scale = to_device(c.vs);
      owned.insert(owned.end(), {(void*)kv.k_q, (void*)kv.v_q, (void*)kv.k_scale, (void*)kv.v_scale});
    } else {
      auto* k = to_device(c.k);
      auto* v = to_device(c.v);
      owned.insert(owned.end(), {(void*)k, (void*)v});
      kv.k = reinterpret_cast<const __half*>(k);
      kv.v = reinterpret_cast<const __half*>(v);
    }
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

// First key a query at position pos sees under a sliding window (0: none).
inline int window_lo(int pos, int window) { return window > 0 && pos >= window ? pos - window + 1 : 0; }

// A copy of c whose table entries for blocks wholly before `first_key[b]`
// are -1 (a dropped sliding-window block: reading one poisons the output).
inline HostCache drop_blocks_before(const HostCache& c, const std::vector<int>& first_key) {
  HostCache d = c;
  for (size_t b = 0; b < first_key.size(); ++b)
    for (int j = 0; j < c.table_len(static_cast<int>(b)); ++j)
      if ((j + 1) * c.shape.block_size <= first_key[b]) d.indices[c.indptr[b] + j] = -1;
  return d;
}

// float64 attention of sequence b's query rows [n_q][n_heads][head_dim]
// (row i at position kv_len - n_q + i) straight from the definition; under a
// sliding window row i sees keys [window_lo(pos), pos] only.
inline std::vector<double> dense_reference(const HostCache& c, int b, const float* q, int n_q,
                                           float scale, int window = 0) {
  const Shape& s = c.shape;
  const int hd = s.head_dim, pos0 = c.kv_len[b] - n_q;
  std::vector<double> out(static_cast<size_t>(n_q) * s.n_heads() * hd, 0.0);
  std::vector<double> w;
  for (int i = 0; i < n_q; ++i)
    for (int h = 0; h < s.n_heads(); ++h) {
      const float* qr = q + (static_cast<size_t>(i) * s.n_heads() + h) * hd;
      const int kvh = h / s.group, n_keys = pos0 + i + 1, lo = window_lo(pos0 + i, window);
      w.assign(n_keys, -INFINITY);
      double mx = -INFINITY, sum = 0.0;
      for (int p = lo; p < n_keys; ++p) {
        double dot = 0.0;
        for (int d = 0; d < hd; ++d) dot += static_cast<double>(qr[d]) * c.key(b, p, kvh, d);
        w[p] = dot * scale;
        mx = std::max(mx, w[p]);
      }
      for (double& x : w) sum += (x = std::exp(x - mx));
      double* o = out.data() + (static_cast<size_t>(i) * s.n_heads() + h) * hd;
      for (int p = lo; p < n_keys; ++p)
        for (int d = 0; d < hd; ++d) o[d] += w[p] / sum * c.val(b, p, kvh, d);
    }
  return out;
}

// loom::cpu::ref::attention_paged over the same cache and rows.
inline std::vector<float> cpu_reference(const HostCache& c, int b, const float* q, int n_q,
                                        float scale, int window = 0) {
  const Shape& s = c.shape;
  std::vector<float> out(static_cast<size_t>(n_q) * s.n_heads() * s.head_dim);
  loom::cpu::AttentionArgs a;
  a.q = q;
  a.n_q = n_q;
  a.n_heads = s.n_heads();
  a.pos0 = c.kv_len[b] - n_q;
  a.block_table = c.table(b);
  a.block_table_len = c.table_len(b);
  a.scale = scale;
  a.window = window;
  a.out = out.data();
  if (c.dtype == KvCacheDtype::kInt8) {
    loom::cpu::PagedKvInt8 kv{c.kq.data(),  c.vq.data(),  c.ks.data(),   c.vs.data(),
                              c.num_blocks, s.block_size, s.n_kv_heads, s.head_dim};
    loom::cpu::ref::attention_paged(kv, a);
  } else {
    loom::cpu::PagedKv kv{c.k.data(),   c.v.data(),   c.num_blocks,
                          s.block_size, s.n_kv_heads, s.head_dim};
    loom::cpu::ref::attention_paged(kv, a);
  }
  return out;
}

// Every element written (no NaN left from the poisoned buffer) and within
// fp16 tolerance of the float64 reference; the CPU reference (which rounds
// Q and the probabilities to fp16, as llama.cpp does) within the same.
inline void expect_matches(const std::vector<__half>& got, size_t offset,
                           const std::vector<double>& dense, const std::vector<float>& cpu,
                           const std::string& what) {
  int reported = 0;
  for (size_t i = 0; i < dense.size(); ++i) {
    const float g = __half2float(got[offset + i]);
    const double tol = 2e-3 + 2e-3 * std::fabs(dense[i]);
    const bool ok = std::isfinite(g) && std::fabs(g - dense[i]) <= tol && std::fabs(cpu[i] - dense[i]) <= tol;
    if (!ok && reported++ < 5)
      ADD_FAILURE() << what << " element " << i << ": gpu " << g << " cpu ref " << cpu[i]
                    << " float64 " << dense[i];
  }
}

}  // namespace loom::attention_test
