// Where tests find the real model and the committed reference fixtures.
#pragma once
#include <cstdlib>
#include <string>

namespace loom::test {

// The SmolLM2 GGUF fetched by scripts/fetch_model.sh; LOOM_TEST_MODEL overrides.
inline std::string model_path() {
  if (const char* env = std::getenv("LOOM_TEST_MODEL"); env && *env) return env;
  return LOOM_DEFAULT_TEST_MODEL;
}

// The Gemma 3 270M GGUF fetched by `scripts/fetch_model.sh gemma3` (into
// LOOM_CACHE or ~/.cache/loom); LOOM_GEMMA_MODEL overrides. Tests that need it
// skip when it is absent: CI fetches only SmolLM2 by default.
inline std::string gemma_model_path() {
  if (const char* env = std::getenv("LOOM_GEMMA_MODEL"); env && *env) return env;
  const char* cache = std::getenv("LOOM_CACHE");
  const char* home = std::getenv("HOME");
  const std::string dir = cache && *cache ? cache : std::string(home ? home : "") + "/.cache/loom";
  return dir + "/gemma-3-270m-q4_k_m.gguf";
}

// tests/fixtures/, produced by tests/reference/ from llama.cpp.
inline std::string fixture_path(const std::string& name) {
  return std::string(LOOM_FIXTURES_DIR) + "/" + name;
}

}  // namespace loom::test
