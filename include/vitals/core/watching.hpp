// The watch concept: a store whose new samples can be followed as they
// arrive (the SSE route, a tiered store's hot tier). One spelling for every
// user. Std only: the selector type is the store layer's (stores::selector
// runs RE2, which core may not include), so it is a parameter, bound where
// the concept is used: `watchable<S, stores::selector>`.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "vitals/core/sample.hpp"

namespace vitals {

// --- watch_subscription ----------------------------------------------------
// What `watch` returns: the subscriber's end of a bounded queue. Destroying
// it unsubscribes (the store never calls into a subscriber that is gone).
// 1. `w.drain()` returns a `std::vector` of samples: everything queued since
//    the last drain, in arrival order, taken at once so the subscriber
//    formats it without holding the writer. An element is a `sample` or a
//    view of one (`watched_sample`: `series` refers to a copy interned once
//    by the store, so queueing copies no label strings): `s.series` gives a
//    `const series&`, `s.t` a `timestamp`, `s.value` a `double`.
// 2. `w.dropped()` returns a count convertible to `std::uint64_t`, growing
//    by every sample this subscriber lost to its bound: a slow consumer
//    loses its own oldest samples instead of slowing the writer, and the loss
//    is counted (and told to the client), never silent.
template <class S>
concept sample_like = requires(const S& s) {
  { s.series } -> std::convertible_to<const series&>;
  { s.t } -> std::convertible_to<timestamp>;
  { s.value } -> std::convertible_to<double>;
};

template <class V>
concept sample_vector =
    std::same_as<V, std::vector<typename V::value_type>> && sample_like<typename V::value_type>;

template <class W>
concept watch_subscription = requires(W& w) {
  { w.drain() } -> sample_vector;
  { w.dropped() } -> std::convertible_to<std::uint64_t>;
};

// --- watchable -------------------------------------------------------------
// 1. `s.watch(sel, notify, capacity)` subscribes to the samples of the series
//    `sel` matches and returns a `watch_subscription` (1 and 2 above) whose
//    queue holds at most `capacity` samples: every subscriber bounds its own
//    memory, whatever the writer's rate.
// 2. `notify` (`std::function<void()>`) is called from the writer's thread
//    after samples were queued: it must only wake the subscriber (post,
//    try_send), never drain or block, since it runs inside an append.
// 3. `Selector` is taken by value: the subscription keeps it for as long as
//    it lives, and no caller's selector has to outlive the subscription.
template <class S, class Selector>
concept watchable = requires(S& s, Selector sel, std::function<void()> notify,
                             std::size_t capacity) {
  { s.watch(std::move(sel), std::move(notify), capacity) } -> watch_subscription;
};

}  // namespace vitals
