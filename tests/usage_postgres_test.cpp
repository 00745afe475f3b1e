// The PostgreSQL usage store against the test binary's PostgreSQL 15: the
// usage conformance suite, aggregates alike with usage_memory (enrichments,
// windows off the hour), retention, and another process' view of the sums.
#include <gtest/gtest.h>

#include "support/postgres_server.hpp"
#include "support/usage_conformance.hpp"
#include "vitals/agent/any_usage.hpp"
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/stores/detail/pg.hpp"
#include "vitals/stores/pg_connection.hpp"
#include "vitals/stores/postgres.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace vitals::test::usage_conformance;
using vitals::test::postgres_database;

struct postgres_usage {
  postgres_database db;
  usage_postgres store{db.dsn()};
};

struct any_postgres_usage {  // as the agent monitor holds it
  postgres_database db;
  usage_postgres pg{db.dsn()};
  any_usage_store store{pg};
};

using postgres_usage_types = ::testing::Types<postgres_usage, any_postgres_usage>;
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, UsageStoreConformance, postgres_usage_types);

TEST(UsagePostgres, MemoryAndPostgresAggregateAlike) {
  postgres_database db;
  usage_postgres store(db.dsn());
  expect_aggregates_like_memory(store);
}

TEST(UsagePostgres, PrunesRawPayloadsAfterTheirRetentionAndKeepsTheEvents) {
  postgres_database db;
  usage_postgres store(db.dsn());
  expect_prunes_by_retention(store);
}

TEST(UsagePostgres, AnotherConnectionSeesTheSumsAndTextGoesThroughAsIs) {
  postgres_database db;
  // Quotes, backslashes, braces and commas: array literals must carry them.
  auto odd = model_call("m\"1", "a,{b}\\c", "gpt-5 \"x\"", at("2026-11-20T10:30:00Z"), 7, 1, 0.1);
  odd.event.payload = R"({"q":"\"\\"})";
  {
    usage_postgres writer(db.dsn());
    ASSERT_TRUE(writer.put(std::vector{odd}));
  }
  usage_postgres reader(db.dsn());  // a restart: migrations already applied
  EXPECT_EQ(*reader.count(), 1u);
  auto got = reader.find(std::vector{odd.key});
  ASSERT_TRUE(got && (*got)[0]);
  EXPECT_EQ((*got)[0]->agent_name, "a,{b}\\c");
  EXPECT_EQ((*got)[0]->message_id, "m\"1");
  EXPECT_EQ((*got)[0]->payload, odd.event.payload);
  auto rows = reader.aggregate({.agent = "a,{b}\\c", .group = by_agent | by_model, .bucket = 24h});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ(rows->front().model, "gpt-5 \"x\"");
  EXPECT_EQ(rows->front().totals.input, 7);
  EXPECT_TRUE(reader.aggregate({.agent = "a' OR ''='"})->empty());
}

TEST(UsagePostgres, AnUnreachableServerThrowsWithLibpqsMessage) {
  EXPECT_THROW(usage_postgres("host=/nonexistent-vitals dbname=x connect_timeout=1"),
               std::runtime_error);
}

