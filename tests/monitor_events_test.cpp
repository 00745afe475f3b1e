// The monitor's lifecycle events: bounded queries and pruning in the event
// stores, the feed that wakes readers, the lifecycle watch (agent/lifecycle.hpp)
// and, against the running agent_monitor, tracked and untracked targets in
// GET /api/v1/events/log and its SSE stream, kept across a restart, and
// hostile parameters refused by name.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <atomic>

#include "support/child.hpp"
#include "support/helpers.hpp"
#include "support/postgres_server.hpp"
#include "vitals/agent/lifecycle.hpp"
#include "vitals/core/detail/spool.hpp"
#include "vitals/http/event_log.hpp"
#include "vitals/net/client.hpp"
#include "vitals/runtime/event_feed.hpp"
#include "vitals/runtime/hub_subscription.hpp"
#include "vitals/stores/event_memory.hpp"
#include "vitals/stores/event_postgres.hpp"
#include "vitals/stores/event_sqlite.hpp"
#include "vitals/stores/memory.hpp"

namespace {

using namespace vitals;
using namespace std::chrono_literals;
using test::temp_dir;

event at(std::string type, timestamp t) {
  event e;
  e.type = std::move(type);
  e.t = t;
  e.data = "{}";
  return e;
}

template <class Store>
void expect_bounded_queries_and_pruning(Store& s) {
  const auto t0 = now() - 10h;
  std::vector<event> evs;
  for (int i = 0; i < 10; ++i) evs.push_back(at(i % 2 ? "b" : "a", t0 + i * 1h));
  ASSERT_EQ(*s.append("m", evs), 10);
  ASSERT_EQ(*s.append("other", std::vector{at("a", t0)}), 1);

  auto versions = [](const result<std::vector<stored_event>>& r) {
    std::vector<std::int64_t> v;
    for (const auto& e : *r) v.push_back(e.version);
    return v;
  };
  EXPECT_EQ(versions(s.query({.stream = "m", .limit = 3})), (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(versions(s.query({.stream = "m", .limit = 3, .newest = true})),
            (std::vector<std::int64_t>{8, 9, 10}));
  EXPECT_EQ(versions(s.query({.stream = "m", .after = 7, .limit = 100})),
            (std::vector<std::int64_t>{8, 9, 10}));
  EXPECT_EQ(versions(s.query({.stream = "m", .type = "b", .limit = 2, .newest = true})),
            (std::vector<std::int64_t>{8, 10}));
  EXPECT_EQ(versions(s.query({.stream = "m", .since = t0 + 8h, .limit = 100})),
            (std::vector<std::int64_t>{9, 10}));
  EXPECT_TRUE(s.query({.stream = "none", .limit = 5})->empty());

  // Everything is old: each stream keeps its newest, so versions go on.
  auto pruned = s.prune_before(now());
  ASSERT_TRUE(pruned);
  EXPECT_GE(*pruned, 9);
  EXPECT_EQ(*s.append("m", std::vector{at("c", now())}), 11);
  EXPECT_EQ(versions(s.query({.stream = "m", .limit = 100})).back(), 11);
}

TEST(EventStoreQuery, MemoryStorePagesFiltersAndPrunesWithoutRestartingVersions) {
  stores::event_memory_store s;
  expect_bounded_queries_and_pruning(s);
}

TEST(EventStoreQuery, SqliteStorePagesFiltersAndPrunesWithoutRestartingVersions) {
  temp_dir dir;
  stores::event_sqlite_store s(dir.path() / "events.db");
  expect_bounded_queries_and_pruning(s);
}

TEST(EventStoreQuery, PostgresStorePagesFiltersAndPrunesWithoutRestartingVersions) {
  test::postgres_database db;
  stores::event_postgres_store s(db.dsn());
  expect_bounded_queries_and_pruning(s);
}

TEST(EventStoreQuery, MemoryStoreEvictsPastItsBoundAndCountsIt) {
  stores::event_memory_store s(3);
  std::vector<event> evs(5, at("x", now()));
  ASSERT_EQ(*s.append("m", evs), 5);
  EXPECT_EQ(s.evicted(), 2u);
  EXPECT_EQ(s.query({.stream = "m", .limit = 10})->front().version, 3);
}

TEST(EventFeed, WakesWatchersAfterEachAppendUntilTheWatchGoes) {
  stores::event_memory_store s;
  event_feed feed(s);
  std::atomic<int> woken{0};
  auto w = feed.log().on_append([&] { ++woken; });
  ASSERT_TRUE(feed.append("m", std::vector{at("x", now())}));
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(feed.log().query({.stream = "m", .limit = 5})->size(), 1u);
  w.reset();
  ASSERT_TRUE(feed.append("m", std::vector{at("x", now())}));
  EXPECT_EQ(woken.load(), 1);
  EXPECT_EQ(feed.log().watchers(), 0u);
}

struct fake_targets {
  std::vector<target_info> targets;
  std::vector<std::string> removed;
  status add(target_spec s) {
    if (s.id == "taken") return error(errc::already_exists, "taken");
    targets.push_back({std::move(s)});
    return {};
  }
  bool remove(const std::string& id) { return id == "known"; }
  std::vector<target_info> list() const { return targets; }
};

struct fake_ledger {
  std::uint64_t dead = 0;
  std::uint64_t dead_letters() const { return dead; }
  struct state {
    std::size_t pending = 0, dead = 0;
    std::vector<vitals::detail::dead_record> recent_dead;
  };
  state spool_status(std::size_t) const { return {0, std::size_t(dead), {}}; }
};

std::vector<event> published(hub& h, hub_subscription& sub) {
  h.flush();
  return sub.drain();
}

TEST(Lifecycle, PublishesTrackedUntrackedFailingRecoveredDeadLettersAndPrunes) {
  hub h;
  auto sub = h.subscribe({}, 100);
  fake_targets inner;
  agent::evented_targets targets(inner, h);
  ASSERT_TRUE(targets.add({.id = "a", .kind = "process", .pid = 1}));
  EXPECT_FALSE(targets.add({.id = "taken", .kind = "process"}));
  EXPECT_TRUE(targets.remove("known"));
  EXPECT_FALSE(targets.remove("unknown"));
  auto evs = published(h, sub);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, "target.tracked");
  EXPECT_EQ(boost::json::parse(evs[0].data),
            boost::json::value(boost::json::object{{"target", "a"}, {"kind", "process"}}));
  EXPECT_EQ(evs[1].type, "target.untracked");

  registry reg;
  agent::maintenance upkeep({.samples = std::chrono::hours(1)}, reg);
  stores::event_memory_store events;
  ASSERT_TRUE(events.append(
      "monitor", std::vector{at("old", now() - 5h), at("old", now() - 4h), at("new", now())}));
  agent::lifecycle_watch watch(h, events, upkeep);
  fake_ledger ledger;
  inner.targets[0].failing = true;
  inner.targets[0].errors = 3;
  inner.targets[0].last_error = "gone";
  watch.check(targets, ledger);  // no retention run yet
  inner.targets[0].failing = false;
  watch.check(targets, ledger);
  watch.check(targets, ledger);  // nothing changed: nothing published
  ledger.dead = 2;
  stores::memory_store samples;
  agent::usage_memory usage;
  upkeep.run(samples, usage);
  watch.check(targets, ledger);
  evs = published(h, sub);
  ASSERT_EQ(evs.size(), 4u);
  EXPECT_EQ(evs[0].type, "target.failing");
  EXPECT_EQ(boost::json::parse(evs[0].data).at("error").as_string(), "gone");
  EXPECT_EQ(evs[1].type, "target.recovered");
  EXPECT_EQ(evs[2].type, "spool.dead_letter");
  EXPECT_EQ(boost::json::parse(evs[2].data).at("count").to_number<int>(), 2);
  EXPECT_EQ(evs[3].type, "store.pruned");
  EXPECT_EQ(boost::json::parse(evs[3].data).at("events").to_number<int>(), 2);
  EXPECT_EQ(events.query({.stream = "monitor", .limit = 10})->size(), 1u);
}

TEST(Lifecycle, PublishesAgentsThatBecomeStuckErrorOrDone) {
  hub h;
  auto sub = h.subscribe({}, 100);
  stores::event_memory_store events;
  registry reg;
  agent::maintenance upkeep({}, reg);
  agent::lifecycle_watch watch(h, events, upkeep);
  auto report = [](std::initializer_list<std::pair<const char*, const char*>> states) {
    boost::json::array a;
    for (auto [n, st] : states) a.push_back({{"agent_name", n}, {"state", st}});
    return boost::json::object{{"agents", std::move(a)}};
  };
  watch.check_agents(report({{"a", "error"}, {"b", "idle"}}));  // the baseline
  watch.check_agents(report({{"a", "error"}, {"b", "stuck"}, {"c", "done"}}));
  watch.check_agents(report({{"a", "working"}, {"b", "stuck"}}));
  watch.check_agents(boost::json::object{{"agents", "hostile"}});
  const auto evs = published(h, sub);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].type, "agent.state");
  EXPECT_EQ(
      boost::json::parse(evs[0].data),
      boost::json::value(boost::json::object{{"agent", "b"}, {"state", "stuck"}, {"was", "idle"}}));
  EXPECT_EQ(boost::json::parse(evs[1].data).at("state").as_string(), "done");
}

