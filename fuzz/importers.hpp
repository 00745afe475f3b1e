// Fuzz target: the Claude Code and Codex line parsers (agent/importers.hpp),
// line by line over the input as jsonl_importer reads a file: Claude lines
// merged per message, Codex lines through one file parser whose state is
// saved and restored after each line. Every event an importer makes is one
// the ledger accepts (it goes there as NDJSON), and a restored Codex parser
// is the parser that was saved.
#pragma once

#include <boost/json.hpp>

#include <string_view>

#include "common.hpp"
#include "vitals/agent/importers.hpp"
#include "vitals/agent/usage_event.hpp"

namespace vitals::fuzz {

inline void check_imported(const agent::usage_event& e) {
  const auto line = agent::to_ndjson(std::span(&e, 1));
  boost::system::error_code ec;
  const auto v = boost::json::parse(line, ec);
  VITALS_FUZZ_CHECK(!ec, "an imported event serialises to JSON");
  const auto back = agent::parse_usage_event(v, from_unix_ms(0));
  if (!back) std::fprintf(stderr, "refused: %s\n%s", back.error().message.c_str(), line.c_str());
  VITALS_FUZZ_CHECK(back.has_value(), "the ledger accepts what an importer makes");
}

template <class F>
void for_each_line(std::string_view data, F&& f) {
  std::uint64_t at = 0;
  while (!data.empty()) {
    const auto nl = data.find('\n');
    f(data.substr(0, nl), at);
    const std::size_t n = nl == std::string_view::npos ? data.size() : nl + 1;
    data.remove_prefix(n);
    at += n;
  }
}

inline void importers(std::string_view data) {
  agent::detail::claude_messages messages;
  for_each_line(data, [&](std::string_view line, std::uint64_t at) {
    if (auto e = agent::from_claude_line(line); e && *e) check_imported(**e);
    auto l = agent::detail::parse_claude_line(line);
    if (!l) return;
    std::string id = l->event ? l->event->message_id : std::string();
    messages.add(std::move(*l), std::move(id), at);
  });
  (void)messages.finish(data.size(), true,
                        [](const std::string&, const agent::usage_event& e) { check_imported(e); });

  agent::codex_file_parser codex("fallback-session");
  for_each_line(data, [&](std::string_view line, std::uint64_t) {
    auto e = codex.feed(line);
    if (e && *e) check_imported(**e);
    const auto saved = codex.save();
    const auto restored = agent::codex_file_parser::restore(saved, "fallback-session");
    VITALS_FUZZ_CHECK(restored.save() == saved, "a restored Codex parser is the one saved");
    codex = restored;
  });
}

}  // namespace vitals::fuzz
