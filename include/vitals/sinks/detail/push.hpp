// What the push sinks (remote write, OTLP/HTTP) share: a bounded queue that
// write() fills without touching the network, and one sender thread that
// takes batches from it and POSTs them with the synchronous client. 5xx, 429
// and network failures are retried with capped, jittered exponential backoff
// (a 429's or 503's Retry-After in seconds replaces the backoff); any other
// 4xx is final. Every sample accepted or refused is counted exactly once:
// sent, dropped (queue full), rejected (4xx) or failed (retries exhausted, or
// still queued when the sink was destroyed).
#pragma once

#include <boost/beast/http/verb.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <random>
#include <span>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/core/snapshot.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/net/client.hpp"
#include "vitals/net/url.hpp"

namespace vitals::sinks {

struct push_options {
  /// Samples accepted but not yet sent (the batch in flight included); a
  /// write beyond it drops the samples that do not fit.
  std::size_t max_queue = 100'000;
  /// Samples per request. A request is sent when this many are queued, or
  /// `flush_interval` after the previous one, whichever comes first.
  std::size_t max_batch = 5'000;
  std::chrono::milliseconds flush_interval{std::chrono::seconds(1)};
  /// One attempt: connect, send, read the answer.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(10)};
  /// Attempt n waits min_backoff * 2^(n-1), capped at max_backoff, then
  /// jittered down by up to half so that many senders do not retry in step.
  std::chrono::milliseconds min_backoff{100};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  int max_attempts = 8;
  /// How long flush() (and so the destructor) waits for the queue to drain.
  std::chrono::milliseconds flush_timeout{std::chrono::seconds(30)};
  std::string bearer_token{};  // empty: no Authorization header
};

/// Samples by outcome since the sink was made, plus what is still queued.
struct push_stats {
  std::uint64_t sent = 0;
  std::uint64_t dropped = 0;   // the queue was full when they were written
  std::uint64_t rejected = 0;  // the receiver answered 4xx (not 429): not retried
  std::uint64_t failed = 0;    // retries exhausted, or abandoned at shutdown
  std::uint64_t retries = 0;   // requests sent again
  std::uint64_t queued = 0;    // accepted, not yet settled
};

namespace detail {

using push_url = net::http_url;

/// "http://host[:port][/path[?query]]", host may be "[v6]"; the port defaults
/// to 80 and the path to "/". net::parse_http_url's refusals apply.
inline result<push_url> parse_push_url(std::string_view url) {
  return net::parse_http_url(url, "/");
}

/// The samples an item stands for: what the queue bound and the counts are in.
inline std::size_t weight(const sample&) noexcept { return 1; }
inline std::size_t weight(const metric_family& f) noexcept { return f.points.size(); }

/// `<prefix>_samples_total{result}`, `<prefix>_retries_total` and
/// `<prefix>_queue_samples`, mirrored from push_stats into a registry.
class push_metrics {
 public:
  push_metrics(registry& reg, const std::string& prefix)
      : samples_(reg.counter_family(prefix + "_samples",
                                    "Samples by outcome: sent, dropped (queue full), rejected "
                                    "(4xx answer) or failed (retries exhausted).",
                                    {"result"})),
        sent_(samples_.with("sent")),
        dropped_(samples_.with("dropped")),
        rejected_(samples_.with("rejected")),
        failed_(samples_.with("failed")),
        retries_(reg.counter(prefix + "_retries", "Requests sent again after a failure.")),
        queue_(reg.gauge(prefix + "_queue_samples", "Samples accepted and not yet settled.")) {}

  void update(const push_stats& before, const push_stats& after) {
    sent_.inc(after.sent - before.sent);
    dropped_.inc(after.dropped - before.dropped);
    rejected_.inc(after.rejected - before.rejected);
    failed_.inc(after.failed - before.failed);
    retries_.inc(after.retries - before.retries);
    queue_.set(static_cast<double>(after.queued));
  }

