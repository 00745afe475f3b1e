// The few protobuf wire-format pieces that Prometheus' remote write requests
// and its protobuf exposition need, written by hand so that writing them
// carries no protobuf dependency: varints (zigzag for sint32/sint64),
// length-delimited fields and little-endian fixed64 doubles. (Reading
// protobuf is libprotobuf's job: the OTLP receiver.)
// Nested messages are written with their length first, so each encoder
// computes its message's size before writing it (no second buffer, no copy).
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/snapshot.hpp"

namespace vitals::detail::pb {

enum class wire : std::uint8_t { varint = 0, fixed64 = 1, length_delimited = 2 };

constexpr std::size_t varint_size(std::uint64_t v) noexcept {
  std::size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

/// Field numbers below 16 keep the key in one byte, as all of remote write's do.
constexpr std::size_t key_size(std::uint32_t field) noexcept { return varint_size(field << 3); }

inline void put_key(std::string& out, std::uint32_t field, wire w) {
  put_varint(out, (std::uint64_t{field} << 3) | static_cast<std::uint8_t>(w));
}

/// Key, length and body of a length-delimited field whose body is `len` bytes.
constexpr std::size_t length_delimited_size(std::uint32_t field, std::size_t len) noexcept {
  return key_size(field) + varint_size(len) + len;
}

inline void put_length(std::string& out, std::uint32_t field, std::size_t len) {
  put_key(out, field, wire::length_delimited);
  put_varint(out, len);
}

inline void put_string(std::string& out, std::uint32_t field, std::string_view s) {
  put_length(out, field, s.size());
  out.append(s);
}

/// A `double` field: wire type 1, the IEEE 754 bits little-endian.
constexpr std::size_t double_size(std::uint32_t field) noexcept { return key_size(field) + 8; }

inline void put_double(std::string& out, std::uint32_t field, double v) {
  static_assert(std::endian::native == std::endian::little,
                "fixed64 is written as memory holds it");
  put_key(out, field, wire::fixed64);
  char bytes[8];
  std::memcpy(bytes, &v, 8);
  out.append(bytes, 8);
}

/// An `int64` field: negative values take ten bytes, as protobuf specifies.
constexpr std::size_t int64_size(std::uint32_t field, std::int64_t v) noexcept {
  return key_size(field) + varint_size(static_cast<std::uint64_t>(v));
}

inline void put_int64(std::string& out, std::uint32_t field, std::int64_t v) {
  put_key(out, field, wire::varint);
  put_varint(out, static_cast<std::uint64_t>(v));
}

/// A `uint64` (or `uint32`, `enum`) field.
constexpr std::size_t uint64_size(std::uint32_t field, std::uint64_t v) noexcept {
  return key_size(field) + varint_size(v);
}

inline void put_uint64(std::string& out, std::uint32_t field, std::uint64_t v) {
  put_key(out, field, wire::varint);
  put_varint(out, v);
}

/// `sint32` and `sint64` are zigzag-encoded: small negatives stay small.
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

constexpr std::size_t sint64_size(std::uint32_t field, std::int64_t v) noexcept {
  return key_size(field) + varint_size(zigzag(v));
}

inline void put_sint64(std::string& out, std::uint32_t field, std::int64_t v) {
  put_key(out, field, wire::varint);
  put_varint(out, zigzag(v));
}

/// A length-delimited field whose body was written apart.
inline void put_message(std::string& out, std::uint32_t field, std::string_view body) {
  put_length(out, field, body.size());
  out.append(body);
}

/// BucketSpan's fields, the same in the exposition format and remote write.
constexpr std::uint32_t span_offset = 1, span_length = 2;

/// One sign of a native histogram as its spans (`span_field`, repeated
/// BucketSpan) and bucket deltas (`delta_field`, packed sint64): the first
/// span's offset is its first index, a later one's the gap since the last
/// span; the first delta is a count, each later one the change from the
/// bucket before. A gap of up to two empty buckets is filled with zeros
/// rather than starting a span (smaller on the wire). Nothing for no buckets.
inline void put_native_side(std::string& out, std::uint32_t span_field, std::uint32_t delta_field,
                            const std::vector<native_buckets::entry>& side, std::string& scratch) {
  if (side.empty()) return;
  struct span {
    std::int64_t offset;
    std::uint32_t length;
  };
  std::vector<span> spans;
  std::string deltas;
  std::int64_t previous = 0;
  std::int64_t next_index = 0;  // the index after the current span's end
  auto delta = [&](std::uint64_t count) {
    put_varint(deltas, zigzag(static_cast<std::int64_t>(count) - previous));
    previous = static_cast<std::int64_t>(count);
  };
  for (const auto& e : side) {
    const std::int64_t gap = std::int64_t{e.index} - next_index;
    if (spans.empty()) {
      spans.push_back({e.index, 0});
    } else if (gap > 2) {
      spans.push_back({gap, 0});
    } else {
      for (std::int64_t k = 0; k < gap; ++k) delta(0);
      spans.back().length += static_cast<std::uint32_t>(gap);
    }
    delta(e.count);
    ++spans.back().length;
    next_index = std::int64_t{e.index} + 1;
  }
  for (const auto& sp : spans) {
    scratch.clear();
    if (sp.offset != 0) put_sint64(scratch, span_offset, sp.offset);
    put_uint64(scratch, span_length, sp.length);
    put_message(out, span_field, scratch);
  }
  put_message(out, delta_field, deltas);  // packed
}

}  // namespace vitals::detail::pb
