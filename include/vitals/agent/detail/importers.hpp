// The parts of importers.hpp that callers do not name: field access that
// tolerates the loose shapes of agent logs, the Claude Code line reader, the
// chunked line reader that stops before a partial last line, and the
// watermark file, written to a temporary file, fsynced and renamed in place.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "vitals/agent/usage_event.hpp"
#include "vitals/core/detail/file.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"

namespace vitals::agent::detail {

/// `v[key]`, or null when absent or `v` is not an object.
inline const boost::json::value* field(const boost::json::value* v, std::string_view key) {
  const auto* o = v ? v->if_object() : nullptr;
  return o ? o->if_contains(key) : nullptr;
}

/// The string, or "" when absent or not a string.
inline std::string_view text(const boost::json::value* v) {
  const auto* s = v ? v->if_string() : nullptr;
  return s ? std::string_view(*s) : std::string_view();
}

/// At most 512 bytes, cut on a UTF-8 boundary: longer text fails the event's validation.
inline std::string bounded(std::string_view s) {
  if (s.size() <= 512) return std::string(s);
  std::size_t n = 512;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

/// Absent or null: unknown. Anything but a non-negative integer is an error.
inline result<std::optional<std::int64_t>> token_count(const boost::json::value* v,
                                                       std::string_view name) {
  if (!v || v->is_null()) return std::optional<std::int64_t>();
  // At most max_tokens, so that the parts of an event add up without overflow.
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= max_tokens)
    return std::optional<std::int64_t>(v->get_int64());
  if (v->is_double() && v->get_double() >= 0 && v->get_double() <= double(max_tokens) &&
      v->get_double() == std::trunc(v->get_double()))
    return std::optional<std::int64_t>(static_cast<std::int64_t>(v->get_double()));
  return error(errc::parse_error,
               std::string(name) + ": expected a non-negative integer of at most 10^12");
}

inline result<boost::json::value> parse_line(std::string_view line) {
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  if (ec) return error(errc::parse_error, "invalid JSON: " + ec.message());
  if (!v.is_object()) return error(errc::parse_error, "expected a JSON object");
  return v;
}

struct claude_line {
  std::optional<usage_event> event;
  bool stopped = false;    // message.stop_reason is set: this line's usage is final
  bool sidechain = false;  // isSidechain: a subagent's line, interleaved with the main thread's
};

inline result<claude_line> parse_claude_line(std::string_view line) {
  auto parsed = parse_line(line);
  if (!parsed) return parsed.error();
  const boost::json::value* v = &*parsed;
  claude_line out;
  if (const auto* s = field(v, "isSidechain"); s && s->is_bool()) out.sidechain = s->get_bool();
  const auto* msg = field(v, "message");
  const auto* usage = field(msg, "usage");
  const auto model = text(field(msg, "model"));
  if (text(field(v, "type")) != "assistant" || !usage || !usage->is_object() ||
      model == "<synthetic>")  // Claude Code's own stand-in replies (API errors, interrupts)
    return out;
  const auto* stop = field(msg, "stop_reason");
  out.stopped = stop && !stop->is_null();
  usage_event e;
  const auto t = parse_rfc3339(text(field(v, "timestamp")));
  if (!t) return error(errc::parse_error, "timestamp: expected an RFC 3339 time");
  e.occurred_at = *t;
  e.source_system = "claude-code";
  e.source_channel = "jsonl";
  e.provider_id = "anthropic";
  e.agent_name = "claude-code";
  e.session_id = bounded(text(field(v, "sessionId")));
  e.message_id = bounded(text(field(msg, "id")));
  e.turn_id = bounded(text(field(v, "requestId")));
  e.workspace_id = bounded(text(field(v, "cwd")));
  e.model_raw = bounded(model);
  const std::pair<std::string_view, std::optional<std::int64_t> usage_event::*> counts[] = {
      {"input_tokens", &usage_event::input_tokens},
      {"output_tokens", &usage_event::output_tokens},
      {"cache_creation_input_tokens", &usage_event::cache_write_tokens},
      {"cache_read_input_tokens", &usage_event::cache_read_tokens}};
  std::optional<std::int64_t> total;
  for (auto [name, member] : counts) {
    auto n = token_count(field(usage, name), name);
    if (!n) return n.error();
    e.*member = *n;
    if (*n) total = total.value_or(0) + **n;
  }
  e.total_tokens = total;
  if (const auto* c = field(v, "costUSD"); c && c->is_number()) {  // written by older versions
    // In the ledger's range, or the line is refused naming the field (the
    // fuzzer found 5.6E74 passed on to be refused by the ledger instead).
    const double d = c->to_number<double>();
    if (!(d >= 0 && d <= max_cost_usd))
      return error(errc::parse_error, "costUSD: expected a number from 0 to 1000000");
    e.cost_usd = d;
  }
  out.event = std::move(e);
  return out;
}

/// The usage lines of one read of a Claude Code transcript, merged per
/// message (largest counts, first timestamp). A message is final once a line
/// of it has a stop_reason, a later line of the same thread (main or
/// sidechain) follows it, or `final_at_end` (the file is quiet at its end).
class claude_messages {
 public:
  /// `id` identifies the message; "" for one without an id, final as it is.
  void add(claude_line l, std::string id, std::uint64_t offset) {
    const std::size_t i = lines_++;
    last_line_[l.sidechain] = i;
    if (!l.event) return;
    const auto [it, fresh] = by_id_.try_emplace(id, messages_.size());
    if (id.empty() || fresh) {
      messages_.push_back({std::move(id), std::move(*l.event), offset, i, l.sidechain,
                           l.stopped || it->first.empty()});
      return;
    }
    auto& msg = messages_[it->second];
    std::optional<std::int64_t> total;
    for (auto part : {&usage_event::input_tokens, &usage_event::output_tokens,
                      &usage_event::cache_read_tokens, &usage_event::cache_write_tokens}) {
      auto& have = msg.event.*part;
      const auto& got = (*l.event).*part;
      if (got && (!have || *have < *got)) have = got;
      if (have) total = total.value_or(0) + *have;
    }
    msg.event.total_tokens = total;
    msg.last_line = i;
    msg.stopped = msg.stopped || l.stopped;
  }

