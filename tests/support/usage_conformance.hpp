// The conformance suite every usage store passes, as a type-parameterised
// suite (instantiate it with INSTANTIATE_TYPED_TEST_SUITE_P for fixtures
// with a member `store`), and checks shared by the SQL stores: aggregates
// alike with usage_memory, prune by retention. Plus the events they use.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "vitals/agent/ledger.hpp"
#include "vitals/agent/usage_store.hpp"

namespace vitals::test::usage_conformance {

using namespace vitals;
using namespace vitals::agent;
using namespace std::chrono_literals;

inline timestamp at(std::string_view rfc3339) { return *parse_rfc3339(rfc3339); }

inline usage_record model_call(std::string id, std::string agent, std::string model, timestamp t,
                               std::int64_t input, std::int64_t output, double cost,
                               std::string status = "ok") {
  usage_event e;
  e.occurred_at = t;
  e.message_id = std::move(id);
  e.agent_name = std::move(agent);
  e.model_canonical = std::move(model);
  e.provider_id = "anthropic";
  e.input_tokens = input;
  e.output_tokens = output;
  e.total_tokens = input + output;
  e.cost_usd = cost;
  e.status = std::move(status);
  return {dedup_key(e), e};
}

inline usage_record tool_call(std::string id, std::string agent, std::string tool, timestamp t,
                              double duration_ms, std::string status = "ok") {
  usage_event e;
  e.occurred_at = t;
  e.event_type = "tool_usage";
  e.tool_call_id = std::move(id);
  e.agent_name = std::move(agent);
  e.tool_name = std::move(tool);
  e.duration_ms = duration_ms;
  e.status = std::move(status);
  return {dedup_key(e), e};
}

template <class Fixture>
class UsageStoreConformance : public ::testing::Test {
 protected:
  Fixture f;
  auto& store() { return f.store; }
};
TYPED_TEST_SUITE_P(UsageStoreConformance);

TYPED_TEST_P(UsageStoreConformance, FindsWhatItStoredAndReplacesByKey) {
  auto& s = this->store();
  auto a = model_call("m1", "a1", "gpt-5", at("2026-11-20T10:00:00Z"), 100, 10, 0.5);
  a.event.payload = R"({"raw":true})";
  a.event.reasoning_tokens = 3;
  auto b = tool_call("t1", "a1", "Bash", at("2026-11-20T10:00:01Z"), 250);
  ASSERT_TRUE(s.put(std::vector{a, b}));
  EXPECT_EQ(*s.count(), 2u);
  auto found = s.find(std::vector<std::string>{a.key, "nope", b.key});
  ASSERT_TRUE(found);
  ASSERT_EQ(found->size(), 3u);
  ASSERT_TRUE((*found)[0]);
  EXPECT_FALSE((*found)[1]);
  const auto& got = *(*found)[0];
  EXPECT_EQ(got.occurred_at, a.event.occurred_at);
  EXPECT_EQ(got.message_id, "m1");
  EXPECT_EQ(got.model_canonical, "gpt-5");
  EXPECT_EQ(got.input_tokens, 100);
  EXPECT_EQ(got.reasoning_tokens, 3);
  EXPECT_FALSE(got.cache_read_tokens) << "unknown stays unknown, not zero";
  EXPECT_EQ(got.cost_usd, 0.5);
  EXPECT_EQ(got.payload, R"({"raw":true})");
  EXPECT_EQ((*found)[2]->tool_name, "Bash");
  EXPECT_EQ((*found)[2]->duration_ms, 250);
  a.event.input_tokens = 150;  // an enrichment
  ASSERT_TRUE(s.put(std::vector{a}));
  EXPECT_EQ(*s.count(), 2u);
  EXPECT_EQ((*s.find(std::vector{a.key}))[0]->input_tokens, 150);
}

TYPED_TEST_P(UsageStoreConformance, AggregatesByKeysAndBucketsWithErrorsLeftOutOfTokens) {
  auto& s = this->store();
  ASSERT_TRUE(s.put(std::vector{
      model_call("m1", "a1", "gpt-5", at("2026-11-20T10:00:00Z"), 100, 10, 0.5),
      model_call("m2", "a1", "gpt-5", at("2026-11-20T23:59:59Z"), 50, 5, 0.25),
      model_call("m3", "a1", "gpt-5", at("2026-11-21T00:00:00Z"), 70, 7, 0, "error"),
      model_call("m4", "a2", "claude-sonnet-4-5", at("2026-11-21T08:00:00Z"), 1000, 100, 2),
      tool_call("t1", "a1", "Bash", at("2026-11-21T09:00:00Z"), 100),
      tool_call("t2", "a1", "Bash", at("2026-11-21T09:00:01Z"), 300, "error")}));

  auto all = s.aggregate({});
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 1u);
  const auto& t = all->front().totals;
  EXPECT_EQ(t.input, 1150);  // m3 is an error: its tokens do not count
  EXPECT_EQ(t.output, 115);
  EXPECT_EQ(t.total, 1265);
  EXPECT_EQ(t.requests, 4);  // m3 still counts as a request; tool calls do not
  EXPECT_EQ(t.tool_calls, 2);
  EXPECT_EQ(t.errors, 2);
  EXPECT_EQ(t.events, 6);
  EXPECT_DOUBLE_EQ(t.cost_usd, 2.75);
  EXPECT_EQ(t.first, at("2026-11-20T10:00:00Z"));
  EXPECT_EQ(t.last, at("2026-11-21T09:00:01Z"));

