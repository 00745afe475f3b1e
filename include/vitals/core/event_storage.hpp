// The event store concept: streams of telemetry events (the 001 seed's) with
// per-stream versions, as the persister writes them.
#pragma once

#include <concepts>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/event.hpp"

namespace vitals {

// --- event_store -----------------------------------------------------------
// 1. `s.append(stream, events)` stores a span of events and returns
//    `result<std::int64_t>`, the version given to the last one. Versions in a
//    stream are assigned atomically, contiguous from 1: two writers can never
//    get the same version, and a reader can resume from the last it saw.
// 2. `s.read(stream, from_version)` returns `result<std::vector<stored_event>>`
//    with every event whose version >= from_version, in version order: replay.
// 3. `s.read_by_type(stream, type)` returns the same shape filtered by type:
//    the common "all tool calls of this session" question.
template <class S>
concept event_store = requires(S& s, std::span<const event> events, const std::string& stream,
                               std::int64_t version) {
  { s.append(stream, events) } -> std::same_as<result<std::int64_t>>;
  { s.read(stream, version) } -> std::same_as<result<std::vector<stored_event>>>;
  { s.read_by_type(stream, stream) } -> std::same_as<result<std::vector<stored_event>>>;
};

}  // namespace vitals
