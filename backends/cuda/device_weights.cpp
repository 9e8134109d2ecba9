#include "backends/cuda/device_weights.h"

#include "kernels/cpu/dequant.h"
#include "kernels/cpu/f16.h"
#include "kernels/cuda/ops/quant_repack.h"

namespace loom::cuda_backend {
namespace {

bool qgemv_type(GgmlType t) {
  return t == GgmlType::Q4_0 || t == GgmlType::Q4_1 || t == GgmlType::Q8_0;
}

template <class T>
DeviceBuffer upload_vector(const std::vector<T>& v) {
  DeviceBuffer b(v.size() * sizeof(T), "cudaMalloc(weights)");
  b.upload(v.data(), b.bytes());
  return b;
}

// [rows][cols] fp16 of any supported GGUF type, converted row by row.
std::vector<uint16_t> to_fp16(const WeightView& w) {
  std::vector<uint16_t> out(static_cast<size_t>(w.rows * w.cols));
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w.type, static_cast<const uint8_t*>(w.data) + r * w.row_stride, row.data(), w.cols);
    cpu::fp32_to_fp16_row(row.data(), &out[static_cast<size_t>(r * w.cols)], w.cols);
  }
  return out;
}

DeviceMatrix upload_matrix(const WeightView& w, bool force_fp16) {
  DeviceMatrix m;
  m.rows = static_cast<int32_t>(w.rows);
  m.cols = static_cast<int32_t>(w.cols);
  if (qgemv_type(w.type) && !force_fp16) {
    const auto r = cuda::repack_quant_matrix(w.type, w.data, w.rows, w.cols);
    m.quantized = true;
    m.qs = upload_vector(r.qs);
    m.d = upload_vector(r.d);
    if (!r.m.empty()) m.m = upload_vector(r.m);
    m.view = {w.type, m.rows, m.cols, m.qs.as<uint8_t>(), m.d.as<__half>(),
              r.m.empty() ? nullptr : m.m.as<__half>()};
  } else {
    m.half = upload_vector(to_fp16(w));
  }
  return m;
}

DeviceBuffer upload_f32(const float* v, int64_t n) {
  DeviceBuffer b(static_cast<size_t>(n) * sizeof(float), "cudaMalloc(weights)");
  b.upload(v, b.bytes());
  return b;
}

void check_supported(const ModelConfig& c) {
  if (c.head_dim != 64 && c.head_dim != 128 && c.head_dim != 256)
    throw ModelError("the CUDA attention kernels need head_dim 64, 128 or 256, model has " +
                     std::to_string(c.head_dim));
  if (c.n_heads % c.n_kv_heads != 0 || c.n_heads / c.n_kv_heads > 8)
    throw ModelError("the CUDA decode attention needs n_heads / n_kv_heads <= 8, model has " +
                     std::to_string(c.n_heads) + "/" + std::to_string(c.n_kv_heads));
  if (c.dim % 32 != 0 || c.ffn_dim % 32 != 0)
    throw ModelError("dim and ffn_dim must be multiples of 32");
}

// The token table as raw GGUF rows for the gather (Q8_0/Q4_*/F16), else F16.
void upload_embedding(const WeightView& e, DeviceWeights& w) {
  if (e.type == GgmlType::Q8_0 || e.type == GgmlType::Q4_0 || e.type == GgmlType::Q4_1 ||
      e.type == GgmlType::F16) {
    w.embd_type = e.type;
    w.token_embd = DeviceBuffer(e.row_stride * static_cast<size_t>(e.rows), "cudaMalloc(weights)");
    w.token_embd.upload(e.data, w.token_embd.bytes());
  } else {
    w.embd_type = GgmlType::F16;
    w.token_embd = upload_vector(to_fp16(e));
  }
  w.bytes += static_cast<int64_t>(w.token_embd.bytes());
}

int64_t layer_bytes(const DeviceLayer& d) {
  int64_t b = d.wq.bytes() + d.wk.bytes() + d.wv.bytes() + d.wo.bytes() + d.w_gate.bytes() + d.w_up.bytes() +
              d.w_down.bytes();
  for (const DeviceBuffer* v : {&d.attn_norm, &d.ffn_norm, &d.bq, &d.bk, &d.bv, &d.q_norm, &d.k_norm,
                                &d.post_attn_norm, &d.post_ffn_norm})
    b += static_cast<int64_t>(v->bytes());
  return b;
}

}  // namespace

DeviceWeights upload_weights(const ModelConfig& c, const Gemma3Weights& host, bool force_fp16) {
  check_supported(c);
  DeviceWeights w;
  upload_embedding(host.token_embd, w);
  for (const auto& l : host.layers) {
    DeviceLayer d;
    d.attn_norm = upload_f32(l.attn_norm, c.dim);
    d.ffn_norm = upload_f32(l.ffn_norm, c.dim);
    d.q_norm = upload_f32(l.q_norm, c.head_dim);
    d.k_norm = upload_f32(l.k_norm, c.head_dim);
    d.post_attn_norm = upload_f32(l.post_attn_norm, c.dim);
    d.post_ffn_norm = upload_f32(l.post_ffn_norm, c.dim);
    d.wq = upload_matrix(l.wq, force_fp16);
    d.wk = upload_matrix(l.wk, force_fp16);
    d.wv = upload_matrix(l.wv, force_fp16);
    d.wo = upload_matrix(l.wo, force_fp16);
    d.w_gate = upload_matrix(l.w_gate, force_fp16);
    d.w_up = upload_matrix(l.w_up, force_fp16);
    d.w_down = upload_matrix(l.w_down, force_fp16);
    w.bytes += layer_bytes(d);
    w.layers.push_back(std::move(d));
  }
  w.output_norm = upload_f32(host.output_norm, c.dim);
  w.output = upload_matrix(host.output, force_fp16);
  w.bytes += static_cast<int64_t>(w.output_norm.bytes()) + w.output.bytes();
  return w;
}

DeviceWeights upload_weights(const ModelConfig& c, const LlamaWeights& host, bool force_fp16) {
  check_supported(c);
  DeviceWeights w;
  upload_embedding(host.token_embd, w);
  for (const auto& l : host.layers) {
    DeviceLayer d;
    d.attn_norm = upload_f32(l.attn_norm, c.dim);
    d.ffn_norm = upload_f32(l.ffn_norm, c.dim);
    d.wq = upload_matrix(l.wq, force_fp16);
    d.wk = upload_matrix(l.wk, force_fp16);
    d.wv = upload_matrix(l.wv, force_fp16);
    d.wo = upload_matrix(l.wo, force_fp16);
    d.w_gate = upload_matrix(l.w_gate, force_fp16);
    d.w_up = upload_matrix(l.w_up, force_fp16);
    d.w_down = upload_matrix(l.w_down, force_fp16);
    if (l.bq) d.bq = upload_f32(l.bq, c.q_dim());  // bind_llama_weights: all three or none
    if (l.bk) d.bk = upload_f32(l.bk, c.kv_dim());
    if (l.bv) d.bv = upload_f32(l.bv, c.kv_dim());
    w.bytes += layer_bytes(d);
    w.layers.push_back(std::move(d));
  }
  w.output_norm = upload_f32(host.output_norm, c.dim);
  w.output = upload_matrix(host.output, force_fp16);
  if (host.rope_freq_factors) w.rope_freq_factors = upload_f32(host.rope_freq_factors, c.rope_dims / 2);
  w.bytes += static_cast<int64_t>(w.output_norm.bytes() + w.rope_freq_factors.bytes()) + w.output.bytes();
  return w;
}

}  // namespace loom::cuda_backend
