// An event store chosen at run time (memory, SQLite or PostgreSQL): one
// type, so what records and reads events (agent/lifecycle.hpp, the events
// route) is compiled once instead of once per backend (see stores/any.hpp).
// One virtual call per store call: per batch of events, per query.
//
// `any_event_store` refers to a store it does not own; the store must be an
// `event_store` with `query` (runtime/event_feed.hpp's queryable_event_store)
// and `prune_before`, as every bundled one is.
#pragma once

#include <concepts>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vitals/core/concepts.hpp"

namespace vitals::stores {

class any_event_store {
 public:
  template <class S>
  requires(!std::same_as<S, any_event_store>) && event_store<S>&& requires(S& s,
                                                                           const event_query& q,
                                                                           timestamp t) {
    { s.query(q) } -> std::same_as<result<std::vector<stored_event>>>;
    { s.prune_before(t) } -> std::same_as<result<std::int64_t>>;
  }
  explicit any_event_store(S& s) : impl_(std::make_unique<model<S>>(s)) {}
  any_event_store(const any_event_store&) = delete;
  any_event_store& operator=(const any_event_store&) = delete;

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    return impl_->append(stream, events);
  }
  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from_version) {
    return impl_->read(stream, from_version);
  }
  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    return impl_->read_by_type(stream, type);
  }
  result<std::vector<stored_event>> query(const event_query& q) { return impl_->query(q); }
  result<std::int64_t> prune_before(timestamp cutoff) { return impl_->prune_before(cutoff); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual result<std::int64_t> append(const std::string&, std::span<const event>) = 0;
    virtual result<std::vector<stored_event>> read(const std::string&, std::int64_t) = 0;
    virtual result<std::vector<stored_event>> read_by_type(const std::string&,
                                                           const std::string&) = 0;
    virtual result<std::vector<stored_event>> query(const event_query&) = 0;
    virtual result<std::int64_t> prune_before(timestamp) = 0;
  };

  template <class S>
  struct model final : concept_t {
    explicit model(S& s) : s(s) {}
    S& s;

    result<std::int64_t> append(const std::string& stream, std::span<const event> events) override {
      return s.append(stream, events);
    }
    result<std::vector<stored_event>> read(const std::string& stream,
                                           std::int64_t from_version) override {
      return s.read(stream, from_version);
    }
    result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                   const std::string& type) override {
      return s.read_by_type(stream, type);
    }
    result<std::vector<stored_event>> query(const event_query& q) override { return s.query(q); }
    result<std::int64_t> prune_before(timestamp cutoff) override { return s.prune_before(cutoff); }
  };

  std::unique_ptr<concept_t> impl_;
};

static_assert(event_store<any_event_store>);

}  // namespace vitals::stores
