// A fast in-process hash of label values (not stable across builds: the
// stable series hash is in core/series.hpp). Reads eight bytes at a time.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace vitals::detail {

constexpr std::uint64_t mix(std::uint64_t a, std::uint64_t b) noexcept {
  __uint128_t r = static_cast<__uint128_t>(a ^ 0x9e3779b97f4a7c15ull) * (b ^ 0xbf58476d1ce4e5b9ull);
  return static_cast<std::uint64_t>(r) ^ static_cast<std::uint64_t>(r >> 64);
}

inline std::uint64_t hash_values(std::span<const std::string_view> values) noexcept {
  std::uint64_t h = 0x243f6a8885a308d3ull ^ values.size();
  for (std::string_view v : values) {
    const char* p = v.data();
    std::size_t n = v.size();
    h = mix(h, n);
    while (n >= 8) {
      std::uint64_t w;
      std::memcpy(&w, p, 8);
      h = mix(h, w);
      p += 8;
      n -= 8;
    }
    // The tail is read in place (two overlapping 4-byte loads, or three
    // bytes): copying it byte by byte into a word stalls the next load.
    if (n >= 4) {
      std::uint32_t a, b;
      std::memcpy(&a, p, 4);
      std::memcpy(&b, p + n - 4, 4);
      h = mix(h, (std::uint64_t{a} << 32) | b);
    } else if (n > 0) {
      const auto* u = reinterpret_cast<const unsigned char*>(p);
      h = mix(h, (std::uint64_t{u[0]} << 16) | (std::uint64_t{u[n / 2]} << 8) | u[n - 1]);
    }
  }
  return h | 1;  // never 0: 0 marks an empty table slot
}

}  // namespace vitals::detail
