// One conformance suite, instantiated for every store; then what is specific
// to each store; then the SIGKILL durability test of the SQLite store.
#include <gtest/gtest.h>

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include "support/helpers.hpp"
#include "support/store_conformance.hpp"
#include "vitals/stores/any.hpp"
#include "vitals/stores/any_event.hpp"
#include "vitals/stores/event_memory.hpp"
#include "vitals/stores/event_sqlite.hpp"
#include "vitals/stores/followed.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/sqlite.hpp"
#include "vitals/stores/tiered.hpp"
#include "vitals/stores/watch.hpp"

namespace {

using vitals::test::burn_cpu;
using vitals::test::temp_dir;
using namespace vitals::test::conformance;

using namespace vitals;
using namespace vitals::stores;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

struct memory_fixture {
  memory_store store;
};
struct compressed_memory_fixture {
  memory_store store{memory_options{.compress = true}};
};
struct sqlite_fixture {
  temp_dir dir;
  sqlite_store store{dir.path() / "vitals.db"};
};

// The monitor's default: a memory ring in front of SQLite.
struct tiered_fixture {
  temp_dir dir;
  memory_store hot;
  sqlite_store cold{dir.path() / "vitals.db"};
  tiered<memory_store, sqlite_store> store{hot, cold};
};

// The same stores behind any_store (stores/any.hpp), as the agent monitor
// holds them: the memory ring answers range queries by downsample, the
// tiered store by range_aggregated.
struct any_memory_fixture {
  memory_store mem;
  any_store store{mem};
};
struct any_tiered_fixture {
  temp_dir dir;
  memory_store hot;
  sqlite_store cold{dir.path() / "vitals.db"};
  tiered<memory_store, sqlite_store> both{hot, cold};
  any_store store{both};
};

using store_types = ::testing::Types<memory_fixture, compressed_memory_fixture, sqlite_fixture,
                                     tiered_fixture, any_memory_fixture, any_tiered_fixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, StoreConformance, store_types);

// --- memory store specifics -------------------------------------------------

