// Series identity: a metric name plus its sorted labels, with a 64-bit hash
// that is stable across runs and machines (FNV-1a over an unambiguous encoding).
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
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
class series_table {
 public:
  using id = std::uint32_t;

  id intern(const series& s) {
    std::lock_guard lock(mu_);
    auto [it, inserted] = index_.try_emplace(s, static_cast<id>(items_.size()));
    if (inserted) items_.push_back(&it->first);
    return it->second;
  }

  const series& get(id i) const {
    std::lock_guard lock(mu_);
    return *items_.at(i);
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::unordered_map<series, id, series_hasher> index_;  // node-based: keys never move
  std::deque<const series*> items_;
};

}  // namespace vitals
