// The HTTP server and API end to end: a real server on 127.0.0.1:0, spoken
// to over loopback by the bundled client and by raw sockets.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_fixture.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/http/targets.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;
using test::eventually;
using test::http_fixture;
using test::raw_socket;

boost::json::value json_of(const net::client_response& r) { return boost::json::parse(r.body); }

sample at(std::string name, label_set labels, std::int64_t t_ms, double v) {
  return {series(std::move(name), std::move(labels)), from_unix_ms(t_ms), v};
}

std::int64_t recent_ms(int seconds_ago) { return to_unix_ms(vitals::now()) - seconds_ago * 1000; }

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

class HttpQuery : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 60; ++i) {
      batch_.push_back(at("cpu", {{"target", "a"}}, base_ + i * 1000, i));
      batch_.push_back(at("cpu", {{"target", "b"}}, base_ + i * 1000, 100 + i));
    }
    batch_.push_back(at("mem", {{"target", "a"}}, base_, 7));
    ASSERT_TRUE(f_.store().append(batch_));
  }
  http_fixture f_;
  std::int64_t base_ = recent_ms(120) / 1000 * 1000;
  std::vector<sample> batch_;
  net::client c_ = f_.client();
};

TEST_F(HttpQuery, SeriesListsMatchingSeriesSorted) {
  auto r = c_.get("/api/v1/series?sel=" + net::url_encode("{__name__=~\"cpu|mem\",target=\"a\"}"));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(json_of(*r), boost::json::parse(R"([{"name":"cpu","labels":{"target":"a"}},
                                                 {"name":"mem","labels":{"target":"a"}}])"));
  r = c_.get("/api/v1/series");
  ASSERT_TRUE(r);
  EXPECT_EQ(json_of(*r).as_array().size(), 3u);
}

TEST_F(HttpQuery, LatestGivesTimeAndValue) {
  auto r = c_.get("/api/v1/latest?sel=cpu");
  ASSERT_TRUE(r);
  auto v = json_of(*r).as_array();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].at("labels").at("target"), "a");
  EXPECT_EQ(v[0].at("t").as_int64(), base_ + 59'000);
  EXPECT_EQ(v[0].at("v").to_number<double>(), 59);
  EXPECT_EQ(v[1].at("v").to_number<double>(), 159);
}

TEST_F(HttpQuery, RangeDownsamplesWithStepAndAggregation) {
  const std::string from = std::to_string(base_ / 1000), to = std::to_string(base_ / 1000 + 59);
  auto r = c_.get("/api/v1/range?sel=cpu%7Btarget%3D%22a%22%7D&from=" + from + "&to=" + to +
                  "&step=10s&agg=max");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto rows = json_of(*r).as_array();
  ASSERT_EQ(rows.size(), 1u);
  const auto& pts = rows[0].at("points").as_array();
  ASSERT_EQ(pts.size(), 6u);
  EXPECT_EQ(pts[0].as_array()[0].as_int64(), base_);
  EXPECT_EQ(pts[0].as_array()[1].to_number<double>(), 9);
  EXPECT_EQ(pts[5].as_array()[1].to_number<double>(), 59);

  // RFC 3339 bounds give the same answer as unix seconds.
  auto r2 = c_.get("/api/v1/range?sel=cpu%7Btarget%3D%22a%22%7D&from=" +
                   net::url_encode(to_rfc3339(from_unix_ms(base_))) + "&to=" +
                   net::url_encode(to_rfc3339(from_unix_ms(base_ + 59'000))) + "&step=10s&agg=max");
  ASSERT_TRUE(r2);
  EXPECT_EQ(json_of(*r2), json_of(*r));
}

TEST_F(HttpQuery, RangeDefaultsToTheLastHourWithAutoStep) {
  auto r = c_.get("/api/v1/range?sel=mem");
  ASSERT_TRUE(r);
  auto rows = json_of(*r).as_array();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("points").as_array().size(), 1u);
  r = c_.get("/api/v1/range?sel=mem&from=now-30s");
  ASSERT_TRUE(r);
  EXPECT_TRUE(json_of(*r).as_array().empty());
}

TEST_F(HttpQuery, BadParametersAre400NamingTheParameter) {
  const std::pair<std::string, std::string> cases[] = {
      {"/api/v1/range?agg=median", "agg"},
      {"/api/v1/range?step=ten", "step"},
      {"/api/v1/range?from=yesterday", "from"},
      {"/api/v1/range?to=2026-13-01T00:00:00Z", "to"},
      {"/api/v1/range?from=now&to=now-1h", "from"},
      {"/api/v1/latest?sel=%7Bbad", "sel"},
      {"/api/v1/series?limit=3", "limit"},
      {"/api/v1/latest?sel=cpu&sel=mem", "sel"},
      {"/metrics?debug=1", "debug"},
      {"/api/v1/range?step=1ms&from=now-7d", "step"},
  };
  for (const auto& [target, name] : cases) {
    auto r = c_.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    auto v = json_of(*r);
    EXPECT_EQ(v.at("parameter"), name.c_str()) << target << " " << r->body;
    EXPECT_NE(std::string(v.at("error").as_string()).find(name), std::string::npos) << r->body;
  }
}

TEST(HttpAuth, TokenGuardsEverythingButHealthz) {
  test::fixture_options o;
  o.server.token = "s3cret";
  http_fixture f(o);
  auto c = f.client();
  auto r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->headers["www-authenticate"], "Bearer realm=\"vitals\"");
  r = c.get("/api/v1/series", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  r = c.get("/api/v1/series?access_token=s3cret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  c.set_token("s3cret");
  r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "401") == 2; }));
}

