// The one subscriber list of vitals (the store's watchers, the event hub's
// subscribers) and the handle a subscriber holds. The list is copy-on-write:
// a publisher takes a snapshot with one reference count and walks it with no
// lock held, while subscribing and unsubscribing (rare) copy the list. The
// handle unsubscribes when destroyed; it holds the list weakly, so it may
// outlive its publisher.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace vitals::detail {

template <class T>
class subscriber_list {
 public:
  using list = std::vector<std::shared_ptr<T>>;

  /// The subscribers as of now; later changes do not touch it.
  std::shared_ptr<const list> snapshot() const {
    std::lock_guard lock(mu_);
    return subs_;
  }

  void add(std::shared_ptr<T> s) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<list>(*subs_);
    next->push_back(std::move(s));
    subs_ = std::move(next);
    size_.store(subs_->size(), std::memory_order_relaxed);
  }

  /// Returns whether `s` was in the list.
  bool remove(const T* s) {
    std::lock_guard lock(mu_);
    auto next = std::make_shared<list>(*subs_);
    if (std::erase_if(*next, [s](const auto& p) { return p.get() == s; }) == 0) return false;
    subs_ = std::move(next);
    size_.store(subs_->size(), std::memory_order_relaxed);
    return true;
  }

  /// The cheapest question a publisher asks first: one relaxed load, no lock.
  std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const list> subs_ = std::make_shared<const list>();
  std::atomic<std::size_t> size_{0};
};

/// A subscriber's end: move-only, owns its queue `T` (which has `close()`),
/// and unsubscribes when destroyed or reset. After reset() the publisher no
/// longer lists it and the queue is closed (T::close's own contract says
/// what that guarantees, e.g. that no callback runs any more).
template <class T>
class subscriber_handle {
 public:
  subscriber_handle() = default;
  subscriber_handle(std::shared_ptr<T> q, std::weak_ptr<subscriber_list<T>> list)
      : q_(std::move(q)), list_(std::move(list)) {}
  subscriber_handle(subscriber_handle&&) noexcept = default;
  subscriber_handle& operator=(subscriber_handle&& o) noexcept {
    if (this != &o) {
      reset();
      q_ = std::move(o.q_);
      list_ = std::move(o.list_);
    }
    return *this;
  }
  subscriber_handle(const subscriber_handle&) = delete;
  subscriber_handle& operator=(const subscriber_handle&) = delete;
  ~subscriber_handle() { reset(); }

  explicit operator bool() const noexcept { return q_ != nullptr; }

  void reset() {
    if (!q_) return;
    if (auto l = list_.lock()) l->remove(q_.get());
    q_->close();
    q_.reset();
    list_.reset();
  }

 protected:
  T* queue() const noexcept { return q_.get(); }

 private:
  std::shared_ptr<T> q_;
  std::weak_ptr<subscriber_list<T>> list_;
};

}  // namespace vitals::detail
