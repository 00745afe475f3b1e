// Claude Code hooks and quota readings: the hook parser (agent/claude_hooks.hpp)
// and limit_snapshot's fields (agent/usage_event.hpp) alone, then
// `POST /api/v1/hooks/claude` and `GET /api/v1/usage/limits` end to end.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <string>
#include <string_view>

#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/agent/claude_hooks.hpp"
#include "vitals/agent/session_files.hpp"
#include "vitals/http/events.hpp"
#include "vitals/http/hooks.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;

boost::json::value hook(std::string_view text) { return boost::json::parse(text); }

TEST(ClaudeHooks, PostToolUseIsAToolCallWithItsStatusFromTheResponse) {
  const auto t = *parse_rfc3339("2026-11-20T10:00:00Z");
  auto h = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","transcript_path":"/t.jsonl","cwd":"/src/app",)"
           R"("permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Bash",)"
           R"("tool_input":{"command":"make"},"tool_response":{"success":false},)"
           R"("tool_use_id":"toolu_01"})"),
      {.agent = "me", .account = "acme"}, t);
  ASSERT_TRUE(h) << h.error().message;
  EXPECT_EQ(h->name, "PostToolUse");
  ASSERT_TRUE(h->event);
  const auto& e = *h->event;
  EXPECT_EQ(e.event_type, "tool_usage");
  EXPECT_EQ(e.tool_name, "Bash");
  EXPECT_EQ(e.tool_call_id, "toolu_01");
  EXPECT_EQ(e.status, "error");
  EXPECT_EQ(e.session_id, "s1");
  EXPECT_EQ(e.workspace_id, "/src/app");
  EXPECT_EQ(e.agent_name, "me");
  EXPECT_EQ(e.account_id, "acme");
  EXPECT_EQ(e.source_system, "claude-code");
  EXPECT_EQ(e.source_channel, "hook");
  EXPECT_EQ(e.occurred_at, t);
  EXPECT_EQ(boost::json::parse(e.payload),
            hook(R"({"hook_event_name":"PostToolUse","transcript_path":"/t.jsonl",)"
                 R"("permission_mode":"default"})"))
      << "tool_input and tool_response are not kept";

  auto interrupted = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Edit",)"
           R"("tool_response":{"interrupted":true}})"),
      {}, t);
  ASSERT_TRUE(interrupted && interrupted->event);
  EXPECT_EQ(interrupted->event->status, "aborted");
  EXPECT_EQ(interrupted->event->agent_name, "claude-code");
  EXPECT_TRUE(interrupted->event->tool_call_id.starts_with("PostToolUse:"))
      << "no tool_use_id: a digest of the payload";

  auto failed = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","hook_event_name":"PostToolUseFailure","tool_name":"Read"})"), {},
      t);
  ASSERT_TRUE(failed && failed->event);
  EXPECT_EQ(failed->event->status, "error");
}

TEST(ClaudeHooks, StopEndsATurnWithoutAModelRequestAndOtherHooksGiveNoEvent) {
  const auto t = *parse_rfc3339("2026-11-20T10:00:00Z");
  const auto stop =
      hook(R"({"session_id":"s1","hook_event_name":"Stop","stop_hook_active":false})");
  auto a = agent::parse_claude_hook(stop, {}, t);
  auto b = agent::parse_claude_hook(stop, {}, t + std::chrono::seconds(5));
  ASSERT_TRUE(a && a->event && b && b->event);
  EXPECT_EQ(a->event->event_type, "turn_completed");
  EXPECT_EQ(a->event->requests, 0);
  EXPECT_EQ(agent::dedup_key(*a->event), agent::dedup_key(*b->event))
      << "the same hook resent is the same event";
  auto other = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","hook_event_name":"Stop","stop_hook_active":true})"), {}, t);
  ASSERT_TRUE(other && other->event);
  EXPECT_NE(agent::dedup_key(*a->event), agent::dedup_key(*other->event));

  auto pre = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash"})"), {}, t);
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->name, "PreToolUse");
  EXPECT_FALSE(pre->event);
}

