// Byte-level BPE (tokenizer.ggml.model == "gpt2"): pre-tokenize into words,
// then merge each word's bytes by merge rank. Results per distinct word are
// cached for the duration of one encode call.
#include <queue>

#include "backends/common/tokenizer/tokenizer.h"
#include "backends/common/tokenizer/unicode_text.h"

namespace loom {
namespace {

// Bytes append_utf8 writes for cpt (past U+10FFFF it writes U+FFFD).
size_t encoded_len(uint32_t cpt) {
  return cpt < 0x80 ? 1 : cpt < 0x800 ? 2 : cpt < 0x10000 ? 3 : cpt <= 0x10FFFF ? 4 : 3;
}

struct Symbol {
  int32_t id;     // token id of the merged bytes so far, -1 if the byte has no token
  int32_t prev;   // index of the previous live symbol, -1 at the start
  int32_t next;   // index of the next live symbol, -1 at the end
  bool alive;
};

struct Bigram {
  uint32_t rank;
  int32_t left, right;
  int32_t left_id, right_id;  // ids when queued: a side that merged since is stale
  int32_t merged;
  // priority_queue pops the largest: make the lowest rank, then leftmost, largest.
  bool operator<(const Bigram& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
};

}  // namespace

void Tokenizer::bpe_word(std::string_view word, std::vector<int32_t>& out) const {
  if (word.size() == 1) {
    const int32_t id = byte_token_[static_cast<uint8_t>(word[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (ignore_merges_) {  // llama3: a word that is already a token is used whole
    std::string encoded;
    for (char c : word) unicode::append_utf8(unicode::byte_to_cpt(static_cast<uint8_t>(c)), encoded);
    if (const int32_t id = find_token(encoded); id >= 0) {
      out.push_back(id);
      return;
    }
  }
  const auto n = static_cast<int32_t>(word.size());
  std::vector<Symbol> sym(n);
  for (int32_t i = 0; i < n; ++i)
    sym[i] = {byte_token_[static_cast<uint8_t>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true};

  std::priority_queue<Bigram> queue;
  const auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0 || sym[l].id < 0 || sym[r].id < 0) return;
    const uint64_t key = (uint64_t(uint32_t(sym[l].id)) << 32) | uint32_t(sym[r].id);
    const auto it = merges_.find(key);
    if (it == merges_.end()) return;
    queue.push({uint32_t(it->second >> 32), l, r, sym[l].id, sym[r].id, int32_t(uint32_t(it->second))});
  };
  for (int32_t i = 0; i + 1 < n; ++i) try_add(i, i + 1);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = sym[b.left];
    Symbol& r = sym[b.right];
    // Stale: one side was merged away or changed since this pair was queued.
    if (!l.alive || !r.alive || l.next != b.right || l.id != b.left_id || r.id != b.right_id) continue;
    l.id = b.merged;
    l.next = r.next;
    r.alive = false;
    if (r.next >= 0) sym[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  // A byte without a token is dropped, as llama.cpp's fallback finds nothing for it.
  for (int32_t i = 0; i >= 0; i = sym[i].next)
    if (sym[i].id >= 0) out.push_back(sym[i].id);
}

void Tokenizer::encode_bpe(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<uint32_t> cpts;
  unicode::decode_lenient(text, cpts);
  std::vector<uint8_t> classes(cpts.size());
  for (size_t i = 0; i < cpts.size(); ++i) classes[i] = unicode::cpt_class(cpts[i]);
  std::vector<uint32_t> lengths;
  lengths.reserve(cpts.size() / 3 + 1);
  pre_tokenize(pre_, cpts, classes, lengths);

  // Words are re-encoded from code points so invalid input reads as U+FFFD.
  std::string clean;
  clean.reserve(text.size());
  for (uint32_t c : cpts) unicode::append_utf8(c, clean);

  // word -> [begin, end) in `cached`; views point into `clean`, alive for this call.
  std::unordered_map<std::string_view, std::pair<uint32_t, uint32_t>> cache;
  std::vector<int32_t> cached;
  size_t cpt_pos = 0, byte_pos = 0;
  for (uint32_t len : lengths) {
    size_t bytes = 0;
    for (size_t k = 0; k < len; ++k) bytes += encoded_len(cpts[cpt_pos + k]);
    const std::string_view word(clean.data() + byte_pos, bytes);
    cpt_pos += len;
    byte_pos += bytes;
    if (const auto it = cache.find(word); it != cache.end()) {
      out.insert(out.end(), cached.begin() + it->second.first, cached.begin() + it->second.second);
      continue;
    }
    const size_t first = out.size();
    bpe_word(word, out);
    const auto begin = static_cast<uint32_t>(cached.size());
    cached.insert(cached.end(), out.begin() + first, out.end());
    cache.emplace(word, std::make_pair(begin, static_cast<uint32_t>(cached.size())));
  }
}

}  // namespace loom
