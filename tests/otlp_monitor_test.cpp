// agent_monitor as agents reach it: both ports, and the OpenTelemetry JS
// SDK sending each agent's shape in both encodings and temporalities.
#include <cstdlib>

#include "support/child.hpp"
#include "support/otlp.hpp"
#include "vitals/core/time.hpp"
#include "vitals/net/client.hpp"

using namespace vitals;
using namespace vitals::test::otlp;

#ifdef VITALS_MONITOR_EXE

TEST(OtlpMonitor, AgentsReachTheMonitorOnBothPorts) {
  vitals::test::child mon({VITALS_MONITOR_EXE, "--memory-only", "--listen", "127.0.0.1:0",
                           "--otlp-listen", "127.0.0.1:0", "--interval", "1s"});
  const auto main_port = mon.wait_for(R"(API on http://127\.0\.0\.1:(\d+)/)");
  const auto otlp_port = mon.wait_for(R"(OTLP/HTTP on http://127\.0\.0\.1:(\d+)/)");
  ASSERT_TRUE(main_port && otlp_port) << mon.output();
  net::client otlp_client("127.0.0.1", *otlp_port), main_client("127.0.0.1", *main_port);

  auto logs = log_export("claude-code",
                         {{"event.name", "claude_code.api_request"},
                          {"session.id", "mon12345xyz"},
                          {"model", "claude-sonnet-4-5"},
                          {"request_id", "req-mon"},
                          {"cost_usd", "0.5"}},
                         {{"input_tokens", 120}, {"output_tokens", 7}});
  std::string bin;
  logs.SerializeToString(&bin);
  auto r = otlp_client.post("/v1/logs", bin, "application/x-protobuf");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  r = otlp_client.post("/v1/logs", bin, "application/x-protobuf");  // retried: counted once
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(otlp_client.get("/api/v1/usage/agents")->status, 404u);  // only OTLP there

  auto now_ns = std::uint64_t(to_unix_ms(vitals::now())) * 1000000ull;
  std::string json;
  google::protobuf::util::MessageToJsonString(token_sum(40, now_ns - 2 * sec, now_ns - sec), &json);
  EXPECT_EQ(main_client.post("/v1/metrics", json, "application/json")->status, 200u);
  json.clear();
  google::protobuf::util::MessageToJsonString(token_sum(2, now_ns - sec, now_ns), &json);
  EXPECT_EQ(main_client.post("/v1/metrics", json, "application/json")->status, 200u);

  const auto text = main_client.get("/metrics")->body;
  EXPECT_EQ(exposed(text, {"vitals_agent_tokens_total{", "claude-code:mon12345", "type=\"input\""}),
            120);
  EXPECT_EQ(exposed(text, {"vitals_agent_cost_usd_total{", "claude-code:mon12345"}), 0.5);
  EXPECT_EQ(exposed(text, {"claude_code_token_usage_tokens_total{", "session_id=\"s-1\""}), 42);
  EXPECT_EQ(mon.stop(), 0);
}
#endif

