// An event store in SQLite: one row per event, keyed by (stream, version).
// Versions are assigned inside the appending transaction, so concurrent
// writers, even in other processes, never share one; pruning keeps each
// stream's newest event, so versions never restart.
#pragma once

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/sqlite_db.hpp"

namespace vitals::stores {

class event_sqlite_store {
 public:
  explicit event_sqlite_store(const std::filesystem::path& file, bool synchronous_full = false) {
    auto db = sqlite::database::open_wal(file.string(), synchronous_full);
    if (!db) throw std::runtime_error(db.error().message);
    db_ = std::move(*db);
    for (std::string_view sql :
         {"CREATE TABLE IF NOT EXISTS events (stream TEXT NOT NULL, version INTEGER NOT NULL, "
          "type TEXT NOT NULL, t INTEGER NOT NULL, session TEXT NOT NULL, plan TEXT NOT NULL, "
          "task TEXT NOT NULL, data TEXT NOT NULL, PRIMARY KEY (stream, version)) WITHOUT ROWID",
          "CREATE INDEX IF NOT EXISTS events_type ON events (stream, type, version)",
          "CREATE INDEX IF NOT EXISTS events_t ON events (t)"})
      if (auto s = db_.exec(sql); !s) throw std::runtime_error(s.error().message);
    auto* d = db_.get();
    last_version_ = {d, "SELECT coalesce(max(version), 0) FROM events WHERE stream = ?1"};
    insert_ = {d, "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"};
    read_ = {d,
             "SELECT version, type, t, session, plan, task, data FROM events "
             "WHERE stream = ?1 AND version >= ?2 ORDER BY version"};
    by_type_ = {d,
                "SELECT version, type, t, session, plan, task, data FROM events "
                "WHERE stream = ?1 AND type = ?2 ORDER BY version"};
    static constexpr const char* page =
        "SELECT version, type, t, session, plan, task, data FROM events "
        "WHERE stream = ?1 AND version > ?2 AND t >= ?3 AND (?4 = '' OR type = ?4) ";
    oldest_ = {d, (std::string(page) + "ORDER BY version LIMIT ?5").c_str()};
    newest_ = {d, (std::string(page) + "ORDER BY version DESC LIMIT ?5").c_str()};
    prune_ = {d,
              "DELETE FROM events WHERE t < ?1 AND version < "
              "(SELECT max(version) FROM events AS e WHERE e.stream = events.stream)"};
  }

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    std::lock_guard lock(mu_);
    sqlite::transaction tx(db_);  // BEGIN IMMEDIATE: the version read below cannot go stale
    if (!tx.started()) return db_.last_error("begin");
    last_version_.reset().bind(1, stream);
    if (last_version_.step() != SQLITE_ROW) return db_.last_error("read stream version");
    std::int64_t v = last_version_.int64(0);
    last_version_.reset();
    for (const auto& e : events) {
      insert_.reset()
          .bind(1, stream)
          .bind(2, ++v)
          .bind(3, e.type)
          .bind(4, to_unix_ms(e.t))
          .bind(5, e.session)
          .bind(6, e.plan)
          .bind(7, e.task)
          .bind(8, e.data);
      if (insert_.step() != SQLITE_DONE) return db_.last_error("append event");
    }
    if (auto s = tx.commit(); !s) return s.error();
    return v;
  }

  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from_version) {
    std::lock_guard lock(mu_);
    read_.reset().bind(1, stream).bind(2, from_version);
    return collect(read_, stream);
  }

  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    std::lock_guard lock(mu_);
    by_type_.reset().bind(1, stream).bind(2, type);
    return collect(by_type_, stream);
  }

  /// See event_query.
  result<std::vector<stored_event>> query(const event_query& q) {
    std::lock_guard lock(mu_);
    auto& st = q.newest ? newest_ : oldest_;
    const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(q.limit, 1u << 20));
    st.reset()
        .bind(1, q.stream)
        .bind(2, q.after)
        .bind(3, to_unix_ms(q.since))
        .bind(4, q.type)
        .bind(5, limit);
    auto out = collect(st, q.stream);
    if (out && q.newest) std::reverse(out->begin(), out->end());
    return out;
  }

  /// Deletes events older than `cutoff` but each stream's newest; returns how many.
  result<std::int64_t> prune_before(timestamp cutoff) {
    std::lock_guard lock(mu_);
    prune_.reset().bind(1, to_unix_ms(cutoff));
    if (prune_.step() != SQLITE_DONE) return db_.last_error("prune events");
    return static_cast<std::int64_t>(sqlite3_changes(db_.get()));
  }

 private:
  result<std::vector<stored_event>> collect(sqlite::statement& q, const std::string& stream) {
    std::vector<stored_event> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW)
      out.push_back(
          {stream, q.int64(0),
           event{std::string(q.text(1)), from_unix_ms(q.int64(2)), std::string(q.text(3)),
                 std::string(q.text(4)), std::string(q.text(5)), std::string(q.text(6))}});
    if (rc != SQLITE_DONE) return db_.last_error("read events");
    return out;
  }

  std::mutex mu_;
  sqlite::database db_;
  sqlite::statement last_version_, insert_, read_, by_type_, oldest_, newest_, prune_;
};

static_assert(event_store<event_sqlite_store>);

}  // namespace vitals::stores