TEST(StoresMemory, CapacityOverwritesTheOldest) {
  memory_store st(memory_options{.capacity = 100});
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 250)));
  const auto pts = st.range(cpu_a, from_unix_ms(0), from_unix_ms(1'000'000'000));
  ASSERT_EQ(pts.size(), 100u);
  EXPECT_EQ(pts.front().value, 150);
  EXPECT_EQ(pts.back().value, 249);
  EXPECT_EQ(st.stats().overwritten, 150u);
}

TEST(StoresMemory, CompressedCapacityEvictsWholeChunks) {
  memory_store st(memory_options{.capacity = 500, .compress = true});
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 2000)));
  const auto pts = st.range(cpu_a, from_unix_ms(0), from_unix_ms(1'000'000'000));
  EXPECT_LE(pts.size(), 500u);
  EXPECT_GE(pts.size(), 500u - stores::detail::chunk_samples);
  EXPECT_EQ(pts.back().value, 1999);
  EXPECT_EQ(st.stats().overwritten, 2000u - pts.size());
}

TEST(StoresMemory, OutOfOrderSamplesAreDroppedAndCounted) {
  memory_store st;
  ASSERT_TRUE(st.append(make_batch(cpu_a, 100'000, 3)));
  sample_batch late{{cpu_a, from_unix_ms(50'000), 7.0}, {cpu_a, from_unix_ms(120'000), 9.0}};
  ASSERT_TRUE(st.append(late));
  EXPECT_EQ(st.stats().out_of_order, 1u);
  EXPECT_EQ(st.stats().replaced, 1u);  // 120'000 is the latest time: replaced
  EXPECT_EQ(st.range(cpu_a, from_unix_ms(0), from_unix_ms(1'000'000)).size(), 3u);
}

TEST(StoresMemory, CompressionShrinksRealisticSeries) {
  memory_store raw, packed(memory_options{.compress = true});
  std::mt19937 rng(5);
  double cpu = 40;
  sample_batch b;
  for (int i = 0; i < 10'000; ++i) {
    cpu = std::clamp(cpu + std::normal_distribution<double>(0, 1.5)(rng), 0.0, 100.0);
    b.push_back({cpu_a, from_unix_ms(1'700'000'000'000 + i * 10'000ll), std::round(cpu * 10) / 10});
  }
  ASSERT_TRUE(raw.append(b));
  ASSERT_TRUE(packed.append(b));
  EXPECT_EQ(raw.range(cpu_a, from_unix_ms(0), now()), packed.range(cpu_a, from_unix_ms(0), now()));
  const double bps = double(packed.sample_bytes()) / double(packed.sample_count());
  EXPECT_LT(bps, 4.0) << "bytes per sample: " << bps;
  EXPECT_EQ(raw.sample_bytes(), 16u * 10'000u);
}

TEST(StoresMemory, WatchDeliversMatchingSamplesAndCountsDropsForSlowSubscribers) {
  memory_store st(memory_options{.watch_buffer = 4});
  std::atomic<int> notified{0};
  auto fast = st.watch(*selector::parse("cpu_percent{agent=\"a\"}"), [&] { ++notified; });
  auto slow = st.watch(selector::by_name("cpu_percent"));
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 3)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 3)));
  // Neither series was classified yet: the writer queued both, unmatched,
  // and woke the subscriber once per batch (not once per sample).
  EXPECT_EQ(notified.load(), 2);
  auto got = fast.drain();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].series, cpu_a);
  EXPECT_EQ(fast.dropped(), 0u);
  // Now classified by the subscriber: cpu_b no longer reaches it at all.
  ASSERT_TRUE(st.append(make_batch(cpu_b, 10'000, 2)));
  EXPECT_EQ(notified.load(), 2);
  EXPECT_EQ(fast.pending(), 0u);
  // The slow one never drained: it keeps the newest 4 of 8 and counts 4 drops.
  auto kept = slow.drain();
  EXPECT_EQ(slow.dropped(), 4u);
  ASSERT_EQ(kept.size(), 4u);
  EXPECT_EQ(kept.back().series, cpu_b);
  EXPECT_EQ(kept.front().series, cpu_b);
  slow.reset();  // unsubscribed: nothing more arrives
  ASSERT_TRUE(st.append(make_batch(cpu_a, 100'000, 1)));
  EXPECT_EQ(slow.drain().size(), 0u);
  EXPECT_EQ(fast.drain().size(), 1u);
}

TEST(StoresMemory, DropBySelector) {
  memory_store st;
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 1)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 1)));
  ASSERT_TRUE(st.append(make_batch(awkward, 0, 1)));
  EXPECT_EQ(st.drop(selector::by_name("cpu_percent")), 2u);
  EXPECT_EQ(st.list_series().size(), 1u);
}

// --- sqlite store specifics -------------------------------------------------

TEST(StoresSqlite, ReopensWithEverythingAndTheSchemaVersion) {
  temp_dir dir;
  const auto file = dir.path() / "v.db";
  {
    sqlite_store st(file);
    ASSERT_TRUE(st.append(make_batch(awkward, 0, 10)));
    EXPECT_EQ(st.user_schema_version(), sqlite_store::schema_version);
  }
  sqlite_store again(file);
  EXPECT_EQ(again.user_schema_version(), sqlite_store::schema_version);
  EXPECT_EQ(again.list_series(), std::vector<series>{awkward});
  EXPECT_EQ(again.range(awkward, from_unix_ms(0), from_unix_ms(1'000'000)).size(), 10u);
  EXPECT_EQ(again.stats().batches, 0u);
}

TEST(StoresSqlite, LatestOfEverySeriesInOneQuery) {
  temp_dir dir;
  sqlite_store st(dir.path() / "v.db");
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 5)));
  ASSERT_TRUE(st.append(make_batch(cpu_b, 0, 2)));
  const auto all = st.latest_all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].first, cpu_a);
  EXPECT_EQ(all[0].second, (point{from_unix_ms(40'000), 4.0}));
  EXPECT_EQ(all[1].second, (point{from_unix_ms(10'000), 1.0}));
}

TEST(StoresSqlite, PruningCheckpointAndAnalyze) {
  temp_dir dir;
  sqlite_store st(dir.path() / "v.db");
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 1000, 1000)));
  EXPECT_GT(st.stats().wal_bytes, 0);
  auto pruned = st.prune_before(from_unix_ms(500'000));
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 500);
  EXPECT_EQ(st.range(cpu_a, from_unix_ms(0), from_unix_ms(10'000'000)).size(), 500u);
  ASSERT_TRUE(st.checkpoint());
  EXPECT_EQ(st.stats().wal_bytes, 0);  // TRUNCATE empties the log
  EXPECT_EQ(st.stats().checkpoints, 1u);
  EXPECT_FALSE(st.stats().wal_over_limit);
  ASSERT_TRUE(st.analyze());
}

TEST(StoresSqlite, TheCheckpointLoopTruncatesTheLog) {
  temp_dir dir;
  sqlite_store st(dir.path() / "v.db", sqlite_options{.checkpoint_interval = 20ms});
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 1000, 1000)));
  for (int i = 0; i < 200 && st.stats().checkpoints == 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GE(st.stats().checkpoints, 1u);
  EXPECT_EQ(st.stats().wal_bytes, 0);
}

TEST(StoresSqlite, AnUnwritableFileIsAClearError) {
  try {
    sqlite_store st("/proc/vitals-cannot-exist/v.db");
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("/proc/vitals-cannot-exist/v.db"), std::string::npos);
  }
}

TEST(StoresSqlite, AFailedBatchIsRolledBackWhole) {
  temp_dir dir;
  const auto file = dir.path() / "v.db";
  sqlite_store st(file);
  ASSERT_TRUE(st.append(make_batch(cpu_a, 0, 3)));
  // Another connection holds the write lock: the batch must fail as a value
  // and leave nothing behind.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite_store impatient(file, sqlite_options{.busy_timeout = 50ms});
  auto r = impatient.append(make_batch(cpu_b, 0, 3));
  EXPECT_FALSE(r);
  EXPECT_EQ(impatient.stats().failed_batches, 1u);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  EXPECT_TRUE(impatient.append(make_batch(cpu_b, 0, 3)));
  EXPECT_EQ(st.range(cpu_b, from_unix_ms(0), from_unix_ms(100'000)).size(), 3u);
}

// --- the SIGKILL durability test -------------------------------------------

TEST(StoresSqliteDurability, AcknowledgedBatchesSurviveSigkill) {
  temp_dir dir;
  const auto file = dir.path() / "durable.db";
  const series s("durable_total", {{"k", "v"}});
  constexpr int batch_size = 200;
  std::mt19937 rng(std::random_device{}());
  std::int64_t next_batch = 0;
  std::vector<std::int64_t> acknowledged;
  for (int round = 0; round < 20; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      sqlite_store st(file);
      for (std::int64_t b = next_batch;; ++b) {
        sample_batch batch;
        for (int i = 0; i < batch_size; ++i)
          batch.push_back({s, from_unix_ms(b * batch_size + i), double(b)});
        if (!st.append(batch)) ::_exit(3);
        const std::string ack = std::to_string(b) + "\n";
        if (::write(fds[1], ack.data(), ack.size()) < 0) ::_exit(4);
      }
    }
    ::close(fds[1]);
    // Kill it at a random moment after its first two acknowledgements: a
    // fixed delay alone left a slow (sanitized, loaded) writer too little
    // time to acknowledge anything in some rounds.
    std::string acks;
    char buf[4096];
    while (std::count(acks.begin(), acks.end(), '\n') < 2) {
      const ssize_t n = ::read(fds[0], buf, sizeof buf);
      if (n <= 0) break;  // the writer ended: the status check below says how
      acks.append(buf, std::size_t(n));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 120));
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ASSERT_TRUE(WIFSIGNALED(status)) << "writer ended by itself, status " << status;
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) acks.append(buf, std::size_t(n));
    ::close(fds[0]);
    for (std::size_t p = 0, e; (e = acks.find('\n', p)) != std::string::npos; p = e + 1)
      acknowledged.push_back(std::stoll(acks.substr(p, e - p)));

    // Reopen: every acknowledged batch is whole; no batch is half-written.
    sqlite_store st(file);
    const auto pts = st.range(s, from_unix_ms(0), from_unix_ms(1'000'000'000'000));
    std::map<std::int64_t, int> per_batch;
    for (const auto& p : pts) ++per_batch[std::int64_t(p.value)];
    for (auto [b, n] : per_batch) ASSERT_EQ(n, batch_size) << "batch " << b << " is half-written";
    for (auto b : acknowledged)
      ASSERT_EQ(per_batch.count(b), 1u) << "acknowledged batch " << b << " lost";
    next_batch = per_batch.empty() ? 0 : per_batch.rbegin()->first + 1;
  }
  EXPECT_GT(acknowledged.size(), 20u);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &q, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(q), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), "ok");
  sqlite3_finalize(q);
  sqlite3_close(db);
}

