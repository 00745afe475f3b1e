// A session collector (agent/session.hpp) per agent session, fed with the
// usage events a ledger takes in (ledger::on_taken), and each session's
// METRICS.json (the 002 seed's format) kept under one directory:
// `<dir>/<name>/METRICS.json`, written atomically when the session changed.
// A session id from outside names its directory only when it is a safe id
// (core/ids.hpp); any other id is named `u-<UUID v5 of the id>` and the file
// keeps the id itself in `agent_session_id`. Bounded: at most
// `max_sessions` in memory (the least recently changed is evicted, counted,
// and its file written at the next flush), files past the usage retention
// pruned.
#pragma once

#include <boost/json.hpp>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/agent/session.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/core/detail/file.hpp"
#include "vitals/core/ids.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct session_book_options {
  std::filesystem::path dir{};  // empty: sessions only in memory
  std::size_t max_sessions = 1000;
  std::string default_phase = "default";  // an LLM event's phase when its payload names none
  bool durable = true;                    // fsync each write
};

/// A session as the book keeps it: the METRICS.json snapshot (whose
/// session_id is the file-safe name) and the id the agent sent.
struct session_entry {
  std::string agent_session_id;
  session_snapshot metrics;
};

/// The directory name of a session id: the id when it is safe, else
/// `u-` and the UUID v5 (SHA-1, URL namespace) of the id.
inline std::string session_file_name(std::string_view id) {
  if (is_safe_id(id)) return std::string(id);
  boost::uuids::name_generator_sha1 gen(boost::uuids::ns::url());
  return "u-" + boost::uuids::to_string(gen(id.data(), id.size()));
}

class session_book {
 public:
  session_book(session_book_options o, registry& reg)
      : opts_(std::move(o)),
        writes_(reg.counter_family("vitals_agent_session_writes",
                                   "METRICS.json writes of agent sessions, by result.",
                                   {"result"})),
        evicted_(reg.counter("vitals_agent_sessions_evicted",
                             "Sessions dropped from memory to stay within the bound (with a "
                             "directory, their METRICS.json keeps them).")),
        unreadable_(reg.counter("vitals_agent_session_files_unreadable",
                                "METRICS.json files that could not be loaded.")),
        lost_(reg.counter("vitals_agent_sessions_lost",
                          "Evicted sessions whose last changes were never written (more "
                          "sessions evicted between two flushes than max_sessions).")) {
    opts_.max_sessions = std::max<std::size_t>(opts_.max_sessions, 1);
    reg.gauge_callback("vitals_agent_sessions", "Agent sessions held in memory.",
                       [this] { return double(size()); });
  }
  session_book(const session_book&) = delete;
  session_book& operator=(const session_book&) = delete;

  /// Loads the newest `max_sessions` METRICS.json under the directory;
  /// unreadable ones are skipped and counted. Call before feeding events.
  void load() {
    if (opts_.dir.empty()) return;
    std::vector<std::pair<std::filesystem::file_time_type, std::string>> found;
    for_each_file([&](const std::string& name, const std::filesystem::path& file) {
      std::error_code ec;
      const auto t = std::filesystem::last_write_time(file, ec);
      if (!ec) found.emplace_back(t, name);
    });
    std::sort(found.begin(), found.end(), std::greater<>());
    if (found.size() > opts_.max_sessions) found.resize(opts_.max_sessions);
    std::lock_guard lock(mu_);
    for (const auto& [t, name] : found) {
      auto e = read_file(name);
      if (!e) {
        unreadable_.inc();
        continue;
      }
      auto& slot = sessions_[name];
      slot.agent_session_id = e->agent_session_id;
      slot.collector = std::make_unique<session_collector>(e->metrics);
      slot.touched = ++clock_;
    }
  }

  /// The ledger's on_taken: a tool call, or an LLM interaction (tokens and
  /// cost; prompt = input tokens, completion = output tokens) in the phase
  /// its payload names (`{"phase": "..."}`), else the default phase. An
  /// enrichment (`before` set) adds only what it adds to the tokens and cost.
  void record(const usage_event& e, const usage_event* before) {
    if (e.session_id.empty() || e.event_type == "limit_snapshot" || e.event_type == "raw_envelope")
      return;
    if (e.requests == 0 && !e.total_tokens && !e.cost_usd) return;  // no model call (a hook's Stop)
    std::lock_guard lock(mu_);
    auto& c = collector(e.session_id);
    if (e.event_type == "tool_usage") {
      if (before) return;  // a call counts once
      const auto ms = static_cast<std::int64_t>(e.duration_ms.value_or(0));
      c.record_tool_call(e.tool_name.empty() ? std::string_view("unknown") : e.tool_name,
                         std::chrono::milliseconds(ms), e.status == "ok");
      return;
    }
    auto grown = [&](const std::optional<std::int64_t> usage_event::*f) {
      const std::int64_t now = (e.*f).value_or(0), was = before ? (before->*f).value_or(0) : 0;
      return now > was ? now - was : 0;
    };
    const double cost = e.cost_usd.value_or(0) - (before ? before->cost_usd.value_or(0) : 0);
    c.record_llm_interaction(phase_of(e), grown(&usage_event::input_tokens),
                             grown(&usage_event::output_tokens), cost, before ? 0 : 1);
  }

