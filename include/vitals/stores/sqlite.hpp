// The embedded durable store: one SQLite file in WAL mode. A batch is one
// transaction: after append() returns ok, the batch survives a crash of the
// process (and, with synchronous=FULL, of the machine). The same series and
// timestamp is one row: re-sending a sample replaces its value.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <optional>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/label_codec.hpp"
#include "vitals/stores/query.hpp"
#include "vitals/stores/sqlite_db.hpp"

namespace vitals::stores {

struct sqlite_options {
  bool synchronous_full = false;  // NORMAL by default
  std::chrono::milliseconds busy_timeout{5000};
  std::int64_t journal_size_limit = 64 << 20;             // bytes kept after a checkpoint
  std::int64_t wal_warn_bytes = 128ll << 20;              // `wal_over_limit` above this
  std::int64_t wal_force_checkpoint_bytes = 512ll << 20;  // at open, checkpoint first
  // wal_autocheckpoint is off; a thread of the store runs TRUNCATE checkpoints
  // at this period instead (zero: none, call checkpoint() yourself).
  std::chrono::milliseconds checkpoint_interval{std::chrono::seconds(60)};
};

struct sqlite_stats {
  std::uint64_t batches = 0;
  std::uint64_t samples = 0;
  std::uint64_t failed_batches = 0;
  std::uint64_t checkpoints = 0;
  std::uint64_t failed_checkpoints = 0;  // e.g. readers kept the log busy
  std::int64_t wal_bytes = 0;
  bool wal_over_limit = false;
};

class sqlite_store {
 public:
  static constexpr int schema_version = 1;

  /// Opens or creates the database; throws std::runtime_error when it cannot.
  explicit sqlite_store(std::filesystem::path file, sqlite_options o = {})
      : path_(std::move(file)), opts_(o) {
    auto db = sqlite::database::open(path_.string());
    if (!db) throw std::runtime_error(db.error().message);
    db_ = std::move(*db);
    if (auto s = configure(); !s) throw std::runtime_error(s.error().message);
    if (auto s = migrate(); !s) throw std::runtime_error(s.error().message);
    prepare();
    if (wal_size() > opts_.wal_force_checkpoint_bytes) (void)checkpoint();
    if (opts_.checkpoint_interval.count() > 0)
      checkpointer_ = std::jthread([this](std::stop_token stop) { checkpoint_loop(stop); });
  }

  ~sqlite_store() {
    checkpointer_.request_stop();
    wake_.notify_all();
  }

  status append(std::span<const sample> batch) {
    std::lock_guard lock(mu_);
    sqlite::transaction tx(db_);
    if (!tx.started()) return fail(db_.last_error("begin"));
    for (const auto& s : batch) {
      auto id = series_id(s.series);
      if (!id) return fail(id.error());
      insert_.reset().bind(1, *id).bind(2, to_unix_ms(s.t)).bind(3, s.value);
      if (insert_.step() != SQLITE_DONE) return fail(db_.last_error("insert sample"));
    }
    if (auto c = tx.commit(); !c) return fail(c.error());
    ++stats_.batches;
    stats_.samples += batch.size();
    return {};
  }

  std::optional<point> latest(const series& id) const {
    std::lock_guard lock(mu_);
    auto sid = find_id(id);
    if (!sid) return std::nullopt;
    latest_.reset().bind(1, *sid);
    if (latest_.step() != SQLITE_ROW) return std::nullopt;
    const point p{from_unix_ms(latest_.int64(0)), latest_.real(1)};
    latest_.reset();  // a statement left on a row holds a read snapshot: checkpoints would wait
    return p;
  }

  /// The latest point of every series, in one query.
  std::vector<std::pair<series, point>> latest_all() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<series, point>> out;
    auto& q = latest_all_;
    q.reset();
    while (q.step() == SQLITE_ROW) {
      auto id = detail::decode_series(q.text(0), q.text(1));
      if (!id) {
        undecodable_.fetch_add(1, std::memory_order_relaxed);
        continue;
      }
      out.emplace_back(std::move(*id), point{from_unix_ms(q.int64(2)), q.real(3)});
    }
    return out;
  }

  std::vector<point> range(const series& id, timestamp from, timestamp to) const {
    std::lock_guard lock(mu_);
    std::vector<point> out;
    auto sid = find_id(id);
    if (!sid) return out;
    range_.reset().bind(1, *sid).bind(2, to_unix_ms(from)).bind(3, to_unix_ms(to));
    while (range_.step() == SQLITE_ROW)
      out.push_back({from_unix_ms(range_.int64(0)), range_.real(1)});
    return out;
  }

