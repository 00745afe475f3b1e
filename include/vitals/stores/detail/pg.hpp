// libpq behind values: a connection that owns its PGconn, results that own
// their PGresult, errors carrying the server's message. Every statement takes
// bound parameters (text, or binary arrays for the sample path); no SQL is
// ever built from input.
// Blocking calls (`query`) serve synchronous reads; `async_query` and
// `async_connect` run libpq's non-blocking API on its socket, waiting through
// an Asio descriptor, so the executor's thread never waits on the server.
#pragma once

#include <libpq-fe.h>

#include <algorithm>
#include <bit>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/series.hpp"
#include "vitals/core/time.hpp"
#include "vitals/stores/detail/label_codec.hpp"

namespace vitals::stores::pg {

namespace asio = boost::asio;

/// Parameters for `$1..$n`: text, whose type the server infers, or binary
/// of a given type.
class params {
 public:
  params& add(std::string v) { return push(std::move(v), 0, 0); }
  params& add(std::string_view v) { return add(std::string(v)); }
  params& add(const char* v) { return add(std::string(v)); }
  params& add(std::int64_t v) { return add(std::to_string(v)); }
  /// `bytes` in PostgreSQL's binary send format of the type `oid`.
  params& add_binary(std::string bytes, Oid oid) { return push(std::move(bytes), oid, 1); }
  int size() const noexcept { return static_cast<int>(values_.size()); }
  std::vector<const char*> pointers() const {
    std::vector<const char*> p;
    for (const auto& v : values_) p.push_back(v.c_str());
    return p;
  }
  std::vector<int> lengths() const {
    std::vector<int> l;
    for (const auto& v : values_) l.push_back(static_cast<int>(v.size()));
    return l;
  }
  const Oid* types() const noexcept { return types_.data(); }
  const int* formats() const noexcept { return formats_.data(); }

 private:
  params& push(std::string v, Oid type, int format) {
    values_.push_back(std::move(v));
    types_.push_back(type);
    formats_.push_back(format);
    return *this;
  }
  std::vector<std::string> values_;
  std::vector<Oid> types_;
  std::vector<int> formats_;
};

// Type OIDs (pg_type.h) of the binary parameters.
inline constexpr Oid int8_oid = 20, float8_oid = 701, timestamptz_oid = 1184;
inline constexpr Oid int8_array_oid = 1016, float8_array_oid = 1022, timestamptz_array_oid = 1185;

/// A one-dimensional array of 8-byte elements without NULLs, in the binary
/// format of array_recv: no text for the server to parse.
class binary_array {
 public:
  binary_array(Oid element, std::size_t reserve) {
    out_.reserve(20 + reserve * 12);
    put32(1), put32(0), put32(static_cast<std::uint32_t>(element));  // ndim, no NULLs, type
    put32(0), put32(1);  // length (set by take), lower bound
  }
  void push(std::int64_t v) {
    put32(8);
    const auto u = static_cast<std::uint64_t>(v);
    put32(static_cast<std::uint32_t>(u >> 32)), put32(static_cast<std::uint32_t>(u));
  }
  void push(double v) { push(std::bit_cast<std::int64_t>(v)); }
  std::string take() && {
    const auto n = static_cast<std::uint32_t>((out_.size() - 20) / 12);
    for (int i = 0; i < 4; ++i) out_[12 + i] = static_cast<char>(n >> (24 - 8 * i));
    return std::move(out_);
  }

 private:
  void put32(std::uint32_t v) {
    const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
    out_.append(b, 4);
  }
  std::string out_;
};

/// A timestamptz in binary: microseconds since 2000-01-01 UTC. `ms` is
/// clamped to [min_unix_ms, max_unix_ms] first (callers refuse such times
/// earlier; this keeps the arithmetic from overflowing whatever comes).
inline std::int64_t timestamptz_from_unix_ms(std::int64_t ms) {
  ms = std::clamp(ms, min_unix_ms, max_unix_ms);
  return (ms - 946'684'800'000) * 1000;
}

/// The rows of one statement.
class rows {
 public:
  rows() = default;
  explicit rows(PGresult* r) : r_(r, &PQclear) {}
  int size() const noexcept { return r_ ? PQntuples(r_.get()) : 0; }
  bool empty() const noexcept { return size() == 0; }
  bool null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view text(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::int64_t int64(int row, int col) const {
    const auto s = text(row, col);
    std::int64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
  }
  double real(int row, int col) const {
    const std::string s(text(row, col));
    return std::strtod(s.c_str(), nullptr);  // also NaN, Infinity, -Infinity
  }
  /// Rows changed by an INSERT, UPDATE or DELETE.
  std::int64_t affected() const {
    const char* n = r_ ? PQcmdTuples(r_.get()) : "";
    return *n ? std::stoll(n) : 0;
  }

 private:
  std::shared_ptr<PGresult> r_;
};

inline std::string trimmed(const char* msg) {
  std::string s = msg ? msg : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

/// A double as PostgreSQL reads it back bit for bit.
inline void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "Infinity" : "-Infinity";
  } else {
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, end);
  }
}

using detail::decode_series;  // labels as the SQLite store keeps them
using detail::encode_labels;

class connection {
 public:
  connection() = default;
  connection(connection&& o) noexcept : c_(std::exchange(o.c_, nullptr)) {}
  connection& operator=(connection&& o) noexcept {
    if (this != &o) {
      close();
      c_ = std::exchange(o.c_, nullptr);
    }
    return *this;
  }
  ~connection() { close(); }

