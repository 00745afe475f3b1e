// One series' samples in time order, at most `capacity` of them. Raw mode is
// a circular buffer of points grown on demand; compressed mode seals every
// `chunk_samples` samples into a Gorilla chunk and evicts whole chunks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <span>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/gorilla.hpp"

namespace vitals::stores::detail {

enum class push_result { appended, replaced, out_of_order };

inline constexpr std::size_t chunk_samples = 120;

class ring {
 public:
  ring(std::size_t capacity, bool compress)
      : cap_(std::max<std::size_t>(capacity, 1)), compress_(compress) {}

  std::size_t size() const noexcept { return sealed_count_ + n_; }
  bool empty() const noexcept { return size() == 0; }
  const point& back() const { return buf_[idx(n_ - 1)]; }
  /// The oldest time held; the ring must not be empty.
  timestamp front_time() const {
    return chunks_.empty() ? buf_[idx(0)].t : from_unix_ms(chunks_.front().first_t);
  }

  push_result push(timestamp t, double v) {
    if (n_ > 0) {
      point& last = buf_[idx(n_ - 1)];
      if (t == last.t) {
        last.value = v;
        return push_result::replaced;
      }
      if (t < last.t) return push_result::out_of_order;
    } else if (!chunks_.empty() && to_unix_ms(t) <= chunks_.back().last_t) {
      return push_result::out_of_order;
    }
    return compress_ ? push_compressed({t, v}) : push_raw({t, v});
  }

  /// Calls `f(std::span<const point>)` for the points with from <= t <= to,
  /// oldest first, in as few contiguous spans as the storage allows.
  template <class F>
  void visit(timestamp from, timestamp to, F&& f) const {
    if (from > to) return;
    std::vector<std::int64_t> ct;
    std::vector<double> cv;
    std::vector<point> decoded;
    for (const auto& c : chunks_) {
      if (c.last_t < to_unix_ms(from) || c.first_t > to_unix_ms(to)) continue;
      decode(c, ct, cv);
      decoded.clear();
      for (std::size_t i = 0; i < ct.size(); ++i)
        if (ct[i] >= to_unix_ms(from) && ct[i] <= to_unix_ms(to))
          decoded.push_back({from_unix_ms(ct[i]), cv[i]});
      f(std::span<const point>(decoded));
    }
    const std::size_t lo = first_at_or_after(from, 0);
    std::size_t hi = lo;
    while (hi < n_ && buf_[idx(hi)].t <= to) {  // narrow to `to` by binary search
      std::size_t a = hi, b = n_;
      while (a < b) {
        const std::size_t mid = (a + b) / 2;
        if (buf_[idx(mid)].t <= to)
          a = mid + 1;
        else
          b = mid;
      }
      hi = a;
    }
    if (lo == hi) return;
    const std::size_t a = idx(lo), b = idx(hi - 1);
    if (a <= b) {
      f(std::span<const point>(buf_.data() + a, b - a + 1));
    } else {  // wraps around the end of the buffer
      f(std::span<const point>(buf_.data() + a, buf_.size() - a));
      f(std::span<const point>(buf_.data(), b + 1));
    }
  }

  void read(timestamp from, timestamp to, std::vector<point>& out) const {
    visit(from, to, [&](std::span<const point> s) { out.insert(out.end(), s.begin(), s.end()); });
  }

  /// Samples pushed out by the capacity since the ring was made.
  std::uint64_t evicted() const noexcept { return evicted_; }

  std::size_t bytes() const noexcept {
    std::size_t b = n_ * sizeof(point);
    for (const auto& c : chunks_) b += c.bits.size();
    return b;
  }

 private:
  std::size_t idx(std::size_t logical) const noexcept {
    const std::size_t i = head_ + logical;
    return i >= buf_.size() ? i - buf_.size() : i;
  }

  std::size_t first_at_or_after(timestamp t, std::size_t lo) const {
    std::size_t hi = n_;
    while (lo < hi) {
      const std::size_t mid = (lo + hi) / 2;
      if (buf_[idx(mid)].t < t)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  push_result push_raw(point p) {
    if (n_ < buf_.size()) {
      buf_[idx(n_++)] = p;
      return push_result::appended;
    }
    if (buf_.size() < cap_) {  // grow: unroll the circle into a larger buffer
      std::vector<point> bigger;
      bigger.reserve(std::min(cap_, std::max<std::size_t>(16, buf_.size() * 2)));
      for (std::size_t i = 0; i < n_; ++i) bigger.push_back(buf_[idx(i)]);
      bigger.resize(bigger.capacity());
      buf_.swap(bigger);
      head_ = 0;
      buf_[n_++] = p;
      return push_result::appended;
    }
    buf_[head_] = p;  // full: overwrite the oldest
    head_ = head_ + 1 == buf_.size() ? 0 : head_ + 1;
    ++evicted_;
    return push_result::appended;
  }

  push_result push_compressed(point p) {
    if (buf_.size() < chunk_samples) buf_.resize(chunk_samples);
    if (n_ == chunk_samples) {  // seal before adding, so the latest stays raw
      std::int64_t t[chunk_samples];
      double v[chunk_samples];
      for (std::size_t i = 0; i < n_; ++i) t[i] = to_unix_ms(buf_[i].t), v[i] = buf_[i].value;
      chunks_.push_back(encode(t, v, n_));
      sealed_count_ += n_;
      n_ = 0;
    }
    buf_[n_++] = p;
    while (size() > cap_ && !chunks_.empty()) {
      sealed_count_ -= chunks_.front().count;
      evicted_ += chunks_.front().count;
      chunks_.pop_front();
    }
    return push_result::appended;
  }

  std::size_t cap_;
  bool compress_;
  std::vector<point> buf_;
  std::size_t head_ = 0;  // raw mode: oldest element
  std::size_t n_ = 0;     // points in the raw buffer
  std::deque<chunk> chunks_;
  std::size_t sealed_count_ = 0;
  std::uint64_t evicted_ = 0;
};

}  // namespace vitals::stores::detail
