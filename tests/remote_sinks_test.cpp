// The push sinks: remote write's bytes checked by hand, samples read back
// from a real Prometheus, the retry rules against a scripted receiver, and
// the OTLP JSON decoded field by field.
#include <gtest/gtest.h>
#include <snappy.h>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <filesystem>
#include <functional>
#include <map>
#include <mutex>

#include "support/helpers.hpp"
#include "support/prometheus.hpp"
#include "vitals/http/server.hpp"
#include "vitals/net/client.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/sinks/otlp_http.hpp"
#include "vitals/sinks/remote_write.hpp"

namespace {

using namespace std::chrono_literals;
using vitals::sample;
using vitals::series;
using vitals::test::prometheus;
namespace bhttp = boost::beast::http;
namespace json = boost::json;

sample at(std::string name, vitals::label_set labels, std::int64_t ms, double v) {
  return {series(std::move(name), std::move(labels)), vitals::from_unix_ms(ms), v};
}

std::string encode(const std::vector<sample>& batch) {
  std::string out;
  std::vector<const sample*> order;
  vitals::sinks::detail::encode_write_request(batch, out, order);
  return out;
}

/// The test receiver's token: a vitals server without one refuses a POST
/// that is not JSON (a browser could send it), and remote write is protobuf.
constexpr const char* receiver_token = "s3cret";

/// Quick retries, so that the tests wait milliseconds rather than seconds.
vitals::sinks::push_options fast() {
  return {.flush_interval = 20ms,
          .request_timeout = 5s,
          .min_backoff = 5ms,
          .max_backoff = 20ms,
          .flush_timeout = 20s,
          .bearer_token = receiver_token};
}

// --- encoding ---------------------------------------------------------------

TEST(RemoteWriteEncoding, OneSampleByteForByte) {
  // up{job="a"} 1 at t = 1000 ms. Each field starts with a key byte,
  // (field << 3) | wire type: 0x0a = field 1 length-delimited, 0x12 = field 2
  // length-delimited, 0x09 = field 1 fixed64, 0x10 = field 2 varint.
  const std::string label_name =  // Label{name="__name__" value="up"}: 2+8 + 2+2 = 14 bytes
      "\x0a\x08__name__"
      "\x12\x02up";
  const std::string label_job =  // Label{name="job" value="a"}: 2+3 + 2+1 = 8 bytes
      "\x0a\x03job"
      "\x12\x01"
      "a";
  const std::string sample_bytes =  // Sample{value=1.0 timestamp=1000}: 1+8 + 1+2 = 12 bytes
      std::string("\x09\x00\x00\x00\x00\x00\x00\xf0\x3f", 9) +  // 1.0 = 0x3ff0000000000000, LE
      "\x10\xe8\x07";  // 1000 = 0b111_1101000: low 7 bits 0x68 | 0x80, then 0x07
  const std::string timeseries = "\x0a\x0e" + label_name +   // labels = 1, 14 bytes
                                 "\x0a\x08" + label_job +    // labels = 1, 8 bytes
                                 "\x12\x0c" + sample_bytes;  // samples = 2, 12 bytes
  ASSERT_EQ(timeseries.size(), 40u);
  const std::string write_request = "\x0a\x28" + timeseries;  // timeseries = 1, 40 bytes

  EXPECT_EQ(encode({at("up", {{"job", "a"}}, 1000, 1.0)}), write_request);
}

TEST(RemoteWriteEncoding, NameLabelSortsAmongTheOthers) {
  // 'Z' (0x5a) sorts before '_' (0x5f) and 'a' after it: __name__ goes between.
  const auto bytes = encode({at("m", {{"Zone", "z"}, {"az", "b"}}, 1, 0)});
  const auto zone = bytes.find("Zone"), name = bytes.find("__name__"), az = bytes.find("az");
  ASSERT_NE(name, std::string::npos);
  EXPECT_LT(zone, name);
  EXPECT_LT(name, az);
}

TEST(RemoteWriteEncoding, SamplesOfOneSeriesShareOneTimeSeriesInTimeOrder) {
  const vitals::label_set l{{"job", "a"}};
  const auto ordered = encode({at("m", l, 1000, 1), at("m", l, 2000, 2)});
  EXPECT_EQ(encode({at("m", l, 2000, 2), at("m", l, 1000, 1)}), ordered);
  // The labels are written once: two samples cost one Sample (2 + 12 bytes) more.
  EXPECT_EQ(ordered.size(), encode({at("m", l, 1000, 1)}).size() + 14);
}

TEST(RemoteWriteEncoding, SnappyRoundTrip) {
  std::vector<sample> batch;
  for (int i = 0; i < 500; ++i)
    batch.push_back(at("requests", {{"code", std::to_string(200 + i % 5)}}, 1000 + i, i));
  const auto raw = encode(batch);
  std::string packed, unpacked;
  vitals::sinks::detail::snappy_compress(raw, packed);
  EXPECT_LT(packed.size(), raw.size());  // the label strings repeat
  ASSERT_TRUE(snappy::Uncompress(packed.data(), packed.size(), &unpacked));
  EXPECT_EQ(unpacked, raw);
}

TEST(RemoteWriteUrl, HttpsAndBadUrlsAreRefusedWithAClearError) {
  using vitals::sinks::detail::parse_push_url;
  const auto u = parse_push_url("http://[::1]:9090/api/v1/write");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "::1");
  EXPECT_EQ(u->port, "9090");
  EXPECT_EQ(u->target, "/api/v1/write");
  EXPECT_EQ(parse_push_url("http://example")->port, "80");
  EXPECT_EQ(parse_push_url("http://example")->target, "/");
  EXPECT_FALSE(parse_push_url("http://:80/"));
  EXPECT_FALSE(parse_push_url("http://h:x/"));
  EXPECT_FALSE(parse_push_url("ftp://h/"));
  try {
    vitals::sinks::remote_write_sink sink("https://prometheus.example/api/v1/write");
    FAIL() << "https accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("https"), std::string::npos) << e.what();
  }
}

