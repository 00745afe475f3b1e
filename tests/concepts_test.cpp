// The concepts (core/concepts.hpp and the three homes above core): each
// archetype models its concept, each near miss (one numbered requirement
// broken) does not, the real backends model what they claim; and the optional
// capabilities are used when present: /metrics and /api/v1/latest read a
// latest_all_store's latest points in one call, and a versioned_store's
// /metrics part once per version.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>
#include <string>

#include "support/archetypes.hpp"
#include "support/layer_archetypes.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/core/event_storage.hpp"
#include "vitals/core/sampling.hpp"
#include "vitals/core/sinking.hpp"
#include "vitals/core/storage.hpp"
#include "vitals/core/watching.hpp"
#include "vitals/http/api.hpp"
#include "vitals/http/exchange.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/stores/event_memory.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/sqlite.hpp"
#include "vitals/stores/tiered.hpp"

namespace {

using namespace vitals;
using namespace vitals::archetypes;
using stores::range_query;
using stores::selector;
using Q = query_archetype;
using Sel = selector_archetype;

// --- sampling (core/sampling.hpp) ------------------------------------------
/// An async sampler as the bundled poller awaits it.
struct asio_sampler {
  boost::asio::awaitable<status> async_collect(sample_batch& out, timestamp now) {
    out.push_back({series("asio_up", {}), now, 1});
    co_return status{};
  }
  std::string_view name() const { return "asio"; }
};
static_assert(async_sampler<async_sampler_archetype> && !sampler<async_sampler_archetype>);
static_assert(async_sampler<asio_sampler>);
static_assert(any_sampler_kind<sampler_archetype> && any_sampler_kind<async_sampler_archetype>);
static_assert(!any_sampler_kind<sink_archetype>);
static_assert(!async_sampler<async_sampler_returning_status>);
static_assert(!async_sampler<async_sampler_without_name>);
// The poller pins what the shape leaves open: Asio's awaitable.
static_assert(vitals::detail::asio_async_sampler<asio_sampler>);
static_assert(!vitals::detail::asio_async_sampler<async_sampler_archetype>);
static_assert(snapshot_source<snapshot_source_archetype> && snapshot_source<registry>);
static_assert(samplers::snapshot_source<registry>);  // the old spelling still works
static_assert(!snapshot_source<snapshot_source_collecting_mutably>);

// --- storage (core/storage.hpp) --------------------------------------------
static_assert(latest_all_store<latest_all_store_archetype> && !latest_all_store<store_archetype>);
static_assert(!latest_all_store<latest_all_without_store>);
static_assert(!latest_all_store<latest_all_as_map>);
static_assert(versioned_store<versioned_store_archetype>);
static_assert(!versioned_store<latest_all_store_archetype>);
static_assert(!versioned_store<versioned_without_latest_all>);
static_assert(!versioned_store<versioned_by_signed_number>);
static_assert(aggregating_store<aggregating_store_archetype<Q>, Q>);
static_assert(aggregating_store<aggregating_store_archetype<range_query>, range_query>);
static_assert(!aggregating_store<aggregating_store_archetype<Q>, range_query>);
static_assert(!aggregating_store<aggregating_without_result<Q>, Q>);
static_assert(!aggregating_store<store_archetype, Q>);
static_assert(downsampling_store<downsampling_store_archetype<Q>, Q>);
static_assert(!downsampling_store<downsampling_without_store<Q>, Q>);
static_assert(!downsampling_store<aggregating_store_archetype<Q>, Q>);
static_assert(label_dropping_store<label_dropping_store_archetype>);
static_assert(!label_dropping_store<store_archetype>);
static_assert(!label_dropping_store<label_dropping_by_count>);
static_assert(!label_dropping_store<label_dropping_without_store>);
static_assert(hot_tier<hot_tier_archetype<Q, Sel>, Q, Sel>);
static_assert(hot_tier<hot_tier_archetype<range_query, selector>, range_query, selector>);
static_assert(!hot_tier<hot_tier_without_earliest<Q, Sel>, Q, Sel>);
static_assert(!hot_tier<downsampling_store_archetype<Q>, Q, Sel>);  // not watchable
// The bundled stores, as the code that uses them asks.
static_assert(hot_tier<stores::memory_store, range_query, selector>);
static_assert(versioned_store<stores::memory_store>);
static_assert(aggregating_store<stores::sqlite_store, range_query>);
using tiered_store = stores::tiered<stores::memory_store, stores::sqlite_store>;
static_assert(versioned_store<tiered_store> && aggregating_store<tiered_store, range_query>);
static_assert(label_dropping_store<stores::memory_store> &&
              label_dropping_store<stores::sqlite_store> && label_dropping_store<tiered_store>);

// --- watching (core/watching.hpp) ------------------------------------------
static_assert(watch_subscription<subscription_archetype>);
static_assert(watch_subscription<stores::subscription>);
static_assert(!watch_subscription<subscription_without_dropped>);
static_assert(!watch_subscription<subscription_draining_into>);
static_assert(watchable<watchable_archetype<Sel>, Sel>);
static_assert(!watchable<watchable_archetype<Sel>, selector>);
static_assert(!watchable<watchable_without_subscription<Sel>, Sel>);
static_assert(!watchable<watchable_borrowing_selector<Sel>, Sel>);
static_assert(!watchable<store_archetype, Sel>);
static_assert(watchable<stores::memory_store, selector> && watchable<tiered_store, selector>);

// --- events (core/event_storage.hpp) ---------------------------------------
static_assert(event_store<event_store_archetype> && event_store<stores::event_memory_store>);
static_assert(!event_store<event_store_without_read_by_type>);
static_assert(!event_store<event_store_append_without_version>);

// --- above core: runtime/targets.hpp, agent/usage_store.hpp, http/concepts.hpp
static_assert(target_manager<target_manager_archetype>);
static_assert(!target_manager<target_manager_without_list>);
static_assert(!target_manager<target_manager_throwing_add>);
static_assert(agent::usage_store<usage_store_archetype> && agent::usage_store<agent::usage_memory>);
static_assert(!agent::usage_store<usage_store_without_count>);
static_assert(!agent::usage_store<usage_store_counting_unchecked>);
static_assert(agent::limit_store<limit_store_archetype> && agent::limit_store<agent::usage_memory>);
static_assert(!agent::limit_store<usage_store_archetype>);
static_assert(!agent::limit_store<limit_store_unchecked>);
static_assert(http::request_handler<request_handler_archetype>);
static_assert(!http::request_handler<request_handler_blocking>);
static_assert(http::route<route_archetype> && http::request_handler<route_archetype>);
static_assert(!http::route<route_without_allow>);
static_assert(!http::route<request_handler_archetype>);
using ledger_type = agent::ledger<agent::usage_memory>;
static_assert(http::event_ingest<event_ingest_archetype> && http::event_ingest<ledger_type>);
static_assert(!http::event_ingest<event_ingest_all_or_nothing>);
static_assert(!http::event_ingest<event_ingest_without_lines>);
static_assert(http::usage_reports<usage_reports_archetype>);
static_assert(http::usage_reports<agent::usage_reports<agent::usage_memory, stores::memory_store>>);
static_assert(!http::usage_reports<usage_reports_without_blocks>);
static_assert(!http::usage_reports<usage_reports_without_host>);
static_assert(http::spool_source<spool_source_archetype> && http::spool_source<ledger_type>);
static_assert(!http::spool_source<spool_source_mutating>);

// --- the optional capabilities in use ----------------------------------------
/// A store without latest_all that counts the lookups it answers.
struct counted_store : store_archetype {
  std::optional<point> latest(const series& id) {
    ++latest_calls;
    return store_archetype::latest(id);
  }
  int latest_calls = 0;
};
/// The same with latest_all, counted too.
struct counted_latest_all_store : counted_store {
  std::vector<std::pair<series, point>> latest_all() {
    ++latest_all_calls;
    std::vector<std::pair<series, point>> out;
    for (const auto& [s, pts] : data)
      if (!pts.empty()) out.emplace_back(s, pts.back());
    return out;
  }
  int latest_all_calls = 0;
};
/// And versioned: the version moves with every append.
struct counted_versioned_store : counted_latest_all_store {
  status append(std::span<const sample> batch) {
    ++version_;
    return counted_latest_all_store::append(batch);
  }
  std::uint64_t version() { return version_; }
  std::uint64_t version_ = 0;
};
static_assert(!latest_all_store<counted_store> && latest_all_store<counted_latest_all_store>);
static_assert(!versioned_store<counted_latest_all_store>);
static_assert(versioned_store<counted_versioned_store>);

template <store S>
void fill(S& s, timestamp t) {
  std::vector<sample> batch;
  for (const char* target : {"a", "b", "c"})
    batch.push_back({series("archetype_cpu", {{"target", target}}), t, 1.5});
  ASSERT_TRUE(s.append(batch));
}

/// One request through `route`, without a socket: the answer's body.
template <class Route>
std::string get(Route& route, const std::string& target) {
  boost::asio::io_context io;
  http::detail::connection conn{http::tcp::socket{io}, {}, {}};
  http::exchange ex(conn);
  http::request req{http::bhttp::verb::get, target, 11};
  std::optional<http::response> res;
  boost::asio::co_spawn(
      io, [&]() -> boost::asio::awaitable<void> { res = co_await route.handle(req, ex); },
      boost::asio::detached);
  io.run();
  if (!res || res->result_int() != 200) return "no 200 for " + target;
  return res->body();
}

TEST(LatestAllStore, MetricsReadsEveryLatestPointInOneCall) {
  registry reg;
  counted_store plain;
  counted_latest_all_store one_pass;
  fill(plain, from_unix_ms(1000));
  fill(one_pass, from_unix_ms(1000));
  http::metrics_route by_series(reg, plain);
  http::metrics_route at_once(reg, one_pass);

  const auto expected = get(by_series, "/metrics");
  EXPECT_EQ(plain.latest_calls, 3);  // the fallback: one lookup per series
  EXPECT_NE(expected.find("archetype_cpu{target=\"c\"} 1.5"), std::string::npos) << expected;
  EXPECT_EQ(get(at_once, "/metrics"), expected);
  EXPECT_EQ(get(at_once, "/metrics"), expected);
  EXPECT_EQ(one_pass.latest_all_calls, 2);  // not versioned: once per request
  EXPECT_EQ(one_pass.latest_calls, 0);
}

TEST(LatestAllStore, ApiLatestReadsEveryLatestPointInOneCall) {
  counted_store plain;
  counted_latest_all_store one_pass;
  fill(plain, from_unix_ms(1000));
  fill(one_pass, from_unix_ms(1000));
  http::query_routes by_series(plain);
  http::query_routes at_once(one_pass);

  const auto target = std::string("/api/v1/latest?sel=") + "archetype_cpu%7Btarget%21%3D%22b%22%7D";
  const auto expected = get(by_series, target);
  EXPECT_EQ(plain.latest_calls, 2);  // the fallback: one lookup per matching series
  EXPECT_NE(expected.find("\"target\":\"c\""), std::string::npos) << expected;
  EXPECT_EQ(expected.find("\"target\":\"b\""), std::string::npos) << expected;
  EXPECT_EQ(get(at_once, target), expected);
  EXPECT_EQ(one_pass.latest_all_calls, 1);
  EXPECT_EQ(one_pass.latest_calls, 0);
}

TEST(VersionedStore, MetricsRendersTheStorePartOncePerVersion) {
  registry reg;
  counted_versioned_store s;
  fill(s, from_unix_ms(1000));
  http::metrics_route route(reg, s);
  const auto first = get(route, "/metrics");
  EXPECT_EQ(get(route, "/metrics"), first);
  EXPECT_EQ(s.latest_all_calls, 1);  // the second answer came from the rendered text
  fill(s, from_unix_ms(2000));
  EXPECT_EQ(get(route, "/metrics"), first);  // same values, yet read again
  EXPECT_EQ(s.latest_all_calls, 2);
  EXPECT_EQ(s.latest_calls, 0);
}

}  // namespace
