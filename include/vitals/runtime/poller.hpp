// A poller: one coroutine per tracked target, on an Asio executor. A target
// ticks at once, then every interval without drift (the next deadline is the
// previous one plus the interval). track() and untrack() are idempotent and
// may be called from any thread; untrack() during a running sample lets that
// sample finish (its batch pushed, unless untracked with in_flight::drop) and
// stops the loop. stop() cancels every target and returns only when every
// coroutine has finished.
//
// The poller is a template over the sampler types it may track; targets added
// at run time live in a std::variant, so sampling makes no virtual call.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/snapshot.hpp"

namespace vitals {

namespace asio = boost::asio;

struct poller_options {
  std::chrono::milliseconds interval{std::chrono::seconds(10)};
  /// A sample slower than this counts as an error (default: the interval).
  std::optional<std::chrono::milliseconds> sample_timeout{};
  /// The first tick of each target is delayed by a random amount below this,
  /// to spread many targets over the interval.
  std::chrono::milliseconds jitter{0};
  /// Jittered starts are rounded to this grain, so targets share wake-ups:
  /// each wake-up of the thread costs far more than a trivial sample.
  std::chrono::milliseconds jitter_grain{10};
};

/// What `poller::untrack` does with the batch of a sample in flight.
enum class in_flight { push, drop };

struct target_status {
  std::string id;
  std::string sampler;
  std::uint64_t ticks = 0;
  std::uint64_t errors = 0;
  std::string last_error;
  bool failing = false;  // the last tick failed
};

namespace detail {
/// What this poller awaits: `async_sampler` (core/sampling.hpp) checks the
/// shape, an awaitable of status; the poller awaits on Asio's coroutines, so
/// it needs exactly `asio::awaitable<status>`.
template <class S>
concept asio_async_sampler = requires(S& s, sample_batch& out, timestamp now) {
  { s.async_collect(out, now) } -> std::same_as<asio::awaitable<status>>;
};
template <class S>
inline constexpr bool pollable = !async_sampler<S> || asio_async_sampler<S>;
}  // namespace detail

/// `Sink` is anything with `push(std::span<const sample>)`: a pipeline.
template <class Sink, any_sampler_kind... Samplers>
class poller {
  static_assert((detail::pollable<Samplers> && ...),
                "an async_sampler tracked by vitals::poller must return asio::awaitable<status> "
                "from async_collect (async_sampler requirement 1)");

 public:
  using any_sampler = std::variant<Samplers...>;

  poller(asio::any_io_executor ex, Sink& sink, poller_options o = {})
      : strand_(asio::make_strand(ex)), sink_(sink), opts_(o) {}
  poller(const poller&) = delete;
  poller& operator=(const poller&) = delete;
  ~poller() { stop(); }

  /// Starts sampling `s` under `id`. Returns false (and changes nothing) when
  /// the id is already tracked or the poller is stopping.
  bool track(std::string id, any_sampler s,
             std::optional<std::chrono::milliseconds> interval = {}) {
    auto t =
        std::make_shared<target>(std::move(id), std::move(s), interval.value_or(opts_.interval));
    {
      std::lock_guard lock(mu_);
      if (stopping_ || targets_.contains(t->id)) return false;
      targets_.emplace(t->id, t);
      ++running_;
    }
    asio::co_spawn(strand_, run(t), asio::detached);
    return true;
  }

  /// Stops sampling `id`; false when it was not tracked. A sample in flight
  /// finishes and its batch is pushed, unless `batch` is `in_flight::drop`
  /// (the target's samples are about to be discarded: see `async_settle`).
  bool untrack(const std::string& id, in_flight batch = in_flight::push) {
    std::shared_ptr<target> t;
    {
      std::lock_guard lock(mu_);
      auto it = targets_.find(id);
      if (it == targets_.end()) return false;
      t = std::move(it->second);
      targets_.erase(it);
    }
    cancel(t, batch == in_flight::drop);
    return true;
  }

