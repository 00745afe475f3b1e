// /api/v1/targets against hostile specs: a scrape URL carrying CRLF never
// reaches the network, the number of targets is capped and an interval is at
// least 1 s.
#include <gtest/gtest.h>

#include <unistd.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "support/http_fixture.hpp"
#include "support/listener.hpp"

namespace {

using namespace vitals;
using test::http_fixture;
namespace asio = boost::asio;
using asio::ip::tcp;

TEST(HttpTargetsHardening, CrlfScrapeTargetIs400AndNothingConnects) {
  test::listener listener;
  const auto port = listener.port();
  http_fixture f;
  auto c = f.client();
  for (const std::string& url :
       {"http://127.0.0.1:" + port + R"(/m\r\nSET pwned 1\r\nX:)",
        "http://127.0.0.1:" + port + "/m SET", "http://x@127.0.0.1:" + port + "/m"}) {
    auto r = c.post("/api/v1/targets", R"({"id":"evil","kind":"scrape","url":")" + url + "\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << url << " -> " << r->body;
    EXPECT_NE(r->body.find("url"), std::string::npos) << r->body;
    EXPECT_EQ(r->body.find("pwned"), std::string::npos) << "the error echoes the payload";
  }
  EXPECT_FALSE(listener.someone_connected());
  auto list = c.get("/api/v1/targets");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body, "[]");
}

TEST(HttpTargetsHardening, IntervalBelowOneSecondIs400NamingIt) {
  http_fixture f;
  auto c = f.client();
  const std::string me = std::to_string(::getpid());
  for (const char* iv : {"100ms", "999ms"}) {
    auto r = c.post("/api/v1/targets",
                    R"({"id":"me","kind":"process","pid":)" + me + R"(,"interval":")" + iv + "\"}");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << iv;
    EXPECT_NE(r->body.find("interval: at least 1s"), std::string::npos) << r->body;
  }
  auto r = c.post("/api/v1/targets",
                  R"({"id":"me","kind":"process","pid":)" + me + R"(,"interval":"1s"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u) << r->body;
}

TEST(HttpTargetsHardening, TargetsBeyondTheCapAre429) {
  test::fixture_options o;
  o.targets.max_targets = 2;
  http_fixture f(o);
  auto c = f.client();
  const std::string me = std::to_string(::getpid());
  const auto add = [&](const std::string& id) {
    return c.post("/api/v1/targets", R"({"id":")" + id + R"(","kind":"process","pid":)" + me +
                                         R"(,"interval":"10s"})");
  };
  for (const char* id : {"a", "b"}) {
    auto r = add(id);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 201u) << r->body;
  }
  auto r = add("c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 429u) << r->body;
  EXPECT_NE(r->body.find("at most 2"), std::string::npos) << r->body;
  // Removing one makes room again.
  r = c.del("/api/v1/targets/a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  r = add("c");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u) << r->body;
}

}  // namespace
