#include "bench/gpu/random_gguf.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "kernels/cpu/quant_blocks.h"

namespace loom::gpu_bench {
namespace {

// GGUF metadata value types (gguf.md, enum gguf_metadata_value_type).
enum : uint32_t { kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7, kString = 8, kArray = 9 };
constexpr uint32_t kAlignment = 32;  // GGUF default (no general.alignment key)

// Token types (llama.cpp's llama_token_type): normal, unknown, control, byte.
enum : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kByte = 6 };

struct TensorInfo {
  std::string name;
  std::vector<uint64_t> ne;  // ne[0] is the contiguous (K) dimension
  GgmlType type;
  uint64_t offset = 0;  // in the data section
  uint64_t bytes = 0;
};

uint64_t align_up(uint64_t x) { return (x + kAlignment - 1) / kAlignment * kAlignment; }

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Buffered little-endian writer (x86/ARM hosts are little-endian, as GGUF is).
class Writer {
 public:
  explicit Writer(const std::string& path) : path_(path), f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) throw std::runtime_error("cannot create '" + path + "': " + std::strerror(errno));
  }
  ~Writer() {
    if (f_) std::fclose(f_);
  }
  void bytes(const void* p, size_t n) {
    if (n && std::fwrite(p, 1, n, f_) != n)
      throw std::runtime_error("write to '" + path_ + "' failed: " + std::strerror(errno));
    written_ += n;
  }
  template <class T>
  void pod(T v) { bytes(&v, sizeof v); }
  void str(std::string_view s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void pad_to_alignment() {
    static const char zeros[kAlignment] = {};
    bytes(zeros, align_up(written_) - written_);
  }
  uint64_t written() const { return written_; }
  void close() {
    if (std::fclose(f_) != 0) throw std::runtime_error("closing '" + path_ + "' failed");
    f_ = nullptr;
  }

 private:
  std::string path_;
  FILE* f_;
  uint64_t written_ = 0;
};

struct Vocab {
  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<int32_t> types;
  void add(std::string text, int32_t type) {
    scores.push_back(type == kNormal ? -static_cast<float>(tokens.size()) : 0.0f);
    tokens.push_back(std::move(text));
    types.push_back(type);
  }
};

// <unk> <s> </s>, the byte tokens, then distinct pieces: "▁", printable ASCII
// characters bare and after "▁", then lowercase words of 2, 3, ... letters.
Vocab make_vocab(int32_t n) {
  Vocab v;
  v.add("<unk>", kUnknown);
  v.add("<s>", kControl);
  v.add("</s>", kControl);
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    v.add(buf, kByte);
  }
  const std::string space = "\xE2\x96\x81";  // U+2581, SentencePiece's space
  v.add(space, kNormal);
  for (char c = 33; c < 127 && static_cast<int32_t>(v.tokens.size()) + 2 <= n; ++c) {
    v.add(std::string(1, c), kNormal);
    v.add(space + c, kNormal);
  }
  for (int len = 2; static_cast<int32_t>(v.tokens.size()) < n; ++len) {
    std::string word(len, 'a');
    while (static_cast<int32_t>(v.tokens.size()) < n) {
      v.add(word, kNormal);
      if (static_cast<int32_t>(v.tokens.size()) < n) v.add(space + word, kNormal);
      int i = len - 1;  // next word in lexicographic order
      while (i >= 0 && word[i] == 'z') word[i--] = 'a';
      if (i < 0) break;
      ++word[i];
    }
  }
  v.tokens.resize(n), v.scores.resize(n), v.types.resize(n);
  return v;
}