TEST(ClaudeHooks, ATurnsEndIsNoLlmInteractionOfItsSession) {
  registry reg;
  agent::session_book book({}, reg);
  const auto t = vitals::now();
  auto tool = agent::parse_claude_hook(
      hook(R"({"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Bash"})"), {}, t);
  auto stop =
      agent::parse_claude_hook(hook(R"({"session_id":"s1","hook_event_name":"Stop"})"), {}, t);
  ASSERT_TRUE(tool && tool->event && stop && stop->event);
  book.record(*tool->event, nullptr);
  book.record(*stop->event, nullptr);
  auto s = book.find("s1");
  ASSERT_TRUE(s);
  ASSERT_EQ(s->metrics.tools.size(), 1u);
  EXPECT_EQ(s->metrics.tools[0].call_count, 1);
  EXPECT_TRUE(s->metrics.llms.empty());
}

TEST(ClaudeHooks, ErrorsNameTheField) {
  const auto t = vitals::now();
  for (auto [text, field] :
       {std::pair{R"({"session_id":"s1","hook_event_name":"Bogus"})", "hook_event_name:"},
        std::pair{R"({"session_id":"s1"})", "hook_event_name:"},
        std::pair{R"({"hook_event_name":"Stop"})", "session_id:"},
        std::pair{R"({"session_id":"s1","hook_event_name":"PostToolUse"})", "tool_name:"}}) {
    auto h = agent::parse_claude_hook(hook(text), {}, t);
    ASSERT_FALSE(h) << text;
    EXPECT_TRUE(h.error().message.starts_with(field)) << h.error().message;
  }
  EXPECT_FALSE(agent::parse_claude_hook(hook("[1]"), {}, t));
}

TEST(LimitSnapshots, TheirFieldsAreCheckedAndOnlyTheirs) {
  const auto t = vitals::now();
  auto parse = [&](std::string_view text) {
    return agent::parse_usage_event(boost::json::parse(text), t);
  };
  auto ok = parse(
      R"({"event_type":"limit_snapshot","window":"5h","used":1,"limit":8,"resets_at":"2026-11-20T15:00:00Z"})");
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->used_percent, 12.5);
  EXPECT_EQ(ok->resets_at, *parse_rfc3339("2026-11-20T15:00:00Z"));
  EXPECT_EQ(agent::to_json(*ok).at("window"), "5h");
  EXPECT_EQ(agent::to_json(*ok).at("resets_at"), "2026-11-20T15:00:00.000Z");
  for (auto [text, field] : {
           std::pair{R"({"event_type":"limit_snapshot","used":1})", "window:"},
           std::pair{R"({"event_type":"limit_snapshot","window":"5h"})", "used:"},
           std::pair{R"({"event_type":"limit_snapshot","window":"5h","used":-1})", "used:"},
           std::pair{R"({"event_type":"limit_snapshot","window":"5h","used":1e16})", "used:"},
           std::pair{R"({"event_type":"limit_snapshot","window":"5h","used_percent":20000})",
                     "used_percent:"},
           std::pair{R"({"event_type":"limit_snapshot","window":"5h","used":1,"resets_at":"soon"})",
                     "resets_at:"},
           std::pair{R"({"message_id":"m1","window":"5h"})", "window:"},
           std::pair{R"({"message_id":"m1","used_percent":5})", "used_percent:"},
       }) {
    auto e = parse(text);
    ASSERT_FALSE(e) << text;
    EXPECT_TRUE(e.error().message.starts_with(field)) << e.error().message;
  }
}

std::string post_hook(net::client& c, std::string_view target, std::string_view body,
                      unsigned expect_status = 200) {
  auto r = c.post(target, std::string(body), "application/json");
  EXPECT_TRUE(r);
  if (!r) return {};
  EXPECT_EQ(r->status, expect_status) << body << " -> " << r->body;
  return r->body;
}

