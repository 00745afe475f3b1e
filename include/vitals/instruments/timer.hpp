// A scoped timer: observes the time from its construction to its end (or to
// stop()) into a histogram, in seconds, once. client_golang's
// prometheus.NewTimer(h).ObserveDuration() and the 001 seed's
// Histogram.ObserveDuration, as a C++ scope:
//
//   auto& took = reg.histogram("job_duration_seconds", "Time per job.",
//                              vitals::buckets::latency_1ms_to_10s());
//   { vitals::scoped_timer t(took); run_job(); }   // observed here
//
// The clock is steady_clock (never goes back); the timer is not thread-safe
// (one scope, one thread), the histogram is.
#pragma once

#include <chrono>

#include "vitals/instruments/histogram.hpp"

namespace vitals {

class scoped_timer {
 public:
  using clock = std::chrono::steady_clock;

  explicit scoped_timer(histogram& h) noexcept : h_(&h), start_(clock::now()) {}
  scoped_timer(const scoped_timer&) = delete;
  scoped_timer& operator=(const scoped_timer&) = delete;
  ~scoped_timer() { stop(); }

  /// Observes the time so far and returns it; later calls, and the end of
  /// the scope, observe nothing more and return the same duration.
  clock::duration stop() noexcept {
    if (h_) {
      took_ = clock::now() - start_;
      h_->observe_duration(took_);
      h_ = nullptr;
    }
    return took_;
  }

  /// The scope ends without observing (a failed job timed elsewhere).
  void cancel() noexcept { h_ = nullptr; }

  /// The time since the timer started, observed or not.
  clock::duration elapsed() const noexcept { return clock::now() - start_; }

 private:
  histogram* h_;
  clock::time_point start_;
  clock::duration took_{};
};

}  // namespace vitals