  /// mean, min, max, sum, count and last computed by SQLite. With a modest
  /// number of buckets, one indexed range scan per bucket (no sort); with
  /// many, one GROUP BY over the whole range.
  result<std::vector<point>> range_aggregated(const series& id, const range_query& q,
                                              duration step) const {
    // Before the lock: a window or step that would make the loop below run
    // long is refused here, whoever the caller is.
    if (auto st = check_pushdown(q, step); !st) return st.error();
    std::lock_guard lock(mu_);
    std::vector<point> out;
    auto sid = find_id(id);
    if (!sid) return out;
    const std::int64_t from = to_unix_ms(q.from), to = to_unix_ms(q.to), st = step.count();
    const std::int64_t origin = q.align_to_epoch ? 0 : from;
    const std::int64_t first = stores::detail::bucket_start(from, origin, st);
    if ((to - first) / st < 4096) {
      auto& b = per_bucket_[static_cast<int>(q.agg)];
      for (std::int64_t lo = first; lo <= to; lo += st) {
        b.reset().bind(1, *sid).bind(2, std::max(lo, from)).bind(3, std::min(lo + st - 1, to));
        const int rc = b.step();
        if (rc == SQLITE_ROW && b.int64(0) > 0)
          out.push_back({from_unix_ms(lo), b.real(1)});
        else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
          return db_.last_error("range aggregation");
      }
      return out;
    }
    auto& g = grouped_[static_cast<int>(q.agg)];
    g.reset().bind(1, origin).bind(2, st).bind(3, *sid).bind(4, from).bind(5, to);
    int rc;
    while ((rc = g.step()) == SQLITE_ROW) out.push_back({from_unix_ms(g.int64(0)), g.real(1)});
    if (rc != SQLITE_DONE) return db_.last_error("range aggregation");
    return out;
  }

  std::vector<series> list_series() const {
    std::lock_guard lock(mu_);
    std::vector<series> out;
    auto& q = list_;
    q.reset();
    while (q.step() == SQLITE_ROW) {
      auto id = detail::decode_series(q.text(0), q.text(1));
      if (id)
        out.push_back(std::move(*id));
      else
        undecodable_.fetch_add(1, std::memory_order_relaxed);
    }
    return out;
  }

  /// Deletes a series and its samples.
  bool drop(const series& id) {
    std::lock_guard lock(mu_);
    auto sid = find_id(id);
    if (!sid) return false;
    sqlite::statement(db_.get(), "DELETE FROM samples WHERE series_id = ?1").bind(1, *sid).step();
    sqlite::statement(db_.get(), "DELETE FROM series WHERE id = ?1").bind(1, *sid).step();
    ids_.erase(id);
    return true;
  }

  /// Deletes every series whose label `name` is `value`, with its samples,
  /// in one transaction. SQLite finds the candidates by the encoded label
  /// (instr); each is decoded and checked, as another label's value may hold
  /// the same bytes. Returns the series deleted.
  result<std::size_t> drop_labelled(std::string_view name, std::string_view value) {
    if (value.empty()) return std::size_t{0};
    std::lock_guard lock(mu_);
    sqlite::transaction tx(db_);
    if (!tx.started()) return db_.last_error("begin");
    sqlite::statement find(db_.get(),
                           "SELECT id, name, labels FROM series WHERE instr(labels, ?1)");
    find.bind(1, std::string_view(detail::encode_label(name, value)));
    std::vector<std::int64_t> gone;
    int rc;
    while ((rc = find.step()) == SQLITE_ROW) {
      auto id = detail::decode_series(find.text(1), find.text(2));
      if (id && id->labels().get(name) == value) gone.push_back(find.int64(0));
    }
    if (rc != SQLITE_DONE) return db_.last_error("find series");
    find.reset();
    sqlite::statement samples(db_.get(), "DELETE FROM samples WHERE series_id = ?1");
    sqlite::statement row(db_.get(), "DELETE FROM series WHERE id = ?1");
    for (const auto sid : gone) {
      if (samples.reset().bind(1, sid).step() != SQLITE_DONE) return db_.last_error("drop samples");
      if (row.reset().bind(1, sid).step() != SQLITE_DONE) return db_.last_error("drop series");
    }
    if (auto c = tx.commit(); !c) return c.error();
    if (!gone.empty()) ids_.clear();  // refilled on the next append
    return gone.size();
  }

