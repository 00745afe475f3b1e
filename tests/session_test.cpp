// Per-session metrics (the 002 seed): the collector, its snapshot, the JSON
// form and METRICS.json on disk.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "support/helpers.hpp"
#include "vitals/agent/session.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
using namespace std::chrono_literals;

std::vector<std::string> names_in(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    out.push_back(std::filesystem::relative(e.path(), dir).string());
  std::sort(out.begin(), out.end());
  return out;
}

void write_text(const std::filesystem::path& p, std::string_view text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << text;
}

TEST(SessionCollector, CountsToolCallsAndComputesTheAverage) {
  session_collector c("s1");
  c.record_tool_call("bash", 100ms, true);
  c.record_tool_call("bash", 300ms, false);
  c.record_tool_call("bash", 200ms, true);
  c.record_tool_call("edit", 5ms, true);
  const auto s = c.snapshot();
  ASSERT_EQ(s.tools.size(), 2u);
  EXPECT_EQ(s.tools[0].name, "bash");  // sorted by name
  const auto* bash = s.find_tool("bash");
  ASSERT_NE(bash, nullptr);
  EXPECT_EQ(bash->call_count, 3);
  EXPECT_EQ(bash->success_count, 2);
  EXPECT_EQ(bash->fail_count, 1);
  EXPECT_EQ(bash->total_duration_ms, 600);
  EXPECT_DOUBLE_EQ(bash->avg_duration_ms(), 200.0);
  EXPECT_DOUBLE_EQ(s.find_tool("edit")->avg_duration_ms(), 5.0);
  EXPECT_EQ(s.find_tool("grep"), nullptr);
  EXPECT_DOUBLE_EQ(tool_metric{}.avg_duration_ms(), 0.0);  // no division by zero
}

