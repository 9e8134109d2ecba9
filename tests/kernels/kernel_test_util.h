// Shared helpers for the kernel tests: random rows in every supported weight
// type, float64 references, and an RAII ISA override that visits each ISA the
// CPU has (printing the ones it skips).
#pragma once
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/cpu/dequant.h"
#include "kernels/cpu/ggml_type.h"
#include "kernels/cpu/isa.h"
#include "kernels/cpu/quant_blocks.h"

namespace loom::test {

inline constexpr GgmlType kWeightTypes[] = {GgmlType::F32,  GgmlType::F16,  GgmlType::BF16,
                                            GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q5_0,
                                            GgmlType::Q8_0, GgmlType::Q4_K, GgmlType::Q5_K,
                                            GgmlType::Q6_K};
inline constexpr Isa kAllIsas[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};

inline std::string type_name(GgmlType t) { return std::string(ggml_type_info(t).name); }
inline size_t row_bytes(GgmlType t, int64_t n) { return *ggml_row_bytes(t, uint64_t(n)); }
inline int64_t block_elems(GgmlType t) { return ggml_type_info(t).block_elems; }

// Sets the active ISA for a scope, restoring the previous one after.
class IsaScope {
 public:
  explicit IsaScope(Isa isa) : saved_(active_isa()) { set_isa_override(isa); }
  ~IsaScope() { set_isa_override(saved_); }

 private:
  Isa saved_;
};

// The ISAs this CPU supports; says which it skips.
inline std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : kAllIsas) {
    if (isa_supported(isa)) {
      out.push_back(isa);
    } else {
      std::printf("[ SKIPPED  ] ISA %s not supported by this CPU\n", isa_name(isa).data());
    }
  }
  return out;
}

inline void put_half(uint8_t* p, float v) {
  const uint16_t h = float_to_half(v);
  std::memcpy(p, &h, 2);
}

// `rows` random rows of `cols` elements in `type`: float types encode N(0,1)
// values; quantized types get random quant bits with realistic fp16 scales
// (random scale bits could be inf/NaN).
inline std::vector<uint8_t> random_rows(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  const size_t rb = row_bytes(type, cols);
  std::vector<uint8_t> data(rb * rows);
  std::uniform_int_distribution<int> byte(0, 255);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> uni(0.f, 1.f);
  if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
    for (int64_t i = 0; i < rows * cols; ++i) {
      const float v = normal(rng);
      if (type == GgmlType::F32) std::memcpy(&data[4 * i], &v, 4);
      if (type == GgmlType::F16) put_half(&data[2 * i], v);
      if (type == GgmlType::BF16) {
        const uint16_t h = float_to_bf16(v);
        std::memcpy(&data[2 * i], &h, 2);
      }
    }
    return data;
  }
  for (auto& b : data) b = static_cast<uint8_t>(byte(rng));
  const size_t bb = ggml_type_info(type).block_bytes;
  for (size_t off = 0; off < data.size(); off += bb) {
    uint8_t* blk = &data[off];
    switch (type) {
      case GgmlType::Q4_0: put_half(blk, 0.02f * (uni(rng) - 0.5f)); break;
      case GgmlType::Q5_0: put_half(blk, 0.01f * (uni(rng) - 0.5f)); break;
      case GgmlType::Q8_0: put_half(blk, 0.004f * (uni(rng) - 0.5f)); break;
      case GgmlType::Q4_1: put_half(blk, 0.02f * uni(rng)); put_half(blk + 2, -0.15f * uni(rng)); break;
      case GgmlType::Q4_K:
      case GgmlType::Q5_K: put_half(blk, 0.001f * uni(rng)); put_half(blk + 2, 0.001f * uni(rng)); break;
      case GgmlType::Q6_K: put_half(blk + 208, 0.0005f * (uni(rng) - 0.5f)); break;
      default: ADD_FAILURE() << "random_rows: unexpected type " << type_name(type);
    }
  }
  return data;
}