TEST(Lifecycle, TheRecorderStoresWhatIsPublishedAndCountsIt) {
  stores::event_memory_store store;
  registry reg;
  std::atomic<int> woken{0};
  {
    agent::event_recorder rec(store, reg);
    auto w = rec.log().on_append([&] { ++woken; });
    for (int i = 0; i < 3; ++i) rec.hub().publish(agent::lifecycle_event("x", {{"i", i}}));
    rec.stop();
    EXPECT_GE(woken.load(), 1);
    EXPECT_EQ(test::family_total(reg, "vitals_events_persisted"), 3);
    EXPECT_EQ(test::family_total(reg, "vitals_hub_published"), 3);
  }
  const auto evs = store.query({.stream = "monitor", .limit = 10});
  ASSERT_EQ(evs->size(), 3u);
  EXPECT_EQ(boost::json::parse(evs->back().event.data).at("i").to_number<int>(), 2);
}

#if defined(VITALS_MONITOR_EXE)

using test::child;
using test::eventually;

const std::string port_line = R"(on http://127\.0\.0\.1:(\d+)/)";

struct monitor {
  explicit monitor(const std::string& data)
      : proc({VITALS_MONITOR_EXE, "--listen", "127.0.0.1:0", "--interval", "200ms", "--data",
              data}) {
    port = proc.wait_for(port_line).value_or("");
  }
  net::client client() const { return net::client("127.0.0.1", port); }
  child proc;
  std::string port;
};

