// A fleet of monitors on one PostgreSQL database (issue 19): the host each
// usage event and sample came from, reports grouped by host, and several
// writers racing on one database.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <filesystem>
#include <future>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "support/usage_conformance.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/http/monitor_samplers.hpp"
#include "vitals/net/client.hpp"
#include "vitals/stores/followed.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/postgres.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace vitals::test::usage_conformance;
using vitals::test::child;
using vitals::test::eventually;
using vitals::test::postgres_database;
using vitals::test::temp_dir;

std::int64_t scalar(const std::string& dsn, const std::string& sql) {
  auto c = stores::pg::connection::open(dsn);
  if (!c) return -1;
  auto r = c->query(sql.c_str());
  return r && r->size() == 1 ? r->int64(0, 0) : -1;
}

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
    // Only one host's events: h2's a1 and a2, none of h1's.
    auto on_h2 = s.aggregate({.host = "h2", .group = by_agent, .bucket = bucket});
    ASSERT_TRUE(on_h2);
    ASSERT_EQ(on_h2->size(), 2u);
    EXPECT_EQ((*on_h2)[0].agent, "a1");
    EXPECT_EQ((*on_h2)[0].totals.input, 200);
    EXPECT_EQ((*on_h2)[0].totals.tool_calls, 0);
    EXPECT_EQ((*on_h2)[1].totals.input, 400);
    auto nowhere = s.aggregate({.host = "h9", .group = by_agent, .bucket = bucket});
    ASSERT_TRUE(nowhere);
    EXPECT_TRUE(nowhere->empty());
  }
  auto got = s.find(std::vector<std::string>{model_call("m2", "a1", "gpt-5", t, 0, 0, 0).key});
  ASSERT_TRUE(got && (*got)[0]);
  EXPECT_EQ((*got)[0]->host, "h2");

  // A monitor's own host also takes the events stored before hosts were
  // (host ''), when asked to: by events and by whole hours.
  ASSERT_TRUE(s.put(std::vector{on_host(model_call("o1", "a9", "gpt-5", t, 7, 0, 0), ""),
                                on_host(model_call("o2", "a9", "gpt-5", t, 8, 0, 0), "h2")}));
  for (auto bucket : {0s, std::chrono::seconds(24h)}) {
    auto own = s.aggregate(
        {.agent = "a9", .host = "h2", .unset_host_too = true, .group = by_agent, .bucket = bucket});
    ASSERT_TRUE(own);
    ASSERT_EQ(own->size(), 1u);
    EXPECT_EQ((*own)[0].totals.input, 15);
    auto strict = s.aggregate({.agent = "a9", .host = "h2", .group = by_agent, .bucket = bucket});
    ASSERT_TRUE(strict);
    ASSERT_EQ(strict->size(), 1u);
    EXPECT_EQ((*strict)[0].totals.input, 8);
  }
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

// On a shared sample store, agent-1's resources on this monitor are its
// target's series of this host, not those of agent-1 on another machine.
TEST(FleetHost, AnAgentsResourcesAreReadFromItsOwnHostsSeries) {
  stores::memory_store samples;
  usage_memory usage;
  const auto t = vitals::now() - std::chrono::minutes(1);
  sample_batch b;
  for (int i = 0; i <= 6; ++i)
    for (auto [host, per_tick] : {std::pair{"h1", 1.0}, std::pair{"h2", 5.0}})
      b.push_back({series("process_cpu_seconds_total", {{"host", host}, {"target", "agent-1"}}),
                   t + std::chrono::seconds(10 * i), per_tick * i});
  ASSERT_TRUE(samples.append(b));
  auto cpu_on = [&](std::string host) {
    usage_reports<usage_memory, stores::memory_store> reports(
        usage, &samples,
        [] { return std::vector<agent_source>{{.name = "agent-1", .target = "agent-1"}}; },
        {.host = std::move(host)});
    auto s = reports.summary("agent-1", t - std::chrono::minutes(1), t + std::chrono::minutes(2));
    EXPECT_TRUE(s) << s.error().message;
    return s->at(0).at("cpu").at("avg_percent").to_number<double>();
  };
  EXPECT_EQ(cpu_on("h1"), 10);
  EXPECT_EQ(cpu_on("h2"), 50);
}