// --- a scripted receiver ------------------------------------------------------

struct received {
  std::string target, body;
  bhttp::fields headers;
  std::chrono::steady_clock::time_point at;
};

/// vitals' own server on 127.0.0.1:0; `answer(req, n)` says what the n-th
/// request (from 0) gets.
class receiver {
 public:
  using script = std::function<vitals::http::response(int n)>;

  explicit receiver(script s) : script_(std::move(s)) {
    if (auto st = server_.start(); !st) throw std::runtime_error(st.error().message);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~receiver() {
    server_.stop();
    work_.reset();
    thread_.join();
  }

  std::string url(std::string_view path) const {
    return "http://127.0.0.1:" + std::to_string(server_.port()) + std::string(path);
  }
  std::vector<received> requests() const {
    std::lock_guard lock(mu_);
    return got_;
  }

  static vitals::http::response status(bhttp::status st, std::string_view retry_after = {}) {
    vitals::http::response r{st, 11};
    if (!retry_after.empty()) r.set(bhttp::field::retry_after, retry_after);
    r.body() = st == bhttp::status::ok ? "" : "scripted " + std::to_string(int(st));
    r.prepare_payload();
    return r;
  }

 private:
  struct handler {
    receiver* self;
    boost::asio::awaitable<std::optional<vitals::http::response>> handle(
        const vitals::http::request& req, vitals::http::exchange&) {
      co_return self->answer(req);
    }
  };

  vitals::http::response answer(const vitals::http::request& req) {
    std::lock_guard lock(mu_);
    got_.push_back({std::string(req.target()), req.body(), static_cast<const bhttp::fields&>(req),
                    std::chrono::steady_clock::now()});
    return script_(static_cast<int>(got_.size()) - 1);
  }

  script script_;
  mutable std::mutex mu_;
  std::vector<received> got_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  vitals::registry reg_;
  handler handler_{this};
  vitals::http::server<handler> server_{
      io_.get_executor(), handler_, reg_,
      vitals::http::server_options{
          .port = 0, .body_limit = 64u << 20, .token = receiver_token, .shutdown_grace = 1s}};
  std::thread thread_;
};

std::vector<sample> three_samples() {
  return {at("jobs", {{"queue", "a"}}, 1000, 1), at("jobs", {{"queue", "b"}}, 1000, 2),
          at("jobs", {{"queue", "a"}}, 2000, 3)};
}

double counted(const vitals::registry& reg, std::string_view result) {
  return vitals::test::family_total(reg, "vitals_remote_write_samples", "result", result);
}

// --- retries ----------------------------------------------------------------

TEST(RemoteWriteRetry, ServerErrorIsRetriedAndDeliveredOnce) {
  receiver rx([](int n) {
    return receiver::status(n == 0 ? bhttp::status::internal_server_error : bhttp::status::ok);
  });
  vitals::registry reg;
  {
    vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), fast(), reg);
    const auto batch = three_samples();
    ASSERT_TRUE(sink.write(batch));
    ASSERT_TRUE(sink.flush());
    const auto st = sink.stats();
    EXPECT_EQ(st.sent, 3u);
    EXPECT_EQ(st.retries, 1u);
    EXPECT_EQ(st.failed + st.rejected + st.dropped + st.queued, 0u);
  }
  const auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);  // the 500, then the one 200
  const auto& r = reqs[1];
  EXPECT_EQ(r.target, "/api/v1/write");
  EXPECT_EQ(r.headers["Content-Encoding"], "snappy");
  EXPECT_EQ(r.headers["Content-Type"], "application/x-protobuf");
  EXPECT_EQ(r.headers["X-Prometheus-Remote-Write-Version"], "0.1.0");
  EXPECT_TRUE(r.headers["User-Agent"].starts_with("vitals-remote-write/"));
  EXPECT_EQ(r.headers["Authorization"], std::string("Bearer ") + receiver_token);
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(r.body.data(), r.body.size(), &raw));
  EXPECT_EQ(raw, encode(three_samples()));
  EXPECT_EQ(reqs[0].body, r.body);
  EXPECT_EQ(counted(reg, "sent"), 3);
  EXPECT_EQ(vitals::test::family_total(reg, "vitals_remote_write_retries"), 1);
  EXPECT_EQ(vitals::test::family_total(reg, "vitals_remote_write_queue_samples"), 0);
}

