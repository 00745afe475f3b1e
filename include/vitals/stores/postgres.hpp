// The PostgreSQL (and TimescaleDB) store. append() only queues: a writer
// coroutine on an Asio executor sends the queue in batches with libpq's
// non-blocking API, so a slow or absent server never stalls a poller.
// Accepted samples are kept in memory, in order, until written; while the
// server is down or refuses writes the writer reconnects with backoff and
// retries. With a spool directory, what cannot be written because the server
// is unreachable or refuses all writes (read-only, out of disk) goes to a
// durable spool (a file per batch) and is replayed, oldest first and before
// anything newer, once the server is back, by this store or the next one
// opened on the directory; re-sending a point replaces it, so a crash between
// insert and ack stores nothing twice. Reads first wait for what was accepted
// before them, then query.
//
// Schema: `series (id, name, labels)` + `samples (series_id, t, value)`, one
// row per series and time (re-sending replaces the value, as in the SQLite
// store), versioned in `vitals_schema` (see detail/pg.hpp). With the
// timescaledb extension samples is a hypertable and buckets use time_bucket;
// on plain PostgreSQL they use date_bin.
//
// Stores may include their own client library; this one also needs Asio
// (Boost headers), which the `vitals::postgres` target links.
#pragma once

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <iterator>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/detail/spool.hpp"
#include "vitals/stores/detail/pg.hpp"
#include "vitals/stores/detail/pg_spool.hpp"
#include "vitals/stores/query.hpp"

namespace vitals::stores {

namespace asio = boost::asio;

/// The 000 seed's bucket allowlist. Anything else is an error, never SQL.
inline result<duration> bucket_interval(std::string_view s) {
  using namespace std::chrono;
  static constexpr std::pair<std::string_view, std::int64_t> allowed[] = {
      {"1s", 1},     {"5s", 5},      {"10s", 10},   {"30s", 30},    {"1m", 60},
      {"5m", 300},   {"10m", 600},   {"15m", 900},  {"30m", 1800},  {"1h", 3600},
      {"6h", 21600}, {"12h", 43200}, {"1d", 86400}, {"7d", 604800}, {"30d", 2592000}};
  for (auto [name, secs] : allowed)
    if (name == s) return duration{secs * 1000};
  return error(errc::invalid_argument,
               "bucket interval '" + std::string(s.substr(0, 32)) +
                   "' is not allowed: use one of 1s 5s 10s 30s 1m 5m 10m 15m 30m 1h 6h 12h "
                   "1d 7d 30d");
}

struct postgres_options {
  std::string dsn;                    // empty: $VITALS_PG_DSN
  std::size_t batch_max = 10'000;     // samples per INSERT
  std::size_t queue_max = 1'000'000;  // accepted, not yet written; beyond: limit_exceeded
  std::chrono::milliseconds backoff_min{100}, backoff_max{std::chrono::seconds(5)};
  int max_attempts = 5;  // for a batch the server refuses while connected
  std::chrono::milliseconds read_flush_timeout{std::chrono::seconds(10)};
  std::chrono::hours samples_retention{24 * 7};
  // Failover: empty keeps unwritten samples in memory only. Otherwise, each
  // time the server cannot be reached (or refuses all writes: read-only, out
  // of disk), the batch in flight and the queue go to this directory,
  // batch_max samples a file, and are replayed from it, oldest first.
  std::filesystem::path spool_dir{};
  bool spool_durable = true;  // fsync each spooled batch (false: tests, benchmarks)
};

struct postgres_stats {
  std::uint64_t batches = 0;           // vitals_pg_batches_total
  std::uint64_t samples = 0;           // vitals_pg_samples_total
  std::uint64_t failed_batches = 0;    // vitals_pg_failed_batches_total
  std::uint64_t rejected_samples = 0;  // vitals_pg_rejected_samples_total (given up on)
  std::uint64_t connects = 0;          // vitals_pg_connects_total (first one included)
  std::uint64_t pending = 0;           // vitals_pg_pending_samples: how far behind, in memory
  std::uint64_t spool_pending = 0;     // vitals_pg_spool_pending: batches waiting in the spool
  std::uint64_t spooled = 0;           // vitals_pg_spooled_samples_total
  bool connected = false;              // vitals_pg_connected
  std::string last_error;
};

class postgres_store {
 public:
  static constexpr int schema_version = pg::schema_version;