  /// Connects and waits (constructors and synchronous readers).
  static result<connection> open(const std::string& dsn) {
    connection c;
    c.c_ = PQconnectdb(dsn.c_str());
    if (!c.c_) return error(errc::unavailable, "PostgreSQL: out of memory");
    if (PQstatus(c.c_) != CONNECTION_OK) return c.failure("connect");
    c.quiet();
    return c;
  }

  /// Connects without blocking the executor's thread (PQconnectStart/Poll).
  static asio::awaitable<result<connection>> async_open(std::string dsn) {
    auto ex = co_await asio::this_coro::executor;
    connection c;
    c.c_ = PQconnectStart(dsn.c_str());
    if (!c.c_) co_return error(errc::unavailable, "PostgreSQL: out of memory");
    if (PQstatus(c.c_) == CONNECTION_BAD) co_return c.failure("connect");
    for (auto poll = PGRES_POLLING_WRITING; poll != PGRES_POLLING_OK;) {
      if (poll == PGRES_POLLING_FAILED) co_return c.failure("connect");
      // The socket may change between polls (several hosts, SSL retry).
      asio::posix::stream_descriptor sock(ex, PQsocket(c.c_));
      auto [ec] = co_await sock.async_wait(poll == PGRES_POLLING_READING
                                               ? asio::posix::stream_descriptor::wait_read
                                               : asio::posix::stream_descriptor::wait_write,
                                           asio::as_tuple(asio::use_awaitable));
      sock.release();  // libpq owns the descriptor
      if (ec) co_return error(errc::unavailable, "PostgreSQL: connect: " + ec.message());
      poll = PQconnectPoll(c.c_);
    }
    if (PQsetnonblocking(c.c_, 1) != 0) co_return c.failure("set non-blocking");
    c.quiet();
    co_return c;
  }

  bool ok() const noexcept { return c_ && PQstatus(c_) == CONNECTION_OK; }
  PGconn* get() const noexcept { return c_; }

  /// Runs one statement and waits for its rows.
  result<rows> query(const char* sql, const params& p = {}) {
    if (!c_) return error(errc::unavailable, "PostgreSQL: not connected");
    sqlstate_.clear();
    const auto ptrs = p.pointers();
    const auto lens = p.lengths();
    return check(
        PQexecParams(c_, sql, p.size(), p.types(), ptrs.data(), lens.data(), p.formats(), 0), sql);
  }

  /// Runs statements without parameters (DDL, BEGIN/COMMIT).
  status exec(const char* sql) {
    if (!c_) return error(errc::unavailable, "PostgreSQL: not connected");
    auto r = check(PQexec(c_, sql), sql);
    if (!r) return r.error();
    return {};
  }

  /// `query` without blocking: sends, flushes and reads as the socket allows.
  asio::awaitable<result<rows>> async_query(const char* sql, const params& p) {
    if (!ok()) co_return error(errc::unavailable, "PostgreSQL: not connected");
    auto ex = co_await asio::this_coro::executor;
    sqlstate_.clear();
    const auto ptrs = p.pointers();
    const auto lens = p.lengths();
    if (!PQsendQueryParams(c_, sql, p.size(), p.types(), ptrs.data(), lens.data(), p.formats(), 0))
      co_return failure("send");
    asio::posix::stream_descriptor sock(ex, PQsocket(c_));
    struct release_on_exit {
      asio::posix::stream_descriptor& s;
      ~release_on_exit() { s.release(); }
    } guard{sock};
    auto wait = [&](auto what) -> asio::awaitable<bool> {
      auto [ec] = co_await sock.async_wait(what, asio::as_tuple(asio::use_awaitable));
      co_return !ec;
    };
    for (int f; (f = PQflush(c_)) != 0;) {
      if (f < 0) co_return failure("send");
      // Read while waiting to write: the server may be blocked sending to us.
      if (PQconsumeInput(c_) == 0) co_return failure("receive");
      if (!co_await wait(asio::posix::stream_descriptor::wait_write))
        co_return error(errc::unavailable, "PostgreSQL: wait cancelled");
    }
    result<rows> out = rows{};
    bool first = true;
    for (;;) {
      // libpq reads what is there before we wait: an edge already seen by the
      // reactor is not lost.
      if (PQconsumeInput(c_) == 0) co_return failure("receive");
      while (!PQisBusy(c_)) {
        PGresult* r = PQgetResult(c_);
        if (!r) co_return out;
        auto checked = check(r, sql);
        if (first || !checked) out = std::move(checked);  // keep the first error
        first = false;
      }
      if (!co_await wait(asio::posix::stream_descriptor::wait_read))
        co_return error(errc::unavailable, "PostgreSQL: wait cancelled");
    }
  }

