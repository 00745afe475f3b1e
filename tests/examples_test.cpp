// The examples as a user runs them: their output, read back by the parser.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <string>

#include "vitals/format/parse.hpp"

namespace {

std::string run(const std::string& cmd) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ::pclose(p);
  return out;
}

const vitals::metric_family* find(const vitals::metric_snapshot& s, std::string_view name) {
  for (const auto& f : s)
    if (f.name == name) return &f;
  return nullptr;
}

void check_tour(const vitals::format::parse_result& r) {
  for (const auto& e : r.errors) ADD_FAILURE() << "line " << e.line << ": " << e.message;
  const auto* requests = find(r.families, "tour_http_requests");
  ASSERT_NE(requests, nullptr);
  EXPECT_EQ(requests->type, vitals::metric_type::counter);
  EXPECT_EQ(requests->help, "HTTP requests by path.\nA second help line.");
  bool quoted = false, newline = false, unicode = false;
  for (const auto& p : requests->points) {
    const auto path = p.labels.get("path");
    quoted |= path == "/search?q=\"quoted\"" && p.value == 3;
    newline |= path == "two\nlines" && p.value == 2;
    unicode |= path == "caf\xc3\xa9 \xe2\x98\x95 \xe6\x97\xa5\xe6\x9c\xac" && p.value == 5;
  }
  EXPECT_TRUE(quoted && newline && unicode);
  const auto* tokens = find(r.families, "gen_ai_client_token_usage");
  ASSERT_NE(tokens, nullptr);
  ASSERT_EQ(tokens->points.size(), 2u);
  EXPECT_EQ(tokens->points[0].buckets.size(), 15u);  // 14 bounds and +Inf
  const auto* sizes = find(r.families, "tour_response_size_bytes");
  ASSERT_NE(sizes, nullptr) << "the native histogram";
  ASSERT_EQ(sizes->points.size(), 1u);
  EXPECT_EQ(sizes->points[0].count, 50);
  EXPECT_EQ(sizes->points[0].sum, 127500);
  ASSERT_EQ(sizes->points[0].buckets.size(), 1u) << "+Inf only in the text formats";
}

TEST(ExamplesTour, TextExpositionReadsBack) {
  const auto out = run(VITALS_TOUR_EXE);
  ASSERT_FALSE(out.empty());
  check_tour(vitals::format::parse_text(out));
}

TEST(ExamplesTour, OpenMetricsExpositionReadsBack) {
  const auto out = run(std::string(VITALS_TOUR_EXE) + " --openmetrics");
  ASSERT_TRUE(out.ends_with("# EOF\n"));
  check_tour(vitals::format::parse_openmetrics(out));
}

TEST(ExamplesTour, UnknownFlagIsAnErrorWithUsage) {
  const auto out = run(std::string(VITALS_TOUR_EXE) + " --bogus 2>&1; echo rc=$?");
  EXPECT_NE(out.find("usage:"), std::string::npos);
  EXPECT_NE(out.find("rc=2"), std::string::npos);
}

#ifdef VITALS_COLLECT_EXE
TEST(ExamplesCollectToJsonl, SamplesUntilSigintThenExitsCleanly) {
  const std::string file = "/tmp/vitals-collect-" + std::to_string(::getpid()) + ".jsonl";
  // --foreground: timeout otherwise sends the signal twice, to the child and
  // then to its whole process group; on a loaded machine the second can land
  // after the example has handled the first and is already returning from
  // main, its handler gone, and kill it with 130 (seen in CI).
  const auto out =
      run("timeout --foreground --preserve-status -s INT 2 " + std::string(VITALS_COLLECT_EXE) +
          " --interval 200ms --out " + file + " 2>&1; echo rc=$?");
  EXPECT_NE(out.find("rc=0"), std::string::npos) << out;
  EXPECT_NE(out.find("series"), std::string::npos) << out;
  const auto lines = run("grep -c . " + file);
  EXPECT_GT(std::stoi(lines), 100) << "samples written: " << lines;
  const auto names = run("grep -o '\"name\":\"[A-Za-z_]*\"' " + file + " | sort -u");
  for (const char* n :
       {"process_cpu_seconds_total", "process_resident_memory_bytes", "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes", "process_cpu_percent"})
    EXPECT_NE(names.find(n), std::string::npos) << n;
  std::remove(file.c_str());
}

TEST(ExamplesCollectToJsonl, ABadFlagValueIsAOneLineErrorAndExitCode2) {
  const auto out = run(std::string(VITALS_COLLECT_EXE) + " --interval 10x 2>&1; echo rc=$?");
  EXPECT_NE(out.find("invalid duration '10x'"), std::string::npos) << out;
  EXPECT_NE(out.find("rc=2"), std::string::npos);
}
#endif

}  // namespace