  /// Hands each final message to `emit(id, event)`; returns where the
  /// watermark may go: `end`, or the first line of a message not final.
  template <class Emit>
  std::uint64_t finish(std::uint64_t end, bool final_at_end, Emit&& emit) {
    std::uint64_t hold = end;
    for (auto& msg : messages_) {
      const auto& later = last_line_[msg.sidechain];
      if (!msg.stopped && !(later && *later > msg.last_line) && !final_at_end) {
        hold = std::min(hold, msg.first_offset);
        continue;
      }
      emit(std::move(msg.id), std::move(msg.event));
    }
    messages_.clear();
    return hold;
  }

 private:
  struct message {
    std::string id;
    usage_event event;
    std::uint64_t first_offset;
    std::size_t last_line;
    bool sidechain, stopped;
  };
  std::vector<message> messages_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::optional<std::size_t> last_line_[2];  // per thread: main, sidechain
  std::size_t lines_ = 0;
};

/// One of Codex's `TokenUsage` objects. OpenAI's convention: `input`
/// includes `cached`, `output` includes `reasoning`, `total` = input + output.
struct codex_usage {
  std::int64_t input = 0, cached = 0, output = 0, reasoning = 0, total = 0;
  friend bool operator==(const codex_usage&, const codex_usage&) = default;
};

inline result<std::optional<codex_usage>> read_codex_usage(const boost::json::value* v,
                                                           std::string_view name) {
  if (!v || v->is_null()) return std::optional<codex_usage>();
  if (!v->is_object()) return error(errc::parse_error, std::string(name) + ": expected an object");
  codex_usage u;
  const std::pair<std::string_view, std::int64_t codex_usage::*> parts[] = {
      {"input_tokens", &codex_usage::input},
      {"cached_input_tokens", &codex_usage::cached},
      {"output_tokens", &codex_usage::output},
      {"reasoning_output_tokens", &codex_usage::reasoning},
      {"total_tokens", &codex_usage::total}};
  for (auto [key, member] : parts) {
    auto n = token_count(field(v, key), key);
    if (!n) return n.error();
    u.*member = n->value_or(0);
  }
  if (u.total == 0) u.total = u.input + u.output;
  return std::optional<codex_usage>(u);
}

inline codex_usage minus(const codex_usage& a, const codex_usage& b) {
  auto d = [](std::int64_t x, std::int64_t y) { return x > y ? x - y : 0; };
  return {d(a.input, b.input), d(a.cached, b.cached), d(a.output, b.output),
          d(a.reasoning, b.reasoning), d(a.total, b.total)};
}

inline boost::json::array to_array(const codex_usage& u) {
  return {u.input, u.cached, u.output, u.reasoning, u.total};
}

inline std::optional<codex_usage> codex_usage_from(const boost::json::value* v) {
  const auto* a = v ? v->if_array() : nullptr;
  if (!a || a->size() != 5) return std::nullopt;
  std::int64_t n[5];
  for (std::size_t i = 0; i < 5; ++i) n[i] = (*a)[i].is_int64() ? (*a)[i].get_int64() : 0;
  return codex_usage{n[0], n[1], n[2], n[3], n[4]};
}

/// The message id of a Codex count: its cumulative total, which a fork's
/// replay of its parent's history repeats exactly.
inline std::string cumulative_id(const codex_usage& c) {
  std::string id = "cum";
  for (auto n : {c.input, c.cached, c.output, c.reasoning, c.total}) id += ':' + std::to_string(n);
  return id;
}

struct file_stat {
  std::uint64_t size = 0, inode = 0;
  std::int64_t mtime_ns = 0;
};

inline std::optional<file_stat> stat_file(const std::filesystem::path& p) {
  struct ::stat st {};
  if (::stat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  return file_stat{static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino),
                   std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

struct read_result {
  std::uint64_t end = 0;  // just past the last complete line
  bool at_eof = false;    // stopped at the end of the file, not at the budget
  std::size_t oversized = 0;
  bool failed = false;
};

/// Calls `on_line(text, offset)` for each complete line from `offset` on,
/// until the end of the file or `budget` bytes; a last line without '\n' is
/// left for later. Lines over `max_line` bytes are skipped and counted.
template <class OnLine>
read_result read_lines(const std::filesystem::path& p, std::uint64_t offset, std::uint64_t budget,
                       std::size_t max_line, OnLine&& on_line) {
  read_result r{offset};
  std::ifstream in(p, std::ios::binary);
  if (!in || !in.seekg(static_cast<std::streamoff>(offset))) {
    r.failed = true;
    return r;
  }
  std::vector<char> chunk(std::size_t(1) << 20);
  std::string partial;    // the current line's bytes from earlier chunks
  bool skipping = false;  // inside an oversized line: its bytes are dropped
  std::uint64_t pos = offset;
  while (r.end - offset < budget) {
    in.read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
    const auto n = static_cast<std::size_t>(in.gcount());
    const std::string_view data(chunk.data(), n);
    std::size_t i = 0;
    while (i < data.size()) {
      const auto nl = data.find('\n', i);
      if (nl == std::string_view::npos) {
        if (!skipping) partial.append(data.substr(i));
        if (partial.size() > max_line) {
          skipping = true;
          partial = std::string();
        }
        break;
      }
      std::string_view line = data.substr(i, nl - i);
      if (!partial.empty()) line = partial.append(line);
      if (skipping || line.size() > max_line) {
        ++r.oversized;
      } else {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        on_line(line, r.end);
      }
      skipping = false;
      partial.clear();
      i = nl + 1;
      r.end = pos + i;
    }
    pos += n;
    if (n < chunk.size()) {
      r.at_eof = true;
      break;
    }
  }
  return r;
}

/// How far a file has been consumed, and what was true there.
struct file_mark {
  std::uint64_t offset = 0;  // just past the last line consumed
  std::uint64_t size = 0, inode = 0;
  std::int64_t mtime_ns = 0;  // with size and inode: unchanged files are not opened
  bool held = false;          // a Claude message starting at `offset` waits for its last line
  boost::json::object state;  // the Codex parser's state at `offset`
  friend bool operator==(const file_mark&, const file_mark&) = default;
};

using mark_map = std::map<std::string, file_mark>;

inline result<mark_map> load_marks(const std::filesystem::path& path) {
  mark_map out;
  std::ifstream in(path, std::ios::binary);
  if (!in) return out;  // none yet
  std::ostringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  auto v = boost::json::parse(text.str(), ec);
  if (ec || !v.is_object())
    return error(errc::parse_error, "watermarks " + path.string() + ": not a JSON object");
  // No structured binding: clang 14's lambdas cannot capture one.
  for (const auto& kv : v.get_object()) {
    const std::string_view key = kv.key();
    const boost::json::value& val = kv.value();
    auto num = [&](std::string_view k) -> std::uint64_t {  // offsets, inodes, times: not tokens
      const auto* f = field(&val, k);
      if (f && f->is_uint64()) return f->get_uint64();
      if (f && f->is_int64() && f->get_int64() >= 0) return std::uint64_t(f->get_int64());
      return 0;
    };
    file_mark m;
    m.offset = num("offset");
    m.size = num("size");
    m.inode = num("inode");
    m.mtime_ns = static_cast<std::int64_t>(num("mtime_ns"));
    if (const auto* h = field(&val, "held"); h && h->is_bool()) m.held = h->get_bool();
    if (const auto* s = field(&val, "state"); s && s->is_object()) m.state = s->get_object();
    out.emplace(std::string(key), std::move(m));
  }
  return out;
}

inline status save_marks(const std::filesystem::path& path, const mark_map& marks) {
  boost::json::object o;
  for (const auto& [key, m] : marks) {
    boost::json::object e{
        {"offset", m.offset}, {"size", m.size}, {"inode", m.inode}, {"mtime_ns", m.mtime_ns}};
    if (m.held) e["held"] = true;
    if (!m.state.empty()) e["state"] = m.state;
    o[key] = std::move(e);
  }
  const std::string text = boost::json::serialize(o);
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (auto st = vitals::detail::atomic_write_file(path, text); !st)
    return error(errc::io_error, "watermarks: " + st.error().message);
  return {};
}

}  // namespace vitals::agent::detail
