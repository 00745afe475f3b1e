// The PostgreSQL sample store's writer (stores/postgres.hpp): one coroutine
// on the store's strand takes the accepted samples in batches of batch_max
// and writes each with one INSERT of binary arrays (pg_binary.hpp) on a
// connection of its own, reconnecting with backoff. With a spool directory,
// what cannot be written while the server is unreachable or refuses all
// writes is spilled there, a file per batch, and replayed, oldest first and
// before anything newer, once the server is back (pg_spool.hpp encodes the
// files). A batch the server refuses while writable is retried
// max_attempts times, then counted rejected.
#pragma once

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/core/detail/spool.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/stores/detail/pg_binary.hpp"
#include "vitals/stores/detail/pg_queries.hpp"
#include "vitals/stores/detail/pg_spool.hpp"
#include "vitals/stores/pg_connection.hpp"
#include "vitals/stores/postgres_options.hpp"

namespace vitals::stores::pg {

namespace asio = boost::asio;

/// What the writer coroutine shares with the store. Held by shared_ptr so
/// that the coroutine, which may outlive the store on a foreign executor,
/// never touches freed memory.
struct writer_state : std::enable_shared_from_this<writer_state> {
  explicit writer_state(asio::any_io_executor e) : ex(asio::make_strand(e)), wake(ex), pause(ex) {}

  asio::any_io_executor ex;
  postgres_options opts;
  bool timescale = false;

  std::mutex mu;
  std::condition_variable written_cv;
  std::deque<sample> queue;  // accepted, not yet taken by the writer
  std::size_t inflight = 0;  // taken, not yet written
  std::uint64_t accepted = 0,
                done = 0;           // samples ever accepted / written, spooled or given up on
  std::uint64_t spool_records = 0;  // files in the spool (any store's)
  bool stopping = false, wake_posted = false;
  postgres_stats stats;
  std::uint64_t ids_generation = 0;  // bumped by drop(): the writer's cache is stale

  asio::steady_timer wake, pause;              // touched on the strand only
  std::optional<vitals::detail::spool> spool;  // by init, then on the strand only

  status enqueue(std::span<const sample> batch) {
    std::lock_guard lock(mu);
    if (queue.size() + inflight + batch.size() > opts.queue_max)
      return error(errc::limit_exceeded,
                   "PostgreSQL store: " + std::to_string(queue.size() + inflight) +
                       " samples waiting to be written; batch refused");
    queue.insert(queue.end(), batch.begin(), batch.end());
    accepted += batch.size();
    if (!wake_posted && !batch.empty()) {
      wake_posted = true;
      asio::post(ex, [self = shared_from_this()] { self->wake.cancel(); });
    }
    return {};
  }

  // `spooled_is_enough`: the destructor's wait, for which a spooled sample
  // is safe; otherwise the spool must be empty too (it holds only samples
  // older than those in memory).
  status wait_written(std::chrono::milliseconds timeout, bool spooled_is_enough) {
    std::unique_lock lock(mu);
    const auto target = accepted;
    if (!written_cv.wait_for(lock, timeout, [&] {
          return (done >= target && (spooled_is_enough || spool_records == 0)) || stopping;
        }))
      return error(errc::unavailable,
                   "PostgreSQL store: " + std::to_string(done < target ? target - done : 0) +
                       " samples in memory and " + std::to_string(spool_records) +
                       " spooled batches still waiting to be written (" + stats.last_error + ")");
    return {};
  }

  // The writer ends once the queue is empty, or at the first failure.
  void stop() {
    {
      std::lock_guard lock(mu);
      stopping = true;
    }
    written_cv.notify_all();
    asio::post(ex, [self = shared_from_this()] { self->wake.cancel(), self->pause.cancel(); });
  }

  void forget_ids() {
    std::lock_guard lock(mu);
    ++ids_generation;
  }

  postgres_stats snapshot() {
    std::lock_guard lock(mu);
    auto s = stats;
    s.pending = queue.size() + inflight;
    s.spool_pending = spool_records;
    if (spool) s.spool_dead = spool->dead();
    return s;
  }
};

/// The writer coroutine: `co_spawn(ex, writer::run(st), detached)`. It ends
/// once the store stopped and the queue is empty (or spilled, with a spool),
/// or at the first failure after the store stopped.
class writer {
  using series_ids = std::unordered_map<series, std::int64_t, series_hasher>;