  /// Deletes samples older than `cutoff` and the series left without any
  /// (targets long gone), then returns free pages to the file system a little
  /// at a time (incremental vacuum). Returns sample rows deleted.
  result<std::int64_t> prune_before(timestamp cutoff, int vacuum_pages = 1000) {
    std::lock_guard lock(mu_);
    // Per series, so the primary key serves the range: no index on t alone
    // slowing every insert.
    sqlite::statement del(
        db_.get(), "DELETE FROM samples WHERE series_id IN (SELECT id FROM series) AND t < ?1");
    del.bind(1, to_unix_ms(cutoff));
    if (del.step() != SQLITE_DONE) return db_.last_error("prune");
    const std::int64_t n = sqlite3_changes64(db_.get());
    sqlite::statement empty(db_.get(),
                            "DELETE FROM series WHERE NOT EXISTS "
                            "(SELECT 1 FROM samples WHERE samples.series_id = series.id)");
    if (empty.step() != SQLITE_DONE) return db_.last_error("prune series");
    if (sqlite3_changes64(db_.get()) > 0) ids_.clear();  // refilled on the next append
    // PRAGMA takes no bound parameters; the page count is an int, not input.
    sqlite::statement vac(db_.get(),
                          "PRAGMA incremental_vacuum(" + std::to_string(vacuum_pages) + ")");
    while (vac.step() == SQLITE_ROW) {
    }
    return n;
  }

