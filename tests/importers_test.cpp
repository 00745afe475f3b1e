// Importers for Claude Code transcripts and Codex CLI rollouts: the line
// mappings, the file follower with its watermarks, and the totals a ledger
// keeps from what they import. Fixtures are written here, in the shapes the
// agents write (Claude Code 2.x, Codex CLI 0.4x).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/helpers.hpp"
#include "support/usage.hpp"
#include "vitals/agent/importers.hpp"
#include "vitals/agent/ledger.hpp"

namespace {

using namespace vitals;
using namespace vitals::agent;
namespace fs = std::filesystem;

void append(const fs::path& p, std::string_view text) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary | std::ios::app) << text;
}

constexpr std::string_view session = "4f1d2c3b-8e7a-4b6c-9d0e-1f2a3b4c5d6e";

struct claude_usage {
  int in = 0, out = 0, cache_write = 0, cache_read = 0;
};

// An assistant line as Claude Code writes it: one per content block.
std::string claude_line(std::string_view id, claude_usage u, std::string_view stop = "\"end_turn\"",
                        std::string_view block = "text", bool sidechain = false,
                        std::string_view model = "claude-sonnet-4-5-20250929") {
  const std::string req = "req_" + std::string(id.substr(4));
  return R"({"parentUuid":"5c1e0b7a-1d2e-4f3a-8b9c-0d1e2f3a4b5c","isSidechain":)" +
         std::string(sidechain ? "true" : "false") +
         R"(,"userType":"external","cwd":"/home/ada/src/vitals","sessionId":")" +
         std::string(session) + R"(","version":"2.0.14","gitBranch":"main","message":{"id":")" +
         std::string(id) + R"(","type":"message","role":"assistant","model":")" +
         std::string(model) + R"(","content":[{"type":")" + std::string(block) +
         R"(","text":"..."}],"stop_reason":)" + std::string(stop) +
         R"(,"stop_sequence":null,"usage":{"input_tokens":)" + std::to_string(u.in) +
         R"(,"cache_creation_input_tokens":)" + std::to_string(u.cache_write) +
         R"(,"cache_read_input_tokens":)" + std::to_string(u.cache_read) +
         R"(,"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":0},"output_tokens":)" +
         std::to_string(u.out) + R"(,"service_tier":"standard"}},"requestId":")" + req +
         R"(","type":"assistant","uuid":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d","timestamp":"2025-10-14T09:12:33.517Z"})" +
         "\n";
}

const std::string user_line =
    R"({"parentUuid":null,"isSidechain":false,"userType":"external","cwd":"/home/ada/src/vitals","sessionId":"4f1d2c3b-8e7a-4b6c-9d0e-1f2a3b4c5d6e","version":"2.0.14","gitBranch":"main","type":"user","message":{"role":"user","content":"fix the flaky test"},"uuid":"1b2c3d4e-0000-4000-8000-000000000001","timestamp":"2025-10-14T09:12:30.001Z"})"
    "\n";
const std::string tool_result_line =
    R"({"parentUuid":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d","isSidechain":false,"userType":"external","cwd":"/home/ada/src/vitals","sessionId":"4f1d2c3b-8e7a-4b6c-9d0e-1f2a3b4c5d6e","version":"2.0.14","type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_01A","type":"tool_result","content":"ok"}]},"toolUseResult":{"stdout":"ok","stderr":"","interrupted":false},"uuid":"1b2c3d4e-0000-4000-8000-000000000002","timestamp":"2025-10-14T09:12:35.100Z"})"
    "\n";
const std::string summary_line =
    R"({"type":"summary","summary":"Fixing the flaky test","leafUuid":"9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"})"
    "\n";