// llama.cpp's use_more_bits(i, n) (llama-quant.cpp): the layers Q4_K_M
// gives Q6_K attn_v and ffn_down.
bool more_bits_layer(int32_t i, int32_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

std::vector<TensorInfo> tensor_infos(const RandomLlamaSpec& s) {
  const uint64_t dim = s.dim, ffn = s.ffn_dim, kv = uint64_t(s.dim) / s.n_heads * s.n_kv_heads;
  const GgmlType m = s.matrix_type;
  const GgmlType big = s.q4_k_m ? GgmlType::Q6_K : m;  // the mix's higher-precision tensors
  std::vector<TensorInfo> t = {{"token_embd.weight", {dim, uint64_t(s.n_vocab)}, m},
                               {"output_norm.weight", {dim}, GgmlType::F32}};
  if (!s.tied_output) t.push_back({"output.weight", {dim, uint64_t(s.n_vocab)}, big});
  for (int32_t l = 0; l < s.n_layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    const GgmlType mixed = more_bits_layer(l, s.n_layers) ? big : m;
    t.push_back({p + "attn_norm.weight", {dim}, GgmlType::F32});
    t.push_back({p + "attn_q.weight", {dim, dim}, m});
    t.push_back({p + "attn_k.weight", {dim, kv}, m});
    t.push_back({p + "attn_v.weight", {dim, kv}, mixed});
    if (s.qkv_bias) {
      t.push_back({p + "attn_q.bias", {dim}, GgmlType::F32});
      t.push_back({p + "attn_k.bias", {kv}, GgmlType::F32});
      t.push_back({p + "attn_v.bias", {kv}, GgmlType::F32});
    }
    t.push_back({p + "attn_output.weight", {dim, dim}, m});
    t.push_back({p + "ffn_norm.weight", {dim}, GgmlType::F32});
    t.push_back({p + "ffn_gate.weight", {dim, ffn}, m});
    t.push_back({p + "ffn_up.weight", {dim, ffn}, m});
    t.push_back({p + "ffn_down.weight", {ffn, dim}, mixed});
  }
  uint64_t offset = 0;
  for (auto& x : t) {
    uint64_t n = 1;
    for (uint64_t d : x.ne) n *= d;
    x.bytes = *ggml_row_bytes(x.type, n);  // validate(): whole blocks
    x.offset = offset;
    offset = align_up(offset + x.bytes);
  }
  return t;
}

void validate(const RandomLlamaSpec& s) {
  const auto fail = [](const std::string& why) { throw std::invalid_argument("random GGUF spec: " + why); };
  if (s.n_layers <= 0 || s.dim <= 0 || s.n_heads <= 0 || s.n_kv_heads <= 0 || s.ffn_dim <= 0 ||
      s.context <= 0)
    fail("every size must be positive");
  const bool k_quant = s.matrix_type == GgmlType::Q4_K || s.matrix_type == GgmlType::Q6_K;
  const int32_t block = k_quant ? 256 : 32;
  if (s.dim % block || s.ffn_dim % block)
    fail("dim and ffn_dim must be multiples of " + std::to_string(block) + " (quant blocks)");
  if (s.q4_k_m && s.matrix_type != GgmlType::Q4_K) fail("q4_k_m needs matrix_type Q4_K");
  if (s.dim % s.n_heads || s.n_heads % s.n_kv_heads) fail("dim % n_heads and n_heads % n_kv_heads must be 0");
  if ((s.dim / s.n_heads) % 2) fail("the head size must be even (RoPE pairs)");
  if (s.n_vocab < 260) fail("n_vocab must be at least 260 (3 specials + 256 byte tokens + 1)");
  if (s.matrix_type != GgmlType::Q4_0 && s.matrix_type != GgmlType::Q4_1 && s.matrix_type != GgmlType::Q8_0 &&
      !k_quant)
    fail("matrix_type must be Q4_0, Q4_1, Q8_0, Q4_K or Q6_K");
}

// Quant blocks with uniform random codes and a fixed power-of-two scale, so a
// weight has standard deviation ~0.018 (a trained 7B's is ~0.02):
//   Q4_0: {f16 d = 2^-8; 16 bytes of nibbles}, w = (q - 8) d, sd 4.6 d
//   Q4_1: {f16 d = 2^-8; f16 m = -2^-5 (= -8 d); nibbles}, w = q d + m
//   Q8_0: {f16 d = 2^-12; 32 int8}, w = q d, sd 74 d
//   Q4_K: {f16 d = 2^-11, dmin = 2^-8; every sub-block scale 8 and min 8;
//          nibbles}, w = d*8*q - dmin*8 = (q - 8) 2^-8, as Q4_0
//   Q6_K: {6-bit codes; every sub-block scale 16; f16 d = 2^-14},
//          w = d*16*(q - 32) = (q - 32) 2^-10, sd 18.5 * 2^-10
// fp16 bits: 2^-8 = 0x1C00, -2^-5 = 0xA800, 2^-12 = 0x0C00, 2^-11 = 0x1000,
// 2^-14 = 0x0400.
void random_bytes(uint8_t* out, size_t n, uint64_t& rng) {
  for (size_t i = 0; i < n; i += 8) {
    const uint64_t r = splitmix64(rng);
    std::memcpy(out + i, &r, std::min<size_t>(8, n - i));
  }
}

void fill_k_blocks(GgmlType type, uint8_t* out, size_t n_blocks, uint64_t& rng) {
  for (size_t b = 0; b < n_blocks; ++b) {
    if (type == GgmlType::Q4_K) {
      auto* k = reinterpret_cast<BlockQ4_K*>(out) + b;
      k->d = 0x1000, k->dmin = 0x1C00;
      // get_scale_min_k4's packing of scale 8 / min 8 for all 8 sub-blocks:
      // 6-bit fields, high bits 0.
      std::memset(k->scales, 8, 8);
      std::memset(k->scales + 8, 0x88, 4);
      random_bytes(k->qs, sizeof k->qs, rng);
    } else {
      auto* k = reinterpret_cast<BlockQ6_K*>(out) + b;
      random_bytes(k->ql, sizeof k->ql, rng);
      random_bytes(k->qh, sizeof k->qh, rng);
      std::memset(k->scales, 16, sizeof k->scales);
      k->d = 0x0400;
    }
  }
}

void fill_blocks(GgmlType type, uint8_t* out, size_t n_blocks, uint64_t& rng) {
  if (type == GgmlType::Q4_K || type == GgmlType::Q6_K) return fill_k_blocks(type, out, n_blocks, rng);
  const uint32_t block = ggml_type_info(type).block_bytes;
  const uint16_t d = type == GgmlType::Q8_0 ? 0x0C00 : 0x1C00, m = 0xA800;
  const size_t header = type == GgmlType::Q4_1 ? 4 : 2;
  for (size_t b = 0; b < n_blocks; ++b, out += block) {
    std::memcpy(out, &d, 2);
    if (type == GgmlType::Q4_1) std::memcpy(out + 2, &m, 2);
    random_bytes(out + header, block - header, rng);
  }
}

// llama_ftype (llama.h): MOSTLY_Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q4_K_S = 14,
// Q4_K_M = 15, Q6_K = 18.
uint32_t file_type(const RandomLlamaSpec& s) {
  switch (s.matrix_type) {
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q4_1: return 3;
    case GgmlType::Q8_0: return 7;
    case GgmlType::Q4_K: return s.q4_k_m ? 15 : 14;
    default: return 18;
  }
}

void write_tensor_data(Writer& w, const TensorInfo& t, uint64_t seed, std::vector<uint8_t>& buf) {
  if (t.type == GgmlType::F32) {  // norm weights: 1.0; biases: uniform in [-1, 1)
    std::vector<float> values(t.bytes / 4, 1.0f);
    if (t.name.ends_with(".bias")) {
      uint64_t rng = seed;
      for (float& v : values) v = static_cast<float>(splitmix64(rng) >> 40) * 0x1p-23f - 1.0f;
    }
    w.bytes(values.data(), t.bytes);
    return;
  }
  const uint32_t block = ggml_type_info(t.type).block_bytes;
  const size_t blocks_per_chunk = buf.size() / block;
  uint64_t rng = seed;
  for (uint64_t left = t.bytes / block; left > 0;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(left, blocks_per_chunk));
    fill_blocks(t.type, buf.data(), n, rng);
    w.bytes(buf.data(), n * block);
    left -= n;
  }
}