inline std::vector<float> random_floats(int64_t n, std::mt19937& rng, float scale = 1.f) {
  std::normal_distribution<float> normal(0.f, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = normal(rng);
  return v;
}

inline std::vector<float> dequantized(GgmlType type, const void* row, int64_t n) {
  std::vector<float> out(n);
  dequantize_row(type, row, out.data(), n);
  return out;
}

// Values of an activation row (Q8_0, Q8_1, Q8_K, F32, F16, BF16) as float64:
// written here from the format definitions, not with the code under test.
inline std::vector<double> activation_values(GgmlType type, const void* row, int64_t n) {
  std::vector<double> out(n);
  const auto* p = static_cast<const uint8_t*>(row);
  for (int64_t i = 0; i < n; ++i) {
    switch (type) {
      case GgmlType::F32: { float v; std::memcpy(&v, p + 4 * i, 4); out[i] = v; break; }
      case GgmlType::F16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); out[i] = half_to_float(h); break; }
      case GgmlType::BF16: { uint16_t h; std::memcpy(&h, p + 2 * i, 2); out[i] = bf16_to_float(h); break; }
      case GgmlType::Q8_0: {
        const auto& b = reinterpret_cast<const BlockQ8_0*>(p)[i / 32];
        out[i] = double(half_to_float(b.d)) * b.qs[i % 32];
        break;
      }
      case GgmlType::Q8_1: {
        const auto& b = reinterpret_cast<const BlockQ8_1*>(p)[i / 32];
        out[i] = double(half_to_float(b.d)) * b.qs[i % 32];
        break;
      }
      case GgmlType::Q8_K: {
        const auto& b = reinterpret_cast<const BlockQ8_K*>(p)[i / 256];
        out[i] = double(b.d) * b.qs[i % 256];
        break;
      }
      default: ADD_FAILURE() << "activation_values: unexpected type " << type_name(type);
    }
  }
  return out;
}

// What a dot kernel computes, in float64, and the size of its terms.
struct DotReference {
  double value = 0;      // exact product of the stored weights and activations
  double magnitude = 0;  // sum of |terms|: scales float rounding bounds
};

// Q4_1 x Q8_1 is defined with the activation's stored block sum s (rounded to
// fp16), so the reference uses s for the min term; elsewhere a plain dot.
inline DotReference reference_dot(GgmlType wtype, const void* wrow, GgmlType atype, const void* arow,
                                  int64_t n) {
  const auto a = activation_values(atype, arow, n);
  DotReference ref;
  if (wtype == GgmlType::Q4_1) {
    const auto* x = static_cast<const BlockQ4_1*>(wrow);
    const auto* y = static_cast<const BlockQ8_1*>(arow);
    for (int64_t b = 0; b < n / 32; ++b) {
      const double d = half_to_float(x[b].d), m = half_to_float(x[b].m);
      for (int j = 0; j < 32; ++j) {
        const int q = j < 16 ? (x[b].qs[j] & 0xF) : (x[b].qs[j - 16] >> 4);
        ref.value += d * q * a[32 * b + j];
        ref.magnitude += std::fabs(d * q * a[32 * b + j]);
      }
      const double ms = m * double(half_to_float(y[b].s));
      ref.value += ms;
      ref.magnitude += std::fabs(ms);
    }
    return ref;
  }
  const auto w = dequantized(wtype, wrow, n);
  for (int64_t i = 0; i < n; ++i) {
    ref.value += double(w[i]) * a[i];
    ref.magnitude += std::fabs(double(w[i]) * a[i]);
  }
  return ref;
}

// Float rounding bound for a kernel that sums n_terms products in float: a
// generous gamma_n bound (each product and partial sum rounds once).
inline double float_sum_tolerance(double magnitude, int64_t n_terms) {
  return (double(n_terms) + 8.0) * 0x1.0p-23 * magnitude + 1e-30;
}

// Worst-case |x - dequant(quant(x))| per element for an activation format,
// from the format definitions: round-to-nearest of x/d gives d/2; an fp16
// scale adds |q| * |d - fp16(d)| <= 127 * d * 2^-11; 1e-4*d covers float
// rounding of d and x/d.
inline std::vector<double> activation_error_bound(GgmlType atype, const float* x, int64_t n) {
  std::vector<double> e(n);
  const int64_t blk = atype == GgmlType::Q8_K ? 256 : (atype == GgmlType::Q8_0 || atype == GgmlType::Q8_1) ? 32 : 1;
  for (int64_t b0 = 0; b0 < n; b0 += blk) {
    double amax = 0;
    for (int64_t i = b0; i < b0 + blk; ++i) amax = std::max(amax, std::fabs(double(x[i])));
    for (int64_t i = b0; i < b0 + blk; ++i) {
      switch (atype) {
        case GgmlType::F32: e[i] = 0; break;
        case GgmlType::F16: e[i] = std::fabs(x[i]) * 0x1.0p-11; break;
        case GgmlType::BF16: e[i] = std::fabs(x[i]) * 0x1.0p-8; break;
        case GgmlType::Q8_K: e[i] = amax / 127 * (0.5 + 1e-4); break;
        default: e[i] = amax / 127 * (0.5 + 127 * 0x1.0p-11 + 1e-4); break;
      }
    }
  }
  return e;
}

}  // namespace loom::test