  /// Runs the writer on a thread of its own.
  explicit postgres_store(postgres_options o = {}) : own_(std::in_place) {
    init(own_->ctx.get_executor(), std::move(o));
    own_->thread = std::thread([this] { own_->ctx.run(); });
  }

  /// Runs the writer on `ex` (a poller's io_context, say). Synchronous reads
  /// wait for the writer: do not call them from `ex`'s own thread.
  postgres_store(asio::any_io_executor ex, postgres_options o = {}) { init(ex, std::move(o)); }

  /// With a thread of its own, waits (read_flush_timeout at most) for the
  /// queue to be written, or spooled when there is a spool. On a foreign
  /// executor the writer drains the queue after the store is gone, stopping
  /// at the first failure; flush() first (from another thread) to know it
  /// was written. With a spool, what is left in memory then is spooled.
  ~postgres_store() {
    if (own_) (void)st_->wait_written(st_->opts.read_flush_timeout, st_->spool.has_value());
    st_->stop();
    if (own_) {
      own_->guard.reset();
      own_->thread.join();
    }
  }
  postgres_store(const postgres_store&) = delete;
  postgres_store& operator=(const postgres_store&) = delete;

  /// Queues the batch; ok means accepted (kept until written).
  status append(std::span<const sample> batch) { return st_->enqueue(batch); }

  /// Waits until everything accepted before the call, and everything in the
  /// spool, is written (or given up on).
  status flush(std::chrono::milliseconds timeout) { return st_->wait_written(timeout, false); }

  std::optional<point> latest(const series& id) const {
    auto r = read(
        "SELECT " VITALS_PG_MS("t") ", value FROM samples WHERE series_id = "
        "(SELECT id FROM series WHERE name = $1 AND labels = $2) ORDER BY t DESC LIMIT 1",
        key(id));
    if (!r || r->empty()) return std::nullopt;
    return point{from_unix_ms(r->int64(0, 0)), r->real(0, 1)};
  }

  /// The latest point of every series, in one query (DISTINCT ON).
  std::vector<std::pair<series, point>> latest_all() const {
    std::vector<std::pair<series, point>> out;
    auto r = read("SELECT s.name, s.labels, " VITALS_PG_MS(
        "x.t") ", x.value FROM (SELECT DISTINCT ON "
               "(series_id) series_id, t, value FROM samples ORDER BY series_id, t DESC) x "
               "JOIN series s ON s.id = x.series_id ORDER BY s.name COLLATE \"C\", s.labels "
               "COLLATE \"C\"");
    if (!r) return out;
    for (int i = 0; i < r->size(); ++i) {
      auto id = pg::decode_series(r->text(i, 0), r->text(i, 1));
      if (!id) {
        undecodable_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      out.emplace_back(std::move(*id), point{from_unix_ms(r->int64(i, 2)), r->real(i, 3)});
    }
    return out;
  }

  std::vector<point> range(const series& id, timestamp from, timestamp to) const {
    std::vector<point> out;
    auto r = read("SELECT " VITALS_PG_MS("t") ", value FROM samples WHERE series_id = "
                  "(SELECT id FROM series WHERE name = $1 AND labels = $2) "
                  "AND t >= " VITALS_PG_TS("$3") " AND t <= " VITALS_PG_TS("$4") " ORDER BY t",
                  key(id).add(to_unix_ms(from)).add(to_unix_ms(to)));
    if (!r) return out;
    out.reserve(static_cast<std::size_t>(r->size()));
    for (int i = 0; i < r->size(); ++i)
      out.push_back({from_unix_ms(r->int64(i, 0)), r->real(i, 1)});
    return out;
  }

  /// mean, min, max, sum, count and last per bucket, computed by the server
  /// with date_bin (time_bucket under TimescaleDB). The step is bound as a
  /// number of milliseconds.
  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              duration step) const {
    if (!pushes_down(q.agg))
      return error(errc::invalid_argument, "aggregation '" + std::string(to_string(q.agg)) +
                                               "' is computed by downsample(), not in SQL");
    if (auto st = check_range(q, step); !st) return st.error();
    const int a = static_cast<int>(q.agg);
    const std::int64_t origin = q.align_to_epoch ? 0 : to_unix_ms(q.from);
    auto r =
        read(st_->timescale ? aggregated_sql_[1][a].c_str() : aggregated_sql_[0][a].c_str(),
             key(id).add(to_unix_ms(q.from)).add(to_unix_ms(q.to)).add(step.count()).add(origin));
    if (!r) return r.error();
    std::vector<point> out;
    for (int i = 0; i < r->size(); ++i)
      out.push_back({from_unix_ms(r->int64(i, 0)), r->real(i, 1)});
    return out;
  }