  std::string message() const { return trimmed(c_ ? PQerrorMessage(c_) : "not connected"); }

  /// The SQLSTATE of the last statement the server refused ("23505": a
  /// unique key already there).
  const std::string& last_sqlstate() const noexcept { return sqlstate_; }

 private:
  void close() {
    if (c_) PQfinish(c_);
    c_ = nullptr;
  }
  void quiet() {
    PQsetNoticeProcessor(
        c_, [](void*, const char*) {}, nullptr);  // NOTICEs are not errors
  }
  vitals::error failure(std::string_view what) const {
    return error(errc::unavailable, "PostgreSQL: " + std::string(what) + ": " + message());
  }
  result<rows> check(PGresult* r, const char* sql) const {
    rows owned(r);
    const auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) return owned;
    // A lost connection, or a server short of resources (SQLSTATE classes
    // 08, 53, 57, 58: connection, insufficient resources, operator
    // intervention, system error), is `unavailable` (retry later, nothing
    // wrong with the data); anything else the server refused is `io_error`
    // with its message and the statement's start.
    const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    sqlstate_ = state ? state : "";
    const std::string_view cls = std::string_view(sqlstate_).substr(0, 2);
    const bool transient = cls == "08" || cls == "53" || cls == "57" || cls == "58";
    const auto code = ok() && !transient ? errc::io_error : errc::unavailable;
    std::string msg = r ? trimmed(PQresultErrorMessage(r)) : message();
    std::string_view head(sql);
    head = head.substr(0, head.find_first_of("(\n"));
    return error(code, "PostgreSQL: " + msg + " (in: " + std::string(head.substr(0, 60)) + ")");
  }

  PGconn* c_ = nullptr;
  mutable std::string sqlstate_;
};

/// Whether a refusal with this SQLSTATE is the server's state, not the
/// statement's: connection lost (08), out of resources (53), operator
/// intervention such as a shutdown (57), a system error (58), a read-only
/// transaction (25006), a serialization failure or deadlock (40001, 40P01).
inline bool transient(std::string_view sqlstate) {
  if (sqlstate.size() != 5) return false;
  const auto cls = sqlstate.substr(0, 2);
  return cls == "08" || cls == "53" || cls == "57" || cls == "58" || sqlstate == "25006" ||
         sqlstate == "40001" || sqlstate == "40P01";
}

/// Runs `f` between BEGIN and COMMIT; rolls back when it fails.
template <class F>
status in_transaction(connection& c, F&& f) {
  if (auto s = c.exec("BEGIN"); !s) return s;
  if (auto s = f(); !s) {
    (void)c.exec("ROLLBACK");
    return s;
  }
  return c.exec("COMMIT");
}

