// The PostgreSQL stores against a real PostgreSQL 15 started for the test
// binary: the conformance suites, then what is specific to PostgreSQL, then
// the server stopped and started again in the middle of an ingest.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <thread>

#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "support/store_conformance.hpp"
#include "vitals/core/detail/spool.hpp"
#include "vitals/stores/any.hpp"
#include "vitals/stores/any_event.hpp"
#include "vitals/stores/detail/pg_spool.hpp"
#include "vitals/stores/event_postgres.hpp"
#include "vitals/stores/followed.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/postgres.hpp"
#include "vitals/stores/postgres_options.hpp"
#include "vitals/stores/tiered.hpp"

namespace {

using namespace vitals;
using namespace vitals::stores;
using namespace vitals::test::conformance;
using namespace std::chrono_literals;
using vitals::test::postgres_database;
using vitals::test::postgres_server;

struct postgres_fixture {
  postgres_database db;
  postgres_store store{postgres_options{.dsn = db.dsn()}};
};
struct event_postgres_fixture {
  postgres_database db;
  event_postgres_store store{db.dsn()};
};

// The agent monitor's choice on PostgreSQL, behind any_store as it holds it.
struct any_tiered_postgres_fixture {
  postgres_database db;
  memory_store hot;
  postgres_store cold{postgres_options{.dsn = db.dsn()}};
  tiered<memory_store, postgres_store> both{hot, cold};
  any_store store{both};
};
struct any_event_postgres_fixture {
  postgres_database db;
  event_postgres_store events{db.dsn()};
  any_event_store store{events};
};

using postgres_store_types = ::testing::Types<postgres_fixture, any_tiered_postgres_fixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, StoreConformance, postgres_store_types);
using event_postgres_store_types =
    ::testing::Types<event_postgres_fixture, any_event_postgres_fixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Postgres, EventStoreConformance, event_postgres_store_types);

std::int64_t count_rows(const std::string& dsn, const char* sql) {
  auto c = pg::connection::open(dsn);
  auto r = c->query(sql);
  return r ? r->int64(0, 0) : -1;
}

