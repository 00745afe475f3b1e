#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "support/archetypes.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/sinks/fanout.hpp"
#include "vitals/sinks/jsonl.hpp"
#include "vitals/sinks/null.hpp"
#include "vitals/sinks/optional.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
namespace fs = std::filesystem;

struct failing_sink {
  status write(std::span<const sample>) { return error(errc::unavailable, "remote is down"); }
  status flush() { return error(errc::unavailable, "remote is down"); }
};

sample_batch some(int n, std::int64_t t0 = 1000) {
  sample_batch b;
  for (int i = 0; i < n; ++i)
    b.push_back({series("up", {{"job", "a\"b"}}), from_unix_ms(t0 + i), double(i)});
  return b;
}

TEST(SinksOptional, DoesNothingUntilEmplacedThenForwardsEverything) {
  stores::memory_store st;
  sinks::optional_sink<failing_sink> maybe_bad;
  sinks::optional_sink<sinks::null_sink> maybe_good;
  pipeline p(st, maybe_bad, maybe_good);
  ASSERT_TRUE(p.push(some(3)));
  EXPECT_FALSE(maybe_good);
  EXPECT_EQ(maybe_good.get(), nullptr);
  EXPECT_EQ(p.sink_failures(0), 0u) << "an absent sink accepts and does nothing";
  maybe_bad.emplace();
  auto& good = maybe_good.emplace();
  ASSERT_TRUE(p.push(some(4, 2000)));
  EXPECT_TRUE(maybe_good);
  EXPECT_EQ(good.samples(), 4u) << "only what came after emplace";
  EXPECT_EQ(p.sink_failures(0), 1u);
  EXPECT_FALSE(maybe_bad.flush());
}

TEST(RuntimePipeline, AFailingSinkNeverStopsTheStoreOrTheOthers) {
  stores::memory_store st;
  failing_sink bad;
  sinks::null_sink good;
  pipeline p(st, bad, good);
  ASSERT_TRUE(p.push(some(5)));
  ASSERT_TRUE(p.push(some(5, 2000)));
  EXPECT_EQ(st.range(some(1)[0].series, from_unix_ms(0), from_unix_ms(10'000)).size(), 10u);
  EXPECT_EQ(good.samples(), 10u);
  EXPECT_EQ(p.sink_failures(0), 2u);
  EXPECT_EQ(p.sink_failures(1), 0u);
  p.flush();
  EXPECT_EQ(p.sink_failures(0), 3u);
  EXPECT_EQ(p.batches(), 2u);
}

TEST(RuntimePipeline, AStoreFailureIsReturnedAndCounted) {
  struct refusing_store : archetypes::store_archetype {
    status append(std::span<const sample>) { return error(errc::unavailable, "disk full"); }
  } st;
  sinks::null_sink good;
  pipeline p(st, good);
  auto r = p.push(some(3));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "disk full");
  EXPECT_EQ(p.store_failures(), 1u);
  EXPECT_EQ(good.samples(), 3u);  // sinks still get the batch
}

TEST(SinksFanout, EverySinkGetsEveryBatchAndFailuresAreCounted) {
  sinks::null_sink a, b;
  failing_sink bad;
  sinks::fanout f(a, bad, b);
  static_assert(sink<decltype(f)>);
  auto r = f.write(some(4));
  EXPECT_FALSE(r);
  EXPECT_EQ(a.samples(), 4u);
  EXPECT_EQ(b.samples(), 4u);
  EXPECT_EQ(f.failures(1), 1u);
  EXPECT_EQ(f.failures(0), 0u);
}

TEST(SinksJsonl, OneObjectPerSampleAndRotationBySize) {
  const fs::path dir = fs::temp_directory_path() / ("vitals-jsonl-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  const auto file = dir / "samples.jsonl";
  {
    sinks::jsonl_sink s(file, sinks::jsonl_options{.max_bytes = 2000, .keep = 2});
    sample_batch b = some(3);
    b.push_back({series("odd", {}), from_unix_ms(5), NAN});
    ASSERT_TRUE(s.write(b));
    ASSERT_TRUE(s.flush());
    std::ifstream in(file);
    std::string line;
    std::vector<boost::json::value> rows;
    while (std::getline(in, line)) rows.push_back(boost::json::parse(line));
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[1].at("name").as_string(), "up");
    EXPECT_EQ(rows[1].at("labels").at("job").as_string(), "a\"b");
    EXPECT_EQ(rows[1].at("t").to_number<std::int64_t>(), 1001);
    EXPECT_EQ(rows[1].at("v").to_number<double>(), 1.0);
    EXPECT_EQ(rows[3].at("v").as_string(), "NaN");
    for (int i = 0; i < 40; ++i) ASSERT_TRUE(s.write(some(3)));
  }
  EXPECT_TRUE(fs::exists(dir / "samples.jsonl.1"));
  EXPECT_TRUE(fs::exists(dir / "samples.jsonl.2"));
  EXPECT_FALSE(fs::exists(dir / "samples.jsonl.3"));
  EXPECT_LE(fs::file_size(dir / "samples.jsonl.1"), 2000u + 400u);
  fs::remove_all(dir);
}

TEST(SinksJsonl, AnUnwritablePathIsAnErrorValue) {
  sinks::jsonl_sink s("/proc/vitals-no/such.jsonl");
  auto r = s.write(some(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/proc/vitals-no/such.jsonl"), std::string::npos);
}

}  // namespace
