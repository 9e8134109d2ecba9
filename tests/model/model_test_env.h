// One loaded SmolLM2 (and one Gemma 3) shared by the model tests of a binary
// (loading is the slow part). A missing SmolLM2 fails the test with the fix;
// a missing Gemma 3 skips (only scripts/test.sh fetches it).
#pragma once
#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "backends/cpu/cpu_model.h"
#include "tests/common/test_paths.h"

namespace loom::test {

inline CpuModel* shared_model() {
  static std::unique_ptr<CpuModel> model = [] {
    const std::string path = model_path();
    if (!std::filesystem::exists(path)) return std::unique_ptr<CpuModel>();
    CpuModelOptions options;
    options.max_context = 2048;
    return CpuModel::load(path, options);
  }();
  return model.get();
}

inline CpuModel* shared_gemma_model() {
  static std::unique_ptr<CpuModel> model = [] {
    const std::string path = gemma_model_path();
    if (!std::filesystem::exists(path)) return std::unique_ptr<CpuModel>();
    CpuModelOptions options;
    options.max_context = 2048;
    return CpuModel::load(path, options);
  }();
  return model.get();
}

#define LOOM_REQUIRE_MODEL(model)                                                          \
  CpuModel* model = ::loom::test::shared_model();                                          \
  ASSERT_NE(model, nullptr) << "model " << ::loom::test::model_path()                      \
                            << " is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)"

#define LOOM_REQUIRE_GEMMA_MODEL(model)                                                            \
  CpuModel* model = ::loom::test::shared_gemma_model();                                            \
  if (!model) GTEST_SKIP() << "Gemma 3 model " << ::loom::test::gemma_model_path()                  \
                           << " is missing (run scripts/fetch_model.sh gemma3 or set LOOM_GEMMA_MODEL)"

}  // namespace loom::test
