// libFuzzer target: parse arbitrary bytes as GGUF, then touch every value and
// every tensor byte so the sanitizers see any out-of-bounds view. A GgufError
// is the expected answer to bad input; anything else escaping is a bug.
#include <cstddef>
#include <cstdint>
#include <span>

#include "backends/common/gguf/gguf_file.h"

namespace {

volatile uint64_t g_sink;  // keeps the reads from being optimized away

uint64_t touch_array(const loom::GgufArray& a) {
  uint64_t h = a.count;
  for (uint64_t i = 0; i < a.count; ++i) {
    const loom::GgufValue v = a.at(i);
    if (auto* inner = std::get_if<loom::GgufArray>(&v.v))
      h += touch_array(*inner);
    else
      h += v.to_string().size();
  }
  return h;
}

// Every typed getter on every key: each either returns or throws GgufError.
uint64_t touch_getters(const loom::GgufFile& f, std::string_view key) {
  uint64_t h = 0;
  auto attempt = [&](auto&& get) {
    try {
      h += get().has_value();
    } catch (const loom::GgufError&) {
      h += 1;
    }
  };
  attempt([&] { return f.get_u32(key); });
  attempt([&] { return f.get_i64(key); });
  attempt([&] { return f.get_u64(key); });
  attempt([&] { return f.get_f32(key); });
  attempt([&] { return f.get_bool(key); });
  attempt([&] { return f.get_string(key); });
  attempt([&] { return f.get_string_array(key); });
  attempt([&] { return f.get_i32_array(key); });
  attempt([&] { return f.get_f32_array(key); });
  return h;
}

uint64_t touch(const loom::GgufFile& f) {
  uint64_t h = f.describe().size();
  for (const auto& kv : f.metadata()) {
    h += kv.key.size() + kv.value.to_string().size() + touch_getters(f, kv.key);
    if (auto* a = std::get_if<loom::GgufArray>(&kv.value.v)) h += touch_array(*a);
  }
  for (const auto& t : f.tensors()) {
    if (f.find_tensor(t.name) != &t) __builtin_trap();
    for (uint8_t b : f.tensor_bytes(t)) h += b;
  }
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    const loom::GgufFile f = loom::GgufFile::from_bytes(std::span<const uint8_t>(data, size));
    g_sink = touch(f);
  } catch (const loom::GgufError&) {
  }
  return 0;
}