const std::string synthetic_line =
    R"({"parentUuid":"1b2c3d4e-0000-4000-8000-000000000002","isSidechain":false,"cwd":"/home/ada/src/vitals","sessionId":"4f1d2c3b-8e7a-4b6c-9d0e-1f2a3b4c5d6e","type":"assistant","message":{"id":"f0e1d2c3-0000-4000-8000-000000000009","model":"<synthetic>","role":"assistant","type":"message","stop_reason":"stop_sequence","usage":{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,"cache_read_input_tokens":0},"content":[{"type":"text","text":"API Error: 529 overloaded"}]},"isApiErrorMessage":true,"uuid":"1b2c3d4e-0000-4000-8000-000000000003","timestamp":"2025-10-14T09:13:00.000Z"})"
    "\n";

TEST(ClaudeLine, MapsAnAssistantLineFieldByField) {
  auto e = from_claude_line(claude_line("msg_01XYZ", {4, 312, 1523, 20480}));
  ASSERT_TRUE(e);
  ASSERT_TRUE(*e);
  const usage_event& u = **e;
  EXPECT_EQ(u.source_system, "claude-code");
  EXPECT_EQ(u.source_channel, "jsonl");
  EXPECT_EQ(u.event_type, "message_usage");
  EXPECT_EQ(u.provider_id, "anthropic");
  EXPECT_EQ(u.agent_name, "claude-code");
  EXPECT_EQ(u.session_id, session);
  EXPECT_EQ(u.message_id, "msg_01XYZ");
  EXPECT_EQ(u.turn_id, "req_01XYZ");
  EXPECT_EQ(u.workspace_id, "/home/ada/src/vitals");
  EXPECT_EQ(u.model_raw, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(u.input_tokens, 4);
  EXPECT_EQ(u.output_tokens, 312);
  EXPECT_EQ(u.cache_write_tokens, 1523);
  EXPECT_EQ(u.cache_read_tokens, 20480);
  EXPECT_EQ(u.total_tokens, 4 + 312 + 1523 + 20480);
  EXPECT_FALSE(u.reasoning_tokens);
  EXPECT_EQ(to_rfc3339(u.occurred_at), "2025-10-14T09:12:33.517Z");
  // What the importer hands the ledger parses back to the same event.
  auto back = parse_usage_event(to_json(u), vitals::now());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->cache_read_tokens, 20480);
}

TEST(ClaudeLine, OtherLinesGiveNothingAndBrokenOnesAnError) {
  for (const auto& line : {user_line, tool_result_line, summary_line, synthetic_line,
                           std::string(R"({"type":"file-history-snapshot","messageId":"x"})")}) {
    auto e = from_claude_line(line);
    ASSERT_TRUE(e) << line;
    EXPECT_FALSE(*e) << line;
  }
  EXPECT_FALSE(from_claude_line(R"({"type":"assistant","message":)"));
  EXPECT_FALSE(from_claude_line("[1,2]"));
  auto negative = claude_line("msg_01BAD", {4, 1, 0, 0});
  negative.replace(negative.find(R"("output_tokens":1)"), 17, R"("output_tokens":-1)");
  auto e = from_claude_line(negative);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("output_tokens"), std::string::npos);
  auto no_time = claude_line("msg_01BAD", {4, 1, 0, 0});
  no_time.replace(no_time.find("2025-10-14T09"), 4, "later");
  EXPECT_FALSE(from_claude_line(no_time));
}

// Older versions wrote `costUSD`: taken when the ledger would take it, else
// the line is refused naming it (found by the importers fuzzer: 5.6E74 USD).
TEST(ClaudeLine, ACostUsdBeyondTheLedgersRangeRefusesTheLine) {
  auto with_cost = [](std::string_view cost) {
    auto line = claude_line("msg_01XYZ", {4, 312, 0, 0});
    line.insert(line.rfind('}'), ",\"costUSD\":" + std::string(cost));
    return line;
  };
  auto ok = from_claude_line(with_cost("0.25"));
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ((*ok)->cost_usd, 0.25);
  for (std::string_view bad : {"5.5E74", "-1", "1000000.5"}) {
    auto e = from_claude_line(with_cost(bad));
    ASSERT_FALSE(e) << bad;
    EXPECT_NE(e.error().message.find("costUSD"), std::string::npos) << e.error().message;
  }
}

