// The targets API end to end: track and untrack over HTTP (a scrape target
// deriving request rate and p95 from a local exporter, untrack with and
// without discarding the samples), and specs refused with a 400 naming the
// field.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/exposition_server.hpp"
#include "support/helpers.hpp"
#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/targets.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

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
      {R"({"id":"a","kind":"scrape","url":"http://x/m","requests_counter":"req total"})",
       "requests_counter"},
      {R"({"id":"a","kind":"scrape","url":"http://x/m","latency_histogram":""})",
       "latency_histogram"},
      {R"({"id":"a","kind":"scrape","url":"http://x/m","latency_histogram":5})",
       "latency_histogram"},
      {R"({"id":"a","kind":"process","pid":1,"requests_counter":"req"})", "requests_counter"},
      {R"(not json)", "body"},
  };
  for (const auto& [body, field] : cases) {
    auto r = c.post("/api/v1/targets", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << body;
    EXPECT_NE(r->body.find(field), std::string::npos) << body << " -> " << r->body;
  }
}

// Request n of the exporter: 100 more requests each time (60 GET, 40 POST),
// 10 of them under 0.1 s and 90 between 0.5 s and 1 s.
std::string exporter_body(int n) {
  auto line = [](std::string s, long v) { return s + " " + std::to_string(v) + "\n"; };
  return "# TYPE http_requests_total counter\n" +
         line(R"(http_requests_total{method="GET"})", 60l * n) +
         line(R"(http_requests_total{method="POST"})", 40l * n) +
         "# TYPE http_request_duration_seconds histogram\n" +
         line(R"(http_request_duration_seconds_bucket{le="0.1"})", 10l * n) +
         line(R"(http_request_duration_seconds_bucket{le="0.5"})", 10l * n) +
         line(R"(http_request_duration_seconds_bucket{le="1"})", 100l * n) +
         line(R"(http_request_duration_seconds_bucket{le="+Inf"})", 100l * n) +
         line("http_request_duration_seconds_sum", 70l * n) +
         line("http_request_duration_seconds_count", 100l * n);
}

std::size_t series_of(stores::memory_store& st, std::string_view target) {
  std::size_t n = 0;
  for (const auto& s : st.list_series()) n += s.labels().get("target") == target;
  return n;
}

