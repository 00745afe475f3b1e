// Targets tracked at run time: what to sample (a spec), and a manager that
// turns specs into samplers on a poller. The HTTP API's /api/v1/targets
// speaks to any `target_manager`.
#pragma once

#include <algorithm>
#include <chrono>
#include <concepts>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/ids.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/runtime/poller.hpp"

namespace vitals {

struct target_spec {
  std::string id;
  std::string kind;  // process, cgroup, scrape; self and host for a monitor's own
  int pid = 0;
  std::string path{};
  std::string url{};
  std::optional<std::chrono::milliseconds> interval{};
  label_set labels{};
  // kind scrape: the families that `requests_per_second` and
  // `latency_p95_seconds` are derived from (samplers/scrape.hpp); empty: none.
  std::string requests_counter{};
  std::string latency_histogram{};
};

struct target_info {
  target_spec spec;
  std::uint64_t ticks = 0;
  std::uint64_t errors = 0;
  std::string last_error{};
  bool failing = false;  // the last tick failed
};

/// The shortest sampling interval a target spec may ask for.
inline constexpr std::chrono::milliseconds min_target_interval{std::chrono::seconds(1)};

/// A target id: 1 to 128 of [A-Za-z0-9._-], never "." or "..": it is used in
/// labels, URLs and (by some sinks) file names.
inline status check_target_id(std::string_view id) {
  if (!is_safe_id(id))
    return error(
        errc::invalid_argument,
        "id: expected 1 to 128 characters from [A-Za-z0-9._-], got '" + std::string(id) + "'");
  return {};
}

// --- target_manager --------------------------------------------------------
// What /api/v1/targets drives. It lives here, not in core/, because its
// requirements name target_spec and target_info, which are the runtime's.
// 1. `t.add(spec)` starts tracking and returns a `status`:
//    `errc::already_exists` when the id is taken, `errc::invalid_argument`
//    (naming the field) for a bad spec, `errc::limit_exceeded` when no more
//    targets may be tracked. Each is an answer a client gets (409, 400, 429),
//    so each is a value, never an exception.
// 2. `t.remove(id)` stops tracking and returns `bool`, false when the id was
//    not tracked: removing twice is not an error (DELETE is idempotent), but
//    the client is told (404).
// 3. `t.list()` returns `std::vector<target_info>`, every tracked target with
//    its sampling counts, as a copy: the caller renders it without holding
//    the manager's lock.
// 4. Optional (`settling_target_manager`): `co_await t.async_remove(id)`, an
//    `asio::awaitable<bool>`, removes as 2 does and completes only once no
//    sample of the target can still reach the pipeline (a sample in flight
//    is finished, its batch not pushed). Untracking with `?discard=true`
//    drops the target's series right after: with plain `remove`, a batch in
//    flight could land after the drop and bring a series back.
template <class T>
concept target_manager = requires(T& t, target_spec s, const std::string& id) {
  { t.add(std::move(s)) } -> std::same_as<status>;
  { t.remove(id) } -> std::same_as<bool>;
  { t.list() } -> std::same_as<std::vector<target_info>>;
};

template <class T>
concept settling_target_manager = target_manager<T> && requires(T& t, const std::string& id) {
  { t.async_remove(id) } -> std::same_as<asio::awaitable<bool>>;
};

/// A target manager over a poller. `Factory` turns a spec into one of the
/// poller's sampler types: `result<typename Poller::any_sampler>(const target_spec&)`.
struct targets_options {
  std::size_t max_targets = 1000;  // every target counts, the monitor's own included
};

template <class Poller, class Factory>
class poller_targets {
 public:
  poller_targets(Poller& p, Factory f, targets_options o = {})
      : poller_(p), factory_(std::move(f)), opts_(o) {}

  status add(target_spec s) {
    if (auto ok = check_target_id(s.id); !ok) return ok;
    if (s.interval && *s.interval < min_target_interval)
      return error(errc::invalid_argument, "interval: at least 1s");
    std::lock_guard lock(mu_);
    if (specs_.contains(s.id))
      return error(errc::already_exists, "target '" + s.id + "' is already tracked");
    if (specs_.size() >= opts_.max_targets)
      return error(errc::limit_exceeded, "targets: at most " + std::to_string(opts_.max_targets) +
                                             " are tracked; remove one first");
    auto sampler = factory_(s);
    if (!sampler) return sampler.error();
    if (!poller_.track(s.id, std::move(*sampler), s.interval))
      return error(errc::unavailable, "the poller is stopping");
    specs_.emplace(s.id, std::move(s));
    return {};
  }

  bool remove(const std::string& id) {
    std::lock_guard lock(mu_);
    if (specs_.erase(id) == 0) return false;
    poller_.untrack(id);
    return true;
  }

  /// As `remove`, completing once none of the target's samples can reach
  /// the pipeline any more (target_manager 4).
  asio::awaitable<bool> async_remove(std::string id) {
    bool removed = false;
    {
      std::lock_guard lock(mu_);
      removed = specs_.erase(id) > 0;
      if (removed) poller_.untrack(id, in_flight::drop);
    }
    if (removed) co_await poller_.async_settle();
    co_return removed;
  }

  std::vector<target_info> list() const {
    std::map<std::string, target_status> by_id;
    for (auto& st : poller_.status()) by_id.emplace(st.id, st);
    std::lock_guard lock(mu_);
    std::vector<target_info> out;
    for (const auto& [id, spec] : specs_) {
      target_info info{spec};
      if (auto it = by_id.find(id); it != by_id.end()) {
        info.ticks = it->second.ticks;
        info.errors = it->second.errors;
        info.last_error = it->second.last_error;
        info.failing = it->second.failing;
      }
      out.push_back(std::move(info));
    }
    return out;
  }

 private:
  Poller& poller_;
  Factory factory_;
  targets_options opts_;
  mutable std::mutex mu_;
  std::map<std::string, target_spec> specs_;
};

}  // namespace vitals
