// A usage store chosen at run time (memory, SQLite or PostgreSQL): one type,
// so the ledger, the reports and the routes above it are compiled once
// instead of once per backend (see stores/any.hpp, which does the same for
// samples). One virtual call per store call: per batch of events, per report.
//
// `any_usage_store` refers to a store it does not own; the store must be a
// `usage_store` and a `limit_store`. Retention asks for `prune`, `checkpoint`
// and `wal_bytes` where a store has them (agent/maintenance.hpp): for a store
// without them, nothing is pruned, a checkpoint succeeds, and the WAL is empty.
// So a retention run over the memory store reports 0 usage rows pruned
// (`vitals_store_pruned_rows_total{store="usage"} 0`) where the store's own
// type reported nothing for usage.
#pragma once

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "vitals/agent/usage_store.hpp"

namespace vitals::agent {

class any_usage_store {
 public:
  template <class S>
  requires(!std::same_as<S, any_usage_store>) &&
      usage_store<S>&& limit_store<S> explicit any_usage_store(S& s)
      : impl_(std::make_unique<model<S>>(s)) {}
  any_usage_store(const any_usage_store&) = delete;
  any_usage_store& operator=(const any_usage_store&) = delete;

  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) {
    return impl_->find(keys);
  }
  status put(std::span<const usage_record> records) { return impl_->put(records); }
  result<std::vector<usage_row>> aggregate(const usage_query& q) { return impl_->aggregate(q); }
  result<std::size_t> count() { return impl_->count(); }
  result<std::size_t> put_limits(std::span<const limit_snapshot> l) { return impl_->put_limits(l); }
  result<std::vector<limit_snapshot>> latest_limits(const std::string& account,
                                                    const std::string& window) {
    return impl_->latest_limits(account, window);
  }
  result<prune_result> prune(const usage_retention& r, timestamp now = vitals::now()) {
    return impl_->prune(r, now);
  }
  status checkpoint() { return impl_->checkpoint(); }
  std::uintmax_t wal_bytes() const { return impl_->wal_bytes(); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual result<std::vector<std::optional<usage_event>>> find(std::span<const std::string>) = 0;
    virtual status put(std::span<const usage_record>) = 0;
    virtual result<std::vector<usage_row>> aggregate(const usage_query&) = 0;
    virtual result<std::size_t> count() = 0;
    virtual result<std::size_t> put_limits(std::span<const limit_snapshot>) = 0;
    virtual result<std::vector<limit_snapshot>> latest_limits(const std::string&,
                                                              const std::string&) = 0;
    virtual result<prune_result> prune(const usage_retention&, timestamp) = 0;
    virtual status checkpoint() = 0;
    virtual std::uintmax_t wal_bytes() const = 0;
  };

  template <class S>
  struct model final : concept_t {
    explicit model(S& s) : s(s) {}
    S& s;

    result<std::vector<std::optional<usage_event>>> find(
        std::span<const std::string> keys) override {
      return s.find(keys);
    }
    status put(std::span<const usage_record> records) override { return s.put(records); }
    result<std::vector<usage_row>> aggregate(const usage_query& q) override {
      return s.aggregate(q);
    }
    result<std::size_t> count() override { return s.count(); }
    result<std::size_t> put_limits(std::span<const limit_snapshot> l) override {
      return s.put_limits(l);
    }
    result<std::vector<limit_snapshot>> latest_limits(const std::string& account,
                                                      const std::string& window) override {
      return s.latest_limits(account, window);
    }
    result<prune_result> prune(const usage_retention& r, timestamp now) override {
      if constexpr (requires { s.prune(r, now); })
        return s.prune(r, now);
      else
        return prune_result{};
    }
    status checkpoint() override {
      if constexpr (requires { s.checkpoint(); })
        return s.checkpoint();
      else
        return {};
    }
    std::uintmax_t wal_bytes() const override {
      if constexpr (requires { std::as_const(s).wal_bytes(); })
        return std::as_const(s).wal_bytes();
      else
        return 0;
    }
  };

  std::unique_ptr<concept_t> impl_;
};

static_assert(usage_store<any_usage_store> && limit_store<any_usage_store>);

}  // namespace vitals::agent
