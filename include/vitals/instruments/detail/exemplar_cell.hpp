// Where a counter or a histogram bucket keeps its exemplar: a fixed-size
// cell, written by whichever thread records a traced observation (the last
// one wins) and read at collection, with no lock and no allocation. A
// sequence lock over atomic words: a writer makes the sequence odd, writes,
// makes it even again; a reader retries while it sees an odd or changed
// sequence. Two writers at once: the second finds the sequence odd and drops
// its exemplar (a newer one is being written), counted in
// instrument_stats::dropped_exemplars.
//
// The cells of an instrument are allocated on its first exemplar, so an
// instrument that never records one costs one null pointer, and the
// increment without an exemplar is the same code as before.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/labels.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/core/time.hpp"
#include "vitals/instruments/detail/stats.hpp"

namespace vitals {

/// The labels of a traced observation, e.g. {{"trace_id", t}, {"span_id", s}}.
using exemplar_labels = std::initializer_list<std::pair<std::string_view, std::string_view>>;

namespace detail {

/// OpenMetrics: an exemplar's label names and values together are at most
/// 128 UTF-8 characters; counted here in bytes, which is stricter.
inline constexpr std::size_t max_exemplar_label_bytes = 128;

class exemplar_cell {
 public:
  /// Records `value` with `labels` at now. False (and nothing written) when
  /// the labels are invalid or too long, or another thread is writing.
  bool store(double value, exemplar_labels labels) noexcept {
    // name\0value\0 per label, packed.
    char text[text_bytes] = {};
    std::size_t used = 0;
    for (const auto& [n, v] : labels) {
      if (n.empty() || !valid_name(n) || !check_label_value(n, v) ||
          used + n.size() + v.size() + 2 > text_bytes ||
          n.size() + v.size() > max_exemplar_label_bytes)
        return false;
      std::memcpy(text + used, n.data(), n.size());
      used += n.size() + 1;
      std::memcpy(text + used, v.data(), v.size());
      used += v.size() + 1;
    }
    if (used - 2 * labels.size() > max_exemplar_label_bytes) return false;
    std::uint64_t seq = seq_.load(std::memory_order_relaxed);
    if ((seq & 1) || !seq_.compare_exchange_strong(seq, seq + 1, std::memory_order_acquire))
      return false;  // another writer is in: its exemplar is as new as ours
    std::atomic_thread_fence(std::memory_order_release);
    for (std::size_t i = 0; i < words; ++i) {
      std::uint64_t w;
      std::memcpy(&w, text + i * 8, 8);
      text_[i].store(w, std::memory_order_relaxed);
    }
    size_.store(used, std::memory_order_relaxed);
    value_.store(std::bit_cast<std::uint64_t>(value), std::memory_order_relaxed);
    time_.store(std::bit_cast<std::uint64_t>(to_unix_seconds(now())), std::memory_order_relaxed);
    seq_.store(seq + 2, std::memory_order_release);
    return true;
  }

  /// The exemplar, if one was recorded and a consistent copy could be read.
  std::optional<exemplar> load() const {
    for (int attempt = 0; attempt < 16; ++attempt) {
      const std::uint64_t before = seq_.load(std::memory_order_acquire);
      if (before == 0) return std::nullopt;  // never written
      if (before & 1) continue;
      char text[text_bytes];
      for (std::size_t i = 0; i < words; ++i) {
        const std::uint64_t w = text_[i].load(std::memory_order_relaxed);
        std::memcpy(text + i * 8, &w, 8);
      }
      const std::size_t used = size_.load(std::memory_order_relaxed);
      const double value = std::bit_cast<double>(value_.load(std::memory_order_relaxed));
      const double t = std::bit_cast<double>(time_.load(std::memory_order_relaxed));
      std::atomic_thread_fence(std::memory_order_acquire);
      if (seq_.load(std::memory_order_relaxed) != before) continue;
      exemplar e;
      e.value = value;
      e.t = t;
      std::vector<label> ls;
      for (std::size_t at = 0; at < used && used <= text_bytes;) {
        const std::string_view name(text + at);
        at += name.size() + 1;
        const std::string_view val(text + at);
        at += val.size() + 1;
        ls.push_back({std::string(name), std::string(val)});
      }
      auto labels = label_set::make(std::move(ls));  // a name given twice: no exemplar
      if (!labels) return std::nullopt;
      e.labels = std::move(*labels);
      return e;
    }
    return std::nullopt;  // written to all along: the next collection will show it
  }

 private:
  static constexpr std::size_t words = 20;
  static constexpr std::size_t text_bytes = words * 8;  // 128 characters and the separators

  static bool valid_name(std::string_view n) noexcept {
    for (std::size_t i = 0; i < n.size(); ++i) {
      const char c = n[i];
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                      (i > 0 && c >= '0' && c <= '9');
      if (!ok) return false;
    }
    return true;
  }

  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> size_{0};
  std::atomic<std::uint64_t> value_{0};
  std::atomic<std::uint64_t> time_{0};
  std::atomic<std::uint64_t> text_[words] = {};
};

/// The exemplar cells of one instrument (one for a counter, one per bucket
/// for a histogram), allocated on the first exemplar.
class exemplar_cells {
 public:
  exemplar_cells() = default;
  exemplar_cells(const exemplar_cells&) = delete;
  exemplar_cells& operator=(const exemplar_cells&) = delete;
  ~exemplar_cells() { delete[] cells_.load(std::memory_order_acquire); }

  void store(std::size_t i, std::size_t n, double value, exemplar_labels labels) noexcept {
    exemplar_cell* c = cells_.load(std::memory_order_acquire);
    if (!c) [[unlikely]]
      c = allocate(n);
    if (!c || !c[i].store(value, labels))
      instrument_stats::get().dropped_exemplars.fetch_add(1, std::memory_order_relaxed);
  }

  std::optional<exemplar> load(std::size_t i) const {
    const exemplar_cell* c = cells_.load(std::memory_order_acquire);
    return c ? c[i].load() : std::nullopt;
  }

 private:
  exemplar_cell* allocate(std::size_t n) noexcept {
    exemplar_cell* fresh = new (std::nothrow) exemplar_cell[n];
    if (!fresh) return nullptr;
    exemplar_cell* expected = nullptr;
    if (cells_.compare_exchange_strong(expected, fresh, std::memory_order_acq_rel)) return fresh;
    delete[] fresh;  // another thread installed its cells first
    return expected;
  }

  std::atomic<exemplar_cell*> cells_{nullptr};
};

}  // namespace detail
}  // namespace vitals