TEST(SessionCollector, SumsLlmInteractionsPerPhase) {
  session_collector c("s1");
  c.record_llm_interaction("plan", 1000, 200, 0.25);
  c.record_llm_interaction("plan", 500, 50, 0.125);
  c.record_llm_interaction("code", 10, 1, 0.001);
  const auto s = c.snapshot();
  ASSERT_EQ(s.llms.size(), 2u);
  const auto* plan = s.find_llm("plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(*plan, (llm_metric{"plan", 1500, 250, 1750, 0.375, 2}));
  EXPECT_EQ(*s.find_llm("code"), (llm_metric{"code", 10, 1, 11, 0.001, 1}));
  EXPECT_TRUE(s.phases.empty());  // LLM usage is not a phase report
}

TEST(SessionCollector, PhaseDurationIsTheLastReportAndTriggersAreCounted) {
  session_collector c("s1");
  c.record_phase_transition("code");
  c.record_phase_transition("code");
  c.record_phase_duration("code", 1500ms, false);
  c.record_heal_trigger("code");
  c.record_heal_trigger("code");
  c.record_bisect_trigger("code");
  c.record_phase_duration("code", 900ms, true);  // replaces, does not add
  c.record_bisect_trigger("test");               // a phase seen only through a trigger
  c.record_heal_result("code", true);
  c.record_heal_result("code", false);
  c.record_heal_result("code", true);
  c.record_bisect_result("test", false);
  const auto s = c.snapshot();
  ASSERT_EQ(s.phases.size(), 2u);
  EXPECT_EQ(*s.find_phase("code"), (phase_metric{"code", 900, 2, 2, 1, true, 2, 1, 0, 0}));
  EXPECT_EQ(*s.find_phase("test"), (phase_metric{"test", 0, 0, 0, 1, false, 0, 0, 0, 1}));
  c.record_phase_duration("code", 50ms, false);
  EXPECT_EQ(c.snapshot().find_phase("code")->duration_ms, 50);
  EXPECT_FALSE(c.snapshot().find_phase("code")->success);
}

TEST(SessionCollector, NegativeAmountsAndBadCostsCountAsZero) {
  session_collector c("s1");
  c.record_tool_call("bash", -5ms, true);
  c.record_llm_interaction("plan", -10, 4, -1.0);
  c.record_llm_interaction("plan", 0, 0, std::nan(""));
  c.record_phase_duration("plan", -1ms, true);
  const auto s = c.snapshot();
  EXPECT_EQ(s.find_tool("bash")->total_duration_ms, 0);
  EXPECT_EQ(*s.find_llm("plan"), (llm_metric{"plan", 0, 4, 4, 0.0, 2}));
  EXPECT_EQ(s.find_phase("plan")->duration_ms, 0);
}

TEST(SessionCollector, TimesTrackStartAndLastEvent) {
  const auto start = from_unix_ms(1'000);
  session_collector c("s1", true, start);
  auto s = c.snapshot();
  EXPECT_EQ(s.session_id, "s1");
  EXPECT_EQ(s.started_at, start);
  EXPECT_EQ(s.updated_at, start);
  const auto before = vitals::now();
  c.record_heal_trigger("x");
  s = c.snapshot();
  EXPECT_EQ(s.started_at, start);
  EXPECT_GE(s.updated_at, before);
}

TEST(SessionCollector, SnapshotIsADeepCopy) {
  session_collector c("s1");
  c.record_tool_call("bash", 10ms, true);
  c.record_llm_interaction("plan", 1, 1, 0.5);
  c.record_phase_duration("plan", 10ms, true);
  const auto before = c.snapshot();
  const auto copy = before;
  c.record_tool_call("bash", 10ms, false);
  c.record_tool_call("edit", 10ms, true);
  c.record_llm_interaction("plan", 1, 1, 0.5);
  c.record_phase_duration("plan", 99ms, false);
  c.record_phase_transition("review");
  EXPECT_EQ(before, copy);
  EXPECT_EQ(before.find_tool("bash")->call_count, 1);
  EXPECT_EQ(before.find_tool("edit"), nullptr);
  EXPECT_EQ(before.find_llm("plan")->interaction_count, 1);
  EXPECT_EQ(before.find_phase("plan")->duration_ms, 10);
  EXPECT_EQ(before.phases.size(), 1u);
  EXPECT_NE(c.snapshot(), before);
}

TEST(SessionCollector, DisabledRecordsAndWritesNothing) {
  vitals::test::temp_dir dir;
  session_collector c("s1", false, from_unix_ms(5));
  EXPECT_FALSE(c.enabled());
  c.record_tool_call("bash", 10ms, true);
  c.record_llm_interaction("plan", 1, 1, 0.5);
  c.record_phase_duration("plan", 10ms, true);
  c.record_phase_transition("plan");
  c.record_heal_trigger("plan");
  c.record_bisect_trigger("plan");
  auto s = c.snapshot();
  EXPECT_TRUE(s.tools.empty());
  EXPECT_TRUE(s.llms.empty());
  EXPECT_TRUE(s.phases.empty());
  EXPECT_EQ(s.updated_at, from_unix_ms(5));
  EXPECT_TRUE(c.flush(dir.path()));
  EXPECT_TRUE(names_in(dir.path()).empty());

  c.set_enabled(true);
  c.record_tool_call("bash", 10ms, true);
  c.set_enabled(false);
  c.record_tool_call("bash", 10ms, true);
  EXPECT_EQ(c.snapshot().find_tool("bash")->call_count, 1);
}

TEST(SessionCollector, ConcurrentRecordsAddUpExactly) {
  session_collector c("s1");
  constexpr int threads = 4, per_thread = 2000;
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        c.record_tool_call(i % 2 ? "bash" : "edit", 3ms, i % 4 != 0);
        c.record_llm_interaction("plan", 2, 1, 0.5);
        c.record_phase_transition("code");
        c.record_heal_trigger("code");
        c.record_bisect_trigger("code");
        c.record_phase_duration("code", std::chrono::milliseconds(t), true);
        if (i % 500 == 0) (void)c.snapshot();
      }
    });
  for (auto& t : pool) t.join();
  const auto s = c.snapshot();
  constexpr std::int64_t n = threads * per_thread;
  const auto& bash = *s.find_tool("bash");
  const auto& edit = *s.find_tool("edit");
  EXPECT_EQ(bash.call_count + edit.call_count, n);
  EXPECT_EQ(bash.success_count + edit.success_count, n * 3 / 4);
  EXPECT_EQ(bash.fail_count + edit.fail_count, n / 4);
  EXPECT_EQ(bash.total_duration_ms + edit.total_duration_ms, 3 * n);
  EXPECT_EQ(*s.find_llm("plan"), (llm_metric{"plan", 2 * n, n, 3 * n, 0.5 * n, n}));
  const auto& code = *s.find_phase("code");
  EXPECT_EQ(code.transition_count, n);
  EXPECT_EQ(code.heal_trigger_count, n);
  EXPECT_EQ(code.bisect_trigger_count, n);
  EXPECT_LT(code.duration_ms, threads);  // one of the reports, whole
}

