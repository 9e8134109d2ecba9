// Bounds-checked stand-ins for the C arrays of __shared__ declarations.
//
// LOOM_SHARED(float, tile, [32][33]) becomes a reference to
// SharedArray<float[32][33]>::type = CheckedArray<CheckedArray<float, 33>, 32>,
// which has the layout of float[32][33] but checks every subscript.
#pragma once

#include <cstddef>
#include <string>
#include <type_traits>

#include "kernels/cuda/simt/executor.h"

namespace loom::simt {

[[noreturn]] void shared_index_error(long long index, size_t extent);

template <class E, size_t N>
struct CheckedArray {
  E data[N];

  template <class I, class = std::enable_if_t<std::is_integral_v<I> || std::is_enum_v<I>>>
  E& operator[](I i) {
    check(static_cast<long long>(i));
    return data[i];
  }
  template <class I, class = std::enable_if_t<std::is_integral_v<I> || std::is_enum_v<I>>>
  const E& operator[](I i) const {
    check(static_cast<long long>(i));
    return data[i];
  }
  // Decays to a pointer like a C array (pointer arithmetic is unchecked).
  operator E*() { return data; }
  operator const E*() const { return data; }

 private:
  static void check(long long i) {
    if (i < 0 || i >= static_cast<long long>(N)) shared_index_error(i, N);
  }
};

template <class T>
struct SharedArray {
  using type = T;
};
template <class T, size_t N>
struct SharedArray<T[N]> {
  using type = CheckedArray<typename SharedArray<T>::type, N>;
};

template <class T>
T& shared_var(const void* key) {
  static_assert(std::is_trivially_default_constructible_v<T>,
                "__shared__ variables cannot have constructors");
  return *static_cast<T*>(block_shared(key, sizeof(T), alignof(T) < 16 ? 16 : alignof(T)));
}

}  // namespace loom::simt
