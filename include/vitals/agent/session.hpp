// Per-session metrics (the 002 seed): tool calls, LLM interactions per phase
// and workflow phases of one agent session, gathered by a thread-safe
// collector, copied out as a plain snapshot and kept in
// `<dir>/<session_id>/METRICS.json`, written atomically (temp file, fsync,
// rename, directory fsync). A disabled collector does nothing. Session ids
// are checked before any path is built from them.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "vitals/core/detail/file.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/ids.hpp"
#include "vitals/core/time.hpp"

namespace vitals::agent {

struct tool_metric {
  std::string name{};
  std::int64_t call_count = 0;
  std::int64_t success_count = 0;
  std::int64_t fail_count = 0;
  std::int64_t total_duration_ms = 0;

  /// Computed, never stored: 0 before the first call.
  double avg_duration_ms() const noexcept {
    return call_count == 0 ? 0.0 : static_cast<double>(total_duration_ms) / call_count;
  }
  friend bool operator==(const tool_metric&, const tool_metric&) = default;
};

/// LLM usage summed over the interactions of one phase.
struct llm_metric {
  std::string phase{};
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;  // prompt + completion
  double cost = 0;                // USD
  std::int64_t interaction_count = 0;
  friend bool operator==(const llm_metric&, const llm_metric&) = default;
};

struct phase_metric {
  std::string phase{};
  std::int64_t duration_ms = 0;  // the last reported duration, not a sum
  std::int64_t transition_count = 0;
  std::int64_t heal_trigger_count = 0;
  std::int64_t bisect_trigger_count = 0;
  bool success = false;  // of the last reported duration
  // How the triggered heals and bisects ended (the 002 seed counts only the
  // triggers; these are written after its fields, and absent reads as 0).
  std::int64_t heal_success_count = 0;
  std::int64_t heal_fail_count = 0;
  std::int64_t bisect_success_count = 0;
  std::int64_t bisect_fail_count = 0;
  friend bool operator==(const phase_metric&, const phase_metric&) = default;
};

/// A deep copy: it shares nothing with the collector it came from. Each list
/// is sorted by name (tools) or phase (llms, phases), each key once.
struct session_snapshot {
  std::string session_id{};
  timestamp started_at{};
  timestamp updated_at{};  // the last recorded event, or started_at
  std::vector<tool_metric> tools{};
  std::vector<llm_metric> llms{};
  std::vector<phase_metric> phases{};

  const tool_metric* find_tool(std::string_view name) const { return find(tools, name); }
  const llm_metric* find_llm(std::string_view phase) const { return find(llms, phase); }
  const phase_metric* find_phase(std::string_view phase) const { return find(phases, phase); }
  friend bool operator==(const session_snapshot&, const session_snapshot&) = default;

 private:
  template <class M>
  static const M* find(const std::vector<M>& v, std::string_view key) {
    for (const auto& m : v)
      if (key_of(m) == key) return &m;
    return nullptr;
  }
  static std::string_view key_of(const tool_metric& m) { return m.name; }
  static std::string_view key_of(const llm_metric& m) { return m.phase; }
  static std::string_view key_of(const phase_metric& m) { return m.phase; }
};

/// A session id: 1 to 128 of [A-Za-z0-9._-], never "." or "..": it names a
/// directory, so nothing in it may climb out of the sessions directory.
inline status check_session_id(std::string_view id) {
  if (!is_safe_id(id))
    return error(
        errc::invalid_argument,
        "session_id: expected 1 to 128 characters from [A-Za-z0-9._-], not . or .., got '" +
            std::string(id.substr(0, 129)) + "'");
  return {};
}

inline constexpr std::string_view session_metrics_file = "METRICS.json";

/// Collects the metrics of one session; every method may be called from any
/// thread. Each record call first asks, with one relaxed load, whether the
/// collector is enabled and returns at once when it is not. Negative
/// durations and token counts count as 0, as does a cost that is negative or
/// not finite.
class session_collector {
 public:
  explicit session_collector(std::string session_id, bool enabled = true,
                             timestamp started_at = vitals::now())
      : session_id_(std::move(session_id)),
        started_at_(started_at),
        updated_at_(started_at),
        enabled_(enabled) {}

