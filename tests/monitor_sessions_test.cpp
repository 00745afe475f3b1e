// Agent sessions (agent/session_files.hpp): usage events feed one session
// collector per session; METRICS.json files are named safely, written
// atomically, bounded and reloaded; and, against the running agent_monitor,
// POSTed usage events show in /api/v1/sessions and in DATA/sessions.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "vitals/agent/session_files.hpp"
#include "vitals/http/sessions.hpp"
#include "vitals/net/client.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;
using test::temp_dir;
namespace fs = std::filesystem;

agent::usage_event tool(std::string session, std::string name, bool ok, double ms) {
  agent::usage_event e;
  e.session_id = std::move(session);
  e.event_type = "tool_usage";
  e.tool_name = std::move(name);
  e.status = ok ? "ok" : "error";
  e.duration_ms = ms;
  return e;
}

agent::usage_event llm(std::string session, std::int64_t in, std::int64_t out, double cost,
                       std::string payload = {}) {
  agent::usage_event e;
  e.session_id = std::move(session);
  e.input_tokens = in;
  e.output_tokens = out;
  e.cost_usd = cost;
  e.payload = std::move(payload);
  return e;
}

TEST(SessionFiles, NamesAreSafeIdsOrAHashOfTheId) {
  EXPECT_EQ(agent::session_file_name("s-1.a_b"), "s-1.a_b");
  for (const std::string& hostile :
       std::vector<std::string>{"../../etc", "a/b", "..", ".", "", std::string(129, 'a'), "x\ny"}) {
    const auto name = agent::session_file_name(hostile);
    EXPECT_TRUE(is_safe_id(name)) << hostile;
    EXPECT_TRUE(name.starts_with("u-")) << hostile;
    EXPECT_EQ(name.size(), 38u);
    EXPECT_EQ(name, agent::session_file_name(hostile));  // stable
  }
  EXPECT_NE(agent::session_file_name("a/b"), agent::session_file_name("a/c"));
}

TEST(SessionFiles, UsageEventsFeedTheSessionsMetricsJson) {
  temp_dir dir;
  registry reg;
  agent::session_book book({.dir = dir.path(), .durable = false}, reg);
  book.record(tool("s1", "bash", true, 100), nullptr);
  book.record(tool("s1", "bash", false, 50), nullptr);
  const auto first = llm("s1", 10, 5, 0.5, R"({"phase":"plan"})");
  book.record(first, nullptr);
  auto fuller = first;  // an enrichment: adds its tokens and cost, not a call
  fuller.output_tokens = 8;
  fuller.cost_usd = 0.75;
  book.record(fuller, &first);
  book.record(llm("s1", 1, 1, 0), nullptr);  // no phase: the default
  book.record(llm("", 1, 1, 0), nullptr);    // no session: not kept
  EXPECT_EQ(book.flush(), 0u);
  EXPECT_EQ(book.size(), 1u);

  auto loaded = agent::load_session(dir.path(), "s1");
  ASSERT_TRUE(loaded);
  ASSERT_TRUE(*loaded);
  const auto& s = **loaded;
  ASSERT_NE(s.find_tool("bash"), nullptr);
  EXPECT_EQ(s.find_tool("bash")->call_count, 2);
  EXPECT_EQ(s.find_tool("bash")->fail_count, 1);
  EXPECT_EQ(s.find_tool("bash")->total_duration_ms, 150);
  ASSERT_NE(s.find_llm("plan"), nullptr);
  EXPECT_EQ(s.find_llm("plan")->interaction_count, 1);
  EXPECT_EQ(s.find_llm("plan")->prompt_tokens, 10);
  EXPECT_EQ(s.find_llm("plan")->completion_tokens, 8);
  EXPECT_DOUBLE_EQ(s.find_llm("plan")->cost, 0.75);
  ASSERT_NE(s.find_llm("default"), nullptr);
}

TEST(SessionFiles, HostileIdsAreHashedAndNothingIsWrittenOutsideTheDirectory) {
  temp_dir dir;
  const auto sessions = dir.path() / "sessions";
  registry reg;
  agent::session_book book({.dir = sessions, .durable = false}, reg);
  book.record(tool("../escape", "bash", true, 1), nullptr);
  EXPECT_EQ(book.flush(), 0u);
  EXPECT_FALSE(fs::exists(dir.path() / "escape"));
  const auto name = agent::session_file_name("../escape");
  ASSERT_TRUE(fs::exists(sessions / name / "METRICS.json"));
  auto found = book.find("../escape");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->agent_session_id, "../escape");
  EXPECT_EQ(found->metrics.session_id, name);
  std::ifstream in(sessions / name / "METRICS.json");
  const auto json = boost::json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
  EXPECT_EQ(json.at("agent_session_id").as_string(), "../escape");
}

