// The sink concept: where a pipeline pushes every accepted batch besides its
// store (files, OTLP, remote write).
#pragma once

#include <concepts>
#include <span>

#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"

namespace vitals {

// --- sink ------------------------------------------------------------------
// 1. `s.write(batch)` pushes a span of samples elsewhere and returns a
//    `status`: a failing sink is counted by the pipeline, never thrown through
//    it, so one bad sink cannot stop the store or the other sinks.
// 2. `s.flush()` returns a `status`: sinks may buffer, and shutdown must be able
//    to ask for everything accepted so far to be written.
template <class S>
concept sink = requires(S& s, std::span<const sample> batch) {
  { s.write(batch) } -> std::same_as<status>;
  { s.flush() } -> std::same_as<status>;
};

}  // namespace vitals
