// Series identity: a metric name plus its sorted labels, with a 64-bit hash
// that is stable across runs and machines (FNV-1a over an unambiguous encoding).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "vitals/core/labels.hpp"

namespace vitals {

namespace detail {
constexpr std::uint64_t fnv_offset = 14695981039346656037ull;
constexpr std::uint64_t fnv_prime = 1099511628211ull;

constexpr std::uint64_t fnv1a(std::string_view s, std::uint64_t h = fnv_offset) noexcept {
  for (unsigned char c : s) h = (h ^ c) * fnv_prime;
  return h;
}
// 0xff never occurs in valid UTF-8, so it separates fields unambiguously.
constexpr std::uint64_t fnv1a_sep(std::uint64_t h) noexcept { return (h ^ 0xffu) * fnv_prime; }
}  // namespace detail

/// The stable hash of a series: equal name and labels give an equal hash on
/// every run, so it can be stored on disk.
inline std::uint64_t series_hash(std::string_view name, const label_set& labels) noexcept {
  std::uint64_t h = detail::fnv1a(name);
  for (const auto& l : labels) {
    h = detail::fnv1a_sep(h);
    h = detail::fnv1a(l.name, h);
    h = detail::fnv1a_sep(h);
    h = detail::fnv1a(l.value, h);
  }
  return h;
}

class series {
 public:
  series() = default;
  series(std::string name, label_set labels)
      : name_(std::move(name)), labels_(std::move(labels)), hash_(series_hash(name_, labels_)) {}

  const std::string& name() const noexcept { return name_; }
  const label_set& labels() const noexcept { return labels_; }
  std::uint64_t hash() const noexcept { return hash_; }

  friend bool operator==(const series& a, const series& b) noexcept {
    return a.hash_ == b.hash_ && a.name_ == b.name_ && a.labels_ == b.labels_;
  }
  friend auto operator<=>(const series& a, const series& b) noexcept {
    if (auto c = a.name_ <=> b.name_; c != 0) return c;
    return a.labels_ <=> b.labels_;
  }

 private:
  std::string name_;
  label_set labels_;
  std::uint64_t hash_ = detail::fnv_offset;
};

struct series_hasher {
  std::size_t operator()(const series& s) const noexcept { return s.hash(); }
};

/// Interns series: equal series get the same small id and the same stored
/// object, whose address stays valid for the table's lifetime. Thread-safe.
/// A table built with a bound holds at most that many series (a store may
/// see new series for months): try_intern says when it is full.
class series_table {
 public:
  using id = std::uint32_t;

  series_table() = default;
  explicit series_table(std::size_t max_size) : max_size_(std::min(max_size, max_ids)) {}

  /// Throws std::length_error when the table is full and `s` is new.
  id intern(const series& s) {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(s); it != index_.end()) return it->second;
    if (items_.size() >= max_size_) throw std::length_error("series_table: full");
    return add(s);
  }

  /// The stored series equal to `s`, added if new; nullptr when it is new and
  /// the table is full (the caller keeps its own copy instead).
  const series* try_intern(const series& s) {
    std::lock_guard lock(mu_);
    if (auto it = index_.find(s); it != index_.end()) return &it->first;
    if (items_.size() >= max_size_) return nullptr;
    return items_[add(s)];
  }

  const series& get(id i) const {
    std::lock_guard lock(mu_);
    return *items_.at(i);
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }
  std::size_t max_size() const noexcept { return max_size_; }

 private:
  static constexpr std::size_t max_ids = std::numeric_limits<id>::max();

  id add(const series& s) {
    auto it = index_.emplace(s, static_cast<id>(items_.size())).first;
    items_.push_back(&it->first);
    return it->second;
  }

  mutable std::mutex mu_;
  std::unordered_map<series, id, series_hasher> index_;  // node-based: keys never move
  std::deque<const series*> items_;
  std::size_t max_size_ = max_ids;
};

}  // namespace vitals
