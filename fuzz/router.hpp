// Fuzz target: raw bytes as an HTTP connection would bring them, into the
// router agent_monitor serves (http::monitor_routes: every route, the spool
// and, built with vitals::otlp, the OTLP ones, over memory stores). Beast's request_parser reads up
// to eight pipelined requests with the server's limits; each runs through the router on one
// io_context, synchronously: no socket, no thread. A handler never throws,
// never answers 5xx, and a JSON answer is JSON.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <exception>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "common.hpp"
#include "vitals/http/monitor.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/stores/memory.hpp"

namespace vitals::fuzz {

/// The dashboard folder the files route serves. The fuzz build gives it
/// relative to the executable (VITALS_FUZZ_DASHBOARD_DIR_FROM_EXE): an
/// absolute path compiled in would differ in every clone and defeat ccache in
/// CI. A file that includes this one may define VITALS_FUZZ_DASHBOARD_DIR
/// (the regression test does); otherwise relative to the working directory.
inline std::string dashboard_dir() {
#if defined(VITALS_FUZZ_DASHBOARD_DIR)
  return VITALS_FUZZ_DASHBOARD_DIR;
#elif defined(VITALS_FUZZ_DASHBOARD_DIR_FROM_EXE)
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec)
    return (exe.parent_path() / VITALS_FUZZ_DASHBOARD_DIR_FROM_EXE).lexically_normal().string();
#endif
  return "examples/agent_monitor/dashboard";
}

/// A sampler that reads nothing from the machine: one gauge per tick.
struct fixed_sampler {
  label_set labels;
  status collect(sample_batch& out, timestamp t) {
    out.push_back({series("fuzz_value", labels), t, 1.0});
    return {};
  }
  std::string_view name() const noexcept { return "fixed"; }
};

class router_fixture {
 public:
  using pipe_t = pipeline<stores::memory_store>;
  using poller_t = poller<pipe_t, fixed_sampler>;
  struct factory {
    result<poller_t::any_sampler> operator()(const target_spec& s) const {
      if (s.kind != "process" && s.kind != "self" && s.kind != "scrape")
        return error(errc::invalid_argument, "kind: unknown kind '" + s.kind + "'");
      return poller_t::any_sampler(fixed_sampler{s.labels});
    }
  };

  router_fixture()
      : pipe_(store_),
        poller_(io_.get_executor(), pipe_),
        targets_(poller_, factory{}),
        ledger_(usage_, reg_),
        routes_(reg_, pipe_, targets_, ledger_, {.dashboard = dashboard_dir()}) {
    reg_.add_collector([this](metric_snapshot& out) { poller_.collect(out); });
    (void)targets_.add({.id = "self", .kind = "self", .labels = {{"target", "self"}}});
  }

  ~router_fixture() {  // untrack everything, then let the executor run dry
    for (const auto& t : targets_.list()) targets_.remove(t.spec.id);
    io_.restart();
    io_.run();
  }

  /// Runs the router on `req` to completion, on this thread.
  void handle(const http::request& req) {
    http::detail::connection conn{http::tcp::socket{io_}, {}, {}};  // never opened: streams fail
    http::exchange ex(conn);
    std::optional<http::response> res;
    std::exception_ptr failed;
    bool done = false;
    boost::asio::co_spawn(
        io_, [&]() -> boost::asio::awaitable<void> { res = co_await routes_.handle(req, ex); },
        [&](std::exception_ptr e) {
          failed = e;
          done = true;
        });
    io_.restart();
    while (!done && io_.run_one() > 0) {
    }
    VITALS_FUZZ_CHECK(done, "the handler completes");
    if (failed) {
      try {
        std::rethrow_exception(failed);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s %s: %s\n", std::string(req.method_string()).c_str(),
                     std::string(req.target()).c_str(), e.what());
      }
    }
    VITALS_FUZZ_CHECK(!failed, "a handler answers hostile input, it does not throw");
    if (!res) return;  // streamed (and failed on the unopened socket)
    if (res->result_int() >= 500)
      std::fprintf(stderr, "%s %s: %u %s\n", std::string(req.method_string()).c_str(),
                   std::string(req.target()).c_str(), res->result_int(), res->body().c_str());
    VITALS_FUZZ_CHECK(res->result_int() < 500, "hostile input is the client's error, not 5xx");
    if ((*res)[http::bhttp::field::content_type] == "application/json") {
      boost::system::error_code ec;
      (void)boost::json::parse(res->body(), ec);
      VITALS_FUZZ_CHECK(!ec, "a JSON answer is JSON");
    }
  }

 private:
  boost::asio::io_context io_;
  registry reg_;
  stores::memory_store store_;
  pipe_t pipe_;
  poller_t poller_;
  poller_targets<poller_t, factory> targets_;
  agent::usage_memory usage_;
  agent::ledger<agent::usage_memory> ledger_;
  http::monitor_routes<pipe_t, poller_targets<poller_t, factory>, agent::usage_memory> routes_;
};

inline void router(std::string_view data) {
  namespace bhttp = http::bhttp;
  const http::server_options limits{};  // the server's body and header limits
  router_fixture fixture;
  for (int i = 0; i < 8 && !data.empty(); ++i) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(limits.body_limit);
    parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
    parser.eager(true);
    http::beast::error_code ec;
    while (!data.empty() && !parser.is_done()) {
      const std::size_t n = parser.put(boost::asio::buffer(data.data(), data.size()), ec);
      data.remove_prefix(n);
      if (ec == bhttp::error::need_more && n > 0) {
        ec = {};
        continue;
      }
      if (ec) break;
    }
    if (ec || !parser.is_done()) return;
    fixture.handle(parser.get());
  }
}

}  // namespace vitals::fuzz
