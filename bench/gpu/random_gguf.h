// A Llama-layout GGUF v3 file with random weights, written in seconds, so a
// machine without network can benchmark a 7B-class model. The weights are
// uniform random quant codes with one fixed scale per matrix type (so
// activations stay finite through every layer), norms are 1.0, and the
// tokenizer is a synthetic SentencePiece vocabulary (<unk>, <s>, </s>, the
// 256 <0xXX> byte tokens, then distinct made-up pieces) that loom's
// `llama` tokenizer accepts. The text it generates is gibberish; the bytes
// each token reads and the kernels it runs are exactly a real model's.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/cpu/ggml_type.h"

namespace loom::gpu_bench {

struct RandomLlamaSpec {
  int32_t n_layers = 32;
  int32_t dim = 4096;
  int32_t n_heads = 32;
  int32_t n_kv_heads = 32;
  int32_t ffn_dim = 11008;
  int32_t n_vocab = 32000;  // >= 259 + 1 (specials and byte tokens)
  int32_t context = 4096;
  // Q4_0, Q4_1, Q8_0, Q4_K or Q6_K: every 2-D tensor (K-quants need dim and
  // ffn_dim multiples of 256)...
  GgmlType matrix_type = GgmlType::Q4_0;
  // ...except with q4_k_m (matrix_type Q4_K): llama.cpp's Q4_K_M mix, Q6_K for
  // output.weight and for attn_v / ffn_down of its "more bits" layers
  // (the first and last eighth, and every third in between).
  bool q4_k_m = false;
  bool tied_output = false;               // true: no output.weight (LM head = token_embd)
  bool qkv_bias = false;  // true: F32 blk.N.attn_{q,k,v}.bias (Qwen2-style), uniform in [-1, 1)
  uint64_t seed = 1;
  std::string name = "random-llama";
};

// Llama-2-7B's shapes (32 layers, dim 4096, 32/32 heads, ffn 11008, vocab 32000), Q4_0.
RandomLlamaSpec llama2_7b_spec();

// TinyLlama-1.1B's shapes (22 layers, dim 2048, 32/4 heads, ffn 5632, vocab
// 32000): a model whose weights (0.6 GB in Q4_0) stream from DRAM.
RandomLlamaSpec tinyllama_1b_spec(GgmlType matrix_type, bool q4_k_m = false);

// Bytes of every tensor's data (what the file holds past its header).
uint64_t tensor_data_bytes(const RandomLlamaSpec& spec);

// Writes the file; throws std::invalid_argument for a bad spec (shapes not
// multiples of 32, dim % n_heads, unsupported type) and std::runtime_error
// naming the path when the file cannot be written.
void write_random_llama_gguf(const std::string& path, const RandomLlamaSpec& spec);

}  // namespace loom::gpu_bench
