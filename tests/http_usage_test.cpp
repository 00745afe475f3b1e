// The usage reports over HTTP end to end: daily, blocks and agents, and
// their parameter errors; the series report per step; numbers written as
// people write them.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string_view>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/json_answer.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

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
                                   std::pair{"/api/v1/usage/agents?all=1", "all"},
                                   // compared with stored text: NUL, invalid UTF-8, too long
                                   std::pair{"/api/v1/usage/daily?host=a%00b", "host"},
                                   std::pair{"/api/v1/usage/agents?host=%FF", "host"},
                                   std::pair{"/api/v1/usage/summary?agent=%C3", "agent"},
                                   std::pair{"/api/v1/usage/series?host=%00", "host"}}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    EXPECT_EQ(json_of(*r).at("parameter"), parameter) << target << ": " << r->body;
  }
  r = c.get("/api/v1/usage/blocks?host=" + std::string(513, 'h'));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(json_of(*r).at("parameter"), "host") << r->body;
  r = c.get("/api/v1/usage/blocks?host=" + std::string(512, 'h'));  // the limit itself is fine
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
}

// A number in exponent form (`1E0`, `5.65E1`), as Boost.JSON writes doubles.
bool has_exponent(std::string_view body) {
  for (std::size_t i = 1; i + 1 < body.size(); ++i)
    if ((body[i] == 'E' || body[i] == 'e') && std::isdigit((unsigned char)body[i - 1]) &&
        (std::isdigit((unsigned char)body[i + 1]) || body[i + 1] == '-' || body[i + 1] == '+'))
      return true;
  return false;
}

TEST(HttpUsage, ReportsWriteNumbersAsPeopleReadThem) {
  http_fixture f;
  auto c = f.client();
  const auto now = vitals::now();
  std::string body;
  // 0.1 + 0.2 is 0.30000000000000004 in doubles; three agents, one working of three
  // active would be a utilisation of 0.3333...
  for (int i = 0; i < 2; ++i)
    body += R"({"agent_name":"n)" + std::to_string(i) + R"(","message_id":"n)" + std::to_string(i) +
            R"(","model_raw":"gpt-5","input_tokens":10,"cost_usd":)" + (i ? "0.2" : "0.1") +
            R"(,"occurred_at":")" + to_rfc3339(now - std::chrono::minutes(30)) + "\"}\n";
  auto r = c.post("/api/v1/events", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(json_of(*r).at("accepted").as_int64(), 2) << r->body;

  for (const char* target : {"/api/v1/usage/daily?from=now-1d", "/api/v1/usage/blocks?hours=5",
                             "/api/v1/usage/agents", "/api/v1/usage/summary?from=now-1d"}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << target << ": " << r->body;
    EXPECT_FALSE(has_exponent(r->body)) << target << ": " << r->body;
  }
  r = c.get("/api/v1/usage/daily?from=now-1d");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(R"("totals":{"tokens":{"input":20,)"), std::string::npos) << r->body;
  EXPECT_NE(r->body.find(R"("cost_usd":0.3,)"), std::string::npos) << r->body;
  r = c.get("/api/v1/usage/agents");
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find(R"("utilisation":0,)"), std::string::npos) << r->body;
}

