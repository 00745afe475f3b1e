// POST /api/v1/events end to end: good lines kept and bad ones reported by
// line, arrays, single objects and empty bodies.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/events.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

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

}  // namespace
