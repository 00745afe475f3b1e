// Telemetry events (the 001 seed's): what the hub carries and the event
// store keeps, in streams with per-stream versions.
#pragma once

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

}  // namespace vitals