TEST(HttpUsage, SeriesReportsTokensAndCostPerStepAndGroup) {
  http_fixture f;
  auto c = f.client();
  const auto h0 = std::chrono::floor<std::chrono::hours>(vitals::now()) - 3h;
  struct sent {
    const char* agent;
    const char* model;
    std::chrono::minutes at;
    int input;
    const char* cost;
  };
  // Hour h0: two gpt-5 calls (10 + 20 input, 0.25 + 0.5 USD) and one claude call;
  // hour h0+1h: one gpt-5 call. Nothing in h0+2h.
  const sent events[] = {{"a0", "gpt-5", 5min, 10, "0.25"},
                         {"a1", "gpt-5", 20min, 20, "0.5"},
                         {"a1", "claude-sonnet-4-5", 40min, 7, "1.5"},
                         {"a0", "gpt-5", 70min, 100, "2"}};
  std::string body;
  int id = 0;
  for (const auto& e : events)
    body += std::string(R"({"agent_name":")") + e.agent + R"(","message_id":"s)" +
            std::to_string(id++) + R"(","model_raw":")" + e.model + R"(","input_tokens":)" +
            std::to_string(e.input) + R"(,"cost_usd":)" + e.cost + R"(,"occurred_at":")" +
            to_rfc3339(h0 + e.at) + "\"}\n";
  auto r = c.post("/api/v1/events", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(json_of(*r).at("accepted").as_int64(), 4) << r->body;

  const auto from = std::to_string(to_unix_ms(h0 - 1h) / 1000);
  const auto to = std::to_string(to_unix_ms(h0 + 3h) / 1000);
  r = c.get("/api/v1/usage/series?by=model&step=1h&from=" + from + "&to=" + to);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto v = json_of(*r);
  EXPECT_EQ(v.at("step"), "1h");
  EXPECT_EQ(v.at("step_seconds").as_int64(), 3600);
  const auto& b = v.at("buckets").as_array();
  ASSERT_EQ(b.size(), 2u) << "buckets without events are left out: " << r->body;
  EXPECT_EQ(b[0].at("start").as_string(), to_rfc3339(h0));
  EXPECT_EQ(b[0].at("tokens").at("input").as_int64(), 37);
  EXPECT_EQ(b[0].at("cost_usd").to_number<double>(), 2.25);
  EXPECT_EQ(b[0].at("requests").as_int64(), 3);
  const auto& g = b[0].at("groups").as_array();
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].at("key"), "claude-sonnet-4-5") << "ordered by cost";
  EXPECT_EQ(g[1].at("key"), "gpt-5");
  EXPECT_EQ(g[1].at("tokens").at("input").as_int64(), 30);
  EXPECT_EQ(g[1].at("cost_usd").to_number<double>(), 0.75);
  EXPECT_EQ(b[1].at("start").as_string(), to_rfc3339(h0 + 1h));
  EXPECT_EQ(b[1].at("tokens").at("input").as_int64(), 100);
  EXPECT_EQ(v.at("totals").at("cost_usd").to_number<double>(), 4.25);

  // By agent, 30-minute steps: a0 at :05, a1 at :20 share h0; a1 at :40 is in h0+30m.
  r = c.get("/api/v1/usage/series?by=agent&step=30m&from=" + from + "&to=" + to);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  v = json_of(*r);
  const auto& b30 = v.at("buckets").as_array();
  ASSERT_EQ(b30.size(), 3u) << r->body;
  EXPECT_EQ(b30[0].at("groups").as_array().size(), 2u);
  EXPECT_EQ(b30[1].at("start").as_string(), to_rfc3339(h0 + 30min));
  EXPECT_EQ(b30[1].at("groups").at(0).at("key"), "a1");
  EXPECT_EQ(b30[2].at("groups").at(0).at("key"), "a0");

  // One agent only.
  r = c.get("/api/v1/usage/series?by=model&step=1d&agent=a1&from=" + from + "&to=" + to);
  ASSERT_TRUE(r);
  EXPECT_EQ(json_of(*r).at("totals").at("tokens").at("input").as_int64(), 27) << r->body;

  for (auto [target, parameter] :
       {std::pair{"/api/v1/usage/series?step=2h", "step"},
        std::pair{"/api/v1/usage/series?step=1h%27;drop", "step"},
        std::pair{"/api/v1/usage/series?step=1m&from=now-30d", "step"},  // 43,200 buckets
        std::pair{"/api/v1/usage/series?by=tool", "by"},
        std::pair{"/api/v1/usage/series?from=now&to=now-1h", "to"},
        std::pair{"/api/v1/usage/series?interval=1h", "interval"}}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    EXPECT_EQ(json_of(*r).at("parameter"), parameter) << target << ": " << r->body;
  }
}

}  // namespace