TEST(HttpTargets, AScrapeTargetDerivesRequestRateAndP95) {
  exposition_server exporter;
  exporter.generate(exporter_body);
  http_fixture f;
  auto c = f.client();
  boost::json::object spec{{"id", "web"},
                           {"kind", "scrape"},
                           {"url", exporter.url()},
                           {"requests_counter", "http_requests_total"},
                           {"latency_histogram", "http_request_duration_seconds"}};
  auto r = c.post("/api/v1/targets", boost::json::serialize(spec));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201u) << r->body;
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  const auto listed = json_of(*r).as_array().at(0).as_object();
  EXPECT_EQ(listed.at("requests_counter"), "http_requests_total");
  EXPECT_EQ(listed.at("latency_histogram"), "http_request_duration_seconds");

  const series rps("requests_per_second", {{"target", "web"}});
  const series p95("latency_p95_seconds", {{"target", "web"}});
  const series get("http_requests_total", {{"method", "GET"}, {"target", "web"}});
  const series post("http_requests_total", {{"method", "POST"}, {"target", "web"}});
  auto all = [&](const series& s) {
    return f.store().range(s, from_unix_ms(0), from_unix_ms(std::int64_t{1} << 50));
  };
  ASSERT_TRUE(eventually([&] { return all(rps).size() >= 3 && all(p95).size() >= 3; }));

  // Each rate is the increase of the counter's two series over the time
  // between their stored points (the scrape times), whatever those were.
  // The rates first: each came in one batch with the counters it was
  // derived from, so the counters read after hold those points.
  const auto rates = all(rps);
  const auto g = all(get), p = all(post);
  // A series' point at `t` and the one before it (the previous scrape).
  auto at_and_before = [](const std::vector<point>& pts, timestamp t) {
    const auto it = std::find_if(pts.begin(), pts.end(), [&](const point& q) { return q.t == t; });
    if (it == pts.end() || it == pts.begin()) {  // the first scrape has no rate
      ADD_FAILURE() << "no counter point before the rate at " << to_unix_ms(t);
      return std::pair{point{}, point{}};
    }
    return std::pair{*(it - 1), *it};
  };
  for (const auto& x : rates) {
    const auto [g0, g1] = at_and_before(g, x.t);
    const auto [p0, p1] = at_and_before(p, x.t);
    ASSERT_EQ(g0.t, p0.t);
    const double increase = (g1.value + p1.value) - (g0.value + p0.value);
    EXPECT_EQ(increase, 100);  // one exporter request per scrape
    const double seconds = double(to_unix_ms(g1.t) - to_unix_ms(g0.t)) / 1000.0;
    EXPECT_DOUBLE_EQ(x.value, increase / seconds);
  }
  // Of each interval's 100 requests, 10 under 0.1 s and 90 in (0.5, 1]: the
  // 95th is the 85th of those 90, interpolated in that bucket.
  for (const auto& x : all(p95)) EXPECT_DOUBLE_EQ(x.value, 0.5 + 0.5 * 85.0 / 90.0);
  r = c.get("/api/v1/latest?sel=" + net::url_encode(R"(latency_p95_seconds{target="web"})"));
  ASSERT_TRUE(r);
  EXPECT_DOUBLE_EQ(json_of(*r).as_array().at(0).at("v").to_number<double>(),
                   0.5 + 0.5 * 85.0 / 90.0);
}

TEST(HttpTargets, UntrackKeepsTheSamplesUnlessDiscarded) {
  exposition_server exporter;
  exporter.generate(exporter_body);
  http_fixture f;
  auto c = f.client();
  auto track = [&](const std::string& id) {
    boost::json::object spec{{"id", id},
                             {"kind", "scrape"},
                             {"url", exporter.url()},
                             {"requests_counter", "http_requests_total"},
                             {"latency_histogram", "http_request_duration_seconds"}};
    auto r = c.post("/api/v1/targets", boost::json::serialize(spec));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201u) << r->body;
    // Every family, the derived two included: 2 + 4 + 2 + 2.
    ASSERT_TRUE(eventually([&] { return series_of(f.store(), id) == 10; }));
  };
  track("kept");
  track("gone");

  // Today's behaviour: untracked, the samples stay (so does discard=false).
  auto r = c.del("/api/v1/targets/kept?discard=false");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  EXPECT_EQ(series_of(f.store(), "kept"), 10u);

  for (const char* bad : {"yes", "1", "", "TRUE"}) {
    r = c.del(std::string("/api/v1/targets/gone?discard=") + bad);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << bad;
    EXPECT_NE(r->body.find("discard"), std::string::npos) << r->body;
  }
  r = c.del("/api/v1/targets/gone?discard=true&colour=red");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_NE(r->body.find("colour"), std::string::npos) << r->body;
  EXPECT_EQ(series_of(f.store(), "gone"), 10u);  // a refused request untracks nothing

  r = c.del("/api/v1/targets/gone?discard=true");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(json_of(*r).at("id"), "gone");
  EXPECT_EQ(json_of(*r).at("discarded_series").to_number<std::uint64_t>(), 10u);
  EXPECT_EQ(series_of(f.store(), "gone"), 0u);
  EXPECT_EQ(series_of(f.store(), "kept"), 10u);  // another target's samples are not touched
  // No scrape in flight brings one back (the poller's interval is 100 ms).
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(series_of(f.store(), "gone"), 0u);
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  EXPECT_TRUE(json_of(*r).as_array().empty());
  r = c.del("/api/v1/targets/gone?discard=true");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
}

}  // namespace
