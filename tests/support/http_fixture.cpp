// The http_fixture's parts (support/http_fixture.hpp), compiled once for the
// suite: the monitor's routes and the server over them are the costliest
// templates the tests instantiate.
#include "support/http_fixture.hpp"

#include <signal.h>

#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <thread>
#include <vector>

#include "vitals/http/monitor.hpp"
#include "vitals/http/monitor_samplers.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/samplers/process.hpp"

namespace vitals::test {

struct http_fixture::parts {
  using process = samplers::process_sampler;
  using pipe_t = pipeline<stores::memory_store>;
  using poller_t = poller<pipe_t, process, samplers::scrape_sampler>;
  struct factory {
    result<poller_t::any_sampler> operator()(const target_spec& s) const {
      // Scrapes as the monitor makes them (to a local exporter of the test's).
      if (s.kind == "scrape") return http::sampler_factory<poller_t::any_sampler>{}(s);
      if (s.kind != "process")
        return error(errc::invalid_argument, "kind: only process and scrape here");
      if (::kill(s.pid, 0) != 0)
        return error(errc::invalid_argument, "pid: no process " + std::to_string(s.pid));
      return poller_t::any_sampler(process(s.pid, s.labels));
    }
  };
  using targets_t = poller_targets<poller_t, factory>;
  using routes_t = http::monitor_routes<pipe_t, targets_t, agent::usage_memory>;

  explicit parts(const fixture_options& o)
      : pipe_(store_),
        poller_(io_.get_executor(), pipe_,
                poller_options{.interval = std::chrono::milliseconds(100)}),
        targets_(poller_, factory{}, o.targets),
        ledger_(usage_, reg_),
        routes_(reg_, pipe_, targets_, ledger_, {.sse = o.sse}),
        server_(io_.get_executor(), routes_, reg_, o.server) {}

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  registry reg_;
  stores::memory_store store_;
  pipe_t pipe_;
  poller_t poller_;
  targets_t targets_;
  agent::usage_memory usage_;
  agent::ledger<agent::usage_memory> ledger_;
  routes_t routes_;
  http::server<routes_t> server_;
  std::vector<std::thread> threads_;
};

http_fixture::http_fixture(fixture_options o) : parts_(std::make_unique<parts>(o)) {
  if (auto st = parts_->server_.start(); !st) throw std::runtime_error(st.error().message);
  for (int i = 0; i < 2; ++i) parts_->threads_.emplace_back([this] { parts_->io_.run(); });
}

http_fixture::~http_fixture() { shutdown(); }

bool http_fixture::shutdown(std::chrono::milliseconds within) {
  parts& p = *parts_;
  if (p.threads_.empty()) return true;
  p.server_.stop();
  p.poller_.stop();
  p.work_.reset();
  const auto end = std::chrono::steady_clock::now() + within;
  while (!p.io_.stopped() && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  const bool ok = p.io_.stopped();
  if (!ok) p.io_.stop();
  for (auto& t : p.threads_) t.join();
  p.threads_.clear();
  return ok;
}

std::uint16_t http_fixture::port() const { return parts_->server_.port(); }
stores::memory_store& http_fixture::store() { return parts_->store_; }
registry& http_fixture::metrics() { return parts_->reg_; }

}  // namespace vitals::test
