// Usage events in PostgreSQL, as usage_sqlite keeps them in a file: one row
// per event in `usage_events`, unique by dedup key; raw payloads in
// `usage_raw`, which `prune` deletes after their retention; `usage_hourly`,
// the sums per hour and group, kept by every `put` in its transaction (an
// enrichment moves its event's old sums out). Reports read whole hours from
// `usage_hourly`, the partial hours at a window's edges from `usage_events`.
// Quota readings (limit_snapshot events) in `usage_limits`, by account,
// window and time, pruned with the events.
// This store owns its tables: migrations in `vitals_usage_schema` (they were
// step 3 of the stores' `vitals_schema` before; a database that ran that step
// adopts its tables as they are).
// Synchronous libpq calls: the ledger stores before it acknowledges. Every
// value is a bound parameter (a batch goes as arrays through unnest).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vitals/agent/detail/usage_sums.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/stores/pg_connection.hpp"

namespace vitals::agent {

namespace detail {

/// A PostgreSQL array literal in text format: every element quoted, so any
/// text goes through; `null()` is an unknown.
class pg_array {
 public:
  pg_array& add(std::string_view v) {
    sep();
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
    return *this;
  }
  pg_array& add(std::int64_t v) { return add(std::string_view(std::to_string(v))); }
  pg_array& add(double v) {
    std::string s;
    stores::pg::append_double(s, v);
    return add(std::string_view(s));
  }
  pg_array& add(bool v) { return add(std::string_view(v ? "t" : "f")); }
  template <class T>
  pg_array& add(const std::optional<T>& v) {
    return v ? add(*v) : null();
  }
  pg_array& null() {
    sep();
    out_ += "NULL";
    return *this;
  }
  std::string str() const { return out_ + '}'; }

 private:
  void sep() { out_ += out_.size() > 1 ? "," : ""; }
  std::string out_ = "{";
};

// The usage store's schema. Step 1 is IF NOT EXISTS throughout: a database
// whose `vitals_schema` step 3 already made these tables keeps them.
inline constexpr const char* usage_pg_migrations[] = {
    // 1: as in usage_sqlite: events unique by dedup key, times in unix ms,
    // unknown counts NULL; raw payloads pruned on their own; sums per hour
    // and group kept by put().
    "CREATE TABLE IF NOT EXISTS usage_events (key text PRIMARY KEY, t int8 NOT NULL, "
    "source_system text NOT NULL, source_channel text NOT NULL, event_type text NOT NULL, "
    "provider text NOT NULL, account text NOT NULL, agent text NOT NULL, "
    "workspace text NOT NULL, session text NOT NULL, turn text NOT NULL, "
    "message text NOT NULL, tool_call text NOT NULL, model_raw text NOT NULL, "
    "model_canonical text NOT NULL, model text NOT NULL, tool text NOT NULL, "
    "status text NOT NULL, input int8, output int8, reasoning int8, cache_read int8, "
    "cache_write int8, total int8, requests int8, cost float8, duration_ms float8);"
    "CREATE INDEX IF NOT EXISTS usage_events_t ON usage_events (t);"
    "CREATE TABLE IF NOT EXISTS usage_raw (key text PRIMARY KEY, received int8 NOT NULL, "
    "payload text NOT NULL);"
    "CREATE INDEX IF NOT EXISTS usage_raw_received ON usage_raw (received);"
    "CREATE TABLE IF NOT EXISTS usage_hourly (hour int8 NOT NULL, agent text NOT NULL, "
    "model text NOT NULL, tool text NOT NULL, provider text NOT NULL, status text NOT NULL, "
    "is_tool bool NOT NULL, input int8 NOT NULL, output int8 NOT NULL, "
    "cache_read int8 NOT NULL, cache_write int8 NOT NULL, reasoning int8 NOT NULL, "
    "total int8 NOT NULL, requests int8 NOT NULL, tool_calls int8 NOT NULL, "
    "errors int8 NOT NULL, events int8 NOT NULL, cost float8 NOT NULL, "
    "duration_ms float8 NOT NULL, first_t int8 NOT NULL, last_t int8 NOT NULL, "
    "PRIMARY KEY (hour, agent, model, tool, provider, status, is_tool));",
    // 2: quota readings, as in usage_sqlite: unknown amounts NULL, resets_at in unix ms.
    "CREATE TABLE usage_limits (account text NOT NULL, limit_window text NOT NULL, "
    "t int8 NOT NULL, provider text NOT NULL, agent text NOT NULL, source text NOT NULL, "
    "used float8, limit_max float8, used_percent float8, resets_at int8, "
    "PRIMARY KEY (account, limit_window, t));",
    // 3: the host each event came from (a fleet of monitors on one
    // database): a column of the events, and a key of the hourly sums.
    "ALTER TABLE usage_events ADD COLUMN host text NOT NULL DEFAULT '';"
    "ALTER TABLE usage_hourly ADD COLUMN host text NOT NULL DEFAULT '';"
    "ALTER TABLE usage_hourly DROP CONSTRAINT usage_hourly_pkey;"
    "ALTER TABLE usage_hourly ADD PRIMARY KEY "
    "(hour, agent, model, tool, provider, status, is_tool, host);",
};

}  // namespace detail

class usage_postgres {
 public:
  /// Its migrations, versioned apart from the stores' schema.
  static constexpr stores::pg::schema schema{"vitals_usage_schema", 7305872613,
                                             detail::usage_pg_migrations};

