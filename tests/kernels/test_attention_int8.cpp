// int8 paged attention (kernels/cpu/attention_int8.h) against float64
// references written here, on ragged shapes, GQA and a shuffled block table:
//  1. the stored cache against the format spec in float64 (one-step flips only);
//  2. the kernels (SIMD and scalar reference) against float64 attention over
//     the dequantized cache: only fp32 arithmetic error is allowed;
//  3. the kernels against float64 attention over the original fp32 K/V, with a
//     tolerance derived from the quantization bound (see quantization_bound).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/attention_int8.h"

namespace loom::cpu {
namespace {

struct Shape {
  int head_dim, block_size, group, seq_len, n_q;
};

constexpr int kKvHeads = 2;

// A pool with spare blocks, a shuffled table; unwritten slots hold values
// that would show if read (scale NaN).
struct Cache {
  int num_blocks = 0;
  std::vector<int8_t> k, v;
  std::vector<float> ks, vs;
  std::vector<int32_t> table;
  PagedKvInt8Mut mut(const Shape& s) {
    return {k.data(), v.data(), ks.data(), vs.data(), num_blocks, s.block_size, kKvHeads, s.head_dim};
  }
};

Cache make_cache(const Shape& s, uint32_t seed) {
  Cache c;
  const int needed = (s.seq_len + s.block_size - 1) / s.block_size;
  c.num_blocks = needed * 2 + 3;
  const size_t slots = static_cast<size_t>(c.num_blocks) * s.block_size * kKvHeads;
  c.k.assign(slots * s.head_dim, 127);
  c.v.assign(slots * s.head_dim, 127);
  c.ks.assign(slots, NAN);
  c.vs.assign(slots, NAN);
  std::vector<int32_t> phys(c.num_blocks);
  std::iota(phys.begin(), phys.end(), 0);
  std::shuffle(phys.begin(), phys.end(), std::mt19937(seed));
  c.table.assign(phys.begin(), phys.begin() + needed);
  return c;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  return x;
}

// Dense K or V rows [seq][kKvHeads][hd] in double, read back from the cache
// through the table (q * scale in double).
std::vector<double> dequantized_f64(const Cache& c, const Shape& s, bool is_v) {
  const size_t row = static_cast<size_t>(kKvHeads) * s.head_dim;
  std::vector<double> out(s.seq_len * row);
  for (int pos = 0; pos < s.seq_len; ++pos) {
    const size_t slot0 = (static_cast<size_t>(c.table[pos / s.block_size]) * s.block_size + pos % s.block_size) * kKvHeads;
    for (int h = 0; h < kKvHeads; ++h) {
      const double scale = (is_v ? c.vs : c.ks)[slot0 + h];
      for (int i = 0; i < s.head_dim; ++i)
        out[pos * row + h * s.head_dim + i] = (is_v ? c.v : c.k)[(slot0 + h) * s.head_dim + i] * scale;
    }
  }
  return out;
}

// Dense causal attention in double. k, v: [seq][kKvHeads][hd].
std::vector<double> attention_f64(const Shape& s, const std::vector<float>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, double scale) {
  const int n_heads = kKvHeads * s.group, hd = s.head_dim, pos0 = s.seq_len - s.n_q;
  std::vector<double> out(q.size(), 0.0);
  for (int r = 0; r < s.n_q; ++r) {
    for (int h = 0; h < n_heads; ++h) {
      const size_t kv_off = static_cast<size_t>(h / s.group) * hd;
      const float* qh = &q[(static_cast<size_t>(r) * n_heads + h) * hd];
      const int n_keys = pos0 + r + 1;
      std::vector<double> p(n_keys);
      for (int t = 0; t < n_keys; ++t) {
        double dot = 0.0;
        for (int i = 0; i < hd; ++i) dot += qh[i] * k[t * kKvHeads * hd + kv_off + i];
        p[t] = dot * scale;
      }
      const double max = *std::max_element(p.begin(), p.end());
      double sum = 0.0;
      for (auto& x : p) sum += x = std::exp(x - max);
      double* o = &out[(static_cast<size_t>(r) * n_heads + h) * hd];
      for (int t = 0; t < n_keys; ++t)
        for (int i = 0; i < hd; ++i) o[i] += p[t] / sum * v[t * kKvHeads * hd + kv_off + i];
    }
  }
  return out;
}

// Per (row, head): a bound on |attention over dequantized K/V - attention over
// the exact K/V|. Each element moves by at most scale/2 = amax/254 (plus fp32
// noise), so every score moves by at most
//   delta = softmax_scale * sum_i |q_i| * max_t amax_k(t) / 254,
// each softmax weight by a factor within e^(+-2 delta), i.e. ||dp||_1 <= e^(2 delta) - 1,
// and out_d = sum_t p_t v_td moves by <= ||dp||_1 * max|v| + max_t amax_v(t) / 254.
std::vector<double> quantization_bound(const Shape& s, const std::vector<float>& q, const std::vector<float>& k,
                                       const std::vector<float>& v, double scale) {
  const int n_heads = kKvHeads * s.group, hd = s.head_dim;
  double kmax = 0.0, vmax = 0.0;
  for (float x : k) kmax = std::max(kmax, std::fabs(static_cast<double>(x)));
  for (float x : v) vmax = std::max(vmax, std::fabs(static_cast<double>(x)));
  std::vector<double> bound(static_cast<size_t>(s.n_q) * n_heads);
  for (size_t rh = 0; rh < bound.size(); ++rh) {
    double qsum = 0.0;
    for (int i = 0; i < hd; ++i) qsum += std::fabs(q[rh * hd + i]);
    const double delta = scale * qsum * kmax / 254.0 * (1 + 1e-4);
    bound[rh] = std::expm1(2 * delta) * vmax + vmax / 254.0 * (1 + 1e-4) + 1e-5;
  }
  return bound;
}

// max over elements of |got - want| / (abs + rel * |want|).
double worst(const std::vector<float>& got, const std::vector<double>& want, double abs, double rel) {
  double w = 0.0;
  for (size_t i = 0; i < got.size(); ++i) w = std::max(w, std::fabs(got[i] - want[i]) / (abs + rel * std::fabs(want[i])));
  return w;
}

// 1: what kv_write stored matches the spec in float64 (a flip of one step only
// where x * 127 / amax sits on a rounding tie).
void expect_stored_per_spec(const Cache& c, const Shape& s, const std::vector<float>& x, bool is_v) {
  const size_t row = static_cast<size_t>(kKvHeads) * s.head_dim;
  for (int pos = 0; pos < s.seq_len; ++pos) {
    const size_t slot0 = (static_cast<size_t>(c.table[pos / s.block_size]) * s.block_size + pos % s.block_size) * kKvHeads;
    for (int h = 0; h < kKvHeads; ++h) {
      const float* xh = &x[pos * row + h * s.head_dim];
      double amax = 0.0;
      for (int i = 0; i < s.head_dim; ++i) amax = std::max(amax, std::fabs(static_cast<double>(xh[i])));
      ASSERT_EQ((is_v ? c.vs : c.ks)[slot0 + h], static_cast<float>(amax / 127.0)) << pos;
      for (int i = 0; i < s.head_dim; ++i) {
        const double t = xh[i] * 127.0 / amax;
        const int got = (is_v ? c.v : c.k)[(slot0 + h) * s.head_dim + i];
        if (got == std::nearbyint(t)) continue;
        ASSERT_EQ(std::fabs(got - std::nearbyint(t)), 1.0) << pos;
        ASSERT_LT(std::fabs(std::fabs(t - std::trunc(t)) - 0.5), 1e-4) << pos;
      }
    }
  }
}

void run_case(const Shape& s) {
  SCOPED_TRACE(::testing::Message() << "head_dim=" << s.head_dim << " block=" << s.block_size
                                    << " group=" << s.group << " seq=" << s.seq_len << " n_q=" << s.n_q);
  Cache c = make_cache(s, s.seq_len * 7 + s.block_size);
  const int n_heads = kKvHeads * s.group, pos0 = s.seq_len - s.n_q;
  const size_t kv_row = static_cast<size_t>(kKvHeads) * s.head_dim;
  const auto k = random_floats(s.seq_len * kv_row, 1 + s.seq_len, -2.0f, 2.0f);
  const auto v = random_floats(s.seq_len * kv_row, 2 + s.seq_len, -1.0f, 1.0f);
  const auto q = random_floats(static_cast<size_t>(s.n_q) * n_heads * s.head_dim, 3 + s.n_q, -2.0f, 2.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));

