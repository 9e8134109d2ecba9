// expect_gguf_error(f, {pieces}): f() must throw loom::GgufError whose message
// is one line and contains every piece.
#pragma once
#include <gtest/gtest.h>

#include <initializer_list>
#include <string>

#include "backends/common/gguf/gguf_value.h"

namespace loom::test {

template <typename F>
void expect_gguf_error(F&& f, std::initializer_list<std::string> pieces) {
  try {
    f();
    ADD_FAILURE() << "no GgufError";
  } catch (const GgufError& e) {
    const std::string msg = e.what();
    for (const auto& p : pieces) EXPECT_NE(msg.find(p), std::string::npos) << msg << " lacks " << p;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace loom::test