  /// The seed's query: buckets of an allowlisted interval ("5m"), aligned to
  /// the epoch.
  result<std::vector<point>> bucketed(const series& id, timestamp from, timestamp to,
                                      std::string_view interval,
                                      aggregation agg = aggregation::mean) const {
    auto step = bucket_interval(interval);
    if (!step) return step.error();
    range_query q{.from = from, .to = to, .step = *step, .agg = agg, .align_to_epoch = true};
    return range_aggregated(id, q, *step);
  }

  std::vector<series> list_series() const {
    std::vector<series> out;
    auto r =
        read("SELECT name, labels FROM series ORDER BY name COLLATE \"C\", labels COLLATE \"C\"");
    if (!r) return out;
    for (int i = 0; i < r->size(); ++i) {
      auto id = pg::decode_series(r->text(i, 0), r->text(i, 1));
      if (id)
        out.push_back(std::move(*id));
      else
        undecodable_.fetch_add(1, std::memory_order_relaxed);
    }
    return out;
  }

  /// Deletes a series and its samples.
  bool drop(const series& id) {
    auto r = read(
        "WITH gone AS (DELETE FROM series WHERE name = $1 AND labels = $2 RETURNING id), "
        "points AS (DELETE FROM samples WHERE series_id IN (SELECT id FROM gone)) "
        "SELECT count(*) FROM gone",
        key(id));
    st_->forget_ids();
    return r && r->int64(0, 0) > 0;
  }

  /// Deletes samples older than `cutoff` (drop_chunks under TimescaleDB, whose
  /// count is of chunks). Returns rows deleted.
  result<std::int64_t> prune_before(timestamp cutoff) {
    auto r = read(
        st_->timescale
            ? "SELECT count(*) FROM drop_chunks('samples', older_than => " VITALS_PG_TS("$1") ")"
            : "DELETE FROM samples WHERE t < " VITALS_PG_TS("$1"),
        pg::params{}.add(to_unix_ms(cutoff)));
    if (!r) return r.error();
    return st_->timescale ? r->int64(0, 0) : r->affected();
  }

  /// Applies the retention of the options (7 days by default).
  result<std::int64_t> prune() { return prune_before(now() - st_->opts.samples_retention); }

  int user_schema_version() const {
    std::lock_guard lock(read_mu_);
    if (!reader_.ok()) return 0;
    auto v = pg::current_version(reader_, pg::store_schema);
    return v ? *v : 0;
  }

  bool uses_timescale() const noexcept { return st_->timescale; }

  postgres_stats stats() const { return st_->snapshot(); }

  /// The stats as samples (the metric names of postgres_stats): the store is
  /// also a sampler, so a poller can watch how far behind it is.
  status collect(sample_batch& out, timestamp t) const {
    const auto s = stats();
    auto add = [&](const char* name, double v) { out.push_back({series(name, {}), t, v}); };
    add("vitals_pg_batches_total", double(s.batches));
    add("vitals_pg_samples_total", double(s.samples));
    add("vitals_pg_failed_batches_total", double(s.failed_batches));
    add("vitals_pg_rejected_samples_total", double(s.rejected_samples));
    add("vitals_pg_connects_total", double(s.connects));
    add("vitals_pg_pending_samples", double(s.pending));
    add("vitals_pg_spool_pending", double(s.spool_pending));
    add("vitals_pg_spooled_samples_total", double(s.spooled));
    add("vitals_pg_connected", s.connected ? 1 : 0);
    return {};
  }
  std::string_view name() const noexcept { return "postgres"; }

  /// Stored series whose name or labels could not be decoded (a corrupt
  /// row): left out of every answer, and counted here.
  std::uint64_t undecodable_series() const noexcept { return undecodable_.load(); }

