// The scrape sampler against a real HTTP server on loopback (port 0) that
// serves a recorded exposition the test changes between scrapes.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <mutex>
#include <thread>

#include "support/exposition_server.hpp"
#include "support/helpers.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/samplers/scrape.hpp"
#include "vitals/samplers/scrape_flag.hpp"  // parse_scrape_flag
#include "vitals/sinks/null.hpp"

namespace {

using vitals::test::exposition_server;
using vitals::test::value;

using namespace vitals;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

/// Runs one async_collect to completion on a private io_context.
status scrape_once(samplers::scrape_sampler& s, sample_batch& out, timestamp t) {
  asio::io_context io;
  auto f = asio::co_spawn(io, s.async_collect(out, t), asio::use_future);
  io.run();
  return f.get();
}

std::string exposition(int requests_get, int requests_post, int fast, int slow) {
  // `fast` requests under 0.1 s, `slow` between 0.5 s and 1 s.
  const int total = fast + slow;
  return "# TYPE http_requests_total counter\n"
         "http_requests_total{method=\"GET\"} " +
         std::to_string(requests_get) +
         "\n"
         "http_requests_total{method=\"POST\"} " +
         std::to_string(requests_post) +
         "\n"
         "# TYPE http_request_duration_seconds histogram\n"
         "http_request_duration_seconds_bucket{le=\"0.1\"} " +
         std::to_string(fast) +
         "\n"
         "http_request_duration_seconds_bucket{le=\"0.5\"} " +
         std::to_string(fast) +
         "\n"
         "http_request_duration_seconds_bucket{le=\"1\"} " +
         std::to_string(total) +
         "\n"
         "http_request_duration_seconds_bucket{le=\"+Inf\"} " +
         std::to_string(total) +
         "\n"
         "http_request_duration_seconds_sum 10\n"
         "http_request_duration_seconds_count " +
         std::to_string(total) +
         "\n"
         "# TYPE temperature gauge\ntemperature 21.5\n";
}

TEST(SamplersScrape, KeepsTheSamplesAndDerivesRequestRateAndP95) {
  exposition_server server;
  samplers::scrape_sampler s(server.url(), {.labels = {{"target", "api"}},
                                            .requests_counter = "http_requests_total",
                                            .latency_histogram = "http_request_duration_seconds"});
  server.set(exposition(100, 50, 90, 10));
  sample_batch a;
  ASSERT_TRUE(scrape_once(s, a, from_unix_ms(10'000)));
  EXPECT_EQ(*value(a, "http_requests_total", "method", "GET"), 100);
  EXPECT_EQ(*value(a, "temperature"), 21.5);
  EXPECT_EQ(*value(a, "http_request_duration_seconds_bucket", "le", "0.1"), 90);
  for (const auto& x : a) EXPECT_EQ(x.series.labels().get("target"), "api");
  EXPECT_FALSE(value(a, "requests_per_second"));  // needs two scrapes

  // 10 s later: 300 more requests, all of them slow.
  server.set(exposition(300, 150, 90, 310));
  sample_batch b;
  ASSERT_TRUE(scrape_once(s, b, from_unix_ms(20'000)));
  EXPECT_DOUBLE_EQ(*value(b, "requests_per_second"), 30);
  const double p95 = *value(b, "latency_p95_seconds");
  EXPECT_GT(p95, 0.5);  // every request of the interval was slow:
  EXPECT_LE(p95, 1.0);  // the lifetime histogram alone would have said under 0.5
}

TEST(SamplersScrape, OpenMetricsIsParsedByContentType) {
  exposition_server server;
  server.set("# TYPE up gauge\nup 1\n# EOF\n",
             "application/openmetrics-text; version=1.0.0; charset=utf-8");
  samplers::scrape_sampler s(server.url());
  sample_batch b;
  ASSERT_TRUE(scrape_once(s, b, now()));
  EXPECT_EQ(*value(b, "up"), 1);
  EXPECT_TRUE(s.last_parse_errors().empty());
}

TEST(SamplersScrape, FailuresAreErrorValues) {
  exposition_server server;
  sample_batch b;
  server.set("gone", "text/plain", 404);
  samplers::scrape_sampler not_found(server.url());
  auto r = scrape_once(not_found, b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("HTTP 404"), std::string::npos);

  server.set(std::string(5000, '#'));
  samplers::scrape_sampler small(server.url(), {.max_bytes = 1000});
  r = scrape_once(small, b, now());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, errc::limit_exceeded);

  samplers::scrape_sampler refused("http://127.0.0.1:1/metrics",
                                   {.timeout = std::chrono::seconds(2)});
  r = scrape_once(refused, b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("connect"), std::string::npos);

  samplers::scrape_sampler bad_url("https://example.invalid/metrics");
  r = scrape_once(bad_url, b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("http://"), std::string::npos);

  server.set("this is not an exposition\n");
  samplers::scrape_sampler garbage(server.url());
  r = scrape_once(garbage, b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("line 1"), std::string::npos);
  EXPECT_TRUE(b.empty());
}

TEST(SamplersScrape, AFlagTakesTheNamesAfterTheUrl) {
  auto f = samplers::parse_scrape_flag(
      "http://h:9100/metrics,requests_counter=http_requests_total,"
      "latency_histogram=http_request_duration_seconds");
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->url, "http://h:9100/metrics");
  EXPECT_EQ(f->requests_counter, "http_requests_total");
  EXPECT_EQ(f->latency_histogram, "http_request_duration_seconds");

  f = samplers::parse_scrape_flag("http://h/m,latency_histogram=lat");  // either, in any order
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://h/m");
  EXPECT_TRUE(f->requests_counter.empty());
  EXPECT_EQ(f->latency_histogram, "lat");

  // A comma of the URL's own is kept: only the two keys are options.
  f = samplers::parse_scrape_flag("http://h/metrics?match=a,b");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://h/metrics?match=a,b");
  f = samplers::parse_scrape_flag("http://h/metrics?x=a,b,requests_counter=req");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->url, "http://h/metrics?x=a,b");
  EXPECT_EQ(f->requests_counter, "req");

  const std::pair<const char*, const char*> bad[] = {
      {"http://h/m,requests_counter=", "requests_counter"},
      {"http://h/m,requests_counter=http requests", "requests_counter"},
      {"http://h/m,latency_histogram=9lat", "latency_histogram"},
      {"http://h/m,requests_counter=a,requests_counter=b", "requests_counter: given twice"},
      {"https://h/m,requests_counter=a", "url"},
      {"http://h/m,request_counter=x", "unknown option 'request_counter'"},  // a typo
  };
  for (auto [flag, why] : bad) {
    auto r = samplers::parse_scrape_flag(flag);
    ASSERT_FALSE(r) << flag;
    EXPECT_NE(r.error().message.find(why), std::string::npos) << flag << ": " << r.error().message;
  }
}

struct noop_sampler {
  status collect(sample_batch&, timestamp) { return {}; }
  std::string_view name() const { return "noop"; }
};

TEST(ConcurrencyScrape, ThePollerAwaitsScrapes) {
  exposition_server server;
  server.set(exposition(1, 1, 1, 1));
  struct counting_sink {
    std::mutex mu;
    sample_batch got;
    status push(std::span<const sample> b) {
      std::lock_guard lock(mu);
      got.insert(got.end(), b.begin(), b.end());
      return {};
    }
  } sink;
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    poller<counting_sink, noop_sampler, samplers::scrape_sampler> p(
        io.get_executor(), sink, poller_options{.interval = std::chrono::milliseconds(50)});
    ASSERT_TRUE(p.track("api", samplers::scrape_sampler(server.url())));
    for (int i = 0; i < 200; ++i) {
      {
        std::lock_guard lock(sink.mu);
        if (sink.got.size() >= 20) break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    p.stop();
    EXPECT_EQ(p.size(), 0u);
  }
  work.reset();
  runner.join();
  std::lock_guard lock(sink.mu);
  EXPECT_GE(sink.got.size(), 20u);
  EXPECT_TRUE(value(sink.got, "temperature").has_value());
}

TEST(ConcurrencyScrape, AHungExporterCostsOneTimeoutNotAStall) {
  // Listens but never answers: the connection completes in the backlog and
  // the response never comes.
  asio::io_context io;
  tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string url =
      "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/metrics";
  struct null_pipeline {
    sinks::null_sink s;
    status push(std::span<const sample> b) { return s.write(b); }
  } sink;
  auto work = asio::make_work_guard(io);
  std::thread runner([&] { io.run(); });
  {
    poller<null_pipeline, noop_sampler, samplers::scrape_sampler> p(
        io.get_executor(), sink,
        poller_options{.interval = std::chrono::milliseconds(100),
                       .sample_timeout = std::chrono::milliseconds(100)});
    ASSERT_TRUE(p.track("hung", samplers::scrape_sampler(url)));  // its own timeout is 5 s
    ASSERT_TRUE(p.track("fine", noop_sampler{}));
    std::uint64_t errors = 0;
    for (int i = 0; i < 300 && errors < 2; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      for (const auto& st : p.status())
        if (st.id == "hung") errors = st.errors;
    }
    EXPECT_GE(errors, 2u);
    for (const auto& st : p.status()) {
      if (st.id == "hung") {
        EXPECT_NE(st.last_error.find("timed out"), std::string::npos);
      } else {
        EXPECT_GE(st.ticks, 3u);  // the other target kept its period
      }
    }
    p.stop();
  }
  work.reset();
  io.stop();
  runner.join();
}

}  // namespace