  auto daily = s.aggregate({.group = by_model, .bucket = 24h, .kind = usage_kind::model_calls});
  ASSERT_TRUE(daily);
  ASSERT_EQ(daily->size(), 3u);
  EXPECT_EQ((*daily)[0].bucket, at("2026-11-20T00:00:00Z"));
  EXPECT_EQ((*daily)[0].model, "gpt-5");
  EXPECT_EQ((*daily)[0].totals.input, 150);
  EXPECT_EQ((*daily)[1].bucket, at("2026-11-21T00:00:00Z"));
  EXPECT_EQ((*daily)[1].model, "claude-sonnet-4-5");  // keys in order within a bucket
  EXPECT_EQ((*daily)[2].model, "gpt-5");
  EXPECT_EQ((*daily)[2].totals.input, 0);
  EXPECT_EQ((*daily)[2].totals.requests, 1);

  auto tools =
      s.aggregate({.group = by_agent | by_tool | by_status, .kind = usage_kind::tool_calls});
  ASSERT_TRUE(tools);
  ASSERT_EQ(tools->size(), 2u);
  EXPECT_EQ((*tools)[0].status, "error");
  EXPECT_EQ((*tools)[1].status, "ok");
  EXPECT_EQ((*tools)[1].tool, "Bash");
  EXPECT_EQ((*tools)[1].agent, "a1");
  EXPECT_EQ((*tools)[0].totals.duration_ms, 300);

  auto window = s.aggregate({.from = at("2026-11-21T00:00:00Z"),
                             .to = at("2026-11-21T08:00:00Z"),
                             .agent = "a2",
                             .group = by_agent | by_provider});
  ASSERT_TRUE(window);
  ASSERT_EQ(window->size(), 1u);
  EXPECT_EQ(window->front().provider, "anthropic");
  EXPECT_EQ(window->front().totals.input, 1000);  // `to` is inclusive
  EXPECT_TRUE(s.aggregate({.from = at("2030-01-01T00:00:00Z")})->empty());
}

TYPED_TEST_P(UsageStoreConformance, ALaterRecordOfAKeyInOneBatchReplacesTheEarlier) {
  auto& s = this->store();
  auto a = model_call("m1", "a1", "gpt-5", at("2026-11-20T10:00:00Z"), 100, 10, 0.5);
  auto enriched = a;
  enriched.event.input_tokens = 150;
  enriched.event.occurred_at += 2h;
  ASSERT_TRUE(s.put(std::vector{a, enriched}));
  EXPECT_EQ(*s.count(), 1u);
  EXPECT_EQ((*s.find(std::vector{a.key}))[0]->input_tokens, 150);
  auto hourly = s.aggregate({.bucket = 1h});
  ASSERT_TRUE(hourly);
  ASSERT_EQ(hourly->size(), 1u);
  EXPECT_EQ(hourly->front().bucket, at("2026-11-20T12:00:00Z"));
  EXPECT_EQ(hourly->front().totals.input, 150);
  EXPECT_EQ(hourly->front().totals.events, 1);
}

