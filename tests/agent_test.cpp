// Agent telemetry: the usage event and its validation, the dedup key,
// model prices, and the ledger that ties them to storage and instruments.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include "support/helpers.hpp"
#include "support/usage.hpp"
#include "vitals/agent/dedup.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/pricing.hpp"
#include "vitals/agent/report_json.hpp"
#include "vitals/agent/report_queries.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_sqlite.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;

result<usage_event> parse(std::string_view json) {
  return parse_usage_event(boost::json::parse(json), from_unix_ms(42));
}

TEST(UsageEvent, ParsesEveryFieldAndDerivesTheTotal) {
  auto e = parse(R"({"occurred_at":"2026-11-26T10:00:00.250+01:00","source_system":"claude-code",
    "source_channel":"hook","event_type":"message_usage","provider_id":"anthropic","account_id":"acc",
    "agent_name":"planner","workspace_id":"ws","session_id":"s1","turn_id":"t1","message_id":"m1",
    "tool_call_id":"","model_raw":"claude-sonnet-4-5-20250929","input_tokens":100,"output_tokens":20,
    "reasoning_tokens":5,"cache_read_tokens":1000,"cache_write_tokens":50,"requests":1,"status":"ok",
    "duration_ms":1234.5,"cost_usd":0.01,"payload":{"raw":[1,2]}})");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(to_unix_ms(e->occurred_at), to_unix_ms(*parse_rfc3339("2026-11-26T09:00:00.250Z")));
  EXPECT_EQ(e->source_channel, "hook");
  EXPECT_EQ(e->agent_name, "planner");
  EXPECT_EQ(e->total_tokens, 1175);
  EXPECT_EQ(*e->duration_ms, 1234.5);
  EXPECT_EQ(boost::json::parse(e->payload), boost::json::parse(R"({"raw":[1,2]})"));
  // Round trip through the stored form.
  auto again = parse_usage_event(to_json(*e), from_unix_ms(0));
  ASSERT_TRUE(again);
  EXPECT_EQ(to_json(*again), to_json(*e));
}

TEST(UsageEvent, AbsentTokensAreUnknownNotZero) {
  auto e = parse(R"({"output_tokens":7,"input_tokens":null})");
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->input_tokens.has_value());
  EXPECT_EQ(e->total_tokens, 7);
  EXPECT_EQ(to_unix_ms(e->occurred_at), 42);  // the default: when it was received
  EXPECT_EQ(e->event_type, "message_usage");
  EXPECT_EQ(e->status, "ok");
  auto none = parse(R"({"agent_name":"x"})");
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->total_tokens.has_value());
}

TEST(UsageEvent, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"input_tokens":-1})", "input_tokens"},
      {R"({"output_tokens":1.5})", "output_tokens"},
      {R"({"cost_usd":"free"})", "cost_usd"},
      {R"({"occurred_at":"yesterday"})", "occurred_at"},
      {R"({"source_channel":"fax"})", "source_channel"},
      {R"({"event_type":"lunch"})", "event_type"},
      {R"({"status":"fine"})", "status"},
      {R"({"agent_name":7})", "agent_name"},
      {R"({"mystery":1})", "mystery"},
      {R"([1,2])", "object"},
  };
  for (const auto& [json, field] : cases) {
    auto e = parse(json);
    ASSERT_FALSE(e) << json;
    EXPECT_NE(e.error().message.find(field), std::string::npos)
        << json << ": " << e.error().message;
  }
}

TEST(DedupKey, TakesTheFirstPresentIdNormalised) {
  auto a = *parse(R"({"tool_call_id":" T1 ","message_id":"m1","session_id":"S"})");
  auto b = *parse(R"({"tool_call_id":"t1","message_id":"other","session_id":"s"})");
  EXPECT_EQ(dedup_key(a), dedup_key(b));
  EXPECT_TRUE(dedup_key(a).starts_with("tool:t1"));
  auto m = *parse(R"({"message_id":"m1","turn_id":"x"})");
  EXPECT_TRUE(dedup_key(m).starts_with("message:m1"));
  auto other_system = *parse(R"({"message_id":"m1","turn_id":"x","source_system":"codex"})");
  EXPECT_NE(dedup_key(m), dedup_key(other_system));
  // Without ids: a fingerprint of the content, to the millisecond.
  auto f1 =
      *parse(R"({"occurred_at":"2026-11-26T10:00:00.1234Z","input_tokens":5,"model_raw":"gpt-5"})");
  auto f2 =
      *parse(R"({"occurred_at":"2026-11-26T10:00:00.1239Z","input_tokens":5,"model_raw":"gpt-5"})");
  auto f3 =
      *parse(R"({"occurred_at":"2026-11-26T10:00:00.1234Z","input_tokens":6,"model_raw":"gpt-5"})");
  EXPECT_EQ(dedup_key(f1), dedup_key(f2));
  EXPECT_NE(dedup_key(f1), dedup_key(f3));
}

