// net/: the one URL parser (what it refuses is what an attacker would send)
// and the allow-list that bounds where scrapes may connect.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>

#include "support/listener.hpp"
#include "vitals/http/guard.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/net/client.hpp"
#include "vitals/net/header_bytes.hpp"
#include "vitals/net/url.hpp"
#include "vitals/samplers/scrape.hpp"

namespace {

using namespace vitals;
namespace asio = boost::asio;
using asio::ip::tcp;

// What the client and the server put on the wire before a body: the start
// line and the fields, ending with the empty line, and nothing of the body.
TEST(NetHeaderBytes, AHeaderIsItsStartLineAndFieldsUpToTheEmptyLine) {
  namespace bhttp = boost::beast::http;
  bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/metrics?x=1", 11};
  req.set(bhttp::field::host, "127.0.0.1:9464");
  req.set(bhttp::field::content_type, "application/json");
  req.body() = R"({"a":1})";
  req.prepare_payload();
  bhttp::request<bhttp::empty_body> head{req.base()};
  EXPECT_EQ(net::header_bytes(head),
            "POST /v1/metrics?x=1 HTTP/1.1\r\nHost: 127.0.0.1:9464\r\n"
            "Content-Type: application/json\r\nContent-Length: 7\r\n\r\n");
  bhttp::response<bhttp::empty_body> res{bhttp::status::not_found, 11};
  EXPECT_EQ(net::header_bytes(res), "HTTP/1.1 404 Not Found\r\n\r\n");
}

TEST(NetUrl, SplitsWhatARequestNeeds) {
  auto u = net::parse_http_url("http://example.com:9100/metrics?x=1");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "example.com");
  EXPECT_EQ(u->port, "9100");
  EXPECT_EQ(u->target, "/metrics?x=1");
  EXPECT_EQ(u->host_header(), "example.com:9100");

  u = net::parse_http_url("http://[::1]:9100", "/metrics");
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->host, "::1");
  EXPECT_TRUE(u->ipv6);
  EXPECT_EQ(u->port, "9100");
  EXPECT_EQ(u->target, "/metrics");
  EXPECT_EQ(u->host_header(), "[::1]:9100");
  EXPECT_EQ(u->to_string(), "http://[::1]:9100/metrics");

  u = net::parse_http_url("http://127.0.0.1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->port, "80");
  EXPECT_EQ(u->target, "/");
  EXPECT_EQ(u->host_header(), "127.0.0.1");
}

TEST(NetUrl, RefusesInjectionCredentialsAndBadPorts) {
  const std::pair<std::string, std::string> cases[] = {
      {"http://127.0.0.1:9/m\r\nSET pwned 1\r\nX:", "control character or space at byte 20"},
      {"http://127.0.0.1:9/m\nX", "control character"},
      {"http://127.0.0.1:9/a b", "control character or space"},
      {std::string("http://h/\0x", 11), "control character"},
      {"http://user:pw@127.0.0.1/", "user info"},
      {"http://evil.example@127.0.0.1/", "user info"},
      {"http://h:0/", "bad port"},
      {"http://h:65536/", "bad port"},
      {"http://h:99999999999/", "bad port"},
      {"http://h:x/", "not a valid URL"},
      {"http://h:/", "bad port"},
      {"http://:80/", "no host"},
      {"http:///metrics", "no host"},
      {"http://[::1/", "not a valid URL"},
      {"http://[::1]x/", "not a valid URL"},
      {"http://[::1]:9x/", "not a valid URL"},
      {"http://h/#frag", "fragment"},
      {"ftp://h/", "must start with http://"},
      {"https://h/", "https"},
      {"http://" + std::string(9000, 'a'), "longer than"},
  };
  for (const auto& [text, why] : cases) {
    auto u = net::parse_http_url(text);
    ASSERT_FALSE(u) << text;
    EXPECT_NE(u.error().message.find(why), std::string::npos)
        << text << " -> " << u.error().message;
    EXPECT_EQ(u.error().message.find('\r'), std::string::npos) << "the error echoes the CR";
  }
}

TEST(NetUrl, EveryParserIsTheSameParser) {
  // The scrape sampler, the push sinks and the API client agree, IPv6 included.
  auto s = samplers::parse_http_url("http://[::1]:9100");
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(s->host, "::1");
  EXPECT_EQ(s->port, "9100");
  EXPECT_EQ(s->target, "/metrics");
  EXPECT_FALSE(samplers::parse_http_url("http://127.0.0.1:9/m\r\nX: y"));
  EXPECT_FALSE(net::client::from_url("http://u@127.0.0.1:9"));
  EXPECT_FALSE(net::client::from_url("http://127.0.0.1:9/api"));
  EXPECT_TRUE(net::client::from_url("http://[::1]:9/"));
}

