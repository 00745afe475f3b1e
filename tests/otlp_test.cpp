// The OTLP receiver: gzip, names, metrics into samples (delta, replay,
// restart, histograms, cardinality), agents' log events into usage events
// (Claude Code, Codex, Gemini CLI) and the /v1 routes over a real server.
#include <gtest/gtest.h>
#include <zlib.h>

#include <boost/asio/io_context.hpp>

#include <thread>

#include "support/child.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/otlp_decode.hpp"
#include "vitals/agent/otlp_logs.hpp"
#include "vitals/agent/otlp_metrics.hpp"
#include "vitals/agent/otlp_names.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/http/otlp.hpp"
#include "vitals/net/client.hpp"
#include "vitals/stores/memory.hpp"

using namespace vitals;
namespace pb = vitals::otlp::v1;

namespace {

std::string gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, uLong(in.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* kvs, std::string key,
          std::string value) {
  auto* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

void attr_int(google::protobuf::RepeatedPtrField<pb::KeyValue>* kvs, std::string key,
              std::int64_t value) {
  auto* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}

constexpr std::uint64_t t0 = 1'780'000'000'000'000'000ull;  // 2026-05-28, in nanoseconds
constexpr std::uint64_t sec = 1'000'000'000ull;

// One delta (or cumulative) monotonic sum point of claude_code.token.usage.
pb::ExportMetricsServiceRequest token_sum(double v, std::uint64_t start, std::uint64_t end,
                                          bool delta = true, std::string type = "input") {
  pb::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  attr(rm->mutable_resource()->mutable_attributes(), "service.name", "claude-code");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name("claude_code.token.usage");
  m->set_unit("tokens");
  auto* sum = m->mutable_sum();
  sum->set_is_monotonic(true);
  sum->set_aggregation_temporality(delta ? pb::AGGREGATION_TEMPORALITY_DELTA
                                         : pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = sum->add_data_points();
  attr(p->mutable_attributes(), "type", type);
  attr(p->mutable_attributes(), "session.id", "s-1");
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(end);
  p->set_as_double(v);
  return req;
}

const series token_series("claude_code_token_usage_tokens_total",
                          label_set{{"service_name", "claude-code"},
                                    {"session_id", "s-1"},
                                    {"type", "input"}});

struct metrics_rig {
  explicit metrics_rig(std::size_t series_per_resource = 3)
      : mapper(
            reg,
            [this](std::span<const sample> b) -> status {
              if (refuse) return error(errc::unavailable, "full");
              return store.append(b);
            },
            [this](const series& s) { return store.latest(s); },
            agent::otlp_metrics_options{.max_series_per_resource = series_per_resource}) {}

  registry reg;
  stores::memory_store store;
  bool refuse = false;
  agent::otlp_metrics_mapper mapper;
};

}  // namespace

TEST(OtlpDecode, GzipRoundTripAndLimitAfterInflating) {
  const std::string text(100000, 'x');
  auto z = agent::gunzip(gzip(text), 200000);
  ASSERT_TRUE(z) << z.error().message;
  EXPECT_EQ(*z, text);
  auto big = agent::gunzip(gzip(text), 99999);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, errc::limit_exceeded);
  auto bad = agent::gunzip(gzip(text).substr(0, 20), 200000);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, errc::parse_error);
}

TEST(OtlpDecode, JsonTakesOtlpShapesAndSkipsUnknownFields) {
  const std::string body = R"({"resourceMetrics":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"gemini-cli"}}]},
    "scopeMetrics":[{"scope":{"name":"x"},"metrics":[{"name":"gemini_cli.token.usage",
    "unit":"1","sum":{"aggregationTemporality":2,"isMonotonic":true,"dataPoints":[
    {"attributes":[{"key":"type","value":{"stringValue":"input"}}],
     "startTimeUnixNano":"1780000000000000000","timeUnixNano":"1780000001000000000",
     "asInt":"42","exemplars":[{"traceId":"5b8efff798038103d269b633813fc60c"}]}]}}]}]}]})";
  pb::ExportMetricsServiceRequest req;
  ASSERT_TRUE(agent::otlp_parse(body, agent::otlp_encoding::json, req));
  const auto& p = req.resource_metrics(0).scope_metrics(0).metrics(0).sum().data_points(0);
  EXPECT_EQ(p.as_int(), 42);
  EXPECT_EQ(p.time_unix_nano(), 1780000001000000000ull);
  EXPECT_FALSE(agent::otlp_parse("{\"resourceMetrics\":7}", agent::otlp_encoding::json, req));
  EXPECT_FALSE(agent::otlp_parse("\xff\xff\xff garbage", agent::otlp_encoding::protobuf, req));
}

