// loom_make_random_gguf: writes a Llama-layout GGUF with random weights
// (random_gguf.h), so a machine without network can benchmark a 7B model.
//   loom_make_random_gguf --out /tmp/llama7b.gguf                 # Llama-2-7B shapes, Q4_0
//   loom_make_random_gguf --out t.gguf --layers 2 --dim 128 --heads 4 --kv-heads 2
//       --ffn 256 --vocab 1000 --type q8_0 --tied --seed 3
//   loom_make_random_gguf --out t.gguf --preset tinyllama-1.1b --type q4_k_m
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>

#include "bench/gpu/random_gguf.h"

namespace {

using loom::GgmlType;
using loom::gpu_bench::RandomLlamaSpec;

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "loom_make_random_gguf: %s\n"
               "usage: loom_make_random_gguf --out FILE [--layers N] [--dim D] [--heads H] [--kv-heads K]\n"
               "       [--ffn F] [--vocab V] [--context C] [--type q4_0|q4_1|q8_0|q4_k|q6_k|q4_k_m] [--tied]\n"
               "       [--qkv-bias] [--seed S] [--preset llama2-7b|tinyllama-1.1b]\n"
               "defaults: Llama-2-7B (32 layers, dim 4096, 32/32 heads, ffn 11008, vocab 32000, Q4_0);\n"
               "tinyllama-1.1b: 22 layers, dim 2048, 32/4 heads, ffn 5632 (a preset sets the shapes; later flags override)\n",
               why);
  std::exit(2);
}

int32_t int_arg(const char* flag, const char* value) {
  char* end = nullptr;
  const long v = std::strtol(value, &end, 10);
  if (*end != '\0' || v <= 0 || v > (1 << 30)) usage((std::string("bad value for ") + flag).c_str());
  return static_cast<int32_t>(v);
}

// Sets s's matrix type (and the Q4_K_M mix flag).
void type_arg(const std::string& v, RandomLlamaSpec& s) {
  s.q4_k_m = v == "q4_k_m";
  if (v == "q4_0") s.matrix_type = GgmlType::Q4_0;
  else if (v == "q4_1") s.matrix_type = GgmlType::Q4_1;
  else if (v == "q8_0") s.matrix_type = GgmlType::Q8_0;
  else if (v == "q4_k" || v == "q4_k_m") s.matrix_type = GgmlType::Q4_K;
  else if (v == "q6_k") s.matrix_type = GgmlType::Q6_K;
  else usage("--type must be q4_0, q4_1, q8_0, q4_k, q6_k or q4_k_m");
}

RandomLlamaSpec preset_arg(const std::string& v) {
  if (v == "llama2-7b") return loom::gpu_bench::llama2_7b_spec();
  if (v == "tinyllama-1.1b") return loom::gpu_bench::tinyllama_1b_spec(GgmlType::Q4_0);
  usage("--preset must be llama2-7b or tinyllama-1.1b");
}

}  // namespace

int main(int argc, char** argv) {
  RandomLlamaSpec s = loom::gpu_bench::llama2_7b_spec();
  std::string out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--tied") {
      s.tied_output = true;
      continue;
    }
    if (a == "--qkv-bias") {
      s.qkv_bias = true;
      continue;
    }
    if (i + 1 >= argc) usage(("missing value after " + a).c_str());
    const char* v = argv[++i];
    if (a == "--out") out = v;
    else if (a == "--layers") s.n_layers = int_arg("--layers", v);
    else if (a == "--dim") s.dim = int_arg("--dim", v);
    else if (a == "--heads") s.n_heads = int_arg("--heads", v);
    else if (a == "--kv-heads") s.n_kv_heads = int_arg("--kv-heads", v);
    else if (a == "--ffn") s.ffn_dim = int_arg("--ffn", v);
    else if (a == "--vocab") s.n_vocab = int_arg("--vocab", v);
    else if (a == "--context") s.context = int_arg("--context", v);
    else if (a == "--type") type_arg(v, s);
    else if (a == "--preset") {
      const RandomLlamaSpec p = preset_arg(v);
      s.n_layers = p.n_layers, s.dim = p.dim, s.n_heads = p.n_heads, s.n_kv_heads = p.n_kv_heads;
      s.ffn_dim = p.ffn_dim, s.n_vocab = p.n_vocab, s.context = p.context, s.name = p.name;
    }
    else if (a == "--seed") s.seed = static_cast<uint64_t>(int_arg("--seed", v));
    else usage(("unknown option " + a).c_str());
  }
  if (out.empty()) usage("--out is required");
  try {
    const auto t0 = std::chrono::steady_clock::now();
    loom::gpu_bench::write_random_llama_gguf(out, s);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("wrote %s: %d layers, dim %d, %d/%d heads, ffn %d, vocab %d, %s, %.2f GB in %.1f s\n",
                out.c_str(), s.n_layers, s.dim, s.n_heads, s.n_kv_heads, s.ffn_dim, s.n_vocab,
                s.q4_k_m ? "Q4_K_M mix" : std::string(loom::ggml_type_info(s.matrix_type).name).c_str(), loom::gpu_bench::tensor_data_bytes(s) / 1e9, secs);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "loom_make_random_gguf: %s\n", e.what());
    return 1;
  }
  return 0;
}