TEST(RemoteWriteRetry, TooManyRequestsWaitsForRetryAfter) {
  receiver rx([](int n) {
    return n == 0 ? receiver::status(bhttp::status::too_many_requests, "1")
                  : receiver::status(bhttp::status::ok);
  });
  auto o = fast();
  o.max_backoff = 5s;  // Retry-After is capped by max_backoff
  vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), o);
  ASSERT_TRUE(sink.write(three_samples()));
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(sink.stats().sent, 3u);
  EXPECT_EQ(sink.stats().retries, 1u);
  const auto reqs = rx.requests();
  ASSERT_EQ(reqs.size(), 2u);
  // Without the header the backoff would be 5 ms; a lower bound, not a timing race.
  EXPECT_GE(reqs[1].at - reqs[0].at, 950ms);
}

TEST(RemoteWriteRetry, ClientErrorIsNotRetriedButCounted) {
  receiver rx([](int) { return receiver::status(bhttp::status::bad_request); });
  vitals::registry reg;
  vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), fast(), reg);
  ASSERT_TRUE(sink.write(three_samples()));
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(rx.requests().size(), 1u);
  EXPECT_EQ(sink.stats().rejected, 3u);
  EXPECT_EQ(sink.stats().retries, 0u);
  EXPECT_EQ(counted(reg, "rejected"), 3);
  EXPECT_NE(sink.last_error().find("HTTP 400: scripted 400"), std::string::npos)
      << sink.last_error();
}

TEST(RemoteWriteRetry, GivesUpAfterMaxAttempts) {
  receiver rx([](int) { return receiver::status(bhttp::status::service_unavailable); });
  auto o = fast();
  o.max_attempts = 3;
  vitals::registry reg;
  vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), o, reg);
  ASSERT_TRUE(sink.write(three_samples()));
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(rx.requests().size(), 3u);
  EXPECT_EQ(sink.stats().failed, 3u);
  EXPECT_EQ(sink.stats().retries, 2u);
  EXPECT_EQ(counted(reg, "failed"), 3);
}

