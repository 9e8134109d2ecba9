#include "tests/model/reference_fixture.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tests/common/test_paths.h"

namespace loom::test {

ModelReference load_model_reference(const std::string& name) {
  const std::string path = fixture_path("model/" + name + "_reference.json");
  std::ifstream in(path);
  if (!in) throw std::runtime_error("missing fixture " + path);
  const auto j = nlohmann::json::parse(in);
  ModelReference ref;
  for (const auto& t : j.at("teacher_forced")) {
    TeacherForcedReference text;
    text.tokens = t.at("tokens").get<std::vector<int32_t>>();
    for (const auto& p : t.at("positions")) {
      PositionReference pos;
      pos.top_ids = p.at("top_ids").get<std::vector<int32_t>>();
      pos.top_logits = p.at("top_logits").get<std::vector<float>>();
      if (p.contains("next_nll")) pos.next_nll = p.at("next_nll").get<double>();
      text.positions.push_back(std::move(pos));
    }
    ref.texts.push_back(std::move(text));
  }
  for (const auto& g : j.at("greedy")) {
    GreedyReference case_;
    case_.kind = g.at("kind").get<std::string>();
    case_.prompt_tokens = g.at("prompt_tokens").get<std::vector<int32_t>>();
    case_.tokens = g.at("tokens").get<std::vector<int32_t>>();
    for (const auto& pair : g.at("top2_logits"))
      case_.top2.emplace_back(pair.at(0).get<float>(), pair.at(1).get<float>());
    ref.greedy.push_back(std::move(case_));
  }
  for (const auto& v : j.at("flash_attention_variant")) {
    PrecisionVariant pv;
    pv.top1_agreement = v.at("top1_agreement").get<double>();
    pv.top20_max_diff_p50 = v.at("top20_max_diff_p50").get<double>();
    pv.top20_max_diff_p90 = v.at("top20_max_diff_p90").get<double>();
    pv.top20_max_diff_p99 = v.at("top20_max_diff_p99").get<double>();
    pv.perplexity = v.at("perplexity").get<double>();
    ref.variant.push_back(pv);
  }
  return ref;
}

}  // namespace loom::test
