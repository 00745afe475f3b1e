// The /v1 routes over a real server: encodings, gzip, every refusal, and
// the paths and headers each agent sends.
#include "support/otlp_server.hpp"

using namespace vitals;
using namespace vitals::test::otlp;

TEST(OtlpReceiverHttp, ProtobufJsonGzipAndEveryRefusal) {
  server_rig s;
  auto c = s.client();
  std::string bin;
  token_sum(10, t0, t0 + sec).SerializeToString(&bin);
  auto r = c.post("/v1/metrics", bin, "application/x-protobuf");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(r->headers["content-type"], "application/x-protobuf");
  pb::ExportMetricsServiceResponse answer;
  EXPECT_TRUE(answer.ParseFromString(r->body));
  EXPECT_FALSE(answer.has_partial_success());

  std::string json;
  google::protobuf::util::MessageToJsonString(token_sum(5, t0 + sec, t0 + 2 * sec), &json);
  r = c.request(boost::beast::http::verb::post, "/v1/metrics", gzip(json), "application/json",
                {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.m.store.latest(token_series)->value, 15);

  // A rejected point comes back in partial_success, in JSON.
  auto neg = token_sum(-1, t0 + 2 * sec, t0 + 3 * sec);
  json.clear();
  google::protobuf::util::MessageToJsonString(neg, &json);
  r = c.post("/v1/metrics", json, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_NE(r->body.find("\"rejectedDataPoints\":\"1\""), std::string::npos) << r->body;

  r = c.post("/v1/metrics", "\x0a\xff\xff\xff\xff garbage", "application/x-protobuf");
  EXPECT_EQ(r->status, 400u);
  r = c.post("/v1/logs", "resource_logs: []", "text/plain");
  EXPECT_EQ(r->status, 415u);
  r = c.request(boost::beast::http::verb::post, "/v1/logs", bin, "application/x-protobuf",
                {{"Content-Encoding", "br"}});
  EXPECT_EQ(r->status, 415u);
  r = c.post("/v1/metrics", std::string(5000, '\0'), "application/x-protobuf");
  EXPECT_EQ(r->status, 413u);
  r = c.request(boost::beast::http::verb::post, "/v1/metrics", gzip(std::string(5000, '\0')),
                "application/x-protobuf", {{"Content-Encoding", "gzip"}});
  EXPECT_EQ(r->status, 413u);  // small on the wire, over the limit once inflated

  s.m.refuse = true;
  bin.clear();
  token_sum(1, t0 + 9 * sec, t0 + 10 * sec).SerializeToString(&bin);
  r = c.post("/v1/metrics", bin, "application/x-protobuf");
  EXPECT_EQ(r->status, 503u);
  EXPECT_EQ(r->headers["retry-after"], "5");
}

TEST(OtlpReceiverHttp, LogsAnswerInTheRequestsEncoding) {
  server_rig s;
  auto c = s.client();
  auto req = log_export("claude-code",
                        {{"event.name", "claude_code.api_request"},
                         {"session.id", "s1"},
                         {"model", "claude-sonnet-4-5"},
                         {"request_id", "r-7"}},
                        {{"input_tokens", 10}, {"output_tokens", 2}});
  std::string json;
  google::protobuf::util::MessageToJsonString(req, &json);
  auto r = c.post("/v1/logs", json, "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(r->body, "{}");
  EXPECT_EQ(s.l.totals("claude-code:s1").input, 10);
}

// What each agent sends, as its exporter sends it: Claude Code and Codex
// post protobuf or JSON to /v1/logs (Codex's endpoint used as written, gzip
// when asked); Gemini CLI's http exporters post OTLP JSON for every signal
// to the one URL configured, `/` or a signal's path.
TEST(OtlpReceiverHttp, EachAgentsPathsAndHeaders) {
  server_rig s;
  auto c = s.client();
  using boost::beast::http::verb;
  auto claude = log_export("claude-code",
                           {{"event.name", "claude_code.api_request"},
                            {"session.id", "cc-1"},
                            {"model", "claude-sonnet-4-5"},
                            {"request_id", "r-1"}},
                           {{"input_tokens", 10}, {"output_tokens", 1}});
  std::string bin;
  claude.SerializeToString(&bin);
  auto r = c.request(verb::post, "/v1/logs", gzip(bin), "application/x-protobuf",
                     {{"Content-Encoding", "gzip"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.l.totals("claude-code:cc-1").input, 10);

  auto codex = log_export("codex_cli_rs",
                          {{"event.name", "codex.sse_event"},
                           {"event.kind", "response.completed"},
                           {"conversation.id", "cx-1"},
                           {"model", "gpt-5-codex"}},
                          {{"input_token_count", 30}, {"output_token_count", 3}});
  std::string json;
  google::protobuf::util::MessageToJsonString(codex, &json);
  r = c.post("/v1/logs", json, "application/json; charset=utf-8");
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.l.totals("codex_cli_rs:cx-1").input, 30);

  // Gemini CLI: logs, metrics and traces, all JSON, all to `/`.
  auto gemini = log_export("gemini-cli",
                           {{"event.name", "gemini_cli.api_response"},
                            {"session.id", "gm-1"},
                            {"agent.name", "gem"},
                            {"model", "gemini-2.5-pro"}},
                           {{"input_token_count", 50}, {"output_token_count", 5}});
  json.clear();
  google::protobuf::util::MessageToJsonString(gemini, &json);
  r = c.post("/", json, "application/json");
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.l.totals("gem").input, 50);
  json.clear();
  google::protobuf::util::MessageToJsonString(token_sum(8, t0, t0 + sec), &json);
  r = c.post("/", json, "application/json");
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.m.store.latest(token_series)->value, 8);
  // Configured with the logs URL, its metrics arrive there: taken as metrics.
  json.clear();
  google::protobuf::util::MessageToJsonString(token_sum(2, t0 + sec, t0 + 2 * sec), &json);
  r = c.post("/v1/logs", json, "application/json");
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.m.store.latest(token_series)->value, 10);
  r = c.post("/", R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"POST"}]}]}]})",
             "application/json");
  EXPECT_EQ(r->status, 200u) << r->body;
  r = c.post("/v1/traces", R"({"resourceSpans":[{"scopeSpans":[{"spans":[{},{}]}]}]})",
             "application/json");
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_EQ(s.m.reg.counter("vitals_otlp_spans_dropped", "").value(), 3);

  // Protobuf names no signal: at `/` it is refused (without a token by the
  // guard already); JSON that names none too, naming the paths.
  r = c.post("/", bin, "application/x-protobuf");
  EXPECT_EQ(r->status, 415u);
  r = c.post("/", "{}", "application/json");
  EXPECT_EQ(r->status, 400u);
  EXPECT_NE(r->body.find("/v1/logs"), std::string::npos) << r->body;
  r = c.post("/v1/traces", "\x0a\xff\xff garbage", "application/x-protobuf");
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(c.get("/")->status, 405u);
}
