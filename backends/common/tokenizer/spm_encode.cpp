// SentencePiece BPE (tokenizer.ggml.model == "llama"): spaces are already "▁";
// start from UTF-8 characters and repeatedly merge the adjacent pair whose
// concatenation is the highest-scoring token. A merge only forms tokens, so a
// final piece that is not a token is a single character: it falls back to
// <0xXX> byte tokens (llama.cpp's rev_merge re-split can never fire).
#include <queue>

#include "backends/common/tokenizer/tokenizer.h"

namespace loom {
namespace {

struct SpmSymbol {
  int32_t prev, next;
  size_t offset, n;  // bytes of the text; n == 0 once merged away
};

struct SpmBigram {
  float score;
  int32_t left, right;
  size_t size;
  // priority_queue pops the largest: highest score, then leftmost.
  bool operator<(const SpmBigram& o) const { return score != o.score ? score < o.score : left > o.left; }
};

size_t lead_length(uint8_t b) {
  static constexpr uint8_t kLen[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLen[b >> 4];
}

}  // namespace

int32_t Tokenizer::spm_byte_token(uint8_t byte) const {
  if (byte_token_[byte] >= 0) return byte_token_[byte];
  if (int32_t id = find_token(std::string(1, static_cast<char>(byte))); id >= 0) return id;
  return unk_id_;  // llama.cpp aborts here; we use <unk>, or drop the byte without one
}

void Tokenizer::encode_spm(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<SpmSymbol> sym;
  for (size_t off = 0; off < text.size();) {
    const size_t n = std::min(lead_length(static_cast<uint8_t>(text[off])), text.size() - off);
    const auto i = static_cast<int32_t>(sym.size());
    sym.push_back({i - 1, off + n == text.size() ? -1 : i + 1, off, n});
    off += n;
  }
  std::priority_queue<SpmBigram> queue;
  const auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    const std::string_view s = text.substr(sym[l].offset, sym[l].n + sym[r].n);
    const int32_t id = find_token(s);
    if (id < 0) return;
    queue.push({scores_[id], l, r, s.size()});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(sym.size()); ++i) try_add(i - 1, i);

  while (!queue.empty()) {
    const SpmBigram b = queue.top();
    queue.pop();
    SpmSymbol& l = sym[b.left];
    SpmSymbol& r = sym[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }

  for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
    const std::string_view s = text.substr(sym[i].offset, sym[i].n);
    if (const int32_t id = find_token(s); id >= 0) {
      out.push_back(id);
    } else {
      for (char c : s)
        if (const int32_t id = spm_byte_token(static_cast<uint8_t>(c)); id >= 0) out.push_back(id);
    }
  }
}

}  // namespace loom
