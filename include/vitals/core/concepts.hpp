// The extension points of vitals, as concepts. Each requirement is
// numbered and carries its reason, so a compile error points at a sentence.
// A backend proves itself with `static_assert(vitals::store<my_store>)`.
#pragma once

#include <concepts>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/event.hpp"
#include "vitals/core/sample.hpp"

namespace vitals {

/// A point of a series in a store: time and value, the series being implied.
struct point {
  timestamp t;
  double value = 0;
  friend bool operator==(const point&, const point&) = default;
};

// --- sampler ---------------------------------------------------------------
// 1. `s.collect(out, now)` appends the current values to `out` and returns a
//    `vitals::status`. Appending (not returning a vector) lets the poller reuse
//    one buffer for every tick: no allocation per sample in steady state.
//    Failure is a value because a vanished process or an unreachable exporter
//    is expected, not exceptional.
// 2. `now` is passed in, not read inside, so that every sample of one tick
//    carries the same timestamp and tests control time.
// 3. `s.name()` gives a string_view naming the target, used in error metrics
//    (`vitals_poller_errors_total{target}`) and logs.
template <class S>
concept sampler = requires(S& s, sample_batch& out, timestamp now) {
  { s.collect(out, now) } -> std::same_as<status>;
  { s.name() } -> std::convertible_to<std::string_view>;
};

// --- store -----------------------------------------------------------------
// 1. `s.append(batch)` takes a span of samples and returns a `status`: batches
//    amortise locks and transactions; a refused write is a value so the caller
//    can spool it instead of losing it.
// 2. `s.latest(series)` returns `std::optional<point>`: "nothing yet" is a
//    normal answer for a series that was never written.
// 3. `s.range(series, from, to)` returns the raw points in [from, to] in time
//    order as `std::vector<point>`: downsampling is done the same way for every
//    store on top of this (stores may also offer a faster pushed-down path).
// 4. `s.list_series()` returns `std::vector<series>`: the HTTP API and the
//    selector matching need to enumerate what exists.
template <class S>
concept store = requires(S& s, std::span<const sample> batch, const series& id, timestamp t) {
  { s.append(batch) } -> std::same_as<status>;
  { s.latest(id) } -> std::same_as<std::optional<point>>;
  { s.range(id, t, t) } -> std::same_as<std::vector<point>>;
  { s.list_series() } -> std::same_as<std::vector<series>>;
};

// --- latest_all_store (optional) -------------------------------------------
// 1. `s.latest_all()` returns the latest point of every series as
//    `std::vector<std::pair<series, point>>`, in one pass: /metrics and
//    /api/v1/latest ask for all of them on every request, and one query (or
//    one walk of an index) beats a lookup per series. Stores without it are
//    asked series by series (`stores::latest_points`).
template <class S>
concept latest_all_store = store<S> && requires(S& s) {
  { s.latest_all() } -> std::same_as<std::vector<std::pair<series, point>>>;
};

// --- versioned_store (optional) --------------------------------------------
// 1. `s.version()` returns a `std::uint64_t` that grows whenever what
//    `latest_all()` returns may have changed (an append, a drop, a prune), and
//    only then. Samples arrive once per interval while /metrics may be scraped
//    far more often: the route renders the store's families once per version
//    and serves that text until the version moves.
template <class S>
concept versioned_store = latest_all_store<S> && requires(S& s) {
  { s.version() } -> std::same_as<std::uint64_t>;
};

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
