// One series' samples in time order, at most `capacity` of them. Raw mode is
// a circular buffer grown on demand; compressed mode seals every
// `chunk_samples` samples into a Gorilla chunk and evicts whole chunks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/gorilla.hpp"

namespace vitals::stores::detail {

enum class push_result { appended, replaced, out_of_order };

inline constexpr std::size_t chunk_samples = 120;

class ring {
 public:
  ring(std::size_t capacity, bool compress) : cap_(std::max<std::size_t>(capacity, 1)), compress_(compress) {}

  std::size_t size() const noexcept { return sealed_count_ + n_; }
  bool empty() const noexcept { return size() == 0; }

  std::pair<std::int64_t, double> back() const {
    const std::size_t i = idx(n_ - 1);
    return {t_[i], v_[i]};
  }

  push_result push(std::int64_t t, double v) {
    if (n_ > 0) {
      const std::size_t last = idx(n_ - 1);
      if (t == t_[last]) {
        v_[last] = v;
        return push_result::replaced;
      }
      if (t < t_[last]) return push_result::out_of_order;
    } else if (!chunks_.empty() && t <= chunks_.back().last_t) {
      return push_result::out_of_order;
    }
    return compress_ ? push_compressed(t, v) : push_raw(t, v);
  }

  /// Appends the points with from <= t <= to.
  void read(std::int64_t from, std::int64_t to, std::vector<point>& out) const {
    if (from > to) return;
    std::vector<std::int64_t> ct;
    std::vector<double> cv;
    for (const auto& c : chunks_) {
      if (c.last_t < from || c.first_t > to) continue;
      decode(c, ct, cv);
      for (std::size_t i = 0; i < ct.size(); ++i)
        if (ct[i] >= from && ct[i] <= to) out.push_back({from_unix_ms(ct[i]), cv[i]});
    }
    // Binary search over the logical (oldest-first) order of the open buffer.
    std::size_t lo = 0, hi = n_;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (t_[idx(mid)] < from) lo = mid + 1;
      else hi = mid;
    }
    for (std::size_t i = lo; i < n_; ++i) {
      const std::size_t j = idx(i);
      if (t_[j] > to) break;
      out.push_back({from_unix_ms(t_[j]), v_[j]});
    }
  }

  /// Samples pushed out by the capacity since the ring was made.
  std::uint64_t evicted() const noexcept { return evicted_; }

  std::size_t bytes() const noexcept {
    std::size_t b = n_ * (sizeof(std::int64_t) + sizeof(double));
    for (const auto& c : chunks_) b += c.bits.size();
    return b;
  }

 private:
  std::size_t idx(std::size_t logical) const noexcept {
    const std::size_t i = head_ + logical;
    return i >= t_.size() ? i - t_.size() : i;
  }

  push_result push_raw(std::int64_t t, double v) {
    if (n_ < t_.size()) {
      const std::size_t i = idx(n_);
      t_[i] = t, v_[i] = v, ++n_;
      return push_result::appended;
    }
    if (t_.size() < cap_) {  // grow: unroll the circle into a larger buffer
      std::vector<std::int64_t> nt;
      std::vector<double> nv;
      const std::size_t ncap = std::min(cap_, std::max<std::size_t>(16, t_.size() * 2));
      nt.reserve(ncap), nv.reserve(ncap);
      for (std::size_t i = 0; i < n_; ++i) nt.push_back(t_[idx(i)]), nv.push_back(v_[idx(i)]);
      nt.resize(ncap), nv.resize(ncap);
      t_.swap(nt), v_.swap(nv), head_ = 0;
      t_[n_] = t, v_[n_] = v, ++n_;
      return push_result::appended;
    }
    t_[head_] = t, v_[head_] = v;  // full: overwrite the oldest
    head_ = head_ + 1 == t_.size() ? 0 : head_ + 1;
    ++evicted_;
    return push_result::appended;
  }

  push_result push_compressed(std::int64_t t, double v) {
    if (t_.size() < chunk_samples) t_.resize(chunk_samples), v_.resize(chunk_samples);
    if (n_ == chunk_samples) {  // seal before adding, so the latest stays raw
      chunks_.push_back(encode(t_.data(), v_.data(), n_));
      sealed_count_ += n_;
      n_ = 0;
    }
    t_[n_] = t, v_[n_] = v, ++n_;
    while (size() > cap_ && !chunks_.empty()) {
      sealed_count_ -= chunks_.front().count;
      evicted_ += chunks_.front().count;
      chunks_.pop_front();
    }
    return push_result::appended;
  }

  std::size_t cap_;
  bool compress_;
  std::vector<std::int64_t> t_;
  std::vector<double> v_;
  std::size_t head_ = 0;  // raw mode: oldest element
  std::size_t n_ = 0;     // samples in the raw buffer
  std::deque<chunk> chunks_;
  std::size_t sealed_count_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace vitals::stores::detail