boost::json::array log_events(net::client& c, const std::string& query) {
  auto r = c.get("/api/v1/events/log" + query);
  if (!r || r->status != 200) return {};
  return boost::json::parse(r->body).at("events").as_array();
}

bool has_event(const boost::json::array& evs, std::string_view type, std::string_view target) {
  for (const auto& e : evs)
    if (e.at("type").as_string() == type && e.at("data").at("target").as_string() == target)
      return true;
  return false;
}

/// A client of a stream that never ends: the request, then whatever comes.
class stream_reader {
 public:
  stream_reader(const std::string& port, const std::string& target)
      : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    const std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ok_ = ::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) == ssize_t(req.size());
  }
  ~stream_reader() { ::close(fd_); }
  bool read_until(std::string_view needle, std::chrono::milliseconds within = 10s) {
    const auto end = std::chrono::steady_clock::now() + within;
    while (ok_ && got_.find(needle) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, int(left.count())) <= 0) return false;
      char buf[4096];
      const auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      got_.append(buf, std::size_t(n));
    }
    return ok_;
  }
  const std::string& received() const { return got_; }

 private:
  int fd_;
  bool ok_ = false;
  std::string got_;
};

TEST(MonitorEvents, TrackAndUntrackAreLoggedStreamedAndKeptAcrossARestart) {
  temp_dir dir;
  const std::string pid = std::to_string(::getpid());
  {
    monitor m(dir.path().string());
    ASSERT_FALSE(m.port.empty()) << m.proc.output();
    auto c = m.client();
    stream_reader sse(m.port, "/api/v1/events/log/watch?type=target.untracked");
    ASSERT_TRUE(sse.read_until("retry: 3000\n\n")) << sse.received();
    auto r = c.post("/api/v1/targets", R"({"id":"me","kind":"process","pid":)" + pid + "}");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 201u) << r->body;
    ASSERT_EQ(c.del("/api/v1/targets/me")->status, 204u);
    EXPECT_TRUE(eventually([&] {
      const auto evs = log_events(c, "");
      return has_event(evs, "target.tracked", "me") && has_event(evs, "target.untracked", "me");
    })) << boost::json::serialize(log_events(c, ""));
    ASSERT_TRUE(sse.read_until("\"target\":\"me\"", 5s)) << sse.received();
    EXPECT_NE(sse.received().find("event: log\n"), std::string::npos);
    EXPECT_EQ(sse.received().find("target.tracked"), std::string::npos) << "filtered by type";
    // Filtered and bounded.
    const auto only = log_events(c, "?type=target.untracked&limit=1");
    ASSERT_EQ(only.size(), 1u);
    EXPECT_EQ(only[0].at("type"), "target.untracked");
    EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
  }
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "events.db"));
  monitor m(dir.path().string());
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  auto c = m.client();
  const auto evs = log_events(c, "?limit=1000");
  EXPECT_TRUE(has_event(evs, "target.tracked", "me") && has_event(evs, "target.untracked", "me"))
      << boost::json::serialize(evs);
  // Resume from a version: only what came after it.
  std::int64_t first = 0;
  for (const auto& e : evs)
    if (e.at("type").as_string() == "target.untracked") first = e.at("version").as_int64();
  for (const auto& e : log_events(c, "?after=" + std::to_string(first)))
    EXPECT_GT(e.at("version").as_int64(), first);
  EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
}