// The metadata section (key-value pairs) in memory; `count` as they are added.
struct Metadata {
  std::vector<uint8_t> bytes;
  uint64_t count = 0;
  void raw(const void* p, size_t n) {
    const auto* b = static_cast<const uint8_t*>(p);
    bytes.insert(bytes.end(), b, b + n);
  }
  template <class T>
  void pod(T v) { raw(&v, sizeof v); }
  void str(std::string_view s) {
    pod<uint64_t>(s.size());
    raw(s.data(), s.size());
  }
  void key(std::string_view k, uint32_t type) { str(k), pod(type), ++count; }
  void u32(std::string_view k, uint32_t x) { key(k, kU32), pod(x); }
  void f32(std::string_view k, float x) { key(k, kF32), pod(x); }
  void boolean(std::string_view k, bool x) { key(k, kBool), pod<uint8_t>(x); }
  void string(std::string_view k, std::string_view x) { key(k, kString), str(x); }
  void array_header(std::string_view k, uint32_t elem_type, uint64_t n) {
    key(k, kArray), pod(elem_type), pod(n);
  }
};

Metadata make_metadata(const RandomLlamaSpec& s, const Vocab& v) {
  Metadata m;
  m.string("general.architecture", "llama");
  m.string("general.name", s.name);
  m.u32("general.file_type", file_type(s));
  m.u32("llama.context_length", s.context);
  m.u32("llama.embedding_length", s.dim);
  m.u32("llama.block_count", s.n_layers);
  m.u32("llama.feed_forward_length", s.ffn_dim);
  m.u32("llama.rope.dimension_count", s.dim / s.n_heads);
  m.u32("llama.attention.head_count", s.n_heads);
  m.u32("llama.attention.head_count_kv", s.n_kv_heads);
  m.f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  m.f32("llama.rope.freq_base", 10000.0f);
  m.u32("llama.vocab_size", s.n_vocab);
  m.string("tokenizer.ggml.model", "llama");
  m.string("tokenizer.ggml.pre", "default");
  m.array_header("tokenizer.ggml.tokens", kString, v.tokens.size());
  for (const auto& t : v.tokens) m.str(t);
  m.array_header("tokenizer.ggml.scores", kF32, v.scores.size());
  m.raw(v.scores.data(), v.scores.size() * sizeof(float));
  m.array_header("tokenizer.ggml.token_type", kI32, v.types.size());
  m.raw(v.types.data(), v.types.size() * sizeof(int32_t));
  m.u32("tokenizer.ggml.unknown_token_id", 0);
  m.u32("tokenizer.ggml.bos_token_id", 1);
  m.u32("tokenizer.ggml.eos_token_id", 2);
  m.boolean("tokenizer.ggml.add_bos_token", true);
  m.boolean("tokenizer.ggml.add_eos_token", false);
  return m;
}

}  // namespace

