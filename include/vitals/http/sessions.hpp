// `GET /api/v1/sessions` (the agent sessions a session_book holds, most
// recently updated first, each summed up) and `GET /api/v1/sessions/{id}`
// (one session's METRICS.json, the 002 seed's format, by the id the agent
// sent or by its file name). Both answer 404 when the server keeps no
// sessions.
#pragma once

#include <boost/json.hpp>

#include <charconv>
#include <string>

#include "vitals/agent/session_files.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/router.hpp"

namespace vitals::http {

namespace detail {

inline boost::json::object session_summary_json(const agent::session_entry& e) {
  std::int64_t tool_calls = 0, failed = 0, interactions = 0, prompt = 0, completion = 0;
  double cost = 0;
  for (const auto& t : e.metrics.tools) tool_calls += t.call_count, failed += t.fail_count;
  for (const auto& l : e.metrics.llms) {
    interactions += l.interaction_count;
    prompt += l.prompt_tokens;
    completion += l.completion_tokens;
    cost += l.cost;
  }
  return {{"session_id", e.agent_session_id},
          {"name", e.metrics.session_id},
          {"started_at", to_rfc3339(e.metrics.started_at)},
          {"updated_at", to_rfc3339(e.metrics.updated_at)},
          {"tool_calls", tool_calls},
          {"tool_failures", failed},
          {"llm_interactions", interactions},
          {"prompt_tokens", prompt},
          {"completion_tokens", completion},
          {"cost", cost}};
}

}  // namespace detail

class sessions_route {
 public:
  static constexpr std::size_t max_limit = 1000;

  /// `book` null: this server keeps no sessions (404).
  explicit sessions_route(const agent::session_book* book) : book_(book) {}

  bool matches(std::string_view p) const noexcept {
    return p == "/api/v1/sessions" || p.starts_with("/api/v1/sessions/");
  }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("sessions");
    co_return answer(req);
  }

 private:
  response answer(const request& req) const {
    const unsigned v = req.version();
    if (!book_) return json_error(bhttp::status::not_found, "this server keeps no sessions", v);
    const auto path = path_of(req.target());
    if (path != "/api/v1/sessions") {
      auto p = checked_params(req, {});
      if (auto* r = std::get_if<response>(&p)) return std::move(*r);
      auto id = percent_decode(path.substr(std::string_view("/api/v1/sessions/").size()));
      if (!id || id->empty() || id->size() > 512 || !is_clean_text(*id))
        return bad_parameter({"id", "id: expected a session id (1 to 512 bytes of UTF-8 text)"}, v);
      auto e = book_->find(*id);
      if (!e) return json_error(bhttp::status::not_found, "no session '" + *id + "'", v);
      auto o = agent::to_json(e->metrics);
      if (e->agent_session_id != e->metrics.session_id) o["agent_session_id"] = e->agent_session_id;
      return json_answer(o, v);
    }
    auto p = checked_params(req, {"limit"});
    if (auto* r = std::get_if<response>(&p)) return std::move(*r);
    std::size_t limit = 100;
    if (auto l = std::get<params>(p).get("limit")) {
      std::size_t n = 0;
      auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), n);
      if (ec != std::errc{} || end != l->data() + l->size() || n < 1 || n > max_limit)
        return bad_parameter({"limit", "limit: expected 1 to " + std::to_string(max_limit)}, v);
      limit = n;
    }
    boost::json::array list;
    for (const auto& e : book_->list(limit)) list.push_back(detail::session_summary_json(e));
    return json_answer(boost::json::object{{"sessions", std::move(list)}, {"held", book_->size()}},
                       v);
  }

  const agent::session_book* book_;
};

}  // namespace vitals::http