TEST(MonitorEvents, HostileParametersGet400NamingTheParameter) {
  temp_dir dir;
  monitor m(dir.path().string());
  ASSERT_FALSE(m.port.empty()) << m.proc.output();
  auto c = m.client();
  const std::vector<std::pair<std::string, std::string>> cases{
      {"?limit=0", "limit"},       {"?limit=1001", "limit"},
      {"?limit=-1", "limit"},      {"?limit=99999999999999999999", "limit"},
      {"?after=-5", "after"},      {"?after=1e3", "after"},
      {"?from=yesterday", "from"}, {"?from=99999999999999", "from"},
      {"?stream=..", "stream"},    {"?stream=a%2Fb", "stream"},
      {"?type=%00", "type"},       {"?type=" + std::string(65, 'x'), "type"},
      {"?bogus=1", "bogus"},       {"?limit=1&limit=2", "limit"}};
  for (const auto& [query, param] : cases) {
    auto r = c.get("/api/v1/events/log" + query);
    ASSERT_TRUE(r) << query;
    EXPECT_EQ(r->status, 400u) << query << " " << r->body;
    EXPECT_EQ(boost::json::parse(r->body).at("parameter").as_string(), param) << query;
  }
  auto r = c.get("/api/v1/events/log/watch?from=now");  // the stream takes no from
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400u);
  EXPECT_EQ(m.proc.stop(SIGTERM), 0) << m.proc.output();
}

#endif

}  // namespace
