// A pipeline: one store and any number of sinks, composed at compile time.
// Each batch goes to the store first, then to every sink. A sink that fails
// is counted and skipped: it never stops the store or the other sinks.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <span>
#include <string>
#include <tuple>

#include "vitals/core/concepts.hpp"

namespace vitals {

template <store Store, sink... Sinks>
class pipeline {
 public:
  explicit pipeline(Store& st, Sinks&... sinks) : store_(st), sinks_(sinks...) {}

  /// The store's status: a refused store write is the caller's to handle
  /// (spool it); sink failures are only counted.
  status push(std::span<const sample> batch) {
    status st = store_.append(batch);
    if (!st) {
      store_failures_.fetch_add(1, std::memory_order_relaxed);
      std::lock_guard lock(error_mu_);
      last_store_error_ = st.error().message;
    }
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(sinks_).write(batch)
            ? void()
            : void(sink_failures_[I].fetch_add(1, std::memory_order_relaxed))),
       ...);
    }
    (std::index_sequence_for<Sinks...>{});
    batches_.fetch_add(1, std::memory_order_relaxed);
    return st;
  }

  /// Flushes every sink; failures counted like writes.
  void flush() {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      ((std::get<I>(sinks_).flush()
            ? void()
            : void(sink_failures_[I].fetch_add(1, std::memory_order_relaxed))),
       ...);
    }
    (std::index_sequence_for<Sinks...>{});
  }

  Store& store() noexcept { return store_; }
  template <std::size_t I>
  auto& sink() noexcept {
    return std::get<I>(sinks_);
  }

  std::uint64_t batches() const noexcept { return batches_.load(std::memory_order_relaxed); }
  std::uint64_t store_failures() const noexcept {
    return store_failures_.load(std::memory_order_relaxed);
  }
  /// The message of the latest refused store write (empty before any).
  std::string last_store_error() const {
    std::lock_guard lock(error_mu_);
    return last_store_error_;
  }
  std::uint64_t sink_failures(std::size_t i) const {
    return sink_failures_[i].load(std::memory_order_relaxed);
  }

 private:
  Store& store_;
  std::tuple<Sinks&...> sinks_;
  std::atomic<std::uint64_t> batches_{0}, store_failures_{0};
  std::array<std::atomic<std::uint64_t>, sizeof...(Sinks)> sink_failures_{};
  mutable std::mutex error_mu_;  // taken only when the store refuses
  std::string last_store_error_;
};

}  // namespace vitals
