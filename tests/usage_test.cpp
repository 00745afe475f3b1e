// The usage stores (memory and SQLite, one conformance suite and a check
// that both aggregate alike), raw payload retention, and the reports built
// on them: daily, summary with resources, agents with states, and billing
// blocks.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>

#include "support/helpers.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace std::chrono_literals;

timestamp at(std::string_view rfc3339) { return *parse_rfc3339(rfc3339); }

usage_record model_call(std::string id, std::string agent, std::string model, timestamp t,
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

usage_record tool_call(std::string id, std::string agent, std::string tool, timestamp t,
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

struct memory_usage {
  usage_memory store;
};
struct sqlite_usage {
  test::temp_dir dir;
  usage_sqlite store{dir.path() / "usage.db"};
};

template <class Fixture>
class UsageStoreConformance : public ::testing::Test {
 protected:
  Fixture f;
  auto& store() { return f.store; }
};
using usage_store_types = ::testing::Types<memory_usage, sqlite_usage>;
TYPED_TEST_SUITE(UsageStoreConformance, usage_store_types);

TYPED_TEST(UsageStoreConformance, FindsWhatItStoredAndReplacesByKey) {
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

TYPED_TEST(UsageStoreConformance, AggregatesByKeysAndBucketsWithErrorsLeftOutOfTokens) {
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

TEST(UsageStores, MemoryAndSqliteAggregateAlike) {
  usage_memory mem;
  test::temp_dir dir;
  usage_sqlite db(dir.path() / "usage.db");
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
  // Enrichments move events between groups and hours: SQLite's hourly sums
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

TEST(UsageSqlite, AnOlderFileGetsItsHourlySumsOnOpen) {
  test::temp_dir dir;
  const auto file = dir.path() / "usage.db";
  const auto t = at("2026-11-20T10:30:00Z");
  {
    usage_sqlite db(file);
    ASSERT_TRUE(db.put(std::vector{model_call("m1", "a", "gpt-5", t, 100, 10, 0.5),
                                   model_call("m2", "a", "gpt-5", t + 1h, 50, 5, 0.25)}));
  }
  {  // as version 0 left it: no hourly sums
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &raw), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(raw, "DELETE FROM usage_hourly; PRAGMA user_version = 0", nullptr,
                           nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(raw);
  }
  usage_sqlite db(file);
  auto r = db.aggregate({.group = by_model, .bucket = 24h});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ(r->front().totals.input, 150);
  EXPECT_EQ(r->front().totals.events, 2);
}

TEST(UsageSqlite, PrunesRawPayloadsAfterTheirRetentionAndKeepsTheEvents) {
  test::temp_dir dir;
  usage_sqlite db(dir.path() / "usage.db");
  const auto now = vitals::now();
  auto old = model_call("m1", "a", "gpt-5", now - std::chrono::days(500), 1, 1, 0);
  auto recent = model_call("m2", "a", "gpt-5", now - 1h, 2, 2, 0);
  old.event.payload = R"({"n":1})";
  recent.event.payload = R"({"n":2})";
  ASSERT_TRUE(db.put(std::vector{old, recent}));
  // Payloads were received now: a day later, a 3-day retention keeps them.
  auto r = db.prune({}, now + 24h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events, 1);  // m1 is older than 400 days: gone with its payload
  EXPECT_EQ(r->payloads, 0);
  EXPECT_EQ(*db.count(), 1u);
  EXPECT_EQ((*db.find(std::vector{recent.key}))[0]->payload, R"({"n":2})");
  r = db.prune({}, now + 4 * 24h);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->payloads, 1);
  auto kept = db.find(std::vector{recent.key});
  ASSERT_TRUE((*kept)[0]);
  EXPECT_TRUE((*kept)[0]->payload.empty());
  EXPECT_EQ((*kept)[0]->input_tokens, 2) << "the event outlives its raw payload";
  EXPECT_GT(db.wal_bytes(), 0u);
  ASSERT_TRUE(db.checkpoint());
  EXPECT_EQ(db.wal_bytes(), 0u);
}

// --- reports -------------------------------------------------------------------

using reports_t = usage_reports<usage_memory, stores::memory_store>;

TEST(UsageReports, DailyGroupsPerUtcDayOrderedByCost) {
  usage_memory u;
  ASSERT_TRUE(u.put(
      std::vector{model_call("m1", "a1", "gpt-5", at("2026-11-20T10:00:00Z"), 100, 10, 0.5),
                  model_call("m2", "a2", "claude-sonnet-4-5", at("2026-11-20T11:00:00Z"), 10, 1, 3),
                  model_call("m3", "a1", "gpt-5", at("2026-11-21T00:30:00Z"), 70, 7, 0.1, "error"),
                  tool_call("t1", "a1", "Bash", at("2026-11-21T09:00:00Z"), 100),
                  tool_call("t2", "a1", "Bash", at("2026-11-21T09:00:01Z"), 300)}));
  reports_t r(u, nullptr);
  auto d = r.daily(at("2026-11-19T00:00:00Z"), at("2026-11-22T00:00:00Z"), daily_by::model);
  ASSERT_TRUE(d);
  const auto& days = d->at("days").as_array();
  ASSERT_EQ(days.size(), 2u);
  EXPECT_EQ(days[0].at("date"), "2026-11-20");
  const auto& groups = days[0].at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].at("key"), "claude-sonnet-4-5");  // the costlier first
  EXPECT_EQ(groups[1].at("tokens").at("input").as_int64(), 100);
  EXPECT_EQ(days[0].at("tokens").at("input").as_int64(), 110);
  EXPECT_EQ(days[1].at("tokens").at("input").as_int64(), 0);  // the error's tokens
  EXPECT_EQ(days[1].at("requests").as_int64(), 1);            // ... but its request counts
  EXPECT_EQ(d->at("totals").at("requests").as_int64(), 3);
  EXPECT_EQ(d->at("totals").at("tool_calls").as_int64(), 0) << "by model: model calls only";

  auto tools = r.daily(at("2026-11-19T00:00:00Z"), at("2026-11-22T00:00:00Z"), daily_by::tool);
  ASSERT_TRUE(tools);
  const auto& tg = tools->at("days").as_array()[0].at("groups").as_array()[0];
  EXPECT_EQ(tg.at("key"), "Bash");
  EXPECT_EQ(tg.at("tool_calls").as_int64(), 2);
  EXPECT_EQ(tg.at("avg_duration_ms").to_number<double>(), 200);

  auto agents = r.daily(at("2026-11-19T00:00:00Z"), at("2026-11-22T00:00:00Z"), daily_by::agent);
  ASSERT_TRUE(agents);
  EXPECT_EQ(agents->at("totals").at("events").as_int64(), 5);
  auto one =
      r.daily(at("2026-11-19T00:00:00Z"), at("2026-11-22T00:00:00Z"), daily_by::provider, "a2");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->at("totals").at("cost_usd").to_number<double>(), 3);
}

TEST(UsageReports, BlocksStartOnTheHourAndProjectTheActiveOne) {
  usage_memory u;
  ASSERT_TRUE(u.put(std::vector{
      // Block 1: 10:00-15:00 (first event 10:15).
      model_call("m1", "a", "gpt-5", at("2026-11-20T10:15:00Z"), 1000, 0, 1),
      model_call("m2", "a", "gpt-5", at("2026-11-20T14:59:00Z"), 1000, 0, 1),
      // Block 2: past block 1's end, starts at 15:00.
      model_call("m3", "a", "claude-sonnet-4-5", at("2026-11-20T15:10:00Z"), 500, 0, 2),
      // Block 3: after a gap longer than 5 h; active at `now`.
      model_call("m4", "a", "gpt-5", at("2026-11-21T08:20:00Z"), 600, 0, 3),
      model_call("m5", "a", "gpt-5", at("2026-11-21T08:50:00Z"), 600, 0, 3)}));
  reports_t r(u, nullptr);
  const auto now = at("2026-11-21T09:20:00Z");
  auto b = r.blocks(5h, at("2026-11-19T00:00:00Z"), now);
  ASSERT_TRUE(b);
  const auto& blocks = b->at("blocks").as_array();
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[0].at("start"), "2026-11-20T10:00:00.000Z");
  EXPECT_EQ(blocks[0].at("end"), "2026-11-20T15:00:00.000Z");
  EXPECT_EQ(blocks[0].at("tokens").at("total").as_int64(), 2000);
  EXPECT_FALSE(blocks[0].at("active").as_bool());
  EXPECT_TRUE(blocks[0].at("projection").is_null());
  EXPECT_EQ(blocks[1].at("start"), "2026-11-20T15:00:00.000Z");
  EXPECT_TRUE(blocks[1].at("burn_rate").is_null()) << "one event: no duration to rate";
  EXPECT_EQ(blocks[1].at("models").as_array()[0], "claude-sonnet-4-5");
  const auto& live = blocks[2];
  EXPECT_EQ(live.at("start"), "2026-11-21T08:00:00.000Z");
  EXPECT_TRUE(live.at("active").as_bool());
  // 1,200 tokens and $6 over the 30 minutes from first to last event.
  EXPECT_DOUBLE_EQ(live.at("burn_rate").at("tokens_per_minute").to_number<double>(), 40);
  EXPECT_DOUBLE_EQ(live.at("burn_rate").at("cost_per_hour").to_number<double>(), 12);
  // 220 minutes left to 13:00: 1,200 + 40 * 220 tokens, $6 + $12 * 220 / 60.
  EXPECT_DOUBLE_EQ(live.at("projection").at("remaining_minutes").to_number<double>(), 220);
  EXPECT_DOUBLE_EQ(live.at("projection").at("total_tokens").to_number<double>(), 10000);
  EXPECT_DOUBLE_EQ(live.at("projection").at("cost_usd").to_number<double>(), 50);
}

