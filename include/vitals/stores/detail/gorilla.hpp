// Chunk compression after Gorilla (Pelkonen et al., VLDB 2015): timestamps as
// delta-of-delta in variable-width buckets; values either as Gorilla's XOR of
// consecutive doubles or, when every value of the chunk is a decimal with at
// most 6 digits after the point (CPU percent, byte counts), as delta-of-delta
// of the scaled integers, which is far smaller on such data.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <vector>

namespace vitals::stores::detail {

class bit_writer {
 public:
  void put(std::uint64_t v, unsigned bits) {
    for (unsigned i = bits; i > 0; --i) put_bit((v >> (i - 1)) & 1u);
  }
  void put_bit(unsigned b) {
    if (used_ % 8 == 0) bytes_.push_back(0);
    if (b) bytes_.back() |= static_cast<std::uint8_t>(0x80u >> (used_ % 8));
    ++used_;
  }
  std::vector<std::uint8_t> take() { return std::move(bytes_); }

 private:
  std::vector<std::uint8_t> bytes_;
  std::size_t used_ = 0;
};

class bit_reader {
 public:
  explicit bit_reader(const std::vector<std::uint8_t>& b) : b_(b) {}
  unsigned bit() {
    const unsigned v = (b_[pos_ / 8] >> (7 - pos_ % 8)) & 1u;
    ++pos_;
    return v;
  }
  std::uint64_t get(unsigned bits) {
    std::uint64_t v = 0;
    for (unsigned i = 0; i < bits; ++i) v = (v << 1) | bit();
    return v;
  }

 private:
  const std::vector<std::uint8_t>& b_;
  std::size_t pos_ = 0;
};

constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// A signed integer in the smallest of five buckets: '0', '10'+8, '110'+12,
// '1110'+20 bits (zigzag), else '1111'+64.
inline void put_varbits(bit_writer& w, std::int64_t v) {
  const std::uint64_t z = zigzag(v);
  if (z == 0) return w.put_bit(0);
  if (z < (1u << 8)) return w.put(0b10, 2), w.put(z, 8);
  if (z < (1u << 12)) return w.put(0b110, 3), w.put(z, 12);
  if (z < (1u << 20)) return w.put(0b1110, 4), w.put(z, 20);
  w.put(0b1111, 4);
  w.put(z, 64);
}

inline std::int64_t get_varbits(bit_reader& r) {
  if (!r.bit()) return 0;
  if (!r.bit()) return unzigzag(r.get(8));
  if (!r.bit()) return unzigzag(r.get(12));
  if (!r.bit()) return unzigzag(r.get(20));
  return unzigzag(r.get(64));
}

/// The smallest k in [0, 6] such that every value is an integer times 10^-k
/// that survives the round trip exactly, or -1.
inline int decimal_scale(const double* v, std::size_t n) {
  static constexpr double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  for (int k = 0; k <= 6; ++k) {
    bool ok = true;
    for (std::size_t i = 0; i < n && ok; ++i) {
      const double x = v[i] * pow10[k];
      ok = std::isfinite(x) && std::abs(x) < 9.0e15 && std::nearbyint(x) / pow10[k] == v[i] &&
           !(v[i] == 0 && std::signbit(v[i]));
    }
    if (ok) return k;
  }
  return -1;
}

struct chunk {
  std::vector<std::uint8_t> bits;
  std::uint32_t count = 0;
  std::int64_t first_t = 0;
  std::int64_t last_t = 0;
};

inline chunk encode(const std::int64_t* t, const double* v, std::size_t n) {
  static constexpr double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  bit_writer w;
  chunk c;
  c.count = static_cast<std::uint32_t>(n);
  if (n == 0) return c;
  c.first_t = t[0];
  c.last_t = t[n - 1];
  w.put(static_cast<std::uint64_t>(t[0]), 64);
  std::int64_t prev_delta = 0;
  for (std::size_t i = 1; i < n; ++i) {
    const std::int64_t d = t[i] - t[i - 1];
    put_varbits(w, d - prev_delta);
    prev_delta = d;
  }
  const int k = decimal_scale(v, n);
  if (k >= 0) {
    w.put(1, 1);
    w.put(static_cast<std::uint64_t>(k), 3);
    std::int64_t prev = static_cast<std::int64_t>(std::nearbyint(v[0] * pow10[k]));
    w.put(zigzag(prev), 64);
    std::int64_t prev_d = 0;
    for (std::size_t i = 1; i < n; ++i) {
      const std::int64_t x = static_cast<std::int64_t>(std::nearbyint(v[i] * pow10[k]));
      put_varbits(w, (x - prev) - prev_d);
      prev_d = x - prev;
      prev = x;
    }
  } else {
    // Gorilla XOR: '0' same value; '10' + meaningful bits in the previous
    // window; '11' + 6 bits leading zeros + 6 bits length-1 + the bits.
    w.put(0, 1);
    std::uint64_t prev = std::bit_cast<std::uint64_t>(v[0]);
    w.put(prev, 64);
    unsigned lead = 65, trail = 0;
    for (std::size_t i = 1; i < n; ++i) {
      const std::uint64_t cur = std::bit_cast<std::uint64_t>(v[i]);
      const std::uint64_t x = cur ^ prev;
      prev = cur;
      if (x == 0) {
        w.put_bit(0);
        continue;
      }
      const unsigned l = std::min(31u, static_cast<unsigned>(std::countl_zero(x)));
      const unsigned tr = static_cast<unsigned>(std::countr_zero(x));
      if (lead <= 64 && l >= lead && tr >= trail) {
        w.put(0b10, 2);
        w.put(x >> trail, 64 - lead - trail);
      } else {
        lead = l, trail = tr;
        w.put(0b11, 2);
        w.put(lead, 5);
        w.put(64 - lead - trail - 1, 6);
        w.put(x >> trail, 64 - lead - trail);
      }
    }
  }
  c.bits = w.take();
  return c;
}

inline void decode(const chunk& c, std::vector<std::int64_t>& t, std::vector<double>& v) {
  static constexpr double pow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
  t.clear();
  v.clear();
  if (c.count == 0) return;
  bit_reader r(c.bits);
  std::int64_t cur = static_cast<std::int64_t>(r.get(64));
  t.push_back(cur);
  std::int64_t delta = 0;
  for (std::uint32_t i = 1; i < c.count; ++i) {
    delta += get_varbits(r);
    cur += delta;
    t.push_back(cur);
  }
  if (r.bit()) {
    const int k = static_cast<int>(r.get(3));
    std::int64_t x = unzigzag(r.get(64));
    v.push_back(static_cast<double>(x) / pow10[k]);
    std::int64_t d = 0;
    for (std::uint32_t i = 1; i < c.count; ++i) {
      d += get_varbits(r);
      x += d;
      v.push_back(static_cast<double>(x) / pow10[k]);
    }
  } else {
    std::uint64_t prev = r.get(64);
    v.push_back(std::bit_cast<double>(prev));
    unsigned lead = 0, trail = 0;
    for (std::uint32_t i = 1; i < c.count; ++i) {
      if (r.bit()) {
        if (r.bit()) {
          lead = static_cast<unsigned>(r.get(5));
          const unsigned len = static_cast<unsigned>(r.get(6)) + 1;
          trail = 64 - lead - len;
        }
        prev ^= r.get(64 - lead - trail) << trail;
      }
      v.push_back(std::bit_cast<double>(prev));
    }
  }
}

}  // namespace vitals::stores::detail
