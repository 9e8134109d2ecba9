// bench/gpu's random-weights GGUF generator: the files it writes must be
// Llama-layout GGUF v3 that loom's reader, model config, tokenizer and CPU
// backend accept and run. Checked against the spec's invariants (header
// fields, tensor shapes and types, the weight distribution the generator
// promises) and by running the CPU forward pass, not against the writer.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "backends/cpu/cpu_model.h"
#include "bench/gpu/random_gguf.h"
#include "kernels/cpu/dequant.h"

namespace loom::gpu_bench {
namespace {

// A 2-layer GQA model small enough to run in milliseconds.
RandomLlamaSpec tiny_spec(GgmlType type, bool tied) {
  RandomLlamaSpec s;
  s.n_layers = 2;
  s.dim = 128;
  s.n_heads = 4;
  s.n_kv_heads = 2;
  s.ffn_dim = 256;
  s.n_vocab = 1000;
  s.context = 256;
  s.matrix_type = type;
  s.tied_output = tied;
  s.seed = 7;
  s.name = "tiny-random";
  return s;
}

// The same with K-quant widths (super-blocks of 256).
RandomLlamaSpec tiny_k_spec(GgmlType type, bool q4_k_m) {
  RandomLlamaSpec s = tiny_spec(type, false);
  s.n_layers = 8;  // llama.cpp's Q4_K_M rule picks layers 0, 3, 6 and 7 of 8
  s.dim = 256;
  s.ffn_dim = 512;
  s.q4_k_m = q4_k_m;
  return s;
}

std::string temp_path(const std::string& stem) {
  return (std::filesystem::temp_directory_path() /
          (stem + "-" + std::to_string(::getpid()) + ".gguf"))
      .string();
}

struct TempFile {
  std::string path;
  ~TempFile() { std::remove(path.c_str()); }
};

TEST(RandomGguf, HeaderAndTensorsFollowTheLlamaLayout) {
  const RandomLlamaSpec s = tiny_spec(GgmlType::Q4_0, false);
  TempFile f{temp_path("random-gguf-layout")};
  write_random_llama_gguf(f.path, s);

  // The GGUF v3 header, read as raw bytes from the spec: magic, version, counts.
  std::ifstream raw(f.path, std::ios::binary);
  uint32_t magic = 0, version = 0;
  uint64_t n_tensors = 0;
  raw.read(reinterpret_cast<char*>(&magic), 4).read(reinterpret_cast<char*>(&version), 4);
  raw.read(reinterpret_cast<char*>(&n_tensors), 8);
  EXPECT_EQ(magic, 0x46554747u);  // "GGUF"
  EXPECT_EQ(version, 3u);
  EXPECT_EQ(n_tensors, 3u + 9u * s.n_layers);  // embd, output_norm, output + 9 per layer

  const GgufFile g = GgufFile::open(f.path);
  EXPECT_EQ(g.file_size(), g.data_offset() + tensor_data_bytes(s));
  const auto* q = g.find_tensor("blk.1.attn_k.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->type, GgmlType::Q4_0);
  EXPECT_EQ(q->ne[0], 128u);  // K: the input width
  EXPECT_EQ(q->ne[1], 64u);   // N: n_kv_heads * head_dim
  const auto* down = g.find_tensor("blk.0.ffn_down.weight");
  ASSERT_NE(down, nullptr);
  EXPECT_EQ(down->ne[0], 256u);
  EXPECT_EQ(down->ne[1], 128u);
  const auto* norm = g.find_tensor("blk.1.ffn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->type, GgmlType::F32);
  EXPECT_EQ(reinterpret_cast<const float*>(g.tensor_data(*norm))[127], 1.0f);
  ASSERT_NE(g.find_tensor("output.weight"), nullptr);
  EXPECT_EQ(g.get_u32("llama.attention.head_count_kv"), 2u);
}

// The generator promises weights of mean ~0 and sd ~0.018 (a trained 7B's
// are ~0.02), from the quant format's definition of a block's values.
TEST(RandomGguf, WeightsHaveTheAdvertisedDistribution) {
  for (GgmlType type : {GgmlType::Q4_0, GgmlType::Q4_1, GgmlType::Q8_0}) {
    SCOPED_TRACE(ggml_type_info(type).name);
    TempFile f{temp_path("random-gguf-dist")};
    write_random_llama_gguf(f.path, tiny_spec(type, false));
    const GgufFile g = GgufFile::open(f.path);
    const auto* t = g.find_tensor("blk.0.ffn_up.weight");
    ASSERT_NE(t, nullptr);
    std::vector<float> w(t->n_elements);
    dequantize_row(type, g.tensor_data(*t), w.data(), static_cast<int64_t>(w.size()));
    double sum = 0, sq = 0;
    for (float x : w) sum += x, sq += double(x) * x;
    const double mean = sum / w.size(), sd = std::sqrt(sq / w.size() - mean * mean);
    // Codes are uniform (Q4: q - 8 in -8..7, Q8: -128..127): mean -0.5 d.
    const double d = type == GgmlType::Q8_0 ? 1.0 / 4096 : 1.0 / 256;
    EXPECT_NEAR(mean, -0.5 * d, 0.0005);
    EXPECT_GT(sd, 0.015);
    EXPECT_LT(sd, 0.022);
  }
}

// K-quants by the ggml definitions (dequantize_row): Q4_K is (q - 8) 2^-8 like
// Q4_0, Q6_K is (q - 32) 2^-10, both uniform codes.
TEST(RandomGguf, KQuantWeightsHaveTheAdvertisedDistribution) {
  for (GgmlType type : {GgmlType::Q4_K, GgmlType::Q6_K}) {
    SCOPED_TRACE(ggml_type_info(type).name);
    TempFile f{temp_path("random-gguf-kdist")};
    write_random_llama_gguf(f.path, tiny_k_spec(type, false));
    const GgufFile g = GgufFile::open(f.path);
    const auto* t = g.find_tensor("blk.0.ffn_down.weight");
    ASSERT_NE(t, nullptr);
    ASSERT_EQ(t->type, type);
    std::vector<float> w(t->n_elements);
    dequantize_row(type, g.tensor_data(*t), w.data(), static_cast<int64_t>(w.size()));
    double sum = 0, sq = 0;
    int64_t off_grid = 0;
    const double d = type == GgmlType::Q4_K ? 1.0 / 256 : 1.0 / 1024;
    const double lo = type == GgmlType::Q4_K ? -8 : -32, hi = -lo - 1;
    for (float x : w) {
      sum += x, sq += double(x) * x;
      const double code = x / d;
      if (code != std::round(code) || code < lo || code > hi) ++off_grid;
    }
    EXPECT_EQ(off_grid, 0) << "every weight is an integer code in [" << lo << ", " << hi << "] times " << d;
    const double mean = sum / w.size(), sd = std::sqrt(sq / w.size() - mean * mean);
    EXPECT_NEAR(mean, -0.5 * d, 0.0005);
    EXPECT_GT(sd, 0.015);
    EXPECT_LT(sd, 0.022);
  }
}

// The Q4_K_M mix follows llama.cpp's use_more_bits rule, and the CPU backend
// runs the file (Q4_K and Q6_K kernels) to finite logits.
TEST(RandomGguf, Q4KMMixPutsQ6KWhereLlamaCppDoes) {
  const RandomLlamaSpec s = tiny_k_spec(GgmlType::Q4_K, true);
  TempFile f{temp_path("random-gguf-q4km")};
  write_random_llama_gguf(f.path, s);
  {
    const GgufFile g = GgufFile::open(f.path);
    EXPECT_EQ(g.get_u32("general.file_type"), 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
    EXPECT_EQ(g.find_tensor("output.weight")->type, GgmlType::Q6_K);
    EXPECT_EQ(g.find_tensor("token_embd.weight")->type, GgmlType::Q4_K);
    for (int l = 0; l < s.n_layers; ++l) {
      SCOPED_TRACE("layer " + std::to_string(l));
      const bool more = l == 0 || l == 3 || l == 6 || l == 7;
      const GgmlType want = more ? GgmlType::Q6_K : GgmlType::Q4_K;
      const std::string p = "blk." + std::to_string(l) + ".";
      EXPECT_EQ(g.find_tensor(p + "attn_v.weight")->type, want);
      EXPECT_EQ(g.find_tensor(p + "ffn_down.weight")->type, want);
      EXPECT_EQ(g.find_tensor(p + "attn_q.weight")->type, GgmlType::Q4_K);
      EXPECT_EQ(g.find_tensor(p + "ffn_up.weight")->type, GgmlType::Q4_K);
    }
  }
  CpuModelOptions o;
  o.threads = 1;
  auto model = CpuModel::load(f.path, o);
  SingleSequence seq(*model);
  const std::vector<int32_t> ids = {1, 300, 301, 302};
  const std::vector<float> logits = seq.feed(ids);
  ASSERT_EQ(logits.size(), 1000u);
  for (float x : logits) ASSERT_TRUE(std::isfinite(x));
}

TEST(RandomGguf, CpuBackendLoadsTokenizesAndGenerates) {
  for (bool tied : {false, true}) {
    SCOPED_TRACE(tied ? "tied output" : "separate output");
    const RandomLlamaSpec s = tiny_spec(tied ? GgmlType::Q8_0 : GgmlType::Q4_0, tied);
    TempFile f{temp_path("random-gguf-run")};
    write_random_llama_gguf(f.path, s);
    CpuModelOptions o;
    o.threads = 1;
    auto model = CpuModel::load(f.path, o);
    const ModelConfig& c = model->config();
    EXPECT_EQ(c.arch, "llama");
    EXPECT_EQ(c.n_layers, 2);
    EXPECT_EQ(c.head_dim, 32);
    EXPECT_EQ(c.n_kv_heads, 2);
    EXPECT_EQ(c.n_vocab, 1000);
    EXPECT_EQ(c.tied_embeddings, tied);

    const Tokenizer& tok = model->tokenizer();
    const auto ids = tok.encode("hello world, 42!", true, true);
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(ids[0], 1);  // <s>: add_bos_token
    EXPECT_EQ(tok.decode(std::vector<int32_t>(ids.begin() + 1, ids.end())), " hello world, 42!");  // SPM space prefix

    SingleSequence seq(*model);
    std::vector<float> logits = seq.feed(ids);
    for (int step = 0; step < 8; ++step) {
      ASSERT_EQ(logits.size(), 1000u);
      int32_t best = 0;
      for (int32_t i = 0; i < 1000; ++i) {
        ASSERT_TRUE(std::isfinite(logits[i])) << "step " << step << " logit " << i;
        if (logits[i] > logits[best]) best = i;
      }
      const int32_t next[] = {best};
      logits = seq.feed(next);
    }
    EXPECT_EQ(seq.position(), static_cast<int32_t>(ids.size()) + 8);
  }
}

TEST(RandomGguf, Llama7bSpecHasLlama2Shapes) {
  const RandomLlamaSpec s = llama2_7b_spec();
  EXPECT_EQ(s.n_layers, 32);
  EXPECT_EQ(s.dim, 4096);
  EXPECT_EQ(s.ffn_dim, 11008);
  EXPECT_EQ(s.n_vocab, 32000);
  // Q4_0 at 4.5 bits/weight: 6.74 G weights -> 3.79 GB (Llama-2-7B Q4_0 with
  // its Q6_K output head is 3.83 GB).
  EXPECT_NEAR(tensor_data_bytes(s) / 1e9, 3.79, 0.01);
}

TEST(RandomGguf, TinyLlamaSpecHasTinyLlamaShapes) {
  const RandomLlamaSpec s = tinyllama_1b_spec(GgmlType::Q4_0);
  EXPECT_EQ(s.n_layers, 22);
  EXPECT_EQ(s.dim, 2048);
  EXPECT_EQ(s.n_kv_heads, 4);
  EXPECT_EQ(s.ffn_dim, 5632);
  // 1.100 G weights: Q4_0 (18 bytes / 32) 0.619 GB; the Q4_K_M mix 0.667 GB
  // (TinyLlama-1.1B's published Q4_K_M file is 0.669 GB).
  EXPECT_NEAR(tensor_data_bytes(s) / 1e9, 0.619, 0.001);
  EXPECT_NEAR(tensor_data_bytes(tinyllama_1b_spec(GgmlType::Q4_K, true)) / 1e9, 0.667, 0.001);
}

TEST(RandomGguf, BadSpecsAndPathsAreRejected) {
  RandomLlamaSpec s = tiny_spec(GgmlType::Q4_0, false);
  s.dim = 100;  // not whole quant blocks
  EXPECT_THROW(write_random_llama_gguf(temp_path("bad"), s), std::invalid_argument);
  s = tiny_spec(GgmlType::F16, false);
  EXPECT_THROW(write_random_llama_gguf(temp_path("bad"), s), std::invalid_argument);
  s = tiny_spec(GgmlType::Q4_0, false);
  s.n_heads = 3;
  EXPECT_THROW(write_random_llama_gguf(temp_path("bad"), s), std::invalid_argument);
  s = tiny_spec(GgmlType::Q4_K, false);  // dim 128: not whole super-blocks
  EXPECT_THROW(write_random_llama_gguf(temp_path("bad"), s), std::invalid_argument);
  s = tiny_spec(GgmlType::Q4_0, false);
  s.q4_k_m = true;  // the mix is Q4_K's
  EXPECT_THROW(write_random_llama_gguf(temp_path("bad"), s), std::invalid_argument);
  s = tiny_spec(GgmlType::Q4_0, false);
  EXPECT_THROW(write_random_llama_gguf("/nonexistent-dir/x.gguf", s), std::runtime_error);
}

}  // namespace
}  // namespace loom::gpu_bench