  /// Connects (dsn empty: $VITALS_PG_DSN) and migrates; throws when it cannot.
  explicit usage_postgres(std::string dsn = {}) : dsn_(std::move(dsn)) {
    auto c = stores::pg::open_migrated(dsn_, "PostgreSQL usage store", schema);
    if (!c) throw std::runtime_error(c.error().message);
    conn_ = std::move(*c);
  }

  result<std::vector<std::optional<usage_event>>> find(std::span<const std::string> keys) {
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    std::unordered_map<std::string, usage_event> found;
    if (auto s = stored(keys, false, found); !s) return s.error();
    std::vector<std::optional<usage_event>> out;
    out.reserve(keys.size());
    for (const auto& k : keys) {
      auto it = found.find(k);
      out.push_back(it == found.end() ? std::nullopt : std::optional<usage_event>(it->second));
    }
    return out;
  }

  /// One transaction: the events (a later record of a key replaces an
  /// earlier one), their payloads, and the hourly sums they change.
  status put(std::span<const usage_record> records) {
    if (records.empty()) return {};
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s;
    std::map<std::string, const usage_event*> latest;
    for (const auto& r : records) latest[r.key] = &r.event;
    std::vector<std::string> keys;
    keys.reserve(latest.size());
    for (const auto& [k, e] : latest) keys.push_back(k);
    return stores::pg::in_transaction(conn_, [&]() -> status {
      // One writer at a time, in any process: the old sums read below stay true.
      if (auto s = conn_.exec("SELECT pg_advisory_xact_lock(7305872612)"); !s) return s;
      std::unordered_map<std::string, usage_event> old;
      if (auto s = stored(keys, true, old); !s) return s;
      // A key another monitor stored first (an event resent to another
      // host) keeps that host: the event came from there first.
      std::deque<usage_event> rehosted;
      for (auto& [k, e] : latest)
        if (auto it = old.find(k);
            it != old.end() && !it->second.host.empty() && it->second.host != e->host) {
          e = &rehosted.emplace_back(*e);
          rehosted.back().host = it->second.host;
        }
      std::map<detail::usage_hour_key, usage_totals> hourly;
      for (const auto& [k, e] : old) hourly[detail::hour_of(e)].subtract(detail::totals_of(e));
      for (const auto& [k, e] : latest) hourly[detail::hour_of(*e)].add(detail::totals_of(*e));
      if (auto s = write_events(latest); !s) return s;
      if (auto s = write_payloads(latest); !s) return s;
      return write_hourly(hourly);
    });
  }