TEST(RemoteWriteRetry, FullQueueDropsNewSamplesAndCountsThem) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  auto o = fast();
  o.max_queue = 10;
  o.flush_interval = std::chrono::hours(1);  // nothing leaves before flush()
  vitals::registry reg;
  vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), o, reg);
  std::vector<sample> batch;
  for (int i = 0; i < 15; ++i) batch.push_back(at("n", {}, 1000 + i, i));
  const auto st = sink.write(batch);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, vitals::errc::limit_exceeded);
  EXPECT_EQ(sink.stats().dropped, 5u);
  EXPECT_EQ(sink.stats().queued, 10u);
  EXPECT_EQ(vitals::test::family_total(reg, "vitals_remote_write_queue_samples"), 10);
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(sink.stats().sent, 10u);
  EXPECT_EQ(counted(reg, "dropped"), 5);
  EXPECT_EQ(counted(reg, "sent"), 10);
}

TEST(RemoteWriteRetry, BearerTokenIsSent) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  auto o = fast();
  o.bearer_token = "s3cret";
  vitals::sinks::remote_write_sink sink(rx.url("/api/v1/write"), o);
  ASSERT_TRUE(sink.write(three_samples()));
  ASSERT_TRUE(sink.flush());
  ASSERT_EQ(rx.requests().size(), 1u);
  EXPECT_EQ(rx.requests()[0].headers["Authorization"], "Bearer s3cret");
}

TEST(RemoteWriteRetry, DestructorReturnsWhileTheReceiverIsDown) {
  auto o = fast();
  o.max_attempts = 1'000'000;
  o.flush_timeout = 200ms;
  // Port 1 on loopback: connections are refused at once.
  vitals::sinks::remote_write_sink sink("http://127.0.0.1:1/api/v1/write", o);
  ASSERT_TRUE(sink.write(three_samples()));
  const auto st = sink.flush();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, vitals::errc::unavailable);
  EXPECT_TRUE(vitals::test::eventually([&] { return sink.stats().retries > 2; }));
}  // ~remote_write_sink: one more bounded flush, then the stop cuts the backoff

// --- a real Prometheus ----------------------------------------------------------

std::map<std::string, std::string> labels_of(const json::value& v) {
  std::map<std::string, std::string> out;
  for (const auto& [k, val] : v.as_object()) out[std::string(k)] = std::string(val.as_string());
  return out;
}

