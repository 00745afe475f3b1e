// A sink made of other sinks, fixed at compile time: every batch goes to
// each; one failing does not stop the others, and failures are counted per
// sink. The first error is returned so the caller can count the batch.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <span>
#include <tuple>

#include "vitals/core/concepts.hpp"

namespace vitals::sinks {

template <sink... Sinks>
class fanout {
 public:
  explicit fanout(Sinks&... s) : sinks_(s...) {}

  status write(std::span<const sample> batch) {
    return each([&](auto& s) { return s.write(batch); });
  }
  status flush() {
    return each([](auto& s) { return s.flush(); });
  }

  /// Failed writes and flushes of the i-th sink.
  std::uint64_t failures(std::size_t i) const {
    return failures_[i].load(std::memory_order_relaxed);
  }
  static constexpr std::size_t size() noexcept { return sizeof...(Sinks); }

 private:
  template <class F>
  status each(F&& f) {
    std::optional<error> first;
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (
          [&] {
            status s = f(std::get<I>(sinks_));
            if (!s) {
              failures_[I].fetch_add(1, std::memory_order_relaxed);
              if (!first) first = s.error();
            }
          }(),
          ...);
    }
    (std::index_sequence_for<Sinks...>{});
    if (first) return *first;
    return {};
  }

  std::tuple<Sinks&...> sinks_;
  std::array<std::atomic<std::uint64_t>, sizeof...(Sinks)> failures_{};
};

}  // namespace vitals::sinks
