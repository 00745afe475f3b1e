// /metrics served by vitals' server and by prometheus-cpp's own Exposer, side
// by side in one process, over the same ~1,000 series with identical names,
// labels and values, for a load generator (scripts/bench-http runs wrk).
// Prints `vitals <port>`, `prometheus-cpp <port>` (the Exposer as built by
// default: civetweb closes the connection after each answer) and
// `prometheus-cpp-keepalive <port>` (civetweb's enable_keep_alive and
// tcp_nodelay on; keep-alive alone makes each answer wait ~40 ms for a delayed
// ACK), then serves until stdin closes or SIGTERM/SIGINT arrives. Every server
// runs 2 worker threads: prometheus-cpp's Exposer defaults to 2 civetweb
// workers, and vitals' io_context is run by 2 threads. `http_peers N` adds a
// gauge family of N more series to each; `http_peers --only N` serves that
// family alone, N sample lines. `http_peers --exposition FILE` has the
// Exposers serve the families of a text exposition (names, help, types,
// labels, values, buckets) through a prometheus::Collectable: scripts/bench-http
// monitor gives it the agent monitor's own /metrics, so both serve the same.
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "vitals/format/parse.hpp"
#include "vitals/http/api.hpp"
#include "vitals/stores/memory.hpp"

namespace {

constexpr std::size_t worker_threads = 2;  // prometheus::Exposer's default num_threads

// 10 counter families x 50 series (10 services x 5 codes) = 500 lines,
// 10 gauge families x 30 instances = 300 lines,
// 2 histogram families x 7 services x 14 lines (11 buckets, +Inf, _sum, _count) = 196 lines.
constexpr std::array<const char*, 10> counter_names = {
    "app_http_requests_total", "app_http_errors_total", "app_rpc_calls_total",
    "app_rpc_errors_total",    "app_cache_hits_total",  "app_cache_misses_total",
    "app_queue_pushes_total",  "app_queue_pops_total",  "app_bytes_sent_total",
    "app_bytes_received_total"};
constexpr std::array<const char*, 10> gauge_names = {
    "app_queue_depth",         "app_pool_connections",    "app_memory_bytes", "app_cpu_percent",
    "app_temperature_celsius", "app_open_files",          "app_threads",      "app_cache_entries",
    "app_inflight_requests",   "app_last_success_seconds"};
constexpr std::array<const char*, 2> histogram_names = {"app_http_request_duration_seconds",
                                                        "app_rpc_duration_seconds"};
constexpr std::array<const char*, 5> codes = {"200", "201", "404", "500", "503"};
constexpr std::size_t services = 10, instances = 30, histogram_services = 7, observations = 100;

std::string service(std::size_t i) { return "svc-" + std::to_string(i); }
std::string instance(std::size_t i) { return (i < 10 ? "node-0" : "node-") + std::to_string(i); }
double counter_value(std::size_t f, std::size_t i) { return double((f * 50 + i) * 37 + 1); }
double gauge_value(std::size_t f, std::size_t i) { return double(f + 1) * double(i) * 0.25; }
// Spread log-uniformly over 1 ms .. 20 s, so every bucket gets some.
double observation(std::size_t k) {
  return 1e-3 * std::pow(2e4, std::fmod(double(k) * 0.618034, 1.0));
}

std::size_t extra_series = 0;  // argv[1]
bool only_extra = false;       // --only: the extra family alone

void fill(vitals::registry& r) {
  auto& extra = r.gauge_family("app_extra_value", "Bench gauge sized by argv[1].", {"series"});
  for (std::size_t i = 0; i < extra_series; ++i) extra.with(std::to_string(i)).set(double(i));
  if (only_extra) return;
  for (std::size_t f = 0; f < counter_names.size(); ++f) {
    auto& fam = r.counter_family(counter_names[f], "Bench counter.", {"service", "code"});
    for (std::size_t s = 0; s < services; ++s)
      for (std::size_t c = 0; c < codes.size(); ++c)
        fam.with(service(s), codes[c]).inc(counter_value(f, s * codes.size() + c));
  }
  for (std::size_t f = 0; f < gauge_names.size(); ++f) {
    auto& fam = r.gauge_family(gauge_names[f], "Bench gauge.", {"instance"});
    for (std::size_t i = 0; i < instances; ++i) fam.with(instance(i)).set(gauge_value(f, i));
  }
  for (const char* name : histogram_names) {
    auto& fam = r.histogram_family(name, "Bench histogram.", {"service"});
    for (std::size_t s = 0; s < histogram_services; ++s)
      for (std::size_t k = 0; k < observations; ++k)
        fam.with(service(s)).observe(observation(s * observations + k));
  }
}

void fill(prometheus::Registry& r) {
  if (extra_series > 0) {
    auto& extra = prometheus::BuildGauge()
                      .Name("app_extra_value")
                      .Help("Bench gauge sized by argv[1].")
                      .Register(r);
    for (std::size_t i = 0; i < extra_series; ++i)
      extra.Add({{"series", std::to_string(i)}}).Set(double(i));
  }
  if (only_extra) return;
  for (std::size_t f = 0; f < counter_names.size(); ++f) {
    auto& fam =
        prometheus::BuildCounter().Name(counter_names[f]).Help("Bench counter.").Register(r);
    for (std::size_t s = 0; s < services; ++s)
      for (std::size_t c = 0; c < codes.size(); ++c)
        fam.Add({{"service", service(s)}, {"code", codes[c]}})
            .Increment(counter_value(f, s * codes.size() + c));
  }
  for (std::size_t f = 0; f < gauge_names.size(); ++f) {
    auto& fam = prometheus::BuildGauge().Name(gauge_names[f]).Help("Bench gauge.").Register(r);
    for (std::size_t i = 0; i < instances; ++i)
      fam.Add({{"instance", instance(i)}}).Set(gauge_value(f, i));
  }
  const prometheus::Histogram::BucketBoundaries bounds = {.005, .01, .025, .05, .1, .25,
                                                          .5,   1,   2.5,  5,   10};
  for (const char* name : histogram_names) {
    auto& fam = prometheus::BuildHistogram().Name(name).Help("Bench histogram.").Register(r);
    for (std::size_t s = 0; s < histogram_services; ++s) {
      auto& h = fam.Add({{"service", service(s)}}, bounds);
      for (std::size_t k = 0; k < observations; ++k) h.Observe(observation(s * observations + k));
    }
  }
}

// The families of a text exposition, as prometheus-cpp's collectors hand
// them to its serializer: what an Exposer would serve for the same series.
class exposition_collectable final : public prometheus::Collectable {
 public:
  explicit exposition_collectable(const vitals::metric_snapshot& snap) {
    for (const auto& f : snap) {
      prometheus::MetricFamily out;
      out.name = f.name;
      out.help = f.help;
      for (const auto& p : f.points) {
        auto& m = out.metric.emplace_back();
        for (const auto& l : p.labels) m.label.push_back({l.name, l.value});
        switch (f.type) {
          case vitals::metric_type::counter:
            out.type = prometheus::MetricType::Counter;
            m.counter.value = p.value;
            break;
          case vitals::metric_type::gauge:
            out.type = prometheus::MetricType::Gauge;
            m.gauge.value = p.value;
            break;
          case vitals::metric_type::histogram:
            out.type = prometheus::MetricType::Histogram;
            m.histogram.sample_count = static_cast<std::uint64_t>(p.count);
            m.histogram.sample_sum = p.sum;
            for (const auto& b : p.buckets)
              m.histogram.bucket.push_back({static_cast<std::uint64_t>(b.count), b.le});
            break;
          case vitals::metric_type::summary:
            out.type = prometheus::MetricType::Summary;
            m.summary.sample_count = static_cast<std::uint64_t>(p.count);
            m.summary.sample_sum = p.sum;
            for (const auto& q : p.quantiles) m.summary.quantile.push_back({q.q, q.value});
            break;
          default:
            out.type = prometheus::MetricType::Untyped;
            m.untyped.value = p.value;
        }
      }
      families_.push_back(std::move(out));
    }
  }
  std::vector<prometheus::MetricFamily> Collect() const override { return families_; }

