// The parts agent_monitor is composed of, for anyone who wants to compose a
// monitor differently: the sampler factory (http/monitor_samplers.hpp: a
// target spec from the flags or `POST /api/v1/targets` -> a sampler), the
// monitor's own metrics, the upkeep loop (spool replay, log imports,
// retention through agent::maintenance) and `monitor_routes`, the one router
// with every route the monitor serves.
// The OTLP routes are there when the build links vitals::otlp (which defines
// VITALS_WITH_OTLP).
#pragma once

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "vitals/agent/importers.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/maintenance.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/http/channels.hpp"
#include "vitals/http/event_log.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/files.hpp"
#include "vitals/http/hooks.hpp"
#include "vitals/http/monitor_samplers.hpp"
#include "vitals/http/sessions.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/http/targets.hpp"
#ifdef VITALS_WITH_OTLP
#include "vitals/http/otlp.hpp"
#endif

namespace vitals::http {

/// The monitor's own metrics about its parts: batches the sample store
/// refused (`vitals_store_write_failures{store="samples"}`) and, with a
/// spool, the usage events waiting in it, unreadable and dead-lettered.
/// Everything passed must outlive `reg`'s collections.
template <class Pipeline, class Usage>
void add_monitor_metrics(registry& reg, Pipeline& pipe, agent::ledger<Usage>& ledger,
                         const agent::spool* sp) {
  if (sp) {
    reg.gauge_callback("vitals_agent_spool_pending",
                       "Usage events waiting in the spool for the store.",
                       [&ledger] { return double(ledger.spooled()); });
    reg.counter_callback("vitals_agent_spool_malformed", "Spool files that could not be read.",
                         [sp] { return double(sp->malformed()); });
    reg.counter_callback("vitals_agent_spool_dead",
                         "Spool records moved to the dead-letter folder (<spool>/dead/).",
                         [sp] { return double(sp->dead()); });
  }
  reg.add_collector([&pipe](metric_snapshot& out) {
    metric_family fam{"vitals_store_write_failures",
                      metric_type::counter,
                      "Batches a store refused (the samples are counted in "
                      "vitals_poller_refused_samples_total).",
                      {},
                      {}};
    auto& pt = fam.points.emplace_back();
    pt.labels = label_set{{"store", "samples"}};
    pt.value = double(pipe.store_failures());
    out.push_back(std::move(fam));
  });
}

struct upkeep_options {
  std::chrono::milliseconds every{std::chrono::seconds(2)};
  std::chrono::milliseconds spool_cleanup_every{std::chrono::hours(1)};
  std::chrono::milliseconds refusal_warning_every{std::chrono::minutes(1)};
  /// Told that the sample store refuses writes, once per refusal_warning_every at most.
  std::function<void(const std::string&)> warn = [](const std::string& m) {
    std::fprintf(stderr, "%s\n", m.c_str());
  };
  /// Run at the end of every round, on the loop's strand (the monitor looks
  /// at its parts for lifecycle events and writes session files there).
  std::function<void()> after_tick{};
};

/// Upkeep every `every` until cancelled: drains the spool into the usage
/// store while it holds anything, imports new lines of agents' logs, runs
/// retention when it is due (`upkeep.tick`: samples, usage rows, the usage
/// WAL), trims the spool, and warns that the sample store refuses writes.
/// An import's watermarks move only once the ledger has taken its events, so
/// a refused batch is read again. Run it on one strand; every argument
/// outlives the coroutine.
template <class Pipeline, class Usage>
asio::awaitable<void> upkeep_loop(Pipeline& pipe, agent::ledger<Usage>& ledger, agent::spool* sp,
                                  agent::maintenance& upkeep,
                                  std::vector<std::unique_ptr<agent::jsonl_importer>>& importers,
                                  upkeep_options o = {}) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next_cleanup = std::chrono::steady_clock::now();
  std::uint64_t refused_told = 0;
  auto next_refusal_warning = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (sp && ledger.spooled() > 0) (void)ledger.replay();
    upkeep.tick(pipe.store(), ledger.store(), now);
    if (now >= next_cleanup) {
      if (sp) sp->cleanup({});
      next_cleanup += o.spool_cleanup_every;
    }
    if (const auto refused = pipe.store_failures();
        refused > refused_told && now >= next_refusal_warning) {
      if (o.warn)
        o.warn("the sample store refused " + std::to_string(refused - refused_told) + " batches (" +
               pipe.last_store_error() + ")");
      refused_told = refused;
      next_refusal_warning = now + o.refusal_warning_every;
    }
    for (auto& imp : importers) {
      auto events = imp->poll();
      if (!events) continue;  // the directory is not there (yet): try again later
      bool refused = false;
      if (!events->empty())
        for (const auto& r : ledger.ingest_events(std::move(*events)).rejected)
          refused = refused || r.error.starts_with("not stored");
      if (!refused) (void)imp->commit();
    }
    if (o.after_tick) o.after_tick();
    timer.expires_after(o.every);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

/// A read-only view's loop (stores/followed.hpp): polls the database every
/// `every` and publishes what the fleet stored since to the watchers (SSE),
/// until cancelled. Run it on one strand; `store` outlives the coroutine.
template <class Followed>
asio::awaitable<void> follow_loop(Followed& store, std::chrono::milliseconds every) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  timer.expires_after(std::chrono::milliseconds(0));
  for (;;) {
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    (void)store.poll();
    timer.expires_at(timer.expiry() + every);
  }
}