TEST(OtlpNames, AsPrometheusTranslatesThem) {
  EXPECT_EQ(agent::prometheus_metric_name("claude_code.token.usage", "tokens", true, false),
            "claude_code_token_usage_tokens_total");
  EXPECT_EQ(agent::prometheus_metric_name("claude_code.cost.usage", "USD", true, false),
            "claude_code_cost_usage_USD_total");
  EXPECT_EQ(agent::prometheus_metric_name("gemini_cli.token.usage", "{token}", true, false),
            "gemini_cli_token_usage_total");
  EXPECT_EQ(agent::prometheus_metric_name("http.server.duration", "ms", false, false),
            "http_server_duration_milliseconds");
  EXPECT_EQ(agent::prometheus_metric_name("cpu.utilization", "1", false, true),
            "cpu_utilization_ratio");
  EXPECT_EQ(agent::prometheus_metric_name("net.io", "By/s", false, true),
            "net_io_bytes_per_second");
  EXPECT_EQ(agent::prometheus_metric_name("requests_total", "", true, false), "requests_total");
  EXPECT_EQ(agent::prometheus_label_name("session.id"), "session_id");
  EXPECT_EQ(agent::prometheus_label_name("9lives"), "key_9lives");
}

TEST(OtlpMetrics, DeltaSumsAccumulateAndReplaysCountOnce) {
  metrics_rig rig;
  EXPECT_EQ(rig.mapper.ingest(token_sum(100, t0, t0 + sec)).accepted, 1u);
  EXPECT_EQ(rig.mapper.ingest(token_sum(50, t0 + sec, t0 + 2 * sec)).accepted, 1u);
  auto again = rig.mapper.ingest(token_sum(50, t0 + sec, t0 + 2 * sec));  // a retried export
  EXPECT_EQ(again.accepted, 0u);
  EXPECT_EQ(again.replayed, 1u);
  EXPECT_EQ(again.rejected, 0u);
  ASSERT_TRUE(rig.store.latest(token_series));
  EXPECT_EQ(rig.store.latest(token_series)->value, 150);
  // The store refuses: nothing is remembered, so the retry counts.
  rig.refuse = true;
  auto refused = rig.mapper.ingest(token_sum(7, t0 + 2 * sec, t0 + 3 * sec));
  EXPECT_TRUE(refused.store_failed);
  rig.refuse = false;
  EXPECT_EQ(rig.mapper.ingest(token_sum(7, t0 + 2 * sec, t0 + 3 * sec)).accepted, 1u);
  EXPECT_EQ(rig.store.latest(token_series)->value, 157);
}

TEST(OtlpMetrics, ARestartedReceiverGoesOnFromTheStore) {
  registry reg;
  stores::memory_store store;
  auto mapper = [&] {
    return std::make_unique<agent::otlp_metrics_mapper>(
        reg, [&](std::span<const sample> b) { return store.append(b); },
        [&](const series& s) { return store.latest(s); });
  };
  auto first = mapper();
  first->ingest(token_sum(100, t0, t0 + sec));
  first.reset();
  auto second = mapper();  // a restart between two delta exports
  EXPECT_EQ(second->ingest(token_sum(100, t0, t0 + sec)).replayed, 1u);
  second->ingest(token_sum(30, t0 + sec, t0 + 2 * sec));
  EXPECT_EQ(store.latest(token_series)->value, 130);
}

