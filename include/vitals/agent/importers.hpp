// Importers for the logs coding agents already write (issue 7.6): Claude Code
// transcripts (~/.claude/projects/**/*.jsonl) and Codex CLI rollouts
// (~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl) become usage events. A
// `jsonl_importer` follows a directory of them: `poll()` reads what was
// appended since the committed watermarks, `commit()` moves the watermarks
// to what that poll read and saves them, so a crash between the two imports
// the batch again and the ledger's dedup drops the repeats. Paths come only
// from directory iteration, never from what the files say.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "vitals/agent/detail/importers.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/core/error.hpp"

namespace vitals::agent {

/// One line of a Claude Code transcript. An assistant line with
/// `message.usage` gives a `message_usage` event: source_system
/// "claude-code", channel "jsonl", provider "anthropic", agent_name
/// "claude-code" (always: the project directory is in `workspace_id`, the
/// cwd), session_id = sessionId, message_id = message.id, turn_id =
/// requestId, model_raw = message.model, cache_creation_input_tokens ->
/// cache_write_tokens, cache_read_input_tokens -> cache_read_tokens,
/// occurred_at = timestamp. Other lines (user prompts, tool results,
/// summaries) and `<synthetic>` replies give nullopt; a line that is not a
/// JSON object, or a usage line with a wrong field, gives an error.
/// Claude Code writes one line per content block of a message, all with its
/// message.id; the output count can grow until the last (`jsonl_importer`
/// merges them, keeping the largest counts).
inline result<std::optional<usage_event>> from_claude_line(std::string_view line) {
  auto l = detail::parse_claude_line(line);
  if (!l) return l.error();
  return std::move(l->event);
}

/// Reads one Codex rollout file line by line: session_meta and turn_context
/// lines set the session, cwd, provider and model that the following
/// `event_msg`/`token_count` lines are charged to. Each token_count whose
/// cumulative `total_token_usage` moved gives one event from its
/// `last_token_usage`; Codex re-emits unchanged counts (rate-limit refreshes),
/// and those give nullopt. OpenAI counts cached tokens inside input_tokens and
/// vitals does not, so input_tokens = input - cached, cache_read_tokens =
/// cached; reasoning is part of output_tokens and also reported alone.
///
/// A fork or subagent (session_meta `forked_from_id`) begins with a replay of
/// its parent's history, and its events are charged to the parent's session:
/// message_id is the cumulative count ("cum:in:cached:out:reasoning:total"),
/// so a replayed event has the parent's dedup key and the ledger drops it.
class codex_file_parser {
 public:
  /// `fallback_session` stands for the session until a session_meta line
  /// names it (the importer passes the UUID that ends the file name).
  explicit codex_file_parser(std::string fallback_session = {})
      : own_(std::move(fallback_session)) {}

  /// The parser as `save()` left it.
  static codex_file_parser restore(const boost::json::object& saved,
                                   std::string fallback_session = {}) {
    codex_file_parser p(std::move(fallback_session));
    auto str = [&](std::string_view k, std::string& out) {
      if (auto s = detail::text(saved.if_contains(k)); !s.empty()) out = std::string(s);
    };
    str("own", p.own_);
    str("root", p.root_);
    str("cwd", p.cwd_);
    str("model", p.model_);
    str("provider", p.provider_);
    str("turn", p.turn_);
    p.last_total_ = detail::codex_usage_from(saved.if_contains("total"));
    return p;
  }

  /// The state to resume from after a restart (the importer keeps it with
  /// the file's watermark).
  boost::json::object save() const {
    boost::json::object o{{"own", own_},     {"root", root_},         {"cwd", cwd_},
                          {"model", model_}, {"provider", provider_}, {"turn", turn_}};
    if (const auto& t = last_total_) o["total"] = detail::to_array(*t);
    return o;
  }

