// Channel activity (issue 17 point 1, the 000 seed's RecordChannel and
// QueryChannel*): POST /api/v1/channels into the monitor's sample store, and
// GET /api/v1/usage/channels per step, over the monitor's routes.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <limits>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/agent/channels.hpp"
#include "vitals/agent/json_items.hpp"
#include "vitals/http/channels.hpp"
#include "vitals/http/report_params.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

TEST(ChannelMetric, ParsesTheSeedsShapeAndNamesTheBadField) {
  const auto now = vitals::now();
  auto m = agent::parse_channel_metric(
      boost::json::parse(
          R"({"time":"2026-11-26T10:00:00Z","channel_name":"general","message_count":42,"member_count":7,"reaction_count":3})"),
      now);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->channel, "general");
  EXPECT_EQ(m->time, *parse_rfc3339("2026-11-26T10:00:00Z"));
  EXPECT_EQ(m->messages, 42);
  EXPECT_EQ(m->members, 7);
  EXPECT_EQ(m->reactions, 3);
  std::vector<sample> out;
  agent::append_channel_samples(*m, out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].series.name(), "vitals_channel_messages");
  EXPECT_EQ(out[0].series.labels().get("channel"), "general");
  EXPECT_EQ(out[0].value, 42);

  auto only_members = agent::parse_channel_metric(
      boost::json::parse(R"({"channel_name":"ops","member_count":2})"), now);
  ASSERT_TRUE(only_members);
  EXPECT_EQ(only_members->time, now) << "no time: when it was received";
  out.clear();
  agent::append_channel_samples(*only_members, out);
  EXPECT_EQ(out.size(), 1u) << "a count not reported is not written";

  for (auto [body, field] : {
           std::pair{R"({"message_count":1})", "channel_name"},
           std::pair{R"({"channel_name":"","message_count":1})", "channel_name"},
           std::pair{R"({"channel_name":"a\u0001b","message_count":1})", "channel_name"},
           std::pair{R"({"channel_name":7,"message_count":1})", "channel_name"},
           std::pair{R"({"channel_name":"x"})", "message_count"},
           std::pair{R"({"channel_name":"x","message_count":-1})", "message_count"},
           std::pair{R"({"channel_name":"x","member_count":1.5})", "member_count"},
           std::pair{R"({"channel_name":"x","reaction_count":18446744073709551615})",
                     "reaction_count"},
           std::pair{R"({"channel_name":"x","message_count":9007199254740993})", "message_count"},
           std::pair{R"({"channel_name":"x","message_count":1,"time":"yesterday"})", "time"},
           std::pair{R"({"channel_name":"x","message_count":1,"time":"2999-01-01T00:00:00Z"})",
                     "time"},
           std::pair{R"({"channel_name":"x","message_count":1,"colour":"red"})", "colour"},
       }) {
    auto r = agent::parse_channel_metric(boost::json::parse(body), now);
    ASSERT_FALSE(r) << body;
    EXPECT_TRUE(r.error().message.starts_with(std::string(field) + ":"))
        << body << " -> " << r.error().message;
  }
  EXPECT_FALSE(agent::parse_channel_metric(boost::json::parse("[1]"), now));
}

TEST(ChannelMetric, BodiesSplitIntoItemsByLineOrIndex) {
  std::vector<agent::rejected_line> rejected;
  auto items = agent::split_json_items("{\"a\":1}\n\n{bad\n[2]\n", rejected);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].first, 1u);
  EXPECT_EQ(items[1].first, 4u) << "blank lines count, and are skipped";
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].line, 3u);
  rejected.clear();
  items = agent::split_json_items("[{\"a\":1},{\"b\":2}]", rejected);
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[1].first, 2u) << "an array's items by index + 1";
  EXPECT_TRUE(rejected.empty());
}

// A fleet view holds one series per host for a channel two hosts report: each
// bucket answers the latest report, whichever series holds it, in either
// order the store lists them.
TEST(ChannelsJson, AChannelReportedByTwoHostsAnswersTheLatestReport) {
  const auto h0 = std::chrono::floor<std::chrono::hours>(vitals::now()) - 3h;
  for (bool a_is_later : {true, false}) {
    stores::memory_store store;
    auto at = [&](std::chrono::minutes m) { return h0 + m; };
    auto msgs = [](std::string host) {
      return series("vitals_channel_messages", {{"channel", "general"}, {"host", host}});
    };
    const auto early = at(10min), late = at(40min);
    std::vector<sample> batch{
        {msgs("a"), a_is_later ? late : early, a_is_later ? 30.0 : 20.0},
        {msgs("b"), a_is_later ? early : late, a_is_later ? 20.0 : 30.0},
        // The next hour: only b, then a reports an older count later in the list.
        {msgs("b"), at(100min), 55},
        {msgs("a"), at(70min), 50},
        // Not a count: left out rather than cast.
        {series("vitals_channel_members", {{"channel", "general"}, {"host", "a"}}), at(15min),
         std::numeric_limits<double>::quiet_NaN()},
    };
    ASSERT_TRUE(store.append(batch));
    auto o = agent::channels_json(store, h0, h0 + 2h, 1h);
    const auto& channels = o.at("channels").as_array();
    ASSERT_EQ(channels.size(), 1u) << "one channel, two hosts: " << boost::json::serialize(o);
    const auto& points = channels[0].at("points").as_array();
    ASSERT_EQ(points.size(), 2u) << boost::json::serialize(o);
    EXPECT_EQ(points[0].at("start").as_string(), to_rfc3339(h0));
    EXPECT_EQ(points[0].at("message_count").as_int64(), 30)
        << "the report at :40 is the bucket's last, from host " << (a_is_later ? "a" : "b");
    EXPECT_FALSE(points[0].as_object().contains("member_count")) << boost::json::serialize(o);
    EXPECT_EQ(points[1].at("message_count").as_int64(), 55) << "1:40 (b) is after 1:10 (a)";
  }
}

