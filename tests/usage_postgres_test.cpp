// The PostgreSQL usage store against the test binary's PostgreSQL 15: the
// usage conformance suite, aggregates alike with usage_memory (enrichments,
// windows off the hour), retention, and another process' view of the sums.
#include <gtest/gtest.h>

#include "support/postgres_server.hpp"
#include "support/usage_conformance.hpp"
#include "vitals/agent/usage_postgres.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace vitals::test::usage_conformance;
using vitals::test::postgres_database;

struct postgres_usage {
  postgres_database db;
  usage_postgres store{db.dsn()};
};

using postgres_usage_types = ::testing::Types<postgres_usage>;
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

}  // namespace