// Samples of one target: a CPU counter, resident memory, I/O counters, plus
// the host's memory size.
void add_samples(stores::memory_store& s, const std::string& target, timestamp from, int n,
                 double cpu_per_second, double mem_base) {
  sample_batch batch;
  const label_set l{{"target", target}};
  for (int i = 0; i < n; ++i) {
    const auto t = from + std::chrono::seconds(10 * i);
    batch.push_back({series("process_cpu_seconds_total", l), t, cpu_per_second * 10 * i});
    batch.push_back({series("process_resident_memory_bytes", l), t, mem_base + 1000.0 * i});
    batch.push_back({series("process_io_write_bytes_total", l), t, 4096.0 * i});
    batch.push_back({series("node_memory_MemTotal_bytes", label_set{{"target", "host"}}), t, 1e9});
  }
  ASSERT_TRUE(s.append(batch));
}

TEST(UsageReports, SummaryJoinsResourcesTokensAndModels) {
  usage_memory u;
  stores::memory_store samples;
  const auto now = vitals::now();
  add_samples(samples, "t1", now - 100s, 10, 0.5, 1e8);  // half a core, 100 MB and growing
  ASSERT_TRUE(
      u.put(std::vector{model_call("m1", "agent-1", "gpt-5", now - 50s, 100, 10, 0.5),
                        model_call("m2", "agent-1", "claude-sonnet-4-5", now - 40s, 10, 1, 2),
                        tool_call("t1", "agent-1", "Bash", now - 30s, 100)}));
  reports_t r(u, &samples, [] {
    return std::vector<agent_source>{{.name = "agent-1",
                                      .target = "t1",
                                      .role = "coder",
                                      .tool = "claude-code",
                                      .runtime = "local"},
                                     {.name = "agent-2", .target = "t2"}};
  });
  auto s = r.summary(std::nullopt, now - 1h, now, now);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 2u);
  const auto& a = (*s)[0].as_object();
  EXPECT_EQ(a.at("agent_name"), "agent-1");
  EXPECT_EQ(a.at("role"), "coder");
  EXPECT_EQ(a.at("tool"), "claude-code");
  EXPECT_EQ(a.at("runtime"), "local");
  EXPECT_EQ(a.at("state"), "working");  // half a core is busy
  EXPECT_NEAR(a.at("cpu").at("avg_percent").to_number<double>(), 50, 1e-9);
  EXPECT_NEAR(a.at("cpu").at("max_percent").to_number<double>(), 50, 1e-9);
  EXPECT_EQ(a.at("memory").at("max_bytes").to_number<double>(), 1e8 + 9000);
  EXPECT_EQ(a.at("memory").at("avg_bytes").to_number<double>(), 1e8 + 4500);
  EXPECT_NEAR(a.at("memory").at("avg_percent").to_number<double>(), 10.00045, 1e-9);
  EXPECT_EQ(a.at("disk").at("write_bytes").to_number<double>(), 9 * 4096.0);
  EXPECT_EQ(a.at("network").at("rx_bytes").to_number<double>(), 0);
  EXPECT_EQ(a.at("tokens").at("input").as_int64(), 110);
  EXPECT_EQ(a.at("cost").at("total_usd").to_number<double>(), 2.5);
  const auto& models = a.at("models").as_array();
  ASSERT_EQ(models.size(), 2u);
  EXPECT_EQ(models[0].at("model"), "claude-sonnet-4-5");  // by cost
  EXPECT_EQ(models[1].at("input_tokens").as_int64(), 100);
  // A tracked agent without samples or usage is listed, idle.
  EXPECT_EQ((*s)[1].at("agent_name"), "agent-2");
  EXPECT_EQ((*s)[1].at("state"), "idle");
  EXPECT_EQ((*s)[1].at("tokens").at("total").as_int64(), 0);
  auto only = r.summary("agent-2", now - 1h, now, now);
  ASSERT_TRUE(only);
  EXPECT_EQ(only->size(), 1u);
}