  /// Goes on from `s` (a loaded METRICS.json): its id, times and counts.
  explicit session_collector(const session_snapshot& s, bool enabled = true)
      : session_collector(s.session_id, enabled, s.started_at) {
    updated_at_ = std::max(s.started_at, s.updated_at);
    for (const auto& m : s.tools) entry(tools_, m.name, &tool_metric::name) = m;
    for (const auto& m : s.llms) entry(llms_, m.phase, &llm_metric::phase) = m;
    for (const auto& m : s.phases) entry(phases_, m.phase, &phase_metric::phase) = m;
  }

  const std::string& session_id() const noexcept { return session_id_; }
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }
  /// Recording already under way when this is called may still land.
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }

  /// A completed tool execution.
  void record_tool_call(std::string_view tool, std::chrono::milliseconds duration, bool success) {
    if (!enabled()) return;
    const auto t = vitals::now();
    std::lock_guard lock(mu_);
    auto& m = entry(tools_, tool, &tool_metric::name);
    ++m.call_count;
    ++(success ? m.success_count : m.fail_count);
    m.total_duration_ms += non_negative(duration.count());
    updated_at_ = std::max(updated_at_, t);  // now() may be read out of order
  }

  /// One LLM call in `phase`: its token usage and cost in USD. A later,
  /// fuller report of a call already counted adds its tokens and cost with
  /// `interactions` 0.
  void record_llm_interaction(std::string_view phase, std::int64_t prompt_tokens,
                              std::int64_t completion_tokens, double cost_usd,
                              std::int64_t interactions = 1) {
    if (!enabled()) return;
    const auto t = vitals::now();
    prompt_tokens = non_negative(prompt_tokens);
    completion_tokens = non_negative(completion_tokens);
    std::lock_guard lock(mu_);
    auto& m = entry(llms_, phase, &llm_metric::phase);
    m.prompt_tokens += prompt_tokens;
    m.completion_tokens += completion_tokens;
    m.total_tokens += prompt_tokens + completion_tokens;
    if (std::isfinite(cost_usd) && cost_usd > 0) m.cost += cost_usd;
    m.interaction_count += non_negative(interactions);
    updated_at_ = std::max(updated_at_, t);  // now() may be read out of order
  }

  /// The final duration of a completed phase; it replaces any earlier report
  /// for the phase, and so does `success`.
  void record_phase_duration(std::string_view phase, std::chrono::milliseconds duration,
                             bool success) {
    update_phase(phase, [&](phase_metric& m) {
      m.duration_ms = non_negative(duration.count());
      m.success = success;
    });
  }

  /// An entry into `phase`.
  void record_phase_transition(std::string_view phase) {
    update_phase(phase, [](phase_metric& m) { ++m.transition_count; });
  }

  /// A self-heal triggered in `phase`.
  void record_heal_trigger(std::string_view phase) {
    update_phase(phase, [](phase_metric& m) { ++m.heal_trigger_count; });
  }

  /// A bisect triggered in `phase`.
  void record_bisect_trigger(std::string_view phase) {
    update_phase(phase, [](phase_metric& m) { ++m.bisect_trigger_count; });
  }

  /// How a self-heal in `phase` ended.
  void record_heal_result(std::string_view phase, bool succeeded) {
    update_phase(
        phase, [&](phase_metric& m) { ++(succeeded ? m.heal_success_count : m.heal_fail_count); });
  }

  /// How a bisect in `phase` ended.
  void record_bisect_result(std::string_view phase, bool succeeded) {
    update_phase(phase, [&](phase_metric& m) {
      ++(succeeded ? m.bisect_success_count : m.bisect_fail_count);
    });
  }

  /// A deep copy of everything recorded so far (enabled or not).
  session_snapshot snapshot() const {
    session_snapshot s;
    s.session_id = session_id_;
    s.started_at = started_at_;
    std::lock_guard lock(mu_);
    s.updated_at = updated_at_;
    for (const auto& [k, m] : tools_) s.tools.push_back(m);
    for (const auto& [k, m] : llms_) s.llms.push_back(m);
    for (const auto& [k, m] : phases_) s.phases.push_back(m);
    return s;
  }

  /// Saves a snapshot under `dir` (see save_session); does nothing when
  /// disabled.
  status flush(const std::filesystem::path& dir) const;

 private:
  static std::int64_t non_negative(std::int64_t v) noexcept { return v < 0 ? 0 : v; }

  template <class M>
  static M& entry(std::map<std::string, M, std::less<>>& map, std::string_view key,
                  std::string M::*name) {
    auto it = map.find(key);
    if (it == map.end()) {
      it = map.emplace(std::string(key), M{}).first;
      it->second.*name = it->first;
    }
    return it->second;
  }

  template <class F>
  void update_phase(std::string_view phase, F&& f) {
    if (!enabled()) return;
    const auto t = vitals::now();
    std::lock_guard lock(mu_);
    f(entry(phases_, phase, &phase_metric::phase));
    updated_at_ = std::max(updated_at_, t);  // now() may be read out of order
  }

  const std::string session_id_;
  const timestamp started_at_;
  mutable std::mutex mu_;
  timestamp updated_at_;
  std::map<std::string, tool_metric, std::less<>> tools_;
  std::map<std::string, llm_metric, std::less<>> llms_;
  std::map<std::string, phase_metric, std::less<>> phases_;
  std::atomic<bool> enabled_;
};

