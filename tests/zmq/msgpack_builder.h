// Builds msgpack frames for the tests straight from the format spec's
// encoder (msgpack::packer), independent of the codec under test.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <msgpack.hpp>

namespace loom::test {

struct Value;
using Map = std::vector<std::pair<std::string, Value>>;
using Array = std::vector<Value>;
struct Bin {
  std::string bytes;
};

struct Value {
  std::variant<std::nullptr_t, bool, int64_t, double, std::string, Bin, Array, Map> v;
  Value() : v(nullptr) {}
  Value(std::nullptr_t) : v(nullptr) {}
  Value(bool b) : v(b) {}
  Value(int i) : v(int64_t{i}) {}
  Value(int64_t i) : v(i) {}
  Value(double d) : v(d) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(Bin b) : v(std::move(b)) {}
  Value(Array a) : v(std::move(a)) {}
  Value(Map m) : v(std::move(m)) {}
};

inline void pack_value(msgpack::packer<msgpack::sbuffer>& pk, const Value& value) {
  std::visit(
      [&](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::nullptr_t>) pk.pack_nil();
        else if constexpr (std::is_same_v<T, bool>) pk.pack(x);
        else if constexpr (std::is_same_v<T, int64_t>) pk.pack_int64(x);
        else if constexpr (std::is_same_v<T, double>) pk.pack_double(x);
        else if constexpr (std::is_same_v<T, std::string>) pk.pack(x);
        else if constexpr (std::is_same_v<T, Bin>) {
          pk.pack_bin(static_cast<uint32_t>(x.bytes.size()));
          pk.pack_bin_body(x.bytes.data(), static_cast<uint32_t>(x.bytes.size()));
        } else if constexpr (std::is_same_v<T, Array>) {
          pk.pack_array(static_cast<uint32_t>(x.size()));
          for (const auto& e : x) pack_value(pk, e);
        } else {
          pk.pack_map(static_cast<uint32_t>(x.size()));
          for (const auto& [k, e] : x) {
            pk.pack(k);
            pack_value(pk, e);
          }
        }
      },
      value.v);
}

inline std::string pack(const Value& value) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_value(pk, value);
  return std::string(buf.data(), buf.size());
}

// A minimal valid generate frame; tests edit a copy.
inline Map generate_frame(std::string id = "j1", std::string prompt = "hello") {
  return Map{{"v", 1}, {"type", "generate"}, {"id", std::move(id)}, {"prompt", std::move(prompt)}};
}

inline Map& set(Map& m, const std::string& key, Value value) {
  for (auto& [k, v] : m) {
    if (k == key) {
      v = std::move(value);
      return m;
    }
  }
  m.emplace_back(key, std::move(value));
  return m;
}

inline Map& erase(Map& m, const std::string& key) {
  std::erase_if(m, [&](const auto& kv) { return kv.first == key; });
  return m;
}

}  // namespace loom::test