TEST(HttpLimits, OversizedBodyIs413) {
  http_fixture f;
  raw_socket s(f.port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(
      s.send("POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             "Content-Length: 2000000\r\n\r\n" +
             std::string(64 * 1024, ' ')));
  ASSERT_TRUE(s.read_until("\r\n\r\n"));
  EXPECT_TRUE(s.received().starts_with("HTTP/1.1 413")) << s.received();
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "413") == 1; }));
}

TEST(HttpLimits, ExpectContinueGetsTheGoAheadThenTheAnswer) {
  http_fixture f;
  raw_socket s(f.port());
  const std::string body = R"({"message_id":"e1","input_tokens":5})";
  ASSERT_TRUE(
      s.send("POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n"));
  ASSERT_TRUE(s.read_until("HTTP/1.1 100 Continue\r\n\r\n", 2s)) << s.received();
  ASSERT_TRUE(s.send(body));
  ASSERT_TRUE(s.read_until("\"accepted\":1"));
  EXPECT_NE(s.received().find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(HttpLimits, OversizedHeaderIs431AndMalformedRequestIs400) {
  http_fixture f;
  raw_socket big(f.port());
  ASSERT_TRUE(big.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
                       std::string(20000, 'a') + "\r\n\r\n"));
  ASSERT_TRUE(big.read_until("\r\n\r\n"));
  EXPECT_TRUE(big.received().starts_with("HTTP/1.1 431")) << big.received();
  raw_socket bad(f.port());
  ASSERT_TRUE(bad.send("GET /healthz HTTP/9.Z\r\n\r\n"));
  ASSERT_TRUE(bad.read_until("\r\n\r\n"));
  EXPECT_TRUE(bad.received().starts_with("HTTP/1.1 400")) << bad.received();
}

TEST(HttpLimits, ConnectionsOverTheCapGet503AndOthersStillWork) {
  test::fixture_options o;
  o.server.max_connections = 4;
  http_fixture f(o);
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<raw_socket>(f.port()));
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(held.back()->read_until("\r\n\r\n"));  // accepted and kept alive
  }
  raw_socket extra(f.port());
  ASSERT_TRUE(extra.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(extra.read_until("\r\n\r\n"));
  EXPECT_TRUE(extra.received().starts_with("HTTP/1.1 503")) << extra.received();
  EXPECT_EQ(f.counter("vitals_http_refused_connections"), 1);
  held.pop_back();  // one leaves: a new client gets in
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_connections") == 3; }));
  auto c = f.client();
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST(HttpTargets, TrackAndUntrackOverHttp) {
  http_fixture f;
  auto c = f.client();
  const std::string me = std::to_string(::getpid());
  auto r = c.post("/api/v1/targets", R"({"id":"me","kind":"process","pid":)" + me +
                                         R"(,"interval":"1s","labels":{"team":"infra"}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201u) << r->body;
  EXPECT_EQ(json_of(*r).at("id"), "me");
  r = c.post("/api/v1/targets", R"({"id":"me","kind":"process","pid":)" + me + "}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409u);

  EXPECT_TRUE(eventually([&] {
    auto l = c.get("/api/v1/latest?sel=" +
                   net::url_encode("process_cpu_seconds_total{target=\"me\",team=\"infra\"}"));
    return l && json_of(*l).as_array().size() == 1;
  }));
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  auto list = json_of(*r).as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("kind"), "process");
  EXPECT_EQ(list[0].at("pid").as_int64(), ::getpid());
  EXPECT_GE(list[0].at("ticks").to_number<std::uint64_t>(), 1u);

  r = c.del("/api/v1/targets/me");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  r = c.del("/api/v1/targets/me");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  EXPECT_TRUE(json_of(*r).as_array().empty());
}

TEST(HttpTargets, BadSpecsAre400NamingTheField) {
  http_fixture f;
  auto c = f.client();
  const std::pair<std::string, std::string> cases[] = {
      {R"({"kind":"process","pid":1})", "id"},
      {R"({"id":"../x","kind":"process","pid":1})", "id"},
      {R"({"id":"a","kind":"vm"})", "kind"},
      {R"({"id":"a","kind":"process"})", "pid"},
      {R"({"id":"a","kind":"process","pid":999999999})", "pid"},
      {R"({"id":"a","kind":"process","pid":1,"colour":"red"})", "colour"},
      {R"({"id":"a","kind":"process","pid":1,"interval":"fast"})", "interval"},
      {R"({"id":"a","kind":"scrape","url":"ftp://x"})", "url"},
      {R"({"id":"a","kind":"cgroup","path":"../etc"})", "path"},
      {R"(not json)", "body"},
  };
  for (const auto& [body, field] : cases) {
    auto r = c.post("/api/v1/targets", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << body;
    EXPECT_NE(r->body.find(field), std::string::npos) << body << " -> " << r->body;
  }
}

TEST(HttpEvents, GoodLinesAreKeptAndBadOnesReportedByLine) {
  http_fixture f;
  auto c = f.client();
  const std::string ndjson =
      R"({"agent_name":"a1","model_raw":"claude-sonnet-4-5","message_id":"m1","input_tokens":100,"output_tokens":20,"cost_usd":0.5})"
      "\n"
      R"({"agent_name":"a1","input_tokens":-3})"
      "\n\n"
      R"({"agent_name":"a1","event_type":"tool_usage","tool_call_id":"t1","tool_name":"Bash","status":"error","duration_ms":1200})"
      "\n"
      "{broken\n";
  auto r = c.post("/api/v1/events", ndjson, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto v = json_of(*r);
  EXPECT_EQ(v.at("accepted").as_int64(), 2);
  EXPECT_EQ(v.at("duplicates").as_int64(), 0);
  const auto& rej = v.at("rejected").as_array();
  ASSERT_EQ(rej.size(), 2u);
  EXPECT_EQ(rej[0].at("line").as_int64(), 2);
  EXPECT_NE(std::string(rej[0].at("error").as_string()).find("input_tokens"), std::string::npos);
  EXPECT_EQ(rej[1].at("line").as_int64(), 5);

  r = c.post("/api/v1/events", ndjson, "application/x-ndjson");  // sent again: duplicates
  ASSERT_TRUE(r);
  EXPECT_EQ(json_of(*r).at("duplicates").as_int64(), 2);
  EXPECT_EQ(json_of(*r).at("accepted").as_int64(), 0);

  r = c.get("/api/v1/usage/summary?agent=a1");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto s = json_of(*r).as_array();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].at("tokens").at("input").as_int64(), 100);
  EXPECT_EQ(s[0].at("tokens").at("total").as_int64(), 120);
  EXPECT_EQ(s[0].at("cost").at("total_usd").to_number<double>(), 0.5);
  EXPECT_EQ(s[0].at("tool_calls").as_int64(), 1);
  EXPECT_EQ(s[0].at("models").as_array()[0].at("model"), "claude-sonnet-4-5");

  auto m = c.get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(
      m->body.find(
          R"(vitals_agent_tokens_total{agent="a1",model="claude-sonnet-4-5",type="input"} 100)"),
      std::string::npos);
  EXPECT_NE(
      m->body.find(R"(vitals_agent_tool_calls_total{agent="a1",status="error",tool="Bash"} 1)"),
      std::string::npos);
}

TEST(HttpEvents, ArraysAndSingleObjectsAndEmptyBodies) {
  http_fixture f;
  auto c = f.client();
  auto r = c.post("/api/v1/events", R"([{"message_id":"x1","input_tokens":1},{"status":"maybe"}])");
  ASSERT_TRUE(r);
  auto v = json_of(*r);
  EXPECT_EQ(v.at("accepted").as_int64(), 1);
  EXPECT_EQ(v.at("rejected").as_array()[0].at("line").as_int64(), 2);
  EXPECT_NE(std::string(v.at("rejected").as_array()[0].at("error").as_string()).find("status"),
            std::string::npos);
  r = c.post("/api/v1/events", "{\n  \"message_id\": \"x2\",\n  \"output_tokens\": 5\n}");
  ASSERT_TRUE(r);
  EXPECT_EQ(json_of(*r).at("accepted").as_int64(), 1);
  r = c.post("/api/v1/events", "  ");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  r = c.post("/api/v1/events", R"({"input_tokens":"lots"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  r = c.get("/api/v1/usage/weekly");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  r = c.get("/api/v1/usage/summary?by=model");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(json_of(*r).at("parameter"), "by");
}

TEST(HttpUsage, DailyBlocksAndAgentsReportsAndTheirParameterErrors) {
  http_fixture f;
  auto c = f.client();
  const auto now = vitals::now();
  std::string body;
  for (int i = 0; i < 3; ++i)
    body += R"({"agent_name":"a)" + std::to_string(i % 2) + R"(","message_id":"m)" +
            std::to_string(i) + R"(","model_raw":"gpt-5","input_tokens":10,"cost_usd":1,)" +
            R"("occurred_at":")" + to_rfc3339(now - std::chrono::minutes(30 - i)) + "\"}\n";
  auto r = c.post("/api/v1/events", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(json_of(*r).at("accepted").as_int64(), 3) << r->body;

  r = c.get("/api/v1/usage/daily?by=agent&from=now-1d");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto d = json_of(*r);
  EXPECT_EQ(d.at("by"), "agent");
  EXPECT_EQ(d.at("totals").at("tokens").at("input").as_int64(), 30);
  EXPECT_EQ(d.at("totals").at("cost_usd").to_number<double>(), 3);

  r = c.get("/api/v1/usage/blocks?hours=5");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto b = json_of(*r).at("blocks").as_array();
  ASSERT_EQ(b.size(), 1u);
  EXPECT_TRUE(b[0].at("active").as_bool());
  EXPECT_EQ(b[0].at("events").as_int64(), 3);
  EXPECT_FALSE(b[0].at("projection").is_null());

  r = c.get("/api/v1/usage/agents");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto a = json_of(*r);
  EXPECT_EQ(a.at("total_agents").as_int64(), 2);
  EXPECT_EQ(a.at("stopped").as_int64(), 2) << "known from usage only, no tracked target";

  for (auto [target, parameter] : {std::pair{"/api/v1/usage/daily?by=week", "by"},
                                   std::pair{"/api/v1/usage/daily?from=yesterday", "from"},
                                   std::pair{"/api/v1/usage/daily?from=now&to=now-1h", "to"},
                                   std::pair{"/api/v1/usage/blocks?hours=0", "hours"},
                                   std::pair{"/api/v1/usage/blocks?hours=5h", "hours"},
                                   std::pair{"/api/v1/usage/blocks?agent=a0", "agent"},
                                   std::pair{"/api/v1/usage/agents?all=1", "all"}}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    EXPECT_EQ(json_of(*r).at("parameter"), parameter) << target << ": " << r->body;
  }
}

// --- Server-Sent Events ------------------------------------------------------

std::string watch_request(std::string_view sel, std::string_view extra = {}) {
  return "GET /api/v1/watch?sel=" + net::url_encode(sel) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra) + "\r\n";
}

TEST(HttpSse, DeliversMatchingSamplesAsNamedEvents) {
  http_fixture f;
  raw_socket s(f.port());
  ASSERT_TRUE(s.send(watch_request("cpu{target=\"a\"}")));
  ASSERT_TRUE(s.read_until("retry: 3000\n\n"));
  EXPECT_NE(s.received().find("Content-Type: text/event-stream"), std::string::npos);
  const auto t = recent_ms(0);
  ASSERT_TRUE(f.store().append(
      std::vector{at("cpu", {{"target", "b"}}, t, 1), at("cpu", {{"target", "a"}}, t, 2)}));
  ASSERT_TRUE(s.read_until("\n\n", 5s));
  ASSERT_TRUE(s.read_until("}\n\n"));
  const std::string expect =
      "id: " + std::to_string(t) +
      "\nevent: sample\ndata: {\"name\":\"cpu\",\"labels\":{\"target\":\"a\"},\"t\":" +
      std::to_string(t) + ",\"v\":2}\n\n";
  EXPECT_NE(s.received().find(expect), std::string::npos) << s.received();
  EXPECT_EQ(s.count("event: sample"), 1u);  // target b did not match
}

TEST(HttpSse, SendsPingComments) {
  test::fixture_options o;
  o.sse.ping = 100ms;
  http_fixture f(o);
  raw_socket s(f.port());
  ASSERT_TRUE(s.send(watch_request("cpu")));
  ASSERT_TRUE(s.read_until(": ping\n\n", 3s));
  const auto first = s.received().size();
  ASSERT_TRUE(s.read_until(": ping\n\n: ping", 0ms) ||
              (s.read_until("xx", 350ms), s.count(": ping") >= 2))
      << s.received().substr(first);
}

TEST(HttpSse, LastEventIdResumesFromTheStore) {
  http_fixture f;
  const auto base = recent_ms(10);
  std::vector<sample> past;
  for (int i = 0; i < 5; ++i) past.push_back(at("cpu", {{"target", "a"}}, base + i * 1000, i));
  ASSERT_TRUE(f.store().append(past));
  raw_socket s(f.port());
  ASSERT_TRUE(
      s.send(watch_request("cpu", "Last-Event-ID: " + std::to_string(base + 2000) + "\r\n")));
  ASSERT_TRUE(s.read_until("\"v\":4}\n\n"));
  EXPECT_EQ(s.count("event: sample"), 3u) << s.received();
  EXPECT_LT(s.received().find("\"v\":2}"), s.received().find("\"v\":3}"));
  EXPECT_EQ(s.received().find("\"v\":1}"), std::string::npos);
  // Live samples follow, without repeating the replay.
  ASSERT_TRUE(f.store().append(std::vector{at("cpu", {{"target", "a"}}, base + 5000, 5)}));
  ASSERT_TRUE(s.read_until("\"v\":5}\n\n"));
  EXPECT_EQ(s.count("event: sample"), 4u);

  raw_socket bad(f.port());
  ASSERT_TRUE(bad.send(watch_request("cpu", "Last-Event-ID: yesterday\r\n")));
  ASSERT_TRUE(bad.read_until("\r\n\r\n"));
  EXPECT_TRUE(bad.received().starts_with("HTTP/1.1 400"));
}

TEST(HttpSse, SlowClientIsDroppedWhileOthersKeepReceiving) {
  test::fixture_options o;
  o.sse.queue = 256;
  o.sse.write_timeout = 300ms;
  http_fixture f(o);
  raw_socket slow(f.port(), 4096);  // small window, never read after the header
  ASSERT_TRUE(slow.send(watch_request("big")));
  ASSERT_TRUE(slow.read_until("retry: 3000"));
  raw_socket fast(f.port());
  ASSERT_TRUE(fast.send(watch_request("big")));
  ASSERT_TRUE(fast.read_until("retry: 3000"));
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_clients") == 2; }));

  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) fast.read_until("never", 50ms);
    fast.read_until("\"v\":3999}", 5s);
  });
  const std::string pad(1000, 'x');
  const auto t0 = recent_ms(0);
  std::chrono::nanoseconds slowest_append{0};
  for (int round = 0; round < 40; ++round) {
    std::vector<sample> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(
          at("big", {{"pad", pad}, {"i", std::to_string(i)}}, t0 + round, round * 100 + i));
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(f.store().append(batch));
    slowest_append = std::max(slowest_append, std::chrono::steady_clock::now() - started);
    std::this_thread::sleep_for(10ms);
  }
  done = true;
  reader.join();
  // Every sample reaches the fast client or is reported to it as dropped
  // (under a sanitizer the server itself may fall a little behind).
  std::size_t told_dropped = 0;
  const std::string& got = fast.received();
  const std::string_view mark = "data: {\"dropped\":";
  for (auto p = got.find(mark); p != std::string::npos; p = got.find(mark, p + 1))
    told_dropped += std::stoul(got.substr(p + mark.size()));
  EXPECT_EQ(fast.count("event: sample") + told_dropped, 4000u) << "samples lost without a word";
  // A writer held up by the slow client would leave the fast one about a
  // quarter (its queue, then what comes after the 300 ms write timeout);
  // TSan on two cores alone costs it up to a fifth.
  EXPECT_GE(fast.count("event: sample"), 2000u) << "the slow client held the fast one back";
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_disconnects") >= 1; }, 5s));
  EXPECT_TRUE(slow.read_to_eof(5s)) << "the slow client was not disconnected";
  EXPECT_LT(slowest_append, 100ms) << "a slow SSE client slowed the writer";
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_clients") == 1; }));
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

}  // namespace
