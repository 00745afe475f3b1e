// The server's guard and limits against hostile clients: Host (DNS
// rebinding), Origin and Content-Type (CSRF) without a token, the token
// before any `100 Continue`, HEAD, chunk extension and trailer bombs, the
// per-address connection cap and the bounded SSE replay.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/http/guard.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;
using test::eventually;
using test::http_fixture;
using test::raw_socket;
namespace bhttp = boost::beast::http;

std::string target_body(std::string_view id) {
  return R"({"id":")" + std::string(id) + R"(","kind":"process","pid":)" +
         std::to_string(::getpid()) + "}";
}

std::string field_of(const net::client_response& r) {
  auto v = boost::json::parse(r.body);
  const auto* p = v.as_object().if_contains("parameter");
  return p ? std::string(p->as_string()) : "";
}

TEST(HttpGuard, CrossOriginOrNonJsonPostsAreRefusedWithoutAToken) {
  http_fixture f;
  auto c = f.client();
  // What a page on evil.example can send without a preflight.
  auto r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("a"), "text/plain",
                     {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u) << r->body;
  EXPECT_EQ(field_of(*r), "Origin");
  r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("a"), "application/json",
                {{"Origin", "null"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", ""}) {
    r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("a"), type);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 415u) << type;
    EXPECT_EQ(field_of(*r), "Content-Type");
    if (*type) {
      EXPECT_NE(r->body.find(type), std::string::npos) << r->body;
    }
  }
  // NDJSON only where events are taken.
  r = c.post("/api/v1/targets", target_body("a"), "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 415u);
  r = c.post("/api/v1/events", R"({"message_id":"m1","input_tokens":1})", "application/x-ndjson");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u) << r->body;
  auto list = c.get("/api/v1/targets");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->body, "[]");
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "415") == 4; }));
  EXPECT_EQ(f.counter("vitals_http_requests", "route", "cross_origin"), 2);
}

