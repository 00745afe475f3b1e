// The small parts of the HTTP layer on their own: query strings, times,
// ids, JSON errors and the static-file route's fixed table.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/core/ids.hpp"
#include "vitals/http/api.hpp"
#include "vitals/http/files.hpp"
#include "vitals/http/params.hpp"
#include "vitals/http/router.hpp"
#include "vitals/http/server.hpp"
#include "vitals/runtime/targets.hpp"

namespace {

using namespace vitals;
using namespace vitals::http;

TEST(HttpParams, DecodesAndReportsUnknownOrRepeatedNames) {
  EXPECT_EQ(percent_decode("a%20b+c%2Fd"), "a b c/d");
  EXPECT_FALSE(percent_decode("bad%2"));
  EXPECT_FALSE(percent_decode("bad%zz"));
  auto p = std::get<params>(params::parse("/x?sel=%7Bjob%3D%22a%22%7D&from=now-1h&access_token=t"));
  EXPECT_EQ(p.get("sel"), "{job=\"a\"}");
  EXPECT_EQ(p.access_token(), "t");
  EXPECT_FALSE(p.check({"sel", "from"}));
  auto unknown = p.check({"sel"});
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->name, "from");
  auto twice = std::get<params>(params::parse("/x?a=1&a=2")).check({"a"});
  ASSERT_TRUE(twice);
  EXPECT_NE(twice->message.find("twice"), std::string::npos);
  auto bad = params::parse("/x?sel=%G1");
  ASSERT_TRUE(std::holds_alternative<param_error>(bad));
  EXPECT_EQ(std::get<param_error>(bad).name, "sel");
  EXPECT_EQ(path_of("/api/v1/range?x=1"), "/api/v1/range");
}

TEST(HttpParams, TimesInEveryAcceptedForm) {
  const auto now = from_unix_ms(1'800'000'000'000);
  EXPECT_EQ(*parse_time("now", now), now);
  EXPECT_EQ(*parse_time("now-15m", now), now - std::chrono::minutes(15));
  EXPECT_EQ(to_unix_ms(*parse_time("1795000000.5", now)), 1'795'000'000'500);
  EXPECT_EQ(to_unix_ms(*parse_time("2026-11-26T10:00:00Z", now)), 1'795'687'200'000);
  EXPECT_EQ(*parse_time("2026-11-26T11:30:00.25+01:30", now),
            *parse_time("2026-11-26T10:00:00.250Z", now));
  for (const char* bad : {"", "yesterday", "now-", "now-5", "2026-02-30T00:00:00Z",
                          "2026-11-26T10:00:00", "-5", "1e20", "2026-11-26T24:00:00Z"})
    EXPECT_FALSE(parse_time(bad, now)) << bad;
  EXPECT_EQ(to_rfc3339(from_unix_ms(1'795'687'200'250)), "2026-11-26T10:00:00.250Z");
}

TEST(HttpParams, SafeIdsNeverClimbOutOfADirectory) {
  EXPECT_TRUE(is_safe_id("agent-1.v2_x"));
  EXPECT_TRUE(is_safe_id(std::string(128, 'a')));
  for (std::string_view bad : {"", ".", "..", "a/b", "a b", "../x", "a\\b"})
    EXPECT_FALSE(is_safe_id(bad)) << bad;
  EXPECT_FALSE(is_safe_id(std::string(129, 'a')));
  EXPECT_FALSE(check_target_id("a/b"));
}

TEST(HttpParams, JsonErrorsEscapeAndNameTheParameter) {
  auto res = json_error(bhttp::status::bad_request, "bad \"x\"\n", 11, "sel");
  EXPECT_EQ(res.result_int(), 400u);
  auto v = boost::json::parse(res.body());
  EXPECT_EQ(v.at("error"), "bad \"x\"\n");
  EXPECT_EQ(v.at("parameter"), "sel");
  EXPECT_EQ(value_json(2.0), boost::json::value(2));
  EXPECT_EQ(value_json(std::nan("")), boost::json::value("NaN"));
}

TEST(HttpFiles, ServesOnlyItsTableAndSaysWhenAFileIsMissing) {
  test::temp_dir dir;
  std::FILE* f = std::fopen((dir.path() / "index.html").c_str(), "w");
  std::fputs("<html>hi</html>", f);
  std::fclose(f);
  auto files = files_route::dashboard(dir.path());
  EXPECT_TRUE(files.matches("/"));
  EXPECT_TRUE(files.matches("/app.js"));
  EXPECT_TRUE(files.matches("/charts.js"));
  EXPECT_TRUE(files.matches("/agent.js"));
  EXPECT_TRUE(files.matches("/targets.js"));
  EXPECT_FALSE(files.matches("/views.js"));
  EXPECT_FALSE(files.matches("/../etc/passwd"));
  EXPECT_FALSE(files.matches("/index.html/.."));
  boost::asio::io_context io;
  request req{bhttp::verb::get, "/", 11};
  std::optional<response> res;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        tcp::socket s(io);
        vitals::http::detail::connection c(std::move(s), {}, {});
        exchange ex(c);
        res = co_await files.handle(req, ex);
        request js{bhttp::verb::get, "/app.js", 11};
        auto missing = co_await files.handle(js, ex);
        EXPECT_EQ(missing->result_int(), 404u);
      },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->body(), "<html>hi</html>");
  EXPECT_EQ((*res)[bhttp::field::content_type], "text/html; charset=utf-8");
}

}  // namespace
