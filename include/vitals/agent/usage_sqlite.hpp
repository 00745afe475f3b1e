// Usage events in SQLite (the 003 seed's store): one row per event in
// `usage_events`, unique by dedup key; the raw payload as sent in
// `usage_raw`, which `prune` deletes after a retention while the event
// rows stay; and `usage_hourly`, the events' sums per hour and group, kept
// by every `put` in the same transaction (an enrichment moves its event's
// old sums out). Reports read whole hours from `usage_hourly` and only the
// partial hours at a window's edges from `usage_events`, so a month of
// events costs a few thousand rows to aggregate, not millions. Quota
// readings (limit_snapshot events) are rows of `usage_limits`, by account,
// window and time, pruned with the events.
// WAL journal; `checkpoint()` truncates the WAL (the monitor calls it
// periodically).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <tuple>
#include <vector>

#include "vitals/agent/detail/usage_sums.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/sqlite_db.hpp"

namespace vitals::agent {

class usage_sqlite {
 public:
  explicit usage_sqlite(const std::filesystem::path& file, bool synchronous_full = false)
      : path_(file) {
    auto db = stores::sqlite::database::open_wal(file.string(), synchronous_full);
    if (!db) throw std::runtime_error(db.error().message);
    db_ = std::move(*db);
    for (std::string_view sql :
         {// Unknown counts are NULL. `model` is the grouping model: the
          // canonical name, else the raw one; none for tool calls.
          "CREATE TABLE IF NOT EXISTS usage_events ("
          " id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, t INTEGER NOT NULL,"
          " source_system TEXT NOT NULL, source_channel TEXT NOT NULL,"
          " event_type TEXT NOT NULL, provider TEXT NOT NULL, account TEXT NOT NULL,"
          " agent TEXT NOT NULL, workspace TEXT NOT NULL, session TEXT NOT NULL,"
          " turn TEXT NOT NULL, message TEXT NOT NULL, tool_call TEXT NOT NULL,"
          " model_raw TEXT NOT NULL, model_canonical TEXT NOT NULL, model TEXT NOT NULL,"
          " tool TEXT NOT NULL, status TEXT NOT NULL,"
          " input INTEGER, output INTEGER, reasoning INTEGER, cache_read INTEGER,"
          " cache_write INTEGER, total INTEGER, requests INTEGER,"
          " cost REAL, duration_ms REAL, host TEXT NOT NULL DEFAULT '')",
          "CREATE INDEX IF NOT EXISTS usage_events_t ON usage_events (t)",
          // Agent filters read whole hours from usage_hourly: no (agent, t) index to keep.
          "CREATE TABLE IF NOT EXISTS usage_raw ("
          " key TEXT PRIMARY KEY, received INTEGER NOT NULL, payload TEXT NOT NULL)",
          "CREATE INDEX IF NOT EXISTS usage_raw_received ON usage_raw (received)", hourly_table,
          // Unknown amounts are NULL; `resets_at` in unix ms.
          "CREATE TABLE IF NOT EXISTS usage_limits ("
          " account TEXT NOT NULL, limit_window TEXT NOT NULL, t INTEGER NOT NULL,"
          " provider TEXT NOT NULL, agent TEXT NOT NULL, source TEXT NOT NULL,"
          " used REAL, limit_max REAL, used_percent REAL, resets_at INTEGER,"
          " PRIMARY KEY (account, limit_window, t)) WITHOUT ROWID"})
      if (auto s = db_.exec(sql); !s) throw std::runtime_error(s.error().message);
    // Version 1 added usage_hourly, version 2 the host of each event (a key
    // of the hourly sums): the columns a file made before lacks are added,
    // and the sums are filled again from the events stored before.
    if (db_.scalar("PRAGMA user_version") < 2) {
      auto has_host = [&](std::string_view table) {
        return db_.scalar("SELECT count(*) FROM pragma_table_info('" + std::string(table) +
                          "') WHERE name = 'host'") > 0;
      };
      std::vector<std::string> steps{"BEGIN IMMEDIATE"};
      if (!has_host("usage_events"))
        steps.push_back("ALTER TABLE usage_events ADD COLUMN host TEXT NOT NULL DEFAULT ''");
      if (!has_host("usage_hourly")) {
        steps.push_back("DROP TABLE usage_hourly");
        steps.push_back(std::string(hourly_table));
      }
      for (const char* sql : {"DELETE FROM usage_hourly", rebuild_hourly.c_str(),
                              "PRAGMA user_version = 2", "COMMIT"})
        steps.push_back(sql);
      for (const auto& sql : steps)
        if (auto s = db_.exec(sql); !s) {
          (void)db_.exec("ROLLBACK");
          throw std::runtime_error(s.error().message);
        }
    }
    auto* d = db_.get();
    find_ = {d, "SELECT " + std::string(event_columns) +
                    ", r.payload FROM usage_events e LEFT JOIN usage_raw r ON r.key = e.key"
                    " WHERE e.key = ?1"};
    insert_ = {d, std::string(insert_event) + " ON CONFLICT (key) DO NOTHING"};
    upsert_ = {d,
               std::string(insert_event) +
                   " ON CONFLICT (key) DO UPDATE SET"
                   " t = excluded.t, source_system = excluded.source_system,"
                   " source_channel = excluded.source_channel, event_type = excluded.event_type,"
                   " provider = excluded.provider, account = excluded.account,"
                   " agent = excluded.agent, workspace = excluded.workspace,"
                   " session = excluded.session, turn = excluded.turn, message = excluded.message,"
                   " tool_call = excluded.tool_call, model_raw = excluded.model_raw,"
                   " model_canonical = excluded.model_canonical, model = excluded.model,"
                   " tool = excluded.tool, status = excluded.status, input = excluded.input,"
                   " output = excluded.output, reasoning = excluded.reasoning,"
                   " cache_read = excluded.cache_read, cache_write = excluded.cache_write,"
                   " total = excluded.total, requests = excluded.requests, cost = excluded.cost,"
                   " duration_ms = excluded.duration_ms, host = excluded.host"};
    raw_ = {d,
            "INSERT INTO usage_raw (key, received, payload) VALUES (?1, ?2, ?3)"
            " ON CONFLICT (key) DO UPDATE SET payload = excluded.payload"};
    count_ = {d, "SELECT count(*) FROM usage_events"};
    add_limit_ = {d,
                  "INSERT INTO usage_limits VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
                  " ON CONFLICT DO NOTHING"};
    latest_limits_ = {d, detail::latest_limits_sql("?1", "?2")};
    add_hourly_ = {d,
                   "INSERT INTO usage_hourly VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10,"
                   " ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)"
                   " ON CONFLICT DO UPDATE SET input = input + excluded.input,"
                   " output = output + excluded.output,"
                   " cache_read = cache_read + excluded.cache_read,"
                   " cache_write = cache_write + excluded.cache_write,"
                   " reasoning = reasoning + excluded.reasoning, total = total + excluded.total,"
                   " requests = requests + excluded.requests,"
                   " tool_calls = tool_calls + excluded.tool_calls,"
                   " errors = errors + excluded.errors, events = events + excluded.events,"
                   " cost = cost + excluded.cost, duration_ms = duration_ms + excluded.duration_ms,"
                   " first = min(first, excluded.first), last = max(last, excluded.last)"};
  }

  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) {
    std::lock_guard lock(mu_);
    // One read transaction: one file lock for the batch, not one per key.
    if (auto s = db_.exec("BEGIN"); !s) return s.error();
    std::vector<std::optional<usage_event>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
      auto e = stored(k);
      if (!e) {
        (void)db_.exec("ROLLBACK");
        return e.error();
      }
      out.push_back(std::move(*e));
    }
    if (auto s = db_.exec("COMMIT"); !s) return s.error();
    return out;
  }

  status put(std::span<const usage_record> records) {
    std::lock_guard lock(mu_);
    stores::sqlite::transaction tx(db_);
    if (!tx.started()) return db_.last_error("begin");
    const std::int64_t received = to_unix_ms(vitals::now());
    std::map<hour_key, usage_totals> hourly;  // what this batch adds to usage_hourly
    for (const auto& [key, e] : records) {
      bind_event(insert_.reset(), key, e);
      if (insert_.step() != SQLITE_DONE) return db_.last_error("store usage event");
      if (sqlite3_changes(db_.get()) == 0) {  // known: replace it, and its sums
        auto old = stored(key);
        if (!old || !*old) return old ? db_.last_error("read replaced usage event") : old.error();
        hourly[detail::hour_of(**old)].subtract(detail::totals_of(**old));
        bind_event(upsert_.reset(), key, e);
        if (upsert_.step() != SQLITE_DONE) return db_.last_error("replace usage event");
      }
      hourly[detail::hour_of(e)].add(detail::totals_of(e));
      if (e.payload.empty()) continue;
      raw_.reset().bind(1, key).bind(2, received).bind(3, e.payload);
      if (raw_.step() != SQLITE_DONE) return db_.last_error("store raw payload");
    }
    for (const auto& [k, t] : hourly)
      if (auto st = add_hourly(k, t); !st) return st;
    return tx.commit();
  }

  /// Whole hours of the window from usage_hourly, the partial hours at its
  /// edges from usage_events; buckets of a whole number of hours, or none.
  result<std::vector<usage_row>> aggregate(const usage_query& q) {
    const detail::usage_window w(q);
    detail::usage_groups groups;
    std::lock_guard lock(mu_);
    if (auto s = db_.exec("BEGIN"); !s) return s.error();  // one snapshot for all parts
    const status st = w.each_part([&](std::int64_t from, std::int64_t to, bool hourly) {
      return collect(q, detail::usage_sql(q, dialect, hourly), from, to, groups);
    });
    (void)db_.exec(st ? "COMMIT" : "ROLLBACK");
    if (!st) return st.error();
    return detail::rows_of(groups);
  }

  result<std::size_t> count() {
    std::lock_guard lock(mu_);
    if (count_.reset().step() != SQLITE_ROW) return db_.last_error("count usage events");
    const auto n = static_cast<std::size_t>(count_.int64(0));
    count_.reset();
    return n;
  }

  result<std::size_t> put_limits(std::span<const limit_snapshot> snapshots) {
    std::lock_guard lock(mu_);
    stores::sqlite::transaction tx(db_);
    if (!tx.started()) return db_.last_error("begin");
    std::size_t added = 0;
    for (const auto& l : snapshots) {
      auto& s = add_limit_.reset();
      s.bind(1, l.account).bind(2, l.window).bind(3, to_unix_ms(l.at));
      s.bind(4, l.provider).bind(5, l.agent).bind(6, l.source);
      int i = 7;
      for (const auto* v : {&l.used, &l.limit, &l.used_percent})
        *v ? s.bind(i++, **v) : s.bind_null(i++);
      l.resets_at ? s.bind(10, to_unix_ms(*l.resets_at)) : s.bind_null(10);
      if (s.step() != SQLITE_DONE) return db_.last_error("store limit snapshot");
      added += static_cast<std::size_t>(sqlite3_changes(db_.get()));
    }
    if (auto st = tx.commit(); !st) return st.error();
    return added;
  }

  result<std::vector<limit_snapshot>> latest_limits(const std::string& account,
                                                    const std::string& window) {
    std::lock_guard lock(mu_);
    auto& s = latest_limits_.reset();
    s.bind(1, account).bind(2, window);
    std::vector<limit_snapshot> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) out.push_back(detail::read_limit(row{s}));
    s.reset();
    if (rc != SQLITE_DONE) return db_.last_error("read limit snapshots");
    return out;
  }

  /// Deletes event rows and limit snapshots older than `r.events` (to the
  /// hour before, so the hourly sums go with them) and raw payloads
  /// received more than `r.payloads` ago.
  result<prune_result> prune(const usage_retention& r, timestamp now = vitals::now()) {
    std::lock_guard lock(mu_);
    stores::sqlite::transaction tx(db_);
    if (!tx.started()) return db_.last_error("begin");
    const std::int64_t hour = 3'600'000, cut = to_unix_ms(now - r.events) / hour * hour;
    prune_result out;
    auto run = [&](std::string_view sql, std::int64_t bound) {
      stores::sqlite::statement s(db_.get(), sql);
      return s.bind(1, bound).step() == SQLITE_DONE;
    };
    if (!run("DELETE FROM usage_raw WHERE key IN (SELECT key FROM usage_events WHERE t < ?1)",
             cut) ||
        !run("DELETE FROM usage_events WHERE t < ?1", cut))
      return db_.last_error("prune usage events");
    out.events = sqlite3_changes64(db_.get());
    if (!run("DELETE FROM usage_hourly WHERE hour < ?1", cut) ||
        !run("DELETE FROM usage_limits WHERE t < ?1", cut) ||
        !run("DELETE FROM usage_raw WHERE received < ?1", to_unix_ms(now - r.payloads)))
      return db_.last_error("prune usage payloads");
    out.payloads = sqlite3_changes64(db_.get());
    if (auto st = tx.commit(); !st) return st.error();
    return out;
  }

  /// Moves the WAL into the database and truncates it to zero bytes.
  status checkpoint() {
    std::lock_guard lock(mu_);
    return db_.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  /// The WAL's size on disk now.
  std::uintmax_t wal_bytes() const {
    std::error_code ec;
    const auto n = std::filesystem::file_size(path_.string() + "-wal", ec);
    return ec ? 0 : n;
  }

 private:
  static constexpr std::string_view event_columns =
      "e.key, e.t, e.source_system, e.source_channel, e.event_type, e.provider, e.account,"
      " e.agent, e.workspace, e.session, e.turn, e.message, e.tool_call, e.model_raw,"
      " e.model_canonical, e.model, e.tool, e.status, e.input, e.output, e.reasoning,"
      " e.cache_read, e.cache_write, e.total, e.requests, e.cost, e.duration_ms, e.host";

  // The sums per hour and group; `host` last, as version 2 added it.
  static constexpr const char* hourly_table =
      "CREATE TABLE IF NOT EXISTS usage_hourly ("
      " hour INTEGER NOT NULL, agent TEXT NOT NULL, model TEXT NOT NULL,"
      " tool TEXT NOT NULL, provider TEXT NOT NULL, status TEXT NOT NULL,"
      " is_tool INTEGER NOT NULL, input INTEGER NOT NULL, output INTEGER NOT NULL,"
      " cache_read INTEGER NOT NULL, cache_write INTEGER NOT NULL,"
      " reasoning INTEGER NOT NULL, total INTEGER NOT NULL, requests INTEGER NOT NULL,"
      " tool_calls INTEGER NOT NULL, errors INTEGER NOT NULL, events INTEGER NOT NULL,"
      " cost REAL NOT NULL, duration_ms REAL NOT NULL, first INTEGER NOT NULL,"
      " last INTEGER NOT NULL, host TEXT NOT NULL,"
      " PRIMARY KEY (hour, agent, model, tool, provider, status, is_tool, host)) WITHOUT ROWID";

  using hour_key = detail::usage_hour_key;
  using group_key = detail::usage_group_key;
  static constexpr std::int64_t max_ms = detail::max_ms;

  static constexpr std::string_view insert_event =
      "INSERT INTO usage_events (key, t, source_system, source_channel, event_type,"
      " provider, account, agent, workspace, session, turn, message, tool_call,"
      " model_raw, model_canonical, model, tool, status, input, output, reasoning,"
      " cache_read, cache_write, total, requests, cost, duration_ms, host) VALUES (?1, ?2,"
      " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
      " ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)";

  // usage_totals::add in SQL: an error's tokens do not count, its request does.
  // total(), not sum(): sum() raises "integer overflow" past int64, and one
  // stored row out of bounds would stop every report and the restart.
  // Reading a sum back as int64 saturates (sqlite3_column_int64).
  static constexpr std::string_view event_sums =
      "total(iif(status = 'error', 0, coalesce(input, 0))),"
      " total(iif(status = 'error', 0, coalesce(output, 0))),"
      " total(iif(status = 'error', 0, coalesce(cache_read, 0))),"
      " total(iif(status = 'error', 0, coalesce(cache_write, 0))),"
      " total(iif(status = 'error', 0, coalesce(reasoning, 0))),"
      " total(iif(status = 'error', 0, coalesce(total, 0))),"
      " total(iif(event_type = 'tool_usage', 0, coalesce(requests, 1))),"
      " total(event_type = 'tool_usage'), total(status = 'error'), count(*),"
      " total(cost), total(duration_ms), min(t), max(t)";

  static constexpr std::string_view rebuild_hourly_head =
      "INSERT INTO usage_hourly SELECT t - (t % 3600000), agent, model, tool, provider, status,"
      " event_type = 'tool_usage', ";
  static inline const std::string rebuild_hourly =
      std::string(rebuild_hourly_head) + std::string(event_sums) +
      ", host FROM usage_events GROUP BY 1, 2, 3, 4, 5, 6, 7, host";

  static constexpr detail::usage_dialect dialect{
      "?1",
      "?2",
      "?3",
      "?4",
      "?5",
      "?6",
      event_sums,
      "total(input), total(output), total(cache_read), total(cache_write), total(reasoning), "
      "total(total),"
      " total(requests), total(tool_calls), total(errors), total(events), total(cost),"
      " total(duration_ms), min(first), max(last)",
      "is_tool = 1",
      "is_tool = 0"};

  // Runs one part of an aggregate and adds its rows to `groups`.
  status collect(const usage_query& q, const std::string& sql, std::int64_t from, std::int64_t to,
                 std::map<group_key, usage_totals>& groups) {
    stores::sqlite::statement s(db_.get(), sql);
    const std::int64_t width = std::chrono::milliseconds(q.bucket).count();
    s.bind(1, from).bind(2, to).bind(3, q.agent).bind(4, width > 0 ? width : to_unix_ms(q.from));
    s.bind(5, q.host).bind(6, std::int64_t{q.unset_host_too});
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) detail::add_group_row(row{s}, groups);
    return rc == SQLITE_DONE ? status{} : status(db_.last_error("aggregate usage"));
  }

  status add_hourly(const hour_key& k, const usage_totals& t) {
    auto& s = add_hourly_.reset();
    const auto& [hour, agent, model, tool, provider, status, is_tool, host] = k;
    s.bind(1, hour).bind(2, agent).bind(3, model).bind(4, tool).bind(5, provider).bind(6, status);
    s.bind(7, std::int64_t{is_tool});
    int i = 8;
    for (auto v : {t.input, t.output, t.cache_read, t.cache_write, t.reasoning, t.total, t.requests,
                   t.tool_calls, t.errors, t.events})
      s.bind(i++, v);
    s.bind(18, t.cost_usd).bind(19, t.duration_ms);
    // A group only subtracted from keeps its times: these lose min() and max().
    s.bind(20, t.first == timestamp::max() ? max_ms : to_unix_ms(t.first));
    s.bind(21, t.last == timestamp::min() ? std::int64_t{0} : to_unix_ms(t.last));
    s.bind(22, host);
    if (s.step() != SQLITE_DONE) return db_.last_error("add hourly usage");
    return {};
  }

  // The stored event under `key`, with its payload; the statement is reset
  // so it holds no read snapshot afterwards.
  result<std::optional<usage_event>> stored(const std::string& key) {
    find_.reset().bind(1, key);
    const int rc = find_.step();
    std::optional<usage_event> out;
    if (rc == SQLITE_ROW) out = detail::read_usage_event(row{find_}, 28);
    find_.reset();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return db_.last_error("find usage event");
    return out;
  }

  static void bind_event(stores::sqlite::statement& s, const std::string& key,
                         const usage_event& e) {
    s.bind(1, key).bind(2, to_unix_ms(e.occurred_at));
    int i = 3;
    for (const std::string* v :
         {&e.source_system, &e.source_channel, &e.event_type, &e.provider_id, &e.account_id,
          &e.agent_name, &e.workspace_id, &e.session_id, &e.turn_id, &e.message_id, &e.tool_call_id,
          &e.model_raw, &e.model_canonical, &detail::grouped_model(e), &e.tool_name, &e.status})
      s.bind(i++, *v);
    for (const auto* v :
         {&e.input_tokens, &e.output_tokens, &e.reasoning_tokens, &e.cache_read_tokens,
          &e.cache_write_tokens, &e.total_tokens, &e.requests})
      *v ? s.bind(i++, **v) : s.bind_null(i++);
    for (const auto* v : {&e.cost_usd, &e.duration_ms}) *v ? s.bind(i++, **v) : s.bind_null(i++);
    s.bind(i, e.host);
  }

  // A statement's current row as detail::read_usage_event and add_group_row read it.
  struct row {
    const stores::sqlite::statement& s;
    std::string_view text(int c) const { return s.text(c); }
    std::int64_t int64(int c) const { return s.int64(c); }
    double real(int c) const { return s.real(c); }
    bool null(int c) const { return s.is_null(c); }
  };

  std::filesystem::path path_;
  std::mutex mu_;
  stores::sqlite::database db_;
  stores::sqlite::statement find_, insert_, upsert_, raw_, count_, add_hourly_, add_limit_,
      latest_limits_;
};

static_assert(usage_store<usage_sqlite>);
static_assert(limit_store<usage_sqlite>);

}  // namespace vitals::agent
