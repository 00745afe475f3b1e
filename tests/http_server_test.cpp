// The HTTP server end to end (a real server on 127.0.0.1:0, spoken to over
// loopback): health, routing, keep-alive, /metrics in both formats and after
// every store change, and a shutdown with clients still connected.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/http/exporter.hpp"
#include "vitals/http/server_options.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

TEST(HttpServer, HealthzAnswersJson) {
  http_fixture f;
  auto c = f.client();
  auto r = c.get("/healthz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->headers["content-type"], "application/json");
  EXPECT_EQ(json_of(*r).at("status"), "ok");
}

TEST(HttpServer, UnknownRouteIs404AndWrongMethodIs405WithAllow) {
  http_fixture f;
  auto c = f.client();
  auto r = c.get("/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  EXPECT_TRUE(json_of(*r).as_object().contains("error"));
  r = c.request(http::bhttp::verb::put, "/metrics", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(r->headers["allow"], "GET, HEAD");
  r = c.get("/api/v1/events");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(r->headers["allow"], "POST");
}

TEST(HttpServer, KeepAliveServesManyRequestsOnOneConnection) {
  http_fixture f;
  auto c = f.client();
  for (int i = 0; i < 20; ++i) {
    auto r = c.get("/healthz");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u);
  }
  EXPECT_TRUE(
      eventually([&] { return f.counter("vitals_http_requests", "route", "healthz") == 20; }));
  EXPECT_EQ(f.counter("vitals_http_connections"), 1);
}

TEST(HttpServer, MetricsServesRegistryAndStoreLatestInBothFormats) {
  http_fixture f;
  f.metrics().counter("demo_requests", "Requests.").inc(3);
  const auto t = recent_ms(1);
  ASSERT_TRUE(f.store().append(
      std::vector{at("process_cpu_seconds_total", {{"target", "a"}}, t, 1.5),
                  at("process_resident_memory_bytes", {{"target", "a"}}, t, 4096)}));
  auto c = f.client();
  auto r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(r->body.find("demo_requests_total 3"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find("process_cpu_seconds_total{target=\"a\"} 1.5"), std::string::npos);
  EXPECT_NE(r->body.find("# TYPE process_resident_memory_bytes gauge"), std::string::npos);
  auto text = format::parse(r->body, r->headers["content-type"]);
  EXPECT_TRUE(text.errors.empty()) << text.errors.front().message;

  r = c.get("/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers["content-type"],
            "application/openmetrics-text; version=1.0.0; charset=utf-8");
  EXPECT_TRUE(r->body.ends_with("# EOF\n"));
  auto om = format::parse(r->body, r->headers["content-type"]);
  EXPECT_TRUE(om.errors.empty()) << om.errors.front().message;
  EXPECT_EQ(om.families.size(), text.families.size());
}

// The store's part of /metrics is rendered once per store version: what a
// later scrape serves must follow every append, drop and prune at once, and
// a name the registry starts exposing pushes the stored family out.
TEST(HttpServer, MetricsFollowsTheStoreBetweenScrapes) {
  http_fixture f;
  auto c = f.client();
  const series cpu("process_cpu_seconds_total", {{"target", "a"}});
  auto scrape = [&](bool om = false) {
    auto r = om ? c.get("/metrics", {{"Accept", "application/openmetrics-text; version=1.0.0"}})
                : c.get("/metrics");
    return r && r->status == 200u ? r->body : std::string("no answer");
  };
  const auto t = recent_ms(2);
  const auto v0 = f.store().version();
  ASSERT_TRUE(
      f.store().append(std::vector{at("process_cpu_seconds_total", {{"target", "a"}}, t, 1.5)}));
  EXPECT_GT(f.store().version(), v0);
  EXPECT_NE(scrape().find("process_cpu_seconds_total{target=\"a\"} 1.5"), std::string::npos);
  EXPECT_NE(scrape(true).find("process_cpu_seconds_total{target=\"a\"} 1.5"), std::string::npos);

  ASSERT_TRUE(f.store().append(
      std::vector{at("process_cpu_seconds_total", {{"target", "a"}}, t + 1000, 2.5)}));
  auto body = scrape();
  EXPECT_NE(body.find("process_cpu_seconds_total{target=\"a\"} 2.5"), std::string::npos) << body;
  EXPECT_EQ(body.find("process_cpu_seconds_total{target=\"a\"} 1.5"), std::string::npos) << body;
  body = scrape(true);
  EXPECT_NE(body.find("process_cpu_seconds_total{target=\"a\"} 2.5"), std::string::npos) << body;
  EXPECT_TRUE(body.ends_with("# EOF\n"));

  // The registry takes the name: the stored family is left out, never repeated.
  f.metrics().counter("process_cpu_seconds", "The registry's own.").inc(7);
  body = scrape();
  EXPECT_NE(body.find("process_cpu_seconds_total 7"), std::string::npos) << body;
  EXPECT_EQ(body.find("process_cpu_seconds_total{target=\"a\"}"), std::string::npos) << body;
  auto parsed = format::parse(body, "text/plain; version=0.0.4");
  EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().message;

  ASSERT_TRUE(f.store().append(std::vector{at("node_load1", {}, t, 0.25)}));
  EXPECT_NE(scrape().find("node_load1 0.25"), std::string::npos);
  EXPECT_TRUE(f.store().drop(series("node_load1", {})));
  EXPECT_EQ(scrape().find("node_load1"), std::string::npos);
  ASSERT_TRUE(f.store().append(std::vector{at("node_load1", {}, t, 0.5)}));
  EXPECT_NE(scrape().find("node_load1 0.5"), std::string::npos);
  ASSERT_TRUE(f.store().prune_before(timestamp::max()));
  EXPECT_EQ(scrape().find("node_load1"), std::string::npos);
}

TEST(HttpShutdown, StopsWithClientsConnected) {
  test::fixture_options o;
  o.server.shutdown_grace = 2s;
  http_fixture f(o);
  raw_socket sse(f.port());
  ASSERT_TRUE(sse.send(watch_request("cpu")));
  ASSERT_TRUE(sse.read_until("retry: 3000"));
  raw_socket idle(f.port());
  ASSERT_TRUE(idle.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(idle.read_until("\r\n\r\n"));
  raw_socket half(f.port());
  ASSERT_TRUE(
      half.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n"));  // never finishes its request
  const auto started = std::chrono::steady_clock::now();
  EXPECT_TRUE(f.shutdown(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 4s);
  EXPECT_TRUE(sse.read_to_eof(1s));
  EXPECT_TRUE(idle.read_to_eof(1s));
  EXPECT_TRUE(half.read_to_eof(1s));
  raw_socket late(f.port());
  EXPECT_FALSE(late.connected() && late.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n") &&
               late.read_until("HTTP/1.1 200", 500ms));
}

// http::exporter: the registry on /metrics from a thread of its own, for a
// program with no Asio loop (minimal_exporter.cpp runs it as a user would).
TEST(Exporter, ServesTheRegistryFromItsOwnThreadAndStops) {
  registry reg;
  auto& jobs = reg.counter("jobs_done_total", "Jobs finished.");
  // A long grace: a stop that had to wait for it would show below.
  http::exporter exporter(reg, {.port = 0, .shutdown_grace = 30s});
  EXPECT_EQ(exporter.port(), 0u);
  ASSERT_TRUE(exporter.start());
  const auto port = exporter.port();
  ASSERT_NE(port, 0u);
  jobs.inc(3);
  net::client c("127.0.0.1", std::to_string(port));
  auto r = c.get("/healthz");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  r = c.get("/metrics");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u);
  EXPECT_NE(r->body.find("\njobs_done_total 3\n"), std::string::npos) << r->body;
  // The server's access metrics go to the same registry.
  EXPECT_NE(r->body.find(R"(vitals_http_requests_total{code="200",route="healthz"} 1)"),
            std::string::npos)
      << r->body;
  // The server's guard is the same as everywhere: a page's foreign Host is refused.
  r = c.get("/metrics", {{"Host", "evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421u);
  auto again = exporter.start();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("serves once"), std::string::npos);
  // `c` holds a kept-alive connection: stop() closes it without the grace.
  const auto asked = std::chrono::steady_clock::now();
  exporter.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - asked, 10s);
  exporter.stop();  // a second stop is nothing
  raw_socket late(port);
  EXPECT_FALSE(late.connected() && late.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n") &&
               late.read_until("HTTP/1.1 200", 500ms));
}

TEST(Exporter, APortInUseIsAnErrorAndTheDestructorStopsAServingOne) {
  registry reg;
  std::uint16_t port = 0;
  {
    http::exporter first(reg, {.port = 0});
    ASSERT_TRUE(first.start());
    port = first.port();
    registry other;
    http::exporter second(other, {.port = port});
    auto st = second.start();
    ASSERT_FALSE(st);
    EXPECT_NE(st.error().message.find("cannot bind"), std::string::npos) << st.error().message;
    EXPECT_EQ(second.port(), 0u);
    net::client c("127.0.0.1", std::to_string(port));
    auto r = c.get("/healthz");  // the first still serves, and `c` stays connected
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->status, 200u);
    second.stop();  // never started: nothing to stop
  }                 // `first` stops here, while serving a connected client
  raw_socket late(port);
  EXPECT_FALSE(late.connected());
}

TEST(Exporter, AStopBeforeStartLeavesNothingToStart) {
  registry reg;
  http::exporter exporter(reg, {.port = 0});
  exporter.stop();
  auto st = exporter.start();
  ASSERT_FALSE(st);
  EXPECT_EQ(exporter.port(), 0u);
}

}  // namespace
