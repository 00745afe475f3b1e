// Hostile numbers and data (issue 13, points 1 and 6): times and windows
// that would overflow, token counts that would poison the sums, NUL and
// invalid UTF-8, corrupt stored labels, a spool record that fails forever,
// and the one atomic file write.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "support/helpers.hpp"
#include "support/http_fixture.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_sqlite.hpp"
#include "vitals/core/detail/file.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/http/params.hpp"
#include "vitals/stores/detail/label_codec.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/sqlite.hpp"

namespace {

namespace fs = std::filesystem;
using namespace vitals;
using namespace std::chrono_literals;
using stores::aggregation;
using stores::range_query;
using stores::selector;
using test::temp_dir;

constexpr std::int64_t i64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t i64_min = std::numeric_limits<std::int64_t>::min();

// --- 1. times, windows, buckets ----------------------------------------------

TEST(HardeningTime, ParseTimeRefusesWhatLeavesTheRange) {
  const timestamp now = from_unix_ms(1'795'687'200'000);
  using http::parse_time;
  for (const char* bad :
       {"now-9223372036854775807ms", "now-9223372036854775807d", "now-83950d", "now-0s",
        "999999999999", "1e300", "-1", "inf", "nan", "2201-01-01T00:00:00Z", "1969-12-31T23:59:59Z",
        "9999-12-31T23:59:59Z", "0000-01-01T00:00:00Z"})
    EXPECT_FALSE(parse_time(bad, now)) << bad;
  EXPECT_EQ(*parse_time("1970-01-01T00:00:00Z", now), min_time);
  EXPECT_EQ(*parse_time("2200-01-01T00:00:00Z", now), max_time);
  EXPECT_EQ(*parse_time("7258118400", now), max_time);
  EXPECT_EQ(*parse_time("0", now), min_time);
  EXPECT_EQ(*parse_time("now-1d", now), now - 24h);
  // `now` from a broken clock is clamped too, so now-<d> cannot underflow.
  EXPECT_FALSE(parse_time("now-1ms", from_unix_ms(i64_min)));
}

TEST(HardeningTime, DurationsAndCheckedConversions) {
  EXPECT_FALSE(vitals::parse_duration("9223372036854775807ms"));
  EXPECT_FALSE(vitals::parse_duration("106751991167d"));
  EXPECT_FALSE(vitals::parse_duration("84007d"));
  EXPECT_TRUE(vitals::parse_duration("84006d"));
  EXPECT_FALSE(checked_from_unix_ms(-1));
  EXPECT_FALSE(checked_from_unix_ms(max_unix_ms + 1));
  EXPECT_FALSE(checked_from_unix_ms(i64_max));
  EXPECT_EQ(checked_from_unix_ms(0), min_time);
  EXPECT_EQ(clamp_time(from_unix_ms(i64_min)), min_time);
  EXPECT_EQ(clamp_time(from_unix_ms(i64_max)), max_time);
}

TEST(HardeningTime, ScrapedTimestampsOutOfRangeAreRefusedPerLine) {
  const auto r =
      format::parse_text("a 1 9223372036854775807\nb 2 -5\nc 3 1700000000000\nd 4 7258118400001\n");
  ASSERT_EQ(r.families.size(), 1u);
  EXPECT_EQ(r.families[0].name, "c");
  ASSERT_EQ(r.errors.size(), 3u);
  EXPECT_NE(r.errors[0].message.find("out of range"), std::string::npos) << r.errors[0].message;
  const auto om = format::parse_openmetrics("a 1 9223372036854775.807\n# EOF\n");
  EXPECT_TRUE(om.families.empty() || om.families[0].points.empty());
  EXPECT_FALSE(om.errors.empty());
}

TEST(HardeningRange, BucketCountLimitNamesTheStep) {
  range_query q{.from = from_unix_ms(0), .to = from_unix_ms(10'999), .step = 1ms};
  EXPECT_TRUE(stores::check_range(q));  // 11,000 buckets
  q.to = from_unix_ms(11'000);
  auto st = stores::check_range(q);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().message.starts_with("step:")) << st.error().message;
  q.step.reset();  // auto: target_points buckets, whatever the window
  q.to = max_time;
  EXPECT_TRUE(stores::check_range(q));
  q.from = from_unix_ms(i64_min);
  st = stores::check_range(q);
  ASSERT_FALSE(st);
  EXPECT_TRUE(st.error().message.starts_with("from:")) << st.error().message;
  q.from = min_time;
  q.to = from_unix_ms(i64_max);
  EXPECT_TRUE(stores::check_range(q).error().message.starts_with("to:"));
}

TEST(HardeningRange, StoresRefuseAWindowThatWouldHangThem) {
  temp_dir dir;
  stores::sqlite_store st(dir.path() / "s.db");
  stores::memory_store mem;
  const series id("process_cpu_seconds_total", {});
  sample_batch b{{id, from_unix_ms(1'700'000'000'000), 1.0}};
  ASSERT_TRUE(st.append(b));
  ASSERT_TRUE(mem.append(b));
  // The attack: `to - from` wraps and the per-bucket loop would run ~10^15 times.
  range_query q{.selector = selector::by_name("process_cpu_seconds_total"),
                .from = from_unix_ms(1'700'000'000'000 - i64_max / 2),
                .to = from_unix_ms(999'999'999'999'000),
                .step = 1ms};
  EXPECT_FALSE(st.range_aggregated(id, q, 1ms));
  EXPECT_FALSE(stores::query_range(st, q));
  EXPECT_FALSE(stores::query_range(mem, q));
  EXPECT_TRUE(mem.downsample(id, q).empty());
  q.from = min_time, q.to = max_time;  // in range, but 7e12 buckets
  EXPECT_FALSE(st.range_aggregated(id, q, 1ms));
  EXPECT_FALSE(stores::query_range(st, q));
  q.step.reset();
  auto ok = stores::query_range(st, q);
  ASSERT_TRUE(ok) << ok.error().message;
  ASSERT_EQ(ok->size(), 1u);
}

TEST(HardeningRange, TheRangeAttackIs400NamingTheParameter) {
  test::http_fixture f;
  auto c = f.client();
  const std::pair<std::string, std::string> cases[] = {
      {"/api/v1/range?sel=process_cpu_seconds_total&from=now-9223372036854775807ms&to="
       "999999999999",
       "from"},
      {"/api/v1/range?from=now-9223372036854775807ms", "from"},
      {"/api/v1/range?to=999999999999", "to"},
      {"/api/v1/range?from=0&to=7258118400&step=1ms", "step"},
      {"/api/v1/range?from=now-1d&step=1s", "step"},
      {"/api/v1/range?step=9223372036854775807ms", "step"},
  };
  for (const auto& [target, name] : cases) {
    auto r = c.get(target);
    ASSERT_TRUE(r) << target;
    EXPECT_EQ(r->status, 400u) << target << " " << r->body;
    EXPECT_EQ(boost::json::parse(r->body).at("parameter"), name.c_str()) << target << r->body;
  }
  auto r = c.get("/api/v1/range?from=0&to=7258118400");  // the widest window, auto step
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  r = c.get("/healthz");  // and the server still answers
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

// --- 1. token counts and sums -------------------------------------------------

TEST(HardeningUsage, HugeCountsAreRefusedPerLineWithTheFieldName) {
  agent::usage_memory usage;
  registry reg;
  agent::ledger l(usage, reg);
  const auto r =
      l.ingest(R"({"message_id":"ok1","input_tokens":5})"
               "\n"
               R"({"message_id":"big","input_tokens":9223372036854775807})"
               "\n"
               R"({"message_id":"big2","output_tokens":1000000000001})"
               "\n"
               R"({"message_id":"cost","input_tokens":1,"cost_usd":1e7})"
               "\n"
               R"({"message_id":"sum","input_tokens":600000000000,"output_tokens":600000000000})"
               "\n"
               R"({"message_id":"req","requests":1000001})"
               "\n"
               R"({"message_id":"ok2","input_tokens":1000000000000})");
  EXPECT_EQ(r.accepted, 2u);
  ASSERT_EQ(r.rejected.size(), 5u);
  const std::pair<std::size_t, const char*> expected[] = {{2, "input_tokens"},
                                                          {3, "output_tokens"},
                                                          {4, "cost_usd"},
                                                          {5, "total_tokens"},
                                                          {6, "requests"}};
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.rejected[i].line, expected[i].first);
    EXPECT_TRUE(r.rejected[i].error.starts_with(expected[i].second)) << r.rejected[i].error;
  }
}

TEST(HardeningUsage, SaturatingTotals) {
  agent::usage_totals a, b;
  a.input = i64_max - 1;
  b.input = 5;
  a.add(b);
  EXPECT_EQ(a.input, i64_max);
  a.subtract(agent::usage_totals{.input = i64_min});
  EXPECT_EQ(a.input, i64_max);
}

TEST(HardeningUsage, APoisonedDatabaseStillLoadsAndReports) {
  temp_dir dir;
  const auto file = dir.path() / "usage.db";
  {
    agent::usage_sqlite usage(file);
    registry reg;
    agent::ledger l(usage, reg);
    const auto r = l.ingest(
        R"({"message_id":"a","agent_name":"x","input_tokens":5,"occurred_at":"2026-01-01T01:00:00Z"})"
        "\n"
        R"({"message_id":"b","agent_name":"x","input_tokens":5,"occurred_at":"2026-01-01T03:00:00Z"})");
    ASSERT_EQ(r.accepted, 2u);
  }
  {  // what an older version, or a hand, may have left: sums past int64
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(file.c_str(), &db), SQLITE_OK);
    for (const char* sql :
         {"UPDATE usage_events SET input = 9223372036854775807, total = 9223372036854775807",
          "UPDATE usage_hourly SET input = 9223372036854775807, total = 9223372036854775807"})
      EXPECT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  agent::usage_sqlite usage(file);
  registry reg;
  agent::ledger l(usage, reg);
  ASSERT_TRUE(l.load()) << "the monitor must restart on its own data";
  agent::usage_reports<agent::usage_sqlite, stores::memory_store> reports(usage, nullptr);
  auto s = reports.summary(std::nullopt, min_time, max_time);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ((*s)[0].at("tokens").at("input").as_int64(), i64_max);
  // Partial hours read usage_events, whole ones usage_hourly: both saturate.
  for (auto [from, to] :
       {std::pair{min_time, max_time}, std::pair{*parse_rfc3339("2026-01-01T00:30:00Z"),
                                                 *parse_rfc3339("2026-01-01T01:30:00Z")}}) {
    auto rows = usage.aggregate({.from = from, .to = to, .group = agent::by_agent});
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_GT((*rows)[0].totals.input, 0);
  }
  EXPECT_TRUE(reports.daily(min_time, max_time, agent::daily_by::model));
}

// --- 6. clean text -----------------------------------------------------------

TEST(HardeningText, CleanTextIsValidUtf8WithoutNul) {
  for (std::string_view ok : {"", "plain", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3\xa9t\xc3\xa9"})
    EXPECT_TRUE(is_clean_text(ok)) << ok;
  for (std::string_view bad : {std::string_view("a\0b", 3), std::string_view("\xff"),
                               std::string_view("\xc0\xaf"), std::string_view("\xed\xa0\x80"),
                               std::string_view("\xf4\x90\x80\x80"), std::string_view("\xe2\x82"),
                               std::string_view("\x80"), std::string_view("\xf8\x88\x80\x80\x80")})
    EXPECT_FALSE(is_clean_text(bad)) << bad.size();
}

TEST(HardeningText, LabelsWithNulOrInvalidUtf8AreRefusedNamingTheLabel) {
  auto r = label_set::make({{"agent", std::string("a\0b", 3)}});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("'agent'"), std::string::npos) << r.error().message;
  EXPECT_FALSE(label_set::make({{"k", "\xff"}}));
  EXPECT_TRUE(label_set::make({{"k", "\xe2\x82\xac"}}));
  const auto p = format::parse_text("m{a=\"\xff\"} 1\nok{a=\"b\"} 2\n");
  ASSERT_EQ(p.errors.size(), 1u);
  EXPECT_EQ(p.errors[0].line, 1u);
  ASSERT_EQ(p.families.size(), 1u);
  EXPECT_EQ(p.families[0].name, "ok");
}

TEST(HardeningText, UsageEventStringsAreCheckedPerField) {
  agent::usage_memory usage;
  registry reg;
  agent::ledger l(usage, reg);
  // Boost.JSON refuses invalid UTF-8 in the document; \u0000 is valid JSON.
  const auto r = l.ingest(R"({"message_id":"m1","agent_name":"a\u0000b"})"
                          "\n"
                          "{\"message_id\":\"m2\",\"model_raw\":\"\xff\"}\n"
                          R"({"message_id":"m3","tool_name":"ok"})");
  EXPECT_EQ(r.accepted, 1u);
  ASSERT_EQ(r.rejected.size(), 2u);
  EXPECT_EQ(r.rejected[0].line, 1u);
  EXPECT_TRUE(r.rejected[0].error.starts_with("agent_name")) << r.rejected[0].error;
  EXPECT_EQ(r.rejected[1].line, 2u);
}

TEST(HardeningCodec, TruncatedOrCorruptLabelsAreErrorsNotOverreads) {
  using stores::detail::decode_series;
  using stores::detail::encode_labels;
  const label_set l{{"a", "1"}, {"bb", "\xe2\x82\xac:2"}};
  auto ok = decode_series("m", encode_labels(l));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->labels(), l);
  EXPECT_TRUE(decode_series("m", ""));
  for (std::string_view bad :
       {"5:abc", "1:a", "1:a5:x", ":a1:b", "1a1:b", "-1:a1:b", "99999999999999999999:a",
        "18446744073709551615:a1:b", "1:b1:x1:a1:y", "1:a1:x1:a1:y", "2:__1:x", "1:a1:\xff", "1:9",
        "abc", "1:a2:x"})
    EXPECT_FALSE(decode_series("m", bad)) << bad;
  EXPECT_FALSE(decode_series("m", std::string_view("1:a1:\0", 6)));
  EXPECT_FALSE(decode_series("", "1:a1:b"));
}

// --- 6. the spool's dead letters ----------------------------------------------

// A usage store that is down while `down` is set, and refuses (not an
// outage) any batch holding the message id "poison".
struct picky_store {
  agent::usage_memory inner;
  bool down = false;
  std::vector<std::string> stored_ids;
  result<std::vector<std::optional<agent::usage_event>>> find(std::span<const std::string> keys) {
    return inner.find(keys);
  }
  status put(std::span<const agent::usage_record> records) {
    if (down) return error(errc::unavailable, "database is down");
    for (const auto& r : records)
      if (r.event.message_id == "poison") return error(errc::io_error, "value out of range");
    for (const auto& r : records) stored_ids.push_back(r.event.message_id);
    return inner.put(records);
  }
  result<std::vector<agent::usage_row>> aggregate(const agent::usage_query& q) {
    return inner.aggregate(q);
  }
  result<std::size_t> count() { return inner.count(); }
};

TEST(HardeningSpool, APoisonRecordIsDeadLetteredAndNeverBlocksNewerOnes) {
  temp_dir dir;
  agent::spool sp(dir.path(), false);
  sp.set_max_refusals(3);
  picky_store store;
  registry reg;
  agent::ledger l(store, reg);
  l.use_spool(sp);
  ASSERT_TRUE(l.load());
  store.down = true;
  auto r = l.ingest(R"({"message_id":"poison","input_tokens":1}
{"message_id":"m1","input_tokens":2}
{"message_id":"m2","input_tokens":3})");
  ASSERT_EQ(r.accepted, 3u);
  ASSERT_EQ(l.spooled(), 3u);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(l.replay());  // an outage refuses nothing
  EXPECT_EQ(sp.dead(), 0u);
  store.down = false;
  auto n = l.replay();
  ASSERT_TRUE(n);
  EXPECT_EQ(*n, 2u) << "the records behind the poison one went through";
  EXPECT_EQ(store.stored_ids, (std::vector<std::string>{"m1", "m2"}));
  EXPECT_EQ(l.spooled(), 1u);
  EXPECT_EQ(sp.dead(), 0u);
  ASSERT_TRUE(l.replay());
  ASSERT_TRUE(l.replay());  // the third refusal
  EXPECT_EQ(sp.dead(), 1u);
  EXPECT_EQ(l.spooled(), 0u);
  const auto st = l.spool_status();
  EXPECT_EQ(st.pending, 0u);
  ASSERT_EQ(st.dead, 1u);
  ASSERT_EQ(st.recent_dead.size(), 1u);
  EXPECT_EQ(st.recent_dead[0].attempt, 8);  // five outages, three refusals
  EXPECT_NE(st.recent_dead[0].last_error.find("out of range"), std::string::npos);
  EXPECT_TRUE(fs::exists(sp.dead_dir() / st.recent_dead[0].file));
  // With the spool empty, new events go straight to the store again.
  EXPECT_EQ(l.ingest(R"({"message_id":"m3","input_tokens":4})").accepted, 1u);
  EXPECT_EQ(store.stored_ids.back(), "m3");
  EXPECT_EQ(l.spooled(), 0u);
}

TEST(HardeningSpool, UnreadableRecordsMoveAsideAtOnce) {
  temp_dir dir;
  agent::spool sp(dir.path(), false);
  std::ofstream(dir.path() / "0000000001000-0000000000-00000000.json") << "{not json";
  auto w = sp.read_oldest(10);
  ASSERT_TRUE(w);
  EXPECT_TRUE(w->empty());
  EXPECT_EQ(sp.size(), 0u) << "a malformed file must not keep the spool 'draining'";
  EXPECT_EQ(sp.malformed(), 1u);
  EXPECT_EQ(sp.dead_records().first, 1u);
}

// --- 6. the atomic file write ------------------------------------------------

TEST(HardeningFile, WriteAllRetriesShortWritesAndEintr) {
  std::string sink;
  int calls = 0;
  auto flaky = [&](int, const void* b, std::size_t n) -> ssize_t {
    if (++calls % 3 == 1) {
      errno = EINTR;
      return -1;
    }
    const std::size_t k = std::min<std::size_t>(n, 3);  // short writes
    sink.append(static_cast<const char*>(b), k);
    return static_cast<ssize_t>(k);
  };
  const std::string text = "a record that takes several writes";
  EXPECT_EQ(vitals::detail::write_all(-1, text, flaky), 0);
  EXPECT_EQ(sink, text);
  auto stuck = [](int, const void*, std::size_t) -> ssize_t { return 0; };
  EXPECT_EQ(vitals::detail::write_all(-1, "x", stuck), EIO);
  auto full = [](int, const void*, std::size_t) -> ssize_t {
    errno = ENOSPC;
    return -1;
  };
  EXPECT_EQ(vitals::detail::write_all(-1, "x", full), ENOSPC);
  EXPECT_EQ(vitals::detail::write_all(-1, "", full), 0);
}

TEST(HardeningFile, TemporaryFilesNeverFollowASymlink) {
  temp_dir dir;
  const auto target = dir.path() / "victim";
  const auto link = dir.path() / "link";
  fs::create_symlink(target, link);
  const int fd = vitals::detail::create_exclusive(link);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, EEXIST);
  EXPECT_FALSE(fs::exists(target)) << "nothing was created through the link";
  std::ofstream(dir.path() / "existing") << "x";
  EXPECT_LT(vitals::detail::create_exclusive(dir.path() / "existing"), 0);
}

TEST(HardeningFile, AtomicWriteReplacesWholeAndLeavesNoTemporary) {
  temp_dir dir;
  const auto file = dir.path() / "marks.json";
  ASSERT_TRUE(vitals::detail::atomic_write_file(file, "first"));
  ASSERT_TRUE(vitals::detail::atomic_write_file(file, "second"));
  std::ifstream in(file);
  std::string got;
  std::getline(in, got);
  EXPECT_EQ(got, "second");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path())) ++entries;
  EXPECT_EQ(entries, 1u);
  EXPECT_FALSE(vitals::detail::atomic_write_file(dir.path() / "no" / "such" / "dir", "x"));
}

}  // namespace