// --- event stores ----------------------------------------------------------

struct event_memory_fixture {
  event_memory_store store;
};
struct event_sqlite_fixture {
  temp_dir dir;
  event_sqlite_store store{dir.path() / "events.db"};
};

struct any_event_memory_fixture {
  event_memory_store events;
  any_event_store store{events};
};
struct any_event_sqlite_fixture {
  temp_dir dir;
  event_sqlite_store events{dir.path() / "events.db"};
  any_event_store store{events};
};

using event_store_types = ::testing::Types<event_memory_fixture, event_sqlite_fixture,
                                           any_event_memory_fixture, any_event_sqlite_fixture>;
INSTANTIATE_TYPED_TEST_SUITE_P(Local, EventStoreConformance, event_store_types);

TEST(TieredStore, ReadsTheColdTierWhenTheHotOneNoLongerCoversTheWindow) {
  temp_dir dir;
  memory_store hot{memory_options{.capacity = 10}};
  sqlite_store cold{dir.path() / "vitals.db"};
  tiered store(hot, cold);
  const series id("cpu", {{"target", "a"}});
  std::vector<sample> batch;
  for (int i = 0; i < 100; ++i)
    batch.push_back({id, from_unix_ms(1'000'000 + i * 1000), double(i)});
  ASSERT_TRUE(store.append(batch));
  EXPECT_EQ(hot.range(id, from_unix_ms(0), from_unix_ms(2'000'000)).size(), 10u);
  // The window starts before the ring's oldest sample: the answer is whole.
  EXPECT_EQ(store.range(id, from_unix_ms(1'000'000), from_unix_ms(1'099'000)).size(), 100u);
  // Inside the ring's reach: the same points, from memory.
  EXPECT_EQ(store.range(id, from_unix_ms(1'095'000), from_unix_ms(1'099'000)).size(), 5u);
  range_query q{.selector = selector::by_name("cpu"),
                .from = from_unix_ms(1'000'000),
                .to = from_unix_ms(1'099'000),
                .step = 10s,
                .agg = aggregation::count};
  auto rows = query_range(store, q);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  double total = 0;
  for (const auto& p : (*rows)[0].points) total += p.value;
  EXPECT_EQ(total, 100);
  // A restart empties the ring; the series and its latest value come from SQLite.
  memory_store fresh;
  tiered after(fresh, cold);
  EXPECT_EQ(after.list_series(), std::vector<series>{id});
  EXPECT_EQ(after.latest(id)->value, 99);
}