// Codex CLI rollout lines.
std::string codex_meta(std::string_view id, std::string_view forked_from = {}) {
  return R"({"timestamp":"2025-10-14T10:00:00.000Z","type":"session_meta","payload":{"id":")" +
         std::string(id) + "\"" +
         (forked_from.empty() ? std::string()
                              : R"(,"forked_from_id":")" + std::string(forked_from) + "\"") +
         R"(,"timestamp":"2025-10-14T10:00:00.000Z","cwd":"/home/ada/src/vitals","originator":"codex_cli_rs","cli_version":"0.46.0","instructions":null,"source":"cli","model_provider":"openai","git":{"commit_hash":"83a65f5","branch":"main"}}})"
         "\n";
}

std::string codex_turn(std::string_view model = "gpt-5-codex") {
  return R"({"timestamp":"2025-10-14T10:00:01.000Z","type":"turn_context","payload":{"cwd":"/home/ada/src/vitals","approval_policy":"on-request","sandbox_policy":{"mode":"workspace-write"},"model":")" +
         std::string(model) +
         R"(","effort":"medium","summary":"auto"}})"
         "\n";
}

struct codex_counts {
  int in, cached, out, reasoning, total;
};

std::string usage_json(codex_counts c) {
  return R"({"input_tokens":)" + std::to_string(c.in) + R"(,"cached_input_tokens":)" +
         std::to_string(c.cached) + R"(,"output_tokens":)" + std::to_string(c.out) +
         R"(,"reasoning_output_tokens":)" + std::to_string(c.reasoning) + R"(,"total_tokens":)" +
         std::to_string(c.total) + "}";
}

std::string codex_tokens(std::string_view at, codex_counts total, codex_counts last) {
  return R"({"timestamp":")" + std::string(at) +
         R"(","type":"event_msg","payload":{"type":"token_count","info":{"total_token_usage":)" +
         usage_json(total) + R"(,"last_token_usage":)" + usage_json(last) +
         R"(,"model_context_window":272000},"rate_limits":{"primary":{"used_percent":7.0,"window_minutes":300,"resets_in_seconds":1200}}}})"
         "\n";
}

const std::string codex_chatter =
    R"({"timestamp":"2025-10-14T10:00:01.500Z","type":"response_item","payload":{"type":"message","role":"user","content":[{"type":"input_text","text":"<environment_context>...</environment_context>"}]}})"
    "\n"
    R"({"timestamp":"2025-10-14T10:00:02.000Z","type":"event_msg","payload":{"type":"user_message","message":"fix the flaky test","kind":"plain"}})"
    "\n"
    R"({"timestamp":"2025-10-14T10:00:02.100Z","type":"event_msg","payload":{"type":"token_count","info":null,"rate_limits":{"primary":{"used_percent":7.0,"window_minutes":300,"resets_in_seconds":1200}}}})"
    "\n"
    R"({"timestamp":"2025-10-14T10:00:05.000Z","type":"response_item","payload":{"type":"reasoning","summary":[],"encrypted_content":"gAAAAB"}})"
    "\n";

constexpr std::string_view parent_id = "0199e2a1-7c3d-7f40-9a1b-2c3d4e5f6a7b";
constexpr codex_counts first_total{8000, 3000, 500, 200, 8500};
constexpr codex_counts second_total{20000, 11000, 1200, 448, 21200};
constexpr codex_counts second_last{12000, 8000, 700, 248, 12700};

std::string codex_session() {
  return codex_meta(parent_id) + codex_turn() + codex_chatter +
         codex_tokens("2025-10-14T10:00:09.000Z", first_total, first_total) +
         codex_tokens("2025-10-14T10:00:09.400Z", first_total, first_total) +  // re-emitted
         codex_tokens("2025-10-14T10:01:30.000Z", second_total, second_last);
}

