// The latest point of every series of a store, asked in one pass where the
// store offers it (latest_all_store) and series by series otherwise. Apart
// from query.hpp, which includes it, so that /metrics (http/metrics_route.hpp)
// does not parse the selectors and their RE2.
#pragma once

#include <utility>
#include <vector>

#include "vitals/core/storage.hpp"

namespace vitals::stores {

/// The latest point of every series: in one pass where the store offers it.
template <store S>
std::vector<std::pair<series, point>> latest_points(S& s) {
  if constexpr (latest_all_store<S>) {
    return s.latest_all();
  } else {
    std::vector<std::pair<series, point>> out;
    for (auto& id : s.list_series())
      if (auto p = s.latest(id)) out.emplace_back(std::move(id), *p);
    return out;
  }
}

}  // namespace vitals::stores