TEST(Pricing, NormalisesProviderPrefixesAndDates) {
  EXPECT_EQ(normalise_model("anthropic/claude-sonnet-4-5-20250929"), "claude-sonnet-4-5");
  EXPECT_EQ(normalise_model("us.anthropic.claude-opus-4-1-20250805-v1:0"), "claude-opus-4-1");
  EXPECT_EQ(normalise_model("openrouter/openai/GPT-5-2025-08-07"), "gpt-5");
  EXPECT_EQ(normalise_model("claude-3-5-haiku@20241022"), "claude-3-5-haiku");
  EXPECT_EQ(normalise_model("claude-3-5-haiku-latest"), "claude-3-5-haiku");
  EXPECT_EQ(normalise_model("gpt-4.1"), "gpt-4.1");
}

TEST(Pricing, BuiltInTableAppliesTheLongContextTier) {
  const auto t = price_table::builtin();
  auto e =
      *parse(R"({"model_raw":"claude-sonnet-4-5","input_tokens":1000000,"output_tokens":1000000})");
  e.input_tokens = 1000;
  e.output_tokens = 1000;
  EXPECT_NEAR(*t.cost(e), 1000 * 3e-6 + 1000 * 15e-6, 1e-12);
  e.input_tokens = 150'000;
  e.cache_read_tokens = 100'000;  // 250k of context: the higher tier
  EXPECT_NEAR(*t.cost(e), 150'000 * 6e-6 + 1000 * 22.5e-6 + 100'000 * 0.6e-6, 1e-9);
  e.model_raw = "gpt-5-mini-2025-08-07";
  e.cache_read_tokens = 0;
  EXPECT_NEAR(*t.cost(e), 150'000 * 0.25e-6 + 1000 * 2e-6, 1e-12);
  e.model_raw = "llama-from-the-garage";
  EXPECT_FALSE(t.cost(e).has_value());
  EXPECT_NE(t.find("claude-sonnet-4.5"), nullptr);
}

TEST(Pricing, LoadsLiteLlmShapeAndOverridesModelByModel) {
  auto file = price_table::parse_litellm(R"({
    "sample_spec": {"input_cost_per_token": 0, "mode": "chat"},
    "dall-e-3": {"mode": "image_generation"},
    "claude-sonnet-4-5": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                          "cache_read_input_token_cost": 1e-7, "cache_creation_input_token_cost": 2e-7,
                          "input_cost_per_token_above_200k_tokens": 4e-6},
    "my-model": {"input_cost_per_token": 5e-6, "output_cost_per_token": 5e-6}})");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->size(), 2u);
  auto t = price_table::builtin();
  const auto before = t.size();
  t.merge(*file);
  EXPECT_EQ(t.size(), before + 1);
  EXPECT_EQ(t.find("claude-sonnet-4-5")->input, 1e-6);
  EXPECT_EQ(*t.find("claude-sonnet-4-5")->input_above, 4e-6);
  EXPECT_EQ(t.find("my-model")->output, 5e-6);
  EXPECT_DOUBLE_EQ(t.find("gpt-5")->input, 1.25e-6);  // untouched by the override

  auto bad = price_table::parse_litellm(R"({"x": {"input_cost_per_token": "cheap"}})");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("x.input_cost_per_token"), std::string::npos);
  EXPECT_FALSE(price_table::parse_litellm("[1]"));
  EXPECT_FALSE(price_table::load("/nonexistent/prices.json"));
}

using vitals::test::family_total;
using vitals::test::usage_summary;