TEST(HttpChannels, RecordedReportsAreAnsweredPerStepWithTheLastCountsInEachBucket) {
  http_fixture f;
  auto c = f.client();
  const auto h0 = std::chrono::floor<std::chrono::hours>(vitals::now()) - 3h;
  auto at = [&](std::chrono::minutes m) { return to_rfc3339(h0 + m); };
  // general: 10 messages at :05, 25 at :50 (the bucket's last), 40 at 1:10; members twice.
  // random: one report at :20. Line 3 is not JSON, line 5 has a negative count.
  const std::string body =
      R"({"time":")" + at(5min) +
      R"(","channel_name":"general","message_count":10,"member_count":4})" + "\n" + R"({"time":")" +
      at(50min) + R"(","channel_name":"general","message_count":25,"reaction_count":2})" + "\n" +
      "{not json\n" + R"({"time":")" + at(70min) +
      R"(","channel_name":"general","message_count":40,"member_count":5})" + "\n" + R"({"time":")" +
      at(20min) + R"(","channel_name":"general","message_count":-3})" + "\n" + R"({"time":")" +
      at(20min) +
      R"(","channel_name":"random","message_count":3,"member_count":9,"reaction_count":1})" + "\n";
  auto r = c.post("/api/v1/channels", body, "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto v = json_of(*r);
  EXPECT_EQ(v.at("accepted").as_int64(), 4);
  const auto& rej = v.at("rejected").as_array();
  ASSERT_EQ(rej.size(), 2u) << r->body;
  EXPECT_EQ(rej[0].at("line").as_int64(), 3);
  EXPECT_EQ(rej[1].at("line").as_int64(), 5);
  EXPECT_TRUE(std::string(rej[1].at("error").as_string()).starts_with("message_count:"));
  EXPECT_EQ(f.counter("vitals_channel_reports_accepted"), 4);
  EXPECT_EQ(f.counter("vitals_channel_reports_rejected"), 2);

  const auto from = std::to_string(to_unix_ms(h0 - 1h) / 1000);
  const auto to = std::to_string(to_unix_ms(h0 + 3h) / 1000);
  r = c.get("/api/v1/usage/channels?step=1h&from=" + from + "&to=" + to);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  v = json_of(*r);
  EXPECT_EQ(v.at("step_seconds").as_int64(), 3600);
  const auto& chans = v.at("channels").as_array();
  ASSERT_EQ(chans.size(), 2u) << r->body;
  EXPECT_EQ(chans[0].at("channel"), "general");
  const auto& g = chans[0].at("points").as_array();
  ASSERT_EQ(g.size(), 2u) << r->body;
  EXPECT_EQ(g[0].at("start").as_string(), to_rfc3339(h0));
  EXPECT_EQ(g[0].at("message_count").as_int64(), 25) << "the last report in the bucket";
  EXPECT_EQ(g[0].at("member_count").as_int64(), 4);
  EXPECT_EQ(g[0].at("reaction_count").as_int64(), 2);
  EXPECT_EQ(g[1].at("start").as_string(), to_rfc3339(h0 + 1h));
  EXPECT_EQ(g[1].at("message_count").as_int64(), 40);
  EXPECT_EQ(g[1].at("member_count").as_int64(), 5);
  EXPECT_FALSE(g[1].as_object().contains("reaction_count")) << "none reported in that hour";
  EXPECT_EQ(chans[1].at("channel"), "random");
  EXPECT_EQ(chans[1].at("points").at(0).at("member_count").as_int64(), 9);

  // Finer steps split the hour; a channel filter keeps one.
  r = c.get("/api/v1/usage/channels?step=30m&channel=general&from=" + from + "&to=" + to);
  ASSERT_TRUE(r);
  v = json_of(*r);
  ASSERT_EQ(v.at("channels").as_array().size(), 1u) << r->body;
  const auto& g30 = v.at("channels").at(0).at("points").as_array();
  ASSERT_EQ(g30.size(), 3u) << r->body;  // :05 in h0, :50 in h0+30m, 1:10 in h0+1h
  EXPECT_EQ(g30[0].at("message_count").as_int64(), 10);
  EXPECT_EQ(g30[1].at("message_count").as_int64(), 25);

  // The samples are ordinary series in the monitor's store.
  EXPECT_TRUE(
      f.store().latest(series("vitals_channel_messages", label_set{{"channel", "random"}})));

  for (auto [target, parameter] : {std::pair{"/api/v1/usage/channels?step=2h", "step"},
                                   std::pair{"/api/v1/usage/channels?step=1m&from=now-30d", "step"},
                                   std::pair{"/api/v1/usage/channels?from=now&to=now-1h", "to"},
                                   std::pair{"/api/v1/usage/channels?chanel=general", "chanel"}}) {
    r = c.get(target);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << target;
    EXPECT_EQ(json_of(*r).at("parameter"), parameter) << target << ": " << r->body;
  }
  r = c.post("/api/v1/channels", "[{\"channel_name\":\"x\"}]", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u) << "nothing accepted: " << r->body;
  r = c.post("/api/v1/channels", "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  r = c.get("/api/v1/channels");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
}

}  // namespace