// A view tracks nothing: its agents are what the stored samples show. The
// same agent name on two hosts is two agents, each with its own host's
// resources and usage; `host` narrows every report to one host.
TEST(FleetHost, OneAgentNameOnTwoHostsIsTwoAgentsWithTheirOwnResources) {
  stores::memory_store samples;
  usage_memory usage;
  const auto now = vitals::now();
  const auto t = now - std::chrono::seconds(60);
  sample_batch b;
  for (int i = 0; i <= 6; ++i)
    for (auto [host, per_tick] : {std::pair{"h1", 1.0}, std::pair{"h2", 5.0}}) {
      const label_set l{
          {"agent", "claude"}, {"host", host}, {"role", "worker"}, {"target", "claude-1"}};
      b.push_back(
          {series("process_cpu_seconds_total", l), t + std::chrono::seconds(10 * i), per_tick * i});
      b.push_back({series("process_resident_memory_bytes", l), t + std::chrono::seconds(10 * i),
                   per_tick * 1e6});
    }
  // Not agents: the monitor's own process, a scrape target's process
  // metrics, and an agent whose last sample is two days old.
  b.push_back({series("process_cpu_seconds_total", {{"host", "h1"}, {"target", "self"}}), t, 1});
  b.push_back(
      {series("process_cpu_seconds_total", {{"host", "h1"}, {"target", "scrape-1"}}), t, 1});
  b.push_back(
      {series("process_cpu_seconds_total", {{"agent", "old"}, {"host", "h1"}, {"target", "old"}}),
       now - std::chrono::hours(48), 1});
  // A flag-made process target without an agent label is named by its id.
  b.push_back({series("process_cpu_seconds_total", {{"host", "h2"}, {"target", "pid-42"}}),
               now - std::chrono::minutes(10), 1});
  ASSERT_TRUE(samples.append(b));

  const auto sources = stored_agent_sources(samples, now);
  ASSERT_EQ(sources.size(), 3u);
  EXPECT_EQ(sources[0].host, "h1");
  EXPECT_EQ(sources[0].name, "claude");
  EXPECT_EQ(sources[0].role, "worker");
  EXPECT_FALSE(sources[0].exited);
  EXPECT_EQ(sources[1].host, "h2");
  EXPECT_EQ(sources[2].name, "pid-42");
  EXPECT_TRUE(sources[2].exited);  // no sample for ten minutes

  ASSERT_TRUE(
      usage.put(std::vector{on_host(model_call("e1", "claude", "gpt-5", t, 100, 10, 0.5), "h1"),
                            on_host(model_call("e2", "claude", "gpt-5", t, 300, 30, 1.5), "h2"),
                            on_host(model_call("e3", "claude", "gpt-5", t, 50, 5, 0.25), "h2")}));
  usage_reports<usage_memory, stores::memory_store> reports(
      usage, &samples, [&] { return stored_agent_sources(samples, vitals::now()); },
      {.host = "the-view"});
  auto s = reports.summary("claude", t - std::chrono::minutes(1), now, now);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 2u) << boost::json::serialize(*s);
  std::map<std::string, const boost::json::object*> by_host;
  for (const auto& a : *s) by_host[std::string(a.at("host").as_string())] = &a.as_object();
  ASSERT_TRUE(by_host.count("h1") && by_host.count("h2")) << boost::json::serialize(*s);
  EXPECT_EQ(by_host["h1"]->at("tokens").at("input").to_number<std::int64_t>(), 100);
  EXPECT_EQ(by_host["h2"]->at("tokens").at("input").to_number<std::int64_t>(), 350);
  EXPECT_EQ(by_host["h1"]->at("cpu").at("avg_percent").to_number<double>(), 10);
  EXPECT_EQ(by_host["h2"]->at("cpu").at("avg_percent").to_number<double>(), 50);
  EXPECT_EQ(by_host["h2"]->at("memory").at("max_bytes").to_number<double>(), 5e6);
  EXPECT_EQ(by_host["h2"]->at("role").as_string(), "worker");

  auto a = reports.agents(now);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->at("total_agents").to_number<std::int64_t>(), 3) << boost::json::serialize(*a);
  int claudes = 0;
  for (const auto& x : a->at("agents").as_array())
    if (x.at("agent_name") == "claude") {
      ++claudes;
      // The last rate between two samples of its own host: 1 or 5 s per 10 s.
      EXPECT_EQ(x.at("cpu_percent").to_number<double>(), x.at("host") == "h1" ? 10 : 50) << x;
      EXPECT_EQ(x.at("state"), "working") << x;  // its event is a minute old
    } else {
      EXPECT_EQ(x.at("agent_name"), "pid-42");
      EXPECT_EQ(x.at("state"), "done") << x;
    }
  EXPECT_EQ(claudes, 2);

  // host=h2: only h2's agents, events and blocks.
  a = reports.agents(now, "h2");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("total_agents").to_number<std::int64_t>(), 2) << boost::json::serialize(*a);
  s = reports.summary(std::nullopt, t - std::chrono::minutes(1), now, now, "h2");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 2u) << boost::json::serialize(*s);
  for (const auto& x : *s) EXPECT_EQ(x.at("host"), "h2");
  auto d = reports.daily(t - std::chrono::hours(1), now, daily_by::agent, {}, "h1");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->at("totals").at("tokens").at("input").to_number<std::int64_t>(), 100);
  auto blocks = reports.blocks(std::chrono::hours(5), t - std::chrono::hours(1), now, {}, "h2");
  ASSERT_TRUE(blocks);
  EXPECT_NE(boost::json::serialize(*blocks).find("\"input\":350"), std::string::npos)
      << boost::json::serialize(*blocks);
}

// Events stored before hosts were recorded (host '') are the monitor's own:
// one agent with the ones it stores now, not a second row.
TEST(FleetHost, EventsFromBeforeHostsAreThisMonitorsOwn) {
  usage_memory usage;
  const auto now = vitals::now();
  const auto t = now - std::chrono::minutes(5);
  ASSERT_TRUE(
      usage.put(std::vector{on_host(model_call("e1", "a1", "gpt-5", t, 100, 10, 0.5), ""),
                            on_host(model_call("e2", "a1", "gpt-5", t, 20, 2, 0.25), "me")}));
  usage_reports<usage_memory, stores::memory_store> reports(usage, nullptr, {}, {.host = "me"});
  auto s = reports.summary(std::nullopt, t - std::chrono::hours(1), now, now);
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u) << boost::json::serialize(*s);
  EXPECT_EQ((*s)[0].at("host"), "me");
  EXPECT_EQ((*s)[0].at("tokens").at("input").to_number<std::int64_t>(), 120);
  ASSERT_EQ((*s)[0].at("models").as_array().size(), 1u);  // one gpt-5, merged
  EXPECT_EQ((*s)[0].at("models").at(0).at("input_tokens").to_number<std::int64_t>(), 120);
  auto a = reports.agents(now);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->at("total_agents").to_number<std::int64_t>(), 1);
  // host=me (this monitor's) takes them too; another host's filter does not.
  s = reports.summary(std::nullopt, t - std::chrono::hours(1), now, now, "me");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->size(), 1u) << boost::json::serialize(*s);
  EXPECT_EQ((*s)[0].at("tokens").at("input").to_number<std::int64_t>(), 120);
  auto d = reports.daily(t - std::chrono::hours(1), now, daily_by::agent, {}, "me");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->at("totals").at("tokens").at("input").to_number<std::int64_t>(), 120);
  d = reports.daily(t - std::chrono::hours(1), now, daily_by::agent, {}, "other");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->at("totals").at("tokens").at("input").to_number<std::int64_t>(), 0);
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