std::vector<usage_event> feed_all(codex_file_parser& p, std::string_view text) {
  std::vector<usage_event> out;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    auto e = p.feed(text.substr(0, nl));
    EXPECT_TRUE(e) << text.substr(0, nl);
    if (e && *e) out.push_back(**e);
    text.remove_prefix(nl + 1);
  }
  return out;
}

TEST(CodexLine, MapsTokenCountsWithTheTurnsModelAndCachedInputApart) {
  codex_file_parser p("fallback");
  auto events = feed_all(p, codex_session());
  ASSERT_EQ(events.size(), 2u);  // info:null and the re-emitted count give nothing
  const auto& a = events[0];
  EXPECT_EQ(a.source_system, "codex");
  EXPECT_EQ(a.source_channel, "jsonl");
  EXPECT_EQ(a.event_type, "message_usage");
  EXPECT_EQ(a.provider_id, "openai");
  EXPECT_EQ(a.agent_name, "codex");
  EXPECT_EQ(a.session_id, parent_id);
  EXPECT_EQ(a.workspace_id, "/home/ada/src/vitals");
  EXPECT_EQ(a.model_raw, "gpt-5-codex");
  EXPECT_EQ(a.input_tokens, 5000);  // OpenAI's input counts the cached part
  EXPECT_EQ(a.cache_read_tokens, 3000);
  EXPECT_EQ(a.output_tokens, 500);
  EXPECT_EQ(a.reasoning_tokens, 200);  // informational: already in output
  EXPECT_EQ(a.total_tokens, 8500);
  EXPECT_EQ(a.message_id, "cum:8000:3000:500:200:8500");
  EXPECT_EQ(to_rfc3339(a.occurred_at), "2025-10-14T10:00:09.000Z");
  EXPECT_EQ(events[1].input_tokens, 4000);
  EXPECT_EQ(events[1].cache_read_tokens, 8000);
  EXPECT_EQ(events[1].total_tokens, 12700);

  // Saved and restored (a restart), the parser still knows the session, the
  // model and the last cumulative count.
  auto q = codex_file_parser::restore(p.save());
  EXPECT_EQ(q.session_id(), parent_id);
  EXPECT_EQ(q.model(), "gpt-5-codex");
  auto again = q.feed(codex_tokens("2025-10-14T10:02:00.000Z", second_total, second_last));
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
  EXPECT_FALSE(q.feed(R"({"timestamp":"2025-10-14T10:03:00.000Z","type":"event_msg")"));
  EXPECT_FALSE(q.feed(
      R"({"type":"event_msg","payload":{"type":"token_count","info":{"last_token_usage":{"input_tokens":"many"}}}})"));
}

TEST(CodexLine, WithoutASessionMetaTheFileNameNamesTheSession) {
  codex_file_parser p("0199e2a1-0000-7000-8000-00000000abcd");
  auto events = feed_all(p, codex_tokens("2025-10-14T10:00:09.000Z", first_total, first_total));
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].session_id, "0199e2a1-0000-7000-8000-00000000abcd");
  EXPECT_TRUE(events[0].model_raw.empty());  // unknown, not guessed
}

struct ledger_fixture {
  usage_memory usage;
  registry reg;
  ledger<usage_memory> l{usage, reg};

  ingest_result ingest(const std::vector<usage_event>& batch) { return l.ingest(to_ndjson(batch)); }
  boost::json::object tokens(std::string_view agent) {
    auto s = test::usage_summary(usage, agent);
    return s.empty() ? boost::json::object() : s[0].at("tokens").as_object();
  }
};

std::int64_t count(const boost::json::object& tokens, std::string_view k) {
  return tokens.contains(k) ? tokens.at(k).as_int64() : -1;
}