RandomLlamaSpec llama2_7b_spec() {
  RandomLlamaSpec s;
  s.name = "random-llama2-7b-q4_0";
  return s;
}

RandomLlamaSpec tinyllama_1b_spec(GgmlType matrix_type, bool q4_k_m) {
  RandomLlamaSpec s;
  s.n_layers = 22;
  s.dim = 2048;
  s.n_heads = 32;
  s.n_kv_heads = 4;
  s.ffn_dim = 5632;
  s.context = 2048;
  s.matrix_type = matrix_type;
  s.q4_k_m = q4_k_m;
  s.name = "random-tinyllama-1.1b";
  return s;
}

uint64_t tensor_data_bytes(const RandomLlamaSpec& spec) {
  validate(spec);
  const auto t = tensor_infos(spec);
  return t.back().offset + t.back().bytes;
}

void write_random_llama_gguf(const std::string& path, const RandomLlamaSpec& spec) {
  validate(spec);
  const auto tensors = tensor_infos(spec);
  const Vocab vocab = make_vocab(spec.n_vocab);
  const Metadata meta = make_metadata(spec, vocab);
  Writer w(path);
  w.pod<uint32_t>(0x46554747);  // "GGUF"
  w.pod<uint32_t>(3);           // version
  w.pod<uint64_t>(tensors.size());
  w.pod<uint64_t>(meta.count);
  w.bytes(meta.bytes.data(), meta.bytes.size());
  for (const auto& t : tensors) {
    w.str(t.name);
    w.pod<uint32_t>(static_cast<uint32_t>(t.ne.size()));
    for (uint64_t d : t.ne) w.pod(d);
    w.pod(static_cast<uint32_t>(t.type));
    w.pod(t.offset);
  }
  w.pad_to_alignment();
  const uint64_t data_start = w.written();
  std::vector<uint8_t> buf(size_t{4} << 20);
  for (size_t i = 0; i < tensors.size(); ++i) {
    write_tensor_data(w, tensors[i], spec.seed * 0x9E3779B97F4A7C15ull + i, buf);
    if (i + 1 < tensors.size()) w.pad_to_alignment();
    if (w.written() - data_start != (i + 1 < tensors.size() ? tensors[i + 1].offset
                                                           : tensors[i].offset + tensors[i].bytes))
      throw std::logic_error("random GGUF: tensor offsets out of step at " + tensors[i].name);
  }
  w.close();
}

}  // namespace loom::gpu_bench
