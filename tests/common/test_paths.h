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

// tests/fixtures/, produced by tests/reference/ from llama.cpp.
inline std::string fixture_path(const std::string& name) {
  return std::string(LOOM_FIXTURES_DIR) + "/" + name;
}

}  // namespace loom::test