  /// Writes the METRICS.json of every session changed since its last write
  /// (evicted ones first); returns how many failed (counted, and tried
  /// again next time). Calls are serialised.
  std::size_t flush() {
    std::lock_guard serial(flush_mu_);
    std::vector<std::pair<std::string, session_entry>> dirty;
    {
      std::lock_guard lock(mu_);
      // Copies: one stays findable (collector() restores from it) until written.
      for (const auto& e : evicted_unwritten_) dirty.emplace_back(std::string(), e);
      for (auto& [name, s] : sessions_)
        if (s.dirty) {
          s.dirty = false;
          dirty.emplace_back(name, session_entry{s.agent_session_id, s.collector->snapshot()});
        }
    }
    std::size_t failed = 0;
    for (const auto& d : dirty) {  // not a structured binding: clang 14 cannot capture one
      const std::string& name = d.first;
      const session_entry& e = d.second;
      const bool ok = write(e);
      std::lock_guard lock(mu_);
      if (name.empty() && ok) {
        std::erase_if(evicted_unwritten_, [&](const session_entry& w) {
          return w.metrics.session_id == e.metrics.session_id &&
                 w.metrics.updated_at == e.metrics.updated_at;
        });
      } else if (!ok) {
        ++failed;
        if (auto it = sessions_.find(name); !name.empty() && it != sessions_.end())
          it->second.dirty = true;
      }
    }
    return failed;
  }

  /// The sessions in memory, most recently updated first, at most `limit`.
  std::vector<session_entry> list(std::size_t limit) const {
    std::vector<session_entry> out;
    {
      std::lock_guard lock(mu_);
      out.reserve(sessions_.size());
      for (const auto& [name, s] : sessions_)
        out.push_back({s.agent_session_id, s.collector->snapshot()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
      return a.metrics.updated_at > b.metrics.updated_at;
    });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  /// A session by the id the agent sent or by its file name: from memory,
  /// else from its file.
  std::optional<session_entry> find(std::string_view id) const {
    const auto name = session_file_name(id);
    {
      std::lock_guard lock(mu_);
      if (auto it = sessions_.find(name); it != sessions_.end())
        return session_entry{it->second.agent_session_id, it->second.collector->snapshot()};
    }
    auto e = read_file(name);
    if (!e) return std::nullopt;
    return std::move(*e);
  }

  /// Removes the files of sessions not in memory and unchanged since
  /// `cutoff`; returns how many.
  std::int64_t prune_before(timestamp cutoff) {
    if (opts_.dir.empty()) return 0;
    std::vector<std::string> old;
    const auto limit = std::filesystem::file_time_type::clock::now() -
                       std::chrono::duration_cast<std::filesystem::file_time_type::duration>(
                           vitals::now() - cutoff);
    for_each_file([&](const std::string& name, const std::filesystem::path& file) {
      std::error_code ec;
      const auto t = std::filesystem::last_write_time(file, ec);
      if (!ec && t < limit) old.push_back(name);
    });
    std::int64_t n = 0;
    std::lock_guard lock(mu_);
    for (const auto& name : old) {
      if (sessions_.contains(name)) continue;
      std::error_code ec;
      std::filesystem::remove(opts_.dir / name / session_metrics_file, ec);
      std::filesystem::remove(opts_.dir / name, ec);  // only when nothing else is in it
      n += ec ? 0 : 1;
    }
    return n;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return sessions_.size();
  }
  const std::filesystem::path& dir() const noexcept { return opts_.dir; }

 private:
  struct slot {
    std::string agent_session_id;
    std::unique_ptr<session_collector> collector;
    bool dirty = false;
    std::uint64_t touched = 0;
  };

  // Under mu_. Makes room first (evicting the least recently changed
  // session); a session seen before goes on from its evicted snapshot or
  // its file.
  session_collector& collector(const std::string& id) {
    const auto name = session_file_name(id);
    auto it = sessions_.find(name);
    if (it == sessions_.end()) {
      if (sessions_.size() >= opts_.max_sessions) evict_one();
      std::optional<session_entry> earlier;
      auto pending = std::find_if(evicted_unwritten_.begin(), evicted_unwritten_.end(),
                                  [&](const auto& e) { return e.metrics.session_id == name; });
      if (pending != evicted_unwritten_.end()) {
        earlier = std::move(*pending);
        evicted_unwritten_.erase(pending);
      } else {
        earlier = read_file(name);
      }
      it = sessions_.emplace(name, slot{}).first;
      it->second.agent_session_id = id;
      it->second.collector = earlier ? std::make_unique<session_collector>(earlier->metrics)
                                     : std::make_unique<session_collector>(name);
    }
    it->second.dirty = true;
    it->second.touched = ++clock_;
    return *it->second.collector;
  }

  // Under mu_: no I/O here; the next flush writes what it held. Past
  // max_sessions of those waiting, the oldest is lost, and counted.
  void evict_one() {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.touched < b.second.touched; });
    if (oldest == sessions_.end()) return;
    if (oldest->second.dirty && !opts_.dir.empty()) {
      if (evicted_unwritten_.size() >= opts_.max_sessions) {
        evicted_unwritten_.erase(evicted_unwritten_.begin());
        lost_.inc();
      }
      evicted_unwritten_.push_back(
          {oldest->second.agent_session_id, oldest->second.collector->snapshot()});
    }
    sessions_.erase(oldest);
    evicted_.inc();
  }

