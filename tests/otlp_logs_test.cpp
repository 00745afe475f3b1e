// Agents' OTLP log events into usage events: Claude Code, Codex and Gemini
// CLI token semantics, tool results, dedup and rejections.
#include "support/otlp_rigs.hpp"

using namespace vitals;
using namespace vitals::test::otlp;

TEST(OtlpLogs, ClaudeCodeApiRequestKeepsItsCostAndCountsOnce) {
  logs_rig rig;
  auto req = log_export("claude-code",
                        {{"event.name", "api_request"},
                         {"session.id", "abcdef1234"},
                         {"model", "claude-sonnet-4-5"},
                         {"input_tokens", "120"},
                         {"output_tokens", "30"},
                         {"cache_read_tokens", "1000"},
                         {"cache_creation_tokens", "200"},
                         {"cost_usd", "0.0125"},
                         {"request_id", "req_1"}},
                        {});
  req.mutable_resource_logs(0)
      ->mutable_scope_logs(0)
      ->mutable_log_records(0)
      ->mutable_body()
      ->set_string_value("claude_code.api_request");
  auto r = rig.mapper.ingest(req);
  EXPECT_EQ(r.accepted, 1u) << r.message;
  EXPECT_EQ(rig.mapper.ingest(req).duplicates, 1u);  // a retried export
  const auto t = rig.totals("claude-code:abcdef12");
  EXPECT_EQ(t.input, 120);
  EXPECT_EQ(t.output, 30);
  EXPECT_EQ(t.cache_read, 1000);
  EXPECT_EQ(t.cache_write, 200);
  EXPECT_DOUBLE_EQ(t.cost_usd, 0.0125);
  EXPECT_EQ(t.requests, 1);
}

TEST(OtlpLogs, CodexInputExcludesCachedAndToolCountIsNotAdded) {
  logs_rig rig;
  auto req = log_export("codex_cli_rs",
                        {{"event.name", "codex.sse_event"},
                         {"event.kind", "response.completed"},
                         {"conversation.id", "conv-9"},
                         {"model", "gpt-5-codex"}},
                        {{"input_token_count", 1000},
                         {"cached_token_count", 800},
                         {"output_token_count", 50},
                         {"reasoning_token_count", 20},
                         {"tool_token_count", 1050}});
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  auto other = log_export(
      "codex_cli_rs", {{"event.name", "codex.sse_event"}, {"event.kind", "response.created"}}, {});
  EXPECT_EQ(rig.mapper.ingest(other).ignored, 1u);
  const auto t = rig.totals("codex_cli_rs:conv-9");
  EXPECT_EQ(t.input, 200);
  EXPECT_EQ(t.cache_read, 800);
  EXPECT_EQ(t.output, 50);
  EXPECT_EQ(t.reasoning, 20);
  EXPECT_EQ(t.total, 1050);
  EXPECT_GT(t.cost_usd, 0);  // priced by the ledger
}

TEST(OtlpLogs, GeminiThoughtsAreReasoningAndToolCallsAreToolEvents) {
  logs_rig rig;
  auto req = log_export("gemini-cli",
                        {{"event.name", "gemini_cli.api_response"},
                         {"session.id", "g-session"},
                         {"agent.name", "gemini-reviewer"},
                         {"model", "gemini-2.5-pro"}},
                        {{"input_token_count", 500},
                         {"cached_content_token_count", 100},
                         {"output_token_count", 40},
                         {"thoughts_token_count", 60},
                         {"total_token_count", 600}});
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  auto tool = log_export("gemini-cli",
                         {{"event.name", "gemini_cli.tool_call"},
                          {"session.id", "g-session"},
                          {"agent.name", "gemini-reviewer"},
                          {"function_name", "read_file"},
                          {"success", "false"}},
                         {{"duration_ms", 12}}, t0 + sec);
  EXPECT_EQ(rig.mapper.ingest(tool).accepted, 1u);
  const auto t = rig.totals("gemini-reviewer");
  EXPECT_EQ(t.input, 400);
  EXPECT_EQ(t.cache_read, 100);
  EXPECT_EQ(t.output, 100);  // thoughts are part of output in vitals
  EXPECT_EQ(t.reasoning, 60);
  EXPECT_EQ(t.requests, 1);
  EXPECT_EQ(t.tool_calls, 1);
  EXPECT_EQ(t.errors, 1);
}

TEST(OtlpLogs, BadRecordsAreRejectedWithAReason) {
  logs_rig rig;
  auto req = log_export(
      "claude-code", {{"event.name", "claude_code.api_request"}, {"model", std::string(600, 'm')}},
      {{"input_tokens", 5}});
  auto r = rig.mapper.ingest(req);
  EXPECT_EQ(r.rejected, 1u);
  EXPECT_NE(r.message.find("model_raw"), std::string::npos) << r.message;
  auto future = log_export("claude-code", {{"event.name", "claude_code.api_request"}}, {}, t0 * 2);
  EXPECT_EQ(rig.mapper.ingest(future).rejected, 1u);
}

TEST(OtlpLogs, EventsBuiltInCodeAreCheckedAsParsedOnesAre) {
  logs_rig rig;
  agent::usage_event good;
  good.source_system = "codex";
  good.source_channel = "otel";
  good.agent_name = "a";
  good.input_tokens = 5;
  good.output_tokens = 2;
  auto nul = good;
  nul.agent_name = std::string("a\0b", 3);
  auto huge = good;
  huge.input_tokens = agent::max_tokens + 1;
  auto channel = good;
  channel.source_channel = "carrier-pigeon";
  auto r = rig.ledger.ingest_events({good, nul, huge, channel});
  EXPECT_EQ(r.accepted, 1u);
  ASSERT_EQ(r.rejected.size(), 3u);
  EXPECT_EQ(r.rejected[0].line, 2u);
  EXPECT_NE(r.rejected[0].error.find("agent_name"), std::string::npos) << r.rejected[0].error;
  EXPECT_NE(r.rejected[1].error.find("input_tokens"), std::string::npos) << r.rejected[1].error;
  EXPECT_NE(r.rejected[2].error.find("source_channel"), std::string::npos) << r.rejected[2].error;
  EXPECT_EQ(rig.totals("a").total, 7);  // derived from the parts, as for JSON
}
