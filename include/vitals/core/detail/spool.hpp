// The durable spool (the 003 seed's), shared by the agent (agent/spool.hpp)
// and the PostgreSQL store's failover: one file per record, named by its
// creation time and a sequence so names sort oldest first. A write goes to a
// temporary file, is fsynced, renamed into place and the directory fsynced,
// so a crash leaves either the whole record or none. Readers take the
// oldest; `ack` removes a record, `mark_failed` rewrites it with the attempt
// count and the last error; a record the store refused N times (default 10)
// moves to the dead-letter folder `<dir>/dead/`, counted and listed. Files
// that do not parse are moved there too, and counted as malformed.
// Cleanup removes the oldest records beyond an age, a count and a size.
// File names are made here, never taken from a record.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "vitals/core/detail/file.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"

namespace vitals::detail {

struct spool_record {
  std::string id{};  // given by write()
  timestamp created_at{};
  std::string source_system{};
  std::string source_channel{};
  std::string payload{};  // JSON text
  int attempt = 0;
  int refused = 0;  // attempts the store answered with a refusal, not an outage
  std::string last_error{};
};

struct pending_record {
  std::filesystem::path path;
  spool_record record;
  bool dead = false;  // moved to the dead-letter folder by mark_failed
};

/// A record in the dead-letter folder, for a person to look at.
struct dead_record {
  std::string file{};
  int attempt = 0;
  std::string last_error{};
};

/// How many refusals move a record aside (spool::set_max_refusals).
inline constexpr int default_max_refusals = 10;

struct spool_cleanup_policy {
  std::chrono::hours max_age{96};
  std::size_t max_files = 25'000;
  std::uintmax_t max_bytes = 768ull << 20;
};

struct spool_cleanup_result {
  std::size_t removed_by_age = 0, removed_by_count = 0, removed_by_bytes = 0, removed_dead = 0;
  std::size_t files = 0;  // left
  std::uintmax_t bytes = 0;
};

inline constexpr std::size_t max_spool_error = 400;

class spool {
 public:
  /// Creates `dir` when missing. `durable` = false skips the fsyncs (tests, benchmarks).
  explicit spool(std::filesystem::path dir, bool durable = true)
      : dir_(std::move(dir)), durable_(durable), salt_(std::random_device{}()) {
    std::filesystem::create_directories(dir_);
  }

  const std::filesystem::path& dir() const noexcept { return dir_; }

  /// Stores `r` durably; its id (and file name) is made here.
  result<std::string> write(spool_record r) {
    if (r.created_at == timestamp{}) r.created_at = vitals::now();
    char name[64];
    std::snprintf(name, sizeof name, "%013lld-%010llu-%08x",
                  static_cast<long long>(to_unix_ms(r.created_at)),
                  static_cast<unsigned long long>(seq_.fetch_add(1)), salt_);
    r.id = name;
    if (auto st = write_file(dir_ / (r.id + ".json"), r); !st) return st.error();
    return r.id;
  }

  /// Up to `limit` records, oldest first. Malformed files are counted once
  /// each and moved to the dead-letter folder.
  result<std::vector<pending_record>> read_oldest(std::size_t limit) {
    std::vector<pending_record> out;
    for (const auto& p : files()) {
      if (out.size() >= limit) break;
      auto r = read_file(p);
      if (!r) {  // it never will parse: out of the way of the records behind it
        std::lock_guard lock(mu_);
        if (malformed_seen_.insert(p.filename().string()).second) malformed_.fetch_add(1);
        pending_record bad{p, {}};
        (void)move_to_dead(bad);
        continue;
      }
      out.push_back({p, std::move(*r)});
    }
    return out;
  }

  status ack(const pending_record& p) {
    std::error_code ec;
    if (!std::filesystem::remove(p.path, ec) && ec)
      return error(errc::io_error, "spool: cannot remove " + p.path.string() + ": " + ec.message());
    return {};
  }