// A view follows what other writers store: the first poll only notes where
// each series is; later polls publish exactly the points stored since.
TEST(FleetView, AFollowedStorePublishesWhatOthersStoredSinceItsLastPoll) {
  stores::memory_store db;
  stores::followed view(db);
  const series a("cpu", {{"host", "h1"}}), b("cpu", {{"host", "h2"}});
  ASSERT_TRUE(db.append(sample_batch{{a, from_unix_ms(1000), 1}, {b, from_unix_ms(1000), 2}}));
  std::vector<stores::watched_sample> got;
  auto sub = view.watch(
      *stores::selector::parse("cpu"), [] {}, 100);
  static_assert(versioned_store<stores::followed<stores::memory_store>>);
  EXPECT_EQ(view.version(), 0u);
  EXPECT_EQ(view.poll(), 0u);  // primed: history is not news
  const auto primed = view.version();
  EXPECT_GT(primed, 0u);
  ASSERT_TRUE(db.append(sample_batch{{a, from_unix_ms(2000), 3}, {a, from_unix_ms(3000), 4}}));
  EXPECT_EQ(view.poll(), 2u);
  const auto moved = view.version();
  EXPECT_GT(moved, primed);  // news: /metrics renders again
  EXPECT_EQ(view.poll(), 0u);
  EXPECT_EQ(view.version(), moved);  // nothing new: /metrics serves what it rendered
  const series c("cpu", {{"host", "h3"}});
  ASSERT_TRUE(db.append(sample_batch{{c, from_unix_ms(5000), 9}, {b, from_unix_ms(4000), 5}}));
  EXPECT_EQ(view.poll(), 2u);
  for (const auto& w : sub.drain()) got.push_back(w);
  ASSERT_EQ(got.size(), 4u);
  std::vector<std::pair<std::string, double>> seen;
  for (const auto& w : got)
    seen.emplace_back(std::string(w.series.get().labels().get("host")), w.value);
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, double>>{
                      {"h1", 3}, {"h1", 4}, {"h2", 5}, {"h3", 9}}));
  EXPECT_FALSE(view.append(sample_batch{{a, from_unix_ms(9000), 1}}));
  EXPECT_EQ(db.range(a, from_unix_ms(0), from_unix_ms(10'000)).size(), 3u);
  EXPECT_EQ(view.range(a, from_unix_ms(0), from_unix_ms(10'000)).size(), 3u);
}

// The same over PostgreSQL, where the view asks for the points stamped
// since its last poll (one query) instead of every series' latest.
TEST(FleetView, AFollowedPostgresStorePublishesWhatAnotherConnectionStored) {
  postgres_database db;
  stores::postgres_store writer(stores::postgres_options{.dsn = db.dsn()});
  stores::postgres_store reader(stores::postgres_options{.dsn = db.dsn()});
  stores::followed view(reader);
  auto sub = view.watch(
      *stores::selector::parse("cpu"), [] {}, 100);
  const series a("cpu", {{"host", "h1"}}), b("cpu", {{"host", "h2"}});
  const auto t = vitals::now();
  ASSERT_TRUE(writer.append(sample_batch{{a, t - 5s, 1}}));
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(view.poll(), 0u);  // primed
  ASSERT_TRUE(writer.append(sample_batch{{a, t - 1s, 2}, {b, t, 3}, {a, t - 6s, 7}}));
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(view.poll(), 2u);  // not the point older than what was seen of its series
  EXPECT_EQ(view.poll(), 0u);
  std::vector<double> values;
  for (const auto& w : sub.drain()) values.push_back(w.value);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<double>{2, 3}));
}

// --- many writers, one database ---------------------------------------------

#ifdef VITALS_MONITOR_EXE

/// An agent_monitor process on a free port, writing to `dsn` as `host`.
struct fleet_monitor {
  fleet_monitor(const std::string& dsn, const std::string& host,
                std::vector<std::string> extra = {})
      : proc(args(dsn, host, std::move(extra))) {}
  std::vector<std::string> args(const std::string& dsn, const std::string& host,
                                std::vector<std::string> extra) {
    std::vector<std::string> a{
        VITALS_MONITOR_EXE,   "--listen",   "127.0.0.1:0", "--interval",  "200ms", "--data",
        data.path().string(), "--postgres", dsn,           "--host-name", host};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  /// Waits for the port line; empty when the monitor did not start.
  const std::string& ready() {
    if (port.empty()) port = proc.wait_for(R"(on http://127\.0\.0\.1:(\d+)/)").value_or("");
    return port;
  }
  net::client client() { return net::client("127.0.0.1", ready()); }
  temp_dir data;
  child proc;
  std::string port;
};

TEST(FleetView, BadFleetFlagsAreOneLineAndExitCode2) {
  const std::vector<std::vector<std::string>> bad = {
      {"--read-only"},
      {"--view", "--memory-only"},
      {"--read-only", "--postgres", "dbname=x", "--track-pid", "1"},
      {"--view", "--postgres", "dbname=x", "--import-claude", "/tmp"},
      {"--host-name", ""},
      {"--host-name", std::string(254, 'h')},
      {"--host-name", "a\tb"}};
  for (const auto& b : bad) {
    std::vector<std::string> argv{VITALS_MONITOR_EXE};
    argv.insert(argv.end(), b.begin(), b.end());
    child c(argv);
    EXPECT_EQ(c.wait(), 2) << b[0] << " " << c.output();
    EXPECT_EQ(std::count(c.output().begin(), c.output().end(), '\n'), 1) << c.output();
  }
  child help({VITALS_MONITOR_EXE, "--help"});
  EXPECT_EQ(help.wait(), 0);
  for (const char* flag : {"--host-name", "--read-only", "--view"})
    EXPECT_NE(help.output().find(flag), std::string::npos) << flag;
}

// Three monitors started at once on one empty database: each schema's
// steps run exactly once (a racer that lost would fail its step and exit),
// the series of the three hosts are apart, and each (name, labels) has one id.
TEST(FleetRace, ThreeMonitorsStartAtOnceOnAnEmptyDatabase) {
  postgres_database db;
  std::vector<std::unique_ptr<fleet_monitor>> fleet;
  for (const char* host : {"h1", "h2", "h3"})
    fleet.push_back(std::make_unique<fleet_monitor>(db.dsn(), host));
  for (auto& m : fleet) ASSERT_FALSE(m->ready().empty()) << m->proc.output();
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM vitals_schema"),
            std::int64_t(stores::pg::schema_version));
  EXPECT_EQ(scalar(db.dsn(), "SELECT max(version) FROM vitals_schema"),
            std::int64_t(stores::pg::schema_version));
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM vitals_usage_schema"),
            std::int64_t(agent::usage_postgres::schema.steps.size()));
  EXPECT_TRUE(eventually(
      [&] {
        return scalar(db.dsn(),
                      "SELECT count(DISTINCT labels) FROM series WHERE name = "
                      "'process_resident_memory_bytes' AND labels LIKE '%self%'") == 3;
      },
      std::chrono::seconds(20)));
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) - count(DISTINCT (name, labels)) FROM series"), 0);
  for (auto& m : fleet) EXPECT_EQ(m->proc.stop(SIGTERM), 0) << m->proc.output();
}

// An agent that retries against other hosts: the same event posted to three
// monitors at once is stored once, its sums counted once, under one host.
TEST(FleetRace, OneUsageEventSentToThreeMonitorsIsStoredOnce) {
  postgres_database db;
  std::vector<std::unique_ptr<fleet_monitor>> fleet;
  for (const char* host : {"h1", "h2", "h3"})
    fleet.push_back(std::make_unique<fleet_monitor>(db.dsn(), host));
  for (auto& m : fleet) ASSERT_FALSE(m->ready().empty()) << m->proc.output();
  for (int round = 0; round < 20; ++round) {
    const std::string body =
        R"({"agent_name":"a1","model_raw":"gpt-5","message_id":"m)" + std::to_string(round) +
        R"(","input_tokens":10,"cost_usd":0.5,"occurred_at":"2026-11-20T10:00:00Z"})";
    std::vector<std::future<unsigned>> posts;
    for (auto& m : fleet)
      posts.push_back(std::async(std::launch::async, [&m, &body] {
        auto c = m->client();
        auto r = c.post("/api/v1/events", body);
        return r ? r->status : 0u;
      }));
    for (auto& p : posts) EXPECT_EQ(p.get(), 200u);
  }
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM usage_events"), 20);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(input)::int8 FROM usage_hourly"), 200);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(events)::int8 FROM usage_hourly"), 20);
  // Every event under one host, and the hourly sums under the same ones.
  EXPECT_EQ(scalar(db.dsn(),
                   "SELECT count(*) FROM (SELECT host, count(*) AS n FROM usage_events GROUP BY "
                   "host) e FULL JOIN (SELECT host, sum(events) AS n FROM usage_hourly GROUP BY "
                   "host) h USING (host) WHERE e.n IS DISTINCT FROM h.n"),
            0);
  auto c = fleet[0]->client();
  auto r = c.get("/api/v1/usage/daily?by=host&from=2026-11-20T00:00:00Z&to=2026-11-21T00:00:00Z");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto v = boost::json::parse(r->body);
  EXPECT_EQ(v.at("totals").at("events").as_int64(), 20);
  EXPECT_EQ(v.at("totals").at("tokens").at("input").as_int64(), 200);
  for (auto& m : fleet) EXPECT_EQ(m->proc.stop(SIGTERM), 0) << m->proc.output();
}