TEST(SessionFiles, BoundedInMemoryReloadedAfterARestartAndPruned) {
  temp_dir dir;
  {
    registry reg;
    agent::session_book book({.dir = dir.path(), .max_sessions = 2, .durable = false}, reg);
    for (auto id : {"a", "b", "c"}) book.record(tool(id, "t", true, 1), nullptr);
    EXPECT_EQ(book.size(), 2u);
    EXPECT_EQ(test::family_total(reg, "vitals_agent_sessions_evicted"), 1);
    EXPECT_EQ(book.flush(), 0u);
    EXPECT_TRUE(fs::exists(dir.path() / "a" / "METRICS.json"));  // the evicted one too
    book.record(tool("a", "t", true, 1), nullptr);               // goes on from its file
    ASSERT_TRUE(book.find("a"));
    EXPECT_EQ(book.find("a")->metrics.find_tool("t")->call_count, 2);
    EXPECT_EQ(book.flush(), 0u);
  }
  registry reg;
  agent::session_book again({.dir = dir.path(), .max_sessions = 10, .durable = false}, reg);
  again.load();
  EXPECT_EQ(again.size(), 3u);
  EXPECT_EQ(again.find("a")->metrics.find_tool("t")->call_count, 2);
  // Nothing in memory is pruned; a file not in memory and old enough is.
  registry reg2;
  agent::session_book cold({.dir = dir.path(), .durable = false}, reg2);
  EXPECT_EQ(cold.prune_before(now() - 1h), 0);
  EXPECT_EQ(cold.prune_before(now() + 1h), 3);
  EXPECT_FALSE(fs::exists(dir.path() / "a"));
}

#if defined(VITALS_MONITOR_EXE)

using test::child;
using test::eventually;

TEST(MonitorSessions, PostedUsageEventsAreServedAndWrittenAsMetricsJson) {
  temp_dir dir;
  child mon({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms", "--data",
             dir.path().string()});
  const auto port = mon.wait_for(R"(on http://127\.0\.0\.1:(\d+)/)");
  ASSERT_TRUE(port) << mon.output();
  net::client c("127.0.0.1", *port);
  auto r = c.post(
      "/api/v1/events",
      R"({"session_id":"sess-1","event_type":"tool_usage","tool_name":"bash","tool_call_id":"t1","duration_ms":40}
{"session_id":"sess-1","message_id":"m1","model_raw":"gpt-5","input_tokens":100,"output_tokens":20,"cost_usd":0.5,"payload":{"phase":"review"}}
{"session_id":"../../x","message_id":"m2","input_tokens":1,"output_tokens":1}
)",
      "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(boost::json::parse(r->body).at("accepted").as_int64(), 3);

  auto one = c.get("/api/v1/sessions/sess-1");
  ASSERT_TRUE(one);
  ASSERT_EQ(one->status, 200u) << one->body;
  const auto s = boost::json::parse(one->body);
  EXPECT_EQ(s.at("session_id").as_string(), "sess-1");
  EXPECT_EQ(s.at("tools").at(0).at("name").as_string(), "bash");
  EXPECT_EQ(s.at("llms").at(0).at("phase").as_string(), "review");
  EXPECT_EQ(s.at("llms").at(0).at("prompt_tokens").as_int64(), 100);

  auto list = c.get("/api/v1/sessions");
  ASSERT_TRUE(list);
  ASSERT_EQ(list->status, 200u);
  const auto sessions = boost::json::parse(list->body).at("sessions").as_array();
  ASSERT_EQ(sessions.size(), 2u) << list->body;
  auto hostile = c.get("/api/v1/sessions/" + net::url_encode("../../x"));
  ASSERT_TRUE(hostile);
  EXPECT_EQ(hostile->status, 200u) << hostile->body;

  const auto file = dir.path() / "sessions" / "sess-1" / "METRICS.json";
  const auto hashed =
      dir.path() / "sessions" / agent::session_file_name("../../x") / "METRICS.json";
  EXPECT_TRUE(eventually([&] { return fs::exists(file) && fs::exists(hashed); }, 15s));
  EXPECT_FALSE(fs::exists(dir.path() / "x"));
  EXPECT_FALSE(fs::exists(dir.path().parent_path() / "x"));
  auto loaded = agent::load_session(dir.path() / "sessions", "sess-1");
  ASSERT_TRUE(loaded && *loaded);
  EXPECT_EQ((*loaded)->find_tool("bash")->call_count, 1);

  for (const auto& [target, param] :
       std::vector<std::pair<std::string, std::string>>{{"/api/v1/sessions?limit=0", "limit"},
                                                        {"/api/v1/sessions?limit=1001", "limit"},
                                                        {"/api/v1/sessions?limit=x", "limit"},
                                                        {"/api/v1/sessions?other=1", "other"},
                                                        {"/api/v1/sessions/%FF%FE", "id"},
                                                        {"/api/v1/sessions/%zz", "id"}}) {
    auto bad = c.get(target);
    ASSERT_TRUE(bad) << target;
    EXPECT_EQ(bad->status, 400u) << target << " " << bad->body;
    EXPECT_EQ(boost::json::parse(bad->body).at("parameter").as_string(), param) << target;
  }
  auto missing = c.get("/api/v1/sessions/nobody");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404u);
  EXPECT_EQ(mon.stop(SIGTERM), 0) << mon.output();
}

#endif

}  // namespace