// /metrics serves the store's part from a text rendered once per version:
// the version must move with every change latest_all can see, the cold
// tier's frozen series included.
TEST(TieredStore, VersionMovesWithEveryChangeLatestAllCanSee) {
  temp_dir dir;
  memory_store hot;
  sqlite_store cold{dir.path() / "vitals.db"};
  const series a("cpu", {{"target", "a"}}), b("cpu", {{"target", "b"}});
  ASSERT_TRUE(cold.append(std::vector<sample>{{b, from_unix_ms(1'000'000), 7}}));  // cold only
  tiered store(hot, cold);
  static_assert(versioned_store<tiered<memory_store, sqlite_store>>);
  auto v = store.version();
  EXPECT_EQ(store.latest_all().size(), 1u);
  EXPECT_EQ(store.version(), v) << "reading changes nothing";
  ASSERT_TRUE(store.append(std::vector<sample>{{a, from_unix_ms(1'001'000), 1}}));
  EXPECT_GT(store.version(), v);
  v = store.version();
  EXPECT_EQ(store.latest_all().size(), 2u);
  EXPECT_TRUE(store.drop(b));
  EXPECT_GT(store.version(), v);
  v = store.version();
  EXPECT_EQ(store.latest_all().size(), 1u);
  ASSERT_TRUE(store.prune_before(from_unix_ms(2'000'000)));
  EXPECT_GT(store.version(), v);
  EXPECT_TRUE(store.latest_all().empty());
}

