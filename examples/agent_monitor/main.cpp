// The agent monitor: samples itself, the host and any tracked agent (process,
// cgroup or /metrics endpoint), keeps recent samples in a memory ring for
// live views and everything in SQLite (or PostgreSQL), takes usage events
// into the same database's usage tables, optionally pushes samples with
// remote write and OTLP, and serves the whole HTTP API, the usage reports
// and the dashboard. `agent_monitor --help` lists the flags.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <thread>

#include "vitals/agent/importers.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/maintenance.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/files.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/http/targets.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/samplers/cgroup.hpp"
#include "vitals/samplers/process.hpp"
#include "vitals/samplers/rate.hpp"
#include "vitals/samplers/scrape.hpp"
#include "vitals/samplers/system.hpp"
#include "vitals/sinks/optional.hpp"
#include "vitals/sinks/otlp_http.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/sqlite.hpp"
#include "vitals/stores/tiered.hpp"
#ifdef VITALS_MONITOR_REMOTE_WRITE
#include "vitals/sinks/remote_write.hpp"
#endif
#ifdef VITALS_MONITOR_OTLP
#include "vitals/http/otlp.hpp"
#endif
#ifdef VITALS_MONITOR_POSTGRES
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/stores/postgres.hpp"
#endif

#include "flags.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace vitals;

namespace {

using process = samplers::with_rates<samplers::process_sampler>;
using host = samplers::with_rates<samplers::system_sampler>;
using cgroup = samplers::with_rates<samplers::cgroup_sampler>;
using scrape = samplers::scrape_sampler;
using own_metrics = samplers::registry_sampler<registry>;
#ifdef VITALS_MONITOR_REMOTE_WRITE
using remote_write = sinks::optional_sink<sinks::remote_write_sink>;
#else
using remote_write = sinks::optional_sink<sinks::null_sink>;  // built without snappy
#endif
using otlp = sinks::optional_sink<sinks::otlp_http_sink>;

/// Turns a target spec into a sampler, checking what the API cannot: that
/// the process exists and the cgroup lies under the cgroup root.
struct sampler_factory {
  const registry* reg;
  std::shared_ptr<const net::allowlist> scrape_allow{};  // null: anywhere
  fs::path cgroup_root = "/sys/fs/cgroup";

