// An event store in PostgreSQL: one row per event, keyed by (stream, version).
// An append is one transaction holding an advisory lock on its stream, so
// writers in any number of processes never share a version. Synchronous:
// append returns the version, which the caller needs at once (the pollers'
// sample path is the asynchronous one, in postgres.hpp). Pruning keeps each
// stream's newest event, so versions never restart.
#pragma once

#include <algorithm>
#include <cstdlib>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/stores/detail/pg.hpp"

namespace vitals::stores {

class event_postgres_store {
 public:
  /// Connects (dsn empty: $VITALS_PG_DSN) and migrates; throws when it cannot.
  explicit event_postgres_store(std::string dsn = {}) : dsn_(std::move(dsn)) {
    auto c = pg::open_migrated(dsn_, "PostgreSQL event store", pg::store_schema);
    if (!c) throw std::runtime_error(c.error().message);
    conn_ = std::move(*c);
  }

  result<std::int64_t> append(const std::string& stream, std::span<const event> events) {
    std::lock_guard lock(mu_);
    // Cut while idle (the server restarted): BEGIN is what fails, nothing was
    // written, and one more try on a fresh connection is safe.
    if (auto s = reconnect(); !s) return s.error();
    auto begun = conn_.exec("BEGIN");
    if (!begun && !conn_.ok()) {
      if (auto s = reconnect(); !s) return s.error();
      begun = conn_.exec("BEGIN");
    }
    if (!begun) return begun.error();
    auto v = append_in_transaction(stream, events);
    if (!v) {
      (void)conn_.exec("ROLLBACK");
      return v;
    }
    if (auto c = conn_.exec("COMMIT"); !c) return c.error();
    return v;
  }

  result<std::vector<stored_event>> read(const std::string& stream, std::int64_t from_version) {
    return collect(stream,
                   "SELECT version, type, " VITALS_PG_MS("t") ", session, plan, task, data "
                   "FROM events WHERE stream = $1 AND version >= $2 ORDER BY version",
                   pg::params{}.add(stream).add(from_version));
  }

  result<std::vector<stored_event>> read_by_type(const std::string& stream,
                                                 const std::string& type) {
    return collect(stream,
                   "SELECT version, type, " VITALS_PG_MS("t") ", session, plan, task, data "
                   "FROM events WHERE stream = $1 AND type = $2 ORDER BY version",
                   pg::params{}.add(stream).add(type));
  }

  /// See event_query.
  result<std::vector<stored_event>> query(const event_query& q) {
    const auto limit = static_cast<std::int64_t>(std::min<std::size_t>(q.limit, 1u << 20));
    auto p =
        pg::params{}.add(q.stream).add(q.after).add(to_unix_ms(q.since)).add(q.type).add(limit);
    static constexpr const char* page =
        "SELECT version, type, " VITALS_PG_MS("t") ", session, plan, task, data FROM events "
        "WHERE stream = $1 AND version > $2 AND t >= " VITALS_PG_TS("$3") " AND ($4 = '' OR "
        "type = $4) ORDER BY version ";
    const std::string sql = std::string(page) + (q.newest ? "DESC LIMIT $5" : "LIMIT $5");
    auto out = collect(q.stream, sql.c_str(), p);
    if (!out || !q.newest) return out;
    std::reverse(out->begin(), out->end());
    return out;
  }

  /// Deletes events older than `cutoff` but each stream's newest; returns how many.
  result<std::int64_t> prune_before(timestamp cutoff) {
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    auto r = conn_.query("DELETE FROM events WHERE t < " VITALS_PG_TS("$1") " AND version < "
                         "(SELECT max(version) FROM events AS e WHERE e.stream = events.stream)",
                         pg::params{}.add(to_unix_ms(cutoff)));
    if (!r) return r.error();
    return r->affected();
  }

 private:
  // Inside the caller's transaction. Not retried: a connection lost after
  // COMMIT was sent leaves it unknown whether the events were stored.
  result<std::int64_t> append_in_transaction(const std::string& stream,
                                             std::span<const event> events) {
    std::int64_t v = 0;
    auto s = [&]() -> status {
      auto lock_stream = conn_.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 1))",
                                     pg::params{}.add(stream));
      if (!lock_stream) return lock_stream.error();
      auto last = conn_.query("SELECT coalesce(max(version), 0) FROM events WHERE stream = $1",
                              pg::params{}.add(stream));
      if (!last) return last.error();
      v = last->int64(0, 0);
      // Multi-row INSERTs of bound parameters, under the 65535 parameter limit.
      constexpr std::size_t per_statement = 1000;
      for (std::size_t at = 0; at < events.size(); at += per_statement) {
        std::string sql =
            "INSERT INTO events (stream, version, type, t, session, plan, task, data) "
            "VALUES ";
        pg::params p;
        p.add(stream);
        const auto end = std::min(events.size(), at + per_statement);
        for (std::size_t i = at; i < end; ++i) {
          const auto& e = events[i];
          const int n = p.size();
          auto arg = [&](int k) { return "$" + std::to_string(n + k); };
          sql += (i > at ? ",($1," : "($1,") + arg(1) + "," + arg(2) + ",(timestamptz 'epoch' + " +
                 arg(3) + "::int8 * interval '1 millisecond')," + arg(4) + "," + arg(5) + "," +
                 arg(6) + "," + arg(7) + ")";
          p.add(++v)
              .add(e.type)
              .add(to_unix_ms(e.t))
              .add(e.session)
              .add(e.plan)
              .add(e.task)
              .add(e.data);
        }
        if (auto r = conn_.query(sql.c_str(), p); !r) return r.error();
      }
      return {};
    }();
    if (!s) return s.error();
    return v;
  }

  status reconnect() {
    if (conn_.ok()) return {};
    auto c = pg::connection::open(dsn_);
    if (!c) return c.error();
    conn_ = std::move(*c);
    return {};
  }

  result<std::vector<stored_event>> collect(const std::string& stream, const char* sql,
                                            const pg::params& p) {
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    auto r = conn_.query(sql, p);
    if (!r && !conn_.ok()) {  // cut while idle: one fresh connection, one more try
      if (auto s = reconnect(); !s) return s.error();
      r = conn_.query(sql, p);
    }
    if (!r) return r.error();
    std::vector<stored_event> out;
    for (int i = 0; i < r->size(); ++i)
      out.push_back({stream, r->int64(i, 0),
                     event{std::string(r->text(i, 1)), from_unix_ms(r->int64(i, 2)),
                           std::string(r->text(i, 3)), std::string(r->text(i, 4)),
                           std::string(r->text(i, 5)), std::string(r->text(i, 6))}});
    return out;
  }

  std::string dsn_;
  std::mutex mu_;
  pg::connection conn_;
};

static_assert(event_store<event_postgres_store>);

}  // namespace vitals::stores
