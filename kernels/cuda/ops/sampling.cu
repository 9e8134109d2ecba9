#include "kernels/cuda/ops/sampling.cuh"

#include "kernels/cuda/ops/philox.cuh"
#include "kernels/cuda/ops/reduce.cuh"

namespace loom::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;
constexpr int kBuckets = 16;  // 4 key bits per descent level, 8 levels

// ---- keys: descending logit, ties by ascending id -------------------------
// ordered(l): a uint32 whose unsigned order is the float order (-0 == +0).
__device__ __forceinline__ uint32_t ordered(float l) {
  const uint32_t u = __float_as_uint(l == 0.0f ? 0.0f : l);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}
__device__ __forceinline__ float from_ordered(uint32_t o) {
  return __uint_as_float((o & 0x80000000u) ? (o ^ 0x80000000u) : ~o);
}
// Larger key = earlier in the CPU's sorted order.
__device__ __forceinline__ uint64_t make_key(float l, int32_t id) {
  return (static_cast<uint64_t>(ordered(l)) << 32) | static_cast<uint32_t>(~static_cast<uint32_t>(id));
}
__device__ __forceinline__ int32_t key_id(uint64_t key) {
  return static_cast<int32_t>(~static_cast<uint32_t>(key));
}
// A candidate: not NaN, not -inf (the CPU's `logit > -inf`).
__device__ __forceinline__ bool is_candidate(float l) { return l > -INFINITY; }

// Per-element weight of the current descent: 1 (top-k count), the top-p
// probability exp(l - max) / total, or the draw weight exp((l - max) / T).
struct Weight {
  int kind;  // 0 count, 1 top-p, 2 draw
  double max, total, temperature;
  __device__ double operator()(float l) const {
    if (kind == 0) return 1.0;
    if (kind == 1) return exp(static_cast<double>(l) - max) / total;
    return exp((static_cast<double>(l) - max) / temperature);
  }
};

struct Smem {
  double hist[kWarps][kBuckets];
  double dscratch[33];
  unsigned long long kscratch[33];
  int iscratch[kThreads + 1];
  double partial[kThreads];
  int choice;
  uint64_t key;
};

__device__ uint64_t block_max_u64(uint64_t v, Smem& s) {
  for (int o = 16; o > 0; o >>= 1) {
    const uint64_t other = __shfl_xor_sync(kFullMask, static_cast<unsigned long long>(v), o);
    v = other > v ? other : v;
  }
  if (threadIdx.x % 32 == 0) s.kscratch[threadIdx.x / 32] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    uint64_t m = s.kscratch[0];
    for (int w = 1; w < kWarps; ++w) m = s.kscratch[w] > m ? s.kscratch[w] : m;
    s.kscratch[32] = m;
  }
  __syncthreads();
  return s.kscratch[32];
}

__device__ uint64_t block_min_u64(uint64_t v, Smem& s) { return ~block_max_u64(~v, s); }

// ---- penalties (llama.cpp semantics, applied once per distinct token) ----
__device__ void apply_penalties(float* row, int32_t vocab, const DeviceSamplingParams& p,
                                const int32_t* hist, int32_t n) {
  const bool active = p.repetition_penalty != 1.0f || p.presence_penalty != 0.0f ||
                      p.frequency_penalty != 0.0f;
  if (active) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      const int32_t t = hist[i];
      if (t < 0 || t >= vocab) continue;
      bool first = true;
      for (int j = 0; j < i && first; ++j) first = hist[j] != t;
      if (!first) continue;
      int count = 0;
      for (int j = 0; j < n; ++j) count += hist[j] == t;
      float l = row[t];
      l = l <= 0.0f ? __fmul_rn(l, p.repetition_penalty) : l / p.repetition_penalty;
      // No FMA contraction: the CPU rounds the product and the sum separately.
      const float sub = __fadd_rn(__fmul_rn(static_cast<float>(count), p.frequency_penalty),
                                  p.presence_penalty);
      row[t] = __fadd_rn(l, -sub);
    }
  }
  __syncthreads();  // global writes visible to the whole block
}

// Index (in id order) of the j-th (1-based) element with in_group(i) true.
// Threads own contiguous chunks so chunk counts prefix-sum in id order.
template <class Pred>
__device__ int32_t nth_in_id_order(int32_t vocab, int j, Pred in_group, Smem& s) {
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = min(vocab, static_cast<int>(threadIdx.x) * chunk), end = min(vocab, begin + chunk);
  int count = 0;
  for (int i = begin; i < end; ++i) count += in_group(i);
  s.iscratch[threadIdx.x] = count;
  __syncthreads();
  if (threadIdx.x == 0) {
    int before = 0, t = 0;
    while (t < kThreads - 1 && before + s.iscratch[t] < j) before += s.iscratch[t++];
    s.iscratch[kThreads] = t;
    s.choice = j - before;  // rank inside thread t's chunk
  }
  __syncthreads();
  if (static_cast<int>(threadIdx.x) == s.iscratch[kThreads]) {
    int rank = 0, found = -1;
    for (int i = begin; i < end && found < 0; ++i) {
      if (in_group(i) && ++rank == s.choice) found = i;
    }
    s.key = static_cast<uint64_t>(found);
  }
  __syncthreads();
  const int32_t id = static_cast<int32_t>(s.key);
  __syncthreads();
  return id;
}