  /// The event on this line, nullopt for a line without new usage, or an
  /// error for a line that is not a JSON object or has a wrong field.
  result<std::optional<usage_event>> feed(std::string_view line) {
    using detail::field;
    using detail::text;
    auto parsed = detail::parse_line(line);
    if (!parsed) return parsed.error();
    const boost::json::value* v = &*parsed;
    const auto type = text(field(v, "type"));
    const auto* payload = field(v, "payload");
    if (type == "session_meta") {
      const auto id = text(field(payload, "id"));
      auto parent = text(field(payload, "forked_from_id"));
      if (parent.empty())
        parent = text(field(field(field(field(payload, "source"), "subagent"), "thread_spawn"),
                            "parent_thread_id"));
      if (root_.empty()) {  // the file's own session comes first
        if (!id.empty()) own_ = detail::bounded(id);
        root_ = parent.empty() ? own_ : detail::bounded(parent);
        cwd_ = detail::bounded(text(field(payload, "cwd")));
        provider_ = detail::bounded(text(field(payload, "model_provider")));
      } else if (!id.empty() && id == root_ && !parent.empty()) {
        root_ = detail::bounded(parent);  // a replayed ancestor: the history is further up
      }
      return std::optional<usage_event>();
    }
    if (type == "turn_context") {
      if (auto m = text(field(payload, "model")); !m.empty()) model_ = detail::bounded(m);
      if (auto c = text(field(payload, "cwd")); !c.empty()) cwd_ = detail::bounded(c);
      turn_ = detail::bounded(text(field(payload, "turn_id")));
      return std::optional<usage_event>();
    }
    const auto* info = field(payload, "info");
    if (type != "event_msg" || text(field(payload, "type")) != "token_count" || !info ||
        !info->is_object())  // info is null in a rate-limit-only update
      return std::optional<usage_event>();
    auto total = detail::read_codex_usage(field(info, "total_token_usage"), "total_token_usage");
    if (!total) return total.error();
    auto last = detail::read_codex_usage(field(info, "last_token_usage"), "last_token_usage");
    if (!last) return last.error();
    const auto stamp = text(field(v, "timestamp"));
    const auto t = parse_rfc3339(stamp);
    if (!t) return error(errc::parse_error, "timestamp: expected an RFC 3339 time");
    std::optional<detail::codex_usage> use = *last;
    if (*total) {
      if (last_total_ && **total == *last_total_) return std::optional<usage_event>();
      if (!use) use = last_total_ ? detail::minus(**total, *last_total_) : **total;
      last_total_ = **total;
    }
    if (!use || (use->input == 0 && use->output == 0 && use->cached == 0))
      return std::optional<usage_event>();
    usage_event e;
    e.occurred_at = *t;
    e.source_system = "codex";
    e.source_channel = "jsonl";
    e.provider_id = provider_.empty() ? "openai" : provider_;
    e.agent_name = "codex";
    e.session_id = root_.empty() ? own_ : root_;
    e.workspace_id = cwd_;
    e.turn_id = turn_;
    e.model_raw = model_.empty() ? detail::bounded(text(field(info, "model"))) : model_;
    e.message_id = *total ? detail::cumulative_id(**total) : "at:" + detail::bounded(stamp);
    const auto cached = std::min(use->cached, use->input);
    e.input_tokens = use->input - cached;
    e.cache_read_tokens = cached;
    e.output_tokens = use->output;
    e.reasoning_tokens = use->reasoning;
    e.total_tokens = use->total;
    return std::optional<usage_event>(std::move(e));
  }

  /// The session events are charged to: the root of a fork, else this file's.
  const std::string& session_id() const noexcept { return root_.empty() ? own_ : root_; }
  const std::string& model() const noexcept { return model_; }