// A followed view behind any_store answers what the view itself would: its
// range queries are the database's (range_aggregated where SQL computes the
// aggregation, downsample over the raw points for m4, LTTB and rate), its
// poll publishes what others stored, and it writes nothing.
TEST(AnyStore, AFollowedViewAnswersAsTheStoreBehindIt) {
  temp_dir dir;
  sqlite_store db{dir.path() / "vitals.db"};
  followed<sqlite_store> view(db);
  any_store store(view);
  const series id("cpu", {{"target", "a"}});
  ASSERT_TRUE(db.append(wavy_series(id, 500)));
  expect_ranges_alike(db, store, from_unix_ms(1'200'000), from_unix_ms(5'000'000));
  // The view's poll and version, through the erased store.
  EXPECT_EQ(store.poll(), 0u);  // primed: history is not news
  const auto v0 = store.version();
  ASSERT_TRUE(db.append(std::vector<sample>{{id, from_unix_ms(9'000'000), 1}}));
  EXPECT_EQ(store.poll(), 1u);
  EXPECT_GT(store.version(), v0);
  // Writes are refused, and nothing is pruned or dropped.
  EXPECT_FALSE(store.append(std::vector<sample>{{id, from_unix_ms(9'001'000), 2}}));
  EXPECT_FALSE(store.drop_labelled("target", "a"));
  EXPECT_FALSE(store.drop(id));
  auto pruned = store.prune_before(from_unix_ms(100'000'000));
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 0);
  EXPECT_EQ(db.range(id, from_unix_ms(0), from_unix_ms(10'000'000)).size(), 501u);
}

// Counts which of a store's paths a range query takes: any_store must ask
// the store behind it as query_range would have asked that store.
template <class Inner>
struct spy_store {
  Inner& in;
  int aggregated = 0, downsampled = 0, ranged = 0;
  status append(std::span<const sample> b) { return in.append(b); }
  std::optional<point> latest(const series& id) { return in.latest(id); }
  std::vector<point> range(const series& id, timestamp from, timestamp to) {
    ++ranged;
    return in.range(id, from, to);
  }
  std::vector<series> list_series() { return in.list_series(); }
  std::vector<std::pair<series, point>> latest_all() { return in.latest_all(); }
  std::uint64_t version() { return in.version(); }
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    return in.drop_labelled(name, value);
  }
  subscription watch(selector sel, std::function<void()> notify, std::size_t capacity) {
    return in.watch(std::move(sel), std::move(notify), capacity);
  }
  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              duration step) requires
      aggregating_store<Inner, range_query> {
    ++aggregated;
    return in.range_aggregated(id, q, step);
  }
  std::vector<point> downsample(const series& id, const range_query& q) requires
      downsampling_store<Inner, range_query> {
    ++downsampled;
    return in.downsample(id, q);
  }
};

