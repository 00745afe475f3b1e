// A subscription to the event hub (runtime/hub.hpp) and the hub's list of
// subscribers. Include runtime/hub.hpp to use them; it includes this one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "vitals/core/event.hpp"
#include "vitals/runtime/detail/hub_buffer.hpp"

namespace vitals {

namespace detail {

/// The subscriber list, copy-on-write: the dispatcher takes a snapshot per
/// batch with one reference count, and a subscription may outlive the hub.
struct hub_registry {
  using list = std::vector<std::shared_ptr<hub_buffer>>;
  std::mutex mu;
  std::shared_ptr<const list> subs = std::make_shared<const list>();

  std::shared_ptr<const list> snapshot() {
    std::lock_guard lock(mu);
    return subs;
  }
  void add(std::shared_ptr<hub_buffer> b) {
    std::lock_guard lock(mu);
    auto next = std::make_shared<list>(*subs);
    next->push_back(std::move(b));
    subs = std::move(next);
  }
  void remove(const hub_buffer* b) {
    std::lock_guard lock(mu);
    auto next = std::make_shared<list>(*subs);
    std::erase_if(*next, [b](const auto& s) { return s.get() == b; });
    subs = std::move(next);
  }
};

}  // namespace detail

/// A hub subscription: move-only, unsubscribes when destroyed or reset. It may
/// outlive its hub (the buffer is then closed, and can still be drained).
class hub_subscription {
 public:
  hub_subscription() = default;
  hub_subscription(std::shared_ptr<detail::hub_buffer> b, std::weak_ptr<detail::hub_registry> r)
      : buf_(std::move(b)), registry_(std::move(r)) {}
  hub_subscription(hub_subscription&&) noexcept = default;
  hub_subscription& operator=(hub_subscription&& o) noexcept {
    if (this != &o) {
      reset();
      buf_ = std::move(o.buf_);
      registry_ = std::move(o.registry_);
    }
    return *this;
  }
  hub_subscription(const hub_subscription&) = delete;
  hub_subscription& operator=(const hub_subscription&) = delete;
  ~hub_subscription() { reset(); }

  /// Takes everything buffered, oldest first.
  std::vector<event> drain() {
    std::vector<event> out;
    drain_into(out);
    return out;
  }
  /// Appends everything buffered to `out` (reusing its capacity); returns how many.
  std::size_t drain_into(std::vector<event>& out) { return buf_ ? buf_->drain_into(out) : 0; }
  std::optional<event> pop() { return buf_ ? buf_->pop() : std::nullopt; }

  /// Blocks until an event is buffered, the hub goes away, or the timeout;
  /// true when an event is buffered.
  template <class Rep, class Period>
  bool wait_for(std::chrono::duration<Rep, Period> timeout) {
    return buf_ && buf_->wait_for(timeout);
  }

  std::size_t pending() const { return buf_ ? buf_->pending() : 0; }
  /// Events that reached this buffer / were refused because it was full.
  std::uint64_t delivered() const { return buf_ ? buf_->delivered() : 0; }
  std::uint64_t dropped() const { return buf_ ? buf_->dropped() : 0; }
  explicit operator bool() const noexcept { return buf_ != nullptr; }

  /// Unsubscribes. Once this returns the notify callback is not running and
  /// will not run again. Must not be called from inside that callback.
  void reset() {
    if (!buf_) return;
    if (auto r = registry_.lock()) r->remove(buf_.get());
    buf_->close();
    buf_.reset();
    registry_.reset();
  }

 private:
  std::shared_ptr<detail::hub_buffer> buf_;
  std::weak_ptr<detail::hub_registry> registry_;
};

}  // namespace vitals