std::string event_json(const std::string& id, int input) {
  return R"({"agent_name":"a1","model_raw":"gpt-5","message_id":")" + id + R"(","input_tokens":)" +
         std::to_string(input) + R"(,"cost_usd":0.01,"occurred_at":"2026-11-20T10:00:00Z"})";
}

// The database goes away; h1 spools what it takes in and is killed (-9);
// h2 goes on spooling. The database comes back, h1 restarts on its data
// directory: both spools replay, every event is stored exactly once, under
// the host that took it in.
TEST(FleetFailure, AMonitorKilledWhileTheDatabaseIsDownReplaysItsSpoolExactlyOnce) {
  auto& server = vitals::test::postgres_server::own();
  postgres_database db(server);
  temp_dir h1_data;
  auto start_h1 = [&] {
    return std::make_unique<child>(
        std::vector<std::string>{VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval",
                                 "200ms", "--data", h1_data.path().string(), "--postgres",
                                 db.dsn() + " connect_timeout=2", "--host-name", "h1"});
  };
  auto h1 = start_h1();
  auto h1_port = h1->wait_for(R"(on http://127\.0\.0\.1:(\d+)/)").value_or("");
  ASSERT_FALSE(h1_port.empty()) << h1->output();
  fleet_monitor h2(db.dsn() + " connect_timeout=2", "h2");
  ASSERT_FALSE(h2.ready().empty()) << h2.proc.output();
  auto post = [](const std::string& port, const std::string& body) {
    net::client c("127.0.0.1", port);
    auto r = c.post("/api/v1/events", body, "application/x-ndjson");
    if (!r || r->status != 200) ADD_FAILURE() << (r ? r->body : r.error().message);
    return r && r->status == 200 ? boost::json::parse(r->body).at("accepted").as_int64() : -1;
  };
  std::string before, h1_down, h2_down;
  for (int i = 0; i < 10; ++i) before += event_json("before-" + std::to_string(i), 1) + "\n";
  for (int i = 0; i < 50; ++i) h1_down += event_json("h1-" + std::to_string(i), 10) + "\n";
  for (int i = 0; i < 30; ++i) h2_down += event_json("h2-" + std::to_string(i), 100) + "\n";
  EXPECT_EQ(post(h1_port, before), 10);

  const auto down_at = to_unix_ms(vitals::now());
  server.stop();
  EXPECT_EQ(post(h1_port, h1_down), 50);  // accepted into the spool
  EXPECT_EQ(post(h2.ready(), h2_down), 30);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // h1 samples on, into its spool
  const auto killed_at = to_unix_ms(vitals::now());
  EXPECT_EQ(h1->stop(SIGKILL), 128 + SIGKILL);
  server.start();

  h1 = start_h1();
  h1_port = h1->wait_for(R"(on http://127\.0\.0\.1:(\d+)/)").value_or("");
  ASSERT_FALSE(h1_port.empty()) << h1->output();
  EXPECT_TRUE(
      eventually([&] { return scalar(db.dsn(), "SELECT count(*) FROM usage_events") == 90; },
                 std::chrono::seconds(20)))
      << scalar(db.dsn(), "SELECT count(*) FROM usage_events");
  // Resent after the replay: duplicates, nothing stored twice.
  EXPECT_EQ(post(h1_port, h1_down), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM usage_events"), 90);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(input)::int8 FROM usage_hourly WHERE host = 'h1'"),
            10 + 50 * 10);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(input)::int8 FROM usage_hourly WHERE host = 'h2'"),
            30 * 100);
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(events)::int8 FROM usage_hourly"), 90);
  // h1's samples of the outage came back from its spool after the restart.
  const std::string outage_samples =
      "SELECT count(*) FROM samples s JOIN series x ON x.id = s.series_id WHERE x.name = "
      "'process_resident_memory_bytes' AND x.labels LIKE '%h1%' AND s.t BETWEEN "
      "to_timestamp(" +
      std::to_string(down_at) + " / 1000.0) AND to_timestamp(" + std::to_string(killed_at) +
      " / 1000.0)";
  EXPECT_TRUE(
      eventually([&] { return scalar(db.dsn(), outage_samples) >= 3; }, std::chrono::seconds(20)))
      << scalar(db.dsn(), outage_samples);
  EXPECT_EQ(h1->stop(SIGTERM), 0) << h1->output();
  EXPECT_EQ(h2.proc.stop(SIGTERM), 0) << h2.proc.output();
}

