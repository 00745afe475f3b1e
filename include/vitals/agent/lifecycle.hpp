// The monitor's lifecycle events, published through a hub (runtime/hub.hpp)
// into the stream "monitor" (a persister stores them; GET /api/v1/events/log
// serves them). Each event's `data` is a JSON object:
//   target.tracked    {"target", "kind"}         a target manager's add succeeded
//   target.untracked  {"target"}                 ... its remove did
//   target.failing    {"target", "errors", "error"}  a target's last tick failed
//                                                    after one that did not
//   target.recovered  {"target", "errors"}       ... and then one succeeded
//   spool.dead_letter {"count", "total", "recent": [{"file", "attempts",
//                      "last_error"}]}           usage events given up on
//   store.pruned      {"samples", "usage", "events", "sessions", "ok"[, "error"]}
//                                                a retention run
//   agent.state       {"agent", "state", "was"}  an agent became stuck, error or
//                                                done (the usage reports' states)
// `evented_targets` publishes the first two; `lifecycle_watch`, called from a
// periodic loop, compares what it sees with its last look and publishes the
// rest, and prunes the event store (and the session files) with the samples;
// `event_recorder` is the hub and the persister that stores what is published.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/agent/maintenance.hpp"
#include "vitals/agent/session_files.hpp"
#include "vitals/runtime/event_feed.hpp"
#include "vitals/runtime/hub.hpp"
#include "vitals/runtime/persister.hpp"
#include "vitals/runtime/targets.hpp"

namespace vitals::agent {

inline constexpr std::string_view lifecycle_stream = "monitor";

namespace lifecycle {
inline constexpr std::string_view target_tracked = "target.tracked";
inline constexpr std::string_view target_untracked = "target.untracked";
inline constexpr std::string_view target_failing = "target.failing";
inline constexpr std::string_view target_recovered = "target.recovered";
inline constexpr std::string_view spool_dead_letter = "spool.dead_letter";
inline constexpr std::string_view store_pruned = "store.pruned";
inline constexpr std::string_view agent_state = "agent.state";
}  // namespace lifecycle

/// An event of `type` now, with `data` as its JSON text.
inline event lifecycle_event(std::string_view type, const boost::json::object& data) {
  event e;
  e.type = std::string(type);
  e.t = vitals::now();
  e.data = boost::json::serialize(data);
  return e;
}

/// A target manager that publishes target.tracked and target.untracked for
/// what `inner` accepts. Both outlive it.
template <target_manager Targets>
class evented_targets {
 public:
  evented_targets(Targets& inner, hub& h) : inner_(inner), hub_(h) {}

  status add(target_spec s) {
    boost::json::object data{{"target", s.id}, {"kind", s.kind}};
    auto st = inner_.add(std::move(s));
    if (st) hub_.publish(lifecycle_event(lifecycle::target_tracked, data));
    return st;
  }
  bool remove(const std::string& id) {
    if (!inner_.remove(id)) return false;
    hub_.publish(lifecycle_event(lifecycle::target_untracked, {{"target", id}}));
    return true;
  }
  /// target_manager 4, where `inner` has it.
  asio::awaitable<bool> async_remove(std::string id) requires settling_target_manager<Targets> {
    // A plain statement: GCC 12 mishandles co_await inside a condition.
    const bool removed = co_await inner_.async_remove(id);
    if (!removed) co_return false;
    hub_.publish(lifecycle_event(lifecycle::target_untracked, {{"target", id}}));
    co_return true;
  }
  std::vector<target_info> list() const { return inner_.list(); }

 private:
  Targets& inner_;
  hub& hub_;
};

/// Watches what the monitor's parts report and publishes what changed
/// since its last look. `EventStore` needs `prune_before(timestamp)`. Every
/// argument outlives it; call `check` from one loop.
template <class EventStore>
class lifecycle_watch {
 public:
  lifecycle_watch(hub& h, EventStore& events, const maintenance& upkeep,
                  session_book* sessions = nullptr)
      : hub_(h), events_(events), upkeep_(upkeep), sessions_(sessions) {}