 public:
  static asio::awaitable<void> run(std::shared_ptr<writer_state> st) {
    connection conn;
    series_ids ids;
    std::uint64_t ids_generation = 0;
    std::vector<sample> batch;
    std::optional<vitals::detail::pending_record> record;  // set when `batch` came from the spool
    auto backoff = st->opts.backoff_min;
    int attempts = 0;
    int upserts = 0;  // batches left to send as upserts, after a conflict
    auto sleep = [&](std::chrono::milliseconds d) -> asio::awaitable<void> {
      st->pause.expires_after(d);
      co_await st->pause.async_wait(asio::as_tuple(asio::use_awaitable));
    };
    for (;;) {
      bool from_spool = false, stopping = false;
      {
        std::lock_guard lock(st->mu);
        // The spool holds only samples older than those in memory: it goes first.
        from_spool = st->spool_records > 0;
        if (batch.empty() && !from_spool) {
          const auto n = std::min(st->queue.size(), st->opts.batch_max);
          std::move(st->queue.begin(), st->queue.begin() + std::ptrdiff_t(n),
                    std::back_inserter(batch));
          st->queue.erase(st->queue.begin(), st->queue.begin() + std::ptrdiff_t(n));
          st->inflight = batch.size();
        }
        stopping = st->stopping;
        if (batch.empty() && !from_spool) {
          if (stopping) co_return;
          st->wake_posted = false;
        }
        if (ids_generation != st->ids_generation) ids.clear(), ids_generation = st->ids_generation;
      }
      if (stopping && st->spool) {  // bounded exit: what is in memory is safe on disk
        spill(*st, batch, record.has_value());
        co_return;
      }
      if (batch.empty() && from_spool && !next_spooled(*st, batch, record)) continue;
      if (batch.empty()) {
        // Idle: wait for enqueue() to cancel the timer (or a periodic look).
        st->wake.expires_after(std::chrono::seconds(1));
        co_await st->wake.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      if (!conn.ok()) {
        auto c = co_await connection::async_open(st->opts.dsn);
        if (!c) {
          const bool stop = note_failure(*st, c.error(), false);
          if (st->spool) spill(*st, batch, record.has_value());
          if (stop) co_return;
          co_await sleep(backoff);
          backoff = std::min(backoff * 2, st->opts.backoff_max);
          continue;
        }
        conn = std::move(*c);
        ids.clear();
        std::lock_guard lock(st->mu);
        st->stats.connected = true;
        ++st->stats.connects;
      }
      // A plain INSERT costs two thirds of an upsert (no speculative insertion):
      // tried first, it fails whole on a point already stored, and the batch
      // goes again as an upsert. Replays from the spool, and the batches after
      // a conflict, go as upserts straight away.
      const bool upsert = record.has_value() || upserts > 0;
      auto s = co_await write(conn, ids, batch, upsert);
      if (!s && !upsert && conn.ok() && conn.last_sqlstate() == "23505") {
        upserts = 64;
        s = co_await write(conn, ids, batch, true);
      } else if (s && upserts > 0) {
        --upserts;
      }
      if (s) {
        settle(*st, batch, record, false);
        backoff = st->opts.backoff_min;
        attempts = 0;
        continue;
      }
      ids.clear();  // ids of a rolled-back statement may not exist
      // A server that refuses every write for now (read-only, out of disk,
      // shutting down) counts as unreachable: a fresh connection may reach a
      // writable one. Only a refusal of this batch counts towards giving up.
      if (conn.ok() && transient(conn.last_sqlstate())) conn = {};
      const bool refused = conn.ok();
      const bool stop = note_failure(*st, s.error(), refused);
      if (!refused && st->spool) spill(*st, batch, record.has_value());
      if (stop) co_return;
      if (refused && ++attempts >= st->opts.max_attempts) {
        settle(*st, batch, record, true);
        attempts = 0;
        continue;
      }
      co_await sleep(backoff);
      backoff = std::min(backoff * 2, st->opts.backoff_max);
    }
  }

 private:
  // The batch is written (or, `rejected`, given up on): a spooled one leaves
  // the spool (a rejected one into its dead-letter folder, where a person can
  // look at it), one from memory counts as done.
  static void settle(writer_state& st, std::vector<sample>& batch,
                     std::optional<vitals::detail::pending_record>& record, bool rejected) {
    // Under the lock, so that a snapshot never sees the dead-letter count
    // without the samples it rejected (a rename or unlink: brief).
    std::lock_guard lock(st.mu);
    if (record) (void)(rejected ? st.spool->move_to_dead(*record) : st.spool->ack(*record));
    if (rejected) {
      st.stats.rejected_samples += batch.size();
    } else {
      ++st.stats.batches;
      st.stats.samples += batch.size();
    }
    if (record) {
      if (st.spool_records > 0) --st.spool_records;
    } else {
      st.done += batch.size();
      st.inflight = 0;
    }
    batch.clear();
    record.reset();
    st.written_cv.notify_all();
  }

  // Loads the oldest spooled batch; false when there was none to load. A
  // record that does not decode is renamed aside (`.bad`), never replayed.
  static bool next_spooled(writer_state& st, std::vector<sample>& batch,
                           std::optional<vitals::detail::pending_record>& record) {
    auto oldest = st.spool->read_oldest(1);
    if (!oldest || oldest->empty()) {
      std::lock_guard lock(st.mu);
      st.spool_records = 0;  // only unreadable files left
      return false;
    }
    auto decoded = decode_spooled(oldest->front().record.payload);
    if (!decoded) {
      std::error_code ec;
      const auto& p = oldest->front().path;
      std::filesystem::rename(p, p.string() + ".bad", ec);
      std::lock_guard lock(st.mu);
      if (st.spool_records > 0) --st.spool_records;
      st.stats.last_error = decoded.error().message + ": " + p.filename().string();
      return false;
    }
    batch = std::move(*decoded);
    record = std::move(oldest->front());
    return true;
  }

  // Moves what is in memory to the spool, oldest first: the batch in flight
  // (unless it is a spooled one already), then the queue, batch_max samples
  // a file. What cannot be written stays in memory, in order.
  static void spill(writer_state& st, std::vector<sample>& batch, bool batch_is_spooled) {
    std::vector<sample> all;
    {
      std::lock_guard lock(st.mu);
      if (!batch_is_spooled) all = std::exchange(batch, {});
      all.insert(all.end(), std::make_move_iterator(st.queue.begin()),
                 std::make_move_iterator(st.queue.end()));
      st.queue.clear();
      st.inflight = all.size();
    }
    std::size_t at = 0;
    while (at < all.size()) {
      const auto n = std::min(st.opts.batch_max, all.size() - at);
      vitals::detail::spool_record r;
      r.source_system = "vitals.postgres";
      r.payload = encode_spooled(all.data() + at, n);
      auto id = st.spool->write(std::move(r));
      std::lock_guard lock(st.mu);
      if (!id) {
        st.stats.last_error = id.error().message;
        break;
      }
      at += n;
      ++st.spool_records;
      st.stats.spooled += n;
      st.done += n;
      st.inflight -= n;
      st.written_cv.notify_all();
    }
    if (at < all.size()) {
      std::lock_guard lock(st.mu);
      st.queue.insert(st.queue.begin(), std::make_move_iterator(all.begin() + std::ptrdiff_t(at)),
                      std::make_move_iterator(all.end()));
      st.inflight = 0;
    }
  }

  // Counts a failure; true when the store is gone and the writer should end.
  static bool note_failure(writer_state& st, const vitals::error& e, bool connected) {
    std::lock_guard lock(st.mu);
    ++st.stats.failed_batches;
    st.stats.connected = connected;
    st.stats.last_error = e.message;
    return st.stopping;
  }

  // One batch: new series get their ids, then one INSERT of three arrays,
  // bound in binary (ids, timestamptz, float8: nothing for the server to parse).
  // Within a batch the last value of a (series, time) wins, as it would had
  // the samples been sent one by one; `upsert`: so does the batch over what
  // is stored, otherwise a point already stored fails the whole statement.
  static asio::awaitable<status> write(connection& conn, series_ids& ids,
                                       const std::vector<sample>& batch, bool upsert) {
    std::vector<sample_row> rows;
    rows.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& s = batch[i];
      auto it = ids.find(s.series);
      if (it == ids.end()) {
        auto r = co_await conn.async_query(sql::series_id, series_key(s.series));
        if (!r) co_return r.error();
        it = ids.emplace(s.series, r->int64(0, 0)).first;
      }
      rows.push_back({it->second, to_unix_ms(s.t), s.value, i});
    }
    auto arrays = encode_sample_rows(rows);
    auto r =
        co_await conn.async_query(upsert ? sql::upsert_samples : sql::insert_samples,
                                  params{}
                                      .add_binary(std::move(arrays.ids), int8_array_oid)
                                      .add_binary(std::move(arrays.times), timestamptz_array_oid)
                                      .add_binary(std::move(arrays.values), float8_array_oid));
    if (!r) co_return r.error();
    co_return status{};
  }
};

}  // namespace vitals::stores::pg