TEST(NetUrl, HostAndOriginAuthoritiesGoThroughBoostUrl) {
  // The server's Host and Origin checks read an authority with the same parser.
  auto a = http::detail::split_authority("Monitor.LAN:9464");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "monitor.lan");
  EXPECT_EQ(a->port, "9464");
  a = http::detail::split_authority("[::1]:9100");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->port, "9100");
  a = http::detail::split_authority("localhost");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->port, "");
  for (const char* bad : {"", "u@localhost", "[::1", "[::1]x", "host:123456", "host:8x", "a b",
                          "evil.example/x", "%6cocalhost"})
    EXPECT_FALSE(http::detail::split_authority(bad)) << bad;
}

TEST(NetAllow, NamesRangesAndMappedAddresses) {
  net::allowlist a;
  ASSERT_TRUE(a.add("10.0.0.0/8"));
  ASSERT_TRUE(a.add("fd00::/8"));
  ASSERT_TRUE(a.add("192.168.1.7"));
  ASSERT_TRUE(a.add("Metrics.Internal"));
  using v = net::allowlist::verdict;
  EXPECT_EQ(a.check_host("10.1.2.3"), v::allowed);
  EXPECT_EQ(a.check_host("11.0.0.1"), v::refused);
  EXPECT_EQ(a.check_host("192.168.1.7"), v::allowed);
  EXPECT_EQ(a.check_host("192.168.1.8"), v::refused);
  EXPECT_EQ(a.check_host("fd12::1"), v::allowed);
  EXPECT_EQ(a.check_host("fe80::1"), v::refused);
  EXPECT_EQ(a.check_host("metrics.internal"), v::allowed);
  EXPECT_EQ(a.check_host("localhost"), v::resolve_first);
  // A name not listed is judged by where it resolves, a mapped address as IPv4.
  EXPECT_FALSE(a.allows("localhost", asio::ip::make_address("127.0.0.1")));
  EXPECT_TRUE(a.allows("localhost", asio::ip::make_address("10.9.9.9")));
  EXPECT_TRUE(a.allows(asio::ip::make_address("::ffff:10.0.0.1")));
  EXPECT_FALSE(a.allows(asio::ip::make_address("::ffff:127.0.0.1")));
  EXPECT_TRUE(net::allowlist{}.allows(asio::ip::make_address("127.0.0.1")));

  for (const char* bad : {"10.0.0.0/33", "::/129", "10.0.0.0/x", "host/8", "a b", "", "h\r\n"})
    EXPECT_FALSE(net::allowlist{}.add(bad)) << bad;
}

status scrape_once(samplers::scrape_sampler& s) {
  sample_batch out;
  asio::io_context io;
  auto f = asio::co_spawn(io, s.async_collect(out, now()), asio::use_future);
  io.run();
  return f.get();
}

TEST(NetAllow, ScrapesOutsideTheListNeverConnect) {
  test::listener listener;
  const auto port = listener.port();
  auto allow = std::make_shared<net::allowlist>();
  ASSERT_TRUE(allow->add("10.0.0.0/8"));

  EXPECT_FALSE(samplers::check_scrape_target("http://127.0.0.1:" + port + "/metrics", allow.get()));
  EXPECT_TRUE(samplers::check_scrape_target("http://10.0.0.1/metrics", allow.get()));
  // A name is judged when it resolves: localhost is loopback, outside the list.
  EXPECT_TRUE(samplers::check_scrape_target("http://localhost:" + port + "/metrics", allow.get()));
  samplers::scrape_sampler by_name("http://localhost:" + port + "/metrics",
                                   {.timeout = std::chrono::seconds(2), .allow = allow});
  auto r = scrape_once(by_name);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("outside the scrape allow-list"), std::string::npos)
      << r.error().message;
  EXPECT_FALSE(listener.someone_connected());

  // Allowed: the scrape connects (and times out: nobody answers).
  ASSERT_TRUE(allow->add("127.0.0.0/8"));
  samplers::scrape_sampler allowed("http://127.0.0.1:" + port + "/metrics",
                                   {.timeout = std::chrono::milliseconds(300), .allow = allow});
  EXPECT_FALSE(scrape_once(allowed));
  EXPECT_TRUE(listener.someone_connected());
}

}  // namespace