TEST(RemoteWritePrometheus, SamplesComeBackFromQueries) {
  if (!std::filesystem::exists(prometheus::exe)) GTEST_SKIP() << "no " << prometheus::exe;
  prometheus prom;
  ASSERT_TRUE(prom.ready()) << prom.log();

  // Prometheus refuses samples far from its head block's time: use now.
  const auto now = vitals::to_unix_ms(vitals::now());
  std::vector<sample> batch{
      at("vitals_rw_value", {{"job", "rw"}, {"instance", "a"}}, now - 1000, 42.5),
      at("vitals_rw_value", {{"job", "rw"}, {"instance", "b"}}, now - 1000, -3),
  };
  for (int i = 0; i < 3; ++i)  // written newest first: the sink puts them in order
    batch.push_back(at("vitals_rw_steps_total", {{"job", "rw"}}, now - 1000 * (i + 1), 3 - i));

  vitals::registry reg;
  vitals::sinks::remote_write_sink sink(prom.url() + "/api/v1/write", fast(), reg);
  ASSERT_TRUE(sink.write(batch));
  ASSERT_TRUE(sink.flush()) << sink.last_error();
  ASSERT_EQ(sink.stats().sent, 5u) << sink.last_error();

  const auto at_s = [](std::int64_t ms) { return std::to_string(double(ms) / 1000.0); };
  auto values = prom.query("/api/v1/query?query=vitals_rw_value&time=" + at_s(now));
  ASSERT_EQ(values.size(), 2u) << json::serialize(values);
  std::map<std::string, std::string> by_instance;
  for (const auto& v : values) {
    const auto labels = labels_of(v.at("metric"));
    EXPECT_EQ(labels.size(), 3u);
    EXPECT_EQ(labels.at("__name__"), "vitals_rw_value");
    EXPECT_EQ(labels.at("job"), "rw");
    by_instance[labels.at("instance")] = std::string(v.at("value").as_array()[1].as_string());
  }
  EXPECT_EQ(by_instance, (std::map<std::string, std::string>{{"a", "42.5"}, {"b", "-3"}}));

  auto range =
      prom.query("/api/v1/query_range?query=vitals_rw_steps_total&start=" + at_s(now - 3000) +
                 "&end=" + at_s(now - 1000) + "&step=1");
  ASSERT_EQ(range.size(), 1u) << json::serialize(range);
  std::vector<std::string> steps;
  for (const auto& p : range[0].at("values").as_array())
    steps.emplace_back(p.as_array()[1].as_string());
  EXPECT_EQ(steps, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(counted(reg, "sent"), 5);
}

TEST(RemoteWritePrometheus, ExemplarsFromTheRegistryComeBackFromQueryExemplars) {
  if (!std::filesystem::exists(prometheus::exe)) GTEST_SKIP() << "no " << prometheus::exe;
  prometheus prom({.flags = {"--enable-feature=exemplar-storage"}});
  ASSERT_TRUE(prom.ready()) << prom.log();
  // A registry's traced observation, through the registry sampler's samples.
  vitals::registry app;
  app.histogram("rw_job_seconds", "Job time.", {0.1, 1})
      .observe(0.42, {{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}});
  app.counter("rw_jobs_total", "Jobs.").inc({{"trace_id", "00f067aa0ba902b7"}});
  vitals::sample_batch batch;
  vitals::samplers::append_samples(app.collect(), vitals::now(), {{"job", "rw"}}, batch);
  std::erase_if(batch, [](const sample& s) { return !s.series.name().starts_with("rw_"); });

  vitals::registry reg;
  vitals::sinks::remote_write_sink sink(prom.url() + "/api/v1/write", fast(), reg);
  ASSERT_TRUE(sink.write(batch));
  ASSERT_TRUE(sink.flush()) << sink.last_error();

  const auto now_s = std::to_string(vitals::to_unix_ms(vitals::now()) / 1000);
  const auto window = "&start=" + std::to_string(std::stoll(now_s) - 60) +
                      "&end=" + std::to_string(std::stoll(now_s) + 60);
  auto hist = prom.data("/api/v1/query_exemplars?query=rw_job_seconds_bucket" + window);
  ASSERT_TRUE(hist.is_array()) << prom.log();
  ASSERT_EQ(hist.as_array().size(), 1u) << json::serialize(hist);
  EXPECT_EQ(hist.at(0).at("seriesLabels").at("le"), "1");
  EXPECT_EQ(hist.at(0).at("exemplars").at(0).at("labels").at("trace_id"),
            "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(hist.at(0).at("exemplars").at(0).at("value"), "0.42");
  auto jobs = prom.data("/api/v1/query_exemplars?query=rw_jobs_total" + window);
  ASSERT_EQ(jobs.as_array().size(), 1u) << json::serialize(jobs);
  EXPECT_EQ(jobs.at(0).at("exemplars").at(0).at("labels").at("trace_id"), "00f067aa0ba902b7");
}

// --- OTLP -------------------------------------------------------------------

const json::object& metric_named(const json::array& metrics, std::string_view name) {
  for (const auto& m : metrics)
    if (m.at("name").as_string() == name) return m.as_object();
  throw std::runtime_error("no metric " + std::string(name) + " in " + json::serialize(metrics));
}

bool is_decimal_string(const json::value& v) {
  return v.is_string() && !v.as_string().empty() &&
         std::string_view(v.as_string()).find_first_not_of("0123456789") == std::string_view::npos;
}

/// The single request's body, checked down to its scope, and its metrics.
json::array otlp_metrics(const receiver& rx, std::string_view service) {
  const auto reqs = rx.requests();
  if (reqs.size() != 1) throw std::runtime_error("expected one request");
  EXPECT_EQ(reqs[0].target, "/v1/metrics");
  EXPECT_EQ(reqs[0].headers["Content-Type"], "application/json");
  const auto body = json::parse(reqs[0].body);
  const auto& rm = body.at("resourceMetrics").as_array().at(0);
  const auto& attr = rm.at("resource").at("attributes").as_array().at(0);
  EXPECT_EQ(attr.at("key"), "service.name");
  EXPECT_EQ(attr.at("value").at("stringValue").as_string(), service);
  const auto& scope = rm.at("scopeMetrics").as_array().at(0);
  EXPECT_EQ(scope.at("scope").at("name"), "vitals");
  return scope.at("metrics").as_array();
}

TEST(OtlpHttp, RegistrySnapshotKeepsItsTypes) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  vitals::registry app(vitals::registry_options{.self_metrics = false});
  app.counter_family("requests_total", "Requests served.", {"code"}).with("200").inc(7);
  app.gauge("temperature_celsius", "Room temperature.").set(21.5);
  auto& h = app.histogram("latency_seconds", "Request latency.", {0.1, 1});
  for (double v : {0.0625, 0.5, 0.75, 5.0}) h.observe(v);  // exact in binary

  vitals::sinks::otlp_http_sink sink(rx.url("/"), {.service_name = "checkout", .push = fast()});
  ASSERT_TRUE(sink.export_registry(app));
  ASSERT_TRUE(sink.flush()) << sink.last_error();
  EXPECT_EQ(sink.stats().sent, 3u);
  const auto metrics = otlp_metrics(rx, "checkout");
  ASSERT_EQ(metrics.size(), 3u);

  const auto& requests = metric_named(metrics, "requests");
  EXPECT_EQ(requests.at("description"), "Requests served.");
  const auto& sum = requests.at("sum");
  EXPECT_EQ(sum.at("isMonotonic"), true);
  EXPECT_EQ(sum.at("aggregationTemporality"), 2);
  const auto& sp = sum.at("dataPoints").as_array().at(0);
  EXPECT_EQ(sp.at("asInt"), "7");
  EXPECT_EQ(sp.at("attributes").as_array().at(0).at("key"), "code");
  EXPECT_EQ(sp.at("attributes").as_array().at(0).at("value").at("stringValue"), "200");
  EXPECT_TRUE(is_decimal_string(sp.at("timeUnixNano")));
  EXPECT_TRUE(is_decimal_string(sp.at("startTimeUnixNano")));

  const auto& gp = metric_named(metrics, "temperature_celsius").at("gauge").at("dataPoints").at(0);
  EXPECT_EQ(gp.at("asDouble"), 21.5);
  EXPECT_TRUE(is_decimal_string(gp.at("timeUnixNano")));

  const auto& hist = metric_named(metrics, "latency_seconds").at("histogram");
  EXPECT_EQ(hist.at("aggregationTemporality"), 2);
  const auto& hp = hist.at("dataPoints").as_array().at(0);
  EXPECT_EQ(hp.at("count"), "4");
  EXPECT_EQ(hp.at("sum"), 6.3125);
  EXPECT_EQ(hp.at("explicitBounds"), (json::array{0.1, 1.0}));
  EXPECT_EQ(hp.at("bucketCounts"), (json::array{"1", "2", "1"}));  // per bucket, not cumulative
  EXPECT_TRUE(is_decimal_string(hp.at("timeUnixNano")));
  EXPECT_TRUE(is_decimal_string(hp.at("startTimeUnixNano")));
}

TEST(OtlpHttp, ExemplarsGoWithTheirPoints) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  vitals::registry app(vitals::registry_options{.self_metrics = false});
  app.counter("calls_total", "Calls.")
      .inc({{"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"}, {"span_id", "00f067aa0ba902b7"}});
  auto& h = app.histogram("wait_seconds", "Wait.", {0.1, 1});
  h.observe(0.5, {{"trace_id", "not-hex"}, {"user", "u1"}});
  vitals::sinks::otlp_http_sink sink(rx.url(""), {.push = fast()});
  ASSERT_TRUE(sink.export_registry(app));
  ASSERT_TRUE(sink.flush()) << sink.last_error();
  const auto metrics = otlp_metrics(rx, "vitals");
  const auto& ce = metric_named(metrics, "calls").at("sum").at("dataPoints").at(0).at("exemplars");
  ASSERT_EQ(ce.as_array().size(), 1u);
  EXPECT_EQ(ce.at(0).at("traceId"), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(ce.at(0).at("spanId"), "00f067aa0ba902b7");
  EXPECT_EQ(ce.at(0).at("asDouble").to_number<double>(), 1);
  EXPECT_TRUE(is_decimal_string(ce.at(0).at("timeUnixNano")));
  EXPECT_FALSE(ce.at(0).as_object().contains("filteredAttributes"));
  const auto& he =
      metric_named(metrics, "wait_seconds").at("histogram").at("dataPoints").at(0).at("exemplars");
  ASSERT_EQ(he.as_array().size(), 1u);
  EXPECT_EQ(he.at(0).at("asDouble").to_number<double>(), 0.5);
  EXPECT_FALSE(he.at(0).as_object().contains("traceId")) << "not a 32-digit hex id";
  EXPECT_EQ(he.at(0).at("filteredAttributes").as_array().size(), 2u);
}

TEST(OtlpHttp, NativeHistogramsGoAsExponentialHistograms) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  vitals::registry app(vitals::registry_options{.self_metrics = false});
  auto& h = app.exponential_histogram("size_bytes", "Sizes.", {.schema = 0, .zero_threshold = 0.5});
  // Schema 0: 1 is in (0.5, 1], OTLP's bucket -1; 3 in (2, 4], OTLP's 1; -3 the same, negative.
  for (double v : {1.0, 3.0, 3.0, -3.0, 0.25}) h.observe(v);
  vitals::sinks::otlp_http_sink sink(rx.url(""), {.push = fast()});
  ASSERT_TRUE(sink.export_registry(app));
  ASSERT_TRUE(sink.flush()) << sink.last_error();
  const auto metrics = otlp_metrics(rx, "vitals");
  const auto& m = metric_named(metrics, "size_bytes");
  ASSERT_TRUE(m.contains("exponentialHistogram")) << json::serialize(m);
  EXPECT_EQ(m.at("exponentialHistogram").at("aggregationTemporality"), 2);
  const auto& p = m.at("exponentialHistogram").at("dataPoints").at(0);
  EXPECT_EQ(p.at("count"), "5");
  EXPECT_EQ(p.at("sum").to_number<double>(), 4.25);
  EXPECT_EQ(p.at("scale"), 0);
  EXPECT_EQ(p.at("zeroCount"), "1");
  EXPECT_EQ(p.at("zeroThreshold").to_number<double>(), 0.5);
  EXPECT_EQ(p.at("positive").at("offset"), -1);
  EXPECT_EQ(p.at("positive").at("bucketCounts"), (json::array{"1", "0", "2"}));
  EXPECT_EQ(p.at("negative").at("offset"), 1);
  EXPECT_EQ(p.at("negative").at("bucketCounts"), (json::array{"1"}));
  EXPECT_TRUE(is_decimal_string(p.at("startTimeUnixNano")));
}

