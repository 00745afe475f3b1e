// A throwaway PostgreSQL 15 cluster for the tests: initdb into a temporary
// directory, a server listening only on a Unix socket in that directory (no
// port to collide with), one database per test, everything removed at the
// end. Started once per test binary, on first use. PostgreSQL refuses to run
// as root: then the cluster belongs to, and runs as, the `postgres` user.
//
// scripts/test starts one such cluster for all the test processes of a run
// and names its socket directory in VITALS_TEST_PG_HOST: `shared()` then
// attaches to it (an initdb and a start cost each test process about 1.5 s).
// A test that stops and starts its server uses `own()`, always its own.
#pragma once

#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace vitals::test {

class postgres_server {
 public:
  /// `durable`: PostgreSQL's own defaults (fsync, synchronous commit), for
  /// benchmarks; otherwise the test settings, which skip fsync.
  explicit postgres_server(bool durable = false) : durable_(durable) {
    const char* env = std::getenv("VITALS_PG_BINDIR");
    bin_ = env ? env : "/usr/lib/postgresql/15/bin";
    if (!std::filesystem::exists(bin_ / "initdb") || !std::filesystem::exists(bin_ / "pg_ctl"))
      throw std::runtime_error("PostgreSQL 15 server binaries not found in " + bin_.string() +
                               ": run scripts/setup (Debian package postgresql), or set "
                               "VITALS_PG_BINDIR");
    if (::geteuid() == 0) as_ = "runuser -u postgres -- ";
    reap_abandoned();
    dir_ = std::filesystem::temp_directory_path() / ("vitals-pg-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (::geteuid() == 0) {
      const passwd* pw = ::getpwnam("postgres");
      if (!pw) throw std::runtime_error("running as root and there is no postgres user");
      if (::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
        throw std::runtime_error("cannot hand " + dir_.string() + " to the postgres user");
    }
    run(as_ + (bin_ / "initdb").string() + " -D " + data() +
            " -A trust -U postgres -E UTF8 --locale=C --no-sync >" +
            (dir_ / "initdb.log").string() + " 2>&1",
        "initdb");
    start();
  }

  /// Attaches to a running cluster whose socket is in `socket_dir`; it is
  /// neither stopped nor removed here, and cannot be stopped by a test.
  struct attach_to {
    std::filesystem::path socket_dir;
  };
  explicit postgres_server(attach_to a) : dir_(std::move(a.socket_dir)), attached_(true) {}

  ~postgres_server() {
    if (attached_) return;
    if (running_) std::system((as_ + ctl() + " stop -m immediate >/dev/null 2>&1").c_str());
    std::filesystem::remove_all(dir_);
  }
  postgres_server(const postgres_server&) = delete;
  postgres_server& operator=(const postgres_server&) = delete;

  /// The server the tests share: the test script's (VITALS_TEST_PG_HOST), or
  /// this test binary's own, started on first use.
  static postgres_server& shared() {
    static postgres_server& server = []() -> postgres_server& {
      const char* host = std::getenv("VITALS_TEST_PG_HOST");
      if (host && *host) {
        static postgres_server attached(attach_to{host});
        return attached;
      }
      return own();
    }();
    return server;
  }

  /// This test binary's own server, for tests that stop and start it.
  static postgres_server& own() {
    static postgres_server server;
    return server;
  }

  void start() {
    if (attached_) throw std::logic_error("the shared test cluster is not started by a test");
    // No durability needed for tests: fsync off keeps them fast.
    const std::string fast =
        durable_ ? "" : " -c fsync=off -c synchronous_commit=off -c full_page_writes=off";
    run(as_ + ctl() + " start -w -t 60 -l " + (dir_ / "server.log").string() + " -o \"-k " +
            dir_.string() + " -p 5432 -c listen_addresses='' -c max_connections=200" + fast +
            "\" >/dev/null",
        "pg_ctl start");
    running_ = true;
  }

  /// Fast shutdown: open connections are cut, as when a server goes away.
  void stop() {
    if (attached_) throw std::logic_error("the shared test cluster is not stopped by a test");
    run(as_ + ctl() + " stop -w -m fast >/dev/null", "pg_ctl stop");
    running_ = false;
  }

  std::string dsn(const std::string& db = "postgres") const {
    return "host=" + dir_.string() + " port=5432 user=postgres dbname=" + db;
  }

  /// A new, empty database; its connection string.
  std::string create_database() {
    // Several test processes may share the cluster: the pid keeps names apart.
    const std::string name = "vt_" + std::to_string(::getpid()) + "_" + std::to_string(next_++);
    admin("CREATE DATABASE " + name + " STRATEGY FILE_COPY");
    return dsn(name);
  }

  void drop_database(const std::string& dsn_of_db) {
    const auto at = dsn_of_db.rfind("dbname=");
    admin("DROP DATABASE IF EXISTS " + dsn_of_db.substr(at + 7) + " WITH (FORCE)");
  }

 private:
  // A test binary that died without running destructors (a crash, a
  // timeout) left its server running: stop it and remove its directory.
  void reap_abandoned() {
    std::error_code ec;
    for (const auto& e :
         std::filesystem::directory_iterator(std::filesystem::temp_directory_path(), ec)) {
      const auto name = e.path().filename().string();
      if (name.rfind("vitals-pg-", 0) != 0) continue;
      const long pid = std::strtol(name.c_str() + 10, nullptr, 10);
      if (pid <= 0 || ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH) continue;
      if (std::filesystem::exists(e.path() / "data" / "postmaster.pid"))
        std::system((as_ + (bin_ / "pg_ctl").string() + " -D " + (e.path() / "data").string() +
                     " stop -m immediate >/dev/null 2>&1")
                        .c_str());
      std::filesystem::remove_all(e.path(), ec);
    }
  }

  std::string data() const { return (dir_ / "data").string(); }
  std::string ctl() const { return (bin_ / "pg_ctl").string() + " -D " + data(); }

  void run(const std::string& cmd, const char* what) {
    if (std::system(cmd.c_str()) != 0)
      throw std::runtime_error(std::string(what) + " failed: " + cmd + " (logs in " +
                               dir_.string() + ")");
  }

  // Names here are ours (vt_<n>), never input.
  void admin(const std::string& sql) {
    PGconn* c = PQconnectdb(dsn().c_str());
    PGresult* r = PQexec(c, sql.c_str());
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    std::string msg = PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
    if (!ok) throw std::runtime_error(sql + ": " + msg);
  }

  std::filesystem::path bin_, dir_;
  std::string as_;
  bool durable_ = false, running_ = false, attached_ = false;
  std::atomic<int> next_{0};
};

/// A database for one test (on the shared server unless told), dropped after it.
class postgres_database {
 public:
  explicit postgres_database(postgres_server& server = postgres_server::shared())
      : server_(&server), dsn_(server.create_database()) {}
  ~postgres_database() {
    try {
      server_->drop_database(dsn_);
    } catch (...) {
    }
  }
  postgres_database(const postgres_database&) = delete;
  postgres_database& operator=(const postgres_database&) = delete;
  const std::string& dsn() const { return dsn_; }

 private:
  postgres_server* server_;
  std::string dsn_;
};

}  // namespace vitals::test