// Walks the set {i: key(i) >= lo} in descending key order accumulating
// weight(l); returns the key of the first element at which the running sum
// reaches `goal` (>= goal, or > goal when `strict`), or the set's smallest key
// when it never does (the CPU's fall-through).
__device__ uint64_t find_boundary(const float* row, int32_t vocab, uint64_t lo, Weight weight,
                                  double goal, bool strict, Smem& s) {
  uint32_t prefix = 0, prefix_mask = 0;
  double above = 0.0;  // weight of the elements before the current bucket range
  bool fell = false;
#pragma unroll 1
  for (int level = 0; level < 8 && !fell; ++level) {
    const int shift = 28 - 4 * level;
    double h[kBuckets];
#pragma unroll
    for (int b = 0; b < kBuckets; ++b) h[b] = 0.0;
#pragma unroll 1
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float l = row[i];
      if (!is_candidate(l) || make_key(l, i) < lo) continue;
      const uint32_t o = ordered(l);
      if ((o & prefix_mask) != prefix) continue;
      const double w = weight(l);
      const uint32_t nib = (o >> shift) & 0xFu;
#pragma unroll
      for (int b = 0; b < kBuckets; ++b) h[b] += nib == static_cast<uint32_t>(b) ? w : 0.0;
    }
#pragma unroll
    for (int b = 0; b < kBuckets; ++b) {
      const double v = warp_sum(h[b]);
      if (threadIdx.x % 32 == 0) s.hist[threadIdx.x / 32][b] = v;
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      int chosen = -1;
      for (int b = kBuckets - 1; b >= 0 && chosen < 0; --b) {
        double total = 0.0;
        for (int w = 0; w < kWarps; ++w) total += s.hist[w][b];
        const double next = above + total;
        if (strict ? next > goal : next >= goal) {
          chosen = b;
        } else {
          above = next;
        }
      }
      s.choice = chosen;
      s.dscratch[32] = above;
    }
    __syncthreads();
    const int chosen = s.choice;
    above = s.dscratch[32];
    __syncthreads();
    if (chosen < 0) {
      fell = true;
    } else {
      prefix |= static_cast<uint32_t>(chosen) << shift;
      prefix_mask |= 0xFu << shift;
    }
  }
  if (!fell) {
    // All remaining candidates share one logit: walk its tie group by id.
    const float value = from_ordered(prefix);
    auto in_tie = [&](int i) {
      const float l = row[i];
      return is_candidate(l) && ordered(l) == prefix && make_key(l, i) >= lo;
    };
    int n_tie = 0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) n_tie += in_tie(i);
    n_tie = block_sum(n_tie, s.iscratch);
    if (threadIdx.x == 0) {
      const double w = weight(value);
      double cum = above;
      int j = 0;
      while (j < n_tie) {
        cum += w;
        ++j;
        if (strict ? cum > goal : cum >= goal) break;
      }
      s.choice = j;
    }
    __syncthreads();
    const int j = s.choice;
    __syncthreads();
    if (j > 0) return make_key(value, nth_in_id_order(vocab, j, in_tie, s));
  }
  uint64_t smallest = ~uint64_t{0};
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float l = row[i];
    const uint64_t key = is_candidate(l) ? make_key(l, i) : ~uint64_t{0};
    if (key >= lo && key < smallest) smallest = key;
  }
  return block_min_u64(smallest, s);
}

// Inverse-CDF draw in id order over {i: key(i) >= lo}; threads own
// contiguous chunks so partial sums follow the CPU's order.
__device__ int32_t draw_in_id_order(const float* row, int32_t vocab, uint64_t lo, Weight weight,
                                    double u, Smem& s) {
  const int chunk = (vocab + kThreads - 1) / kThreads;
  const int begin = min(vocab, static_cast<int>(threadIdx.x) * chunk), end = min(vocab, begin + chunk);
  auto in_set = [&](int i) { const float l = row[i]; return is_candidate(l) && make_key(l, i) >= lo; };
  double sum = 0.0;
  int last = -1;
  for (int i = begin; i < end; ++i) {
    if (in_set(i)) {
      sum += weight(row[i]);
      last = i;
    }
  }
  s.partial[threadIdx.x] = sum;
  s.iscratch[threadIdx.x] = last;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    int last_any = -1;
#pragma unroll 1  // 256 iterations on one thread: unrolling only costs registers
    for (int t = 0; t < kThreads; ++t) {
      total += s.partial[t];
      if (s.iscratch[t] >= 0) last_any = s.iscratch[t];
    }
    const double target = u * total;
    double cum = 0.0;
    int t = 0;
    while (t < kThreads && !(cum + s.partial[t] > target)) cum += s.partial[t++];
    s.choice = t;  // kThreads: fell through
    s.dscratch[32] = cum;
    s.dscratch[31] = target;
    s.key = static_cast<uint64_t>(last_any);
  }
  __syncthreads();
  if (static_cast<int>(threadIdx.x) == s.choice) {
    double cum = s.dscratch[32];
    const double target = s.dscratch[31];
    int found = last;  // rounding fall-through: the chunk's last element
    for (int i = begin; i < end; ++i) {
      if (!in_set(i)) continue;
      cum += weight(row[i]);
      if (cum > target) {
        found = i;
        break;
      }
    }
    s.key = static_cast<uint64_t>(found);
  }
  __syncthreads();
  return static_cast<int32_t>(s.key);
}