 private:
  family<counter>& samples_;
  counter &sent_, &dropped_, &rejected_, &failed_, &retries_;
  gauge& queue_;
};

/// What a sink tells the pusher about its requests.
struct push_request {
  std::string content_type;
  net::header_list headers;
};

/// The queue and the sender thread. `Encode` turns a batch of items into a
/// request body; it runs on the sender thread only, so it may keep buffers.
template <class Item, class Encode>
class pusher {
 public:
  pusher(std::string_view url, push_options o, push_request req, Encode encode, registry* metrics,
         const std::string& metrics_prefix)
      : url_(checked(url)), opts_(std::move(o)), req_(std::move(req)), encode_(std::move(encode)) {
    if (opts_.max_batch == 0 || opts_.max_attempts < 1)
      throw std::invalid_argument("push_options: max_batch and max_attempts must be positive");
    if (metrics) metrics_.emplace(*metrics, metrics_prefix);
    sender_ = std::jthread([this](std::stop_token st) { run(st); });
  }
  ~pusher() {
    (void)flush();
    sender_.request_stop();
    sender_.join();
  }
  pusher(const pusher&) = delete;
  pusher& operator=(const pusher&) = delete;

  /// Queues what fits and drops the rest; never waits for the network.
  template <class It>
  status enqueue(It first, It last) {
    std::size_t dropped = 0;
    {
      std::lock_guard lock(mu_);
      const auto before = stats_;
      for (; first != last; ++first) {
        const auto w = weight(*first);
        if (stats_.queued + w > opts_.max_queue) {
          dropped += w;
          continue;
        }
        stats_.queued += w;
        waiting_ += w;
        accepted_ += w;
        queue_.push_back(*first);
      }
      stats_.dropped += dropped;
      publish(before);
      if (waiting_ >= opts_.max_batch) work_.notify_one();
    }
    if (dropped > 0)
      return error(errc::limit_exceeded, "push queue full (" + std::to_string(opts_.max_queue) +
                                             " samples): dropped " + std::to_string(dropped));
    return {};
  }

  /// Waits until every sample accepted before the call is settled.
  status flush() {
    std::unique_lock lock(mu_);
    const auto target = accepted_;
    ++flushing_;
    work_.notify_one();
    const bool done =
        settled_cv_.wait_for(lock, opts_.flush_timeout, [&] { return settled_ >= target; });
    --flushing_;
    if (!done)
      return error(errc::unavailable, "flush: " + std::to_string(target - settled_) +
                                          " samples still unsent after " +
                                          std::to_string(opts_.flush_timeout.count()) + " ms");
    return {};
  }

  push_stats stats() const {
    std::lock_guard lock(mu_);
    return stats_;
  }
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  enum class outcome { sent, rejected, failed };

  static push_url checked(std::string_view url) {
    auto u = parse_push_url(url);
    if (!u) throw std::invalid_argument(u.error().message);
    return std::move(*u);
  }

  void run(std::stop_token st) {
    net::client client(url_.host, url_.port, opts_.request_timeout);
    if (!opts_.bearer_token.empty()) client.set_token(opts_.bearer_token);
    std::minstd_rand rng(std::random_device{}());
    std::vector<Item> batch;
    std::size_t n = 0;
    while (take(batch, n, st)) {
      const auto body = encode_(std::span<const Item>(batch));
      settle(deliver(client, body, st, rng), n);
      batch.clear();
    }
  }