struct monitor_route_options {
  std::filesystem::path dashboard{};  // files_route::dashboard's files; empty: no dashboard
  sse_options sse{};
  event_log* events = nullptr;                    // /api/v1/events/log; null: 404
  const agent::session_book* sessions = nullptr;  // /api/v1/sessions; null: 404
  event_log_options log_options{};
  agent::report_options reports{};  // states, workspace path, this monitor's host
  /// Not empty: samples received (OTLP metrics, channels) without a `host`
  /// label get host=<sample_host>, as the sampler factory labels the
  /// samplers' (a fleet sharing one store).
  std::string sample_host{};
  /// A read-only view (agent_monitor --read-only): every method but GET and
  /// HEAD is refused with 405 before any route sees it, so nothing is written;
  /// its agents are those the stored samples show (stored_agent_sources),
  /// not tracked targets.
  bool read_only = false;
};

/// Every route agent_monitor serves (docs/http-api.md), over the pipeline's
/// store, the targets, the usage ledger and the registry; it owns the usage
/// reports and the OTLP mappers. `otlp_only()` is the router of a second
/// listener for the agents' OTLP exporters (/v1/*, /healthz). Everything
/// passed outlives it.
template <class Pipeline, target_manager Targets, agent::usage_store Usage>
class monitor_routes {
 public:
  using store_type = std::remove_reference_t<decltype(std::declval<Pipeline&>().store())>;
  using ledger_type = agent::ledger<Usage>;
  using reports_type = agent::usage_reports<Usage, store_type>;
  using router_type =
      router<decltype(health_route()), metrics_route<registry, store_type>,
             query_routes<store_type>, watch_route<store_type>, targets_route<Targets, store_type>,
             events_route<ledger_type>, claude_hooks_route<ledger_type>, spool_route<ledger_type>,
             channels_ingest_route, channels_report_route<store_type>, limits_route<Usage>,
             usage_route<reports_type>, event_log_route, sessions_route,
#ifdef VITALS_WITH_OTLP
             otlp_route,
#endif
             files_route>;

  monitor_routes(registry& reg, Pipeline& pipe, Targets& targets, ledger_type& ledger,
                 monitor_route_options o = {})
      : sample_host_(std::move(o.sample_host)),
        reports_(
            ledger.store(), &pipe.store(),
            o.read_only ? typename reports_type::agent_list([&pipe] {
              return agent::stored_agent_sources(pipe.store(), vitals::now());
            })
                        : [&targets] { return agent_sources(targets); },
            o.reports),
#ifdef VITALS_WITH_OTLP
        // OTLP metrics go through the pipeline, so the sinks get them too;
        // log events go to the ledger.
        otlp_metrics_(
            reg, [this, &pipe](std::span<const sample> b) { return push_received(pipe, b); },
            [this, &pipe](const series& s) { return pipe.store().latest(with_host(s)); }),
        otlp_logs_(reg,
                   [&ledger](std::vector<agent::usage_event> es) {
                     return ledger.ingest_events(std::move(es));
                   }),
        // The OTLP port also takes OTLP JSON at `/`, where Gemini CLI posts it.
        otlp_only_(health_route(), otlp_route(otlp_metrics_, otlp_logs_, reg, {.at_root = true})),
#endif
        all_(health_route(), metrics_route(reg, pipe.store()), query_routes(pipe.store()),
             watch_route(pipe.store(), reg, o.sse), targets_route(targets, pipe.store()),
             events_route(ledger), claude_hooks_route(ledger, reg), spool_route(ledger),
             channels_ingest_route(
                 [this, &pipe](std::span<const sample> b) { return push_received(pipe, b); }, reg),
             channels_report_route(pipe.store()), limits_route(ledger.store()),
             usage_route(reports_), event_log_route(o.events, reg, o.log_options),
             sessions_route(o.sessions),
#ifdef VITALS_WITH_OTLP
             otlp_route(otlp_metrics_, otlp_logs_, reg),
#endif
             o.dashboard.empty() ? files_route({}, {}) : files_route::dashboard(o.dashboard)),
        read_only_(o.read_only) {
  }
  monitor_routes(const monitor_routes&) = delete;
  monitor_routes& operator=(const monitor_routes&) = delete;

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    if (read_only_ && req.method() != bhttp::verb::get && req.method() != bhttp::verb::head)
      return refuse_write(req, ex);
    return all_.handle(req, ex);
  }

  /// The usage reports the routes serve (the agents' states among them).
  reports_type& reports() noexcept { return reports_; }

#ifdef VITALS_WITH_OTLP
  using otlp_router_type = router<decltype(health_route()), otlp_route>;
  otlp_router_type& otlp_only() noexcept { return otlp_only_; }
#endif

 private:
  // `s` as stored: with this monitor's host unless it names one.
  series with_host(const series& s) const {
    if (sample_host_.empty() || !s.labels().get("host").empty()) return s;
    return series(s.name(), s.labels().with("host", sample_host_));
  }
  status push_received(Pipeline& pipe, std::span<const sample> batch) {
    if (sample_host_.empty()) return pipe.push(batch);
    std::vector<sample> stamped(batch.begin(), batch.end());
    for (auto& x : stamped) x.series = with_host(x.series);
    return pipe.push(stamped);
  }

  std::string sample_host_;
  reports_type reports_;
#ifdef VITALS_WITH_OTLP
  agent::otlp_metrics_mapper otlp_metrics_;
  agent::otlp_logs_mapper otlp_logs_;
  router<decltype(health_route()), otlp_route> otlp_only_;
#endif
  router_type all_;
  bool read_only_ = false;

  static asio::awaitable<std::optional<response>> refuse_write(const request& req, exchange& ex) {
    ex.route("read_only");
    auto res = json_error(bhttp::status::method_not_allowed,
                          std::string(req.method_string()) +
                              " is not allowed: this monitor is a read-only view of the "
                              "database (send data to a monitor that writes to it)",
                          req.version());
    res.set(bhttp::field::allow, "GET, HEAD");
    co_return res;
  }
};

}  // namespace vitals::http