TEST(UsageReports, AgentsCountStatesAndUtilisation) {
  usage_memory u;
  stores::memory_store samples;
  const auto now = vitals::now();
  add_samples(samples, "busy", now - 100s, 10, 1.0, 1e8);      // a full core, events recent
  add_samples(samples, "spinning", now - 100s, 10, 1.0, 1e8);  // a full core, silent for an hour
  add_samples(samples, "quiet", now - 100s, 10, 0.0, 1e8);
  ASSERT_TRUE(u.put(std::vector{model_call("m1", "busy", "gpt-5", now - 5s, 1, 1, 0),
                                model_call("m2", "spinning", "gpt-5", now - 1h, 1, 1, 0),
                                model_call("m3", "gone", "gpt-5", now - 2h, 1, 1, 0)}));
  reports_t r(u, &samples, [] {
    return std::vector<agent_source>{{.name = "busy", .target = "busy"},
                                     {.name = "spinning", .target = "spinning"},
                                     {.name = "quiet", .target = "quiet"},
                                     {.name = "finished", .target = "x", .exited = true},
                                     {.name = "broken", .target = "y", .failing = true}};
  });
  auto a = r.agents(now);
  ASSERT_TRUE(a);
  std::map<std::string, std::string> states;
  for (const auto& x : a->at("agents").as_array())
    states[std::string(x.at("agent_name").as_string())] = std::string(x.at("state").as_string());
  EXPECT_EQ(states, (std::map<std::string, std::string>{{"busy", "working"},
                                                        {"spinning", "stuck"},
                                                        {"quiet", "idle"},
                                                        {"finished", "done"},
                                                        {"broken", "error"},
                                                        {"gone", "stopped"}}));
  EXPECT_EQ(a->at("total_agents").as_int64(), 6);
  EXPECT_EQ(a->at("active_agents").as_int64(), 3);
  EXPECT_EQ(a->at("working").as_int64(), 1);
  EXPECT_EQ(a->at("stuck").as_int64(), 1);
  EXPECT_EQ(a->at("stopped").as_int64(), 1);
  EXPECT_NEAR(a->at("utilisation").to_number<double>(), 1.0 / 3, 1e-12);
  for (const auto& x : a->at("agents").as_array())
    if (x.at("agent_name") == "busy") {
      EXPECT_NEAR(x.at("cpu_percent").to_number<double>(), 100, 1e-9);
      EXPECT_EQ(x.at("mem_used_bytes").to_number<double>(), 1e8 + 9000);
      EXPECT_EQ(x.at("mem_limit_bytes").to_number<double>(), 1e9);
    }
}

}  // namespace
