// The 003 seed's dedup key of a usage event, by which the ledger
// (agent/ledger.hpp) tells a new event from a repeat of a known one.
#pragma once

#include <cctype>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/agent/usage_event.hpp"
#include "vitals/core/time.hpp"

namespace vitals::agent {

namespace detail {

inline std::string normalised(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace detail

/// The dedup key: the first present of tool_call_id, message_id, turn_id
/// (prefixed tool:, message:, turn:) with source system, event type, session
/// and workspace; without any id, a fingerprint of the event's content.
inline std::string dedup_key(const usage_event& e) {
  std::string id;
  if (!e.tool_call_id.empty())
    id = "tool:" + detail::normalised(e.tool_call_id);
  else if (!e.message_id.empty())
    id = "message:" + detail::normalised(e.message_id);
  else if (!e.turn_id.empty())
    id = "turn:" + detail::normalised(e.turn_id);
  std::string key;
  key.reserve(128);
  auto part = [&](std::string_view s) {  // detail::normalised, without a copy
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    for (char c : s) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    key += '\x1f';
  };
  if (!id.empty()) {
    for (auto s :
         {std::string_view(id), std::string_view(e.source_system), std::string_view(e.event_type),
          std::string_view(e.session_id), std::string_view(e.workspace_id)})
      part(s);
    return key;
  }
  auto count = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; };
  for (auto s : {std::string_view("fp"), std::string_view(e.provider_id),
                 std::string_view(e.account_id), std::string_view(e.agent_name)})
    part(s);
  part(std::to_string(to_unix_ms(e.occurred_at)));
  for (const auto& c : {e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens,
                        e.cache_write_tokens, e.total_tokens, e.requests})
    part(count(c));
  part(e.cost_usd ? std::to_string(*e.cost_usd) : "-");
  part(e.model());
  part(e.tool_name);
  return key;
}

}  // namespace vitals::agent
