// agent_monitor run as a user runs it: the token from a file or the
// environment, and what a browser page on another origin cannot do to it.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "vitals/net/client.hpp"

#ifdef VITALS_MONITOR_EXE

namespace {

using vitals::test::child;
using vitals::test::temp_dir;
namespace net = vitals::net;
namespace bhttp = boost::beast::http;

const std::string port_line = R"(on http://[0-9.]+:(\d+)/)";

struct monitor {
  explicit monitor(std::vector<std::string> extra) : proc(args(std::move(extra))) {
    port = proc.wait_for(port_line).value_or("");
  }
  static std::vector<std::string> args(std::vector<std::string> extra) {
    std::vector<std::string> a{VITALS_MONITOR_EXE, "--memory-only", "--interval", "1s"};
    if (std::find(extra.begin(), extra.end(), "--listen") == extra.end())
      a.insert(a.end(), {"--listen", "127.0.0.1:0"});
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
  net::client client() const { return net::client("127.0.0.1", port); }
  child proc;
  std::string port;
};

unsigned status_of(net::client& c, std::string_view target) {
  auto r = c.get(target);
  return r ? r->status : 0;
}

TEST(MonitorGuard, TokenFromAFileOrTheEnvironment) {
  temp_dir dir;
  const auto file = dir.path() / "token";
  std::ofstream(file) << "s3cret\n";
  {
    monitor m({"--token-file", file.string()});
    ASSERT_FALSE(m.port.empty()) << m.proc.output();
    auto c = m.client();
    EXPECT_EQ(status_of(c, "/api/v1/series"), 401u);
    c.set_token("s3cret");  // the newline is not part of it
    EXPECT_EQ(status_of(c, "/api/v1/series"), 200u);
    EXPECT_EQ(m.proc.stop(), 0);
  }
  {
    ::setenv("VITALS_TOKEN", "from-env", 1);
    monitor m({});
    ::unsetenv("VITALS_TOKEN");
    ASSERT_FALSE(m.port.empty()) << m.proc.output();
    auto c = m.client();
    EXPECT_EQ(status_of(c, "/api/v1/series"), 401u);
    c.set_token("from-env");
    EXPECT_EQ(status_of(c, "/api/v1/series"), 200u);
    EXPECT_EQ(m.proc.stop(), 0);
  }
  std::ofstream(dir.path() / "empty") << "\n";
  for (const auto& path :
       {(dir.path() / "empty").string(), (dir.path() / "missing").string(), dir.path().string()}) {
    child c({VITALS_MONITOR_EXE, "--memory-only", "--token-file", path});
    EXPECT_EQ(c.wait(), 2) << path;
    EXPECT_NE(c.output().find("--token-file"), std::string::npos) << c.output();
    EXPECT_EQ(std::count(c.output().begin(), c.output().end(), '\n'), 1) << c.output();
  }
}

TEST(MonitorGuard, ABrowserPageCannotDriveIt) {
  monitor m({"--allow-host", "monitor.lan"});
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  auto c = m.client();
  const std::string body =
      R"({"id":"me","kind":"process","pid":)" + std::to_string(::getpid()) + "}";
  auto r = c.request(bhttp::verb::post, "/api/v1/targets", body, "text/plain",
                     {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u) << r->body;
  r = c.request(bhttp::verb::post, "/api/v1/targets", body, "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u) << r->body;
  r = c.get("/api/v1/targets", {{"Host", "evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421u);
  r = c.get("/healthz", {{"Host", "monitor.lan:" + m.port}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  r = c.post("/api/v1/targets", body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u) << r->body;
  EXPECT_EQ(m.proc.output().find("warning"), std::string::npos);
  EXPECT_EQ(m.proc.stop(), 0);
}

TEST(MonitorGuard, WarnsWhenListeningBeyondLoopbackWithoutAToken) {
  monitor m({"--listen", "0.0.0.0:0"});
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  ASSERT_TRUE(m.proc.wait_for("warning: listening on 0.0.0.0 without a token").has_value())
      << m.proc.output();
  auto c = m.client();  // Host 127.0.0.1:port: loopback
  EXPECT_EQ(status_of(c, "/api/v1/series"), 200u);
  EXPECT_EQ(m.proc.stop(), 0);
}

}  // namespace

#endif