TEST(PostgresStore, BucketIntervalsComeFromTheAllowlistOnly) {
  for (auto s : {"1s", "5s", "10s", "30s", "1m", "5m", "10m", "15m", "30m", "1h", "6h", "12h", "1d",
                 "7d", "30d"})
    EXPECT_TRUE(bucket_interval(s)) << s;
  EXPECT_EQ(*bucket_interval("5m"), 300s);
  EXPECT_EQ(*bucket_interval("30d"), std::chrono::hours(24 * 30));
  for (auto s : {"", "2m", "1 minute", "1m'; DROP TABLE samples; --", "1M", "60s"}) {
    auto r = bucket_interval(s);
    ASSERT_FALSE(r) << s;
    EXPECT_EQ(r.error().code, make_error_code(errc::invalid_argument));
    EXPECT_NE(r.error().message.find("use one of 1s 5s"), std::string::npos);
  }
  postgres_database db;
  postgres_store st(postgres_options{.dsn = db.dsn()});
  auto bad = st.bucketed(cpu_a, from_unix_ms(0), from_unix_ms(1), "1m; SELECT 1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, make_error_code(errc::invalid_argument));
  EXPECT_EQ(st.user_schema_version(), postgres_store::schema_version);  // still fine
}

TEST(PostgresStore, DateBinBucketsAgreeWithDownsampling) {
  postgres_database db;
  postgres_store st(postgres_options{.dsn = db.dsn()});
  EXPECT_FALSE(st.uses_timescale());  // Debian 12 packages no TimescaleDB: date_bin
  sample_batch b;
  // Starts before the epoch's minute boundary and crosses many: 7 s apart.
  for (int i = 0; i < 500; ++i)
    b.push_back({cpu_a, from_unix_ms(1'700'000'000'000 - 30'000 + i * 7'000), double(i % 13)});
  ASSERT_TRUE(st.append(b));
  std::vector<point> raw;
  for (const auto& s : b) raw.push_back({s.t, s.value});
  const auto from = from_unix_ms(1'700'000'000'000 - 60'000), to = from_unix_ms(1'700'004'000'000);
  for (auto agg : {aggregation::mean, aggregation::max, aggregation::count, aggregation::last}) {
    auto got = st.bucketed(cpu_a, from, to, "1m", agg);
    ASSERT_TRUE(got) << got.error().message;
    range_query q{.from = from, .to = to, .step = 60s, .agg = agg, .align_to_epoch = true};
    const auto expected = downsample(raw, q);
    ASSERT_EQ(got->size(), expected.size()) << to_string(agg);
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ((*got)[i].t, expected[i].t);
      EXPECT_NEAR((*got)[i].value, expected[i].value, 1e-9);
      EXPECT_EQ(to_unix_ms((*got)[i].t) % 60'000, 0);
    }
  }
}

TEST(PostgresStore, LatestOfEverySeriesInOneQuery) {
  postgres_database db;
  postgres_store st(postgres_options{.dsn = db.dsn()});
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 2)));
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 5)));
  const auto all = st.latest_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, cpu_a);
  EXPECT_EQ(all[0].second, (point{from_unix_ms(40'000), 4.0}));
  EXPECT_EQ(all[1].first, cpu_b);
  EXPECT_EQ(all[1].second, (point{from_unix_ms(10'000), 1.0}));
}

TEST(PostgresStore, ReAppendingIsIdempotentAndTheLastValueInABatchWins) {
  postgres_database db;
  postgres_store st(postgres_options{.dsn = db.dsn()});
  const auto b = make_batch(cpu_a, 0, 100);
  ASSERT_TRUE(st.append(b));
  ASSERT_TRUE(st.append(b));
  sample_batch twice{{cpu_a, from_unix_ms(0), 7.0}, {cpu_a, from_unix_ms(0), 8.0}};
  ASSERT_TRUE(st.append(twice));
  ASSERT_TRUE(st.flush(10s));
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM samples"), 100);
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM series"), 1);
  EXPECT_EQ(st.range(cpu_a, from_unix_ms(0), from_unix_ms(0)).at(0).value, 8.0);
  EXPECT_EQ(st.stats().samples, 202u);
  EXPECT_EQ(st.stats().pending, 0u);
  sample_batch special{{cpu_b, from_unix_ms(1), std::numeric_limits<double>::infinity()},
                       {cpu_b, from_unix_ms(2), 0.1 + 0.2}};
  ASSERT_TRUE(st.append(special));
  const auto back = st.range(cpu_b, from_unix_ms(0), from_unix_ms(10));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(back[1].value, 0.1 + 0.2);  // bit for bit
}

TEST(PostgresStore, RetentionPrunesPerTable) {
  postgres_database db;
  postgres_store st(postgres_options{.dsn = db.dsn()});
  const auto day = std::chrono::duration_cast<duration>(std::chrono::hours(24));
  const auto t = now();
  sample_batch b{{cpu_a, t - 8 * day, 1}, {cpu_a, t - 6 * day, 2}, {cpu_a, t, 3}};
  ASSERT_TRUE(st.append(b));
  auto pruned = st.prune();  // 7 days by default
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(*pruned, 1);
  EXPECT_EQ(st.range(cpu_a, t - 30 * day, t).size(), 2u);
  pruned = st.prune_before(t);
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 1);

  event_postgres_store events(db.dsn());
  std::vector<event> evs{{"old", t - 31 * day, "s", "", "", "{}"}, {"new", t, "s", "", "", "{}"}};
  ASSERT_TRUE(events.append("s", evs));
  auto gone = events.prune_before(t - 30 * day);
  ASSERT_TRUE(gone);
  EXPECT_EQ(*gone, 1);
  EXPECT_EQ(events.read("s", 0)->size(), 1u);
}

TEST(PostgresStore, MigratesOnceAndReopensWithEverything) {
  postgres_database db;
  {
    postgres_store st(postgres_options{.dsn = db.dsn()});
    ASSERT_TRUE(st.append(make_batch(awkward, 0, 10)));
    EXPECT_EQ(st.user_schema_version(), postgres_store::schema_version);
  }
  event_postgres_store events(db.dsn());  // the same schema: nothing to apply
  postgres_store again(postgres_options{.dsn = db.dsn()});
  EXPECT_EQ(again.user_schema_version(), postgres_store::schema_version);
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM vitals_schema"),
            postgres_store::schema_version);
  EXPECT_EQ(again.list_series(), std::vector<series>{awkward});
  EXPECT_EQ(again.range(awkward, from_unix_ms(0), from_unix_ms(1'000'000)).size(), 10u);
}

TEST(PostgresStore, WithoutAConnectionStringItSaysSo) {
  ::unsetenv("VITALS_PG_DSN");
  try {
    postgres_store st;
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("VITALS_PG_DSN"), std::string::npos);
  }
  postgres_database db;
  ::setenv("VITALS_PG_DSN", db.dsn().c_str(), 1);
  postgres_store from_env;
  ::unsetenv("VITALS_PG_DSN");
  ASSERT_TRUE(from_env.append(make_batch(cpu_a, 0, 3)));
  EXPECT_EQ(from_env.range(cpu_a, from_unix_ms(0), from_unix_ms(100'000)).size(), 3u);
}

TEST(PostgresStore, RunsOnTheCallersExecutor) {
  postgres_database db;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    postgres_store st(io.get_executor(), postgres_options{.dsn = db.dsn()});
    ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 1000, 1)));
    EXPECT_EQ(st.range(cpu_a, from_unix_ms(0), from_unix_ms(10'000)).size(), 1000u);
    sample_batch stats;
    ASSERT_TRUE(st.collect(stats, now()));
    EXPECT_EQ(vitals::test::value(stats, "vitals_pg_samples_total"), 1000);
    EXPECT_EQ(vitals::test::value(stats, "vitals_pg_connected"), 1);
    EXPECT_EQ(vitals::test::value(stats, "vitals_pg_pending_samples"), 0);
  }
  work.reset();
  runner.join();  // the writer ended with the store
}

// --- failover ----------------------------------------------------------------

TEST(PostgresFailover, StopTheServerMidIngestEverySampleArrivesExactlyOnce) {
  auto& server = postgres_server::own();  // stopped and started here
  postgres_database db(server);
  postgres_store st(postgres_options{
      .dsn = db.dsn(), .batch_max = 500, .backoff_min = 20ms, .backoff_max = 200ms});
  event_postgres_store events(db.dsn());
  std::vector<event> one{ev("tool.started", 1)};
  ASSERT_TRUE(events.append("s", one));
  const series s("ingest", {{"k", "v"}});
  int next = 0;
  auto send = [&](int batches) {
    for (int b = 0; b < batches; ++b) {
      sample_batch batch;
      for (int i = 0; i < 100; ++i, ++next) batch.push_back({s, from_unix_ms(next), double(next)});
      ASSERT_TRUE(st.append(batch));  // accepted, server up or not
      std::this_thread::sleep_for(1ms);
    }
  };
  send(50);
  // Mid-ingest: the writer has connected and written (a loaded machine may
  // take longer than the 50 batches to connect).
  ASSERT_TRUE(vitals::test::eventually([&] { return st.stats().samples > 0; }));
  server.stop();
  const auto t0 = std::chrono::steady_clock::now();
  send(50);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s) << "append waited on the server";
  EXPECT_TRUE(vitals::test::eventually([&] { return !st.stats().connected; }));
  EXPECT_GT(st.stats().pending, 0u);  // how far behind
  send(20);
  server.start();
  ASSERT_TRUE(st.flush(60s)) << st.stats().last_error;
  const auto stats = st.stats();
  EXPECT_EQ(stats.pending, 0u);
  EXPECT_EQ(stats.rejected_samples, 0u);
  EXPECT_GE(stats.connects, 2u);
  EXPECT_GE(stats.failed_batches, 1u);
  const auto pts = st.range(s, from_unix_ms(0), from_unix_ms(next));
  ASSERT_EQ(pts.size(), std::size_t(next));
  for (int i = 0; i < next; ++i) ASSERT_EQ(pts[std::size_t(i)].value, double(i));
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM samples"), next);
  // The event store's idle connection was cut too: it reconnects once.
  auto v = events.append("s", one);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, 2);
}

// A spool directory of the test's own, removed after it.
struct temp_dir {
  std::filesystem::path path = std::filesystem::temp_directory_path() /
                               ("vitals-pg-spool-" + std::to_string(::getpid()) + "-" +
                                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  temp_dir() { std::filesystem::remove_all(path); }
  ~temp_dir() { std::filesystem::remove_all(path); }
  std::size_t files(std::string_view ending = ".json") const {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(path))
      n += e.path().string().ends_with(ending);
    return n;
  }
};

TEST(PostgresFailover, SpooledBatchesReplayOldestFirstAndBeforeNewerOnes) {
  postgres_database db;
  temp_dir dir;
  const series s("replayed", {{"k", "v"}});
  {
    vitals::detail::spool sp(dir.path, false);
    auto put = [&](std::string payload) {
      vitals::detail::spool_record r;
      r.payload = std::move(payload);
      ASSERT_TRUE(sp.write(std::move(r)));
    };
    put("{\"not\":\"a batch\"}");  // oldest, and unreadable: put aside
    sample_batch first{{s, from_unix_ms(0), 1.0},
                       {s, from_unix_ms(1), std::numeric_limits<double>::infinity()}};
    sample_batch second{{s, from_unix_ms(0), 2.0}, {s, from_unix_ms(2), 0.1 + 0.2}};
    put(pg::encode_spooled(first.data(), first.size()));
    put(pg::encode_spooled(second.data(), second.size()));
    const auto back = pg::decode_spooled(pg::encode_spooled(first.data(), first.size()));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, first);
  }
  postgres_store st(postgres_options{.dsn = db.dsn(), .spool_dir = dir.path});
  sample_batch newer{{s, from_unix_ms(2), 3.0}};  // accepted after the spool was written
  ASSERT_TRUE(st.append(newer));
  ASSERT_TRUE(st.flush(20s)) << st.stats().last_error;
  const auto pts = st.range(s, from_unix_ms(0), from_unix_ms(10));
  ASSERT_EQ(pts.size(), 3u);
  EXPECT_EQ(pts[0].value, 2.0);  // the second record after the first
  EXPECT_EQ(pts[1].value, std::numeric_limits<double>::infinity());
  EXPECT_EQ(pts[2].value, 3.0);  // memory after the spool
  EXPECT_EQ(st.stats().spool_pending, 0u);
  EXPECT_EQ(st.stats().samples, 5u);
  EXPECT_EQ(dir.files(), 0u);
  EXPECT_EQ(dir.files(".bad"), 1u);
}

TEST(PostgresFailover, AProcessRestartedWhileTheServerIsDownLosesAndDoublesNothing) {
  auto& server = postgres_server::own();  // stopped and started here
  postgres_database db(server);
  temp_dir dir;
  const postgres_options opts{.dsn = db.dsn(),
                              .batch_max = 500,
                              .backoff_min = 20ms,
                              .backoff_max = 200ms,
                              .spool_dir = dir.path};
  const series s("ingest", {{"k", "v"}});
  int next = 0;
  {
    postgres_store st(opts);
    auto send = [&](int batches) {
      for (int b = 0; b < batches; ++b) {
        sample_batch batch;
        for (int i = 0; i < 100; ++i, ++next)
          batch.push_back({s, from_unix_ms(next), double(next)});
        ASSERT_TRUE(st.append(batch));  // accepted, server up or not
        std::this_thread::sleep_for(1ms);
      }
    };
    send(30);
    server.stop();
    send(30);
    EXPECT_TRUE(vitals::test::eventually([&] { return st.stats().spool_pending > 0; }));
    send(20);
    sample_batch stats;
    ASSERT_TRUE(st.collect(stats, now()));
    EXPECT_GT(vitals::test::value(stats, "vitals_pg_spool_pending"), 0);
    EXPECT_EQ(vitals::test::value(stats, "vitals_pg_connected"), 0);
  }  // the process ends while the server is down: the spool keeps the rest
  EXPECT_GT(dir.files(), 0u);
  server.start();
  postgres_store again(opts);
  ASSERT_TRUE(again.flush(60s)) << again.stats().last_error;
  EXPECT_EQ(again.stats().spool_pending, 0u);
  EXPECT_EQ(again.stats().rejected_samples, 0u);
  EXPECT_EQ(dir.files(), 0u);
  const auto pts = again.range(s, from_unix_ms(0), from_unix_ms(next));
  ASSERT_EQ(pts.size(), std::size_t(next));
  for (int i = 0; i < next; ++i) ASSERT_EQ(pts[std::size_t(i)].value, double(i));
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM samples"), next);
}

// A store that retries quickly, gives a refused batch up after two attempts
// and spools what the server cannot take.
postgres_options give_up_after_two(const postgres_database& db, const temp_dir& dir) {
  return {.dsn = db.dsn(),
          .batch_max = 500,
          .backoff_min = 10ms,
          .backoff_max = 50ms,
          .max_attempts = 2,
          .spool_dir = dir.path};
}

TEST(PostgresFailover, AServerThatRefusesAllWritesSpoolsInsteadOfGivingUp) {
  postgres_database db;
  temp_dir dir;
  const std::string name = db.dsn().substr(db.dsn().rfind("dbname=") + 7);
  auto admin = [&](const std::string& sql) {
    auto c = pg::connection::open(postgres_server::shared().dsn());
    ASSERT_TRUE(c);
    auto r = c->query(sql.c_str());
    ASSERT_TRUE(r) << r.error().message;
  };
  // Cuts the store's connections: the sessions it opens next get the setting.
  const std::string cut =
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" + name +
      "'";
  postgres_store st(give_up_after_two(db, dir));
  const series s("refused", {});
  ASSERT_TRUE(st.append(make_batch(s, 0, 1000, 1)));
  ASSERT_TRUE(st.flush(20s)) << st.stats().last_error;
  admin("ALTER DATABASE " + name + " SET default_transaction_read_only = on");
  admin(cut);
  ASSERT_TRUE(st.append(make_batch(s, 1000, 1000, 1)));
  // Retried beyond max_attempts, and nothing given up on: all of it spooled.
  EXPECT_TRUE(vitals::test::eventually([&] { return st.stats().failed_batches > 4; }));
  EXPECT_EQ(st.stats().rejected_samples, 0u);
  EXPECT_EQ(st.stats().spooled, 1000u);
  EXPECT_GT(st.stats().spool_pending, 0u);
  admin("ALTER DATABASE " + name + " RESET default_transaction_read_only");
  ASSERT_TRUE(st.flush(30s)) << st.stats().last_error;
  EXPECT_EQ(st.stats().rejected_samples, 0u);
  EXPECT_EQ(st.stats().spool_pending, 0u);
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM samples"), 2000);
}

// A spooled batch the server refuses for itself (not for its state) is given
// up on after max_attempts like one from memory, but kept: it moves to the
// spool's dead-letter folder, counted, and newer samples are written after it.
TEST(PostgresFailover, ASpooledBatchTheServerRefusesMovesToTheDeadLetterFolder) {
  postgres_database db;
  temp_dir dir;
  const std::string name = db.dsn().substr(db.dsn().rfind("dbname=") + 7);
  auto run = [](const std::string& dsn, const std::string& sql) {
    auto c = pg::connection::open(dsn);
    ASSERT_TRUE(c);
    auto r = c->query(sql.c_str());
    ASSERT_TRUE(r) << r.error().message;
  };
  const std::string admin = postgres_server::shared().dsn();
  postgres_store st(give_up_after_two(db, dir));
  const series s("refused_later", {});
  ASSERT_TRUE(st.append(make_batch(s, 0, 100, 1)));
  ASSERT_TRUE(st.flush(20s)) << st.stats().last_error;
  // Negative values are refused from now on (23514, the statement's fault).
  run(db.dsn(), "ALTER TABLE samples ADD CONSTRAINT no_negative CHECK (value >= 0)");
  // While the database is read-only (the server's state), the bad batch is spooled.
  run(admin, "ALTER DATABASE " + name + " SET default_transaction_read_only = on");
  run(admin, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '" +
                 name + "'");
  sample_batch bad;
  for (int i = 0; i < 100; ++i) bad.push_back({s, from_unix_ms(1000 + i), -1.0 - i});
  ASSERT_TRUE(st.append(bad));
  ASSERT_TRUE(vitals::test::eventually([&] { return st.stats().spooled == 100; }));
  run(admin, "ALTER DATABASE " + name + " RESET default_transaction_read_only");
  // Replayed, refused twice, moved aside; the spool is empty again.
  ASSERT_TRUE(vitals::test::eventually([&] { return st.stats().spool_dead == 1; }))
      << st.stats().last_error;
  EXPECT_EQ(st.stats().rejected_samples, 100u);
  EXPECT_EQ(st.stats().spool_pending, 0u);
  std::size_t dead = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path / "dead"))
    dead += e.is_regular_file();
  EXPECT_EQ(dead, 1u);
  sample_batch stats;
  ASSERT_TRUE(st.collect(stats, now()));
  EXPECT_EQ(vitals::test::value(stats, "vitals_pg_spool_dead_total"), 1);
  // Newer samples are not held up behind it.
  ASSERT_TRUE(st.append(make_batch(s, 2000, 100, 1)));
  ASSERT_TRUE(st.flush(20s)) << st.stats().last_error;
  EXPECT_EQ(count_rows(db.dsn(), "SELECT count(*) FROM samples"), 200);
}

// The view of a fleet (agent_monitor --read-only) behind any_store: range
// queries as the database answers them, and poll() publishing what another
// writer stored since (PostgreSQL's since(), one query).
TEST(AnyStore, AFollowedPostgresViewAnswersAndPollsAsItself) {
  postgres_database db;
  postgres_store writer{postgres_options{.dsn = db.dsn()}};
  postgres_store reader{postgres_options{.dsn = db.dsn()}};
  followed<postgres_store> view(reader);
  any_store store(view);
  const series id("cpu", {{"target", "a"}});
  ASSERT_TRUE(writer.append(wavy_series(id, 300)));
  ASSERT_TRUE(writer.flush(10s));
  expect_ranges_alike(reader, store, from_unix_ms(1'100'000), from_unix_ms(3'500'000));
  EXPECT_EQ(store.poll(), 0u);  // primed
  const auto v0 = store.version();
  ASSERT_TRUE(writer.append(std::vector<sample>{{id, vitals::now(), 1}}));
  ASSERT_TRUE(writer.flush(10s));
  EXPECT_EQ(store.poll(), 1u);
  EXPECT_GT(store.version(), v0);
  EXPECT_FALSE(store.append(std::vector<sample>{{id, vitals::now(), 2}}));
}

}  // namespace
