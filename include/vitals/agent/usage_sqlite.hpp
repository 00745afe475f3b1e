// Usage events in SQLite (the 003 seed's store): one row per event in
// `usage_events`, unique by dedup key, and the raw payload as sent in
// `usage_raw`, which `prune` deletes after a retention while the event
// rows stay. WAL journal; `checkpoint()` truncates the WAL, and the monitor
// calls it periodically and reports the WAL's size.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/detail/sqlite_db.hpp"

namespace vitals::agent {

struct usage_retention {
  std::chrono::hours events = std::chrono::days(400);  // event rows
  std::chrono::hours payloads = std::chrono::days(3);  // raw payloads (the 003 seed keeps 72 h)
};

struct prune_result {
  std::int64_t events = 0, payloads = 0;
};

class usage_sqlite {
 public:
  explicit usage_sqlite(const std::filesystem::path& file, bool synchronous_full = false)
      : path_(file) {
    auto db = stores::detail::database::open(file.string());
    if (!db) throw std::runtime_error(db.error().message);
    db_ = std::move(*db);
    sqlite3_busy_timeout(db_.get(), 5000);
    for (std::string_view sql :
         {"PRAGMA journal_mode = WAL",
          synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
          // Unknown counts are NULL. `model` is the grouping model: the
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
          " cost REAL, duration_ms REAL)",
          "CREATE INDEX IF NOT EXISTS usage_events_t ON usage_events (t)",
          "CREATE INDEX IF NOT EXISTS usage_events_agent_t ON usage_events (agent, t)",
          "CREATE TABLE IF NOT EXISTS usage_raw ("
          " key TEXT PRIMARY KEY, received INTEGER NOT NULL, payload TEXT NOT NULL)",
          "CREATE INDEX IF NOT EXISTS usage_raw_received ON usage_raw (received)"})
      if (auto s = db_.exec(sql); !s) throw std::runtime_error(s.error().message);
    auto* d = db_.get();
    find_ = {d, "SELECT " + std::string(event_columns) +
                    ", r.payload FROM usage_events e LEFT JOIN usage_raw r ON r.key = e.key"
                    " WHERE e.key = ?1"};
    upsert_ = {d,
               "INSERT INTO usage_events (key, t, source_system, source_channel, event_type,"
               " provider, account, agent, workspace, session, turn, message, tool_call,"
               " model_raw, model_canonical, model, tool, status, input, output, reasoning,"
               " cache_read, cache_write, total, requests, cost, duration_ms) VALUES (?1, ?2,"
               " ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
               " ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27) ON CONFLICT (key) DO UPDATE SET"
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
               " duration_ms = excluded.duration_ms"};
    raw_ = {d,
            "INSERT INTO usage_raw (key, received, payload) VALUES (?1, ?2, ?3)"
            " ON CONFLICT (key) DO UPDATE SET payload = excluded.payload"};
    count_ = {d, "SELECT count(*) FROM usage_events"};
  }

  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) {
    std::lock_guard lock(mu_);
    std::vector<std::optional<usage_event>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
      find_.reset().bind(1, k);
      const int rc = find_.step();
      if (rc == SQLITE_ROW)
        out.push_back(read_event(find_, 27));
      else if (rc == SQLITE_DONE)
        out.emplace_back();
      else
        return db_.last_error("find usage event");
    }
    find_.reset();  // a statement left on a row holds a read snapshot: checkpoints would wait
    return out;
  }

  status put(std::span<const usage_record> records) {
    std::lock_guard lock(mu_);
    stores::detail::transaction tx(db_);
    if (!tx.started()) return db_.last_error("begin");
    const std::int64_t received = to_unix_ms(vitals::now());
    for (const auto& r : records) {
      bind_event(upsert_.reset(), r.key, r.event);
      if (upsert_.step() != SQLITE_DONE) return db_.last_error("store usage event");
      if (r.event.payload.empty()) continue;
      raw_.reset().bind(1, r.key).bind(2, received).bind(3, r.event.payload);
      if (raw_.step() != SQLITE_DONE) return db_.last_error("store raw payload");
    }
    return tx.commit();
  }

  result<std::vector<usage_row>> aggregate(const usage_query& q) {
    // Column names come from this fixed list, never from input.
    static constexpr std::pair<usage_key, std::string_view> keys[] = {{by_agent, "agent"},
                                                                      {by_model, "model"},
                                                                      {by_tool, "tool"},
                                                                      {by_provider, "provider"},
                                                                      {by_status, "status"}};
    std::string select, group = "bucket";
    for (auto [bit, column] : keys) {
      const bool on = q.group & bit;
      select += on ? ", " + std::string(column) : ", ''";
      if (on) group += ", " + std::string(column);
    }
    const std::int64_t width =
        q.bucket.count() > 0 ? std::chrono::milliseconds(q.bucket).count() : 0;
    std::string sql = "SELECT " + std::string(width > 0 ? "t - (t % ?4)" : "?4") + " AS bucket" +
                      select +
                      ", sum(iif(status = 'error', 0, coalesce(input, 0)))"
                      ", sum(iif(status = 'error', 0, coalesce(output, 0)))"
                      ", sum(iif(status = 'error', 0, coalesce(cache_read, 0)))"
                      ", sum(iif(status = 'error', 0, coalesce(cache_write, 0)))"
                      ", sum(iif(status = 'error', 0, coalesce(reasoning, 0)))"
                      ", sum(iif(status = 'error', 0, coalesce(total, 0)))"
                      ", sum(iif(event_type = 'tool_usage', 0, coalesce(requests, 1)))"
                      ", sum(event_type = 'tool_usage'), sum(status = 'error'), count(*)"
                      ", total(cost), total(duration_ms), min(t), max(t)"
                      " FROM usage_events WHERE t >= ?1 AND t <= ?2 AND (?3 = '' OR agent = ?3)";
    if (q.kind == usage_kind::model_calls) sql += " AND event_type <> 'tool_usage'";
    if (q.kind == usage_kind::tool_calls) sql += " AND event_type = 'tool_usage'";
    sql += " GROUP BY " + group + " ORDER BY " + group;
    std::lock_guard lock(mu_);
    stores::detail::statement s(db_.get(), sql);
    s.bind(1, to_unix_ms(q.from))
        .bind(2, q.to == timestamp::max() ? INT64_MAX : to_unix_ms(q.to))
        .bind(3, q.agent)
        .bind(4, width > 0 ? width : to_unix_ms(q.from));
    std::vector<usage_row> out;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      usage_row r;
      r.bucket = from_unix_ms(s.int64(0));
      int c = 1;
      for (auto* k : {&r.agent, &r.model, &r.tool, &r.provider, &r.status})
        *k = std::string(s.text(c++));
      auto& t = r.totals;
      for (auto* v : {&t.input, &t.output, &t.cache_read, &t.cache_write, &t.reasoning, &t.total,
                      &t.requests, &t.tool_calls, &t.errors, &t.events})
        *v = s.int64(c++);
      t.cost_usd = s.real(c++);
      t.duration_ms = s.real(c++);
      t.first = from_unix_ms(s.int64(c++));
      t.last = from_unix_ms(s.int64(c++));
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return db_.last_error("aggregate usage");
    return out;
  }

  result<std::size_t> count() {
    std::lock_guard lock(mu_);
    if (count_.reset().step() != SQLITE_ROW) return db_.last_error("count usage events");
    const auto n = static_cast<std::size_t>(count_.int64(0));
    count_.reset();
    return n;
  }

  /// Deletes event rows older than `r.events` and raw payloads received
  /// more than `r.payloads` ago.
  result<prune_result> prune(const usage_retention& r, timestamp now = vitals::now()) {
    std::lock_guard lock(mu_);
    prune_result out;
    stores::detail::statement events(
        db_.get(),
        "DELETE FROM usage_raw WHERE key IN (SELECT key FROM usage_events WHERE t < ?1)");
    stores::detail::statement rows(db_.get(), "DELETE FROM usage_events WHERE t < ?1");
    stores::detail::statement raw(db_.get(), "DELETE FROM usage_raw WHERE received < ?1");
    const auto cut_events = to_unix_ms(now - r.events), cut_raw = to_unix_ms(now - r.payloads);
    if (events.bind(1, cut_events).step() != SQLITE_DONE) return db_.last_error("prune payloads");
    if (rows.bind(1, cut_events).step() != SQLITE_DONE) return db_.last_error("prune events");
    out.events = sqlite3_changes64(db_.get());
    if (raw.bind(1, cut_raw).step() != SQLITE_DONE) return db_.last_error("prune payloads");
    out.payloads = sqlite3_changes64(db_.get());
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
      " e.cache_read, e.cache_write, e.total, e.requests, e.cost, e.duration_ms";

  static void bind_event(stores::detail::statement& s, const std::string& key,
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
  }

  // The columns of `event_columns` (the key first), then the payload at `payload_col`.
  static usage_event read_event(stores::detail::statement& s, int payload_col) {
    usage_event e;
    e.occurred_at = from_unix_ms(s.int64(1));
    int c = 2;
    for (std::string* v : {&e.source_system, &e.source_channel, &e.event_type, &e.provider_id,
                           &e.account_id, &e.agent_name, &e.workspace_id, &e.session_id, &e.turn_id,
                           &e.message_id, &e.tool_call_id, &e.model_raw, &e.model_canonical})
      *v = std::string(s.text(c++));
    ++c;  // the grouping model is derived
    e.tool_name = std::string(s.text(c++));
    e.status = std::string(s.text(c++));
    for (auto* v : {&e.input_tokens, &e.output_tokens, &e.reasoning_tokens, &e.cache_read_tokens,
                    &e.cache_write_tokens, &e.total_tokens, &e.requests}) {
      if (!s.is_null(c)) *v = s.int64(c);
      ++c;
    }
    for (auto* v : {&e.cost_usd, &e.duration_ms}) {
      if (!s.is_null(c)) *v = s.real(c);
      ++c;
    }
    if (!s.is_null(payload_col)) e.payload = std::string(s.text(payload_col));
    return e;
  }

  std::filesystem::path path_;
  std::mutex mu_;
  stores::detail::database db_;
  stores::detail::statement find_, upsert_, raw_, count_;
};

static_assert(usage_store<usage_sqlite>);

}  // namespace vitals::agent
