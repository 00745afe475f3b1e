// A subscription to the event hub (runtime/hub.hpp) and the hub's list of
// subscribers. Include runtime/hub.hpp to use them; it includes this one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "vitals/core/detail/subscriber_list.hpp"
#include "vitals/core/event.hpp"
#include "vitals/runtime/detail/hub_buffer.hpp"

namespace vitals {

namespace detail {
/// The subscriber list, copy-on-write (core/detail/subscriber_list.hpp): the
/// dispatcher takes a snapshot per batch with one reference count, and a
/// subscription may outlive the hub.
using hub_registry = subscriber_list<hub_buffer>;
}  // namespace detail

/// A hub subscription: move-only, unsubscribes when destroyed or reset. It may
/// outlive its hub (the buffer is then closed, and can still be drained).
/// reset(): once it returns the notify callback is not running and will not
/// run again. Must not be called from inside that callback.
class hub_subscription : public detail::subscriber_handle<detail::hub_buffer> {
 public:
  using subscriber_handle::subscriber_handle;

  /// Takes everything buffered, oldest first.
  std::vector<event> drain() {
    std::vector<event> out;
    drain_into(out);
    return out;
  }
  /// Appends everything buffered to `out` (reusing its capacity); returns how many.
  std::size_t drain_into(std::vector<event>& out) { return queue() ? queue()->drain_into(out) : 0; }
  std::optional<event> pop() { return queue() ? queue()->pop() : std::nullopt; }

  /// Blocks until an event is buffered, the hub goes away, or the timeout;
  /// true when an event is buffered.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return queue() && queue()->wait_for(timeout);
  }

  std::size_t pending() const { return queue() ? queue()->pending() : 0; }
  /// Events that reached this buffer / were refused because it was full.
  std::uint64_t delivered() const { return queue() ? queue()->delivered() : 0; }
  std::uint64_t dropped() const { return queue() ? queue()->dropped() : 0; }
};

}  // namespace vitals
