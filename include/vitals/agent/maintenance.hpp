// Keeps a long-running monitor's data bounded: on a schedule, prunes samples
// and usage rows past their retention and checkpoints the usage store's log;
// reports each run (when, how long, what it deleted, failures) and the size
// of the store files as metrics. Stores opt in by what they offer:
// `prune_before(cutoff)` for samples, `prune(retention)` and `checkpoint()`
// for usage; a store without them is left alone.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "vitals/agent/usage_store.hpp"
#include "vitals/core/time.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct retention_options {
  std::chrono::milliseconds samples = std::chrono::days(7);  // the 000 seed's samples retention
  usage_retention usage{};  // usage rows 400 days, raw payloads 72 hours
  std::chrono::milliseconds every = std::chrono::hours(1);
  std::uintmax_t wal_watch_bytes = 64u << 20;  // checkpoint the usage WAL early above this
};

/// A store file to report in `vitals_store_bytes{store}`: a SQLite database
/// counts with its `-wal` file.
struct store_file {
  std::string store;
  std::filesystem::path path;
};

/// What the last retention run did (runs 0: none yet), for whoever reports
/// it further, such as the monitor's `store.pruned` lifecycle event.
struct retention_report {
  std::uint64_t runs = 0;
  timestamp at{};
  std::int64_t samples = 0, usage = 0;  // rows deleted
  bool ok = true;
  std::string error{};  // "store: why" of this run's first failure
};

class maintenance {
 public:
  maintenance(retention_options o, registry& reg, std::vector<store_file> files = {})
      : opts_(o),
        files_(std::move(files)),
        runs_(reg.counter_family("vitals_store_prunes", "Retention runs, by result.", {"result"})),
        deleted_(reg.counter_family("vitals_store_pruned_rows",
                                    "Rows deleted by retention, by store.", {"store"})),
        last_(reg.gauge("vitals_store_last_prune_timestamp_seconds",
                        "When retention last ran (unix seconds).")),
        took_(reg.gauge("vitals_store_last_prune_duration_seconds",
                        "How long the last retention run took.")) {
    reg.add_collector([this](metric_snapshot& out) { collect_bytes(out); });
  }
  maintenance(const maintenance&) = delete;
  maintenance& operator=(const maintenance&) = delete;

  const retention_options& options() const noexcept { return opts_; }

  /// Runs retention when `every` has passed since the last run (the first
  /// call always runs): call it from a periodic loop.
  template <class Samples, class Usage>
  void tick(Samples& samples, Usage& usage,
            std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
    if (ran_ && now - last_run_ < opts_.every) {
      // Between runs, a usage WAL grown past the watch size (readers kept it
      // from being reset) is checkpointed early.
      if constexpr (requires {
                      usage.wal_bytes();
                      usage.checkpoint();
                    })
        if (usage.wal_bytes() > opts_.wal_watch_bytes)
          if (auto st = usage.checkpoint(); !st) fail("usage", st.error().message);
      return;
    }
    ran_ = true;
    last_run_ = now;
    run(samples, usage);
  }

  /// One retention run now. Returns false when a store refused (counted).
  template <class Samples, class Usage>
  bool run(Samples& samples, Usage& usage, timestamp at = vitals::now()) {
    const auto started = std::chrono::steady_clock::now();
    bool ok = true;
    retention_report rep;
    rep.at = at;
    auto failed = [&](std::string_view store, const std::string& why) {
      if (ok) rep.error = std::string(store) + ": " + why;
      return fail(store, why);
    };
    if constexpr (requires { samples.prune_before(at); }) {
      if (auto n = samples.prune_before(at - opts_.samples)) {
        deleted_.with("samples").inc(static_cast<double>(*n));
        rep.samples = static_cast<std::int64_t>(*n);
      } else {
        ok = failed("samples", n.error().message);
      }
    }
    if constexpr (requires { usage.prune(opts_.usage, at); }) {
      if (auto r = usage.prune(opts_.usage, at)) {
        deleted_.with("usage").inc(static_cast<double>(r->events + r->payloads));
        rep.usage = static_cast<std::int64_t>(r->events + r->payloads);
      } else {
        ok = failed("usage", r.error().message);
      }
    }
    if constexpr (requires { usage.checkpoint(); })
      if (auto st = usage.checkpoint(); !st) ok = failed("usage", st.error().message);
    took_.set(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    last_.set(to_unix_seconds(at));
    runs_.with(ok ? "ok" : "failed").inc();
    rep.ok = ok;
    std::lock_guard lock(mu_);
    rep.runs = report_.runs + 1;
    report_ = std::move(rep);
    return ok;
  }

  /// The last retention run's report.
  retention_report last_report() const {
    std::lock_guard lock(mu_);
    return report_;
  }

  /// The last failure's message, "store: why" (empty when none yet).
  std::string last_error() const {
    std::lock_guard lock(mu_);
    return last_error_;
  }

 private:
  bool fail(std::string_view store, const std::string& why) {
    std::lock_guard lock(mu_);
    last_error_ = std::string(store) + ": " + why;
    return false;
  }

  void collect_bytes(metric_snapshot& out) const {
    if (files_.empty()) return;
    metric_family f{"vitals_store_bytes",
                    metric_type::gauge,
                    "Bytes on disk of each store's files (a SQLite file with its WAL).",
                    {},
                    {}};
    for (const auto& file : files_) {
      std::error_code ec;
      double bytes = 0;
      for (const auto& p : {file.path, std::filesystem::path(file.path.string() + "-wal")}) {
        const auto n = std::filesystem::file_size(p, ec);
        if (!ec) bytes += static_cast<double>(n);
      }
      auto& pt = f.points.emplace_back();
      pt.labels = label_set{{"store", file.store}};
      pt.value = bytes;
    }
    out.push_back(std::move(f));
  }

  retention_options opts_;
  std::vector<store_file> files_;
  family<vitals::counter>& runs_;
  family<vitals::counter>& deleted_;
  vitals::gauge& last_;
  vitals::gauge& took_;
  bool ran_ = false;  // tick() is called from one loop
  std::chrono::steady_clock::time_point last_run_{};
  mutable std::mutex mu_;
  std::string last_error_;
  retention_report report_;
};

}  // namespace vitals::agent