session_snapshot sample_snapshot() {
  session_collector c("run-42.a_b", true, from_unix_ms(1'764'151'200'250));
  c.record_tool_call("bash", 120ms, true);
  c.record_tool_call("bash", 80ms, false);
  c.record_llm_interaction("plan", 1200, 345, 0.0123);
  c.record_phase_transition("plan");
  c.record_phase_duration("plan", 4321ms, true);
  c.record_heal_trigger("test");
  c.record_bisect_trigger("test");
  c.record_heal_result("test", false);
  c.record_bisect_result("test", true);
  return c.snapshot();
}

TEST(SessionStore, SaveThenLoadRoundTrips) {
  vitals::test::temp_dir dir;
  const auto s = sample_snapshot();
  ASSERT_TRUE(save_session(dir.path(), s));
  const auto file = dir.path() / "run-42.a_b" / "METRICS.json";
  ASSERT_TRUE(std::filesystem::exists(file));
  auto loaded = load_session(dir.path(), "run-42.a_b");
  ASSERT_TRUE(loaded) << loaded.error().message;
  ASSERT_TRUE(loaded->has_value());
  EXPECT_EQ(**loaded, s);

  // The seed's field names, the average written out for readers.
  std::ifstream in(file);
  const auto v = boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("session_id"), "run-42.a_b");
  EXPECT_EQ(o.at("started_at"), "2025-11-26T10:00:00.250Z");
  const auto& tool = o.at("tools").at(0).as_object();
  EXPECT_EQ(tool.at("name"), "bash");
  EXPECT_EQ(tool.at("call_count"), 2);
  EXPECT_EQ(tool.at("total_duration_ms"), 200);
  EXPECT_EQ(tool.at("avg_duration_ms"), 100.0);
  EXPECT_EQ(o.at("llms").at(0).at("total_tokens"), 1545);
  EXPECT_EQ(o.at("llms").at(0).at("cost"), 0.0123);
  EXPECT_EQ(o.at("phases").at(0).at("success"), true);
  EXPECT_EQ(o.at("phases").at(1).at("bisect_trigger_count"), 1);
  EXPECT_EQ(o.at("phases").at(1).at("heal_fail_count"), 1);
  EXPECT_EQ(o.at("phases").at(1).at("bisect_success_count"), 1);

  // A later save replaces the file.
  session_collector c("run-42.a_b");
  c.record_tool_call("edit", 1ms, true);
  ASSERT_TRUE(c.flush(dir.path()));
  loaded = load_session(dir.path(), "run-42.a_b");
  ASSERT_TRUE(loaded && loaded->has_value());
  EXPECT_EQ((*loaded)->tools.size(), 1u);
  EXPECT_EQ((*loaded)->tools[0].name, "edit");
}

TEST(SessionStore, SavesLeaveNoTemporaryFiles) {
  vitals::test::temp_dir dir;
  session_collector c("s1");
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t)
    pool.emplace_back([&] {
      for (int i = 0; i < 25; ++i) {
        c.record_tool_call("bash", 1ms, true);
        EXPECT_TRUE(c.flush(dir.path()));
      }
    });
  for (auto& t : pool) t.join();
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"s1", "s1/METRICS.json"}));
  auto loaded = load_session(dir.path(), "s1");
  ASSERT_TRUE(loaded && loaded->has_value());  // whole, never torn
  EXPECT_GE((*loaded)->find_tool("bash")->call_count, 1);
}