TEST(ImportClaude, FollowsNestedTranscriptsAndCountsEachMessageOnce) {
  test::temp_dir dir;
  const auto projects = dir.path() / "projects";
  const auto main_file = projects / "-home-ada-src-vitals" / (std::string(session) + ".jsonl");
  const auto sub_file =
      projects / "-home-ada-src-vitals" / std::string(session) / "subagents" / "agent-a1b2.jsonl";
  const claude_usage a{4, 312, 1523, 20480}, b{2, 90, 210, 45958}, c{10, 20, 0, 100};
  append(main_file, user_line);
  // One message in three blocks, the same usage on each line.
  append(main_file, claude_line("msg_01AAA", a, "\"tool_use\"", "thinking"));
  append(main_file, claude_line("msg_01AAA", a, "\"tool_use\"", "text"));
  append(main_file, claude_line("msg_01AAA", a, "\"tool_use\"", "tool_use"));
  append(main_file, tool_result_line);
  // A streamed message: the first line's output count is partial.
  append(main_file, claude_line("msg_01BBB", {2, 5, 210, 45958}, "null", "thinking"));
  append(main_file, claude_line("msg_01BBB", b, "\"end_turn\"", "text"));
  append(main_file, synthetic_line);
  append(main_file, summary_line);
  append(main_file, "{\"type\":\"assistant\",\"message\":{\"id\":\"msg_01CUT\"\n");  // malformed
  append(sub_file,
         claude_line("msg_01CCC", c, "\"end_turn\"", "text", true, "claude-haiku-4-5-20251001"));
  const auto partial = claude_line("msg_01DDD", {1, 2, 3, 4});
  append(main_file, partial.substr(0, 40));  // Claude Code is still writing this line

  const auto marks = dir.path() / "state" / "claude.json";
  ledger_fixture lf;
  {
    jsonl_importer imp(projects, log_kind::claude, marks);
    auto got = imp.poll();
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), 3u);  // files in path order: the subagent's directory first
    EXPECT_EQ((*got)[0].message_id, "msg_01CCC");
    EXPECT_EQ((*got)[1].message_id, "msg_01AAA");
    EXPECT_EQ((*got)[2].message_id, "msg_01BBB");
    EXPECT_EQ((*got)[2].output_tokens, 90);  // the last line's count
    EXPECT_EQ(imp.stats().files, 2u);
    EXPECT_EQ(imp.stats().malformed, 1u);
    EXPECT_NE(imp.last_error().find("invalid JSON"), std::string::npos);
    auto r = lf.ingest(*got);
    EXPECT_EQ(r.accepted, 3u);
    EXPECT_TRUE(r.rejected.empty());
    ASSERT_TRUE(imp.commit());
    auto t = lf.tokens("claude-code");
    EXPECT_EQ(count(t, "input"), a.in + b.in + c.in);
    EXPECT_EQ(count(t, "output"), a.out + b.out + c.out);
    EXPECT_EQ(count(t, "cache_write"), a.cache_write + b.cache_write + c.cache_write);
    EXPECT_EQ(count(t, "cache_read"), a.cache_read + b.cache_read + c.cache_read);

    // Nothing new: nothing read, nothing returned.
    const auto lines = imp.stats().lines;
    auto none = imp.poll();
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    EXPECT_EQ(imp.stats().lines, lines);

    // The partial line completes, one more block of a message already
    // imported arrives, and a new message: only the new ones come.
    append(main_file, partial.substr(40));
    append(main_file, claude_line("msg_01AAA", a, "\"tool_use\"", "text"));
    append(main_file, claude_line("msg_01EEE", {3, 30, 0, 500}));
    auto more = imp.poll();
    ASSERT_TRUE(more);
    ASSERT_EQ(more->size(), 2u);
    EXPECT_EQ((*more)[0].message_id, "msg_01DDD");
    EXPECT_EQ((*more)[1].message_id, "msg_01EEE");
    EXPECT_EQ(lf.ingest(*more).accepted, 2u);
    ASSERT_TRUE(imp.commit());
  }
  // A restart with the same watermark file imports nothing twice.
  jsonl_importer again(projects, log_kind::claude, marks);
  EXPECT_TRUE(again.last_error().empty());
  auto none = again.poll();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // Its memory of message ids is gone, so a repeat block now reaches the
  // ledger, which knows it.
  append(main_file, claude_line("msg_01EEE", {3, 30, 0, 500}));
  auto repeat = again.poll();
  ASSERT_TRUE(repeat);
  ASSERT_EQ(repeat->size(), 1u);
  auto r = lf.ingest(*repeat);
  EXPECT_EQ(r.accepted, 0u);
  EXPECT_EQ(r.duplicates, 1u);
  auto t = lf.tokens("claude-code");
  EXPECT_EQ(count(t, "input"), a.in + b.in + c.in + 1 + 3);
  EXPECT_EQ(count(t, "output"), a.out + b.out + c.out + 2 + 30);
}