  /// Waits for a full batch, a flush, the interval or the stop; false on stop,
  /// after counting what is still queued as failed.
  bool take(std::vector<Item>& batch, std::size_t& n, std::stop_token st) {
    std::unique_lock lock(mu_);
    while (queue_.empty() || (waiting_ < opts_.max_batch && flushing_ == 0)) {
      const auto due = std::chrono::steady_clock::now() + opts_.flush_interval;
      const bool ready = work_.wait_until(lock, st, due, [&] {
        return waiting_ >= opts_.max_batch || (flushing_ > 0 && waiting_ > 0);
      });
      if (st.stop_requested()) {
        abandon();
        return false;
      }
      if (!ready && !queue_.empty()) break;  // the interval passed
    }
    n = 0;
    while (!queue_.empty() && (n == 0 || n + weight(queue_.front()) <= opts_.max_batch)) {
      n += weight(queue_.front());
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    waiting_ -= n;
    return true;
  }

  template <class Rng>
  outcome deliver(net::client& client, const std::string& body, std::stop_token st, Rng& rng) {
    for (int attempt = 1;; ++attempt) {
      auto r = client.request(boost::beast::http::verb::post, url_.target, body, req_.content_type,
                              req_.headers);
      if (r && r->status / 100 == 2) return outcome::sent;
      const bool retryable = !r || r->status >= 500 || r->status == 429;
      note_error(r ? "HTTP " + std::to_string(r->status) + ": " + r->body.substr(0, 512)
                   : r.error().message);
      if (!retryable) return outcome::rejected;
      if (attempt >= opts_.max_attempts || st.stop_requested()) return outcome::failed;
      auto delay = backoff(attempt, rng);
      if (r)
        if (auto after = retry_after(r->headers[boost::beast::http::field::retry_after]))
          delay = std::min(*after, opts_.max_backoff);
      count_retry();
      if (!sleep(delay, st)) return outcome::failed;
    }
  }

  template <class Rng>
  std::chrono::milliseconds backoff(int attempt, Rng& rng) const {
    const auto shift = std::min(attempt - 1, 30);
    const auto full =
        std::min<std::int64_t>(opts_.min_backoff.count() << shift, opts_.max_backoff.count());
    std::uniform_int_distribution<std::int64_t> jitter(0, full / 2);
    return std::chrono::milliseconds(full - jitter(rng));
  }

  /// Only the delay-seconds form; an HTTP date falls back to the backoff.
  static std::optional<std::chrono::milliseconds> retry_after(std::string_view v) {
    if (v.empty() || v.size() > 9 || v.find_first_not_of("0123456789") != std::string_view::npos)
      return std::nullopt;
    return std::chrono::seconds(std::stoll(std::string(v)));
  }

  /// False when the stop came first.
  static bool sleep(std::chrono::milliseconds d, std::stop_token st) {
    std::mutex m;
    std::condition_variable_any cv;
    std::unique_lock lock(m);
    return !cv.wait_for(lock, st, d, [] { return false; }) && !st.stop_requested();
  }

  void settle(outcome o, std::size_t n) {
    std::lock_guard lock(mu_);
    const auto before = stats_;
    (o == outcome::sent       ? stats_.sent
     : o == outcome::rejected ? stats_.rejected
                              : stats_.failed) += n;
    stats_.queued -= n;
    settled_ += n;
    publish(before);
    settled_cv_.notify_all();
  }

  // Called with mu_ held, on stop: whatever never left is lost.
  void abandon() {
    const auto before = stats_;
    stats_.failed += waiting_;
    stats_.queued -= waiting_;
    settled_ += waiting_;
    waiting_ = 0;
    queue_.clear();
    publish(before);
    settled_cv_.notify_all();
  }

  void count_retry() {
    std::lock_guard lock(mu_);
    const auto before = stats_;
    ++stats_.retries;
    publish(before);
  }

  void note_error(std::string e) {
    std::lock_guard lock(mu_);
    last_error_ = std::move(e);
  }

  void publish(const push_stats& before) {
    if (metrics_) metrics_->update(before, stats_);
  }

  const push_url url_;
  const push_options opts_;
  const push_request req_;
  Encode encode_;
  std::optional<push_metrics> metrics_;

  mutable std::mutex mu_;
  std::condition_variable_any work_;    // the sender waits for work
  std::condition_variable settled_cv_;  // flush() waits for the sender
  std::deque<Item> queue_;
  std::size_t waiting_ = 0;                   // samples in queue_
  std::uint64_t accepted_ = 0, settled_ = 0;  // running totals, for flush()
  int flushing_ = 0;
  push_stats stats_;
  std::string last_error_;
  std::jthread sender_;  // last: it starts after, and stops before, everything above
};

}  // namespace detail
}  // namespace vitals::sinks