TEST(Ledger, PricesEventsWithoutACostAndCountsUnknownModels) {
  usage_memory usage;
  registry reg;
  ledger l(usage, reg);
  auto r = l.ingest(
      R"({"message_id":"a","model_raw":"anthropic/claude-sonnet-4-5-20250929","input_tokens":1000,"output_tokens":100}
{"message_id":"b","model_raw":"garage-llm","input_tokens":5}
{"message_id":"c","model_raw":"gpt-5","input_tokens":10,"cost_usd":1.5})");
  EXPECT_EQ(r.accepted, 3u);
  auto s = usage_summary(usage);
  ASSERT_EQ(s.size(), 1u);
  const auto& models = s[0].at("models").as_array();
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0].at("model"), "gpt-5");  // ordered by cost: the given 1.5 first
  EXPECT_EQ(models[0].at("cost_usd").to_number<double>(), 1.5);
  EXPECT_EQ(models[1].at("model"), "claude-sonnet-4-5");  // normalised
  EXPECT_NEAR(models[1].at("cost_usd").to_number<double>(), 1000 * 3e-6 + 100 * 15e-6, 1e-12);
  EXPECT_EQ(models[2].at("cost_usd").to_number<double>(), 0);
  EXPECT_EQ(family_total(reg, "vitals_agent_unpriced_events", "model", "garage-llm"), 1);
  // The stored event carries the computed cost and the canonical model.
  auto stored = usage.find(std::vector{dedup_key(*parse(R"({"message_id":"a"})"))});
  ASSERT_TRUE(stored && stored->front());
  EXPECT_EQ(stored->front()->model_canonical, "claude-sonnet-4-5");
  EXPECT_GT(*stored->front()->cost_usd, 0);
}

TEST(Ledger, ReloadsCountersAndDuplicatesFromItsStore) {
  test::temp_dir dir;
  {
    usage_sqlite usage(dir.path() / "usage.db");
    registry reg;
    ledger l(usage, reg);
    ASSERT_TRUE(l.load());
    auto r =
        l.ingest(R"([{"agent_name":"a","message_id":"m1","model_raw":"gpt-5","input_tokens":100},
                          {"agent_name":"a","event_type":"tool_usage","tool_call_id":"t1","tool_name":"Read","duration_ms":20}])");
    EXPECT_EQ(r.accepted, 2u);
  }
  usage_sqlite usage(dir.path() / "usage.db");
  registry reg;
  ledger l(usage, reg);
  ASSERT_TRUE(l.load());
  EXPECT_EQ(*usage.count(), 2u);
  EXPECT_EQ(family_total(reg, "vitals_agent_tokens", "type", "input"), 100);
  EXPECT_EQ(family_total(reg, "vitals_agent_tool_calls", "tool", "Read"), 1);
  auto r =
      l.ingest(R"({"agent_name":"a","message_id":"m1","model_raw":"gpt-5","input_tokens":100})");
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.duplicates, 1u);
}

TEST(Ledger, ErrorsCountAsRequestsButNotTokens) {
  usage_memory usage;
  registry reg;
  ledger l(usage, reg);
  l.ingest(
      R"({"agent_name":"a","message_id":"m1","model_raw":"gpt-5","input_tokens":100,"status":"error"}
{"agent_name":"a","message_id":"m2","model_raw":"gpt-5","input_tokens":7})");
  auto s = usage_summary(usage, "a");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].at("tokens").at("input").as_int64(), 7);
  EXPECT_EQ(s[0].at("requests").as_int64(), 2);
  EXPECT_TRUE(usage_summary(usage, "b").empty());
}

}  // namespace

namespace {

using vitals::test::temp_dir;
namespace fs = std::filesystem;

spool_record record(std::int64_t t_ms, std::string payload = R"({"message_id":"m"})") {
  spool_record r;
  r.created_at = from_unix_ms(t_ms);
  r.source_system = "test";
  r.source_channel = "api";
  r.payload = std::move(payload);
  return r;
}

TEST(Spool, ReadsOldestFirstAndAckRemoves) {
  temp_dir dir;
  spool s(dir.path());
  const auto base = to_unix_ms(vitals::now());
  auto b = s.write(record(base + 20, R"({"n":2})"));
  auto a = s.write(record(base + 10, R"({"n":1})"));
  auto c = s.write(record(base + 20, R"({"n":3})"));  // same time: written later, read later
  ASSERT_TRUE(a && b && c);
  auto pending = s.read_oldest(10);
  ASSERT_TRUE(pending);
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].record.payload, R"({"n":1})");
  EXPECT_EQ((*pending)[1].record.payload, R"({"n":2})");
  EXPECT_EQ((*pending)[2].record.payload, R"({"n":3})");
  EXPECT_EQ((*pending)[0].record.id, *a);
  EXPECT_EQ((*pending)[0].record.source_system, "test");
  EXPECT_EQ(s.read_oldest(2)->size(), 2u);
  ASSERT_TRUE(s.ack((*pending)[0]));
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(s.read_oldest(10)->front().record.payload, R"({"n":2})");
  EXPECT_FALSE(s.write(record(base, "not json")));
  for (const auto& e : fs::directory_iterator(dir.path()))  // no temporary file left behind
    EXPECT_FALSE(e.path().filename().string().starts_with(".tmp-")) << e.path();
}

