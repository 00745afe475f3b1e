// stores/null.hpp: a store by the concept that keeps nothing, and a /metrics
// over it that serves the registry alone (the minimal exporter's shape).
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "vitals/http/api.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/http/metrics_route.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/stores/latest.hpp"
#include "vitals/stores/null.hpp"

namespace {

using namespace vitals;

static_assert(store<stores::null_store>);
static_assert(latest_all_store<stores::null_store>);

TEST(NullStore, TakesEveryBatchAndAnswersEveryQueryEmpty) {
  stores::null_store s;
  const series cpu("cpu_seconds_total", {{"target", "a"}});
  const std::vector<sample> batch{{cpu, from_unix_ms(1000), 1.0}, {cpu, from_unix_ms(2000), 2.0}};
  ASSERT_TRUE(s.append(batch));
  ASSERT_TRUE(s.append(batch));
  EXPECT_EQ(s.samples(), 4u);
  EXPECT_FALSE(s.latest(cpu));
  EXPECT_TRUE(s.range(cpu, from_unix_ms(0), from_unix_ms(10'000)).empty());
  EXPECT_TRUE(s.list_series().empty());
  EXPECT_TRUE(s.latest_all().empty());
  EXPECT_TRUE(stores::latest_points(s).empty());
}

TEST(NullStore, APipelineOverItSucceeds) {
  stores::null_store s;
  pipeline pipe(s);
  const std::vector<sample> batch{{series("up", {}), now(), 1.0}};
  EXPECT_TRUE(pipe.push(batch));
  EXPECT_EQ(pipe.store_failures(), 0u);
  EXPECT_EQ(s.samples(), 1u);
}

TEST(NullStore, MetricsOverItServeTheRegistryOnly) {
  registry reg;
  reg.counter("jobs_done_total", "Jobs finished.").inc(3);
  stores::null_store s;
  const std::vector<sample> batch{{series("stored_only", {}), now(), 1.0}};
  ASSERT_TRUE(s.append(batch));
  http::metrics_route route(reg, s);

  boost::asio::io_context io;
  http::detail::connection conn{http::tcp::socket{io}, {}, {}};
  http::exchange ex(conn);
  http::request req{http::bhttp::verb::get, "/metrics", 11};
  std::optional<http::response> res;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { res = co_await route.handle(req, ex); },
      boost::asio::detached);
  io.run();
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result_int(), 200u);
  EXPECT_NE(res->body().find("jobs_done_total 3"), std::string::npos) << res->body();
  EXPECT_EQ(res->body().find("stored_only"), std::string::npos) << res->body();
}

}  // namespace