TEST(HttpHooks, ClaudeHooksBecomeToolAndTurnEventsStoredOnce) {
  http_fixture f;
  auto c = f.client();
  const std::string at = "/api/v1/hooks/claude?agent=hookbot&account=acme";
  const std::string bash =
      R"({"session_id":"s1","cwd":"/src","hook_event_name":"PostToolUse","tool_name":"Bash",)"
      R"("tool_input":{"command":"make"},"tool_response":{"success":false},"tool_use_id":"toolu_1"})";
  auto j = boost::json::parse(post_hook(c, at, bash));
  EXPECT_EQ(j.at("hook_event_name"), "PostToolUse");
  EXPECT_EQ(j.at("accepted").as_int64(), 1);
  j = boost::json::parse(post_hook(c, at, bash));  // curl --retry
  EXPECT_EQ(j.at("accepted").as_int64(), 0);
  EXPECT_EQ(j.at("duplicates").as_int64(), 1);
  post_hook(c, at,
            R"({"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Edit",)"
            R"("tool_response":{"interrupted":true}})");
  post_hook(c, at,
            R"({"session_id":"s1","hook_event_name":"PostToolUseFailure","tool_name":"Read",)"
            R"("tool_use_id":"toolu_3","error":"no such file"})");
  const std::string stop =
      R"({"session_id":"s1","hook_event_name":"Stop","stop_hook_active":false})";
  post_hook(c, at, stop);
  j = boost::json::parse(post_hook(c, at, stop));
  EXPECT_EQ(j.at("duplicates").as_int64(), 1);
  post_hook(c, at, R"({"session_id":"s1","hook_event_name":"SubagentStop","agent_id":"x1"})");
  j = boost::json::parse(
      post_hook(c, at, R"({"session_id":"s1","hook_event_name":"PreToolUse","tool_name":"Bash"})"));
  EXPECT_EQ(j.at("ignored"), true);

  // Three tool calls (Bash failed, Edit interrupted: two not ok), two turn ends.
  auto r = c.get("/api/v1/usage/daily?by=agent&from=now-1h&agent=hookbot");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  const auto totals = json_of(*r).at("totals");
  EXPECT_EQ(totals.at("events").as_int64(), 5) << totals;
  EXPECT_EQ(totals.at("tool_calls").as_int64(), 3);
  EXPECT_EQ(totals.at("errors").as_int64(), 2);
  EXPECT_EQ(totals.at("requests").as_int64(), 0) << "a turn's end is no model request";

  EXPECT_EQ(f.counter("vitals_agent_hooks", "hook", "PostToolUse"), 3);
  EXPECT_EQ(f.counter("vitals_agent_hooks", "hook", "PostToolUseFailure"), 1);
  EXPECT_EQ(f.counter("vitals_agent_hooks", "hook", "Stop"), 2);
  EXPECT_EQ(f.counter("vitals_agent_hooks", "hook", "SubagentStop"), 1);
  EXPECT_EQ(f.counter("vitals_agent_hooks", "hook", "PreToolUse"), 1);
}