namespace detail {

inline error session_field_error(const std::string& field, std::string_view what) {
  return error(errc::parse_error, field + ": " + std::string(what));
}

// A metric's fields by their JSON names, in the seed's order.
template <class M, class F>
void for_each_session_field(M& m, F&& f) {
  using T = std::remove_const_t<M>;
  if constexpr (std::is_same_v<T, tool_metric>) {
    f("name", m.name), f("call_count", m.call_count), f("success_count", m.success_count);
    f("fail_count", m.fail_count), f("total_duration_ms", m.total_duration_ms);
  } else if constexpr (std::is_same_v<T, llm_metric>) {
    f("phase", m.phase), f("prompt_tokens", m.prompt_tokens);
    f("completion_tokens", m.completion_tokens), f("total_tokens", m.total_tokens);
    f("cost", m.cost), f("interaction_count", m.interaction_count);
  } else {
    static_assert(std::is_same_v<T, phase_metric>);
    f("phase", m.phase), f("duration_ms", m.duration_ms), f("transition_count", m.transition_count);
    f("heal_trigger_count", m.heal_trigger_count);
    f("bisect_trigger_count", m.bisect_trigger_count), f("success", m.success);
    f("heal_success_count", m.heal_success_count), f("heal_fail_count", m.heal_fail_count);
    f("bisect_success_count", m.bisect_success_count);
    f("bisect_fail_count", m.bisect_fail_count);
  }
}

template <class M>
boost::json::array session_list_json(const std::vector<M>& list) {
  boost::json::array a;
  for (const auto& m : list) {
    boost::json::object o;
    for_each_session_field(m, [&](std::string_view key, const auto& v) { o[key] = v; });
    if constexpr (std::is_same_v<M, tool_metric>) o["avg_duration_ms"] = m.avg_duration_ms();
    a.push_back(std::move(o));
  }
  return a;
}

// Absent or null fields keep their defaults, as Go's encoding/json does (it
// writes an empty list as null); unknown fields, avg_duration_ms among them,
// are ignored.
template <class M>
status read_session_fields(const boost::json::object& o, const std::string& where, M& m) {
  status st;
  for_each_session_field(m, [&](std::string_view key, auto& out) {
    const auto* v = o.if_contains(key);
    if (!st || !v || v->is_null()) return;
    using T = std::remove_cvref_t<decltype(out)>;
    const char* expected = nullptr;
    if constexpr (std::is_same_v<T, std::string>) {
      expected = v->is_string() ? nullptr : "expected a string";
      if (!expected) out = std::string(v->get_string());
    } else if constexpr (std::is_same_v<T, bool>) {
      expected = v->is_bool() ? nullptr : "expected true or false";
      if (!expected) out = v->get_bool();
    } else {
      boost::system::error_code ec;
      const T n = v->is_number() ? v->template to_number<T>(ec) : T(-1);
      expected =
          !ec && n >= 0 && std::isfinite(double(n)) ? nullptr : "expected a non-negative number";
      if (!expected) out = n;
    }
    if (expected) st = session_field_error(where + "." + std::string(key), expected);
  });
  return st;
}

template <class M>
status read_session_list(const boost::json::object& o, std::string_view key, std::vector<M>& out) {
  const auto* v = o.if_contains(key);
  if (!v || v->is_null()) return {};
  if (!v->is_array()) return session_field_error(std::string(key), "expected an array");
  for (const auto& item : v->get_array()) {
    const std::string where = std::string(key) + "[" + std::to_string(out.size()) + "]";
    if (!item.is_object()) return session_field_error(where, "expected an object");
    M m;
    if (auto st = read_session_fields(item.get_object(), where, m); !st) return st;
    out.push_back(std::move(m));
  }
  return {};
}

}  // namespace detail

