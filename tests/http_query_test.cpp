// The query API end to end: /api/v1/series, /latest and /range (downsampled,
// with defaults), and 400s that name the bad parameter.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

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

}  // namespace