TEST(ImportClaude, HoldsAMessageUntilItsLastLineOrAQuietFile) {
  test::temp_dir dir;
  const auto file = dir.path() / "p" / "s.jsonl";
  importer_options slow;
  slow.settle = std::chrono::hours(1);
  jsonl_importer imp(dir.path(), log_kind::claude, dir.path() / "marks.json", slow);
  append(file, claude_line("msg_01GGG", {1, 5, 0, 0}, "null", "thinking"));
  auto got = imp.poll();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());  // its output count may still grow
  ASSERT_TRUE(imp.commit());
  // A later message shows the first one ended (older versions write no
  // stop_reason); the later one waits in turn.
  append(file, claude_line("msg_01GGG", {1, 40, 0, 0}, "null", "text"));
  append(file, claude_line("msg_01HHH", {2, 6, 0, 0}, "null", "text"));
  got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01GGG");
  EXPECT_EQ((*got)[0].output_tokens, 40);
  ASSERT_TRUE(imp.commit());
  // Unchanged and not yet quiet: held on.
  got = imp.poll();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
  // Quiet for longer than `settle`: what it has is final.
  fs::last_write_time(file, fs::file_time_type::clock::now() - std::chrono::hours(2));
  got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01HHH");
  ASSERT_TRUE(imp.commit());
  got = imp.poll();
  ASSERT_TRUE(got);
  EXPECT_TRUE(got->empty());
}

TEST(ImportClaude, ReadsATruncatedOrReplacedFileFromTheStart) {
  test::temp_dir dir;
  const auto file = dir.path() / "p" / "s.jsonl";
  jsonl_importer imp(dir.path(), log_kind::claude, dir.path() / "marks.json");
  append(file, claude_line("msg_01AAA", {1, 1, 0, 0}) + claude_line("msg_01BBB", {2, 2, 0, 0}));
  ASSERT_EQ(imp.poll()->size(), 2u);
  ASSERT_TRUE(imp.commit());
  // Truncated in place (same inode, smaller than the watermark).
  std::ofstream(file, std::ios::binary | std::ios::trunc) << claude_line("msg_01XXX", {7, 7, 0, 0});
  auto got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01XXX");
  EXPECT_EQ(imp.stats().resets, 1u);
  ASSERT_TRUE(imp.commit());
  // Replaced by a rename (a new inode), longer than before.
  const auto tmp = dir.path() / "p" / "s.tmp";
  append(tmp, claude_line("msg_01XXX", {7, 7, 0, 0}) + claude_line("msg_01YYY", {8, 8, 0, 0}));
  fs::rename(tmp, file);
  got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);  // msg_01XXX was imported already
  EXPECT_EQ((*got)[0].message_id, "msg_01YYY");
  EXPECT_EQ(imp.stats().resets, 2u);
}