  // Two writes (a "prefill", then the rest) to exercise pos0.
  const int split = s.seq_len / 2;
  const auto tl = static_cast<int32_t>(c.table.size());
  kv_write(c.mut(s), k.data(), v.data(), split, 0, c.table.data(), tl);
  kv_write(c.mut(s), k.data() + split * kv_row, v.data() + split * kv_row, s.seq_len - split, split, c.table.data(), tl);
  expect_stored_per_spec(c, s, k, false);
  expect_stored_per_spec(c, s, v, true);

  const PagedKvInt8 kv = c.mut(s).view();
  std::vector<float> fast(q.size()), slow(q.size()), parts(q.size());
  AttentionArgs a{q.data(), s.n_q, n_heads, pos0, c.table.data(), tl, scale, fast.data()};
  attention_paged(kv, a);
  AttentionArgs r = a;
  r.out = slow.data();
  ref::attention_paged(kv, r);

  // 2: same cache, float64 math: fp32 rounding only (as the fp16 kernel's test).
  const auto exact_cache = attention_f64(s, q, dequantized_f64(c, s, false), dequantized_f64(c, s, true), scale);
  EXPECT_LE(worst(fast, exact_cache, 1e-5, 1e-4), 1.0);
  EXPECT_LE(worst(slow, exact_cache, 1e-5, 1e-4), 1.0);

