// agent_monitor's `serve` (serve.hpp): everything above the stores, over
// the erased stores main.cpp built from the flags.
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "vitals/agent/lifecycle.hpp"
#include "vitals/http/monitor.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/sinks/optional.hpp"
#include "vitals/sinks/otlp_http.hpp"
#ifdef VITALS_MONITOR_REMOTE_WRITE
#include "vitals/sinks/remote_write.hpp"
#endif

#include "serve.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace vitals;

namespace agent_monitor {

namespace {

#ifdef VITALS_MONITOR_REMOTE_WRITE
using remote_write = sinks::optional_sink<sinks::remote_write_sink>;
#else
using remote_write = sinks::optional_sink<sinks::null_sink>;  // built without snappy
#endif
using otlp = sinks::optional_sink<sinks::otlp_http_sink>;

/// Push sinks that are there only when their flag is: one pipeline type.
using pipeline_type = pipeline<stores::any_store, remote_write, otlp>;
using poller_type = http::monitor_poller<pipeline_type>;
using factory_type = http::sampler_factory<typename poller_type::any_sampler>;
using targets_type = agent::evented_targets<poller_targets<poller_type, factory_type>>;
using routes_type = http::monitor_routes<pipeline_type, targets_type, agent::any_usage_store>;

std::promise<void>& stop_requested() {
  static std::promise<void> p;
  return p;
}

}  // namespace

// Compiled once, whichever stores the flags chose: they are reached through
// any_store, any_usage_store and any_event_store (one virtual call per batch
// or per request, none per sample; docs/benchmarks.md, issue 14).
// --read-only makes a view of a followed store: nothing tracked, imported,
// pruned or written, and a loop that follows the database instead of upkeep.
int serve(const monitor_flags& f, stores::any_store& store, agent::any_usage_store& usage,
          agent::spool* sp, stores::any_event_store& events) {
  const bool view = f.read_only;
  registry reg;
  agent::event_recorder lifecycle(events, reg);  // hub -> persister -> `events`
  // The registry's own metrics reach the push sinks as the "vitals" target's samples.
  remote_write rw;
  otlp ot;
  if (!f.remote_write.empty()) {
#ifdef VITALS_MONITOR_REMOTE_WRITE
    rw.emplace(f.remote_write, sinks::push_options{}, reg);
#else
    std::fprintf(stderr, "agent_monitor: --remote-write: built without snappy\n");
    return 1;
#endif
  }
  if (!f.otlp.empty()) ot.emplace(f.otlp, sinks::otlp_options{}, reg);
  pipeline_type pipe(store, rw, ot);
  asio::io_context io;
  poller_type poll(io.get_executor(), pipe,
                   poller_options{.interval = f.interval, .jitter = f.interval / 10});
  reg.add_collector([&](metric_snapshot& out) { poll.collect(out); });

  const bool on_postgres = !f.postgres.empty();
  factory_type factory{.reg = &reg};
  if (on_postgres || f.host_name_given) factory.host = f.host_name;
  if (!f.scrape_allow.empty())
    factory.scrape_allow = std::make_shared<const net::allowlist>(f.scrape_allow);
  poller_targets tracked(poll, factory);
  targets_type targets(tracked, lifecycle.hub());
  auto prices = agent::price_table::builtin();
  if (!f.prices.empty()) prices.merge(*agent::price_table::load(f.prices));  // checked by the flags
  agent::ledger ledger(usage, reg, std::move(prices));
  ledger.set_host(f.host_name);
  if (sp) ledger.use_spool(*sp);
  agent::session_book sessions(
      {.dir = f.memory_only || view ? fs::path() : fs::path(f.data) / "sessions"}, reg);
  sessions.load();
  ledger.on_taken([&sessions](const auto& e, const auto* before) { sessions.record(e, before); });
  http::add_monitor_metrics(reg, pipe, ledger, sp);
  agent::maintenance upkeep(
      agent::retention_options{
          .samples = f.retention_samples,
          .usage = {.events =
                        std::chrono::duration_cast<std::chrono::hours>(f.retention_usage.value_or(
                            on_postgres ? std::chrono::days(30) : std::chrono::days(400)))}},
      reg,
      f.memory_only || on_postgres
          ? std::vector<agent::store_file>{}
          : std::vector<agent::store_file>{{"samples", fs::path(f.data) / "samples.db"},
                                           {"usage", fs::path(f.data) / "usage.db"},
                                           {"events", fs::path(f.data) / "events.db"}});
  agent::lifecycle_watch watch(lifecycle.hub(), events, upkeep, &sessions);
  if (auto st = ledger.load(); !st) {
    std::fprintf(stderr, "agent_monitor: cannot read stored usage events: %s\n",
                 st.error().message.c_str());
    return 1;
  }

  auto add = [&](target_spec s) {
    if (s.labels.empty()) s.labels = label_set{{"target", s.id}};
    if (auto st = targets.add(s); !st)
      std::fprintf(stderr, "agent_monitor: not tracking %s: %s\n", s.id.c_str(),
                   st.error().message.c_str());
  };
  if (!view) {
    add({.id = "self", .kind = "self"});
    add({.id = "host", .kind = "host"});
    add({.id = "vitals", .kind = "registry"});
  }
  for (int pid : f.pids) add({.id = "pid-" + std::to_string(pid), .kind = "process", .pid = pid});
  for (const auto& p : f.cgroups)
    add({.id = "cgroup-" + fs::path(p).filename().string(), .kind = "cgroup", .path = p});
  for (std::size_t i = 0; i < f.scrapes.size(); ++i)
    add({.id = "scrape-" + std::to_string(i + 1),
         .kind = "scrape",
         .url = f.scrapes[i].url,
         .requests_counter = f.scrapes[i].requests_counter,
         .latency_histogram = f.scrapes[i].latency_histogram});

  routes_type routes(reg, pipe, targets, ledger,
                     {.dashboard = f.dashboard,
                      .events = &lifecycle.log(),
                      .sessions = &sessions,
                      .reports = {.workspace_path = f.workspace, .host = f.host_name},
                      .sample_host = factory.host,
                      .read_only = view});
#ifdef VITALS_WITH_OTLP
  using otlp_server_t = http::server<routes_type::otlp_router_type>;
  std::optional<otlp_server_t> otlp_server;
  if (!f.otlp_address.empty())
    otlp_server.emplace(io.get_executor(), routes.otlp_only(), reg,
                        http::server_options{.address = f.otlp_address,
                                             .port = f.otlp_port,
                                             .token = f.token,
                                             .allowed_hosts = f.allowed_hosts});
#else
  if (!f.otlp_address.empty()) {
    std::fprintf(stderr, "agent_monitor: --otlp-listen: built without libprotobuf\n");
    return 1;
  }
#endif
  http::server server(io.get_executor(), routes, reg,
                      http::server_options{.address = f.address,
                                           .port = f.port,
                                           .token = f.token,
                                           .allowed_hosts = f.allowed_hosts});
  if (auto st = server.start(); !st) {
    std::fprintf(stderr, "agent_monitor: %s\n", st.error().message.c_str());
    poll.stop();
    return 1;
  }
#ifdef VITALS_WITH_OTLP
  if (otlp_server) {
    if (auto st = otlp_server->start(); !st) {
      std::fprintf(stderr, "agent_monitor: --otlp-listen: %s\n", st.error().message.c_str());
      server.stop();
      poll.stop();
      return 1;
    }
    std::printf("vitals agent monitor: OTLP/HTTP on http://%s:%u/v1/metrics and /v1/logs\n",
                f.otlp_address.c_str(), unsigned(otlp_server->port()));
  }
#endif
  std::printf("vitals agent monitor: dashboard and API on http://%s:%u/ (data: %s%s)\n",
              f.address.c_str(), unsigned(server.port()),
              view            ? "a read-only view of PostgreSQL"
              : f.memory_only ? "memory only"
                              : f.data.c_str(),
              view || f.postgres.empty() ? "" : ", samples and usage in PostgreSQL");
  std::fflush(stdout);
  if (f.token.empty())
    if (auto a = http::detail::ip_literal(f.address); !a || !http::detail::is_loopback(*a))
      std::fprintf(stderr,
                   "agent_monitor: warning: listening on %s without a token: anyone who can "
                   "reach it can use the API (set --token-file or VITALS_TOKEN)\n",
                   f.address.c_str());

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([](auto ec, int) {
    if (!ec) stop_requested().set_value();
  });
  std::vector<std::unique_ptr<agent::jsonl_importer>> importers;
  // --memory-only keeps the watermarks in memory: nothing of the run is left
  // behind, and no predictable file name in a shared temporary folder.
  if (!view)
    for (const auto& [dir, kind, name] :
         {std::tuple{f.import_claude, agent::log_kind::claude, "claude"},
          std::tuple{f.import_codex, agent::log_kind::codex, "codex"}})
      if (!dir.empty())
        importers.push_back(std::make_unique<agent::jsonl_importer>(
            dir, kind,
            f.memory_only
                ? fs::path()
                : fs::path(f.data) / ("import-" + std::string(name) + "-watermarks.json")));
  asio::cancellation_signal stop_upkeep;  // emitted on the loop's strand
  auto upkeep_strand = asio::make_strand(io);
  http::upkeep_options upkeep_opts;
  upkeep_opts.warn = [](const std::string& m) {
    std::fprintf(stderr, "agent_monitor: %s\n", m.c_str());
  };
  upkeep_opts.after_tick = [&] {
    // This monitor's agents only: on a shared database the others are
    // their own monitors' to watch.
    watch.check(targets, ledger,
                [&] { return routes.reports().agents(vitals::now(), f.host_name); });
    (void)sessions.flush();  // failures are counted in vitals_agent_session_writes_total
  };
  if (view)
    asio::co_spawn(upkeep_strand, http::follow_loop(store, f.follow_every),
                   asio::bind_cancellation_slot(stop_upkeep.slot(), asio::detached));
  else
    asio::co_spawn(upkeep_strand,
                   http::upkeep_loop(pipe, ledger, sp, upkeep, importers, upkeep_opts),
                   asio::bind_cancellation_slot(stop_upkeep.slot(), asio::detached));
  auto work = asio::make_work_guard(io);
  std::vector<std::thread> threads;
  for (unsigned i = 0; i < f.threads; ++i) threads.emplace_back([&] { io.run(); });
  stop_requested().get_future().wait();

  // Ask the server to stop (clients get their answers, streams end), stop
  // sampling (each sample in flight finishes and is stored), then let the
  // executor run dry. Usage events are stored before they are acknowledged.
  std::fprintf(stderr, "agent_monitor: stopping\n");
  server.stop();
#ifdef VITALS_WITH_OTLP
  if (otlp_server) otlp_server->stop();
#endif
  asio::post(upkeep_strand, [&] { stop_upkeep.emit(asio::cancellation_type::terminal); });
  poll.stop();
  pipe.flush();
  work.reset();
  for (auto& t : threads) t.join();
  (void)sessions.flush();
  lifecycle.stop();  // every lifecycle event published is in the store
  std::fprintf(stderr, "agent_monitor: stopped cleanly\n");
  return 0;
}

}  // namespace agent_monitor