TEST(ImportClaude, APollNotCommittedIsReadAgain) {
  test::temp_dir dir;
  const auto marks = dir.path() / "marks.json";
  append(dir.path() / "p" / "s.jsonl", claude_line("msg_01AAA", {1, 1, 0, 0}));
  jsonl_importer imp(dir.path() / "p", log_kind::claude, marks);
  EXPECT_EQ(imp.poll()->size(), 1u);
  EXPECT_EQ(imp.poll()->size(), 1u);  // the ingest failed, say: the next poll brings it again
  EXPECT_FALSE(fs::exists(marks));
  jsonl_importer restarted(dir.path() / "p", log_kind::claude, marks);
  EXPECT_EQ(restarted.poll()->size(), 1u);
  ASSERT_TRUE(restarted.commit());
  EXPECT_TRUE(restarted.poll()->empty());
}

TEST(ImportClaude, SavesWatermarksAsJsonAtomically) {
  test::temp_dir dir;
  const auto file = dir.path() / "p" / "s.jsonl";
  const auto marks = dir.path() / "marks.json";
  append(file, claude_line("msg_01AAA", {1, 1, 0, 0}) + "{\"type\":\"summ");
  jsonl_importer imp(dir.path() / "p", log_kind::claude, marks);
  ASSERT_TRUE(imp.poll());
  ASSERT_TRUE(imp.commit());
  std::ifstream in(marks);
  std::stringstream text;
  text << in.rdbuf();
  auto v = boost::json::parse(text.str());
  const auto& m = v.at(file.string());
  EXPECT_EQ(m.at("offset").as_int64(), std::int64_t(claude_line("msg_01AAA", {1, 1, 0, 0}).size()));
  EXPECT_EQ(m.at("size").as_int64(), std::int64_t(fs::file_size(file)));
  EXPECT_GT(m.at("inode").as_int64(), 0);
  EXPECT_FALSE(fs::exists(dir.path() / "marks.json.tmp"));
  // A damaged watermark file: reported, and everything is read again.
  std::ofstream(marks, std::ios::trunc) << "{not json";
  jsonl_importer damaged(dir.path() / "p", log_kind::claude, marks);
  EXPECT_FALSE(damaged.last_error().empty());
  EXPECT_EQ(damaged.poll()->size(), 1u);
}

TEST(ImportClaude, AMissingDirectoryIsAnErrorAndABudgetSpreadsTheWork) {
  test::temp_dir dir;
  jsonl_importer missing(dir.path() / "nowhere", log_kind::claude, dir.path() / "m.json");
  auto got = missing.poll();
  ASSERT_FALSE(got);
  EXPECT_EQ(got.error().code, make_error_code(errc::not_found));

  append(dir.path() / "a" / "1.jsonl", claude_line("msg_01AAA", {1, 1, 0, 0}));
  append(dir.path() / "b" / "2.jsonl", claude_line("msg_01BBB", {1, 1, 0, 0}));
  append(dir.path() / "b" / "notes.txt", claude_line("msg_01TXT", {1, 1, 0, 0}));
  importer_options small;
  small.max_bytes_per_poll = 1;
  jsonl_importer imp(dir.path(), log_kind::claude, dir.path() / "m.json", small);
  got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01AAA");
  EXPECT_TRUE(imp.backlog());
  ASSERT_TRUE(imp.commit());
  got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01BBB");
  EXPECT_FALSE(imp.backlog());
}

TEST(ImportClaude, SkipsOversizedLinesAndReadsCrlfOnes) {
  test::temp_dir dir;
  auto crlf = claude_line("msg_01CRL", {1, 1, 0, 0});
  crlf.insert(crlf.size() - 1, "\r");
  append(dir.path() / "s.jsonl",
         std::string(3000, 'x') + "\n" + crlf + claude_line("msg_01BIG", {999999, 9, 0, 0}) + "\n");
  importer_options tight;
  tight.max_line = crlf.size();
  jsonl_importer imp(dir.path(), log_kind::claude, dir.path() / "m.json", tight);
  auto got = imp.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].message_id, "msg_01CRL");
  EXPECT_EQ(imp.stats().malformed, 2u);  // the line of x and the longer message line
}