TEST(Spool, MarkFailedCountsAttemptsAndKeepsTheLastErrorShort) {
  temp_dir dir;
  spool s(dir.path());
  ASSERT_TRUE(s.write(record(1000)));
  auto p = s.read_oldest(1)->front();
  ASSERT_TRUE(s.mark_failed(p, "database is locked"));
  std::string long_error(398, 'x');
  long_error += "\xc3\xa9\xc3\xa9 and more";  // a two-byte character across the 400 mark
  ASSERT_TRUE(s.mark_failed(p, long_error));
  auto again = s.read_oldest(1);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->size(), 1u) << "the record became unreadable";
  EXPECT_EQ(again->front().record.attempt, 2);
  EXPECT_EQ(again->front().record.last_error.size(), 400u);
  EXPECT_TRUE(again->front().record.last_error.ends_with("\xc3\xa9"));
}

TEST(Spool, MalformedFilesAreSkippedAndCountedOnce) {
  temp_dir dir;
  spool s(dir.path());
  ASSERT_TRUE(s.write(record(2000)));
  std::ofstream(dir.path() / "0000000001000-0000000000-00000000.json") << "{truncated";
  std::ofstream(dir.path() / ".tmp-0000000000500-x.json") << "half written";
  for (int i = 0; i < 3; ++i) {
    auto p = s.read_oldest(10);
    ASSERT_TRUE(p);
    ASSERT_EQ(p->size(), 1u);
    EXPECT_EQ(to_unix_ms(p->front().record.created_at), 2000);
  }
  EXPECT_EQ(s.malformed(), 1u);
}

TEST(Spool, CleanupRemovesOldestByAgeThenCountThenBytes) {
  temp_dir dir;
  spool s(dir.path(), false);
  const auto now = vitals::now();
  const auto hour = std::int64_t{3'600'000};
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(s.write(record(to_unix_ms(now) - (100 + i) * hour)));  // too old
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        s.write(record(to_unix_ms(now) - (10 - i) * hour, R"({"i":)" + std::to_string(i) + "}")));
  auto r = s.cleanup({.max_age = std::chrono::hours(96), .max_files = 8}, now);
  EXPECT_EQ(r.removed_by_age, 3u);
  EXPECT_EQ(r.removed_by_count, 2u);
  EXPECT_EQ(r.files, 8u);
  EXPECT_EQ(s.read_oldest(1)->front().record.payload, R"({"i":2})");  // the oldest went first
  const auto one = fs::file_size(s.read_oldest(1)->front().path);
  r = s.cleanup({.max_bytes = one * 3}, now);
  EXPECT_EQ(r.removed_by_bytes, 5u);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.read_oldest(1)->front().record.payload, R"({"i":7})");
}

}  // namespace

namespace {

/// A usage store that refuses writes while `down` is set, and remembers
/// the order in which it stored message ids.
struct flaky_store {
  usage_memory inner;
  bool down = false;
  std::vector<std::string> stored_ids;
  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) {
    return inner.find(keys);
  }
  status put(std::span<const usage_record> records) {
    if (down) return error(errc::unavailable, "database is down");
    for (const auto& r : records) stored_ids.push_back(r.event.message_id);
    return inner.put(records);
  }
  result<std::vector<usage_row>> aggregate(const usage_query& q) { return inner.aggregate(q); }
  result<std::size_t> count() { return inner.count(); }
};

