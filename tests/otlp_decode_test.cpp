// OTLP bodies: gzip under a limit, OTLP JSON and protobuf decoding, media
// types, and OTLP names as Prometheus translates them.
#include "support/otlp.hpp"
#include "vitals/agent/otlp_json.hpp"
#include "vitals/agent/otlp_names.hpp"

using namespace vitals;
using namespace vitals::test::otlp;

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

TEST(OtlpDecode, MediaTypesAndTheSignalAJsonBodyNames) {
  using agent::otlp_encoding;
  EXPECT_EQ(agent::otlp_encoding_of("application/x-protobuf"), otlp_encoding::protobuf);
  EXPECT_EQ(agent::otlp_encoding_of("application/protobuf"), otlp_encoding::protobuf);
  EXPECT_EQ(agent::otlp_encoding_of("Application/JSON; charset=utf-8"), otlp_encoding::json);
  EXPECT_FALSE(agent::otlp_encoding_of("text/plain"));
  EXPECT_FALSE(agent::otlp_encoding_of("application/grpc"));
  using agent::otlp_signal;
  EXPECT_EQ(agent::otlp_json_signal(R"({"resourceLogs":[]})"), otlp_signal::logs);
  EXPECT_EQ(agent::otlp_json_signal(" {\n \"resource_metrics\": []}"), otlp_signal::metrics);
  EXPECT_EQ(agent::otlp_json_signal(R"({"resourceSpans":[]})"), otlp_signal::traces);
  EXPECT_FALSE(agent::otlp_json_signal("{}"));
  EXPECT_FALSE(agent::otlp_json_signal(R"(["resourceLogs"])"));
  EXPECT_FALSE(agent::otlp_json_signal(R"({"resourceLogsX":[]})"));
  EXPECT_EQ(agent::otlp_signal_of_path("/v1/traces"), otlp_signal::traces);
  EXPECT_FALSE(agent::otlp_signal_of_path("/v1/logs/"));
}

TEST(OtlpDecode, SpansAreCountedInBothEncodings) {
  const std::string json = R"({"resourceSpans":[
    {"scopeSpans":[{"spans":[{"name":"a"},{"name":"b"}]},{"spans":[{"name":"c"}]}]},
    {"scope_spans":[{"spans":[{"name":"d"}]}]}]})";
  auto n = agent::otlp_count_spans(json, agent::otlp_encoding::json);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 4u);
  // resource_spans (1) > scope_spans (2) > spans (2), as the specification numbers them.
  google::protobuf::UnknownFieldSet scope, resource, top;
  scope.AddLengthDelimited(1, "scope");
  for (int i = 0; i < 3; ++i) scope.AddLengthDelimited(2, "span");
  std::string bytes;
  scope.SerializeToString(&bytes);
  resource.AddLengthDelimited(2, bytes);
  bytes.clear();
  resource.SerializeToString(&bytes);
  top.AddLengthDelimited(1, bytes);
  bytes.clear();
  top.SerializeToString(&bytes);
  n = agent::otlp_count_spans(bytes, agent::otlp_encoding::protobuf);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 3u);
  EXPECT_FALSE(agent::otlp_count_spans("\x0a\xff\xff\xff", agent::otlp_encoding::protobuf));
  EXPECT_FALSE(agent::otlp_count_spans("{nope", agent::otlp_encoding::json));
}

namespace {

// The message protobuf's own (slow) JSON parser makes of `body`.
template <class Message>
std::string reference(const std::string& body) {
  Message m;
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(body, &m, o).ok()) << body;
  return m.SerializeAsString();
}

template <class Message>
std::string ours(const std::string& body) {
  Message m;
  auto st = agent::otlp_json_parse(body, m);
  EXPECT_TRUE(st) << st.error().message;
  return m.SerializeAsString();
}

}  // namespace

TEST(OtlpDecode, JsonReaderGivesWhatProtobufsParserGives) {
  const std::string metrics = R"({"resourceMetrics":[{"resource":{"attributes":[
    {"key":"service.name","value":{"stringValue":"claude-code"}},
    {"key":"pid","value":{"intValue":"4242"}},{"key":"on","value":{"boolValue":true}},
    {"key":"list","value":{"arrayValue":{"values":[{"doubleValue":1.5},{"intValue":7}]}}},
    {"key":"kv","value":{"kvlistValue":{"values":[{"key":"a","value":{"bytesValue":"aGk="}}]}}}]},
    "scope_metrics":[{"scope":{"name":"s","version":"1"},"metrics":[
     {"name":"t","unit":"tokens","sum":{"aggregationTemporality":"AGGREGATION_TEMPORALITY_DELTA",
      "isMonotonic":true,"dataPoints":[{"startTimeUnixNano":"1780000000000000000",
      "timeUnixNano":1780000001000000000,"asInt":"42","flags":1}]}},
     {"name":"g","gauge":{"dataPoints":[{"timeUnixNano":"1780000001000000000","asDouble":"NaN"},
      {"asDouble":2.25,"attributes":null}]}},
     {"name":"h","histogram":{"aggregationTemporality":1,"dataPoints":[{"count":"3","sum":2.5,
      "bucketCounts":["1","1",1],"explicitBounds":[0.5,1],"min":0.1,"max":0.9}]}},
     {"name":"q","summary":{"dataPoints":[{"count":"2","sum":3,"quantileValues":[
      {"quantile":0.5,"value":1}]}]}}]}]}]})";
  EXPECT_EQ(ours<pb::ExportMetricsServiceRequest>(metrics),
            reference<pb::ExportMetricsServiceRequest>(metrics));
  const std::string logs = R"({"resourceLogs":[{"resource":{"attributes":[]},"scopeLogs":[
    {"logRecords":[{"timeUnixNano":"1780000000000000000","observedTimeUnixNano":"1780000000000000001",
     "severityNumber":9,"traceId":"5b8efff798038103d269b633813fc60c","eventName":"api_request",
     "body":{"stringValue":"claude_code.api_request"},"attributes":[
     {"key":"cost_usd","value":{"doubleValue":0.0125}},{"key":"x","value":{}}]}]}]}]})";
  EXPECT_EQ(ours<pb::ExportLogsServiceRequest>(logs),
            reference<pb::ExportLogsServiceRequest>(logs));
  // What protobuf refuses, so does the reader, naming the field.
  pb::ExportMetricsServiceRequest m;
  auto st = agent::otlp_json_parse(R"({"resourceMetrics":[{"scopeMetrics":7}]})", m);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("scope_metrics"), std::string::npos) << st.error().message;
  EXPECT_FALSE(agent::otlp_json_parse(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"sum":{"dataPoints":[{"asInt":"1.5"}]}}]}]}]})",
      m));
  EXPECT_FALSE(agent::otlp_json_parse(
      R"({"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"gauge":{"dataPoints":[{"flags":-1}]}}]}]}]})",
      m));
  pb::ExportLogsServiceRequest bytes;
  EXPECT_FALSE(agent::otlp_json_parse(
      R"({"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":{"bytesValue":"a!b="}}]}}]})",
      bytes));
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += R"({"kvlistValue":{"values":[{"key":"k","value":)";
  deep += "{}";
  for (int i = 0; i < 100; ++i) deep += "}]}}";
  pb::ExportLogsServiceRequest l;
  EXPECT_FALSE(agent::otlp_json_parse(
      R"({"resourceLogs":[{"resource":{"attributes":[{"key":"k","value":)" + deep + "}]}}]}", l));
}
