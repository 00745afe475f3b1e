// Fuzz target: the exposition parser (format/parse.hpp), Prometheus text
// 0.0.4 and OpenMetrics 1.0, over the same bytes. Beyond not crashing, what
// a clean parse keeps must survive the writers: printing the parsed families
// and parsing that again gives no error and as many families.
#pragma once

#include <string>
#include <string_view>

#include "common.hpp"
#include "vitals/format/openmetrics.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/format/text.hpp"

namespace vitals::fuzz {

inline void exposition_round_trip(const format::parse_result& first, bool om) {
  const std::string again =
      om ? format::to_openmetrics(first.families) : format::to_text(first.families);
  const auto second = om ? format::parse_openmetrics(again) : format::parse_text(again);
  if (!second.ok()) {
    std::fprintf(stderr, "written again:\n%s\nline %zu: %s\n", again.c_str(),
                 second.errors.front().line, second.errors.front().message.c_str());
  }
  VITALS_FUZZ_CHECK(second.ok(), "the parsed families, written, parse without errors");
  VITALS_FUZZ_CHECK(second.families.size() == first.families.size(),
                    "the parsed families, written and parsed again, are as many");
}

inline void exposition(std::string_view data) {
  for (const bool om : {false, true}) {
    const auto r = om ? format::parse_openmetrics(data) : format::parse_text(data);
    for (const auto& e : r.errors) VITALS_FUZZ_CHECK(e.line >= 1, "error lines are 1-based");
    if (r.ok()) exposition_round_trip(r, om);  // a lenient parse of bad input need not
  }
  // The Content-Type switch, with the type taken from the first line.
  const auto nl = data.find('\n');
  if (nl != std::string_view::npos) (void)format::parse(data.substr(nl + 1), data.substr(0, nl));
}

}  // namespace vitals::fuzz