TEST(HttpHooks, TheAgentFromAHeaderAndErrorsNamingTheFieldOrParameter) {
  http_fixture f;
  auto c = f.client();
  auto r = c.request(boost::beast::http::verb::post, "/api/v1/hooks/claude",
                     R"({"session_id":"s2","hook_event_name":"Stop"})", "application/json",
                     {{"X-Vitals-Agent", "from-header"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  r = c.get("/api/v1/usage/daily?by=agent&from=now-1h&agent=from-header");
  ASSERT_TRUE(r);
  EXPECT_EQ(json_of(*r).at("totals").at("events").as_int64(), 1) << r->body;

  auto j = boost::json::parse(post_hook(c, "/api/v1/hooks/claude",
                                        R"({"session_id":"s2","hook_event_name":"Bogus"})", 400));
  EXPECT_EQ(j.at("field"), "hook_event_name");
  j = boost::json::parse(
      post_hook(c, "/api/v1/hooks/claude", R"({"hook_event_name":"Stop"})", 400));
  EXPECT_EQ(j.at("field"), "session_id");
  j = boost::json::parse(post_hook(c, "/api/v1/hooks/claude?user=x", "{}", 400));
  EXPECT_EQ(j.at("parameter"), "user");
  post_hook(c, "/api/v1/hooks/claude", "{not json", 400);
  // As an attacker sends them: NUL in a field, huge text, NUL in a parameter.
  j = boost::json::parse(post_hook(
      c, "/api/v1/hooks/claude",
      R"({"session_id":"s2","hook_event_name":"PostToolUse","tool_name":"a\u0000b"})", 400));
  EXPECT_EQ(j.at("field"), "tool_name");
  j = boost::json::parse(post_hook(
      c, "/api/v1/hooks/claude",
      R"({"session_id":")" + std::string(600, 'x') + R"(","hook_event_name":"Stop"})", 400));
  EXPECT_EQ(j.at("field"), "session_id");
  j = boost::json::parse(post_hook(c, "/api/v1/hooks/claude?account=a%00b",
                                   R"({"session_id":"s2","hook_event_name":"Stop"})", 400));
  EXPECT_EQ(j.at("parameter"), "account");
  j = boost::json::parse(post_hook(c, "/api/v1/hooks/claude?agent=" + std::string(600, 'x'),
                                   R"({"session_id":"s2","hook_event_name":"Stop"})", 400));
  EXPECT_EQ(j.at("parameter"), "agent");
  EXPECT_EQ(f.counter("vitals_agent_hooks"), 1) << "only hooks that parse are counted";
}

TEST(HttpHooks, LimitsAnswerTheNewestReadingPerAccountAndWindow) {
  http_fixture f;
  auto c = f.client();
  const std::string snap = R"({"event_type":"limit_snapshot","provider_id":"anthropic",)";
  auto r =
      c.post("/api/v1/events",
             snap + R"("account_id":"acme","window":"5h","used":50,"limit":200,)" +
                 R"("occurred_at":"2026-11-20T10:00:00Z"})" + "\n" + snap +
                 R"("account_id":"acme","window":"5h","used":150,"limit":200,)" +
                 R"("occurred_at":"2026-11-20T12:00:00Z","resets_at":"2026-11-20T14:00:00Z"})" +
                 "\n" + snap + R"("account_id":"acme","window":"weekly","used_percent":31.5,)" +
                 R"("occurred_at":"2026-11-20T11:00:00Z"})" + "\n",
             "application/x-ndjson");
  ASSERT_TRUE(r);
  ASSERT_EQ(json_of(*r).at("accepted").as_int64(), 3) << r->body;

  r = c.get("/api/v1/usage/limits?account=acme&window=5h");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200u) << r->body;
  auto limits = json_of(*r).at("limits").as_array();
  ASSERT_EQ(limits.size(), 1u);
  EXPECT_EQ(limits[0],
            boost::json::parse(
                R"({"account":"acme","window":"5h","at":"2026-11-20T12:00:00.000Z",)"
                R"("provider":"anthropic","agent":"unknown","source":"","used":150,"limit":200,)"
                R"("used_percent":75,"resets_at":"2026-11-20T14:00:00.000Z"})"));
  r = c.get("/api/v1/usage/limits");
  ASSERT_TRUE(r);
  limits = json_of(*r).at("limits").as_array();
  ASSERT_EQ(limits.size(), 2u);
  EXPECT_EQ(limits[1].at("window"), "weekly");
  EXPECT_EQ(limits[1].at("used_percent").to_number<double>(), 31.5);
  EXPECT_TRUE(limits[1].at("used").is_null());
  EXPECT_TRUE(limits[1].at("resets_at").is_null());

  r = c.get("/api/v1/usage/limits?account=%FF");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(json_of(*r).at("parameter"), "account");
  r = c.post("/api/v1/events", snap + R"("account_id":"acme","window":"5h","used":1e400})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u) << r->body;
  r = c.get("/api/v1/usage/limits?acount=acme");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(json_of(*r).at("parameter"), "acount");
}

}  // namespace
