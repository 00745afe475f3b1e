// The libpq plumbing each PostgreSQL store and the agent's usage store share:
// a connection that owns its PGconn, results that own their PGresult, errors
// carrying the server's message, bound parameters (text, or binary arrays for
// the sample path; no SQL is ever built from input), and one opening for all
// of them: DSN (or $VITALS_PG_DSN), connect, then the caller's own migrations,
// each schema versioned in its own table under its own advisory lock.
// Blocking calls (`query`) serve synchronous reads; `async_query` and
// `async_connect` run libpq's non-blocking API on its socket, waiting through
// an Asio descriptor, so the executor's thread never waits on the server.
// Link: vitals::postgres.
#pragma once

#include <libpq-fe.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"
#include "vitals/stores/detail/pg_binary.hpp"

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

// --- opening ---------------------------------------------------------------

/// The migrations of one schema: step i moves it from version i to i + 1, in
/// one transaction, recorded in `table` and serialised by the advisory lock
/// `lock_key`, so two processes opening a fresh database do not race. `table`
/// is a constant of the code that owns the schema, never input.
struct schema {
  const char* table;
  std::int64_t lock_key;
  std::span<const char* const> steps;
};

/// The version `s` is at in this database (0: never migrated).
inline result<int> current_version(connection& c, const schema& s) {
  auto exists = c.query("SELECT to_regclass($1) IS NOT NULL", params{}.add(s.table));
  if (!exists) return exists.error();
  if (exists->text(0, 0) != "t") return 0;
  const std::string sql = std::string("SELECT coalesce(max(version), 0) FROM ") + s.table;
  auto r = c.query(sql.c_str());
  if (!r) return r.error();
  return static_cast<int>(r->int64(0, 0));
}

/// Applies the steps of `s` this database has not run yet.
inline status migrate(connection& c, const schema& s) {
  const auto target = static_cast<int>(s.steps.size());
  const std::string create = std::string("CREATE TABLE IF NOT EXISTS ") + s.table +
                             " (version int PRIMARY KEY, applied_at timestamptz NOT NULL "
                             "DEFAULT now())";
  const std::string record = std::string("INSERT INTO ") + s.table + " (version) VALUES ($1)";
  for (int step = 0; step < target; ++step) {  // at most one pass per step
    auto v = current_version(c, s);
    if (!v) return v.error();
    if (*v >= target) return {};
    auto st = in_transaction(c, [&]() -> status {
      if (auto r = c.query("SELECT pg_advisory_xact_lock($1)", params{}.add(s.lock_key)); !r)
        return r.error();
      if (auto r = c.exec(create.c_str()); !r) return r;
      auto again = current_version(c, s);  // another process may have gone first
      if (!again) return again.error();
      if (*again >= target) return {};
      if (auto r = c.exec(s.steps[static_cast<std::size_t>(*again)]); !r) return r;
      auto rec = c.query(record.c_str(), params{}.add(std::int64_t{*again + 1}));
      if (!rec) return rec.error();
      return {};
    });
    if (!st) return st;
  }
  return {};
}

/// `dsn`, or $VITALS_PG_DSN when it is empty; an error naming `who` when both are.
inline result<std::string> dsn_or_env(std::string dsn, std::string_view who) {
  if (dsn.empty())
    if (const char* env = std::getenv("VITALS_PG_DSN")) dsn = env;
  if (dsn.empty())
    return error(errc::invalid_argument, std::string(who) +
                                             ": no connection string (pass one or set "
                                             "VITALS_PG_DSN)");
  return dsn;
}

/// The opening every PostgreSQL store shares: resolves `dsn` in place (see
/// dsn_or_env; the caller keeps it to reconnect), connects and migrates `s`.
inline result<connection> open_migrated(std::string& dsn, std::string_view who, const schema& s) {
  auto resolved = dsn_or_env(std::move(dsn), who);
  if (!resolved) return resolved.error();
  dsn = std::move(*resolved);
  auto c = connection::open(dsn);
  if (!c) return c.error();
  if (auto st = migrate(*c, s); !st) return st.error();
  return c;
}

/// The milliseconds since the epoch of a timestamptz column, exactly.
#define VITALS_PG_MS(col) "(extract(epoch from " col ") * 1000)::int8"
/// A timestamptz from milliseconds since the epoch, exactly.
#define VITALS_PG_TS(ms) "(timestamptz 'epoch' + (" ms ")::int8 * interval '1 millisecond')"

}  // namespace vitals::stores::pg
