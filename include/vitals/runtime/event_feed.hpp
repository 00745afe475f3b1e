// An event store seen by readers who want to hear of new events: `event_feed`
// wraps any event store that offers `query` (event_query), forwards appends
// to it and, after each one that succeeds, wakes every watcher. It is an
// event store itself, so a persister writes through it; the readers (the
// HTTP event log and its SSE stream) hold it through `event_log`, which
// hides the store's type. A watcher is woken, never handed events: it reads
// the store from the last version it saw, so nothing is lost between a wake
// and the read, and a slow watcher costs the writer one call.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/event.hpp"

namespace vitals {

/// An event store that answers an event_query with at most `limit` events.
template <class S>
concept queryable_event_store = event_store<S> && requires(S& s, const event_query& q) {
  { s.query(q) } -> std::same_as<result<std::vector<stored_event>>>;
};

/// The readers' side: bounded queries and wake-ups after appends.
class event_log {
 public:
  using query_fn = std::function<result<std::vector<stored_event>>(const event_query&)>;

  explicit event_log(query_fn q) : query_(std::move(q)) {}
  event_log(const event_log&) = delete;
  event_log& operator=(const event_log&) = delete;

  result<std::vector<stored_event>> query(const event_query& q) const { return query_(q); }

  /// A watch: `wake` runs on the appending thread after each append, with no
  /// lock of the store held; it must be quick (post or signal, nothing more).
  /// The watch ends when the handle goes.
  class watch {
   public:
    watch() = default;
    watch(event_log* log, std::uint64_t id) : log_(log), id_(id) {}
    watch(watch&& o) noexcept : log_(std::exchange(o.log_, nullptr)), id_(o.id_) {}
    watch& operator=(watch&& o) noexcept {
      if (this != &o) {
        reset();
        log_ = std::exchange(o.log_, nullptr);
        id_ = o.id_;
      }
      return *this;
    }
    ~watch() { reset(); }
    /// Once this returns, the wake callback is not running and never runs again.
    void reset() {
      if (log_) log_->unwatch(id_);
      log_ = nullptr;
    }

   private:
    event_log* log_ = nullptr;
    std::uint64_t id_ = 0;
  };

  watch on_append(std::function<void()> wake) {
    std::lock_guard lock(mu_);
    watchers_.emplace(++next_id_, std::move(wake));
    return watch(this, next_id_);
  }

  /// Wakes every watcher; the writer calls it after a successful append.
  void appended() {
    std::lock_guard lock(mu_);  // held while waking: unwatch waits for a running wake
    for (auto& [id, wake] : watchers_) wake();
  }

  std::size_t watchers() const {
    std::lock_guard lock(mu_);
    return watchers_.size();
  }

 private:
  void unwatch(std::uint64_t id) {
    std::lock_guard lock(mu_);
    watchers_.erase(id);
  }

  query_fn query_;
  mutable std::mutex mu_;
  std::map<std::uint64_t, std::function<void()>> watchers_;
  std::uint64_t next_id_ = 0;
};

/// The writers' side: an event store over `Store` that tells `log()`'s
/// watchers of every append. `store` outlives it.
template <queryable_event_store Store>
class event_feed {
 public:
  explicit event_feed(Store& store)
      : store_(store), log_([&store](const event_query& q) { return store.query(q); }) {}

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    auto r = store_.append(stream, events);
    if (r) log_.appended();
    return r;
  }
  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from) {
    return store_.read(stream, from);
  }
  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    return store_.read_by_type(stream, type);
  }
  result<std::vector<stored_event>> query(const event_query& q) { return store_.query(q); }

  Store& store() noexcept { return store_; }
  event_log& log() noexcept { return log_; }

 private:
  Store& store_;
  event_log log_;
};

}  // namespace vitals
