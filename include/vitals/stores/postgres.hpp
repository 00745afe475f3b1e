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
// Here: the public class and its queries. Its options and statistics are in
// postgres_options.hpp; the writer and the spool failover in
// detail/pg_writer.hpp; the SQL in detail/pg_queries.hpp; the binary
// encoding of a batch in detail/pg_binary.hpp.
//
// Stores may include their own client library; this one also needs Asio
// (Boost headers), which the `vitals::postgres` target links.
#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/pg.hpp"
#include "vitals/stores/detail/pg_queries.hpp"
#include "vitals/stores/detail/pg_writer.hpp"
#include "vitals/stores/pg_connection.hpp"
#include "vitals/stores/postgres_options.hpp"
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
    auto r = read(pg::sql::latest, pg::series_key(id));
    if (!r || r->empty()) return std::nullopt;
    return point{from_unix_ms(r->int64(0, 0)), r->real(0, 1)};
  }

  /// The latest point of every series, in one query (DISTINCT ON).
  std::vector<std::pair<series, point>> latest_all() const {
    std::vector<std::pair<series, point>> out;
    auto r = read(pg::sql::latest_all);
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

  /// Every series' points after `after`, at most `per_series` each (the
  /// oldest), in series then time order: what a view of a database that
  /// others write polls for (stores/followed.hpp).
  std::vector<sample> since(timestamp after, std::size_t per_series) const {
    std::vector<sample> out;
    auto r =
        read(pg::sql::since, pg::params{}
                                 .add(to_unix_ms(after))
                                 .add(std::int64_t(std::min<std::size_t>(per_series, 1'000'000))));
    if (!r) return out;
    out.reserve(static_cast<std::size_t>(r->size()));
    std::optional<series> id;  // of the rows since `name`, `labels` changed
    std::string name, labels;
    for (int i = 0; i < r->size(); ++i) {
      if (i == 0 || name != r->text(i, 0) || labels != r->text(i, 1)) {
        name = r->text(i, 0);
        labels = r->text(i, 1);
        auto decoded = pg::decode_series(name, labels);
        id.reset();
        if (decoded)
          id = std::move(*decoded);
        else
          undecodable_.fetch_add(1, std::memory_order_relaxed);
      }
      if (id) out.push_back({*id, from_unix_ms(r->int64(i, 2)), r->real(i, 3)});
    }
    return out;
  }

  std::vector<point> range(const series& id, timestamp from, timestamp to) const {
    std::vector<point> out;
    auto r = read(pg::sql::range, pg::series_key(id).add(to_unix_ms(from)).add(to_unix_ms(to)));
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
    if (auto st = check_pushdown(q, step); !st) return st.error();
    const std::int64_t origin = q.align_to_epoch ? 0 : to_unix_ms(q.from);
    auto r = read(aggregated_.get(st_->timescale, q.agg), pg::series_key(id)
                                                              .add(to_unix_ms(q.from))
                                                              .add(to_unix_ms(q.to))
                                                              .add(step.count())
                                                              .add(origin));
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
    auto r = read(pg::sql::list_series);
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
    auto r = read(pg::sql::drop_series, pg::series_key(id));
    st_->forget_ids();
    return r && r->int64(0, 0) > 0;
  }

  /// Deletes every series whose label `name` is `value`, with its samples,
  /// after what was accepted before the call is written. The candidates are
  /// found by the encoded label and each is decoded and checked, as another
  /// label's value may hold the same bytes. Returns the series deleted.
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    if (value.empty()) return std::size_t{0};
    auto found = read(pg::sql::series_with_label, pg::params{}.add(pg::encode_label(name, value)));
    if (!found) return found.error();
    std::string ids;
    for (int i = 0; i < found->size(); ++i) {
      auto id = pg::decode_series(found->text(i, 1), found->text(i, 2));
      if (!id || id->labels().get(name) != value) continue;
      ids += (ids.empty() ? "{" : ",") + std::to_string(found->int64(i, 0));
    }
    if (ids.empty()) return std::size_t{0};
    auto r = read(pg::sql::drop_series_ids, pg::params{}.add(ids + "}"));
    st_->forget_ids();
    if (!r) return r.error();
    return static_cast<std::size_t>(r->int64(0, 0));
  }

  /// Deletes samples older than `cutoff` (drop_chunks under TimescaleDB, whose
  /// count is of chunks). Returns rows deleted.
  result<std::int64_t> prune_before(timestamp cutoff) {
    auto r = read(st_->timescale ? pg::sql::prune_timescale : pg::sql::prune_plain,
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
    add("vitals_pg_spool_dead_total", double(s.spool_dead));
    add("vitals_pg_connected", s.connected ? 1 : 0);
    return {};
  }
  std::string_view name() const noexcept { return "postgres"; }

  /// Stored series whose name or labels could not be decoded (a corrupt
  /// row): left out of every answer, and counted here.
  std::uint64_t undecodable_series() const noexcept { return undecodable_.load(); }

 private:
  void init(asio::any_io_executor ex, postgres_options o) {
    auto c = pg::open_migrated(o.dsn, "PostgreSQL store", pg::store_schema);
    if (!c) throw std::runtime_error(c.error().message);
    reader_ = std::move(*c);
    st_ = std::make_shared<pg::writer_state>(ex);
    st_->timescale = pg::enable_timescale(reader_);
    st_->opts = std::move(o);
    if (!st_->opts.spool_dir.empty()) {
      st_->spool.emplace(st_->opts.spool_dir, st_->opts.spool_durable);
      st_->spool_records = st_->spool->size();  // left by an earlier store: replayed first
    }
    asio::co_spawn(ex, pg::writer::run(st_), asio::detached);
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

  // A user-provided constructor: clang refuses to default-construct a nested
  // class through its default member initializers before the enclosing class
  // is complete (std::optional's checks in `own_(std::in_place)`).
  struct own_context {
    own_context() : guard(std::in_place, ctx.get_executor()) {}
    asio::io_context ctx{1};
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
    std::thread thread;
  };

  std::optional<own_context> own_;  // first: outlives the state's timers
  std::shared_ptr<pg::writer_state> st_;
  mutable std::mutex read_mu_;
  mutable std::atomic<std::uint64_t> undecodable_{0};
  mutable pg::connection reader_;
  pg::aggregated_queries aggregated_;  // built once per store
};

static_assert(aggregating_store<postgres_store, range_query> &&
              label_dropping_store<postgres_store>);
static_assert(sampler<postgres_store>);

}  // namespace vitals::stores
