// An editable msgpack value tree for the vLLM door tests: decode a recorded
// frame, change a field, pack it again; read the door's answers. Built on
// msgpack-cxx's own packer and unpacker, not on the door's codec.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <msgpack.hpp>

namespace loom::test {

struct V {
  enum class T { kNil, kBool, kInt, kFloat, kStr, kBin, kExt, kArr, kMap } t = T::kNil;
  bool b = false;
  int64_t i = 0;
  bool unsigned_big = false;  // an integer above INT64_MAX (kept in u)
  uint64_t u = 0;
  double f = 0;
  std::string s;  // str, bin, ext bytes
  int8_t ext_type = 0;
  std::vector<V> a;
  std::vector<std::pair<std::string, V>> m;  // string keys only (all vLLM maps)

  static V nil() { return {}; }
  static V str(std::string v) { V x; x.t = T::kStr; x.s = std::move(v); return x; }
  static V integer(int64_t v) { V x; x.t = T::kInt; x.i = v; return x; }
  static V number(double v) { V x; x.t = T::kFloat; x.f = v; return x; }
  static V boolean(bool v) { V x; x.t = T::kBool; x.b = v; return x; }
  static V array(std::vector<V> v) { V x; x.t = T::kArr; x.a = std::move(v); return x; }
  static V map(std::vector<std::pair<std::string, V>> v) { V x; x.t = T::kMap; x.m = std::move(v); return x; }

  bool is_nil() const { return t == T::kNil; }
  V* find(const std::string& key) {
    for (auto& [k, v] : m) if (k == key) return &v;
    return nullptr;
  }
  const V* find(const std::string& key) const { return const_cast<V*>(this)->find(key); }
  const V& at(const std::string& key) const {
    const V* v = find(key);
    if (!v) throw std::out_of_range("no key " + key);
    return *v;
  }
  void set(const std::string& key, V v) {
    if (V* old = find(key)) *old = std::move(v);
    else m.emplace_back(key, std::move(v));
  }
  void erase(const std::string& key) {
    for (auto it = m.begin(); it != m.end(); ++it) if (it->first == key) { m.erase(it); return; }
  }
};

inline V from_object(const msgpack::object& o) {
  V v;
  switch (o.type) {
    case msgpack::type::NIL: break;
    case msgpack::type::BOOLEAN: v.t = V::T::kBool; v.b = o.via.boolean; break;
    case msgpack::type::POSITIVE_INTEGER:
      v.t = V::T::kInt;
      v.u = o.via.u64;
      v.unsigned_big = o.via.u64 > static_cast<uint64_t>(INT64_MAX);
      v.i = static_cast<int64_t>(o.via.u64);
      break;
    case msgpack::type::NEGATIVE_INTEGER: v.t = V::T::kInt; v.i = o.via.i64; break;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: v.t = V::T::kFloat; v.f = o.via.f64; break;
    case msgpack::type::STR: v.t = V::T::kStr; v.s.assign(o.via.str.ptr, o.via.str.size); break;
    case msgpack::type::BIN: v.t = V::T::kBin; v.s.assign(o.via.bin.ptr, o.via.bin.size); break;
    case msgpack::type::EXT:
      v.t = V::T::kExt;
      v.ext_type = o.via.ext.type();
      v.s.assign(o.via.ext.data(), o.via.ext.size);
      break;
    case msgpack::type::ARRAY:
      v.t = V::T::kArr;
      for (uint32_t k = 0; k < o.via.array.size; ++k) v.a.push_back(from_object(o.via.array.ptr[k]));
      break;
    case msgpack::type::MAP:
      v.t = V::T::kMap;
      for (uint32_t k = 0; k < o.via.map.size; ++k) {
        const auto& kv = o.via.map.ptr[k];
        v.m.emplace_back(std::string(kv.key.via.str.ptr, kv.key.via.str.size), from_object(kv.val));
      }
      break;
  }
  return v;
}

inline V unpack(const std::string& bytes) {
  auto h = msgpack::unpack(bytes.data(), bytes.size());
  return from_object(h.get());
}

inline void pack_into(msgpack::packer<msgpack::sbuffer>& pk, const V& v) {
  switch (v.t) {
    case V::T::kNil: pk.pack_nil(); break;
    case V::T::kBool: pk.pack(v.b); break;
    case V::T::kInt: if (v.unsigned_big) pk.pack_uint64(v.u); else pk.pack_int64(v.i); break;
    case V::T::kFloat: pk.pack_double(v.f); break;
    case V::T::kStr: pk.pack_str(v.s.size()); pk.pack_str_body(v.s.data(), v.s.size()); break;
    case V::T::kBin: pk.pack_bin(v.s.size()); pk.pack_bin_body(v.s.data(), v.s.size()); break;
    case V::T::kExt: pk.pack_ext(v.s.size(), v.ext_type); pk.pack_ext_body(v.s.data(), v.s.size()); break;
    case V::T::kArr:
      pk.pack_array(v.a.size());
      for (const auto& e : v.a) pack_into(pk, e);
      break;
    case V::T::kMap:
      pk.pack_map(v.m.size());
      for (const auto& [k, e] : v.m) {
        pk.pack_str(k.size());
        pk.pack_str_body(k.data(), k.size());
        pack_into(pk, e);
      }
      break;
  }
}

inline std::string pack(const V& v) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_into(pk, v);
  return {buf.data(), buf.size()};
}

}  // namespace loom::test
