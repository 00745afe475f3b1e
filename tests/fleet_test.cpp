// A fleet of monitors on one PostgreSQL database (issue 19): the host each
// usage event and sample came from, reports grouped by host, and several
// writers racing on one database.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <set>
#include <string>
#include <vector>

#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "support/usage_conformance.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/http/monitor_samplers.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace vitals::test::usage_conformance;
using vitals::test::postgres_database;
using vitals::test::temp_dir;

usage_record on_host(usage_record r, std::string host) {
  r.event.host = std::move(host);
  return r;
}

// Agent a1 on two hosts, a2 on one: by host, by agent, and by both.
template <class Store>
void expect_groups_by_host(Store& s) {
  const auto t = at("2026-11-20T10:15:00Z");
  ASSERT_TRUE(s.put(std::vector{on_host(model_call("m1", "a1", "gpt-5", t, 100, 10, 0.5), "h1"),
                                on_host(model_call("m2", "a1", "gpt-5", t, 200, 20, 1.0), "h2"),
                                on_host(model_call("m3", "a2", "gpt-5", t, 400, 40, 2.0), "h2"),
                                on_host(tool_call("c1", "a1", "Bash", t, 5), "h1")}));
  for (auto bucket : {0s, std::chrono::seconds(24h)}) {  // events, then whole hours
    auto by_h = s.aggregate({.group = by_host, .bucket = bucket});
    ASSERT_TRUE(by_h);
    ASSERT_EQ(by_h->size(), 2u);
    EXPECT_EQ((*by_h)[0].host, "h1");
    EXPECT_EQ((*by_h)[0].totals.input, 100);
    EXPECT_EQ((*by_h)[0].totals.tool_calls, 1);
    EXPECT_EQ((*by_h)[1].host, "h2");
    EXPECT_EQ((*by_h)[1].totals.input, 600);
    EXPECT_EQ((*by_h)[1].totals.cost_usd, 3.0);
    // The same agent name on two hosts: two groups.
    auto both = s.aggregate({.agent = "a1", .group = by_agent | by_host, .bucket = bucket});
    ASSERT_TRUE(both);
    ASSERT_EQ(both->size(), 2u);
    EXPECT_EQ((*both)[0].agent, "a1");
    EXPECT_EQ((*both)[0].host, "h1");
    EXPECT_EQ((*both)[1].host, "h2");
    EXPECT_EQ((*both)[1].totals.input, 200);
    // Not grouped by host: one agent, as before.
    auto agents = s.aggregate({.group = by_agent, .bucket = bucket});
    ASSERT_TRUE(agents);
    ASSERT_EQ(agents->size(), 2u);
    EXPECT_EQ((*agents)[0].totals.input, 300);
    EXPECT_EQ((*agents)[0].host, "");
  }
  auto got = s.find(std::vector<std::string>{model_call("m2", "a1", "gpt-5", t, 0, 0, 0).key});
  ASSERT_TRUE(got && (*got)[0]);
  EXPECT_EQ((*got)[0]->host, "h2");
}

TEST(FleetHost, EveryUsageStoreGroupsByHost) {
  {
    usage_memory s;
    expect_groups_by_host(s);
  }
  {
    temp_dir dir;
    usage_sqlite s(dir.path() / "usage.db");
    expect_groups_by_host(s);
  }
  {
    postgres_database db;
    usage_postgres s(db.dsn());
    expect_groups_by_host(s);
  }
}