// Through a ledger: quota readings are kept apart from the usage, the
// newest per account and window answered, a resent reading a duplicate.
TYPED_TEST_P(UsageStoreConformance,
             KeepsLimitSnapshotsApartAndAnswersTheNewestPerAccountAndWindow) {
  auto& s = this->store();
  registry reg;
  ledger l(s, reg);
  const std::string snap = R"({"event_type":"limit_snapshot","provider_id":"anthropic",)";
  const auto r =
      l.ingest(snap + R"("account_id":"acme","window":"5h","used":120,"limit":500,)" +
               R"("occurred_at":"2026-11-20T10:00:00Z","resets_at":"2026-11-20T14:00:00Z"})" +
               "\n" + snap + R"("account_id":"acme","window":"5h","used":300,"limit":500,)" +
               R"("occurred_at":"2026-11-20T11:00:00Z","resets_at":"2026-11-20T15:00:00Z"})" +
               "\n" + snap + R"("account_id":"acme","window":"weekly","used_percent":12.5,)" +
               R"("occurred_at":"2026-11-20T10:30:00Z"})" + "\n" + snap +
               R"("account_id":"beta","window":"5h","used":10,"limit":40,)" +
               R"("occurred_at":"2026-11-20T09:00:00Z"})" + "\n" +
               // The 11:00 reading again: a duplicate, the first one stays.
               snap + R"("account_id":"acme","window":"5h","used":999,"limit":500,)" +
               R"("occurred_at":"2026-11-20T11:00:00Z"})" + "\n" +
               R"({"message_id":"m1","model_canonical":"gpt-5","input_tokens":10,"cost_usd":1,)" +
               R"("occurred_at":"2026-11-20T10:00:00Z"})" + "\n");
  EXPECT_EQ(r.accepted, 5u);
  EXPECT_EQ(r.duplicates, 1u);
  EXPECT_TRUE(r.rejected.empty()) << r.rejected.front().error;

  auto all = s.latest_limits("", "");
  ASSERT_TRUE(all) << all.error().message;
  ASSERT_EQ(all->size(), 3u);
  const auto& a5 = (*all)[0];
  EXPECT_EQ(a5.account, "acme");
  EXPECT_EQ(a5.window, "5h");
  EXPECT_EQ(a5.at, at("2026-11-20T11:00:00Z"));
  EXPECT_EQ(a5.used, 300);
  EXPECT_EQ(a5.limit, 500);
  EXPECT_EQ(a5.used_percent, 60);  // 300 / 500, derived
  EXPECT_EQ(a5.resets_at, at("2026-11-20T15:00:00Z"));
  EXPECT_EQ(a5.provider, "anthropic");
  EXPECT_EQ(a5.agent, "unknown");
  const auto& aw = (*all)[1];
  EXPECT_EQ(aw.window, "weekly");
  EXPECT_EQ(aw.used_percent, 12.5);
  EXPECT_FALSE(aw.used) << "unknown stays unknown";
  EXPECT_FALSE(aw.limit);
  EXPECT_FALSE(aw.resets_at);
  EXPECT_EQ((*all)[2].account, "beta");
  EXPECT_EQ((*all)[2].used_percent, 25);

  auto acme = s.latest_limits("acme", "");
  ASSERT_TRUE(acme);
  ASSERT_EQ(acme->size(), 2u);
  auto five = s.latest_limits("", "5h");
  ASSERT_TRUE(five);
  ASSERT_EQ(five->size(), 2u);
  EXPECT_EQ((*five)[0].account, "acme");
  EXPECT_EQ((*five)[1].account, "beta");
  auto weekly = s.latest_limits("beta", "weekly");
  ASSERT_TRUE(weekly);
  EXPECT_TRUE(weekly->empty());

  // Readings are no usage: only the model call is summed and counted.
  EXPECT_EQ(*s.count(), 1u);
  auto sums = s.aggregate({});
  ASSERT_TRUE(sums);
  ASSERT_EQ(sums->size(), 1u);
  EXPECT_EQ(sums->front().totals.events, 1);
  EXPECT_EQ(sums->front().totals.requests, 1);
}

REGISTER_TYPED_TEST_SUITE_P(UsageStoreConformance, FindsWhatItStoredAndReplacesByKey,
                            AggregatesByKeysAndBucketsWithErrorsLeftOutOfTokens,
                            ALaterRecordOfAKeyInOneBatchReplacesTheEarlier,
                            KeepsLimitSnapshotsApartAndAnswersTheNewestPerAccountAndWindow);