 private:
  std::string own_, root_, cwd_, model_, provider_, turn_;
  std::optional<detail::codex_usage> last_total_;
};

/// The events as NDJSON, the body `ledger::ingest` and POST /api/v1/events take.
inline std::string to_ndjson(std::span<const usage_event> events) {
  std::string out;
  for (const auto& e : events) {
    out += boost::json::serialize(to_json(e));
    out += '\n';
  }
  return out;
}

enum class log_kind { claude, codex };

struct importer_options {
  /// Claude Code: a message none of whose lines has a stop_reason yet is
  /// held until a later line follows it or its file has been quiet this long.
  std::chrono::seconds settle{30};
  std::uint64_t max_bytes_per_poll = 64ull << 20;  // all files together; the rest waits
  std::size_t max_line = 64u << 20;  // longer lines are skipped and counted as malformed
  std::size_t max_seen = 200'000;    // message ids remembered, to skip lines read again
};

struct import_stats {
  std::uint64_t files = 0;      // *.jsonl files found by the last poll
  std::uint64_t lines = 0;      // complete lines read (a poll not committed reads them again)
  std::uint64_t events = 0;     // usage events returned
  std::uint64_t malformed = 0;  // lines skipped: not JSON, a wrong field, too long
  std::uint64_t resets = 0;     // files read again from the start: shrunk or replaced
};

/// Follows every *.jsonl file under `root`. Not thread-safe: one thread
/// calls poll() and commit(). The contract with the caller:
///   auto events = importer.poll();           // from the committed watermarks
///   auto r = ledger.ingest_events(std::move(*events));
///   if (no line of r was refused with "not stored") importer.commit();
/// A poll that is not committed is read again by the next poll. A file that
/// shrank or whose inode changed is read again from the start. Unchanged
/// files are only stat()ed. The watermark file is JSON:
/// {"<path>": {"offset", "size", "inode", "mtime_ns", "held"?, "state"?}}.
class jsonl_importer {
 public:
  /// Loads the watermarks; an unreadable file is reported in last_error()
  /// and everything is imported again (the ledger drops what it has). An
  /// empty `watermark_file` keeps the watermarks in memory only (a run that
  /// must leave nothing behind, such as agent_monitor --memory-only).
  jsonl_importer(std::filesystem::path root, log_kind kind, std::filesystem::path watermark_file,
                 importer_options options = {})
      : root_(std::move(root)),
        kind_(kind),
        watermark_file_(std::move(watermark_file)),
        options_(options) {
    if (watermark_file_.empty()) return;  // watermarks kept in memory only
    auto marks = detail::load_marks(watermark_file_);
    if (marks)
      committed_ = std::move(*marks);
    else
      last_error_ = marks.error().message;
  }