// A monitor killed (-9) while it stores a large batch: the batch is one
// transaction, so it is in the database whole or not at all, and the hourly
// sums agree with the rows either way.
TEST(FleetFailure, AMonitorKilledMidBatchLeavesNoHalfWrittenBatch) {
  postgres_database db;
  std::int64_t stored = 0;
  for (int round = 0; round < 4; ++round) {
    fleet_monitor m(db.dsn(), "h1");
    ASSERT_FALSE(m.ready().empty()) << m.proc.output();
    std::string body;
    for (int i = 0; i < 4000; ++i)
      body += event_json("r" + std::to_string(round) + "-" + std::to_string(i), 1) + "\n";
    auto sent = std::async(std::launch::async, [&] {
      net::client c("127.0.0.1", m.ready());
      (void)c.post("/api/v1/events", body, "application/x-ndjson");
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * round));
    EXPECT_EQ(m.proc.stop(SIGKILL), 128 + SIGKILL);
    sent.wait();
    const auto now = scalar(db.dsn(), "SELECT count(*) FROM usage_events");
    EXPECT_TRUE(now - stored == 0 || now - stored == 4000) << "round " << round << ": " << now;
    stored = now;
    EXPECT_EQ(scalar(db.dsn(), "SELECT coalesce(sum(events), 0)::int8 FROM usage_hourly"), now);
  }
}

#ifdef VITALS_SIMULATOR_EXE

/// What a monitor's own ledger counted (its registry's points, not the
/// samples of other hosts it shows from the database): input tokens,
/// requests and tool calls.
struct taken {
  double input = 0, requests = 0, tool_calls = 0;
};
taken counted(net::client& c) {
  taken out;
  auto r = c.get("/metrics");
  if (!r || r->status != 200) return {-1, -1, -1};
  for (const auto& fam : format::parse_text(r->body).families)
    for (const auto& p : fam.points) {
      if (!p.labels.get("host").empty()) continue;
      if (fam.name.starts_with("vitals_agent_tokens") && p.labels.get("type") == "input")
        out.input += p.value;
      else if (fam.name.starts_with("vitals_agent_requests"))
        out.requests += p.value;
      else if (fam.name.starts_with("vitals_agent_tool_calls"))
        out.tool_calls += p.value;
    }
  return out;
}