 private:
  // What the writer coroutine shares with the store. Held by shared_ptr so
  // that the coroutine, which may outlive the store on a foreign executor,
  // never touches freed memory.
  struct state : std::enable_shared_from_this<state> {
    explicit state(asio::any_io_executor e) : ex(asio::make_strand(e)), wake(ex), pause(ex) {}

    asio::any_io_executor ex;
    postgres_options opts;
    bool timescale = false;

    std::mutex mu;
    std::condition_variable written_cv;
    std::deque<sample> queue;  // accepted, not yet taken by the writer
    std::size_t inflight = 0;  // taken, not yet written
    std::uint64_t accepted = 0,
                  done = 0;           // samples ever accepted / written, spooled or given up on
    std::uint64_t spool_records = 0;  // files in the spool (any store's)
    bool stopping = false, wake_posted = false;
    postgres_stats stats;
    std::uint64_t ids_generation = 0;  // bumped by drop(): the writer's cache is stale

    asio::steady_timer wake, pause;              // touched on the strand only
    std::optional<vitals::detail::spool> spool;  // by init, then on the strand only

    status enqueue(std::span<const sample> batch) {
      std::lock_guard lock(mu);
      if (queue.size() + inflight + batch.size() > opts.queue_max)
        return error(errc::limit_exceeded,
                     "PostgreSQL store: " + std::to_string(queue.size() + inflight) +
                         " samples waiting to be written; batch refused");
      queue.insert(queue.end(), batch.begin(), batch.end());
      accepted += batch.size();
      if (!wake_posted && !batch.empty()) {
        wake_posted = true;
        asio::post(ex, [self = shared_from_this()] { self->wake.cancel(); });
      }
      return {};
    }

    // `spooled_is_enough`: the destructor's wait, for which a spooled sample
    // is safe; otherwise the spool must be empty too (it holds only samples
    // older than those in memory).
    status wait_written(std::chrono::milliseconds timeout, bool spooled_is_enough) {
      std::unique_lock lock(mu);
      const auto target = accepted;
      if (!written_cv.wait_for(lock, timeout, [&] {
            return (done >= target && (spooled_is_enough || spool_records == 0)) || stopping;
          }))
        return error(errc::unavailable,
                     "PostgreSQL store: " + std::to_string(done < target ? target - done : 0) +
                         " samples in memory and " + std::to_string(spool_records) +
                         " spooled batches still waiting to be written (" + stats.last_error + ")");
      return {};
    }

    // The writer ends once the queue is empty, or at the first failure.
    void stop() {
      {
        std::lock_guard lock(mu);
        stopping = true;
      }
      written_cv.notify_all();
      asio::post(ex, [self = shared_from_this()] { self->wake.cancel(), self->pause.cancel(); });
    }

    void forget_ids() {
      std::lock_guard lock(mu);
      ++ids_generation;
    }

    postgres_stats snapshot() {
      std::lock_guard lock(mu);
      auto s = stats;
      s.pending = queue.size() + inflight;
      s.spool_pending = spool_records;
      return s;
    }
  };

  void init(asio::any_io_executor ex, postgres_options o) {
    auto c = pg::open_migrated(o.dsn, "PostgreSQL store", pg::store_schema);
    if (!c) throw std::runtime_error(c.error().message);
    reader_ = std::move(*c);
    st_ = std::make_shared<state>(ex);
    st_->timescale = pg::enable_timescale(reader_);
    st_->opts = std::move(o);
    if (!st_->opts.spool_dir.empty()) {
      st_->spool.emplace(st_->opts.spool_dir, st_->opts.spool_durable);
      st_->spool_records = st_->spool->size();  // left by an earlier store: replayed first
    }
    build_sql();
    asio::co_spawn(ex, writer(st_), asio::detached);
  }

