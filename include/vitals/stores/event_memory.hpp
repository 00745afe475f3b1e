// An event store in memory: streams of events with versions from 1, for
// tests and for processes that need replay only while they run. Bounded:
// past `max_events` per stream the oldest are evicted (counted in
// evicted()); versions never restart, whatever is evicted or pruned.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "vitals/core/concepts.hpp"

namespace vitals::stores {

class event_memory_store {
 public:
  explicit event_memory_store(std::size_t max_events = 100'000)
      : max_events_(std::max<std::size_t>(max_events, 1)) {}

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    std::lock_guard lock(mu_);
    auto& s = streams_[stream];
    for (const auto& e : events) {
      s.events.push_back({stream, ++s.last, e});
      if (s.events.size() > max_events_) {
        s.events.pop_front();
        ++evicted_;
      }
    }
    return s.last;
  }

  result<std::vector<stored_event>> read(const std::string& stream,
                                         std::int64_t from_version) const {
    std::lock_guard lock(mu_);
    std::vector<stored_event> out;
    if (auto it = streams_.find(stream); it != streams_.end())
      for (const auto& e : it->second.events)
        if (e.version >= from_version) out.push_back(e);
    return out;
  }

  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) const {
    std::lock_guard lock(mu_);
    std::vector<stored_event> out;
    if (auto it = streams_.find(stream); it != streams_.end())
      for (const auto& e : it->second.events)
        if (e.event.type == type) out.push_back(e);
    return out;
  }

  /// See event_query.
  result<std::vector<stored_event>> query(const event_query& q) const {
    std::lock_guard lock(mu_);
    std::vector<stored_event> out;
    auto it = streams_.find(q.stream);
    if (it == streams_.end() || q.limit == 0) return out;
    auto keep = [&](const stored_event& e) {
      return e.version > q.after && e.event.t >= q.since &&
             (q.type.empty() || e.event.type == q.type);
    };
    const auto& evs = it->second.events;
    if (q.newest) {
      for (auto e = evs.rbegin(); e != evs.rend() && out.size() < q.limit; ++e)
        if (keep(*e)) out.push_back(*e);
      std::reverse(out.begin(), out.end());
    } else {
      for (auto e = evs.begin(); e != evs.end() && out.size() < q.limit; ++e)
        if (keep(*e)) out.push_back(*e);
    }
    return out;
  }

  /// Deletes events older than `cutoff`; returns how many.
  result<std::int64_t> prune_before(timestamp cutoff) {
    std::lock_guard lock(mu_);
    std::int64_t n = 0;
    for (auto& [name, s] : streams_) {
      const auto before = s.events.size();
      std::erase_if(s.events, [&](const stored_event& e) { return e.event.t < cutoff; });
      n += static_cast<std::int64_t>(before - s.events.size());
    }
    return n;
  }

  /// Events evicted because a stream held max_events.
  std::uint64_t evicted() const {
    std::lock_guard lock(mu_);
    return evicted_;
  }

 private:
  struct stream_events {
    std::deque<stored_event> events;
    std::int64_t last = 0;  // the last version given, kept when events go
  };

  const std::size_t max_events_;
  mutable std::mutex mu_;
  std::map<std::string, stream_events> streams_;
  std::uint64_t evicted_ = 0;
};

static_assert(event_store<event_memory_store>);

}  // namespace vitals::stores