  template <class Any>
  result<Any> make(const target_spec& s) const {
    if (s.kind == "self") return Any(process(samplers::process_sampler::self(s.labels)));
    if (s.kind == "host") return Any(host(samplers::system_sampler(s.labels)));
    if (s.kind == "registry") return Any(own_metrics(*reg, s.labels, "vitals"));
    if (s.kind == "process") {
      std::error_code ec;
      if (!fs::is_directory("/proc/" + std::to_string(s.pid), ec))
        return error(errc::invalid_argument, "pid: no process " + std::to_string(s.pid));
      return Any(process(samplers::process_sampler(s.pid, s.labels)));
    }
    if (s.kind == "cgroup") {
      std::error_code ec;
      const auto dir = fs::weakly_canonical(s.path, ec);
      const auto rel = dir.lexically_relative(cgroup_root);
      if (ec || rel.empty() || *rel.begin() == ".." || !fs::is_directory(dir, ec))
        return error(errc::invalid_argument,
                     "path: not a cgroup directory under " + cgroup_root.string() + ": " + s.path);
      return Any(cgroup(samplers::cgroup_sampler(dir.string(), s.labels)));
    }
    if (s.kind == "scrape") {
      if (auto st = samplers::check_scrape_target(s.url, scrape_allow.get()); !st)
        return error(errc::invalid_argument, "url: " + st.error().message);
      return Any(
          scrape(s.url, samplers::scrape_options{.labels = s.labels, .allow = scrape_allow}));
    }
    return error(errc::invalid_argument, "kind: unknown kind '" + s.kind + "'");
  }
};

std::promise<void>& stop_requested() {
  static std::promise<void> p;
  return p;
}

/// Upkeep every 2 s until cancelled: drains the spool into the usage store
/// while it holds anything, imports new lines of agents' logs, runs retention
/// when it is due (hourly: samples, usage rows, the usage WAL) and trims the
/// spool with it, and says once a minute at most that the sample store
/// refuses writes. An import's watermarks move only once the ledger has taken
/// its events, so a refused batch is read again.
template <class Pipeline, class Ledger>
asio::awaitable<void> upkeep_loop(Pipeline& pipe, Ledger& ledger, agent::spool* sp,
                                  agent::maintenance& upkeep,
                                  std::vector<std::unique_ptr<agent::jsonl_importer>>& importers) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto next_cleanup = std::chrono::steady_clock::now();
  std::uint64_t refused_told = 0;
  auto next_refusal_log = std::chrono::steady_clock::now();
  for (;;) {
    const auto now = std::chrono::steady_clock::now();
    if (sp && ledger.spooled() > 0) (void)ledger.replay();
    upkeep.tick(pipe.store(), ledger.store(), now);
    if (now >= next_cleanup) {
      if (sp) sp->cleanup({});
      next_cleanup += std::chrono::hours(1);
    }
    if (const auto refused = pipe.store_failures();
        refused > refused_told && now >= next_refusal_log) {
      std::fprintf(stderr, "agent_monitor: the sample store refused %llu batches (%s)\n",
                   static_cast<unsigned long long>(refused - refused_told),
                   pipe.last_store_error().c_str());
      refused_told = refused;
      next_refusal_log = now + std::chrono::minutes(1);
    }
    for (auto& imp : importers) {
      auto events = imp->poll();
      if (!events) continue;  // the directory is not there (yet): try again later
      bool refused = false;
      if (!events->empty())
        for (const auto& r : ledger.ingest(agent::to_ndjson(*events)).rejected)
          refused = refused || r.error.starts_with("not stored");
      if (!refused) (void)imp->commit();
    }
    timer.expires_after(std::chrono::seconds(2));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

/// Everything that depends on which stores were chosen: the composition
/// is a template, so each choice is its own type with no virtual call.
template <class Store, class Usage>
int serve(const monitor_flags& f, Store& store, Usage& usage, agent::spool* sp) {
  registry reg;
  // Push sinks that are there only when their flag is: one pipeline type.
  // The registry's own metrics reach them as the "vitals" target's samples.
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
  pipeline pipe(store, rw, ot);
  asio::io_context io;
  using poller_t = poller<decltype(pipe), process, host, cgroup, scrape, own_metrics>;
  poller_t poll(io.get_executor(), pipe,
                poller_options{.interval = f.interval, .jitter = f.interval / 10});
  reg.add_collector([&](metric_snapshot& out) { poll.collect(out); });

  sampler_factory factory{&reg};
  if (!f.scrape_allow.empty())
    factory.scrape_allow = std::make_shared<const net::allowlist>(f.scrape_allow);
  auto make = [&](const target_spec& s) { return factory.make<typename poller_t::any_sampler>(s); };
  poller_targets targets(poll, make);
  auto prices = agent::price_table::builtin();
  if (!f.prices.empty()) prices.merge(*agent::price_table::load(f.prices));  // checked by the flags
  agent::ledger ledger(usage, reg, std::move(prices));
  agent::usage_reports reports(usage, &store, [&] { return http::agent_sources(targets); });
  if (sp) {
    ledger.use_spool(*sp);
    reg.gauge_callback("vitals_agent_spool_pending",
                       "Usage events waiting in the spool for the store.",
                       [&] { return double(ledger.spooled()); });
    reg.counter_callback("vitals_agent_spool_malformed", "Spool files that could not be read.",
                         [sp] { return double(sp->malformed()); });
    reg.counter_callback("vitals_agent_spool_dead",
                         "Spool records moved to the dead-letter folder (<spool>/dead/).",
                         [sp] { return double(sp->dead()); });
  }
  const bool on_postgres = !f.postgres.empty();
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
                                           {"usage", fs::path(f.data) / "usage.db"}});
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
  add({.id = "self", .kind = "self"});
  add({.id = "host", .kind = "host"});
  add({.id = "vitals", .kind = "registry"});
  for (int pid : f.pids) add({.id = "pid-" + std::to_string(pid), .kind = "process", .pid = pid});
  for (const auto& p : f.cgroups)
    add({.id = "cgroup-" + fs::path(p).filename().string(), .kind = "cgroup", .path = p});
  for (std::size_t i = 0; i < f.scrapes.size(); ++i)
    add({.id = "scrape-" + std::to_string(i + 1), .kind = "scrape", .url = f.scrapes[i]});

#ifdef VITALS_MONITOR_OTLP
  // OTLP from the agents: metrics into the sample store (through the
  // pipeline, so the sinks get them too), log events into the ledger.
  agent::otlp_metrics_mapper otlp_metrics(
      reg, [&pipe](std::span<const sample> b) { return pipe.push(b); },
      [&store](const series& s) { return store.latest(s); });
  agent::otlp_logs_mapper otlp_logs(reg, [&ledger](std::vector<agent::usage_event> es) {
    return ledger.ingest_events(std::move(es));
  });
  http::router routes(
      http::health_route(), http::metrics_route(reg, store), http::query_routes(store),
      http::watch_route(store, reg), http::targets_route(targets), http::events_route(ledger),
      http::spool_route(ledger), http::usage_route(reports),
      http::otlp_route(otlp_metrics, otlp_logs, reg), http::files_route::dashboard(f.dashboard));
  // The OTLP port also takes OTLP JSON at `/`, where Gemini CLI posts it.
  http::router otlp_routes(http::health_route(),
                           http::otlp_route(otlp_metrics, otlp_logs, reg, {.at_root = true}));
  std::optional<http::server<decltype(otlp_routes)>> otlp_server;
  if (!f.otlp_address.empty())
    otlp_server.emplace(io.get_executor(), otlp_routes, reg,
                        http::server_options{.address = f.otlp_address,
                                             .port = f.otlp_port,
                                             .token = f.token,
                                             .allowed_hosts = f.allowed_hosts});
#else
  if (!f.otlp_address.empty()) {
    std::fprintf(stderr, "agent_monitor: --otlp-listen: built without libprotobuf\n");
    return 1;
  }
  http::router routes(http::health_route(), http::metrics_route(reg, store),
                      http::query_routes(store), http::watch_route(store, reg),
                      http::targets_route(targets), http::events_route(ledger),
                      http::spool_route(ledger), http::usage_route(reports),
                      http::files_route::dashboard(f.dashboard));
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
#ifdef VITALS_MONITOR_OTLP
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
              f.memory_only ? "memory only" : f.data.c_str(),
              f.postgres.empty() ? "" : ", samples and usage in PostgreSQL");
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
  for (const auto& [dir, kind, name] :
       {std::tuple{f.import_claude, agent::log_kind::claude, "claude"},
        std::tuple{f.import_codex, agent::log_kind::codex, "codex"}})
    if (!dir.empty())
      importers.push_back(std::make_unique<agent::jsonl_importer>(
          dir, kind,
          f.memory_only ? fs::path()
                        : fs::path(f.data) / ("import-" + std::string(name) + "-watermarks.json")));
  asio::cancellation_signal stop_upkeep;  // emitted on the loop's strand
  auto upkeep_strand = asio::make_strand(io);
  asio::co_spawn(upkeep_strand, upkeep_loop(pipe, ledger, sp, upkeep, importers),
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
#ifdef VITALS_MONITOR_OTLP
  if (otlp_server) otlp_server->stop();
#endif
  asio::post(upkeep_strand, [&] { stop_upkeep.emit(asio::cancellation_type::terminal); });
  poll.stop();
  pipe.flush();
  work.reset();
  for (auto& t : threads) t.join();
  std::fprintf(stderr, "agent_monitor: stopped cleanly\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  auto parsed = parse_monitor_flags(argc, argv);
  if (auto* code = std::get_if<int>(&parsed)) return *code;
  const auto& f = std::get<monitor_flags>(parsed);
  try {
    if (f.memory_only) {
      stores::memory_store mem;
      agent::usage_memory usage;
      return serve(f, mem, usage, nullptr);
    }
    fs::create_directories(f.data);
    agent::spool spool(fs::path(f.data) / "spool");
    if (!f.postgres.empty()) {
#ifdef VITALS_MONITOR_POSTGRES
      agent::usage_postgres usage(f.postgres);  // connects and migrates first: a bad DSN stops here
      stores::memory_store hot;
      stores::postgres_store cold(stores::postgres_options{.dsn = f.postgres});
      stores::tiered store(hot, cold);
      return serve(f, store, usage, &spool);
#else
      std::fprintf(stderr, "agent_monitor: --postgres: built without libpq\n");
      return 1;
#endif
    }
    stores::memory_store hot;
    stores::sqlite_store cold(fs::path(f.data) / "samples.db");
    stores::tiered store(hot, cold);
    agent::usage_sqlite usage(fs::path(f.data) / "usage.db", true);
    return serve(f, store, usage, &spool);
  } catch (const std::exception& e) {
    std::string line = e.what();  // libpq's messages span lines: one line here
    std::replace_if(
        line.begin(), line.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
    std::fprintf(stderr, "agent_monitor: %s\n", line.c_str());
    return 1;
  }
}