// A usage.db from before hosts (user_version 1): the host column is added,
// the hourly sums are rebuilt with it, and the old events stay.
TEST(FleetHost, AnSqliteFileFromBeforeHostsIsMigrated) {
  temp_dir dir;
  const auto file = dir.path() / "usage.db";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    const char* old_schema =
        "CREATE TABLE usage_events ("
        " id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, t INTEGER NOT NULL,"
        " source_system TEXT NOT NULL, source_channel TEXT NOT NULL,"
        " event_type TEXT NOT NULL, provider TEXT NOT NULL, account TEXT NOT NULL,"
        " agent TEXT NOT NULL, workspace TEXT NOT NULL, session TEXT NOT NULL,"
        " turn TEXT NOT NULL, message TEXT NOT NULL, tool_call TEXT NOT NULL,"
        " model_raw TEXT NOT NULL, model_canonical TEXT NOT NULL, model TEXT NOT NULL,"
        " tool TEXT NOT NULL, status TEXT NOT NULL,"
        " input INTEGER, output INTEGER, reasoning INTEGER, cache_read INTEGER,"
        " cache_write INTEGER, total INTEGER, requests INTEGER,"
        " cost REAL, duration_ms REAL);"
        "CREATE TABLE usage_hourly ("
        " hour INTEGER NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,"
        " tool TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,"
        " is_tool INTEGER NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,"
        " cache_read INTEGER NOT NULL, cache_write INTEGER NOT NULL,"
        " reasoning INTEGER NOT NULL, total INTEGER NOT NULL, requests INTEGER NOT NULL,"
        " tool_calls INTEGER NOT NULL, errors INTEGER NOT NULL, events INTEGER NOT NULL,"
        " cost REAL NOT NULL, duration_ms REAL NOT NULL, first INTEGER NOT NULL,"
        " last INTEGER NOT NULL,"
        " PRIMARY KEY (hour, agent, model, tool, provider, status, is_tool)) WITHOUT ROWID;"
        "INSERT INTO usage_events (key, t, source_system, source_channel, event_type, provider,"
        " account, agent, workspace, session, turn, message, tool_call, model_raw,"
        " model_canonical, model, tool, status, input, cost) VALUES ('k1', 1790000000000,"
        " 'claude', 'api', 'message_usage', 'anthropic', '', 'agent-1', '', '', '', '', '',"
        " 'm', 'm', 'm', '', 'ok', 7, 0.5);"
        // Sums that disagree with the events: the migration rebuilds them.
        "INSERT INTO usage_hourly VALUES (1789999200000, 'agent-1', 'm', '', 'anthropic', 'ok',"
        " 0, 999, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0.5, 0, 1790000000000, 1790000000000);"
        "PRAGMA user_version = 1;";
    ASSERT_EQ(sqlite3_exec(db, old_schema, nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  usage_sqlite s(file);
  EXPECT_EQ(*s.count(), 1u);
  auto rows = s.aggregate({.group = by_agent | by_host, .bucket = 24h});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().agent, "agent-1");
  EXPECT_EQ(rows->front().host, "");
  EXPECT_EQ(rows->front().totals.input, 7);
  EXPECT_TRUE(s.put(std::vector{
      on_host(model_call("m2", "agent-1", "m", at("2026-09-21T14:00:00Z"), 5, 1, 0.1), "h1")}));
  rows = s.aggregate({.group = by_host, .bucket = 24h});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ(rows->back().host, "h1");
  usage_sqlite again(file);  // nothing left to migrate
  EXPECT_EQ(*again.count(), 2u);
}

// The ledger stamps its host on what it takes in, unless an event names
// one; a resent event keeps the host that stored it first.
TEST(FleetHost, TheLedgerStampsItsHostAndAResentEventKeepsTheFirst) {
  postgres_database db;
  usage_postgres store_a(db.dsn()), store_b(db.dsn());
  registry reg_a, reg_b;
  ledger a(store_a, reg_a), b(store_b, reg_b);
  a.set_host("host-a");
  b.set_host("host-b");
  const std::string event =
      R"({"agent_name":"x","model_raw":"gpt-5","message_id":"m1","input_tokens":10,)"
      R"("occurred_at":"2026-11-20T10:00:00Z"})";
  EXPECT_EQ(a.ingest(event).accepted, 1u);
  EXPECT_EQ(b.ingest(event).duplicates, 1u);
  EXPECT_EQ(b.ingest(R"({"agent_name":"x","message_id":"m2","input_tokens":1,"host":"h9",)"
                     R"("occurred_at":"2026-11-20T10:00:00Z"})")
                .accepted,
            1u);
  auto rows = store_a.aggregate({.group = by_host});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].host, "h9");
  EXPECT_EQ((*rows)[1].host, "host-a");
  EXPECT_EQ((*rows)[1].totals.input, 10);
  EXPECT_EQ(*store_b.count(), 2u);
}

TEST(FleetHost, TheDailyReportGroupsByHost) {
  usage_memory usage;
  const auto t = at("2026-11-20T10:15:00Z");
  ASSERT_TRUE(usage.put(std::vector{on_host(model_call("m1", "a1", "gpt-5", t, 100, 10, 0.5), "h1"),
                                    on_host(model_call("m2", "a1", "gpt-5", t, 200, 20, 1.5), "h2"),
                                    on_host(tool_call("c1", "a1", "Bash", t, 5), "h1")}));
  usage_reports<usage_memory, stores::memory_store> reports(usage, nullptr);
  auto by = parse_daily_by("host");
  ASSERT_TRUE(by);
  auto daily = reports.daily(t - 1h, t + 1h, *by, "");
  ASSERT_TRUE(daily) << daily.error().message;
  EXPECT_EQ(daily->at("by").as_string(), "host");
  const auto& groups = daily->at("days").as_array().at(0).at("groups").as_array();
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].at("key").as_string(), "h2");  // by cost
  EXPECT_EQ(groups[1].at("key").as_string(), "h1");
  EXPECT_EQ(groups[1].at("tool_calls").as_int64(), 1);  // host groups count tool calls too
}

TEST(FleetHost, TheSamplerFactoryLabelsEverySampleWithItsHost) {
  using any = std::variant<http::monitor_process, http::monitor_host>;
  http::sampler_factory<any> plain, stamped{.host = "h1"};
  auto self = target_spec{.id = "self", .kind = "self", .labels = {{"target", "self"}}};
  auto collect = [](http::sampler_factory<any>& f, const target_spec& s) {
    auto made = f(s);
    EXPECT_TRUE(made);
    std::set<std::string> hosts;
    std::visit(
        [&](auto& sampler) {
          sample_batch out;
          (void)sampler.collect(out, vitals::now());
          for (const auto& x : out) hosts.insert(std::string(x.series.labels().get("host")));
        },
        *made);
    return hosts;
  };
  EXPECT_EQ(collect(plain, self), std::set<std::string>{""});
  EXPECT_EQ(collect(stamped, self), std::set<std::string>{"h1"});
  auto own = self;
  own.labels = own.labels.with("host", "mine");
  EXPECT_EQ(collect(stamped, own), std::set<std::string>{"mine"});
}

}  // namespace