  std::string phase_of(const usage_event& e) const {
    if (e.payload.find("\"phase\"") == std::string::npos) return opts_.default_phase;
    boost::system::error_code ec;
    const auto v = boost::json::parse(e.payload, ec);
    const auto* o = ec ? nullptr : v.if_object();
    const auto* p = o ? o->if_contains("phase") : nullptr;
    if (!p || !p->is_string() || p->get_string().empty() || p->get_string().size() > 64 ||
        !is_clean_text(p->get_string()))
      return opts_.default_phase;
    return std::string(p->get_string());
  }

  bool write(const session_entry& e) {
    if (opts_.dir.empty()) return true;
    const auto& name = e.metrics.session_id;  // session_file_name's: safe
    const auto session_dir = opts_.dir / name;
    std::error_code ec;
    std::filesystem::create_directories(session_dir, ec);
    auto o = to_json(e.metrics);
    if (e.agent_session_id != name) o["agent_session_id"] = e.agent_session_id;
    const bool ok =
        !ec && vitals::detail::atomic_write_file(session_dir / session_metrics_file,
                                                 boost::json::serialize(o), opts_.durable);
    writes_.with(ok ? "ok" : "failed").inc();
    return ok;
  }

  // `name` is a directory name this book made (or a safe id).
  std::optional<session_entry> read_file(const std::string& name) const {
    if (opts_.dir.empty() || !is_safe_id(name)) return std::nullopt;
    const auto path = opts_.dir / name / session_metrics_file;
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec || size > max_file_bytes) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), {}};
    boost::system::error_code jec;
    const auto v = boost::json::parse(text, jec);
    if (jec) return std::nullopt;
    auto s = parse_session_snapshot(v);
    if (!s || s->session_id != name) return std::nullopt;
    session_entry out{name, std::move(*s)};
    if (const auto* raw = v.get_object().if_contains("agent_session_id");
        raw && raw->is_string() && session_file_name(raw->get_string()) == name)
      out.agent_session_id = std::string(raw->get_string());
    return out;
  }

  // Every `<dir>/<safe name>/METRICS.json` that is a regular file, at most
  // max_scan directory entries looked at.
  template <class F>
  void for_each_file(F&& f) const {
    std::error_code ec;
    std::filesystem::directory_iterator it(opts_.dir, ec), end;
    for (std::size_t seen = 0; !ec && it != end && seen < max_scan; it.increment(ec), ++seen) {
      const auto name = it->path().filename().string();
      if (!is_safe_id(name) || !it->is_directory(ec) || it->is_symlink(ec)) continue;
      const auto file = it->path() / session_metrics_file;
      if (std::filesystem::is_regular_file(std::filesystem::symlink_status(file, ec)))
        f(name, file);
    }
  }

  static constexpr std::uintmax_t max_file_bytes = 4u << 20;
  static constexpr std::size_t max_scan = 100'000;

  session_book_options opts_;
  family<vitals::counter>& writes_;
  vitals::counter& evicted_;
  vitals::counter& unreadable_;
  vitals::counter& lost_;
  std::mutex flush_mu_;
  mutable std::mutex mu_;
  std::map<std::string, slot> sessions_;
  std::vector<session_entry> evicted_unwritten_;  // oldest first
  std::uint64_t clock_ = 0;
};

}  // namespace vitals::agent
