// Fuzz target: durations and times from outside: vitals::parse_duration
// (`step=`, target intervals), http::parse_time (`from=`, `to=`) and
// parse_rfc3339 (event times, logs). What parses is in range: a duration is
// positive, an RFC 3339 time in years 0000 to 9999 prints and parses back
// to itself.
#pragma once

#include <string_view>

#include "common.hpp"
#include "vitals/core/time.hpp"
#include "vitals/http/params.hpp"

namespace vitals::fuzz {

inline void times(std::string_view data) {
  if (auto d = vitals::parse_duration(data))
    VITALS_FUZZ_CHECK(d->count() > 0, "a parsed duration is positive");

  const timestamp fixed = from_unix_ms(1'790'000'000'000);  // 2026, a deterministic now
  if (auto t = http::parse_time(data, fixed)) (void)to_unix_ms(*t);

  if (auto t = parse_rfc3339(data)) {
    const std::string printed = to_rfc3339(*t);
    if (printed.size() == 24 && printed.front() != '-') {  // an offset can leave 0000-9999
      const auto again = parse_rfc3339(printed);
      VITALS_FUZZ_CHECK(again && *again == *t, "a parsed time prints and parses back");
    }
  }
}

}  // namespace vitals::fuzz
