// Loads tests/fixtures/model/<name>_reference.json (smollm2, gemma3), written
// by llama.cpp through tests/reference/make_model_fixtures.py.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace loom::test {

struct PositionReference {
  std::vector<int32_t> top_ids;   // llama.cpp's 20 highest logits, best first
  std::vector<float> top_logits;
  double next_nll = -1;           // -log p(next token); absent (-1) at the last position
};

struct TeacherForcedReference {
  std::vector<int32_t> tokens;
  std::vector<PositionReference> positions;
};

struct GreedyReference {
  std::string kind;  // "chat" or "raw"
  std::vector<int32_t> prompt_tokens;
  std::vector<int32_t> tokens;                  // 64 greedy tokens
  std::vector<std::pair<float, float>> top2;    // best and second logit at each step
};

// llama.cpp against itself with flash attention on (another valid attention
// precision), per text: how far two correct summation orders drift apart on
// this model (printed beside Loom's agreement).
struct PrecisionVariant {
  double top1_agreement = 0;
  double top20_max_diff_p50 = 0, top20_max_diff_p90 = 0, top20_max_diff_p99 = 0;
  double perplexity = 0;
};

struct ModelReference {
  std::vector<TeacherForcedReference> texts;
  std::vector<GreedyReference> greedy;
  std::vector<PrecisionVariant> variant;  // one per text
};

// name: "smollm2" or "gemma3".
ModelReference load_model_reference(const std::string& name = "smollm2");

}  // namespace loom::test
