// The usage stores (memory and SQLite: the conformance suite of
// support/usage_conformance.hpp and a check that both aggregate alike), raw
// payload retention, and the reports built on them: daily, summary with
// resources, agents with states, and billing blocks.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <random>

#include "support/helpers.hpp"
#include "support/usage_conformance.hpp"
#include "vitals/agent/any_usage.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace std::chrono_literals;
using namespace vitals::test::usage_conformance;

struct memory_usage {
  usage_memory store;
};
struct sqlite_usage {
  test::temp_dir dir;
  usage_sqlite store{dir.path() / "usage.db"};
};

// The same stores behind any_usage_store (agent/any_usage.hpp), as the
// agent monitor holds them.
struct any_memory_usage {
  usage_memory mem;
  any_usage_store store{mem};
};
struct any_sqlite_usage {
  test::temp_dir dir;
  usage_sqlite sql{dir.path() / "usage.db"};
  any_usage_store store{sql};
};

using usage_store_types =
    ::testing::Types<memory_usage, sqlite_usage, any_memory_usage, any_sqlite_usage>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, UsageStoreConformance, usage_store_types);

TEST(UsageStores, MemoryAndSqliteAggregateAlike) {
  test::temp_dir dir;
  usage_sqlite db(dir.path() / "usage.db");
  expect_aggregates_like_memory(db);
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
  expect_prunes_by_retention(db);
  EXPECT_GT(db.wal_bytes(), 0u);
  ASSERT_TRUE(db.checkpoint());
  EXPECT_EQ(db.wal_bytes(), 0u);
}

// Retention through any_usage_store: the SQLite store's prune, checkpoint and
// WAL are reached; the memory store has none, so nothing is pruned.
TEST(AnyUsageStore, RetentionReachesTheStoreThatHasIt) {
  test::temp_dir dir;
  usage_sqlite sql(dir.path() / "usage.db");
  any_usage_store db(sql);
  expect_prunes_by_retention(db);
  EXPECT_GT(db.wal_bytes(), 0u);
  ASSERT_TRUE(db.checkpoint());
  EXPECT_EQ(db.wal_bytes(), 0u);

  usage_memory mem;
  any_usage_store in_memory(mem);
  ASSERT_TRUE(in_memory.put(std::vector{
      model_call("m1", "a", "gpt-5", vitals::now() - std::chrono::days(500), 1, 1, 0)}));
  auto r = in_memory.prune({}, vitals::now());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->events, 0);
  EXPECT_EQ(*in_memory.count(), 1u);
  EXPECT_TRUE(in_memory.checkpoint());
  EXPECT_EQ(in_memory.wal_bytes(), 0u);
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
  // 10.00045 % of the limit, rounded to 0.01 as percentages are (docs/http-api.md).
  EXPECT_EQ(a.at("memory").at("avg_percent").to_number<double>(), 10);
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
  EXPECT_EQ(a->at("utilisation").to_number<double>(), 0.333);  // 1/3, a ratio to 0.001
  for (const auto& x : a->at("agents").as_array())
    if (x.at("agent_name") == "busy") {
      EXPECT_NEAR(x.at("cpu_percent").to_number<double>(), 100, 1e-9);
      EXPECT_EQ(x.at("mem_used_bytes").to_number<double>(), 1e8 + 9000);
      EXPECT_EQ(x.at("mem_limit_bytes").to_number<double>(), 1e9);
    }
}

TEST(UsageReports, AgentsCountRolesUptimeAndTheWorkspace) {
  usage_memory u;
  stores::memory_store samples;
  const auto now = vitals::now();
  add_samples(samples, "c1", now - 100s, 10, 0.0, 1e8);
  add_samples(samples, "w1", now - 100s, 10, 0.0, 1e8);
  // c1's process started 3,600.4 s before now; w1 has no start time (a cgroup, say).
  const double started = to_unix_seconds(now) - 3600.4;
  ASSERT_TRUE(samples.append(sample_batch{
      {series("process_start_time_seconds", label_set{{"target", "c1"}}), now - 10s, started}}));
  reports_t r(u, &samples,
              [] {
                return std::vector<agent_source>{
                    {.name = "c1", .target = "c1", .role = "coordinator"},
                    {.name = "w1", .target = "w1", .role = "worker"},
                    {.name = "w2", .target = "w2", .role = "worker"},
                    {.name = "r1", .target = "r1", .role = "reviewer"},
                    {.name = "x", .target = "x", .exited = true}};
              },
              {.workspace_path = "/home/dev/fleet"});
  auto a = r.agents(now);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("workspace_path"), "/home/dev/fleet");
  EXPECT_EQ(a->at("coordinators").as_int64(), 1);
  EXPECT_EQ(a->at("workers").as_int64(), 2);
  EXPECT_EQ(a->at("roles"), boost::json::parse(R"({"coordinator":1,"reviewer":1,"worker":2})"));
  std::map<std::string, boost::json::value> uptime;
  for (const auto& x : a->at("agents").as_array())
    uptime[std::string(x.at("agent_name").as_string())] = x.at("uptime_seconds");
  EXPECT_EQ(uptime["c1"], boost::json::value(std::int64_t(3600))) << "whole seconds";
  EXPECT_TRUE(uptime["w1"].is_null()) << "no start time";
  EXPECT_TRUE(uptime["x"].is_null()) << "exited";

  reports_t plain(u, &samples);
  auto b = plain.agents(now);
  ASSERT_TRUE(b);
  EXPECT_FALSE(b->contains("workspace_path")) << "shown only when set";
  EXPECT_EQ(b->at("coordinators").as_int64(), 0);
}

}  // namespace
