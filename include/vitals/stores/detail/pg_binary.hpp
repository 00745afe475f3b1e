// PostgreSQL's binary send formats for the sample path: 8-byte arrays as
// array_recv reads them, timestamptz as microseconds since 2000, and a
// batch of (series id, time, value) rows as the three arrays one
// `INSERT ... SELECT * FROM unnest($1, $2, $3)` binds. Nothing here is text
// for the server to parse. pg_connection.hpp binds them (params::add_binary).
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "vitals/core/time.hpp"

namespace vitals::stores::pg {

// Type OIDs (pg_type.h) of the binary parameters.
inline constexpr Oid int8_oid = 20, float8_oid = 701, timestamptz_oid = 1184;
inline constexpr Oid int8_array_oid = 1016, float8_array_oid = 1022, timestamptz_array_oid = 1185;

/// A one-dimensional array of 8-byte elements without NULLs, in the binary
/// format of array_recv: no text for the server to parse.
class binary_array {
 public:
  binary_array(Oid element, std::size_t reserve) {
    out_.reserve(20 + reserve * 12);
    put32(1), put32(0), put32(static_cast<std::uint32_t>(element));  // ndim, no NULLs, type
    put32(0), put32(1);  // length (set by take), lower bound
  }
  void push(std::int64_t v) {
    put32(8);
    const auto u = static_cast<std::uint64_t>(v);
    put32(static_cast<std::uint32_t>(u >> 32)), put32(static_cast<std::uint32_t>(u));
  }
  void push(double v) { push(std::bit_cast<std::int64_t>(v)); }
  std::string take() && {
    const auto n = static_cast<std::uint32_t>((out_.size() - 20) / 12);
    for (int i = 0; i < 4; ++i) out_[12 + i] = static_cast<char>(n >> (24 - 8 * i));
    return std::move(out_);
  }

 private:
  void put32(std::uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out_.append(b, 4);
  }
  std::string out_;
};

/// A timestamptz in binary: microseconds since 2000-01-01 UTC. `ms` is
/// clamped to [min_unix_ms, max_unix_ms] first (callers refuse such times
/// earlier; this keeps the arithmetic from overflowing whatever comes).
inline std::int64_t timestamptz_from_unix_ms(std::int64_t ms) {
  ms = std::clamp(ms, min_unix_ms, max_unix_ms);
  return (ms - 946'684'800'000) * 1000;
}

/// One sample bound for the samples table: `order` is its place in the
/// batch, so that the last of several values of one point wins.
struct sample_row {
  std::int64_t id, t;
  double v;
  std::size_t order;
};

/// The `unnest($1, $2, $3)` arguments: int8[], timestamptz[], float8[].
struct sample_arrays {
  std::string ids, times, values;
};

/// Sorts `rows` by (id, t, order) and encodes one element per point: of a
/// (series, time) given several values in the batch, the last, as it would
/// be had they been sent one by one.
inline sample_arrays encode_sample_rows(std::vector<sample_row>& rows) {
  std::sort(rows.begin(), rows.end(), [](const sample_row& a, const sample_row& b) {
    return a.id != b.id ? a.id < b.id : a.t != b.t ? a.t < b.t : a.order < b.order;
  });
  binary_array sid(int8_oid, rows.size()), ts(timestamptz_oid, rows.size()),
      vs(float8_oid, rows.size());
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (i + 1 < rows.size() && rows[i + 1].id == rows[i].id && rows[i + 1].t == rows[i].t)
      continue;  // a later value of the same point follows
    sid.push(rows[i].id);
    ts.push(timestamptz_from_unix_ms(rows[i].t));
    vs.push(rows[i].v);
  }
  return {std::move(sid).take(), std::move(ts).take(), std::move(vs).take()};
}

}  // namespace vitals::stores::pg