#if defined(VITALS_MONITOR_EXE) && defined(VITALS_SOURCE_DIR)
// The OpenTelemetry JS SDK (tests/otlp_js, installed by scripts/test) sends
// each agent's shape in both encodings and both temporalities; the monitor's
// totals equal what was sent.
TEST(OtlpMonitor, TheOpenTelemetryJsSdkSendsEachAgentsShape) {
  const std::string dir = std::string(VITALS_SOURCE_DIR) + "/tests/otlp_js";
  if (std::system("node --version >/dev/null 2>&1") != 0 ||
      std::system(("test -d " + dir + "/node_modules/@opentelemetry/sdk-logs").c_str()) != 0)
    GTEST_SKIP() << "node or tests/otlp_js/node_modules missing (scripts/test runs npm ci)";
  vitals::test::child mon(
      {VITALS_MONITOR_EXE, "--memory-only", "--listen", "127.0.0.1:0", "--interval", "1s"});
  const auto port = mon.wait_for(R"(API on http://127\.0\.0\.1:(\d+)/)");
  ASSERT_TRUE(port) << mon.output();
  const std::pair<const char*, const char*> runs[] = {
      {"json", "delta"}, {"proto", "cumulative"}, {"proto", "delta"}, {"json", "cumulative"}};
  for (const auto& [encoding, temporality] : runs) {
    const std::string suffix = std::string(encoding).substr(0, 1) + temporality[0];
    const auto cmd = "node " + dir + "/emit.js http://127.0.0.1:" + *port + " " + encoding + " " +
                     temporality + " " + suffix;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  net::client c("127.0.0.1", *port);
  const auto text = c.get("/metrics")->body;
  for (const auto& [encoding, temporality] : runs) {
    const std::string s = std::string(encoding).substr(0, 1) + temporality[0];
    SCOPED_TRACE(s);
    auto tokens = [&](const std::string& agent, const std::string& type) {
      return exposed(
          text, {"vitals_agent_tokens_total{", "agent=\"" + agent + "\"", "type=\"" + type + "\""});
    };
    const std::string claude_agent = "claude-code:sess-" + s;
    EXPECT_EQ(tokens(claude_agent, "input"), 120);
    EXPECT_EQ(tokens(claude_agent, "output"), 20);
    EXPECT_EQ(tokens(claude_agent, "cache_read"), 2000);
    EXPECT_EQ(tokens(claude_agent, "cache_write"), 100);
    EXPECT_DOUBLE_EQ(
        exposed(text, {"vitals_agent_cost_usd_total{", "agent=\"" + claude_agent + "\""}), 0.375);
    EXPECT_EQ(exposed(text, {"vitals_agent_tool_calls_total{", "agent=\"" + claude_agent + "\"",
                             "tool=\"Read\""}),
              1);
    const std::string codex = "codex-cli:codex-" + s;
    EXPECT_EQ(tokens(codex, "input"), 400);
    EXPECT_EQ(tokens(codex, "cache_read"), 600);
    EXPECT_EQ(tokens(codex, "output"), 80);
    EXPECT_EQ(tokens(codex, "reasoning"), 30);
    const std::string gemini = "gemini-" + s;
    EXPECT_EQ(tokens(gemini, "input"), 300);
    EXPECT_EQ(tokens(gemini, "cache_read"), 200);
    EXPECT_EQ(tokens(gemini, "output"), 100);
    EXPECT_EQ(tokens(gemini, "reasoning"), 60);
    EXPECT_EQ(exposed(text, {"claude_code_token_usage_tokens_total{", "sess-" + s + "\"",
                             "type=\"input\""}),
              120);
    EXPECT_DOUBLE_EQ(
        exposed(text, {"claude_code_cost_usage_USD_total{", "session_id=\"sess-" + s + "\""}),
        0.375);
    EXPECT_EQ(exposed(text, {"gemini_cli_token_usage_total{", "gemini-" + s + "\""}), 500);
    // An exponential histogram (900, 3000, then 450 ms): count and sum, and
    // with cumulative temporality buckets at powers of two.
    const std::string latency = "gemini_cli_api_request_latency_milliseconds";
    EXPECT_EQ(exposed(text, {latency + "_count{", "gemini-" + s + "\""}), 3);
    EXPECT_EQ(exposed(text, {latency + "_sum{", "gemini-" + s + "\""}), 4350);
    if (std::string_view(temporality) == "delta") continue;
    EXPECT_EQ(exposed(text, {latency + "_bucket{", "gemini-" + s + "\"", "le=\"512\""}), 1);
    EXPECT_EQ(exposed(text, {latency + "_bucket{", "gemini-" + s + "\"", "le=\"1024\""}), 2);
    EXPECT_EQ(exposed(text, {latency + "_bucket{", "gemini-" + s + "\"", "le=\"4096\""}), 3);
  }
  EXPECT_EQ(mon.stop(), 0);
}
#endif
