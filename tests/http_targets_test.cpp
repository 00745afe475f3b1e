// The targets API end to end: track and untrack over HTTP, and specs
// refused with a 400 naming the field.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "support/helpers.hpp"
#include "support/http_api.hpp"
#include "support/http_fixture.hpp"
#include "vitals/http/targets.hpp"

namespace {

using namespace vitals;
using namespace vitals::test;
using namespace std::chrono_literals;

TEST(HttpTargets, TrackAndUntrackOverHttp) {
  http_fixture f;
  auto c = f.client();
  const std::string me = std::to_string(::getpid());
  auto r = c.post("/api/v1/targets", R"({"id":"me","kind":"process","pid":)" + me +
                                         R"(,"interval":"1s","labels":{"team":"infra"}})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201u) << r->body;
  EXPECT_EQ(json_of(*r).at("id"), "me");
  r = c.post("/api/v1/targets", R"({"id":"me","kind":"process","pid":)" + me + "}");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 409u);

  EXPECT_TRUE(eventually([&] {
    auto l = c.get("/api/v1/latest?sel=" +
                   net::url_encode("process_cpu_seconds_total{target=\"me\",team=\"infra\"}"));
    return l && json_of(*l).as_array().size() == 1;
  }));
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  auto list = json_of(*r).as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("kind"), "process");
  EXPECT_EQ(list[0].at("pid").as_int64(), ::getpid());
  EXPECT_GE(list[0].at("ticks").to_number<std::uint64_t>(), 1u);

  r = c.del("/api/v1/targets/me");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204u);
  r = c.del("/api/v1/targets/me");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  r = c.get("/api/v1/targets");
  ASSERT_TRUE(r);
  EXPECT_TRUE(json_of(*r).as_array().empty());
}

TEST(HttpTargets, BadSpecsAre400NamingTheField) {
  http_fixture f;
  auto c = f.client();
  const std::pair<std::string, std::string> cases[] = {
      {R"({"kind":"process","pid":1})", "id"},
      {R"({"id":"../x","kind":"process","pid":1})", "id"},
      {R"({"id":"a","kind":"vm"})", "kind"},
      {R"({"id":"a","kind":"process"})", "pid"},
      {R"({"id":"a","kind":"process","pid":999999999})", "pid"},
      {R"({"id":"a","kind":"process","pid":1,"colour":"red"})", "colour"},
      {R"({"id":"a","kind":"process","pid":1,"interval":"fast"})", "interval"},
      {R"({"id":"a","kind":"scrape","url":"ftp://x"})", "url"},
      {R"({"id":"a","kind":"cgroup","path":"../etc"})", "path"},
      {R"(not json)", "body"},
  };
  for (const auto& [body, field] : cases) {
    auto r = c.post("/api/v1/targets", body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400u) << body;
    EXPECT_NE(r->body.find(field), std::string::npos) << body << " -> " << r->body;
  }
}

}  // namespace