TEST(SessionStore, BadIdsAreRejectedBeforeAnyPathIsBuilt) {
  vitals::test::temp_dir dir;
  const auto sessions = dir.path() / "sessions";
  const std::string bad[] = {"../x", ".",   "..",   "",    std::string(129, 'a'),
                             "a/b",  "a b", "/abs", "x\n", std::string("a\0b", 3)};
  for (const auto& id : bad) {
    SCOPED_TRACE(id);
    const auto st = check_session_id(id);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, errc::invalid_argument);
    session_snapshot s;
    s.session_id = id;
    EXPECT_FALSE(save_session(sessions, s));
    EXPECT_FALSE(session_collector(id).flush(sessions));
    const auto loaded = load_session(sessions, id);
    ASSERT_FALSE(loaded);
    EXPECT_EQ(loaded.error().code, errc::invalid_argument);
  }
  EXPECT_TRUE(names_in(dir.path()).empty());  // nothing created, not even `sessions`
  for (const auto& good : std::vector<std::string>{"a", "...", "A.b_c-9", std::string(128, 'z')})
    EXPECT_TRUE(check_session_id(good)) << good;
}

TEST(SessionStore, MissingFileIsNoneNotAnError) {
  vitals::test::temp_dir dir;
  auto none = load_session(dir.path() / "nowhere", "s1");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
  std::filesystem::create_directories(dir.path() / "s1");
  none = load_session(dir.path(), "s1");
  ASSERT_TRUE(none) << none.error().message;
  EXPECT_FALSE(none->has_value());
}

TEST(SessionStore, CorruptFileIsAnErrorNamingTheFileAndField) {
  vitals::test::temp_dir dir;
  const auto file = dir.path() / "s1" / "METRICS.json";
  const std::pair<const char*, const char*> cases[] = {
      {"not json", ""},
      {R"({"session_id":"s1","tools":[)", ""},
      {"[1,2]", "expected a JSON object"},
      {R"({"tools":[]})", "session_id"},
      {R"({"session_id":"s2"})", "does not match"},
      {R"({"session_id":"s1","started_at":"yesterday"})", "started_at"},
      {R"({"session_id":"s1","tools":{}})", "tools"},
      {R"({"session_id":"s1","tools":[{"name":"x","call_count":"many"}]})", "tools[0].call_count"},
      {R"({"session_id":"s1","tools":[{"name":"x"},{"name":"y","fail_count":-1}]})",
       "tools[1].fail_count"},
      {R"({"session_id":"s1","llms":[{"phase":"p","cost":"free"}]})", "llms[0].cost"},
      {R"({"session_id":"s1","phases":[{"phase":"p","success":1}]})", "phases[0].success"},
      {R"({"session_id":"s1","phases":[{"phase":7}]})", "phases[0].phase"},
  };
  for (const auto& [text, field] : cases) {
    SCOPED_TRACE(text);
    write_text(file, text);
    const auto r = load_session(dir.path(), "s1");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, errc::parse_error);
    EXPECT_NE(r.error().message.find(file.string()), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  }
}

TEST(SessionJson, ReadsWhatTheGoSeedWrites) {
  // encoding/json writes empty slices as null, a whole cost as an integer
  // and times with nanoseconds and an offset.
  const auto v = boost::json::parse(R"({"session_id":"abc",
    "started_at":"2025-11-26T11:00:00.123456789+01:00","updated_at":"2025-11-26T10:00:01Z",
    "tools":null,"llms":[{"phase":"plan","prompt_tokens":3,"completion_tokens":4,
    "total_tokens":7,"cost":0,"interaction_count":1}],"phases":[{"phase":"code",
    "duration_ms":12.0,"transition_count":1,"heal_trigger_count":0,"bisect_trigger_count":0,
    "success":false,"extra":"ignored"}]})");
  const auto s = parse_session_snapshot(v);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->started_at, *parse_rfc3339("2025-11-26T10:00:00.123Z"));
  EXPECT_EQ(s->updated_at, *parse_rfc3339("2025-11-26T10:00:01Z"));
  EXPECT_TRUE(s->tools.empty());
  EXPECT_EQ(s->llms, (std::vector<llm_metric>{{"plan", 3, 4, 7, 0.0, 1}}));
  EXPECT_EQ(s->phases, (std::vector<phase_metric>{{"code", 12, 1, 0, 0, false}}));
  EXPECT_EQ(parse_session_snapshot(to_json(*s)).value(), *s);
}

}  // namespace
