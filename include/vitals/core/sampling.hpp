// The sampling concepts: what the poller drives (`sampler`, `async_sampler`,
// either of them: `any_sampler_kind`) and what a registry sampler reads
// (`snapshot_source`). Std only: an async sampler is checked by the shape of
// what it returns, and the poller (runtime/, which knows Asio) pins the type.
#pragma once

#include <concepts>
#include <string_view>

#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/core/snapshot.hpp"

namespace vitals {

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

// --- async_sampler ---------------------------------------------------------
// A sampler that does I/O (a scrape): the poller awaits it instead of calling
// it, so a slow target never blocks the others.
// 1. `s.async_collect(out, now)` returns an awaitable whose result
//    (`await_resume()`) is a `status`, appending to `out` as `collect` does
//    (sampler 1 and 2, for the same reasons). The bundled poller awaits
//    `asio::awaitable<status>` and says so in its own static_assert; core
//    names no Asio type, so here the shape is checked.
// 2. `s.name()` as sampler 3.
template <class S>
concept async_sampler = requires(S& s, sample_batch& out, timestamp now) {
  { s.async_collect(out, now).await_resume() } -> std::same_as<status>;
  { s.name() } -> std::convertible_to<std::string_view>;
};

// --- any_sampler_kind ------------------------------------------------------
// 1. Either a `sampler` or an `async_sampler`: what a poller may track. A type
//    that is both is awaited (its I/O path is the one that can time out).
template <class S>
concept any_sampler_kind = sampler<S> || async_sampler<S>;

// --- snapshot_source -------------------------------------------------------
// What `samplers::registry_sampler` and `/metrics` read: a vitals::registry,
// or a bridge from another instrument library.
// 1. `c.collect()`, callable on a const object, returns a `metric_snapshot`:
//    a deep copy, so the caller formats it while the instruments keep being
//    updated, and collecting never changes what is collected.
template <class C>
concept snapshot_source = requires(const C& c) {
  { c.collect() } -> std::same_as<metric_snapshot>;
};

}  // namespace vitals
