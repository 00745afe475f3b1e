// Fuzz target: the series selector (stores/selector.hpp) as the API takes it
// in `sel=`. A selector that parses matches a few series without failing and
// is not one that matches everything.
#pragma once

#include <string_view>

#include "common.hpp"
#include "vitals/stores/selector.hpp"

namespace vitals::fuzz {

inline void selector(std::string_view data) {
  auto s = stores::selector::parse(data);
  if (!s) {
    VITALS_FUZZ_CHECK(!s.error().message.empty(), "a refused selector says why");
    return;
  }
  VITALS_FUZZ_CHECK(!s->matchers().empty(), "a selector has a matcher");
  const series everyday[] = {
      series("up", {}),
      series("process_cpu_seconds_total", {{"target", "self"}, {"job", "vitals"}}),
      series("vitals_agent_tokens", {{"agent", "a"}, {"model", "m"}, {"type", "input"}}),
  };
  for (const auto& id : everyday) (void)s->matches(id);
  // A series named by the selector's own pinned name, labelled by its values.
  std::vector<label> labels;
  for (const auto& m : s->matchers())
    if (m.label() != "__name__" && is_valid_label_name(m.label()))
      labels.push_back({m.label(), m.value()});
  if (auto set = label_set::make(std::move(labels)); set && !s->exact_name().empty())
    (void)s->matches(series(std::string(s->exact_name()), std::move(*set)));
  VITALS_FUZZ_CHECK(!s->matches(series()), "a parsed selector never matches everything");
}

}  // namespace vitals::fuzz
