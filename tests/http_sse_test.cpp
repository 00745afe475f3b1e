// Server-Sent Events end to end (/api/v1/watch): named events for matching
// samples, ping comments, Last-Event-ID resuming from the store, and a slow
// client dropped while the others keep receiving.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/sse.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

TEST(HttpSse, DeliversMatchingSamplesAsNamedEvents) {
  http_fixture f;
  raw_socket s(f.port());
  ASSERT_TRUE(s.send(watch_request("cpu{target=\"a\"}")));
  ASSERT_TRUE(s.read_until("retry: 3000\n\n"));
  EXPECT_NE(s.received().find("Content-Type: text/event-stream"), std::string::npos);
  const auto t = recent_ms(0);
  ASSERT_TRUE(f.store().append(
      std::vector{at("cpu", {{"target", "b"}}, t, 1), at("cpu", {{"target", "a"}}, t, 2)}));
  ASSERT_TRUE(s.read_until("\n\n", 5s));
  ASSERT_TRUE(s.read_until("}\n\n"));
  const std::string expect =
      "id: " + std::to_string(t) +
      "\nevent: sample\ndata: {\"name\":\"cpu\",\"labels\":{\"target\":\"a\"},\"t\":" +
      std::to_string(t) + ",\"v\":2}\n\n";
  EXPECT_NE(s.received().find(expect), std::string::npos) << s.received();
  EXPECT_EQ(s.count("event: sample"), 1u);  // target b did not match
}

TEST(HttpSse, SendsPingComments) {
  test::fixture_options o;
  o.sse.ping = 100ms;
  http_fixture f(o);
  raw_socket s(f.port());
  ASSERT_TRUE(s.send(watch_request("cpu")));
  ASSERT_TRUE(s.read_until(": ping\n\n", 3s));
  const auto first = s.received().size();
  ASSERT_TRUE(s.read_until(": ping\n\n: ping", 0ms) ||
              (s.read_until("xx", 350ms), s.count(": ping") >= 2))
      << s.received().substr(first);
}

TEST(HttpSse, LastEventIdResumesFromTheStore) {
  http_fixture f;
  const auto base = recent_ms(10);
  std::vector<sample> past;
  for (int i = 0; i < 5; ++i) past.push_back(at("cpu", {{"target", "a"}}, base + i * 1000, i));
  ASSERT_TRUE(f.store().append(past));
  raw_socket s(f.port());
  ASSERT_TRUE(
      s.send(watch_request("cpu", "Last-Event-ID: " + std::to_string(base + 2000) + "\r\n")));
  ASSERT_TRUE(s.read_until("\"v\":4}\n\n"));
  EXPECT_EQ(s.count("event: sample"), 3u) << s.received();
  EXPECT_LT(s.received().find("\"v\":2}"), s.received().find("\"v\":3}"));
  EXPECT_EQ(s.received().find("\"v\":1}"), std::string::npos);
  // Live samples follow, without repeating the replay.
  ASSERT_TRUE(f.store().append(std::vector{at("cpu", {{"target", "a"}}, base + 5000, 5)}));
  ASSERT_TRUE(s.read_until("\"v\":5}\n\n"));
  EXPECT_EQ(s.count("event: sample"), 4u);

  raw_socket bad(f.port());
  ASSERT_TRUE(bad.send(watch_request("cpu", "Last-Event-ID: yesterday\r\n")));
  ASSERT_TRUE(bad.read_until("\r\n\r\n"));
  EXPECT_TRUE(bad.received().starts_with("HTTP/1.1 400"));
}

TEST(HttpSse, SlowClientIsDroppedWhileOthersKeepReceiving) {
  test::fixture_options o;
  o.sse.queue = 256;
  o.sse.write_timeout = 300ms;
  http_fixture f(o);
  raw_socket slow(f.port(), 4096);  // small window, never read after the header
  ASSERT_TRUE(slow.send(watch_request("big")));
  ASSERT_TRUE(slow.read_until("retry: 3000"));
  raw_socket fast(f.port());
  ASSERT_TRUE(fast.send(watch_request("big")));
  ASSERT_TRUE(fast.read_until("retry: 3000"));
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_clients") == 2; }));

  std::atomic<bool> done{false};
  std::thread reader([&] {
    while (!done) fast.read_until("never", 50ms);
    fast.read_until("\"v\":3999}", 5s);
  });
  const std::string pad(1000, 'x');
  const auto t0 = recent_ms(0);
  std::chrono::nanoseconds slowest_append{0};
  for (int round = 0; round < 40; ++round) {
    std::vector<sample> batch;
    for (int i = 0; i < 100; ++i)
      batch.push_back(
          at("big", {{"pad", pad}, {"i", std::to_string(i)}}, t0 + round, round * 100 + i));
    const auto started = std::chrono::steady_clock::now();
    ASSERT_TRUE(f.store().append(batch));
    slowest_append = std::max(slowest_append, std::chrono::steady_clock::now() - started);
    std::this_thread::sleep_for(10ms);
  }
  done = true;
  reader.join();
  // Every sample reaches the fast client or is reported to it as dropped
  // (under a sanitizer the server itself may fall a little behind).
  std::size_t told_dropped = 0;
  const std::string& got = fast.received();
  const std::string_view mark = "data: {\"dropped\":";
  for (auto p = got.find(mark); p != std::string::npos; p = got.find(mark, p + 1))
    told_dropped += std::stoul(got.substr(p + mark.size()));
  EXPECT_EQ(fast.count("event: sample") + told_dropped, 4000u) << "samples lost without a word";
  // A writer held up by the slow client would leave the fast one about a
  // quarter (its queue, then what comes after the 300 ms write timeout);
  // TSan on two cores alone costs it up to a fifth.
  EXPECT_GE(fast.count("event: sample"), 2000u) << "the slow client held the fast one back";
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_disconnects") >= 1; }, 5s));
  EXPECT_TRUE(slow.read_to_eof(5s)) << "the slow client was not disconnected";
  EXPECT_LT(slowest_append, 100ms) << "a slow SSE client slowed the writer";
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_sse_clients") == 1; }));
}

}  // namespace
