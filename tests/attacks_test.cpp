// Issue 13's attacks against agent_monitor as users run it (SQLite, no
// token): each is answered with a 4xx or handled harmlessly, /healthz still
// answers within a second after each, sampling goes on, and the monitor
// restarts on its own data afterwards.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <thread>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "support/listener.hpp"
#include "vitals/net/client.hpp"

#if defined(VITALS_MONITOR_EXE)

namespace {

using namespace std::chrono_literals;
namespace test = vitals::test;
using vitals::test::child;
using vitals::test::eventually;
using vitals::test::temp_dir;
namespace net = vitals::net;

const std::string port_line = R"(on http://127\.0\.0\.1:(\d+)/)";

struct monitor {
  explicit monitor(const temp_dir& dir)
      : proc({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms", "--data",
              dir.path().string()}) {
    port = proc.wait_for(port_line).value_or("");
  }
  child proc;
  std::string port;
};

/// The latest sample time of the monitor's own resident memory, in ms.
std::int64_t latest_self_sample(net::client& c) {
  auto r = c.get("/api/v1/latest?sel=" +
                 net::url_encode("process_resident_memory_bytes{target=\"self\"}"));
  if (!r || r->status != 200) return -1;
  auto v = boost::json::parse(r->body);
  if (!v.is_array() || v.as_array().empty()) return -1;
  return v.as_array()[0].at("t").as_int64();
}

/// /healthz answers within a second, on a fresh connection.
void expect_healthy(const std::string& port, const char* after) {
  net::client probe("127.0.0.1", port, std::chrono::seconds(1));
  auto r = probe.get("/healthz");
  ASSERT_TRUE(r) << "no /healthz within 1 s after " << after;
  EXPECT_EQ(r->status, 200u) << after;
}

TEST(MonitorAttacks, EveryAttackIsRefusedOrHarmlessAndTheMonitorRestartsOnItsData) {
  temp_dir dir;
  {
    monitor m(dir);
    ASSERT_FALSE(m.port.empty()) << m.proc.output();
    net::client c("127.0.0.1", m.port, std::chrono::seconds(5));
    ASSERT_TRUE(eventually([&] { return latest_self_sample(c) > 0; })) << m.proc.output();

    // 1. A window whose width wraps int64 used to hang the SQLite bucket loop.
    auto r = c.get(
        "/api/v1/range?sel=process_cpu_seconds_total&from=now-9223372036854775807ms"
        "&to=999999999999");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << r->body;
    r = c.get("/api/v1/range?sel=process_cpu_seconds_total&from=0&to=now&step=1ms");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << r->body;  // billions of buckets
    EXPECT_NE(r->body.find("step"), std::string::npos) << r->body;
    expect_healthy(m.port, "the range attack");

    // 2. A regex that backtracks exponentially in std::regex: linear in RE2.
    const std::string evil = R"({__name__=~"(\w|\w\w|\w\w\w)*X"})";
    r = c.get("/api/v1/series?sel=" + net::url_encode(evil));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u) << r->body;
    EXPECT_EQ(boost::json::parse(r->body).as_array().size(), 0u);
    expect_healthy(m.port, "the regex attack");

    // 3. Token counts that overflow the sums are refused per line, by field.
    const std::string huge =
        R"({"agent_name":"a","model_raw":"gpt-5","message_id":"m1","input_tokens":9223372036854775807})"
        "\n"
        R"({"agent_name":"a","model_raw":"gpt-5","message_id":"m2","input_tokens":10})";
    r = c.post("/api/v1/events", huge, "application/x-ndjson");
    ASSERT_TRUE(r);
    auto v = boost::json::parse(r->body);
    EXPECT_EQ(v.at("accepted").as_int64(), 1) << r->body;
    ASSERT_EQ(v.at("rejected").as_array().size(), 1u) << r->body;
    EXPECT_EQ(v.at("rejected").as_array()[0].at("line").as_int64(), 1);
    EXPECT_NE(r->body.find("input_tokens"), std::string::npos) << r->body;
    r = c.get("/api/v1/usage/summary");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u) << r->body;

    // 4. A web page: cross-origin text/plain POST, and DNS rebinding.
    r = c.request(boost::beast::http::verb::post, "/api/v1/targets",
                  R"({"id":"evil","kind":"process","pid":1})", "text/plain",
                  {{"Origin", "http://evil.example"}});
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->status == 403u || r->status == 415u) << r->status << " " << r->body;
    r = c.get("/api/v1/series", {{"Host", "evil.example"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 421u) << r->body;
    r = c.get("/api/v1/targets");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body.find("\"evil\""), std::string::npos) << r->body;

    // 5. A scrape target that smuggles a second request line (SSRF + CRLF).
    test::listener target;
    const std::string crlf = R"({"id":"smuggle","kind":"scrape","url":"http://127.0.0.1:)" +
                             target.port() + R"(/m\r\nSET pwned 1\r\nX:"})";
    r = c.post("/api/v1/targets", crlf);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << r->body;
    std::this_thread::sleep_for(500ms);  // two sampling intervals: nothing may connect
    EXPECT_FALSE(target.someone_connected()) << "the monitor connected to the smuggled target";
    EXPECT_NE(r->body.find("url"), std::string::npos) << r->body;

    // 6. HEAD works where GET does.
    r = c.request(boost::beast::http::verb::head, "/metrics", {}, {});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u);
    EXPECT_TRUE(r->body.empty());
    expect_healthy(m.port, "the browser, scrape and HEAD checks");

    // Sampling went on through all of it.
    const auto before = latest_self_sample(c);
    EXPECT_TRUE(eventually([&] { return latest_self_sample(c) > before; }));
    EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
  }
  // The monitor restarts on the data those requests left behind.
  monitor again(dir);
  ASSERT_FALSE(again.port.empty()) << again.proc.output();
  net::client c("127.0.0.1", again.port, std::chrono::seconds(5));
  auto r = c.get("/api/v1/usage/summary?agent=a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  EXPECT_NE(r->body.find("\"a\""), std::string::npos) << r->body;
  expect_healthy(again.port, "the restart");
  EXPECT_EQ(again.proc.stop(SIGTERM), 0);
}

}  // namespace

#endif