  /// Whole hours of the window from usage_hourly, the partial hours at its
  /// edges from usage_events, all in one snapshot.
  result<std::vector<usage_row>> aggregate(const usage_query& q) {
    const detail::usage_window w(q);
    detail::usage_groups groups;
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    if (auto s = conn_.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"); !s)
      return s.error();
    const status st = w.each_part([&](std::int64_t from, std::int64_t to, bool hourly) {
      return collect(q, detail::usage_sql(q, dialect, hourly), from, to, groups);
    });
    (void)conn_.exec(st ? "COMMIT" : "ROLLBACK");
    if (!st) return st.error();
    return detail::rows_of(groups);
  }

  result<std::size_t> count() {
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    auto r = conn_.query("SELECT count(*) FROM usage_events");
    if (!r) return r.error();
    return static_cast<std::size_t>(r->int64(0, 0));
  }

  /// One statement: the readings as arrays through unnest; a known
  /// (account, window, time) keeps its first reading.
  result<std::size_t> put_limits(std::span<const limit_snapshot> snapshots) {
    if (snapshots.empty()) return std::size_t{0};
    detail::pg_array cols[10];
    for (const auto& l : snapshots) {
      cols[0].add(std::string_view(l.account));
      cols[1].add(std::string_view(l.window));
      cols[2].add(to_unix_ms(l.at));
      cols[3].add(std::string_view(l.provider));
      cols[4].add(std::string_view(l.agent));
      cols[5].add(std::string_view(l.source));
      cols[6].add(l.used);
      cols[7].add(l.limit);
      cols[8].add(l.used_percent);
      l.resets_at ? cols[9].add(to_unix_ms(*l.resets_at)) : cols[9].null();
    }
    stores::pg::params p;
    for (const auto& a : cols) p.add(a.str());
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    auto r = conn_.query(
        "INSERT INTO usage_limits SELECT * FROM unnest($1::text[], $2::text[], $3::int8[],"
        " $4::text[], $5::text[], $6::text[], $7::float8[], $8::float8[], $9::float8[],"
        " $10::int8[]) ON CONFLICT DO NOTHING",
        p);
    if (!r) return r.error();
    return static_cast<std::size_t>(r->affected());
  }

  result<std::vector<limit_snapshot>> latest_limits(const std::string& account,
                                                    const std::string& window) {
    static const std::string sql = detail::latest_limits_sql("$1::text", "$2::text");
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    auto r = conn_.query(sql.c_str(), stores::pg::params{}.add(account).add(window));
    if (!r) return r.error();
    std::vector<limit_snapshot> out;
    out.reserve(static_cast<std::size_t>(r->size()));
    for (int i = 0; i < r->size(); ++i) out.push_back(detail::read_limit(row{*r, i}));
    return out;
  }

  /// Deletes event rows and limit snapshots older than `r.events` (to the
  /// hour before, so the hourly sums go with them) and raw payloads
  /// received more than `r.payloads` ago.
  result<prune_result> prune(const usage_retention& r, timestamp now = vitals::now()) {
    std::lock_guard lock(mu_);
    if (auto s = reconnect(); !s) return s.error();
    const std::int64_t cut = to_unix_ms(now - r.events) / detail::hour_ms * detail::hour_ms;
    const auto at_cut = stores::pg::params{}.add(cut);
    prune_result out;
    auto st = stores::pg::in_transaction(conn_, [&]() -> status {
      auto run = [&](const char* sql, const stores::pg::params& p) -> result<std::int64_t> {
        auto q = conn_.query(sql, p);
        if (!q) return q.error();
        return q->affected();
      };
      if (auto n = run("DELETE FROM usage_raw WHERE key IN "
                       "(SELECT key FROM usage_events WHERE t < $1)",
                       at_cut);
          !n)
        return n.error();
      auto events = run("DELETE FROM usage_events WHERE t < $1", at_cut);
      if (!events) return events.error();
      out.events = *events;
      if (auto n = run("DELETE FROM usage_hourly WHERE hour < $1", at_cut); !n) return n.error();
      if (auto n = run("DELETE FROM usage_limits WHERE t < $1", at_cut); !n) return n.error();
      auto payloads = run("DELETE FROM usage_raw WHERE received < $1",
                          stores::pg::params{}.add(to_unix_ms(now - r.payloads)));
      if (!payloads) return payloads.error();
      out.payloads = *payloads;
      return {};
    });
    if (!st) return st.error();
    return out;
  }

 private:
  static constexpr const char* event_columns =
      "e.key, e.t, e.source_system, e.source_channel, e.event_type, e.provider, e.account,"
      " e.agent, e.workspace, e.session, e.turn, e.message, e.tool_call, e.model_raw,"
      " e.model_canonical, e.model, e.tool, e.status, e.input, e.output, e.reasoning,"
      " e.cache_read, e.cache_write, e.total, e.requests, e.cost, e.duration_ms, e.host";

  // usage_totals::add in SQL: an error's tokens do not count, its request does.
  // sum(int8) is numeric: clamped before the cast, so a stored row out of
  // bounds saturates the report instead of failing it (and the restart).
#define VITALS_PG_SUM8(x) \
  "greatest(least(sum(" x "), 9223372036854775807), -9223372036854775808)::int8"
  static constexpr const char* event_sums =
      VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(input, 0) END") ","
      " " VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(output, 0) END") ","
      " " VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(cache_read, 0) END") ","
      " " VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(cache_write, 0) END") ","
      " " VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(reasoning, 0) END") ","
      " " VITALS_PG_SUM8("CASE WHEN status = 'error' THEN 0 ELSE coalesce(total, 0) END") ","
      " " VITALS_PG_SUM8(
          "CASE WHEN event_type = 'tool_usage' THEN 0 ELSE coalesce(requests, 1) END") ","
      " count(*) FILTER (WHERE event_type = 'tool_usage'),"
      " count(*) FILTER (WHERE status = 'error'), count(*),"
      " coalesce(sum(cost), 0), coalesce(sum(duration_ms), 0), min(t), max(t)";

  static constexpr detail::usage_dialect dialect{
      "$1::int8",
      "$2::int8",
      "$3::text",
      "$4::int8",
      "$5::text",
      "$6::int8",
      event_sums,
      VITALS_PG_SUM8("input") ", " VITALS_PG_SUM8("output") ", " VITALS_PG_SUM8(
          "cache_read") ", " VITALS_PG_SUM8("cache_write") ", " VITALS_PG_SUM8("reasoning") ", "
          VITALS_PG_SUM8("total") ", " VITALS_PG_SUM8("requests") ", " VITALS_PG_SUM8(
              "tool_calls") ", " VITALS_PG_SUM8("errors") ", " VITALS_PG_SUM8("events") ","
          " sum(cost), sum(duration_ms), min(first_t), max(last_t)",
      "is_tool",
      "NOT is_tool"};

  // Runs one part of an aggregate and adds its rows to `groups`.
  status collect(const usage_query& q, const std::string& sql, std::int64_t from, std::int64_t to,
                 detail::usage_groups& groups) {
    const std::int64_t width = std::chrono::milliseconds(q.bucket).count();
    auto r = conn_.query(sql.c_str(), stores::pg::params{}
                                          .add(from)
                                          .add(to)
                                          .add(q.agent)
                                          .add(width > 0 ? width : to_unix_ms(q.from))
                                          .add(q.host)
                                          .add(std::int64_t{q.unset_host_too}));
    if (!r) return r.error();
    for (int i = 0; i < r->size(); ++i) detail::add_group_row(row{*r, i}, groups);
    return {};
  }

  // The stored events under `keys`, with their payloads; `lock`: locked
  // for the rest of the transaction.
  status stored(std::span<const std::string> keys, bool lock,
                std::unordered_map<std::string, usage_event>& out) {
    detail::pg_array a;
    for (const auto& k : keys) a.add(std::string_view(k));
    const std::string sql = std::string("SELECT ") + event_columns +
                            ", r.payload FROM usage_events e LEFT JOIN usage_raw r ON r.key = e.key"
                            " WHERE e.key = ANY($1::text[])" +
                            (lock ? " FOR UPDATE OF e" : "");
    auto r = conn_.query(sql.c_str(), stores::pg::params{}.add(a.str()));
    if (!r) return r.error();
    for (int i = 0; i < r->size(); ++i)
      out.emplace(std::string(r->text(i, 0)), detail::read_usage_event(row{*r, i}, 28));
    return {};
  }

  // Row i of a result as detail::read_usage_event and add_group_row read it.
  struct row {
    const stores::pg::rows& r;
    int i;
    std::string_view text(int c) const { return r.text(i, c); }
    std::int64_t int64(int c) const { return r.int64(i, c); }
    double real(int c) const { return r.real(i, c); }
    bool null(int c) const { return r.null(i, c); }
  };

  status write_events(const std::map<std::string, const usage_event*>& events) {
    constexpr int text_columns = 16, int_columns = 7, real_columns = 2;
    detail::pg_array key, t, text[text_columns], ints[int_columns], reals[real_columns], host;
    for (const auto& [k, e] : events) {
      key.add(std::string_view(k));
      t.add(to_unix_ms(e->occurred_at));
      int i = 0;
      for (const std::string* v :
           {&e->source_system, &e->source_channel, &e->event_type, &e->provider_id, &e->account_id,
            &e->agent_name, &e->workspace_id, &e->session_id, &e->turn_id, &e->message_id,
            &e->tool_call_id, &e->model_raw, &e->model_canonical, &detail::grouped_model(*e),
            &e->tool_name, &e->status})
        text[i++].add(std::string_view(*v));
      i = 0;
      for (const auto* v :
           {&e->input_tokens, &e->output_tokens, &e->reasoning_tokens, &e->cache_read_tokens,
            &e->cache_write_tokens, &e->total_tokens, &e->requests})
        ints[i++].add(*v);
      reals[0].add(e->cost_usd);
      reals[1].add(e->duration_ms);
      host.add(std::string_view(e->host));
    }
    stores::pg::params p;
    p.add(key.str()).add(t.str());
    for (const auto& a : text) p.add(a.str());
    for (const auto& a : ints) p.add(a.str());
    for (const auto& a : reals) p.add(a.str());
    p.add(host.str());
    static const std::string sql = [] {
      std::string cols = event_columns, args, update;
      for (std::string::size_type at; (at = cols.find("e.")) != std::string::npos;)
        cols.erase(at, 2);
      for (int i = 1; i <= 28; ++i)
        args += (i > 1 ? ", $" : "$") + std::to_string(i) +
                (i == 1 || (i >= 3 && i <= 18) || i == 28 ? "::text[]"
                 : i <= 25                                ? "::int8[]"
                                                          : "::float8[]");
      for (std::string_view rest = cols; !rest.empty();) {
        const auto comma = rest.find(", ");
        const auto col = rest.substr(0, comma);
        if (col != "key")
          update +=
              (update.empty() ? "" : ", ") + std::string(col) + " = excluded." + std::string(col);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 2);
      }
      return "INSERT INTO usage_events (" + cols + ") SELECT * FROM unnest(" + args +
             ") ON CONFLICT (key) DO UPDATE SET " + update;
    }();
    auto r = conn_.query(sql.c_str(), p);
    return r ? status{} : status(r.error());
  }