TEST(LedgerSpool, RefusedWritesAreSpooledThenReplayedInOrderExactlyOnce) {
  vitals::test::temp_dir dir;
  spool sp(dir.path(), false);
  flaky_store store;
  registry reg;
  ledger l(store, reg);
  l.use_spool(sp);
  ASSERT_TRUE(l.load());
  EXPECT_EQ(l.ingest(R"({"message_id":"m1","input_tokens":1})").accepted, 1u);
  store.down = true;
  auto r = l.ingest(R"({"message_id":"m2","input_tokens":2}
{"message_id":"m3","input_tokens":3})");
  EXPECT_EQ(r.accepted, 2u) << "spooled events are accepted";
  EXPECT_TRUE(r.rejected.empty());
  EXPECT_EQ(l.spooled(), 2u);
  EXPECT_FALSE(l.replay());  // still down: they stay, marked
  EXPECT_EQ(sp.read_oldest(1)->front().record.attempt, 1);
  store.down = false;
  // While the spool drains, new events queue behind it, so order holds.
  EXPECT_EQ(l.ingest(R"({"message_id":"m4","input_tokens":4})").accepted, 1u);
  EXPECT_EQ(l.spooled(), 3u);
  EXPECT_EQ(l.ingest(R"({"message_id":"m3","input_tokens":3})").duplicates, 1u);
  auto n = l.replay();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 3u);
  EXPECT_EQ(l.spooled(), 0u);
  EXPECT_EQ(store.stored_ids, (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(usage_summary(store)[0].at("tokens").at("input").as_int64(), 10);
}

TEST(LedgerSpool, ARestartFindsSpooledEventsAndNeverStoresOneTwice) {
  vitals::test::temp_dir dir;
  flaky_store store;
  {
    spool sp(dir.path(), false);
    registry reg;
    ledger l(store, reg);
    l.use_spool(sp);
    ASSERT_TRUE(l.load());
    store.down = true;
    EXPECT_EQ(
        l.ingest(R"([{"message_id":"a","input_tokens":5},{"message_id":"b","input_tokens":6}])")
            .accepted,
        2u);
  }
  // A crash after storing "a" but before acknowledging it.
  store.down = false;
  auto a = *parse(R"({"message_id":"a","input_tokens":5})");
  ASSERT_TRUE(store.put(std::vector{usage_record{dedup_key(a), a}}));
  spool sp(dir.path(), false);
  registry reg;
  ledger l(store, reg);
  l.use_spool(sp);
  ASSERT_TRUE(l.load());
  EXPECT_EQ(l.spooled(), 1u);  // "a" was acknowledged at load
  EXPECT_EQ(family_total(reg, "vitals_agent_tokens", "type", "input"), 11);  // both, once
  ASSERT_TRUE(l.replay());
  EXPECT_EQ(store.stored_ids, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(usage_summary(store)[0].at("tokens").at("input").as_int64(), 11);
}

}  // namespace

namespace {

TEST(Enrichment, HigherChannelsReplaceLowerOnesOnlyFill) {
  auto api = *parse(R"({"source_channel":"api","message_id":"m1","input_tokens":100})");
  auto hook = *parse(
      R"({"source_channel":"hook","message_id":"m1","input_tokens":120,"model_raw":"gpt-5"})");
  auto jsonl =
      *parse(R"({"source_channel":"jsonl","message_id":"m1","input_tokens":90,"duration_ms":40})");
  auto stored = api;
  EXPECT_TRUE(merge_usage(stored, hook));
  EXPECT_EQ(stored.input_tokens, 120);
  EXPECT_EQ(stored.model_raw, "gpt-5");
  EXPECT_EQ(stored.source_channel, "hook");
  EXPECT_TRUE(merge_usage(stored, jsonl));  // lower: fills the unknown duration only
  EXPECT_EQ(stored.input_tokens, 120);
  EXPECT_EQ(*stored.duration_ms, 40);
  EXPECT_EQ(stored.source_channel, "hook");
  EXPECT_FALSE(merge_usage(stored, jsonl));  // nothing new
  EXPECT_EQ(channel_priority("sse"), 3);
  EXPECT_EQ(channel_priority("sqlite"), channel_priority("jsonl"));
}

TEST(Enrichment, TheLedgerStoresTheEnrichedEventAndItSurvivesARestart) {
  vitals::test::temp_dir dir;
  {
    usage_sqlite usage(dir.path() / "usage.db");
    registry reg;
    ledger l(usage, reg);
    ASSERT_TRUE(l.load());
    EXPECT_EQ(
        l.ingest(
             R"({"source_channel":"api","agent_name":"a","message_id":"m1","model_raw":"gpt-5","input_tokens":100})")
            .accepted,
        1u);
    auto r = l.ingest(
        R"({"source_channel":"hook","agent_name":"a","message_id":"m1","model_raw":"gpt-5","input_tokens":150,"output_tokens":10})");
    EXPECT_EQ(r.accepted, 0u);
    EXPECT_EQ(r.duplicates, 1u);
    EXPECT_EQ(family_total(reg, "vitals_agent_tokens", "type", "input"),
              150);  // grew by the difference
    auto s = usage_summary(usage, "a");
    EXPECT_EQ(s[0].at("tokens").at("input").as_int64(), 150);
    EXPECT_EQ(s[0].at("requests").as_int64(), 1);
  }
  usage_sqlite usage(dir.path() / "usage.db");
  registry reg;
  ledger l(usage, reg);
  ASSERT_TRUE(l.load());
  EXPECT_EQ(*usage.count(), 1u);
  auto s = usage_summary(usage, "a");
  EXPECT_EQ(s[0].at("tokens").at("input").as_int64(), 150);
  EXPECT_EQ(s[0].at("tokens").at("output").as_int64(), 10);
  EXPECT_EQ(family_total(reg, "vitals_agent_tokens", "type", "input"), 150);
}

}  // namespace