  /// `targets` is a target_manager; `ledger` has dead_letters() and
  /// spool_status(n) (agent::ledger).
  template <class Targets, class Ledger>
  void check(const Targets& targets, const Ledger& ledger) {
    check_targets(targets.list());
    check_dead_letters(ledger);
    check_retention();
  }

  /// check(), and at most every `agents_every` check_agents() on what
  /// `agents()` answers (a `result<boost::json::object>`, such as
  /// `usage_reports::agents`: a report reads a day of usage, so not each round).
  template <class Targets, class Ledger, class Agents>
  void check(const Targets& targets, const Ledger& ledger, Agents&& agents,
             std::chrono::steady_clock::duration agents_every = std::chrono::seconds(30)) {
    check(targets, ledger);
    const auto now = std::chrono::steady_clock::now();
    if (now < next_agents_) return;
    next_agents_ = now + agents_every;
    if (auto report = agents()) check_agents(*report);
  }

  /// From the usage reports' `agents()` answer ({"agents": [{"agent_name",
  /// "state"}]}): agent.state for each agent that became stuck, error or
  /// done since the last report. The first report is the baseline.
  void check_agents(const boost::json::object& report) {
    std::map<std::string, std::string> now;
    const auto* list = report.if_contains("agents");
    if (!list || !list->is_array()) return;
    for (const auto& a : list->get_array()) {
      const auto* o = a.if_object();
      const auto* name = o ? o->if_contains("agent_name") : nullptr;
      const auto* state = o ? o->if_contains("state") : nullptr;
      if (!name || !state || !name->is_string() || !state->is_string()) continue;
      const std::string n(name->get_string()), st(state->get_string());
      const auto* host = o->if_contains("host");
      const std::string h(host && host->is_string() ? host->get_string() : "");
      const std::string key = h + '\n' + n;  // one agent name on two hosts is two agents
      const auto was = states_.find(key);
      const std::string before = was == states_.end() ? "" : was->second;
      if (agents_seen_ && st != before && (st == "stuck" || st == "error" || st == "done")) {
        boost::json::object detail{{"agent", n}, {"state", st}, {"was", before}};
        if (!h.empty()) detail["host"] = h;
        hub_.publish(lifecycle_event(lifecycle::agent_state, std::move(detail)));
      }
      now.emplace(key, st);
    }
    states_ = std::move(now);
    agents_seen_ = true;
  }

  /// The per-target state it remembers is bounded by the targets tracked.
  void check_targets(const std::vector<target_info>& list) {
    std::map<std::string, bool> now;
    for (const auto& t : list) {
      now.emplace(t.spec.id, t.failing);
      const auto was = failing_.find(t.spec.id);
      const bool before = was != failing_.end() && was->second;
      if (t.failing && !before)
        hub_.publish(lifecycle_event(
            lifecycle::target_failing,
            {{"target", t.spec.id}, {"errors", t.errors}, {"error", t.last_error}}));
      else if (!t.failing && before)
        hub_.publish(lifecycle_event(lifecycle::target_recovered,
                                     {{"target", t.spec.id}, {"errors", t.errors}}));
    }
    failing_ = std::move(now);
  }

  template <class Ledger>
  void check_dead_letters(const Ledger& ledger) {
    const std::uint64_t total = ledger.dead_letters();
    if (total <= dead_seen_) return;
    const auto n = total - dead_seen_;
    dead_seen_ = total;
    const auto st = ledger.spool_status(std::min<std::uint64_t>(n, 10));
    boost::json::array recent;
    for (const auto& d : st.recent_dead)
      recent.push_back({{"file", d.file}, {"attempts", d.attempt}, {"last_error", d.last_error}});
    hub_.publish(
        lifecycle_event(lifecycle::spool_dead_letter,
                        {{"count", n}, {"total", st.dead}, {"recent", std::move(recent)}}));
  }