 private:
  std::vector<prometheus::MetricFamily> families_;
};

// Blocks until stdin reaches EOF or SIGTERM/SIGINT arrives (both blocked in
// every thread, so they are only read here).
void wait_for_end(const sigset_t& sigs) {
  const int sfd = ::signalfd(-1, &sigs, 0);
  std::array<pollfd, 2> fds{pollfd{0, POLLIN, 0}, pollfd{sfd, POLLIN, 0}};
  for (;;) {
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[1].revents) break;
    if (fds[0].revents) {
      char buf[256];
      if (::read(0, buf, sizeof buf) <= 0) break;
    }
  }
  ::close(sfd);
}

}  // namespace

int main(int argc, char** argv) {
  int arg = 1;
  std::shared_ptr<exposition_collectable> served;
  if (arg + 1 < argc && std::string_view(argv[arg]) == "--exposition") {
    std::ifstream in(argv[arg + 1]);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = vitals::format::parse_text(text.str());
    if (!in || !parsed.ok()) {
      std::fprintf(stderr, "http_peers: cannot read the exposition in %s\n", argv[arg + 1]);
      return 1;
    }
    served = std::make_shared<exposition_collectable>(parsed.families);
    only_extra = true;  // and extra_series stays 0: the exposition alone
    arg += 2;
  }
  if (arg < argc && std::string_view(argv[arg]) == "--only") only_extra = true, ++arg;
  if (arg < argc)
    extra_series = std::min<std::size_t>(std::strtoull(argv[arg], nullptr, 10), 1'000'000);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);  // inherited by every thread started below

  // vitals: registry + empty store + /healthz and /metrics.
  vitals::registry reg;
  vitals::stores::memory_store store;
  fill(reg);
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  vitals::http::router routes(vitals::http::health_route(),
                              vitals::http::metrics_route(reg, store));
  vitals::http::server srv(io.get_executor(), routes, reg, {.port = 0});
  if (auto st = srv.start(); !st) {
    std::fprintf(stderr, "http_peers: vitals server: %s\n", st.error().message.c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < worker_threads; ++i) threads.emplace_back([&] { io.run(); });

  // prometheus-cpp: the same series behind its Exposer (civetweb).
  auto prom = std::make_shared<prometheus::Registry>();
  fill(*prom);
  prometheus::Exposer exposer("127.0.0.1:0", worker_threads);
  exposer.RegisterCollectable(prom);
  if (served) exposer.RegisterCollectable(served);
  prometheus::Exposer keepalive(std::vector<std::string>{
      "listening_ports", "127.0.0.1:0", "num_threads", std::to_string(worker_threads),
      "enable_keep_alive", "yes", "tcp_nodelay", "1"});
  keepalive.RegisterCollectable(prom);
  if (served) keepalive.RegisterCollectable(served);
  const auto ports = exposer.GetListeningPorts(), ka_ports = keepalive.GetListeningPorts();
  if (ports.empty() || ports.front() == 0 || ka_ports.empty() || ka_ports.front() == 0) {
    std::fprintf(stderr, "http_peers: a prometheus-cpp Exposer reports no port\n");
    return 1;
  }

  std::printf("vitals %u\nprometheus-cpp %d\nprometheus-cpp-keepalive %d\n", unsigned(srv.port()),
              ports.front(), ka_ports.front());
  std::fflush(stdout);

  wait_for_end(sigs);
  srv.stop();
  work.reset();
  for (auto& t : threads) t.join();
  return 0;
}
