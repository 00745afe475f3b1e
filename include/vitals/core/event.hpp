// Telemetry events (the 001 seed's): what the hub carries and the event
// store keeps, in streams with per-stream versions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "vitals/core/time.hpp"

namespace vitals {

struct event {
  std::string type;  // "tool.started", "tokens.updated", ...
  timestamp t;
  std::string session;
  std::string plan;
  std::string task;
  std::string data;  // JSON text, kept as given

  friend bool operator==(const event&, const event&) = default;
};

/// An event as stored: its stream and its version in that stream (1, 2, ...).
struct stored_event {
  std::string stream;
  std::int64_t version = 0;
  vitals::event event;

  friend bool operator==(const stored_event&, const stored_event&) = default;
};

/// A bounded read of one stream, for event stores that offer `query`.
/// Without `newest`: the oldest `limit` events with a version above `after`
/// (paging forward: the next page is after the last version seen). With
/// `newest`: the newest `limit` of them (a "recent events" view). Either
/// way the answer is in version order, and only events of `type` (when not
/// empty) at or after `since` count.
struct event_query {
  std::string stream;
  std::string type{};
  timestamp since{};
  std::int64_t after = 0;
  std::size_t limit = 100;
  bool newest = false;
};

}  // namespace vitals