  /// Completes once every `untrack` called before it has taken effect: after
  /// it, no batch of a target untracked with `in_flight::drop` reaches the
  /// sink. What dropping the target's series needs first, or a late batch
  /// would bring one back. Resumes on the caller's executor.
  asio::awaitable<void> async_settle() {
    // Handlers on the strand run in order: this one runs after every cancel
    // posted before it, and the target's coroutine, on the strand too, sees
    // `stopped` at its next resumption.
    co_await asio::post(strand_, asio::use_awaitable);
  }

  /// Cancels every target and waits for their coroutines to end. Must not be
  /// called from the executor's own thread (it would wait on itself).
  void stop() {
    std::vector<std::shared_ptr<target>> all;
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      for (auto& [_, t] : targets_) all.push_back(t);
      targets_.clear();
    }
    for (auto& t : all) cancel(t);
    std::unique_lock lock(mu_);
    done_.wait(lock, [&] { return running_ == 0; });
  }

  std::vector<target_status> status() const {
    std::lock_guard lock(mu_);
    std::vector<target_status> out;
    for (const auto& [id, t] : targets_) out.push_back(t->status());
    return out;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return targets_.size();
  }

  /// `vitals_poller_errors_total{target}` and `vitals_poller_ticks_total{target}`,
  /// for a registry collector.
  void collect(metric_snapshot& out) const {
    metric_family errors{
        "vitals_poller_errors", metric_type::counter, "Failed or late samples, by target.", {}, {}};
    metric_family ticks{
        "vitals_poller_ticks", metric_type::counter, "Samples taken, by target.", {}, {}};
    for (const auto& s : status()) {
      const label_set l{{"target", s.id}};
      errors.points.emplace_back().labels = l;
      errors.points.back().value = double(s.errors);
      ticks.points.emplace_back().labels = l;
      ticks.points.back().value = double(s.ticks);
    }
    out.push_back(std::move(errors));
    out.push_back(std::move(ticks));
    metric_family refused{"vitals_poller_refused_samples",
                          metric_type::counter,
                          "Samples taken whose batch the pipeline's store refused.",
                          {},
                          {}};
    refused.points.emplace_back().value = double(refused_samples());
    out.push_back(std::move(refused));
  }

  /// Samples in batches the sink (the pipeline's store) refused.
  std::uint64_t refused_samples() const noexcept {
    return refused_.load(std::memory_order_relaxed);
  }

 private:
  struct target {
    target(std::string i, any_sampler s, std::chrono::milliseconds iv)
        : id(std::move(i)), sampler(std::move(s)), interval(iv) {}
    std::string id;
    any_sampler sampler;
    std::chrono::milliseconds interval;
    asio::steady_timer* timer = nullptr;  // touched only on the strand
    bool stopped = false;                 // likewise
    bool drop_in_flight = false;          // likewise: untracked with in_flight::drop
    std::atomic<std::uint64_t> ticks{0}, errors{0};
    std::atomic<bool> failing{false};
    mutable std::mutex mu;
    std::string last_error;

    target_status status() const {
      std::lock_guard lock(mu);
      return {id,
              std::string(std::visit([](auto& s) { return std::string(s.name()); }, sampler)),
              ticks.load(),
              errors.load(),
              last_error,
              failing.load()};
    }
    void fail(std::string msg) {
      errors.fetch_add(1, std::memory_order_relaxed);
      failing.store(true, std::memory_order_relaxed);
      std::lock_guard lock(mu);
      last_error = std::move(msg);
    }
  };

  void cancel(const std::shared_ptr<target>& t, bool drop_in_flight = false) {
    // On the strand, where the coroutine runs: no sample is interrupted.
    asio::post(strand_, [t, drop_in_flight] {
      t->stopped = true;
      t->drop_in_flight = drop_in_flight;
      if (t->timer) t->timer->cancel();
    });
  }