TEST(HttpGuard, SameOriginJsonPostsAreAccepted) {
  http_fixture f;
  auto c = f.client();
  const std::string origin = "http://127.0.0.1:" + std::to_string(f.port());
  auto r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("me"),
                     "application/json; charset=utf-8", {{"Origin", origin}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u) << r->body;
  // Same host, another port: another origin.
  r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("me2"), "application/json",
                {{"Origin", "http://127.0.0.1:1"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  // A bodiless DELETE needs no Content-Type; from another origin it is refused.
  r = c.request(bhttp::verb::delete_, "/api/v1/targets/me", {}, {},
                {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403u);
  r = c.del("/api/v1/targets/me");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
}

TEST(HttpGuard, ForeignHostIsRefusedOnEveryRoute) {
  http_fixture f;
  auto c = f.client();
  for (const char* target : {"/metrics", "/healthz", "/api/v1/series", "/nope"}) {
    auto r = c.get(target, {{"Host", "evil.example"}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 421u) << target;
    EXPECT_EQ(field_of(*r), "Host");
  }
  auto r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("a"), "application/json",
                     {{"Host", "evil.example:9464"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421u);
  for (const char* host : {"evil.example", "127.0.0.1.evil.example", "localhost.evil", "[::1",
                           "a:b:c", "localhost:80x"}) {
    r = c.get("/healthz", {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 421u) << host;
  }
  for (const char* host :
       {"localhost", "LOCALHOST:9464", "127.0.0.1", "127.8.9.10:80", "[::1]", "[::1]:9464"}) {
    r = c.get("/healthz", {{"Host", host}});
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200u) << host;
  }
  EXPECT_EQ(f.counter("vitals_http_requests", "route", "misdirected"), 11);
}

TEST(HttpGuard, AllowedHostsAreAcceptedAndTheTokenReplacesTheCsrfChecks) {
  test::fixture_options o;
  o.server.allowed_hosts = {"monitor.lan"};
  o.server.token = "s3cret";
  http_fixture f(o);
  auto c = f.client();
  c.set_token("s3cret");
  auto r = c.get("/api/v1/series", {{"Host", "Monitor.LAN:9464"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  r = c.get("/api/v1/series",
            {{"Host", "evil.example"}});  // the token does not lift the Host check
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 421u);
  // With the token, neither Origin nor Content-Type matter.
  r = c.request(bhttp::verb::post, "/api/v1/targets", target_body("me"), "text/plain",
                {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 201u) << r->body;
}

TEST(HttpGuard, AWrongTokenGets401BeforeAnyContinue) {
  test::fixture_options o;
  o.server.token = "s3cret";
  http_fixture f(o);
  const std::string body = R"({"message_id":"e1","input_tokens":5})";
  struct attempt {
    std::string headers, status;
  };
  for (const auto& [headers, status] :
       {attempt{"Host: localhost\r\nAuthorization: Bearer wrong\r\n", "HTTP/1.1 401"},
        attempt{"Host: localhost\r\n", "HTTP/1.1 401"},
        attempt{"Host: evil.example\r\nAuthorization: Bearer s3cret\r\n", "HTTP/1.1 421"}}) {
    raw_socket s(f.port());
    ASSERT_TRUE(s.send("POST /api/v1/events HTTP/1.1\r\n" + headers +
                       "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                       "Content-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n"));
    ASSERT_TRUE(s.read_until("\r\n\r\n", 3s)) << headers;
    EXPECT_TRUE(s.received().starts_with(status)) << s.received();
    EXPECT_EQ(s.received().find("100 Continue"), std::string::npos);
    EXPECT_TRUE(s.read_to_eof(3s));  // the body was never read: the connection ends
  }
  EXPECT_EQ(f.counter("vitals_agent_tokens"), 0);
}

TEST(HttpGuard, HeadAnswersEveryGetRouteWithoutTheBody) {
  http_fixture f;
  ASSERT_TRUE(f.store().append(
      std::vector<sample>{{series("cpu", {{"target", "a"}}), vitals::now(), 1.5}}));
  auto c = f.client();
  for (const char* target : {"/healthz", "/api/v1/series"}) {
    auto get = c.get(target);
    auto head = c.request(bhttp::verb::head, target, {}, {});
    ASSERT_TRUE(get && head);
    EXPECT_EQ(head->status, 200u) << target;
    EXPECT_TRUE(head->body.empty());
    EXPECT_EQ(head->headers["content-length"], std::to_string(get->body.size())) << target;
    EXPECT_EQ(head->headers["content-type"], get->headers["content-type"]);
  }
  auto head = c.request(bhttp::verb::head, "/metrics", {}, {});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200u);
  EXPECT_TRUE(head->body.empty());
  EXPECT_GT(std::stoul(std::string(head->headers["content-length"])), 100u);
  auto after = c.get("/healthz");  // the kept-alive connection is still in step
  ASSERT_TRUE(after);
  EXPECT_EQ(after->body, R"({"status":"ok"})");
  head = c.request(bhttp::verb::head, "/api/v1/events", {}, {});
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 405u);

  raw_socket s(f.port());  // the SSE route: its header, then the end
  ASSERT_TRUE(s.send("HEAD /api/v1/watch HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(s.read_to_eof(3s));
  EXPECT_TRUE(s.received().starts_with("HTTP/1.1 200")) << s.received();
  EXPECT_NE(s.received().find("text/event-stream"), std::string::npos);
  EXPECT_EQ(s.received().find("retry:"), std::string::npos);
}

/// Sends `head`, then `filler` up to `total` bytes (under what the server
/// drains after refusing, so no reset loses its answer); returns the
/// answer's first 12 bytes ("HTTP/1.1 431").
std::string send_bomb(std::uint16_t port, const std::string& head, char filler, std::size_t total) {
  raw_socket s(port);
  if (!s.send(head)) return "";
  const std::string block(64 * 1024, filler);
  for (std::size_t sent = 0; sent < total; sent += block.size())
    if (!s.send(block)) break;
  if (!s.read_until("\r\n", 5s)) return s.received();
  return s.received().substr(0, 12);
}

TEST(HttpGuard, ChunkExtensionAndTrailerBombsAreRefused) {
  http_fixture f;
  const std::string chunked =
      "POST /api/v1/events HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  // One endless chunk extension, then one endless trailer field.
  EXPECT_EQ(send_bomb(f.port(), chunked + "1;ext=", 'a', 256u << 10), "HTTP/1.1 431");
  EXPECT_EQ(send_bomb(f.port(), chunked + "1\r\n{\r\n0\r\nX-Trailer: ", 'b', 256u << 10),
            "HTTP/1.1 431");
  // Many small extensions: each line is short, together they are over the limit.
  std::string many = chunked;
  for (int i = 0; i < 40; ++i) many += "1;" + std::string(1000, 'x') + "\r\n \r\n";
  raw_socket s(f.port());
  ASSERT_TRUE(s.send(many));
  ASSERT_TRUE(s.read_until("\r\n"));
  EXPECT_TRUE(s.received().starts_with("HTTP/1.1 431")) << s.received().substr(0, 200);
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_requests", "code", "431") == 3; }));
  // Still serving.
  auto c = f.client();
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

/// A connection from another loopback address (the kernel routes all of
/// 127/8 to lo), so the per-address cap can be told from the total one.
int connect_from(const char* source, std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  ::inet_pton(AF_INET, source, &a.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), -1;
  a.sin_port = htons(port);
  ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return ::close(fd), -1;
  return fd;
}

TEST(HttpGuard, OneAddressCannotTakeEveryConnection) {
  test::fixture_options o;
  o.server.max_connections = 16;
  o.server.max_connections_per_address = 3;
  http_fixture f(o);
  std::vector<std::unique_ptr<raw_socket>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<raw_socket>(f.port()));
    ASSERT_TRUE(held.back()->send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    ASSERT_TRUE(held.back()->read_until("\r\n\r\n"));
  }
  raw_socket extra(f.port());
  ASSERT_TRUE(extra.send("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  ASSERT_TRUE(extra.read_until("\r\n\r\n"));
  EXPECT_TRUE(extra.received().starts_with("HTTP/1.1 503")) << extra.received();
  EXPECT_TRUE(eventually(
      [&] { return f.counter("vitals_http_refused_connections", "cause", "per_address") == 1; }));
  // Another address still gets in.
  const int other = connect_from("127.0.0.2", f.port());
  ASSERT_GE(other, 0);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  ASSERT_EQ(::send(other, req.data(), req.size(), MSG_NOSIGNAL), ssize_t(req.size()));
  char buf[64] = {};
  timeval tv{5, 0};
  ::setsockopt(other, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ASSERT_GT(::recv(other, buf, sizeof buf - 1, 0), 12);
  ::close(other);
  EXPECT_TRUE(std::string_view(buf).starts_with("HTTP/1.1 200")) << buf;
  held.pop_back();  // one leaves: its address may connect again
  EXPECT_TRUE(eventually([&] { return f.counter("vitals_http_connections") == 2; }));
  auto c = f.client();
  auto r = c.get("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
}

TEST(HttpGuard, SseReplayIsBoundedToTheNewestSamples) {
  test::fixture_options o;
  o.sse.max_replay = 50;
  http_fixture f(o);
  const auto base = to_unix_ms(vitals::now()) - 300'000;
  std::vector<sample> past;
  for (int i = 0; i < 100; ++i)
    for (const char* t : {"a", "b"})
      past.push_back({series("cpu", {{"target", t}}), from_unix_ms(base + i * 1000), double(i)});
  ASSERT_TRUE(f.store().append(past));
  raw_socket s(f.port());
  ASSERT_TRUE(
      s.send("GET /api/v1/watch?sel=cpu HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 0\r\n\r\n"));
  ASSERT_TRUE(eventually([&] {
    s.read_until("never", 50ms);
    return s.count("event: sample") >= 50;
  })) << s.received().substr(0, 400);
  s.read_until("never", 200ms);  // nothing more comes
  EXPECT_EQ(s.count("event: sample"), 50u) << s.received().substr(0, 400);
  EXPECT_NE(s.received().find("event: dropped\ndata: {\"dropped\":150,\"cause\":\"replay_limit\"}"),
            std::string::npos);
  // The newest 50: the last 25 of each series, the oldest of them first.
  EXPECT_EQ(s.received().find("\"v\":74}"), std::string::npos);
  EXPECT_LT(s.received().find("\"v\":75}"), s.received().find("\"v\":99}"));
  EXPECT_EQ(f.counter("vitals_http_sse_replay_skipped"), 150);
}

TEST(HttpGuard, SseReplayReachesBackOnlyOverItsWindow) {
  test::fixture_options o;
  o.sse.max_replay_window = std::chrono::minutes(1);
  http_fixture f(o);
  const auto t = vitals::now();
  ASSERT_TRUE(f.store().append(
      std::vector<sample>{{series("cpu", {{"target", "a"}}), t - std::chrono::minutes(10), 1},
                          {series("cpu", {{"target", "a"}}), t - std::chrono::seconds(10), 2}}));
  raw_socket s(f.port());
  ASSERT_TRUE(
      s.send("GET /api/v1/watch?sel=cpu HTTP/1.1\r\nHost: localhost\r\nLast-Event-ID: 0\r\n\r\n"));
  ASSERT_TRUE(eventually([&] {
    s.read_until("never", 50ms);
    return s.count("event: sample") >= 1;
  })) << s.received().substr(0, 400);
  s.read_until("never", 200ms);
  EXPECT_EQ(s.count("event: sample"), 1u) << s.received();  // the 10-minute-old one is not read
  EXPECT_NE(s.received().find("\"v\":2}"), std::string::npos);
}

}  // namespace
