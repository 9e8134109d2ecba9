// Compares Loom's decoded GGUF values with values gguf-py recorded in JSON
// (tests/reference/make_gguf_fixtures.py). Floats compare exactly: a float32
// value round-trips through a JSON double unchanged.
#pragma once
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "backends/common/gguf/gguf_file.h"

namespace loom::test {

inline nlohmann::json load_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fixture " + path);
  return nlohmann::json::parse(in);
}

// One scalar (or array element) against its JSON value.
inline void expect_value_eq(const GgufValue& v, const nlohmann::json& want,
                            const std::string& what) {
  SCOPED_TRACE(what);
  switch (v.type()) {
    case GgufType::String:
      EXPECT_EQ(std::string(std::get<std::string_view>(v.v)), want.get<std::string>());
      break;
    case GgufType::Bool:
      EXPECT_EQ(std::get<bool>(v.v), want.get<bool>());
      break;
    case GgufType::F32:
      EXPECT_EQ(std::get<float>(v.v), static_cast<float>(want.get<double>()));
      break;
    case GgufType::F64:
      EXPECT_EQ(std::get<double>(v.v), want.get<double>());
      break;
    case GgufType::Array:
      ADD_FAILURE() << "unexpected nested array";
      break;
    default: {
      int64_t s = 0;
      uint64_t u = 0;
      if (want.is_number_unsigned()) {
        ASSERT_TRUE(v.as_u64(&u)) << v.to_string();
        EXPECT_EQ(u, want.get<uint64_t>());
      } else {
        ASSERT_TRUE(v.as_i64(&s)) << v.to_string();
        EXPECT_EQ(s, want.get<int64_t>());
      }
    }
  }
}

}  // namespace loom::test