  // 3: against the unquantized K/V, within the derived quantization bound.
  const std::vector<double> kd(k.begin(), k.end()), vd(v.begin(), v.end());
  const auto exact = attention_f64(s, q, kd, vd, scale);
  const auto bound = quantization_bound(s, q, k, v, scale);
  double worst_ratio = 0.0;
  for (size_t i = 0; i < fast.size(); ++i)
    worst_ratio = std::max(worst_ratio, std::fabs(fast[i] - exact[i]) / bound[i / s.head_dim]);
  EXPECT_LE(worst_ratio, 1.0);

  // Any split of the work items (as threads make) gives identical bits.
  AttentionArgs p = a;
  p.out = parts.data();
  const int64_t items = attention_work_items(kv, p);
  for (int64_t begin = 0; begin < items;) {
    const int64_t end = std::min(items, begin + 1 + begin % 3);
    attention_paged_items(kv, p, begin, end);
    begin = end;
  }
  EXPECT_EQ(parts, fast);
}

TEST(AttentionInt8, MatchesFloat64OnRaggedShapes) {
  for (int head_dim : {64, 128}) {
    for (int group : {1, 3}) {
      for (int seq_len : {1, 15, 17, 1000}) {
        for (int n_q : {1, 3, 17}) {
          if (n_q > seq_len) continue;
          run_case({head_dim, 16, group, seq_len, n_q});
        }
      }
    }
  }
  run_case({64, 32, 3, 100, 5});  // another block size
}

TEST(AttentionInt8, OddHeadDimUsesScalarPath) { run_case({36, 16, 3, 40, 3}); }

// A sliding window of W keys gives what attending to a cache that holds only
// those W keys gives (attention does not see positions; RoPE came before).
// Blocks wholly before the window are poisoned (NaN scales) to show a read.
TEST(AttentionInt8, SlidingWindowSeesOnlyTheWindow) {
  for (int window : {1, 16, 37}) {
    for (int head_dim : {64, 256, 36}) {
      SCOPED_TRACE(::testing::Message() << "window=" << window << " head_dim=" << head_dim);
      const Shape full{head_dim, 16, 2, 90, 1}, part{head_dim, 16, 2, window, 1};
      Cache a = make_cache(full, 11), b = make_cache(part, 12);
      const size_t kv_row = static_cast<size_t>(kKvHeads) * head_dim;
      const auto k = random_floats(full.seq_len * kv_row, 21, -2.0f, 2.0f);
      const auto v = random_floats(full.seq_len * kv_row, 22, -1.0f, 1.0f);
      const auto q = random_floats(kKvHeads * full.group * head_dim, 23, -2.0f, 2.0f);
      kv_write(a.mut(full), k.data(), v.data(), full.seq_len, 0, a.table.data(), static_cast<int32_t>(a.table.size()));
      const size_t skip = (full.seq_len - window) * kv_row;
      kv_write(b.mut(part), k.data() + skip, v.data() + skip, window, 0, b.table.data(),
               static_cast<int32_t>(b.table.size()));
      AttentionArgs wa{q.data(), 1, kKvHeads * full.group, full.seq_len - 1, a.table.data(),
                       static_cast<int32_t>(a.table.size()), 0.125f, nullptr, window};
      const size_t slots_per_block = static_cast<size_t>(full.block_size) * kKvHeads;
      for (int64_t blk = 0; blk < first_key(wa, 0) / full.block_size; ++blk) {
        std::fill_n(a.ks.begin() + a.table[blk] * slots_per_block, slots_per_block, NAN);
        std::fill_n(a.vs.begin() + a.table[blk] * slots_per_block, slots_per_block, NAN);
      }
      AttentionArgs wb{q.data(), 1, kKvHeads * full.group, window - 1, b.table.data(),
                       static_cast<int32_t>(b.table.size()), 0.125f, nullptr};
      std::vector<float> got(q.size()), got_ref(q.size()), want(q.size());
      wa.out = got.data();
      attention_paged(a.mut(full).view(), wa);
      wa.out = got_ref.data();
      ref::attention_paged(a.mut(full).view(), wa);
      wb.out = want.data();
      ref::attention_paged(b.mut(part).view(), wb);
      EXPECT_EQ(got_ref, want);
      for (size_t i = 0; i < want.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5 * (1 + std::fabs(want[i]))) << i;
    }
  }
}

TEST(AttentionInt8, ZeroRowsAttendAsZeros) {
  // An all-zero K and V head (scale 0) gives scores 0 and outputs 0, not NaN.
  const Shape s{64, 16, 1, 5, 1};
  Cache c = make_cache(s, 3);
  const size_t kv_row = static_cast<size_t>(kKvHeads) * s.head_dim;
  const std::vector<float> zeros(s.seq_len * kv_row, 0.0f);
  kv_write(c.mut(s), zeros.data(), zeros.data(), s.seq_len, 0, c.table.data(), static_cast<int32_t>(c.table.size()));
  const auto q = random_floats(kKvHeads * s.head_dim, 4, -1.0f, 1.0f);
  std::vector<float> out(q.size(), NAN);
  attention_paged(c.mut(s).view(), {q.data(), 1, kKvHeads, s.seq_len - 1, c.table.data(),
                                    static_cast<int32_t>(c.table.size()), 0.125f, out.data()});
  for (float x : out) EXPECT_EQ(x, 0.0f);
}

TEST(AttentionInt8, RejectsBadArguments) {
  const Shape s{64, 16, 1, 20, 1};
  Cache c = make_cache(s, 1);
  const PagedKvInt8 kv = c.mut(s).view();
  std::vector<float> q(kKvHeads * 64), out(q.size());
  const auto tl = static_cast<int32_t>(c.table.size());
  const AttentionArgs good{q.data(), 1, kKvHeads, 19, c.table.data(), tl, 0.125f, out.data()};
  EXPECT_NO_THROW(attention_validate(kv, good));
  auto expect_bad = [&](PagedKvInt8 cache, AttentionArgs a, const char* what) {
    EXPECT_THROW(attention_paged(cache, a), std::invalid_argument) << what;
    EXPECT_THROW(ref::attention_paged(cache, a), std::invalid_argument) << what;
  };
  AttentionArgs a = good;
  a.pos0 = 32;
  expect_bad(kv, a, "short table");
  a = good;
  a.n_heads = 3;
  expect_bad(kv, a, "heads not a multiple of kv heads");
  std::vector<int32_t> bad_table = c.table;
  bad_table[1] = c.num_blocks;
  a = good;
  a.block_table = bad_table.data();
  expect_bad(kv, a, "physical block out of range");
  PagedKvInt8 no_scales = kv;
  no_scales.v_scale = nullptr;
  expect_bad(no_scales, good, "null v_scale");

  std::vector<float> rows(kKvHeads * 64);
  EXPECT_THROW(kv_write(c.mut(s), rows.data(), rows.data(), 1, 40, c.table.data(), tl), std::invalid_argument);
  PagedKvInt8Mut no_k_scale = c.mut(s);
  no_k_scale.k_scale = nullptr;
  EXPECT_THROW(kv_write(no_k_scale, rows.data(), rows.data(), 1, 0, c.table.data(), tl), std::invalid_argument);
}

}  // namespace
}  // namespace loom::cpu
