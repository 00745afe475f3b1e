// Claude Code's hooks as usage events (the 003 seed's hook source): the JSON
// a hook command gets on stdin, posted as it is. PostToolUse and
// PostToolUseFailure are tool calls; Stop, SubagentStop and SessionEnd end
// a turn or the session; the other hooks Claude Code has are known and
// given no event. The agent and account come from the caller (an
// override), since the payload names neither. A resent hook gives the same
// event, so the ledger stores it once: the tool call's id, or else a digest
// of the whole payload, is the event's id.
#pragma once

#include <boost/json.hpp>
#include <boost/uuid/name_generator_sha1.hpp>
#include <boost/uuid/uuid_io.hpp>

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/agent/usage_event.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"

namespace vitals::agent {

/// Every `hook_event_name` Claude Code sends; any other is refused.
inline constexpr std::array<std::string_view, 15> claude_hook_names{
    "PreToolUse",       "PostToolUse", "PostToolUseFailure", "PermissionRequest", "Notification",
    "UserPromptSubmit", "Stop",        "SubagentStart",      "SubagentStop",      "PreCompact",
    "SessionStart",     "SessionEnd",  "TaskCreated",        "TaskCompleted",     "TeammateIdle"};

struct claude_hook_options {
  std::string agent = "claude-code";  // as the transcript importer names it
  std::string account;
};

/// A hook as it was understood: its name (one of claude_hook_names) and
/// the event it gives, none for a hook that maps to no usage.
struct claude_hook {
  std::string_view name;
  std::optional<usage_event> event;
};

/// The hook in `v`, received at `received` (hooks carry no time). Errors
/// name the field: `hook_event_name` missing or unknown, `session_id` or
/// `tool_name` missing where an event needs them.
///
///   PostToolUse         tool_usage: tool_name, tool_call_id = tool_use_id,
///                       status error when tool_response says so
///                       (`success` false or `is_error` true), aborted when
///                       it was `interrupted`, else ok;
///   PostToolUseFailure  tool_usage with status error;
///   Stop, SubagentStop, SessionEnd
///                       turn_completed with no model request (requests 0).
///
/// Every event: source_system "claude-code", channel "hook", provider
/// "anthropic", session_id, workspace_id = cwd, the agent and account of
/// `o`, and a small payload (the hook's name and its short scalar fields,
/// never tool_input or tool_response).
inline result<claude_hook> parse_claude_hook(const boost::json::value& v,
                                             const claude_hook_options& o, timestamp received) {
  auto bad = [](std::string_view field, std::string_view what) {
    return error(errc::invalid_argument, std::string(field) + ": " + std::string(what));
  };
  const auto* obj = v.if_object();
  if (!obj) return error(errc::invalid_argument, "expected a JSON object (a Claude Code hook)");
  auto text = [&](std::string_view k) -> const boost::json::string* {
    const auto* f = obj->if_contains(k);
    return f ? f->if_string() : nullptr;
  };
  const auto* name_text = text("hook_event_name");
  if (!name_text) return bad("hook_event_name", "expected a string");
  claude_hook out;
  for (auto n : claude_hook_names)
    if (n == *name_text) out.name = n;
  if (out.name.empty())
    return bad("hook_event_name", "unknown hook '" +
                                      std::string(name_text->subview().substr(0, 64)) +
                                      "'; known: " + detail::list(claude_hook_names));
  const bool tool = out.name == "PostToolUse" || out.name == "PostToolUseFailure";
  const bool end = out.name == "Stop" || out.name == "SubagentStop" || out.name == "SessionEnd";
  if (!tool && !end) return out;

  const auto* session = text("session_id");
  if (!session || session->empty()) return bad("session_id", "expected a non-empty string");
  usage_event e;
  e.occurred_at = received;
  e.source_system = "claude-code";
  e.source_channel = "hook";
  e.provider_id = "anthropic";
  e.agent_name = o.agent;
  e.account_id = o.account;
  e.session_id = std::string(*session);
  if (const auto* cwd = text("cwd")) e.workspace_id = std::string(*cwd);
  // A digest of the whole payload: the same bytes resent, the same id.
  boost::uuids::name_generator_sha1 digest(boost::uuids::ns::url());
  const std::string whole = boost::json::serialize(v);
  const std::string id =
      std::string(out.name) + ":" + boost::uuids::to_string(digest(whole.data(), whole.size()));
  if (tool) {
    const auto* tool_name = text("tool_name");
    if (!tool_name || tool_name->empty()) return bad("tool_name", "expected a non-empty string");
    e.event_type = "tool_usage";
    e.tool_name = std::string(*tool_name);
    const auto* use_id = text("tool_use_id");
    e.tool_call_id = use_id && !use_id->empty() ? std::string(*use_id) : id;
    e.status = out.name == "PostToolUseFailure" ? "error" : "ok";
    if (const auto* r = obj->if_contains("tool_response"); r && r->is_object()) {
      const auto& resp = r->get_object();
      auto flag = [&](std::string_view k, bool value) {
        const auto* f = resp.if_contains(k);
        return f && f->is_bool() && f->get_bool() == value;
      };
      if (flag("success", false) || flag("is_error", true))
        e.status = "error";
      else if (flag("interrupted", true))
        e.status = "aborted";
    }
  } else {
    e.event_type = "turn_completed";
    e.turn_id = id;
    e.requests = 0;  // the model calls of the turn are reported by the transcript
  }
  boost::json::object payload{{"hook_event_name", out.name}};
  for (std::string_view k : {"transcript_path", "permission_mode", "stop_hook_active", "agent_id",
                             "agent_type", "reason", "error"}) {
    const auto* f = obj->if_contains(k);
    if (f && (f->is_bool() || (f->is_string() && f->get_string().size() <= 512))) payload[k] = *f;
  }
  e.payload = boost::json::serialize(payload);
  if (auto st = validate_usage_event(e); !st) return st.error();
  out.event = std::move(e);
  return out;
}

}  // namespace vitals::agent
