// Issue 19's scale figures: several writers on one PostgreSQL database, as a
// fleet of agent_monitor processes shares one. On a local PostgreSQL 15
// started for the run with its default durability (fsync, synchronous
// commit), each writer on its own connection:
//   samples: W writers x batches of 10,000 samples (100 series each, the
//            writer's host label), append + flush per batch;
//   events:  W writers x batches of 1,000 usage events through a ledger
//            (duplicate check, then one transaction), as a POST is stored;
//   report:  the daily report by host and by model over 1,000,000 events of
//            3 hosts (30 days), as a read-only view answers it.
// Prints figures for 1 and 3 writers, total per second. Not a Google
// Benchmark case (it runs once, minutes): scripts/bench skips it.
//   fleet_scale [--events-total N] [--rounds N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "support/postgres_server.hpp"
#include "vitals/agent/ledger.hpp"
#include "vitals/agent/reports.hpp"
#include "vitals/agent/usage_postgres.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/postgres.hpp"

namespace {

using namespace vitals;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

// `writers` threads run `work(w)` at once; the wall time of all of them.
template <class Work>
double run_writers(int writers, Work work) {
  std::vector<std::thread> threads;
  const auto t0 = clock_type::now();
  for (int w = 0; w < writers; ++w) threads.emplace_back([&, w] { work(w); });
  for (auto& t : threads) t.join();
  return seconds_since(t0);
}

double samples_per_second(test::postgres_server& server, int writers, int rounds) {
  const auto dsn = server.create_database();
  constexpr std::size_t batch = 10'000;
  const double s = run_writers(writers, [&](int w) {
    stores::postgres_store st(stores::postgres_options{.dsn = dsn, .batch_max = batch});
    std::vector<series> ids;
    for (int i = 0; i < 100; ++i)
      ids.emplace_back("process_cpu_percent",
                       label_set{{"host", "h" + std::to_string(w)}, {"target", std::to_string(i)}});
    sample_batch b(batch);
    for (int r = 0; r < rounds; ++r) {
      for (std::size_t i = 0; i < batch; ++i)
        b[i] = {ids[i % ids.size()],
                from_unix_ms(1'790'000'000'000 + (std::int64_t(r) * batch + i) * 1000), 1.0};
      if (!st.append(b) || !st.flush(std::chrono::seconds(120))) {
        std::fprintf(stderr, "samples: a batch failed\n");
        std::exit(1);
      }
    }
  });
  server.drop_database(dsn);
  return double(writers) * rounds * batch / s;
}

std::vector<agent::usage_event> events_of(int host, int round, std::size_t n, timestamp from,
                                          std::chrono::milliseconds spread) {
  static const char* models[] = {"claude-sonnet-4-5", "gpt-5", "claude-opus-4-1", "gpt-5-mini"};
  std::vector<agent::usage_event> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    auto& e = out[i];
    const auto k = std::int64_t(round) * std::int64_t(n) + std::int64_t(i);
    e.occurred_at = from + spread * k;
    e.agent_name = "agent-" + std::to_string(k % 7);
    e.model_raw = models[k % 4];
    e.session_id = "h" + std::to_string(host) + "-s" + std::to_string(k / 100);
    e.message_id = "m" + std::to_string(k);
    e.input_tokens = 1000 + k % 500;
    e.output_tokens = 200 + k % 100;
    e.cost_usd = 0.01;
  }
  return out;
}

// Events through one ledger per writer, as each monitor of a fleet stores
// what it is posted; `per_writer` events in batches of `batch`.
double events_per_second(const std::string& dsn, int writers, std::size_t per_writer,
                         std::size_t batch, timestamp from, std::chrono::milliseconds spread) {
  const double s = run_writers(writers, [&](int w) {
    agent::usage_postgres usage(dsn);
    registry reg;
    agent::ledger ledger(usage, reg);
    ledger.set_host("h" + std::to_string(w));
    for (std::size_t r = 0; r < per_writer / batch; ++r) {
      auto res = ledger.ingest_events(events_of(w, int(r), batch, from, spread));
      if (res.accepted != batch) {
        std::fprintf(stderr, "events: %zu of %zu accepted (%s)\n", res.accepted, batch,
                     res.rejected.empty() ? "" : res.rejected.front().error.c_str());
        std::exit(1);
      }
    }
  });
  return double(writers) * double(per_writer) / s;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events_total = 1'000'000;
  int rounds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--events-total") events_total = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--rounds") rounds = std::atoi(argv[i + 1]);
  }
  if (events_total < 3000 || rounds < 1) {
    std::fprintf(stderr, "fleet_scale: --events-total at least 3000, --rounds at least 1\n");
    return 2;
  }
  test::postgres_server server(/*durable=*/true);

  const double s1 = samples_per_second(server, 1, rounds);
  const double s3 = samples_per_second(server, 3, rounds);
  std::printf("samples, batches of 10000: 1 writer %.0f/s, 3 writers %.0f/s total (x%.2f)\n", s1,
              s3, s3 / s1);

  const auto now = vitals::now();
  {
    const auto dsn = server.create_database();
    const double e1 = events_per_second(dsn, 1, 30'000, 1000, now - std::chrono::hours(1),
                                        std::chrono::milliseconds(1));
    server.drop_database(dsn);
    const auto dsn3 = server.create_database();
    const double e3 = events_per_second(dsn3, 3, 30'000, 1000, now - std::chrono::hours(1),
                                        std::chrono::milliseconds(1));
    server.drop_database(dsn3);
    std::printf("events, batches of 1000: 1 writer %.0f/s, 3 writers %.0f/s total (x%.2f)\n", e1,
                e3, e3 / e1);
  }

  // 1M events of 3 hosts over the last 30 days, then the view's reports.
  const auto dsn = server.create_database();
  const std::size_t per_host = (events_total / 3 + 9'999) / 10'000 * 10'000;
  const auto spread = std::chrono::milliseconds(std::chrono::days(30)) / std::int64_t(per_host);
  const double load =
      events_per_second(dsn, 3, per_host, 10'000, now - std::chrono::days(30), spread);
  std::printf("loading %zu events of 3 hosts, batches of 10000: %.0f/s total\n", per_host * 3,
              load);
  agent::usage_postgres view_usage(dsn);
  agent::usage_reports<agent::usage_postgres, stores::memory_store> reports(view_usage, nullptr);
  for (auto by : {agent::daily_by::host, agent::daily_by::model}) {
    double best = 1e9;
    for (int i = 0; i < 5; ++i) {
      const auto t0 = clock_type::now();
      auto r = reports.daily(now - std::chrono::days(30), now, by, "");
      if (!r) {
        std::fprintf(stderr, "daily: %s\n", r.error().message.c_str());
        return 1;
      }
      best = std::min(best, seconds_since(t0));
    }
    std::printf("daily report by %s over 30 days, %zu events: %.1f ms (best of 5)\n",
                by == agent::daily_by::host ? "host" : "model", per_host * 3, best * 1000);
  }
  server.drop_database(dsn);
  return 0;
}
