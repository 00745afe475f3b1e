// An event store in memory: streams of events with versions from 1, for
// tests and for processes that need replay only while they run.
#pragma once

#include <map>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "vitals/core/concepts.hpp"

namespace vitals::stores {

class event_memory_store {
 public:
  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    std::lock_guard lock(mu_);
    auto& s = streams_[stream];
    for (const auto& e : events) s.push_back({stream, static_cast<std::int64_t>(s.size()) + 1, e});
    return static_cast<std::int64_t>(s.size());
  }

  result<std::vector<stored_event>> read(const std::string& stream,
                                         std::int64_t from_version) const {
    std::lock_guard lock(mu_);
    std::vector<stored_event> out;
    if (auto it = streams_.find(stream); it != streams_.end()) {
      const auto first = static_cast<std::size_t>(std::max<std::int64_t>(from_version, 1) - 1);
      for (std::size_t i = first; i < it->second.size(); ++i) out.push_back(it->second[i]);
    }
    return out;
  }

  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) const {
    std::lock_guard lock(mu_);
    std::vector<stored_event> out;
    if (auto it = streams_.find(stream); it != streams_.end())
      for (const auto& e : it->second)
        if (e.event.type == type) out.push_back(e);
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<stored_event>> streams_;
};

static_assert(event_store<event_memory_store>);

}  // namespace vitals::stores