/// The seed's JSON; `avg_duration_ms` is written for readers and ignored when
/// read back.
inline boost::json::object to_json(const session_snapshot& s) {
  return {{"session_id", s.session_id},
          {"started_at", to_rfc3339(s.started_at)},
          {"updated_at", to_rfc3339(s.updated_at)},
          {"tools", detail::session_list_json(s.tools)},
          {"llms", detail::session_list_json(s.llms)},
          {"phases", detail::session_list_json(s.phases)}};
}

/// The inverse of to_json. Errors (`errc::parse_error`) name the field, such
/// as `tools[2].call_count`; unknown fields are ignored.
inline result<session_snapshot> parse_session_snapshot(const boost::json::value& v) {
  const auto* o = v.if_object();
  if (!o) return error(errc::parse_error, "expected a JSON object");
  session_snapshot s;
  const auto* id = o->if_contains("session_id");
  if (!id || !id->is_string())
    return detail::session_field_error("session_id", "expected a string");
  s.session_id = std::string(id->get_string());
  if (auto st = check_session_id(s.session_id); !st)
    return error(errc::parse_error, st.error().message);
  for (auto [key, member] : {std::pair{"started_at", &session_snapshot::started_at},
                             std::pair{"updated_at", &session_snapshot::updated_at}}) {
    const auto* t = o->if_contains(key);
    if (!t || t->is_null()) continue;
    const auto parsed = t->is_string() ? parse_rfc3339(t->get_string()) : std::nullopt;
    if (!parsed) return detail::session_field_error(key, "expected an RFC 3339 time");
    s.*member = *parsed;
  }
  if (auto st = detail::read_session_list(*o, "tools", s.tools); !st) return st.error();
  if (auto st = detail::read_session_list(*o, "llms", s.llms); !st) return st.error();
  if (auto st = detail::read_session_list(*o, "phases", s.phases); !st) return st.error();
  return s;
}

/// Writes `<dir>/<s.session_id>/METRICS.json`, creating the directories. The
/// id is checked first; the file is replaced whole or not at all, and
/// concurrent saves each use their own temporary file.
inline status save_session(const std::filesystem::path& dir, const session_snapshot& s) {
  if (auto st = check_session_id(s.session_id); !st) return st;
  const auto session_dir = dir / s.session_id;
  std::error_code ec;
  std::filesystem::create_directories(session_dir, ec);
  if (ec)
    return error(errc::io_error, "cannot create " + session_dir.string() + ": " + ec.message());
  const auto path = session_dir / session_metrics_file;
  const std::string text = boost::json::serialize(to_json(s));
  return vitals::detail::atomic_write_file(path, text);
}

inline status session_collector::flush(const std::filesystem::path& dir) const {
  if (!enabled()) return {};
  return save_session(dir, snapshot());
}

/// Reads `<dir>/<session_id>/METRICS.json`. The id is checked first; a
/// missing file (or directory) is nullopt, not an error. A file that does not
/// parse, or that belongs to another session, is `errc::parse_error` naming
/// the file and the field.
inline result<std::optional<session_snapshot>> load_session(const std::filesystem::path& dir,
                                                            std::string_view session_id) {
  if (auto st = check_session_id(session_id); !st) return st.error();
  const auto path = dir / std::string(session_id) / session_metrics_file;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec) && !ec) return std::optional<session_snapshot>{};
    return error(errc::io_error, "cannot open " + path.string());
  }
  const std::string text{std::istreambuf_iterator<char>(in), {}};
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec) return error(errc::parse_error, path.string() + ": " + ec.message());
  auto s = parse_session_snapshot(v);
  if (!s) return error(errc::parse_error, path.string() + ": " + s.error().message);
  if (s->session_id != session_id)
    return error(errc::parse_error, path.string() + ": session_id '" + s->session_id +
                                        "' does not match the directory");
  return std::optional<session_snapshot>{std::move(*s)};
}

}  // namespace vitals::agent