TEST(AnyStore, AsksTheStoreBehindItWhatQueryRangeWouldHave) {
  const series id("cpu", {{"target", "a"}});
  std::vector<sample> batch;
  for (int i = 0; i < 100; ++i) batch.push_back({id, from_unix_ms(1'000'000 + i * 10'000), i});
  auto ask = [&](auto& spy, aggregation agg) {
    spy.aggregated = spy.downsampled = spy.ranged = 0;
    any_store store(spy);
    auto r = query_range(store, range_query{.selector = selector::by_name("cpu"),
                                            .from = from_unix_ms(1'100'000),
                                            .to = from_unix_ms(1'900'000),
                                            .step = 60s,
                                            .agg = agg});
    EXPECT_TRUE(r && r->size() == 1u) << to_string(agg);
    return std::tuple{spy.aggregated, spy.downsampled, spy.ranged};
  };
  // The memory ring downsamples in place, whatever the aggregation but LTTB.
  memory_store mem;
  ASSERT_TRUE(mem.append(batch));
  spy_store<memory_store> in_memory{mem};
  EXPECT_EQ(ask(in_memory, aggregation::mean), std::tuple(0, 1, 0));
  EXPECT_EQ(ask(in_memory, aggregation::m4), std::tuple(0, 1, 0));
  EXPECT_EQ(ask(in_memory, aggregation::rate), std::tuple(0, 1, 0));
  EXPECT_EQ(ask(in_memory, aggregation::lttb), std::tuple(0, 0, 1));
  // A view of a database: SQL computes what it can; m4, rate and LTTB come
  // from the raw points.
  temp_dir dir;
  sqlite_store db{dir.path() / "vitals.db"};
  ASSERT_TRUE(db.append(batch));
  followed<sqlite_store> view(db);
  spy_store<followed<sqlite_store>> of_db{view};
  EXPECT_EQ(ask(of_db, aggregation::mean), std::tuple(1, 0, 0));
  EXPECT_EQ(ask(of_db, aggregation::count), std::tuple(1, 0, 0));
  EXPECT_EQ(ask(of_db, aggregation::m4), std::tuple(0, 0, 1));
  EXPECT_EQ(ask(of_db, aggregation::rate), std::tuple(0, 0, 1));
  EXPECT_EQ(ask(of_db, aggregation::lttb), std::tuple(0, 0, 1));
}

// Bounded queries and pruning reach the event store behind any_event_store.
TEST(AnyEventStore, QueriesAndPrunesTheStoreBehindIt) {
  temp_dir dir;
  event_memory_store in_memory;
  event_sqlite_store on_disk{dir.path() / "events.db"};
  auto check = [](auto& backend) {
    any_event_store store(backend);
    std::vector<event> evs;
    for (int i = 0; i < 5; ++i) {
      event e;
      e.type = i % 2 ? "tool" : "llm";
      e.t = from_unix_ms(1'000'000 + i * 1000);
      evs.push_back(e);
    }
    ASSERT_TRUE(store.append("s1", evs));
    auto newest = store.query(event_query{.stream = "s1", .limit = 2, .newest = true});
    ASSERT_TRUE(newest);
    ASSERT_EQ(newest->size(), 2u);
    EXPECT_EQ((*newest)[0].version, 4);
    EXPECT_EQ((*newest)[1].version, 5);
    auto tools = store.query(event_query{.stream = "s1", .type = "tool"});
    ASSERT_TRUE(tools);
    EXPECT_EQ(tools->size(), 2u);
    auto pruned = store.prune_before(from_unix_ms(1'002'500));
    ASSERT_TRUE(pruned);
    EXPECT_EQ(*pruned, 3);
    auto left = store.read("s1", 0);
    ASSERT_TRUE(left);
    EXPECT_EQ(left->size(), 2u);
    EXPECT_EQ(backend.read("s1", 0)->size(), 2u);
  };
  check(in_memory);
  check(on_disk);
}

// The stores that are not views have no poll: nothing is published.
TEST(AnyStore, PollIsAViewsOnlyAndPruneReachesTheStore) {
  memory_store mem;
  any_store store(mem);
  const series gone("cpu", {{"target", "a"}}), live("cpu", {{"target", "b"}});
  ASSERT_TRUE(store.append(std::vector<sample>{{gone, from_unix_ms(1'000), 1},
                                               {gone, from_unix_ms(2'000), 2},
                                               {live, from_unix_ms(5'000), 3}}));
  EXPECT_EQ(store.poll(), 0u);
  // The memory ring forgets a series whose latest sample is older than the cutoff.
  auto pruned = store.prune_before(from_unix_ms(3'000));
  ASSERT_TRUE(pruned);
  EXPECT_EQ(*pruned, 2);
  EXPECT_EQ(mem.list_series(), std::vector<series>{live});
}

}  // namespace