  /// The usage events appended since the committed watermarks, oldest file
  /// (by path) first. An error only when `root` cannot be read.
  result<std::vector<usage_event>> poll() {
    staged_.reset();
    staged_seen_.clear();
    std::error_code ec;
    if (!std::filesystem::is_directory(root_, ec))
      return error(errc::not_found, "import: " + root_.string() + " is not a directory");
    std::vector<std::filesystem::path> paths;
    std::filesystem::recursive_directory_iterator it(
        root_, std::filesystem::directory_options::skip_permission_denied, ec);
    if (ec)
      return error(errc::io_error, "import: cannot read " + root_.string() + ": " + ec.message());
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) break;
      std::error_code fec;
      if (it->path().extension() == ".jsonl" && it->is_regular_file(fec))
        paths.push_back(it->path());
    }
    if (ec) last_error_ = "import: walking " + root_.string() + ": " + ec.message();
    std::sort(paths.begin(), paths.end());  // Codex: a parent's date directory before its forks'
    stats_.files = paths.size();
    std::vector<usage_event> out;
    detail::mark_map next;
    std::uint64_t budget = options_.max_bytes_per_poll;
    backlog_ = false;
    const auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    for (const auto& path : paths) {
      const auto st = detail::stat_file(path);
      if (!st) continue;
      const auto key = path.string();
      const auto known = committed_.find(key);
      detail::file_mark m = known == committed_.end() ? detail::file_mark{} : known->second;
      if (known != committed_.end() && (st->inode != m.inode || st->size < m.offset)) {
        m = {};
        ++stats_.resets;
      }
      const bool quiet = now_ns - st->mtime_ns >= std::chrono::nanoseconds(options_.settle).count();
      const bool unchanged =
          st->size == m.size && st->mtime_ns == m.mtime_ns && st->inode == m.inode;
      if ((unchanged && (!m.held || !quiet)) || budget == 0) {
        backlog_ = backlog_ || !unchanged;
        next[key] = std::move(m);
        continue;
      }
      const auto from = m.offset;
      const auto r = kind_ == log_kind::claude ? read_claude(path, m, budget, quiet, out)
                                               : read_codex(path, m, budget, out);
      if (r.failed) {
        last_error_ = "import: cannot read " + key;
        next[key] = known == committed_.end() ? detail::file_mark{} : known->second;
        continue;
      }
      budget -= std::min(budget, r.end - from);
      stats_.malformed += r.oversized;
      m.inode = st->inode;
      m.mtime_ns = st->mtime_ns;
      m.size = r.at_eof ? st->size : 0;  // stopped at the budget: read on next time
      backlog_ = backlog_ || !r.at_eof;
      next[key] = std::move(m);
    }
    staged_ = std::move(next);
    stats_.events += out.size();
    return out;
  }

  /// Makes what the last poll read the committed watermarks and saves them
  /// (only when they moved). Files no longer found are forgotten.
  status commit() {
    if (!staged_) return {};
    for (auto& id : staged_seen_) remember(std::move(id));
    staged_seen_.clear();
    const bool moved = *staged_ != committed_;
    committed_ = std::move(*staged_);
    staged_.reset();
    if ((!moved && !unsaved_) || watermark_file_.empty()) return {};
    auto st = detail::save_marks(watermark_file_, committed_);
    unsaved_ = !st;
    if (!st) last_error_ = st.error().message;
    return st;
  }

  const import_stats& stats() const noexcept { return stats_; }
  /// The last problem met: a malformed line (file:offset: why), an unreadable file.
  const std::string& last_error() const noexcept { return last_error_; }
  /// The last poll stopped at max_bytes_per_poll: poll again soon.
  bool backlog() const noexcept { return backlog_; }
  const std::filesystem::path& root() const noexcept { return root_; }

 private:
  detail::read_result read_claude(const std::filesystem::path& path, detail::file_mark& m,
                                  std::uint64_t budget, bool quiet, std::vector<usage_event>& out) {
    detail::claude_messages messages;
    auto r = detail::read_lines(
        path, m.offset, budget, options_.max_line, [&](std::string_view line, std::uint64_t at) {
          ++stats_.lines;
          if (line.find_first_not_of(" \t") == std::string_view::npos) return;
          auto l = detail::parse_claude_line(line);
          if (!l) return malformed(path, at, l.error().message);
          auto id = l->event && !l->event->message_id.empty() ? seen_key(*l->event) : std::string();
          if (!id.empty() && (seen_.contains(id) || staged_seen_.contains(id))) l->event.reset();
          messages.add(std::move(*l), std::move(id), at);
        });
    if (r.failed) return r;
    m.offset = messages.finish(r.end, r.at_eof && quiet, [&](std::string id, usage_event e) {
      if (!id.empty()) staged_seen_.insert(std::move(id));
      out.push_back(std::move(e));
    });
    m.held = m.offset < r.end;
    return r;
  }

  detail::read_result read_codex(const std::filesystem::path& path, detail::file_mark& m,
                                 std::uint64_t budget, std::vector<usage_event>& out) {
    // rollout-2025-09-11T18-25-30-<uuid>.jsonl: the UUID, until session_meta says
    auto stem = path.stem().string();
    if (stem.size() > 36) stem = stem.substr(stem.size() - 36);
    auto parser =
        m.state.empty() ? codex_file_parser(stem) : codex_file_parser::restore(m.state, stem);
    auto r = detail::read_lines(
        path, m.offset, budget, options_.max_line, [&](std::string_view line, std::uint64_t at) {
          ++stats_.lines;
          if (line.find_first_not_of(" \t") == std::string_view::npos) return;
          auto e = parser.feed(line);
          if (!e) return malformed(path, at, e.error().message);
          if (!*e) return;
          auto id = seen_key(**e);
          if (seen_.contains(id) || !staged_seen_.insert(std::move(id)).second) return;
          out.push_back(std::move(**e));
        });
    if (r.failed) return r;
    m.offset = r.end;
    m.state = parser.save();
    m.held = false;
    return r;
  }

  static std::string seen_key(const usage_event& e) {
    return e.source_system + '\x1f' + (e.source_system == "codex" ? e.session_id : e.turn_id) +
           '\x1f' + e.message_id;  // Claude: message.id + requestId, as resumed sessions copy them
  }

  void remember(std::string id) {
    if (!seen_.insert(id).second) return;
    seen_order_.push_back(std::move(id));
    while (seen_order_.size() > options_.max_seen) {
      seen_.erase(seen_order_.front());
      seen_order_.pop_front();
    }
  }

  void malformed(const std::filesystem::path& path, std::uint64_t at, const std::string& why) {
    ++stats_.malformed;
    last_error_ = path.string() + ":" + std::to_string(at) + ": " + why;
  }

  std::filesystem::path root_;
  log_kind kind_;
  std::filesystem::path watermark_file_;
  importer_options options_;
  detail::mark_map committed_;
  std::optional<detail::mark_map> staged_;
  std::unordered_set<std::string> seen_, staged_seen_;
  std::deque<std::string> seen_order_;
  import_stats stats_;
  std::string last_error_;
  bool backlog_ = false, unsaved_ = false;
};

}  // namespace vitals::agent