/// The first `data:` line of the watch stream at `target` that contains
/// `needle`, read for at most `within`; empty when none came.
std::string first_event(const std::string& port, const std::string& target,
                        const std::string& needle, std::chrono::seconds within) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    (void)::write(fd, req.data(), req.size());
    const auto end = std::chrono::steady_clock::now() + within;
    char buf[4096];
    while (std::chrono::steady_clock::now() < end) {
      const auto n = ::read(fd, buf, sizeof buf);
      if (n == 0) break;
      if (n > 0) got.append(buf, std::size_t(n));
      for (std::size_t at = 0; (at = got.find("data: ", at)) != std::string::npos; ++at) {
        const auto line = got.substr(at, got.find('\n', at) - at);
        if (line.find(needle) != std::string::npos) {
          ::close(fd);
          return line;
        }
      }
    }
  }
  ::close(fd);
  return {};
}

// Done-when of issue 19: three monitors, each fed by its own simulator, and
// a read-only view over their database. The view's usage report by host is
// what each monitor took in, per host and in total; it serves every host's
// samples and follows the database live; it writes nothing.
TEST(FleetView, ThreeMonitorsThreeSimulatorsAndOneView) {
  postgres_database db;
  const std::vector<std::string> hosts{"h1", "h2", "h3"};
  std::vector<std::unique_ptr<fleet_monitor>> fleet;
  for (const auto& h : hosts) fleet.push_back(std::make_unique<fleet_monitor>(db.dsn(), h));
  for (auto& m : fleet) ASSERT_FALSE(m->ready().empty()) << m->proc.output();
  temp_dir view_data;
  child view({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--postgres", db.dsn(), "--read-only",
              "--interval", "200ms", "--host-name", "the-view", "--data",
              view_data.path().string()});
  const auto view_port = view.wait_for(R"(on http://127\.0\.0\.1:(\d+)/)").value_or("");
  ASSERT_FALSE(view_port.empty()) << view.output();
  EXPECT_NE(view.output().find("read-only view"), std::string::npos) << view.output();

  // Each agent posts after a thinking phase of 3 to 10 simulated seconds;
  // at speed 50 that is at most 0.2 s of work, so 8 s leaves every host
  // events even on a loaded CI machine (at speed 20 and 4 s, a host under
  // the ASan stage once received none).
  std::vector<std::unique_ptr<child>> sims;
  for (std::size_t i = 0; i < fleet.size(); ++i)
    sims.push_back(std::make_unique<child>(std::vector<std::string>{
        VITALS_SIMULATOR_EXE, "--monitor", "http://127.0.0.1:" + fleet[i]->ready(), "--agents", "2",
        "--speed", "50", "--seed", std::to_string(11 + i), "--duration", "8"}));
  // Live: the view's watch stream carries samples the monitors store.
  const auto live = first_event(view_port, "/api/v1/watch?sel=process_resident_memory_bytes",
                                "\"host\":\"h2\"", std::chrono::seconds(15));
  EXPECT_NE(live.find("process_resident_memory_bytes"), std::string::npos) << live;
  // The view's agents are what the fleet samples: agent-1 on each host is
  // an agent of its own, with its own host's CPU and memory.
  net::client vc("127.0.0.1", view_port);
  std::string agents_seen;
  EXPECT_TRUE(eventually(
      [&] {
        auto r = vc.get("/api/v1/usage/agents");
        if (!r || r->status != 200) return false;
        agents_seen = r->body;
        std::set<std::string> on;
        const auto report = boost::json::parse(r->body);
        for (const auto& a : report.at("agents").as_array())
          if (a.at("agent_name") == "agent-1" && a.at("mem_used_bytes").to_number<double>() > 0)
            on.insert(std::string(a.at("host").as_string()));
        return on == std::set<std::string>{"h1", "h2", "h3"};
      },
      std::chrono::seconds(20)))
      << agents_seen;
  for (auto& s : sims) ASSERT_EQ(s->wait(std::chrono::seconds(60)), 0) << s->output();

  taken sum;
  std::map<std::string, taken> per_host;
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = fleet[i]->client();
    const auto t = counted(c);
    EXPECT_GT(t.input, 0) << hosts[i];
    EXPECT_GT(t.tool_calls, 0) << hosts[i];
    per_host[hosts[i]] = t;
    sum.input += t.input, sum.requests += t.requests, sum.tool_calls += t.tool_calls;
  }
  auto r = vc.get("/api/v1/usage/daily?by=host");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  const auto daily = boost::json::parse(r->body);
  std::map<std::string, taken> seen;
  for (const auto& day : daily.at("days").as_array())
    for (const auto& g : day.at("groups").as_array()) {
      auto& t = seen[std::string(g.at("key").as_string())];
      t.input += double(g.at("tokens").at("input").to_number<std::int64_t>());
      t.requests += double(g.at("requests").to_number<std::int64_t>());
      t.tool_calls += double(g.at("tool_calls").to_number<std::int64_t>());
    }
  ASSERT_EQ(seen.size(), hosts.size()) << r->body;
  for (const auto& h : hosts) {
    EXPECT_EQ(seen[h].input, per_host[h].input) << h;
    EXPECT_EQ(seen[h].requests, per_host[h].requests) << h;
    EXPECT_EQ(seen[h].tool_calls, per_host[h].tool_calls) << h;
  }
  // One host's slice of the view: its agents' summaries add up to what
  // that host took in.
  for (const auto& h : hosts) {
    r = vc.get("/api/v1/usage/summary?host=" + h);
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200u) << r->body;
    double input = 0;
    const auto summary = boost::json::parse(r->body);
    for (const auto& a : summary.as_array()) {
      EXPECT_EQ(std::string(a.at("host").as_string()), h) << r->body;
      input += double(a.at("tokens").at("input").to_number<std::int64_t>());
    }
    EXPECT_EQ(input, per_host[h].input) << h << ": " << r->body;
  }
  const auto& totals = daily.at("totals");
  EXPECT_EQ(double(totals.at("tokens").at("input").to_number<std::int64_t>()), sum.input);
  EXPECT_EQ(double(totals.at("requests").to_number<std::int64_t>()), sum.requests);
  EXPECT_EQ(double(totals.at("tool_calls").to_number<std::int64_t>()), sum.tool_calls);

  // Every host's samples, through /api/v1/latest and /metrics.
  r = vc.get("/api/v1/latest?sel=" +
             net::url_encode("process_resident_memory_bytes{target=\"self\"}"));
  ASSERT_TRUE(r);
  const auto latest = boost::json::parse(r->body);
  std::set<std::string> sampled;
  for (const auto& s : latest.as_array())
    sampled.insert(std::string(s.at("labels").at("host").as_string()));
  EXPECT_EQ(sampled, (std::set<std::string>{"h1", "h2", "h3"}));
  r = vc.get("/metrics");
  ASSERT_TRUE(r);
  for (const auto& h : hosts) EXPECT_NE(r->body.find("host=\"" + h + "\""), std::string::npos) << h;

  // A sample received over OTLP is a sample of the host that received it.
  {
    auto c = fleet[0]->client();
    const auto ns = std::to_string(to_unix_ms(vitals::now()) * 1000000);
    r = c.post("/v1/metrics",
               R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"fleet_probe",)"
               R"("gauge":{"dataPoints":[{"asDouble":7,"timeUnixNano":")" +
                   ns + R"("}]}}]}]}]})",
               "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u) << r->body;
    // It reaches the database at h1's next flush and the view at its next
    // poll: wait for both, bounded.
    std::string probe;
    EXPECT_TRUE(eventually(
        [&] {
          auto got = vc.get("/api/v1/latest?sel=fleet_probe");
          if (!got) return false;
          probe = got->body;
          return probe.find("\"host\":\"h1\"") != std::string::npos;
        },
        std::chrono::seconds(20)))
        << probe;
  }

  // A view writes nothing: writes are refused, nothing is stored as its host.
  r = vc.post("/api/v1/events", R"({"agent_name":"x","message_id":"v1","input_tokens":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u) << r->body;
  r = vc.post("/api/v1/targets", R"({"id":"p","kind":"process","pid":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405u);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM usage_events WHERE host = 'the-view'"), 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM series WHERE labels LIKE '%the-view%'"), 0);
  EXPECT_EQ(view.stop(SIGTERM), 0) << view.output();
  for (auto& m : fleet) EXPECT_EQ(m->proc.stop(SIGTERM), 0) << m->proc.output();
}