  /// PRAGMA wal_checkpoint(TRUNCATE); run it periodically (the runtime's
  /// maintenance loop does, every 60 s by default).
  status checkpoint() {
    std::lock_guard lock(mu_);
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) !=
        SQLITE_OK)
      return db_.last_error("checkpoint");
    ++stats_.checkpoints;
    return {};
  }

  /// Refreshes the planner's statistics (PRAGMA optimize runs ANALYZE where useful).
  status analyze() {
    std::lock_guard lock(mu_);
    return db_.exec("PRAGMA optimize");
  }

  sqlite_stats stats() const {
    std::lock_guard lock(mu_);
    sqlite_stats s = stats_;
    s.failed_checkpoints = stats_failed_checkpoints_.load();
    s.wal_bytes = wal_size();
    s.wal_over_limit = s.wal_bytes > opts_.wal_warn_bytes;
    return s;
  }

  int user_schema_version() {
    std::lock_guard lock(mu_);
    return static_cast<int>(db_.scalar("SELECT max(version) FROM schema_version"));
  }

  const std::filesystem::path& path() const noexcept { return path_; }

  /// Stored series whose name or labels could not be decoded (a corrupt
  /// row): left out of every answer, and counted here.
  std::uint64_t undecodable_series() const noexcept { return undecodable_.load(); }

 private:
  status configure() {
    sqlite3_busy_timeout(db_.get(), static_cast<int>(opts_.busy_timeout.count()));
    // auto_vacuum only takes effect before the first table exists.
    if (db_.scalar("SELECT count(*) FROM sqlite_master") == 0)
      if (auto s = db_.exec("PRAGMA auto_vacuum = INCREMENTAL"); !s) return s;
    for (std::string_view pragma :
         {"PRAGMA journal_mode = WAL", "PRAGMA wal_autocheckpoint = 0", "PRAGMA foreign_keys = ON"})
      if (auto s = db_.exec(pragma); !s) return s;
    if (auto s = db_.exec(opts_.synchronous_full ? "PRAGMA synchronous = FULL"
                                                 : "PRAGMA synchronous = NORMAL");
        !s)
      return s;
    return db_.exec("PRAGMA journal_size_limit = " + std::to_string(opts_.journal_size_limit));
  }

  // Each migration moves the schema from version i to i + 1, in one transaction.
  status migrate() {
    static constexpr std::string_view migrations[] = {
        "CREATE TABLE series (id INTEGER PRIMARY KEY, hash INTEGER NOT NULL, name TEXT NOT NULL, "
        "labels TEXT NOT NULL, UNIQUE (name, labels));"
        "CREATE INDEX series_hash ON series (hash);"
        "CREATE TABLE samples (series_id INTEGER NOT NULL REFERENCES series (id), "
        "t INTEGER NOT NULL, v REAL, PRIMARY KEY (series_id, t)) WITHOUT ROWID;",
    };
    const bool versioned =
        db_.scalar("SELECT count(*) FROM sqlite_master WHERE name = 'schema_version'") > 0;
    const auto current =
        versioned ? db_.scalar("SELECT coalesce(max(version), 0) FROM schema_version") : 0;
    if (current >= static_cast<std::int64_t>(std::size(migrations))) return {};  // read-only check
    if (auto s = db_.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, "
                          "applied_ms INTEGER NOT NULL)");
        !s)
      return s;
    for (auto v = current; v < static_cast<std::int64_t>(std::size(migrations)); ++v) {
      sqlite::transaction tx(db_);
      if (auto s = db_.exec(migrations[v]); !s) return s;
      sqlite::statement rec(db_.get(), "INSERT INTO schema_version VALUES (?1, ?2)");
      rec.bind(1, v + 1).bind(2, to_unix_ms(now()));
      if (rec.step() != SQLITE_DONE) return db_.last_error("record schema version");
      if (auto s = tx.commit(); !s) return s;
    }
    return {};
  }

  void prepare() {
    auto* d = db_.get();
    insert_ = {d, "INSERT OR REPLACE INTO samples (series_id, t, v) VALUES (?1, ?2, ?3)"};
    find_series_ = {d, "SELECT id FROM series WHERE name = ?1 AND labels = ?2"};
    insert_series_ = {d, "INSERT INTO series (hash, name, labels) VALUES (?1, ?2, ?3)"};
    latest_ = {d, "SELECT t, v FROM samples WHERE series_id = ?1 ORDER BY t DESC LIMIT 1"};
    // SQLite returns the bare columns of the row holding max(t).
    latest_all_ = {
        d,
        "SELECT s.name, s.labels, max(x.t), x.v FROM samples x "
        "JOIN series s ON s.id = x.series_id GROUP BY x.series_id ORDER BY s.name, s.labels"};
    range_ = {d,
              "SELECT t, v FROM samples WHERE series_id = ?1 AND t >= ?2 AND t <= ?3 ORDER BY t"};
    list_ = {d, "SELECT name, labels FROM series ORDER BY name, labels"};
    const std::string bucket = "(?1 + ((t - ?1) / ?2 - ((t - ?1) % ?2 < 0)) * ?2)";
    const std::string where = " FROM samples WHERE series_id = ?3 AND t >= ?4 AND t <= ?5 ";
    const std::string in_bucket = " FROM samples WHERE series_id = ?1 AND t >= ?2 AND t <= ?3";
    const std::pair<aggregation, std::string> aggs[] = {{aggregation::mean, "avg(v)"},
                                                        {aggregation::min, "min(v)"},
                                                        {aggregation::max, "max(v)"},
                                                        {aggregation::sum, "sum(v)"},
                                                        {aggregation::count, "count(*)"}};
    for (const auto& [a, expr] : aggs) {
      grouped_[static_cast<int>(a)] = {
          d, "SELECT " + bucket + " AS b, " + expr + where + "GROUP BY b ORDER BY b"};
      per_bucket_[static_cast<int>(a)] = {d, "SELECT count(*), " + expr + in_bucket};
    }
    grouped_[static_cast<int>(aggregation::last)] = {
        d, "SELECT " + bucket + " AS b, v, max(t)" + where + "GROUP BY b ORDER BY b"};
    per_bucket_[static_cast<int>(aggregation::last)] = {
        d, "SELECT 1, v" + in_bucket + " ORDER BY t DESC LIMIT 1"};
  }

  std::int64_t wal_size() const {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path_.string() + "-wal", ec);
    return ec ? 0 : static_cast<std::int64_t>(n);
  }

  std::optional<std::int64_t> find_id(const series& s) const {
    if (auto it = ids_.find(s); it != ids_.end()) return it->second;
    find_series_.reset().bind(1, s.name()).bind(2, detail::encode_labels(s.labels()));
    if (find_series_.step() != SQLITE_ROW) return std::nullopt;
    const auto id = find_series_.int64(0);
    find_series_.reset();
    ids_.emplace(s, id);
    return id;
  }

  result<std::int64_t> series_id(const series& s) {
    if (auto id = find_id(s)) return *id;
    insert_series_.reset()
        .bind(1, static_cast<std::int64_t>(s.hash()))
        .bind(2, s.name())
        .bind(3, detail::encode_labels(s.labels()));
    if (insert_series_.step() != SQLITE_DONE) return db_.last_error("insert series");
    const auto id = sqlite3_last_insert_rowid(db_.get());
    ids_.emplace(s, id);
    return id;
  }

  void checkpoint_loop(std::stop_token stop) {
    std::mutex m;
    std::unique_lock lock(m);
    while (!wake_.wait_for(lock, stop, opts_.checkpoint_interval, [] { return false; })) {
      if (stop.stop_requested()) return;
      if (!checkpoint()) ++stats_failed_checkpoints_;
    }
  }

  status fail(vitals::error e) {
    ids_.clear();  // ids assigned inside the rolled-back transaction are gone
    ++stats_.failed_batches;
    return e;
  }

  std::filesystem::path path_;
  sqlite_options opts_;
  mutable std::mutex mu_;
  mutable std::atomic<std::uint64_t> undecodable_{0};
  mutable sqlite::database db_;
  mutable sqlite::statement insert_, find_series_, insert_series_, latest_, latest_all_, range_,
      list_;
  mutable sqlite::statement grouped_[9], per_bucket_[9];
  mutable std::unordered_map<series, std::int64_t, series_hasher> ids_;
  sqlite_stats stats_;
  std::atomic<std::uint64_t> stats_failed_checkpoints_{0};
  std::condition_variable_any wake_;
  std::jthread checkpointer_;  // last: stops before the members it uses go
};

static_assert(aggregating_store<sqlite_store, range_query> && label_dropping_store<sqlite_store>);

}  // namespace vitals::stores