// Before the usage store owned its tables, step 3 of the stores' schema
// (`vitals_schema`) made them. Such a database opens as it is: the usage
// store adopts the tables and their rows, the sample store sees a schema
// at least as new as its own.
TEST(UsagePostgres, ADatabaseWhoseStoreSchemaMadeTheUsageTablesStillOpens) {
  postgres_database db;
  {
    auto c = stores::pg::connection::open(db.dsn());
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(stores::pg::migrate(*c));  // steps 1 and 2
    // Step 3 as it was, word for word.
    const char* old_step_3 =
        "CREATE TABLE usage_events (key text PRIMARY KEY, t int8 NOT NULL, "
        "source_system text NOT NULL, source_channel text NOT NULL, event_type text NOT NULL, "
        "provider text NOT NULL, account text NOT NULL, agent text NOT NULL, "
        "workspace text NOT NULL, session text NOT NULL, turn text NOT NULL, "
        "message text NOT NULL, tool_call text NOT NULL, model_raw text NOT NULL, "
        "model_canonical text NOT NULL, model text NOT NULL, tool text NOT NULL, "
        "status text NOT NULL, input int8, output int8, reasoning int8, cache_read int8, "
        "cache_write int8, total int8, requests int8, cost float8, duration_ms float8);"
        "CREATE INDEX usage_events_t ON usage_events (t);"
        "CREATE TABLE usage_raw (key text PRIMARY KEY, received int8 NOT NULL, "
        "payload text NOT NULL);"
        "CREATE INDEX usage_raw_received ON usage_raw (received);"
        "CREATE TABLE usage_hourly (hour int8 NOT NULL, agent text NOT NULL, model text NOT NULL, "
        "tool text NOT NULL, provider text NOT NULL, status text NOT NULL, is_tool bool NOT NULL, "
        "input int8 NOT NULL, output int8 NOT NULL, cache_read int8 NOT NULL, "
        "cache_write int8 NOT NULL, reasoning int8 NOT NULL, total int8 NOT NULL, "
        "requests int8 NOT NULL, tool_calls int8 NOT NULL, errors int8 NOT NULL, "
        "events int8 NOT NULL, cost float8 NOT NULL, duration_ms float8 NOT NULL, "
        "first_t int8 NOT NULL, last_t int8 NOT NULL, "
        "PRIMARY KEY (hour, agent, model, tool, provider, status, is_tool));"
        "INSERT INTO vitals_schema (version) VALUES (3);"
        "INSERT INTO usage_events (key, t, source_system, source_channel, event_type, provider, "
        "account, agent, workspace, session, turn, message, tool_call, model_raw, "
        "model_canonical, model, tool, status, input) VALUES ('k1', 1790000000000, 'claude', "
        "'api', 'message_usage', 'anthropic', '', 'agent-1', '', '', '', '', '', 'm', 'm', 'm', "
        "'', 'ok', 7);";
    ASSERT_TRUE(c->exec(old_step_3));
  }
  usage_postgres store(db.dsn());
  EXPECT_EQ(*store.count(), 1u);
  auto got = store.find(std::vector<std::string>{"k1"});
  ASSERT_TRUE(got && (*got)[0]);
  EXPECT_EQ((*got)[0]->agent_name, "agent-1");
  EXPECT_EQ((*got)[0]->input_tokens, 7);
  auto later = model_call("m2", "agent-1", "m", at("2026-11-20T10:30:00Z"), 5, 1, 0.1);
  EXPECT_TRUE(store.put(std::vector{later}));
  EXPECT_EQ(*store.count(), 2u);

  auto c = stores::pg::connection::open(db.dsn());
  ASSERT_TRUE(c);
  EXPECT_EQ(*stores::pg::current_version(*c, usage_postgres::schema), 3);  // 3: host
  EXPECT_EQ(*stores::pg::current_version(*c, stores::pg::store_schema), 3);
  stores::postgres_store samples(stores::postgres_options{.dsn = db.dsn()});
  EXPECT_EQ(samples.user_schema_version(), 3);
  usage_postgres again(db.dsn());  // nothing left to apply
  EXPECT_EQ(*again.count(), 2u);
}

TEST(UsagePostgres, OwnsItsSchemaApartFromTheStores) {
  postgres_database db;
  usage_postgres store(db.dsn());
  auto c = stores::pg::connection::open(db.dsn());
  ASSERT_TRUE(c);
  EXPECT_EQ(*stores::pg::current_version(*c, usage_postgres::schema), 3);  // 3: host
  // The usage store alone creates none of the sample store's tables.
  EXPECT_EQ(*stores::pg::current_version(*c, stores::pg::store_schema), 0);
  EXPECT_EQ(c->query("SELECT to_regclass('samples') IS NULL")->text(0, 0), "t");
}

}  // namespace