__device__ uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

__global__ void sample_kernel(float* logits, int32_t vocab,
                                                          const DeviceSamplingParams* params,
                                                          const int32_t* history,
                                                          const int32_t* history_offsets,
                                                          int32_t* tokens, int32_t* status) {
  LOOM_SHARED(Smem, smem, );
  Smem& s = smem;
  const int r = blockIdx.x;
  const DeviceSamplingParams p = params[r];
  float* row = logits + static_cast<int64_t>(r) * vocab;
  if (history_offsets) {
    const int32_t h0 = history_offsets[r], h1 = history_offsets[r + 1];
    apply_penalties(row, vocab, p, history + h0, h1 > h0 ? h1 - h0 : 0);
  }
  // Argmax over non-NaN logits (ties: lowest id), as the CPU's argmax.
  uint64_t best = 0;
  bool any = false;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float l = row[i];
    if (l != l) continue;
    const uint64_t key = make_key(l, i);
    if (!any || key > best) best = key;
    any = true;
  }
  best = block_max_u64(any ? best : 0, s);
  const float max = from_ordered(static_cast<uint32_t>(best >> 32));
  const bool valid = best != 0 && max > -INFINITY;
  if (!valid || p.temperature == 0.0f || max == INFINITY) {
    if (threadIdx.x == 0) {
      tokens[r] = valid ? key_id(best) : -1;
      status[r] = valid ? kSampleGreedy : kSampleNoFiniteLogit;
    }
    return;
  }
  int n_cand = 0;
  for (int i = threadIdx.x; i < vocab; i += blockDim.x) n_cand += is_candidate(row[i]);
  n_cand = block_sum(n_cand, s.iscratch);

  // The kept set is always {key >= lo}: every filter is a key threshold.
  uint64_t lo = static_cast<uint64_t>(ordered(-INFINITY) + 1) << 32;
  bool sorted = false;
  if (p.top_k > 0 && p.top_k < n_cand) {
    lo = find_boundary(row, vocab, lo, Weight{0, 0, 0, 0}, p.top_k, false, s);
    sorted = true;
  }
  if (p.top_p < 1.0f) {
    double total = 0.0;
    const Weight unnorm{2, max, 0.0, 1.0};  // exp(l - max): temperature 1
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float l = row[i];
      if (is_candidate(l) && make_key(l, i) >= lo) total += unnorm(l);
    }
    total = block_sum(total, s.dscratch);
    lo = max_u64(lo, find_boundary(row, vocab, lo, Weight{1, max, total, 1.0}, p.top_p, false, s));
    sorted = true;
  }
  if (p.min_p > 0.0f) {
    const float threshold = __fadd_rn(max, p.log_min_p);
    lo = max_u64(lo, static_cast<uint64_t>(ordered(threshold)) << 32);
  }
  const Weight draw{2, max, 0.0, static_cast<double>(p.temperature)};
  const double u = philox_uniform(p.seed, p.draw_index);
  int32_t token;
  if (sorted) {
    double total = 0.0;
    for (int i = threadIdx.x; i < vocab; i += blockDim.x) {
      const float l = row[i];
      if (is_candidate(l) && make_key(l, i) >= lo) total += draw(l);
    }
    total = block_sum(total, s.dscratch);
    token = key_id(find_boundary(row, vocab, lo, draw, u * total, true, s));
  } else {
    token = draw_in_id_order(row, vocab, lo, draw, u, s);
  }
  if (threadIdx.x == 0) {
    tokens[r] = token;
    status[r] = kSampleDrew;
  }
}

}  // namespace

cudaError_t launch_sample(float* logits, int32_t n_rows, int32_t vocab,
                          const DeviceSamplingParams* params, const int32_t* history,
                          const int32_t* history_offsets, int32_t* tokens, int32_t* status,
                          cudaStream_t stream) {
  if (!logits || !params || !tokens || !status || n_rows < 0 || vocab <= 0 ||
      (history_offsets && !history)) {
    return cudaErrorInvalidValue;
  }
  if (n_rows == 0) return cudaSuccess;
  return loom_launch(sample_kernel, dim3(n_rows), dim3(kThreads), 0, stream, logits, vocab, params,
                     history, history_offsets, tokens, status);
}

}  // namespace loom::cuda
