// The usage reports over HTTP end to end: daily, blocks and agents, and
// their parameter errors.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/events.hpp"

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
                                   std::pair{"/api/v1/usage/agents?all=1", "all"}}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    EXPECT_EQ(json_of(*r).at("parameter"), parameter) << target << ": " << r->body;
  }
}

}  // namespace
