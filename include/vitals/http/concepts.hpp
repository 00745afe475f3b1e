// The HTTP layer's own contract, in one place: what the server calls
// (`request_handler`), what a router dispatches to (`route`), and what the
// bundled routes read from the layers below (`event_ingest`,
// `usage_reports`, `spool_source`). They stay in http/, not core/, because
// they are stated in requests, exchanges and JSON answers; the data-plane
// concepts are in core/ (see core/concepts.hpp for the map).
//
// This file is below server.hpp, so it includes no agent/ header: a server
// that serves no usage pays nothing for them. The agent-facing concepts check
// the shape the route reads (event_ingest), or name the one agent type they
// need by an opaque declaration (usage_reports: agent::daily_by).
#pragma once

#include <boost/json/fwd.hpp>  // the reports are named, never built, here

#include <chrono>
#include <concepts>
#include <cstddef>
#include <optional>
#include <ranges>
#include <string>
#include <string_view>

#include "vitals/core/error.hpp"
#include "vitals/core/time.hpp"
#include "vitals/http/exchange.hpp"

namespace vitals::agent {
enum class daily_by;  // agent/reports.hpp: model, agent, tool or provider
}  // namespace vitals::agent

namespace vitals::http {

// --- request_handler -------------------------------------------------------
// 1. `h.handle(req, ex)` returns `asio::awaitable<std::optional<response>>`:
//    the answer, or nullopt after streaming one through `ex` (then the
//    connection closes). A coroutine, so a slow answer (a database, an SSE
//    stream) holds no thread. It runs on the connection's strand; several
//    connections may run it at once on a multi-threaded executor, so shared
//    state needs its own synchronisation.
template <class H>
concept request_handler = requires(H& h, const request& req, exchange& ex) {
  { h.handle(req, ex) } -> std::same_as<asio::awaitable<std::optional<response>>>;
};

// --- route -----------------------------------------------------------------
// 1. `r.matches(path)` says whether this route owns the path (exact or a
//    prefix such as "/api/v1/targets/"), so 404 and 405 can be told apart.
// 2. `r.allows(method)` says whether it answers the method, and
// 3. `r.allow()` lists them as the `Allow` header's value: a 405 must carry
//    it (RFC 9110).
// 4. `r.handle(req, ex)`: as request_handler 1; the router calls it only for
//    a path it matches and a method it allows.
template <class R>
concept route = requires(R& r, const request& req, exchange& ex, std::string_view path,
                         bhttp::verb v) {
  { r.matches(path) } -> std::convertible_to<bool>;
  { r.allows(v) } -> std::convertible_to<bool>;
  { r.allow() } -> std::convertible_to<std::string_view>;
  { r.handle(req, ex) } -> std::same_as<asio::awaitable<std::optional<response>>>;
};

// --- event_ingest ----------------------------------------------------------
// What `POST /api/v1/events` hands its body to (agent::ledger).
// 1. `l.ingest(body)` takes one JSON object, an array or NDJSON and answers
//    per line: good lines are kept when others are rejected, so one bad line
//    never costs a batch. Its answer has
// 2. `accepted` and `duplicates`, counts convertible to `std::size_t`
//    (a duplicate is not an error: agents resend), and
// 3. `rejected`, a range whose elements have `line` (convertible to
//    `std::size_t`) and `error` (convertible to `std::string_view`): a 400
//    names the line and why, so the sender can fix just that one.
template <class L>
concept event_ingest = requires(L& l, std::string_view body) {
  { l.ingest(body).accepted } -> std::convertible_to<std::size_t>;
  { l.ingest(body).duplicates } -> std::convertible_to<std::size_t>;
  { l.ingest(body).rejected } -> std::ranges::input_range;
  { l.ingest(body).rejected.begin()->line } -> std::convertible_to<std::size_t>;
  { l.ingest(body).rejected.begin()->error } -> std::convertible_to<std::string_view>;
};

// --- usage_reports ---------------------------------------------------------
// What `GET /api/v1/usage/<report>` reads (agent::usage_reports). Each report
// is a `result` of JSON: a failed query is a 500 with its message, never a
// partial answer; the route adds nothing but the status line.
// 1. `u.daily(from, to, by, agent)` returns `result<boost::json::object>`:
//    per UTC day, the groups of `agent::daily_by` ordered by cost (`agent`
//    empty: every agent).
// 2. `u.summary(agent, from, to, now)` returns `result<boost::json::array>`: one
//    entry per agent (or just `agent`), resources and usage over the window.
// 3. `u.agents(now)` returns `result<boost::json::object>`: each agent's state
//    and resources, the state counts and the utilisation.
// 4. `u.blocks(hours, from, now, agent)` returns `result<boost::json::object>`: billing
//    blocks of `hours`, with burn rate and projection for the open one.
// 5. `u.series(from, to, by, step, agent)` returns `result<boost::json::object>`:
//    the daily report's groups per `step` (one of agent::series_steps; the
//    route checks it first).
// 6. Each takes a host last (`host`, a std::string; empty: every host): only
//    that host's events and agents, for a fleet sharing one store.
template <class U>
concept usage_reports = requires(U& u, std::optional<std::string_view> agent, timestamp t,
                                 agent::daily_by by, std::string name, std::chrono::hours h) {
  { u.daily(t, t, by, name, name) } -> std::same_as<result<boost::json::object>>;
  { u.summary(agent, t, t, t, name) } -> std::same_as<result<boost::json::array>>;
  { u.agents(t, name) } -> std::same_as<result<boost::json::object>>;
  { u.blocks(h, t, t, name, name) } -> std::same_as<result<boost::json::object>>;
  {
    u.series(t, t, by, std::string_view{}, name, name)
    } -> std::same_as<result<boost::json::object>>;
};

// --- spool_source ----------------------------------------------------------
// What `GET /api/v1/usage/spool` reads (agent::ledger).
// 1. `l.spool_status(n)`, callable on a const object (a status page changes
//    nothing), returns the events waiting in the spool as `pending` and the
//    dead letters as `dead`, both convertible to `std::size_t`, with the
//    newest `n` dead records: a bounded answer however many failed.
template <class L>
concept spool_source = requires(const L& l, std::size_t n) {
  { l.spool_status(n).pending } -> std::convertible_to<std::size_t>;
  { l.spool_status(n).dead } -> std::convertible_to<std::size_t>;
};

}  // namespace vitals::http