TEST(OtlpMetrics, CumulativePassesThroughAndHistogramsExpand) {
  metrics_rig rig(100);
  rig.mapper.ingest(token_sum(500, t0, t0 + sec, false));
  rig.mapper.ingest(token_sum(20, t0 + 5 * sec, t0 + 6 * sec, false));  // the producer restarted
  EXPECT_EQ(rig.store.latest(token_series)->value, 20);

  pb::ExportMetricsServiceRequest req;
  auto* m = req.add_resource_metrics()->add_scope_metrics()->add_metrics();
  m->set_name("op.duration");
  m->set_unit("s");
  m->mutable_histogram()->set_aggregation_temporality(pb::AGGREGATION_TEMPORALITY_DELTA);
  auto* p = m->mutable_histogram()->add_data_points();
  p->set_time_unix_nano(t0 + sec);
  p->set_count(3);
  p->set_sum(2.5);
  for (double b : {0.5, 1.0}) p->add_explicit_bounds(b);
  for (std::uint64_t c : {1, 1, 1}) p->add_bucket_counts(c);
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  p->set_time_unix_nano(t0 + 2 * sec);
  EXPECT_EQ(rig.mapper.ingest(req).accepted, 1u);
  ASSERT_TRUE(rig.store.latest(series("op_duration_seconds_sum", {})));
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_bucket", label_set{{"le", "1"}}))->value,
            4);
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_count", {}))->value, 6);
  EXPECT_EQ(rig.store.latest(series("op_duration_seconds_sum", {}))->value, 5);
  p->add_bucket_counts(9);  // one too many
  auto bad = rig.mapper.ingest(req);
  EXPECT_EQ(bad.rejected, 1u);
  EXPECT_NE(bad.message.find("bucket_counts"), std::string::npos);
}

TEST(OtlpMetrics, SeriesPerResourceAreBoundedAndDropsCounted) {
  metrics_rig rig;  // at most 3 series per resource
  std::size_t rejected = 0;
  for (std::string type : {"input", "output", "cacheRead", "cacheCreation", "x"})
    rejected += rig.mapper.ingest(token_sum(1, t0, t0 + sec, true, type)).rejected;
  EXPECT_EQ(rejected, 2u);
  EXPECT_EQ(rig.store.list_series().size(), 3u);
}

namespace {

pb::ExportLogsServiceRequest log_export(std::string service,
                                        std::vector<std::pair<std::string, std::string>> text,
                                        std::vector<std::pair<std::string, std::int64_t>> ints,
                                        std::uint64_t t = t0) {
  pb::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  attr(rl->mutable_resource()->mutable_attributes(), "service.name", std::move(service));
  auto* rec = rl->add_scope_logs()->add_log_records();
  rec->set_time_unix_nano(t);
  for (auto& [k, v] : text) attr(rec->mutable_attributes(), k, v);
  for (auto& [k, v] : ints) attr_int(rec->mutable_attributes(), k, v);
  return req;
}

struct logs_rig {
  registry reg;
  agent::usage_memory usage;
  agent::ledger<agent::usage_memory> ledger{usage, reg};
  agent::otlp_logs_mapper mapper{reg, [this](std::string_view b) { return ledger.ingest(b); }};

  agent::usage_totals totals(const std::string& agent_name) {
    auto rows = usage.aggregate({.agent = agent_name, .group = agent::by_agent});
    return rows && rows->size() == 1 ? rows->front().totals : agent::usage_totals{};
  }
};

}  // namespace

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

namespace {

struct server_rig {
  metrics_rig m;
  logs_rig l;
  boost::asio::io_context io;
  http::otlp_route route{m.mapper, l.mapper, http::otlp_options{.max_body = 4096}};
  http::router<http::otlp_route> routes{route};
  http::server<http::router<http::otlp_route>> server{io.get_executor(), routes, m.reg,
                                                      http::server_options{.port = 0}};
  std::thread thread;

  server_rig() {
    EXPECT_TRUE(server.start());
    thread = std::thread([this] { io.run(); });
  }
  ~server_rig() {
    server.stop();
    thread.join();
  }
  net::client client() { return net::client("127.0.0.1", std::to_string(server.port())); }
};

}  // namespace

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

#ifdef VITALS_MONITOR_EXE

namespace {

// The value of the first exposition line that has every part, or -1.
double exposed(const std::string& text, std::vector<std::string> parts) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with('#')) continue;
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace

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
  }
  EXPECT_EQ(mon.stop(), 0);
}
#endif