#endif  // VITALS_SIMULATOR_EXE

// The dashboard of a view: agent-1 runs on two hosts, and the agents table
// in a real browser has a row for each, naming its host, with that host's
// cost (tests/dashboard/fleet.js).
TEST(FleetView, TheDashboardOfAViewShowsAnAgentPerHost) {
  const std::string dir = std::string(VITALS_SOURCE_DIR) + "/tests/dashboard";
  if (!std::filesystem::exists("/usr/bin/chromium"))
    GTEST_FAIL() << "chromium is not installed: run scripts/setup";
  if (!std::filesystem::exists(dir + "/node_modules/playwright-core"))
    GTEST_SKIP() << "tests/dashboard/node_modules missing (scripts/test runs npm ci)";
  postgres_database db;
  child work({"/bin/sleep", "120"});
  std::vector<std::unique_ptr<fleet_monitor>> fleet;
  for (const char* h : {"h1", "h2"}) fleet.push_back(std::make_unique<fleet_monitor>(db.dsn(), h));
  for (std::size_t i = 0; i < fleet.size(); ++i) {
    auto c = fleet[i]->client();
    ASSERT_FALSE(fleet[i]->ready().empty()) << fleet[i]->proc.output();
    auto r = c.post("/api/v1/targets", R"({"id":"agent-1","kind":"process","pid":)" +
                                           std::to_string(work.pid()) +
                                           R"(,"labels":{"agent":"agent-1","role":"worker"}})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201u) << r->body;
    r = c.post("/api/v1/events", R"({"agent_name":"agent-1","message_id":"m)" + std::to_string(i) +
                                     R"(","input_tokens":10,"cost_usd":)" + (i == 0 ? "1.5" : "4") +
                                     "}");
    ASSERT_TRUE(r);
    ASSERT_LT(r->status, 300u) << r->body;
  }
  temp_dir view_data;
  child view({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--postgres", db.dsn(), "--read-only",
              "--interval", "200ms", "--data", view_data.path().string()});
  const auto port = view.wait_for(R"(on http://127\.0\.0\.1:(\d+)/)").value_or("");
  ASSERT_FALSE(port.empty()) << view.output();
  net::client vc("127.0.0.1", port);
  EXPECT_TRUE(eventually([&] {  // each host's agent-1 with its memory
    auto r = vc.get("/api/v1/usage/agents");
    if (!r || r->status != 200) return false;
    const auto report = boost::json::parse(r->body);
    int on = 0;
    for (const auto& a : report.at("agents").as_array())
      on += a.at("agent_name") == "agent-1" && a.at("mem_used_bytes").to_number<double>() > 0;
    return on == 2;
  }));
  child browser({"/usr/bin/env", "node", dir + "/fleet.js", "http://127.0.0.1:" + port + "/",
                 "agent-1", "h1", "h2"});
  EXPECT_EQ(browser.wait(std::chrono::seconds(120)), 0) << browser.output();
  EXPECT_EQ(view.stop(SIGTERM), 0) << view.output();
  for (auto& m : fleet) EXPECT_EQ(m->proc.stop(SIGTERM), 0) << m->proc.output();
}

#endif  // VITALS_MONITOR_EXE