  /// Rewrites the record with attempt + 1 and `why` (at most 400 characters).
  /// `refused`: the store refused this record (not an outage); once that has
  /// happened max_refusals times the record moves to `<dir>/dead/` (and
  /// `p.dead` is set), so that it cannot hold up newer records forever.
  status mark_failed(pending_record& p, std::string_view why, bool refused = false) {
    p.record.attempt += 1;
    if (refused) p.record.refused += 1;
    if (why.size() > max_spool_error) {  // cut on a UTF-8 character boundary
      std::size_t n = max_spool_error;
      while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80) --n;
      why = why.substr(0, n);
    }
    p.record.last_error = std::string(why);
    if (auto st = write_file(p.path, p.record); !st) return st;
    if (p.record.refused < max_refusals_.load()) return {};
    return move_to_dead(p);
  }

  /// Records refused this many times go to the dead-letter folder (at least 1).
  void set_max_refusals(int n) noexcept { max_refusals_.store(std::max(n, 1)); }

  /// Moves a record to `<dir>/dead/`, where nothing reads it again; counted.
  status move_to_dead(pending_record& p) {
    const auto dead = dead_dir();
    std::error_code ec;
    std::filesystem::create_directories(dead, ec);
    if (ec)
      return error(errc::io_error, "spool: cannot create " + dead.string() + ": " + ec.message());
    std::filesystem::rename(p.path, dead / p.path.filename(), ec);
    if (ec)
      return error(errc::io_error, "spool: cannot move " + p.path.string() + ": " + ec.message());
    p.dead = true;
    dead_.fetch_add(1);
    if (!durable_) return {};
    if (auto st = fsync_directory(dead); !st) return st;
    return fsync_directory(dir_);
  }

  std::filesystem::path dead_dir() const { return dir_ / "dead"; }

  /// Records moved to the dead-letter folder since this spool was opened.
  std::uint64_t dead() const noexcept { return dead_.load(); }