  /// After each new retention run: events older than the samples'
  /// retention go (each stream's newest stays), session files older than
  /// the usage retention go, and store.pruned tells what went.
  void check_retention() {
    auto rep = upkeep_.last_report();
    if (rep.runs == runs_seen_) return;
    runs_seen_ = rep.runs;
    boost::json::object data{{"samples", rep.samples}, {"usage", rep.usage}};
    bool ok = rep.ok;
    std::string why = rep.error;
    if (auto n = events_.prune_before(rep.at - upkeep_.options().samples)) {
      data["events"] = *n;
    } else {
      data["events"] = 0;
      if (ok) why = "events: " + n.error().message;
      ok = false;
    }
    std::int64_t sessions = 0;
    if (sessions_) sessions = sessions_->prune_before(rep.at - upkeep_.options().usage.events);
    data["sessions"] = sessions;
    data["ok"] = ok;
    if (!ok) data["error"] = why;
    hub_.publish(lifecycle_event(lifecycle::store_pruned, data));
  }

 private:
  hub& hub_;
  EventStore& events_;
  const maintenance& upkeep_;
  session_book* sessions_;
  std::map<std::string, bool> failing_;
  std::map<std::string, std::string> states_;  // bounded by the report's agents
  bool agents_seen_ = false;
  std::uint64_t dead_seen_ = 0;  // dead_letters() counts from this process' start
  std::uint64_t runs_seen_ = 0;
  std::chrono::steady_clock::time_point next_agents_{};
};

/// The hub's counters (published, delivered, dropped by cause) and the
/// persister's: `vitals_events_persisted_total`, `vitals_events_persist_failures_total`
/// (failed appends, each retried) and `vitals_events_unpersisted_total{cause}`
/// (fell behind, or given up at stop). Both outlive `reg`'s collections.
template <class EventStore>
void add_event_metrics(registry& reg, const hub& h, const persister<EventStore>& p) {
  reg.add_collector([&h, &p](metric_snapshot& out) {
    h.collect(out);
    auto counter = [&](std::string name, std::string help, double v) {
      metric_family f{std::move(name), metric_type::counter, std::move(help), {}, {}};
      f.points.emplace_back().value = v;
      out.push_back(std::move(f));
    };
    counter("vitals_events_persisted", "Lifecycle events written to the event store.",
            double(p.written()));
    counter("vitals_events_persist_failures", "Appends the event store refused (each is retried).",
            double(p.failed_appends()));
    metric_family lost{"vitals_events_unpersisted",
                       metric_type::counter,
                       "Lifecycle events never written, by cause.",
                       {},
                       {}};
    for (auto [cause, n] :
         {std::pair{"behind", p.dropped()}, std::pair{"abandoned", p.abandoned()}}) {
      auto& pt = lost.points.emplace_back();
      pt.labels = label_set{{"cause", cause}};
      pt.value = double(n);
    }
    out.push_back(std::move(lost));
  });
}

/// The monitor's event path in one piece: a hub, a persister from it into
/// `store` under `stream` (through an event_feed, so readers of `log()` hear
/// of each append), and their metrics in `reg` (add_event_metrics). `store`
/// outlives it, and `reg` is not collected once it is gone. stop() (or the
/// destructor) writes what was published.
template <queryable_event_store EventStore>
class event_recorder {
 public:
  event_recorder(EventStore& store, registry& reg,
                 std::string stream = std::string(lifecycle_stream))
      : feed_(store), persister_(hub_, feed_, std::move(stream)) {
    add_event_metrics(reg, hub_, persister_);
  }

  vitals::hub& hub() noexcept { return hub_; }
  event_log& log() noexcept { return feed_.log(); }
  void stop() { persister_.stop(); }

 private:
  vitals::hub hub_;
  event_feed<EventStore> feed_;
  persister<event_feed<EventStore>> persister_;
};

}  // namespace vitals::agent