  void build_sql() {
    const std::string where =
        " FROM samples WHERE series_id = (SELECT id FROM series WHERE name = $1 AND labels = $2) "
        "AND t >= " VITALS_PG_TS("$3") " AND t <= " VITALS_PG_TS("$4");
    const std::pair<aggregation, std::string> aggs[] = {{aggregation::mean, "avg(value)"},
                                                        {aggregation::min, "min(value)"},
                                                        {aggregation::max, "max(value)"},
                                                        {aggregation::sum, "sum(value)"},
                                                        {aggregation::count, "count(*)"}};
    const std::string stride = "$5::int8 * interval '1 millisecond'", origin = VITALS_PG_TS("$6");
    const std::string fns[] = {"date_bin(" + stride + ", t, " + origin + ")",
                               "time_bucket(" + stride + ", t, origin => " + origin + ")"};
    for (int f = 0; f < 2; ++f) {
      const std::string b = "SELECT " + fns[f] + " AS b, t, value" + where;
      for (const auto& [a, expr] : aggs)
        aggregated_sql_[f][static_cast<int>(a)] =
            "SELECT " VITALS_PG_MS("b") ", " + expr + " FROM (" + b + ") x GROUP BY b ORDER BY b";
      aggregated_sql_[f][static_cast<int>(aggregation::last)] =
          "SELECT DISTINCT ON (b) " VITALS_PG_MS("b") ", value FROM (" + b +
          ") x ORDER BY b, t DESC";
    }
  }

  static pg::params key(const series& id) {
    return pg::params{}.add(id.name()).add(pg::encode_labels(id.labels()));
  }

  // A synchronous read on the reader connection, after the writer caught up.
  result<pg::rows> read(const char* sql, const pg::params& p = {}) const {
    (void)st_->wait_written(st_->opts.read_flush_timeout, false);  // reads what was accepted before
    std::lock_guard lock(read_mu_);
    // A connection cut while idle (the server restarted) shows on first use:
    // then one fresh connection, one more try.
    for (int attempt = 0;; ++attempt) {
      if (!reader_.ok()) {
        auto c = pg::connection::open(st_->opts.dsn);
        if (!c) return c.error();
        reader_ = std::move(*c);
      }
      auto r = reader_.query(sql, p);
      if (r || reader_.ok() || attempt == 1) return r;
    }
  }

  // --- the writer -------------------------------------------------------------

