#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/f16.h"
#include "tests/ops/op_test_util.h"

namespace loom::cpu {
namespace {

struct Shape {
  int head_dim, block_size, group, seq_len, n_q;
  int window = 0;  // sliding window (0: none)
};

// A pool with more blocks than the sequence needs and a shuffled block table,
// so logical order never matches physical order.
struct Cache {
  int n_kv_heads = 2;
  int num_blocks = 0;
  std::vector<uint16_t> k, v;
  std::vector<int32_t> table;
  PagedKvMut mut(const Shape& s) {
    return {k.data(), v.data(), num_blocks, s.block_size, n_kv_heads, s.head_dim};
  }
};

Cache make_cache(const Shape& s, uint32_t seed) {
  Cache c;
  const int needed = (s.seq_len + s.block_size - 1) / s.block_size;
  c.num_blocks = needed * 2 + 3;
  const size_t elems = static_cast<size_t>(c.num_blocks) * s.block_size * c.n_kv_heads * s.head_dim;
  c.k.assign(elems, 0x7e00);  // NaN everywhere: reading an unwritten slot would show
  c.v.assign(elems, 0x7e00);
  std::vector<int32_t> phys(c.num_blocks);
  std::iota(phys.begin(), phys.end(), 0);
  std::shuffle(phys.begin(), phys.end(), std::mt19937(seed));
  c.table.assign(phys.begin(), phys.begin() + needed);
  return c;
}

// Dense causal attention in double over the fp16-rounded Q, K and V (the
// kernel rounds q to fp16 as llama.cpp's KQ matmul does). The kernel also
// rounds each probability to fp16, which moves it by at most 2^-11 of itself;
// `spread` gets sum_t p_t * |v_t| per output, the bound that rounding allows.
struct DenseAttention {
  std::vector<double> out, spread;
};
// With a window, query position P sees keys (P - window, P] only.
DenseAttention attention_f64(const Shape& s, int n_heads, int n_kv, const std::vector<float>& q,
                             const std::vector<float>& k, const std::vector<float>& v, float scale) {
  const int pos0 = s.seq_len - s.n_q, hd = s.head_dim;
  auto at = [&](const std::vector<float>& x, int pos, int head) {
    return &x[(static_cast<size_t>(pos) * n_kv + head) * hd];
  };
  std::vector<double> out(q.size()), spread(q.size());
  for (int i = 0; i < s.n_q; ++i) {
    for (int h = 0; h < n_heads; ++h) {
      const int g = h / (n_heads / n_kv);
      const float* qh = &q[(static_cast<size_t>(i) * n_heads + h) * hd];
      const int n_keys = pos0 + i + 1;
      const int first = s.window > 0 ? std::max(0, n_keys - s.window) : 0;
      std::vector<double> p(n_keys, 0.0);
      double max = -INFINITY;
      for (int t = first; t < n_keys; ++t) {
        const float* kt = at(k, t, g);
        double dot = 0.0;
        for (int d = 0; d < hd; ++d)
          dot += static_cast<double>(fp16_to_fp32(fp32_to_fp16(qh[d]))) * fp16_to_fp32(fp32_to_fp16(kt[d]));
        p[t] = dot * scale;
        max = std::max(max, p[t]);
      }
      double sum = 0.0;
      for (int t = first; t < n_keys; ++t) sum += p[t] = std::exp(p[t] - max);
      double* o = &out[(static_cast<size_t>(i) * n_heads + h) * hd];
      double* sp = &spread[(static_cast<size_t>(i) * n_heads + h) * hd];
      for (int t = first; t < n_keys; ++t) {
        const float* vt = at(v, t, g);
        for (int d = 0; d < hd; ++d) {
          const double term = p[t] / sum * fp16_to_fp32(fp32_to_fp16(vt[d]));
          o[d] += term;
          sp[d] += std::fabs(term);
        }
      }
    }
  }
  return {out, spread};
}

// Worst |got - want| over its allowance: float rounding (1e-5 + 1e-4 |want|)
// plus the fp16 rounding of the probabilities (2^-11 of the spread).
double worst_error(const std::vector<float>& got, const DenseAttention& want) {
  double worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double allowed = 1e-5 + 1e-4 * std::fabs(want.out[i]) + 0x1p-11 * want.spread[i];
    worst = std::max(worst, std::fabs(got[i] - want.out[i]) / allowed);
  }
  return worst;
}

void run_case(const Shape& s) {
  SCOPED_TRACE(::testing::Message() << "head_dim=" << s.head_dim << " block=" << s.block_size
                                    << " group=" << s.group << " seq=" << s.seq_len << " n_q=" << s.n_q
                                    << " window=" << s.window);
  Cache c = make_cache(s, s.seq_len * 7 + s.block_size);
  const int n_heads = c.n_kv_heads * s.group;
  const int pos0 = s.seq_len - s.n_q;
  const size_t kv_row = static_cast<size_t>(c.n_kv_heads) * s.head_dim;
  const auto k = test::random_floats(s.seq_len * kv_row, 1 + s.seq_len, -2.0f, 2.0f);
  const auto v = test::random_floats(s.seq_len * kv_row, 2 + s.seq_len);
  const auto q = test::random_floats(static_cast<size_t>(s.n_q) * n_heads * s.head_dim, 3 + s.n_q, -2.0f, 2.0f);
  const float scale = 1.0f / std::sqrt(static_cast<float>(s.head_dim));

  // Written in two chunks (a "prefill" then the rest) to exercise pos0.
  const int split = s.seq_len / 2;
  const auto tl = static_cast<int32_t>(c.table.size());
  kv_write(c.mut(s), k.data(), v.data(), split, 0, c.table.data(), tl);
  kv_write(c.mut(s), k.data() + split * kv_row, v.data() + split * kv_row, s.seq_len - split, split,
           c.table.data(), tl);

  const PagedKv kv = c.mut(s).view();
  std::vector<float> fast(q.size()), slow(q.size()), parts(q.size());
  AttentionArgs a{q.data(), s.n_q, n_heads, pos0, c.table.data(), tl, scale, fast.data(), s.window};
  // A window's cache may have let go of the blocks before first_kept_key:
  // poison them (NaN, and a table entry no pool has) so a read would show.
  for (int64_t b = 0; b < first_kept_key(a) / s.block_size; ++b) {
    const size_t block_elems = static_cast<size_t>(s.block_size) * kv_row;
    std::fill_n(c.k.begin() + c.table[b] * block_elems, block_elems, uint16_t{0x7e00});
    std::fill_n(c.v.begin() + c.table[b] * block_elems, block_elems, uint16_t{0x7e00});
    c.table[b] = -1;
  }
  attention_paged(kv, a);
  AttentionArgs r = a;
  r.out = slow.data();
  ref::attention_paged(kv, r);

  const auto want = attention_f64(s, n_heads, c.n_kv_heads, q, k, v, scale);
  EXPECT_LE(worst_error(fast, want), 1.0);
  EXPECT_LE(worst_error(slow, want), 1.0);
  // The fast path follows the scalar reference's arithmetic order exactly.
  EXPECT_EQ(fast, slow);

  // Any split of the work items (as threads would make) gives identical bits.
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

TEST(AttentionPaged, MatchesDenseFloat64) {
  for (int head_dim : {64, 128}) {
    for (int block_size : {16, 32}) {
      for (int group : {1, 3}) {
        for (int seq_len : {1, 15, 17, 100, 1000}) {
          for (int n_q : {1, 3, 17}) {
            if (n_q > seq_len) continue;
            run_case({head_dim, block_size, group, seq_len, n_q});
          }
        }
      }
    }
  }
}

TEST(AttentionPaged, SlidingWindowMatchesDenseFloat64) {
  for (int window : {1, 20, 64, 100}) {
    for (int seq_len : {15, 100, 300}) {
      for (int n_q : {1, 17}) {
        if (n_q > seq_len) continue;
        run_case({64, 16, 3, seq_len, n_q, window});
        run_case({256, 16, 4, seq_len, n_q, window});  // Gemma 3's head size and group
      }
    }
  }
  run_case({36, 16, 3, 200, 3, 50});  // the scalar path
}

TEST(AttentionPaged, OddHeadDimUsesScalarPath) {
  run_case({36, 16, 3, 40, 3});
}

TEST(AttentionPaged, KvWritePlacesRowsThroughTheBlockTable) {
  const Shape s{64, 16, 1, 40, 1};
  Cache c = make_cache(s, 99);
  const size_t kv_row = static_cast<size_t>(c.n_kv_heads) * s.head_dim;
  const auto k = test::random_floats(s.seq_len * kv_row, 5);
  const auto v = test::random_floats(s.seq_len * kv_row, 6);
  kv_write(c.mut(s), k.data(), v.data(), s.seq_len, 0, c.table.data(), static_cast<int32_t>(c.table.size()));
  for (int pos = 0; pos < s.seq_len; ++pos) {
    const size_t slot = static_cast<size_t>(c.table[pos / s.block_size]) * s.block_size + pos % s.block_size;
    for (size_t e = 0; e < kv_row; ++e) {
      ASSERT_EQ(c.k[slot * kv_row + e], fp32_to_fp16(k[pos * kv_row + e])) << pos;
      ASSERT_EQ(c.v[slot * kv_row + e], fp32_to_fp16(v[pos * kv_row + e])) << pos;
    }
  }
}

TEST(AttentionPaged, RejectsBadArguments) {
  const Shape s{64, 16, 1, 20, 1};
  Cache c = make_cache(s, 1);
  const PagedKv kv = c.mut(s).view();
  std::vector<float> q(2 * 64), out(q.size());
  const auto tl = static_cast<int32_t>(c.table.size());
  const AttentionArgs good{q.data(), 1, 2, 19, c.table.data(), tl, 0.125f, out.data()};
  EXPECT_NO_THROW(attention_validate(kv, good));

  auto expect_bad = [&](AttentionArgs a, const char* what) {
    EXPECT_THROW(attention_paged(kv, a), std::invalid_argument) << what;
  };
  AttentionArgs a = good;
  a.pos0 = 32;  // needs 3 blocks, table has 2
  expect_bad(a, "short table");
  a = good;
  a.n_heads = 3;
  expect_bad(a, "heads not a multiple of kv heads");
  a = good;
  a.q = nullptr;
  expect_bad(a, "null q");
  a = good;
  a.pos0 = -1;
  expect_bad(a, "negative pos0");
  std::vector<int32_t> bad_table = c.table;
  bad_table[1] = c.num_blocks;
  a = good;
  a.block_table = bad_table.data();
  expect_bad(a, "physical block out of range");

  std::vector<float> rows(2 * 64);
  EXPECT_THROW(kv_write(c.mut(s), rows.data(), rows.data(), 1, 40, c.table.data(), tl), std::invalid_argument);
  PagedKvMut no_layout = c.mut(s);
  no_layout.block_size = 0;
  EXPECT_THROW(kv_write(no_layout, rows.data(), rows.data(), 1, 0, c.table.data(), tl), std::invalid_argument);
}

}  // namespace
}  // namespace loom::cpu
