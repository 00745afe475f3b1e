// The PostgreSQL sample store's options and statistics (stores/postgres.hpp),
// in a header of their own because the store and its writer
// (detail/pg_writer.hpp) both hold them. Include stores/postgres.hpp to use
// them; it includes this one.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

namespace vitals::stores {

struct postgres_options {
  std::string dsn;                    // empty: $VITALS_PG_DSN
  std::size_t batch_max = 10'000;     // samples per INSERT
  std::size_t queue_max = 1'000'000;  // accepted, not yet written; beyond: limit_exceeded
  std::chrono::milliseconds backoff_min{100}, backoff_max{std::chrono::seconds(5)};
  int max_attempts = 5;  // for a batch the server refuses while connected
  std::chrono::milliseconds read_flush_timeout{std::chrono::seconds(10)};
  std::chrono::hours samples_retention{24 * 7};
  // Failover: empty keeps unwritten samples in memory only. Otherwise, each
  // time the server cannot be reached (or refuses all writes: read-only, out
  // of disk), the batch in flight and the queue go to this directory,
  // batch_max samples a file, and are replayed from it, oldest first.
  std::filesystem::path spool_dir{};
  bool spool_durable = true;  // fsync each spooled batch (false: tests, benchmarks)
};

struct postgres_stats {
  std::uint64_t batches = 0;           // vitals_pg_batches_total
  std::uint64_t samples = 0;           // vitals_pg_samples_total
  std::uint64_t failed_batches = 0;    // vitals_pg_failed_batches_total
  std::uint64_t rejected_samples = 0;  // vitals_pg_rejected_samples_total (given up on)
  std::uint64_t connects = 0;          // vitals_pg_connects_total (first one included)
  std::uint64_t pending = 0;           // vitals_pg_pending_samples: how far behind, in memory
  std::uint64_t spool_pending = 0;     // vitals_pg_spool_pending: batches waiting in the spool
  std::uint64_t spooled = 0;           // vitals_pg_spooled_samples_total
  std::uint64_t spool_dead = 0;  // vitals_pg_spool_dead_total: rejected, moved to <spool>/dead/
  bool connected = false;        // vitals_pg_connected
  std::string last_error;
};

}  // namespace vitals::stores