// --- schema ----------------------------------------------------------------
// One schema for a vitals database, shared by the sample and the event store.
// Each step moves it from version i to i + 1 in one transaction, under an
// advisory lock so that two processes opening a fresh database do not race.
inline constexpr const char* migrations[] = {
    // 1: series and samples. BRIN on t serves retention without slowing
    // inserts. No foreign key from samples: its per-row check halved the
    // append rate; drop() deletes both in one statement instead.
    "CREATE TABLE series (id bigserial PRIMARY KEY, name text NOT NULL, labels text NOT NULL, "
    "UNIQUE (name, labels));"
    "CREATE TABLE samples (series_id bigint NOT NULL, "
    "t timestamptz NOT NULL, value double precision, PRIMARY KEY (series_id, t));"
    "CREATE INDEX samples_t ON samples USING brin (t);",
    // 2: events in streams with per-stream versions.
    "CREATE TABLE events (stream text NOT NULL, version bigint NOT NULL, type text NOT NULL, "
    "t timestamptz NOT NULL, session text NOT NULL, plan text NOT NULL, task text NOT NULL, "
    "data text NOT NULL, PRIMARY KEY (stream, version));"
    "CREATE INDEX events_type ON events (stream, type, version);",
    // 3: agent usage (agent/usage_postgres.hpp), as in usage_sqlite: events
    // unique by dedup key, times in unix ms, unknown counts NULL; raw
    // payloads pruned on their own; sums per hour and group kept by put().
    "CREATE TABLE usage_events (key text PRIMARY KEY, t int8 NOT NULL, "
    "source_system text NOT NULL, source_channel text NOT NULL, event_type text NOT NULL, "
    "provider text NOT NULL, account text NOT NULL, agent text NOT NULL, "
    "workspace text NOT NULL, session text NOT NULL, turn text NOT NULL, "
    "message text NOT NULL, tool_call text NOT NULL, model_raw text NOT NULL, "
    "model_canonical text NOT NULL, model text NOT NULL, tool text NOT NULL, "
    "status text NOT NULL, input int8, output int8, reasoning int8, cache_read int8, "
    "cache_write int8, total int8, requests int8, cost float8, duration_ms float8);"
    "CREATE INDEX usage_events_t ON usage_events (t);"
    "CREATE TABLE usage_raw (key text PRIMARY KEY, received int8 NOT NULL, "
    "payload text NOT NULL);"
    "CREATE INDEX usage_raw_received ON usage_raw (received);"
    "CREATE TABLE usage_hourly (hour int8 NOT NULL, agent text NOT NULL, model text NOT NULL, "
    "tool text NOT NULL, provider text NOT NULL, status text NOT NULL, is_tool bool NOT NULL, "
    "input int8 NOT NULL, output int8 NOT NULL, cache_read int8 NOT NULL, "
    "cache_write int8 NOT NULL, reasoning int8 NOT NULL, total int8 NOT NULL, "
    "requests int8 NOT NULL, tool_calls int8 NOT NULL, errors int8 NOT NULL, "
    "events int8 NOT NULL, cost float8 NOT NULL, duration_ms float8 NOT NULL, "
    "first_t int8 NOT NULL, last_t int8 NOT NULL, "
    "PRIMARY KEY (hour, agent, model, tool, provider, status, is_tool));",
};
inline constexpr int schema_version = static_cast<int>(std::size(migrations));

inline result<int> current_version(connection& c) {
  auto exists = c.query("SELECT to_regclass('vitals_schema') IS NOT NULL");
  if (!exists) return exists.error();
  if (exists->text(0, 0) != "t") return 0;
  auto r = c.query("SELECT coalesce(max(version), 0) FROM vitals_schema");
  if (!r) return r.error();
  return static_cast<int>(r->int64(0, 0));
}

inline status migrate(connection& c) {
  for (;;) {
    auto v = current_version(c);
    if (!v) return v.error();
    if (*v >= schema_version) return {};
    auto s = in_transaction(c, [&]() -> status {
      if (auto s = c.exec("SELECT pg_advisory_xact_lock(7305872611)"); !s) return s;
      if (auto s = c.exec("CREATE TABLE IF NOT EXISTS vitals_schema (version int PRIMARY KEY, "
                          "applied_at timestamptz NOT NULL DEFAULT now())");
          !s)
        return s;
      auto again = current_version(c);  // another process may have gone first
      if (!again) return again.error();
      if (*again >= schema_version) return {};
      if (auto s = c.exec(migrations[*again]); !s) return s;
      auto rec = c.query("INSERT INTO vitals_schema (version) VALUES ($1)",
                         params{}.add(std::int64_t{*again + 1}));
      if (!rec) return rec.error();
      return {};
    });
    if (!s) return s;
  }
}

/// Whether the timescaledb extension can be used; creates it when it can.
inline bool enable_timescale(connection& c) {
  auto r = c.query("SELECT count(*) FROM pg_available_extensions WHERE name = 'timescaledb'");
  if (!r || r->int64(0, 0) == 0) return false;
  if (!c.exec("CREATE EXTENSION IF NOT EXISTS timescaledb")) return false;
  return bool(c.query(
      "SELECT create_hypertable('samples', 't', if_not_exists => TRUE, migrate_data => TRUE)"));
}

/// The milliseconds since the epoch of a timestamptz column, exactly.
#define VITALS_PG_MS(col) "(extract(epoch from " col ") * 1000)::int8"
/// A timestamptz from milliseconds since the epoch, exactly.
#define VITALS_PG_TS(ms) "(timestamptz 'epoch' + (" ms ")::int8 * interval '1 millisecond')"

}  // namespace vitals::stores::pg