TEST(OtlpHttp, PlainSamplesAreGaugesOrTotalCounters) {
  receiver rx([](int) { return receiver::status(bhttp::status::ok); });
  vitals::sinks::otlp_http_sink sink(rx.url(""), {.push = fast()});
  const std::vector<sample> batch{at("bytes_sent_total", {{"dev", "eth0"}}, 1'700'000'000'000, 9),
                                  at("load1", {}, 1'700'000'000'000, 0.25)};
  ASSERT_TRUE(sink.write(batch));
  ASSERT_TRUE(sink.flush());
  const auto metrics = otlp_metrics(rx, "vitals");
  const auto& sum = metric_named(metrics, "bytes_sent").at("sum");
  EXPECT_EQ(sum.at("isMonotonic"), true);
  EXPECT_EQ(sum.at("dataPoints").at(0).at("asInt"), "9");
  EXPECT_EQ(sum.at("dataPoints").at(0).at("timeUnixNano"), "1700000000000000000");
  EXPECT_EQ(metric_named(metrics, "load1").at("gauge").at("dataPoints").at(0).at("asDouble"), 0.25);
}

TEST(OtlpHttp, SameRetryRulesAsRemoteWrite) {
  receiver rx([](int n) {
    return receiver::status(n == 0 ? bhttp::status::bad_gateway : bhttp::status::bad_request);
  });
  vitals::registry reg;
  vitals::sinks::otlp_http_sink sink(rx.url(""), {.push = fast()}, reg);
  ASSERT_TRUE(sink.write(three_samples()));
  ASSERT_TRUE(sink.flush());
  EXPECT_EQ(rx.requests().size(), 2u);  // 502 retried, 400 final
  EXPECT_EQ(sink.stats().rejected, 3u);
  EXPECT_EQ(vitals::test::family_total(reg, "vitals_otlp_samples", "result", "rejected"), 3);
  EXPECT_EQ(vitals::test::family_total(reg, "vitals_otlp_retries"), 1);
}

}  // namespace
