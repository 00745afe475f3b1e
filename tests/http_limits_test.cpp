// What guards every route, end to end: the bearer token (all but /healthz),
// body and header limits, Expect: 100-continue and the connection cap.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_fixture.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

TEST(HttpAuth, TokenGuardsEverythingButHealthz) {
  test::fixture_options o;
  o.server.token = "s3cret";
  http_fixture f(o);
  auto c = f.client();
  auto r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  EXPECT_EQ(r->headers["www-authenticate"], "Bearer realm=\"vitals\"");
  r = c.get("/api/v1/series", {{"Authorization", "Bearer wrong"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401u);
  r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  r = c.get("/api/v1/series?access_token=s3cret");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  c.set_token("s3cret");
  r = c.get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "401") == 2; }));
}

TEST(HttpLimits, OversizedBodyIs413) {
  http_fixture f;
  raw_socket s(f.port());
  ASSERT_TRUE(s.connected());
  ASSERT_TRUE(
      s.send("POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             "Content-Length: 2000000\r\n\r\n" +
             std::string(64 * 1024, ' ')));
  ASSERT_TRUE(s.read_until("\r\n\r\n"));
  EXPECT_TRUE(s.received().starts_with("HTTP/1.1 413")) << s.received();
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "413") == 1; }));
}

TEST(HttpLimits, ExpectContinueGetsTheGoAheadThenTheAnswer) {
  http_fixture f;
  raw_socket s(f.port());
  const std::string body = R"({"message_id":"e1","input_tokens":5})";
  ASSERT_TRUE(
      s.send("POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             "Expect: 100-continue\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n"));
  ASSERT_TRUE(s.read_until("HTTP/1.1 100 Continue\r\n\r\n", 2s)) << s.received();
  ASSERT_TRUE(s.send(body));
  ASSERT_TRUE(s.read_until("\"accepted\":1"));
  EXPECT_NE(s.received().find("HTTP/1.1 200 OK"), std::string::npos);
}

TEST(HttpLimits, OversizedHeaderIs431AndMalformedRequestIs400) {
  http_fixture f;
  raw_socket big(f.port());
  ASSERT_TRUE(big.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " +
                       std::string(20000, 'a') + "\r\n\r\n"));
  ASSERT_TRUE(big.read_until("\r\n\r\n"));
  EXPECT_TRUE(big.received().starts_with("HTTP/1.1 431")) << big.received();
  raw_socket bad(f.port());
  ASSERT_TRUE(bad.send("GET /healthz HTTP/9.Z\r\n\r\n"));
  ASSERT_TRUE(bad.read_until("\r\n\r\n"));
  EXPECT_TRUE(bad.received().starts_with("HTTP/1.1 400")) << bad.received();
}

TEST(HttpLimits, ConnectionsOverTheCapGet503AndOthersStillWork) {
  test::fixture_options o;
  o.server.max_connections = 4;
  http_fixture f(o);
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(std::make_unique<raw_socket>(f.port()));
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(held.back()->read_until("\r\n\r\n"));  // accepted and kept alive
  }
  raw_socket extra(f.port());
  ASSERT_TRUE(extra.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(extra.read_until("\r\n\r\n"));
  EXPECT_TRUE(extra.received().starts_with("HTTP/1.1 503")) << extra.received();
  EXPECT_EQ(f.counter("vitals_http_refused_connections"), 1);
  held.pop_back();  // one leaves: a new client gets in
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_connections") == 3; }));
  auto c = f.client();
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

}  // namespace