  /// The records in the dead-letter folder: how many, and the `last` newest
  /// (by file name, which starts with the creation time), newest first.
  std::pair<std::size_t, std::vector<dead_record>> dead_records(std::size_t last = 10) const {
    std::vector<std::filesystem::path> all;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(dead_dir(), ec)) {
      const auto name = d.path().filename().string();
      if (d.is_regular_file(ec) && name.ends_with(".json") && !name.starts_with("."))
        all.push_back(d.path());
    }
    std::sort(all.begin(), all.end());
    std::vector<dead_record> out;
    for (auto it = all.rbegin(); it != all.rend() && out.size() < last; ++it) {
      dead_record d{.file = it->filename().string()};
      if (auto r = read_file(*it)) {
        d.attempt = r->attempt;
        d.last_error = r->last_error;
      } else {
        d.last_error = r.error().message;
      }
      out.push_back(std::move(d));
    }
    return {all.size(), std::move(out)};
  }

  /// Removes the oldest records beyond the policy: first by age, then by
  /// count, then by total size. Stale temporary files go too.
  spool_cleanup_result cleanup(const spool_cleanup_policy& policy, timestamp now = vitals::now()) {
    spool_cleanup_result res;
    struct entry {
      std::filesystem::path path;
      std::uintmax_t size;
      std::int64_t created_ms;
    };
    std::vector<entry> all;
    std::error_code ec;
    for (const auto& p : files()) {
      const auto size = std::filesystem::file_size(p, ec);
      all.push_back({p, ec ? 0 : size, created_ms(p.filename().string())});
    }
    for (const auto& d : std::filesystem::directory_iterator(dir_, ec))
      if (d.path().filename().string().starts_with(".tmp-") &&
          std::filesystem::last_write_time(d.path(), ec) <
              std::filesystem::file_time_type::clock::now() - std::chrono::hours(1))
        std::filesystem::remove(d.path(), ec);
    std::uintmax_t bytes = 0;
    for (const auto& e : all) bytes += e.size;
    std::size_t first = 0;
    const auto oldest_kept = to_unix_ms(now - policy.max_age);
    auto drop = [&](std::size_t& counter) {
      std::filesystem::remove(all[first].path, ec);
      bytes -= all[first].size;
      ++first;
      ++counter;
    };
    while (first < all.size() && all[first].created_ms < oldest_kept) drop(res.removed_by_age);
    while (all.size() - first > policy.max_files) drop(res.removed_by_count);
    while (first < all.size() && bytes > policy.max_bytes) drop(res.removed_by_bytes);
    // The dead-letter folder is kept for a person, but not beyond the age.
    for (const auto& d : std::filesystem::directory_iterator(dead_dir(), ec))
      if (created_ms(d.path().filename().string()) < oldest_kept) {
        std::filesystem::remove(d.path(), ec);
        ++res.removed_dead;
      }
    res.files = all.size() - first;
    res.bytes = bytes;
    return res;
  }

  /// Records waiting (malformed files included).
  std::size_t size() const { return files().size(); }
  std::uint64_t malformed() const noexcept { return malformed_.load(); }

 private:
  std::vector<std::filesystem::path> files() const {
    std::vector<std::filesystem::path> out;
    std::error_code ec;
    for (const auto& d : std::filesystem::directory_iterator(dir_, ec)) {
      const auto name = d.path().filename().string();
      if (d.is_regular_file(ec) && name.ends_with(".json") && !name.starts_with("."))
        out.push_back(d.path());
    }
    std::sort(out.begin(), out.end());  // names start with the zero-padded time
    return out;
  }

  static std::int64_t created_ms(const std::string& name) {
    std::int64_t v = 0;
    for (std::size_t i = 0; i < 13 && i < name.size() && name[i] >= '0' && name[i] <= '9'; ++i)
      v = v * 10 + (name[i] - '0');
    return v;
  }

  status write_file(const std::filesystem::path& path, const spool_record& r) {
    boost::json::object o;
    o["spool_id"] = r.id;
    o["created_at"] = to_rfc3339(r.created_at);
    o["source_system"] = r.source_system;
    o["source_channel"] = r.source_channel;
    boost::system::error_code jec;
    auto payload = boost::json::parse(r.payload, jec);
    if (jec) return error(errc::invalid_argument, "spool: payload is not JSON: " + jec.message());
    o["payload"] = std::move(payload);
    o["attempt"] = r.attempt;
    if (r.refused > 0) o["refused"] = r.refused;
    if (!r.last_error.empty()) o["last_error"] = r.last_error;
    const std::string text = boost::json::serialize(o);
    if (auto st = atomic_write_file(path, text, durable_); !st)
      return error(errc::io_error, "spool: " + st.error().message);
    return {};
  }

  static result<spool_record> read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    boost::system::error_code ec;
    auto v = boost::json::parse(text.str(), ec);
    const auto* o = v.if_object();
    auto str = [&](std::string_view k) -> const boost::json::string* {
      const auto* f = o ? o->if_contains(k) : nullptr;
      return f ? f->if_string() : nullptr;
    };
    if (ec || !o || !str("spool_id") || !str("created_at") || !o->contains("payload"))
      return error(errc::parse_error, "spool: malformed record " + path.filename().string());
    spool_record r;
    r.id = std::string(*str("spool_id"));
    auto t = parse_rfc3339(*str("created_at"));
    if (!t) return error(errc::parse_error, "spool: bad created_at in " + path.filename().string());
    r.created_at = *t;
    if (const auto* s = str("source_system")) r.source_system = std::string(*s);
    if (const auto* s = str("source_channel")) r.source_channel = std::string(*s);
    if (const auto* s = str("last_error")) r.last_error = std::string(*s);
    auto count = [&](std::string_view k) {  // hostile files: stay in int
      const auto* a = o->if_contains(k);
      return a && a->is_int64()
                 ? static_cast<int>(std::clamp<std::int64_t>(a->as_int64(), 0, 1 << 20))
                 : 0;
    };
    r.attempt = count("attempt");
    r.refused = count("refused");
    r.payload = boost::json::serialize(o->at("payload"));
    return r;
  }

  std::filesystem::path dir_;
  bool durable_;
  unsigned salt_;
  std::atomic<std::uint64_t> seq_{0};
  std::atomic<std::uint64_t> malformed_{0};
  std::atomic<std::uint64_t> dead_{0};
  std::atomic<int> max_refusals_{default_max_refusals};
  mutable std::mutex mu_;
  std::set<std::string> malformed_seen_;
};

}  // namespace vitals::detail