  static asio::awaitable<void> writer(std::shared_ptr<state> st) {
    pg::connection conn;
    std::unordered_map<series, std::int64_t, series_hasher> ids;
    std::uint64_t ids_generation = 0;
    std::vector<sample> batch;
    std::optional<vitals::detail::pending_record> record;  // set when `batch` came from the spool
    auto backoff = st->opts.backoff_min;
    int attempts = 0;
    int upserts = 0;  // batches left to send as upserts, after a conflict
    auto sleep = [&](std::chrono::milliseconds d) -> asio::awaitable<void> {
      st->pause.expires_after(d);
      co_await st->pause.async_wait(asio::as_tuple(asio::use_awaitable));
    };
    for (;;) {
      bool from_spool = false, stopping = false;
      {
        std::lock_guard lock(st->mu);
        // The spool holds only samples older than those in memory: it goes first.
        from_spool = st->spool_records > 0;
        if (batch.empty() && !from_spool) {
          const auto n = std::min(st->queue.size(), st->opts.batch_max);
          std::move(st->queue.begin(), st->queue.begin() + std::ptrdiff_t(n),
                    std::back_inserter(batch));
          st->queue.erase(st->queue.begin(), st->queue.begin() + std::ptrdiff_t(n));
          st->inflight = batch.size();
        }
        stopping = st->stopping;
        if (batch.empty() && !from_spool) {
          if (stopping) co_return;
          st->wake_posted = false;
        }
        if (ids_generation != st->ids_generation) ids.clear(), ids_generation = st->ids_generation;
      }
      if (stopping && st->spool) {  // bounded exit: what is in memory is safe on disk
        spill(*st, batch, record.has_value());
        co_return;
      }
      if (batch.empty() && from_spool && !next_spooled(*st, batch, record)) continue;
      if (batch.empty()) {
        // Idle: wait for enqueue() to cancel the timer (or a periodic look).
        st->wake.expires_after(std::chrono::seconds(1));
        co_await st->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      if (!conn.ok()) {
        auto c = co_await pg::connection::async_open(st->opts.dsn);
        if (!c) {
          const bool stop = note_failure(*st, c.error(), false);
          if (st->spool) spill(*st, batch, record.has_value());
          if (stop) co_return;
          co_await sleep(backoff);
          backoff = std::min(backoff * 2, st->opts.backoff_max);
          continue;
        }
        conn = std::move(*c);
        ids.clear();
        std::lock_guard lock(st->mu);
        st->stats.connected = true;
        ++st->stats.connects;
      }
      // A plain INSERT costs two thirds of an upsert (no speculative insertion):
      // tried first, it fails whole on a point already stored, and the batch
      // goes again as an upsert. Replays from the spool, and the batches after
      // a conflict, go as upserts straight away.
      const bool upsert = record.has_value() || upserts > 0;
      auto s = co_await write(conn, ids, batch, upsert);
      if (!s && !upsert && conn.ok() && conn.last_sqlstate() == "23505") {
        upserts = 64;
        s = co_await write(conn, ids, batch, true);
      } else if (s && upserts > 0) {
        --upserts;
      }
      if (s) {
        settle(*st, batch, record, false);
        backoff = st->opts.backoff_min;
        attempts = 0;
        continue;
      }
      ids.clear();  // ids of a rolled-back statement may not exist
      // A server that refuses every write for now (read-only, out of disk,
      // shutting down) counts as unreachable: a fresh connection may reach a
      // writable one. Only a refusal of this batch counts towards giving up.
      if (conn.ok() && pg::transient(conn.last_sqlstate())) conn = {};
      const bool refused = conn.ok();
      const bool stop = note_failure(*st, s.error(), refused);
      if (!refused && st->spool) spill(*st, batch, record.has_value());
      if (stop) co_return;
      if (refused && ++attempts >= st->opts.max_attempts) {
        settle(*st, batch, record, true);
        attempts = 0;
        continue;
      }
      co_await sleep(backoff);
      backoff = std::min(backoff * 2, st->opts.backoff_max);
    }
  }

  // The batch is written (or, `rejected`, given up on): a spooled one leaves
  // the spool, one from memory counts as done.
  static void settle(state& st, std::vector<sample>& batch,
                     std::optional<vitals::detail::pending_record>& record, bool rejected) {
    if (record) (void)st.spool->ack(*record);
    std::lock_guard lock(st.mu);
    if (rejected) {
      st.stats.rejected_samples += batch.size();
    } else {
      ++st.stats.batches;
      st.stats.samples += batch.size();
    }
    if (record) {
      if (st.spool_records > 0) --st.spool_records;
    } else {
      st.done += batch.size();
      st.inflight = 0;
    }
    batch.clear();
    record.reset();
    st.written_cv.notify_all();
  }

  // Loads the oldest spooled batch; false when there was none to load. A
  // record that does not decode is renamed aside (`.bad`), never replayed.
  static bool next_spooled(state& st, std::vector<sample>& batch,
                           std::optional<vitals::detail::pending_record>& record) {
    auto oldest = st.spool->read_oldest(1);
    if (!oldest || oldest->empty()) {
      std::lock_guard lock(st.mu);
      st.spool_records = 0;  // only unreadable files left
      return false;
    }
    auto decoded = pg::decode_spooled(oldest->front().record.payload);
    if (!decoded) {
      std::error_code ec;
      const auto& p = oldest->front().path;
      std::filesystem::rename(p, p.string() + ".bad", ec);
      std::lock_guard lock(st.mu);
      if (st.spool_records > 0) --st.spool_records;
      st.stats.last_error = decoded.error().message + ": " + p.filename().string();
      return false;
    }
    batch = std::move(*decoded);
    record = std::move(oldest->front());
    return true;
  }

  // Moves what is in memory to the spool, oldest first: the batch in flight
  // (unless it is a spooled one already), then the queue, batch_max samples
  // a file. What cannot be written stays in memory, in order.
  static void spill(state& st, std::vector<sample>& batch, bool batch_is_spooled) {
    std::vector<sample> all;
    {
      std::lock_guard lock(st.mu);
      if (!batch_is_spooled) all = std::exchange(batch, {});
      all.insert(all.end(), std::make_move_iterator(st.queue.begin()),
                 std::make_move_iterator(st.queue.end()));
      st.queue.clear();
      st.inflight = all.size();
    }
    std::size_t at = 0;
    while (at < all.size()) {
      const auto n = std::min(st.opts.batch_max, all.size() - at);
      vitals::detail::spool_record r;
      r.source_system = "vitals.postgres";
      r.payload = pg::encode_spooled(all.data() + at, n);
      auto id = st.spool->write(std::move(r));
      std::lock_guard lock(st.mu);
      if (!id) {
        st.stats.last_error = id.error().message;
        break;
      }
      at += n;
      ++st.spool_records;
      st.stats.spooled += n;
      st.done += n;
      st.inflight -= n;
      st.written_cv.notify_all();
    }
    if (at < all.size()) {
      std::lock_guard lock(st.mu);
      st.queue.insert(st.queue.begin(), std::make_move_iterator(all.begin() + std::ptrdiff_t(at)),
                      std::make_move_iterator(all.end()));
      st.inflight = 0;
    }
  }

  // Counts a failure; true when the store is gone and the writer should end.
  static bool note_failure(state& st, const vitals::error& e, bool connected) {
    std::lock_guard lock(st.mu);
    ++st.stats.failed_batches;
    st.stats.connected = connected;
    st.stats.last_error = e.message;
    return st.stopping;
  }

  // One batch: new series get their ids, then one INSERT of three arrays,
  // bound in binary (ids, timestamptz, float8: nothing for the server to parse).
  // Within a batch the last value of a (series, time) wins, as it would had
  // the samples been sent one by one; `upsert`: so does the batch over what
  // is stored, otherwise a point already stored fails the whole statement.
  static asio::awaitable<status> write(pg::connection& conn,
                                       std::unordered_map<series, std::int64_t, series_hasher>& ids,
                                       const std::vector<sample>& batch, bool upsert) {
    struct row {
      std::int64_t id, t;
      double v;
      std::size_t order;
    };
    std::vector<row> rows;
    rows.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& s = batch[i];
      auto it = ids.find(s.series);
      if (it == ids.end()) {
        auto r = co_await conn.async_query(
            "INSERT INTO series (name, labels) VALUES ($1, $2) ON CONFLICT (name, labels) "
            "DO UPDATE SET name = excluded.name RETURNING id",
            key(s.series));
        if (!r) co_return r.error();
        it = ids.emplace(s.series, r->int64(0, 0)).first;
      }
      rows.push_back({it->second, to_unix_ms(s.t), s.value, i});
    }
    std::sort(rows.begin(), rows.end(), [](const row& a, const row& b) {
      return a.id != b.id ? a.id < b.id : a.t != b.t ? a.t < b.t : a.order < b.order;
    });
    pg::binary_array sid(pg::int8_oid, rows.size()), ts(pg::timestamptz_oid, rows.size()),
        vs(pg::float8_oid, rows.size());
    for (std::size_t i = 0; i < rows.size(); ++i) {
      if (i + 1 < rows.size() && rows[i + 1].id == rows[i].id && rows[i + 1].t == rows[i].t)
        continue;  // a later value of the same point follows
      sid.push(rows[i].id);
      ts.push(pg::timestamptz_from_unix_ms(rows[i].t));
      vs.push(rows[i].v);
    }
    auto r = co_await conn.async_query(
        upsert ? "INSERT INTO samples (series_id, t, value) SELECT * FROM unnest($1, $2, $3) "
                 "ON CONFLICT (series_id, t) DO UPDATE SET value = excluded.value"
               : "INSERT INTO samples (series_id, t, value) SELECT * FROM unnest($1, $2, $3)",
        pg::params{}
            .add_binary(std::move(sid).take(), pg::int8_array_oid)
            .add_binary(std::move(ts).take(), pg::timestamptz_array_oid)
            .add_binary(std::move(vs).take(), pg::float8_array_oid));
    if (!r) co_return r.error();
    co_return status{};
  }

  struct own_context {
    asio::io_context ctx{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard{
        ctx.get_executor()};
    std::thread thread;
  };

  std::optional<own_context> own_;  // first: outlives the state's timers
  std::shared_ptr<state> st_;
  mutable std::mutex read_mu_;
  mutable std::atomic<std::uint64_t> undecodable_{0};
  mutable pg::connection reader_;
  std::string aggregated_sql_[2][9];
};

static_assert(aggregating_store<postgres_store, range_query>);
static_assert(sampler<postgres_store>);

}  // namespace vitals::stores
