// The SQLite plumbing each SQLite store and the agent's usage store share: a
// thin RAII layer over the C API, a connection, prepared statements with bound
// parameters only, transactions, and errors as values that carry SQLite's
// message. Link: vitals::sqlite.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

#include "vitals/core/error.hpp"

namespace vitals::stores::sqlite {

class statement {
 public:
  statement() = default;
  statement(sqlite3* db, std::string_view sql) : db_(db) {
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &s, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite prepare: ") + sqlite3_errmsg(db) +
                               " in: " + std::string(sql));
    s_.reset(s);
  }

  statement& reset() {
    sqlite3_reset(s_.get());
    sqlite3_clear_bindings(s_.get());
    return *this;
  }
  statement& bind(int i, std::int64_t v) { return check(sqlite3_bind_int64(s_.get(), i, v)); }
  statement& bind(int i, double v) { return check(sqlite3_bind_double(s_.get(), i, v)); }
  statement& bind(int i, std::string_view v) {
    return check(
        sqlite3_bind_text(s_.get(), i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT));
  }
  statement& bind_null(int i) { return check(sqlite3_bind_null(s_.get(), i)); }

  /// SQLITE_ROW, SQLITE_DONE, or an error code.
  int step() { return sqlite3_step(s_.get()); }

  std::int64_t int64(int col) const { return sqlite3_column_int64(s_.get(), col); }
  double real(int col) const { return sqlite3_column_double(s_.get(), col); }
  bool is_null(int col) const { return sqlite3_column_type(s_.get(), col) == SQLITE_NULL; }
  std::string_view text(int col) const {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_.get(), col));
    return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(s_.get(), col)))
             : std::string_view{};
  }

 private:
  statement& check(int rc) {
    if (rc != SQLITE_OK)
      throw std::runtime_error(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
    return *this;
  }
  struct finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
  };
  sqlite3* db_ = nullptr;
  std::unique_ptr<sqlite3_stmt, finalizer> s_;
};

class database {
 public:
  database() = default;

  static result<database> open(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    database db;
    db.db_.reset(raw);
    if (rc != SQLITE_OK)
      return error(errc::io_error, "cannot open sqlite database '" + path +
                                       "': " + (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    sqlite3_extended_result_codes(raw, 1);
    return db;
  }

  /// `open`, then the WAL journal, a 5 s busy timeout and synchronous FULL
  /// (every commit survives a power cut) or NORMAL (a process crash).
  static result<database> open_wal(const std::string& path, bool synchronous_full) {
    auto db = open(path);
    if (!db) return db;
    sqlite3_busy_timeout(db->get(), 5000);
    for (std::string_view sql :
         {"PRAGMA journal_mode = WAL",
          synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL"})
      if (auto s = db->exec(sql); !s) return s.error();
    return db;
  }

  sqlite3* get() const noexcept { return db_.get(); }

  /// Runs statements without parameters (schema, pragmas, transactions).
  status exec(std::string_view sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown error";
      sqlite3_free(msg);
      return error(errc::io_error, "sqlite: " + m + " in: " + std::string(sql));
    }
    return {};
  }

  /// The first column of the first row of a parameterless query.
  std::int64_t scalar(std::string_view sql) {
    statement s(db_.get(), sql);
    return s.step() == SQLITE_ROW ? s.int64(0) : 0;
  }

  /// The last error, `unavailable` when it is the database's condition
  /// (busy, locked, full, I/O, read-only, out of memory: retry later, nothing
  /// wrong with the data), else `io_error` (the statement or its data was
  /// refused).
  vitals::error last_error(std::string_view what) const {
    const int rc = sqlite3_errcode(db_.get()) & 0xff;
    const bool transient = rc == SQLITE_BUSY || rc == SQLITE_LOCKED || rc == SQLITE_FULL ||
                           rc == SQLITE_IOERR || rc == SQLITE_CANTOPEN || rc == SQLITE_NOMEM ||
                           rc == SQLITE_READONLY || rc == SQLITE_PROTOCOL;
    return vitals::error(transient ? errc::unavailable : errc::io_error,
                         std::string(what) + ": " + sqlite3_errmsg(db_.get()));
  }

 private:
  struct closer {
    void operator()(sqlite3* d) const noexcept { sqlite3_close_v2(d); }
  };
  std::unique_ptr<sqlite3, closer> db_;
};

/// BEGIN IMMEDIATE ... COMMIT, rolled back unless committed.
class transaction {
 public:
  explicit transaction(database& db) : db_(db) { ok_ = bool(db_.exec("BEGIN IMMEDIATE")); }
  ~transaction() {
    if (ok_ && !done_) (void)db_.exec("ROLLBACK");
  }
  bool started() const noexcept { return ok_; }
  status commit() {
    done_ = true;
    return db_.exec("COMMIT");
  }

 private:
  database& db_;
  bool ok_ = false;
  bool done_ = false;
};

}  // namespace vitals::stores::sqlite
