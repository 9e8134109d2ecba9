// One loaded SmolLM2 shared by the model tests of a binary (loading is the
// slow part). Fails the test, with the fix, when the model file is missing.
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

#define LOOM_REQUIRE_MODEL(model)                                                          \
  CpuModel* model = ::loom::test::shared_model();                                          \
  ASSERT_NE(model, nullptr) << "model " << ::loom::test::model_path()                      \
                            << " is missing: run scripts/fetch_model.sh (or set LOOM_TEST_MODEL)"

}  // namespace loom::test