  asio::awaitable<void> run(std::shared_ptr<target> t) {
    struct finish {
      poller* p;
      ~finish() {
        std::lock_guard lock(p->mu_);
        if (--p->running_ == 0) p->done_.notify_all();
      }
    } on_exit{this};
    asio::steady_timer timer(co_await asio::this_coro::executor);
    t->timer = &timer;
    struct detach {
      target* t;
      ~detach() { t->timer = nullptr; }
    } unhook{t.get()};
    timer.expires_at(first_deadline());
    sample_batch batch;
    const auto timeout = opts_.sample_timeout.value_or(t->interval);
    for (;;) {
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (t->stopped) co_return;
      batch.clear();
      const auto started = std::chrono::steady_clock::now();
      vitals::status s = co_await collect_one(t->sampler, batch, timeout);
      const auto took = std::chrono::steady_clock::now() - started;
      if (t->stopped && t->drop_in_flight) co_return;
      t->ticks.fetch_add(1, std::memory_order_relaxed);
      if (!s)
        t->fail(s.error().message);
      else if (took > timeout)
        t->fail("sample took longer than the timeout");
      else
        t->failing.store(false, std::memory_order_relaxed);
      if (!batch.empty())
        if (auto st = sink_.push(batch); !st)  // the sink keeps its own error; we count the loss
          refused_.fetch_add(batch.size(), std::memory_order_relaxed);
      if (t->stopped) co_return;  // untracked during the sample: not one more interval
      // Drift-free: the next deadline follows the previous one, not now.
      timer.expires_at(timer.expiry() + t->interval);
      if (timer.expiry() < std::chrono::steady_clock::now())  // fell behind: skip, don't burst
        timer.expires_at(std::chrono::steady_clock::now() + t->interval);
    }
  }

  static asio::awaitable<vitals::status> collect_one(any_sampler& v, sample_batch& batch,
                                                     std::chrono::milliseconds timeout) {
    const bool is_async =
        std::visit([](auto& s) { return async_sampler<std::decay_t<decltype(s)>>; }, v);
    if (!is_async)  // a synchronous sample cannot be interrupted: lateness is counted after
      co_return std::visit(
          [&](auto& s) -> vitals::status {
            if constexpr (sampler<std::decay_t<decltype(s)>>)
              return s.collect(batch, now());
            else
              return {};
          },
          v);
    using namespace asio::experimental::awaitable_operators;
    const std::size_t before = batch.size();
    vitals::status st;
    asio::steady_timer deadline(co_await asio::this_coro::executor, timeout);
    auto sample = [&]() -> asio::awaitable<void> {
      co_await std::visit(
          [&](auto& s) -> asio::awaitable<void> {
            if constexpr (async_sampler<std::decay_t<decltype(s)>>)
              st = co_await s.async_collect(batch, now());
            co_return;
          },
          v);
    };
    // Whichever ends first cancels the other: a hung exporter costs one timeout.
    auto which = co_await (sample() || deadline.async_wait(asio::use_awaitable));
    if (which.index() == 1) {
      batch.resize(before);
      co_return vitals::error(errc::unavailable,
                              "sample timed out after " + std::to_string(timeout.count()) + " ms");
    }
    co_return st;
  }

  // Now, or with jitter a random point within it rounded up to the grain on
  // the clock itself, so targets started apart still wake together.
  std::chrono::steady_clock::time_point first_deadline() {
    const auto now = std::chrono::steady_clock::now();
    if (opts_.jitter.count() <= 0) return now;
    std::uint64_t r;
    {
      std::lock_guard lock(mu_);
      r = rng_() % static_cast<std::uint64_t>(opts_.jitter.count());
    }
    const auto grain = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
        std::max(opts_.jitter_grain, std::chrono::milliseconds(1)));
    const auto t = now + std::chrono::milliseconds(r);
    return std::chrono::steady_clock::time_point((t.time_since_epoch() / grain + 1) * grain);
  }

  asio::strand<asio::any_io_executor> strand_;
  Sink& sink_;
  poller_options opts_;
  mutable std::mutex mu_;
  std::condition_variable done_;
  std::map<std::string, std::shared_ptr<target>> targets_;
  std::size_t running_ = 0;
  bool stopping_ = false;
  std::atomic<std::uint64_t> refused_{0};
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace vitals