TEST(ImportCodex, FollowsRolloutsIntoTheLedgerAndSkipsAForksReplay) {
  test::temp_dir dir;
  const auto sessions = dir.path() / "sessions";
  const auto parent_file = sessions / "2025" / "10" / "14" /
                           ("rollout-2025-10-14T10-00-00-" + std::string(parent_id) + ".jsonl");
  append(parent_file, codex_session());
  append(parent_file, "{\"timestamp\":\"2025-10-14T10:01:31.000Z\",\"type\":\"event_msg\"\n");
  const auto tail = codex_tokens("2025-10-14T10:02:00.000Z", {26000, 15000, 1500, 500, 27500},
                                 {6000, 4000, 300, 52, 6300});
  append(parent_file, tail.substr(0, 30));  // still being written

  const auto marks = dir.path() / "codex.json";
  ledger_fixture lf;
  jsonl_importer imp(sessions, log_kind::codex, marks);
  auto got = imp.poll();
  ASSERT_TRUE(got) << got.error().message;
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ(imp.stats().malformed, 1u);
  EXPECT_EQ(lf.ingest(*got).accepted, 2u);
  ASSERT_TRUE(imp.commit());
  auto t = lf.tokens("codex");
  EXPECT_EQ(count(t, "input"), 9000);
  EXPECT_EQ(count(t, "cache_read"), 11000);
  EXPECT_EQ(count(t, "output"), 1200);
  EXPECT_EQ(count(t, "reasoning"), 448);
  EXPECT_EQ(count(t, "total"), 21200);  // the session's own cumulative count

  // A restart: the parser's state comes back with the watermark, so the
  // completed line is charged to the session and model it belongs to.
  jsonl_importer restarted(sessions, log_kind::codex, marks);
  append(parent_file, tail.substr(30));
  got = restarted.poll();
  ASSERT_TRUE(got);
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].session_id, parent_id);
  EXPECT_EQ((*got)[0].model_raw, "gpt-5-codex");
  EXPECT_EQ(lf.ingest(*got).accepted, 1u);
  ASSERT_TRUE(restarted.commit());

  // A fork on the next day replays the parent's history, with its own
  // timestamps, before its own work.
  const std::string fork_id = "0199e7b2-1111-7a22-8b33-4c5d6e7f8091";
  const auto fork_file =
      sessions / "2025" / "10" / "15" / ("rollout-2025-10-15T08-00-00-" + fork_id + ".jsonl");
  append(fork_file, codex_meta(fork_id, parent_id) + codex_meta(parent_id) + codex_turn() +
                        codex_tokens("2025-10-15T08:00:00.100Z", first_total, first_total) +
                        codex_tokens("2025-10-15T08:00:00.100Z", second_total, second_last) +
                        codex_tokens("2025-10-15T08:00:00.200Z", {26000, 15000, 1500, 500, 27500},
                                     {6000, 4000, 300, 52, 6300}) +
                        codex_turn("gpt-5") +
                        codex_tokens("2025-10-15T08:01:00.000Z", {29000, 17000, 1600, 520, 30600},
                                     {3000, 2000, 100, 20, 3100}));
  got = restarted.poll();
  ASSERT_TRUE(got);
  auto r = lf.ingest(*got);
  EXPECT_EQ(r.accepted, 1u);
  EXPECT_EQ(r.duplicates, got->size() - 1);
  ASSERT_TRUE(restarted.commit());
  t = lf.tokens("codex");
  EXPECT_EQ(count(t, "input"), 9000 + 2000 + 1000);
  EXPECT_EQ(count(t, "cache_read"), 11000 + 4000 + 2000);
  EXPECT_EQ(count(t, "output"), 1200 + 300 + 100);
  EXPECT_EQ(count(t, "total"), 30600);
}

}  // namespace