  status write_payloads(const std::map<std::string, const usage_event*>& events) {
    detail::pg_array keys, payloads;
    bool any = false;
    for (const auto& [k, e] : events)
      if (!e->payload.empty()) {
        keys.add(std::string_view(k));
        payloads.add(std::string_view(e->payload));
        any = true;
      }
    if (!any) return {};
    auto r = conn_.query(
        "INSERT INTO usage_raw (key, received, payload)"
        " SELECT k, $2::int8, p FROM unnest($1::text[], $3::text[]) AS u (k, p)"
        " ON CONFLICT (key) DO UPDATE SET payload = excluded.payload",
        stores::pg::params{}.add(keys.str()).add(to_unix_ms(vitals::now())).add(payloads.str()));
    return r ? status{} : status(r.error());
  }

  status write_hourly(const std::map<detail::usage_hour_key, usage_totals>& hourly) {
    detail::pg_array cols[22];
    for (const auto& [k, t] : hourly) {
      const auto& [hour, agent, model, tool, provider, status, is_tool, host] = k;
      cols[0].add(hour);
      int i = 1;
      for (const std::string* v : {&agent, &model, &tool, &provider, &status})
        cols[i++].add(std::string_view(*v));
      cols[i++].add(is_tool);
      for (auto v : {t.input, t.output, t.cache_read, t.cache_write, t.reasoning, t.total,
                     t.requests, t.tool_calls, t.errors, t.events})
        cols[i++].add(v);
      cols[i++].add(t.cost_usd);
      cols[i++].add(t.duration_ms);
      // A group only subtracted from keeps its times: these lose least() and greatest().
      cols[i++].add(t.first == timestamp::max() ? detail::max_ms : to_unix_ms(t.first));
      cols[i++].add(t.last == timestamp::min() ? std::int64_t{0} : to_unix_ms(t.last));
      cols[i++].add(std::string_view(host));
    }
    stores::pg::params p;
    for (const auto& a : cols) p.add(a.str());
    static constexpr const char* sql =
        "INSERT INTO usage_hourly SELECT * FROM unnest($1::int8[], $2::text[], $3::text[],"
        " $4::text[], $5::text[], $6::text[], $7::bool[], $8::int8[], $9::int8[], $10::int8[],"
        " $11::int8[], $12::int8[], $13::int8[], $14::int8[], $15::int8[], $16::int8[],"
        " $17::int8[], $18::float8[], $19::float8[], $20::int8[], $21::int8[], $22::text[])"
        " ON CONFLICT (hour, agent, model, tool, provider, status, is_tool, host) DO UPDATE SET"
        " input = least(usage_hourly.input::numeric + excluded.input, 9223372036854775807)::int8,"
        " output = least(usage_hourly.output::numeric + excluded.output, "
        "9223372036854775807)::int8,"
        " cache_read = least(usage_hourly.cache_read::numeric + excluded.cache_read, "
        "9223372036854775807)::int8,"
        " cache_write = least(usage_hourly.cache_write::numeric + excluded.cache_write, "
        "9223372036854775807)::int8,"
        " reasoning = least(usage_hourly.reasoning::numeric + excluded.reasoning, "
        "9223372036854775807)::int8,"
        " total = least(usage_hourly.total::numeric + excluded.total, 9223372036854775807)::int8,"
        " requests = least(usage_hourly.requests::numeric + excluded.requests, "
        "9223372036854775807)::int8,"
        " tool_calls = least(usage_hourly.tool_calls::numeric + excluded.tool_calls, "
        "9223372036854775807)::int8,"
        " errors = least(usage_hourly.errors::numeric + excluded.errors, "
        "9223372036854775807)::int8,"
        " events = least(usage_hourly.events::numeric + excluded.events, "
        "9223372036854775807)::int8,"
        " cost = usage_hourly.cost + excluded.cost,"
        " duration_ms = usage_hourly.duration_ms + excluded.duration_ms,"
        " first_t = least(usage_hourly.first_t, excluded.first_t),"
        " last_t = greatest(usage_hourly.last_t, excluded.last_t)";
    auto r = conn_.query(sql, p);
    return r ? status{} : status(r.error());
  }

  // A connection cut while idle (the server restarted) is opened again.
  status reconnect() {
    if (conn_.ok()) return {};
    auto c = stores::pg::connection::open(dsn_);
    if (!c) return c.error();
    conn_ = std::move(*c);
    return {};
  }

  std::string dsn_;
  std::mutex mu_;
  stores::pg::connection conn_;
};

#undef VITALS_PG_SUM8

static_assert(usage_store<usage_postgres>);
static_assert(limit_store<usage_postgres>);

}  // namespace vitals::agent