// Three writers, each on its own connection, write shared and own series at
// once: one id per series, and every point on the series it was sent for.
TEST(FleetRace, SeriesIdsNeverCollideBetweenWriters) {
  postgres_database db;
  constexpr int writers = 3, shared = 60, own = 20, points = 5;
  auto name_of = [](int w, int i) {  // w < 0: a shared series
    return series("fleet_metric",
                  w < 0 ? label_set{{"i", std::to_string(i)}}
                        : label_set{{"i", std::to_string(i)}, {"w", std::to_string(w)}});
  };
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < writers; ++w)
    threads.emplace_back([&, w] {
      stores::postgres_store st(stores::postgres_options{.dsn = db.dsn(), .batch_max = 50});
      for (int k = 0; k < points; ++k) {
        sample_batch b;
        // Each writer its own times; the value says which series and time it is.
        const auto t = from_unix_ms(1'790'000'000'000 + (k * writers + w) * 1000);
        for (int i = 0; i < shared; ++i)
          b.push_back({name_of(-1, i), t, i * 1e6 + to_unix_ms(t) % 1'000'000});
        for (int i = 0; i < own; ++i)
          b.push_back({name_of(w, i), t, -(i * 1e6 + to_unix_ms(t) % 1'000'000)});
        if (!st.append(b)) ++failures;
      }
      if (!st.flush(std::chrono::seconds(30))) ++failures;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM series"), shared + writers * own);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM samples"),
            std::int64_t(writers) * points * (shared + own));
  stores::postgres_store reader(stores::postgres_options{.dsn = db.dsn()});
  const auto from = from_unix_ms(0), to = from_unix_ms(1'800'000'000'000);
  for (int i = 0; i < shared; ++i) {
    const auto pts = reader.range(name_of(-1, i), from, to);
    ASSERT_EQ(pts.size(), std::size_t(writers * points)) << i;
    for (const auto& p : pts) EXPECT_EQ(p.value, i * 1e6 + to_unix_ms(p.t) % 1'000'000);
  }
  for (int w = 0; w < writers; ++w)
    for (int i = 0; i < own; ++i) {
      const auto pts = reader.range(name_of(w, i), from, to);
      ASSERT_EQ(pts.size(), std::size_t(points));
      for (const auto& p : pts) {
        EXPECT_EQ(p.value, -(i * 1e6 + to_unix_ms(p.t) % 1'000'000));
        EXPECT_EQ((to_unix_ms(p.t) - 1'790'000'000'000) / 1000 % writers, w);
      }
    }
}

// Retention run by three monitors at once while a fourth writes: each old
// row is deleted once (the counts add up to what was old), nothing new goes.
TEST(FleetRace, RetentionByThreeMonitorsAtOnceDeletesEachRowOnce) {
  postgres_database db;
  const auto t = vitals::now();
  const auto day = std::chrono::milliseconds(std::chrono::hours(24));
  constexpr int old_samples = 3000, old_events = 600;
  {
    stores::postgres_store st(stores::postgres_options{.dsn = db.dsn()});
    sample_batch b;
    for (int i = 0; i < old_samples; ++i)
      b.push_back({series("old", {{"i", std::to_string(i % 30)}}), t - 8 * day - i * 1ms, 1.0});
    ASSERT_TRUE(st.append(b));
    ASSERT_TRUE(st.flush(std::chrono::seconds(30)));
    usage_postgres u(db.dsn());
    std::vector<usage_record> events;
    for (int i = 0; i < old_events; ++i)
      events.push_back(on_host(
          model_call("old" + std::to_string(i), "a1", "gpt-5", t - 40 * day - i * 1s, 10, 1, 0.01),
          "h" + std::to_string(i % 3)));
    ASSERT_TRUE(u.put(events));
  }
  std::atomic<bool> writing{true};
  std::atomic<int> written_events{0}, written_samples{0}, write_failures{0};
  std::thread writer([&] {
    stores::postgres_store st(stores::postgres_options{.dsn = db.dsn()});
    usage_postgres u(db.dsn());
    for (int k = 0; writing || k < 20; ++k) {
      if (!u.put(std::vector{model_call("new" + std::to_string(k), "a1", "gpt-5", t, 10, 1, 0.01)}))
        ++write_failures;
      else
        ++written_events;
      if (!st.append(sample_batch{{series("new", {}), t + k * 1ms, 2.0}})) ++write_failures;
      ++written_samples;
    }
    if (!st.flush(std::chrono::seconds(30))) ++write_failures;
  });
  std::vector<std::future<std::pair<std::int64_t, std::int64_t>>> prunes;
  for (int m = 0; m < 3; ++m)
    prunes.push_back(std::async(std::launch::async, [&] {
      stores::postgres_store st(stores::postgres_options{.dsn = db.dsn()});
      usage_postgres u(db.dsn());
      auto s = st.prune();
      auto e = u.prune({.events = std::chrono::days(30)});
      return std::pair{s ? *s : -1000000, e ? e->events : -1000000};
    }));
  std::int64_t samples_gone = 0, events_gone = 0;
  for (auto& p : prunes) {
    auto [s, e] = p.get();
    samples_gone += s;
    events_gone += e;
  }
  writing = false;
  writer.join();
  EXPECT_EQ(samples_gone, old_samples);
  EXPECT_EQ(events_gone, old_events);
  EXPECT_EQ(write_failures, 0);
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM samples"), written_samples.load());
  EXPECT_EQ(scalar(db.dsn(), "SELECT count(*) FROM usage_events"), written_events.load());
  EXPECT_EQ(scalar(db.dsn(), "SELECT sum(events)::int8 FROM usage_hourly"), written_events.load());
}

}  // namespace