/// Random model and tool calls over ten days, then enrichments that move
/// some of them between groups and hours: `db` must aggregate them as
/// usage_memory does, on windows and buckets aligned to hours or not.
template <class Store>
void expect_aggregates_like_memory(Store& db) {
  usage_memory mem;
  std::mt19937 rng(7);
  const char* agents[] = {"a1", "a2", "a3"};
  const char* models[] = {"gpt-5", "claude-sonnet-4-5", ""};
  const char* tools[] = {"Bash", "Read"};
  std::vector<usage_record> batch;
  const auto base = at("2026-11-01T00:00:00Z");
  for (int i = 0; i < 2000; ++i) {
    const auto t = base + std::chrono::minutes(rng() % (60 * 24 * 10));
    const auto* agent = agents[rng() % 3];
    if (rng() % 4 == 0)
      batch.push_back(tool_call("t" + std::to_string(i), agent, tools[rng() % 2], t,
                                double(rng() % 1000), rng() % 5 ? "ok" : "error"));
    else
      batch.push_back(model_call("m" + std::to_string(i), agent, models[rng() % 3], t, rng() % 5000,
                                 rng() % 500, (rng() % 100) / 64.0, rng() % 7 ? "ok" : "error"));
  }
  ASSERT_TRUE(mem.put(batch));
  ASSERT_TRUE(db.put(batch));
  // Enrichments move events between groups and hours: the hourly sums
  // must follow.
  std::vector<usage_record> changed;
  for (std::size_t i = 0; i < batch.size(); i += 7) {
    auto r = batch[i];
    r.event.status = r.event.status == "error" ? "ok" : "error";
    r.event.model_canonical = "enriched";
    r.event.occurred_at += std::chrono::minutes(50);
    if (r.event.input_tokens) *r.event.input_tokens += 3;
    changed.push_back(std::move(r));
  }
  ASSERT_TRUE(mem.put(changed));
  ASSERT_TRUE(db.put(changed));
  const auto odd = std::chrono::minutes(97) + std::chrono::seconds(13);  // not on an hour
  for (const usage_query& q :
       {usage_query{}, usage_query{.group = by_agent | by_model, .bucket = 24h},
        usage_query{.from = base + 36h,
        .to = base + 100h,
        .group = by_tool,
        .bucket = 1h,
        .kind = usage_kind::tool_calls},
        usage_query{.from = base + odd, .to = base + 200h + odd, .group = by_model | by_status},
        usage_query{.from = base + odd, .to = base + 2h, .group = by_agent, .bucket = 1h},
        usage_query{.from = base + 5h + odd, .to = base + 5h + 2 * odd, .group = by_model},
        usage_query{
            .agent = "a2", .group = by_provider | by_status, .kind = usage_kind::model_calls}}) {
    auto a = mem.aggregate(q);
    auto b = db.aggregate(q);
    ASSERT_TRUE(a && b);
    ASSERT_EQ(a->size(), b->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
      const auto &x = (*a)[i], &y = (*b)[i];
      EXPECT_EQ(x.bucket, y.bucket);
      EXPECT_EQ(std::tie(x.agent, x.model, x.tool, x.provider, x.status),
                std::tie(y.agent, y.model, y.tool, y.provider, y.status));
      EXPECT_EQ(std::tie(x.totals.input, x.totals.output, x.totals.total, x.totals.requests,
                         x.totals.tool_calls, x.totals.errors, x.totals.events),
                std::tie(y.totals.input, y.totals.output, y.totals.total, y.totals.requests,
                         y.totals.tool_calls, y.totals.errors, y.totals.events));
      EXPECT_NEAR(x.totals.cost_usd, y.totals.cost_usd, 1e-9);
      EXPECT_NEAR(x.totals.duration_ms, y.totals.duration_ms, 1e-9);
      // An enrichment that moves an event's time may leave the hourly first
      // and last wider than the events are; never narrower.
      EXPECT_LE(y.totals.first, x.totals.first);
      EXPECT_GE(y.totals.last, x.totals.last);
    }
  }
}

/// Events older than the retention go with their payloads; payloads go
/// after theirs while the events stay.
template <class Store>
void expect_prunes_by_retention(Store& db) {
  const auto now = vitals::now();
  auto old = model_call("m1", "a", "gpt-5", now - std::chrono::days(500), 1, 1, 0);
  auto recent = model_call("m2", "a", "gpt-5", now - 1h, 2, 2, 0);
  old.event.payload = R"({"n":1})";
  recent.event.payload = R"({"n":2})";
  ASSERT_TRUE(db.put(std::vector{old, recent}));
  limit_snapshot old_limit, new_limit;
  old_limit.account = new_limit.account = "acme";
  old_limit.window = "5h";
  new_limit.window = "weekly";
  old_limit.at = old.event.occurred_at;
  new_limit.at = recent.event.occurred_at;
  old_limit.used_percent = new_limit.used_percent = 50;
  ASSERT_TRUE(db.put_limits(std::vector{old_limit, new_limit}));
  // Payloads were received now: a day later, a 3-day retention keeps them.
  auto r = db.prune({}, now + 24h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events, 1);  // m1 is older than 400 days: gone with its payload
  EXPECT_EQ(r->payloads, 0);
  EXPECT_EQ(*db.count(), 1u);
  EXPECT_EQ((*db.find(std::vector{recent.key}))[0]->payload, R"({"n":2})");
  auto limits = db.latest_limits("acme", "");
  ASSERT_TRUE(limits);
  ASSERT_EQ(limits->size(), 1u) << "the 500-day-old reading went with the events";
  EXPECT_EQ(limits->front().window, "weekly");
  r = db.prune({}, now + 4 * 24h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payloads, 1);
  auto kept = db.find(std::vector{recent.key});
  ASSERT_TRUE((*kept)[0]);
  EXPECT_TRUE((*kept)[0]->payload.empty());
  EXPECT_EQ((*kept)[0]->input_tokens, 2) << "the event outlives its raw payload";
}

}  // namespace vitals::test::usage_conformance
