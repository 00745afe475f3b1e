// `GET /api/v1/events/log` and `GET /api/v1/events/log/watch` (SSE): the
// events an event store keeps (the monitor's lifecycle events), read
// through an `event_log` (runtime/event_feed.hpp). The stream reads the
// store, never a queue: on each append it is woken and sends what is new
// after the last version it sent, so a client resumes exactly with
// `Last-Event-ID` (a version) and nothing is dropped for a slow client (one
// whose socket takes no write for `write_timeout` is disconnected). Both
// answer 404 when the server has no event log.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <chrono>
#include <memory>
#include <string>

#include "vitals/core/ids.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/http/router.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/runtime/event_feed.hpp"

namespace vitals::http {

struct event_log_options {
  std::size_t default_limit = 100;
  std::size_t max_limit = 1000;
  std::string default_stream = "monitor";
  std::size_t page = 500;  // events read from the store per read while streaming
  sse_options sse{};       // ping, write_timeout and retry_ms apply
};

namespace detail {

/// An event type: 1 to 64 of [A-Za-z0-9._-].
inline bool is_event_type(std::string_view t) noexcept {
  return !t.empty() && t.size() <= 64 && is_safe_id(t);
}

inline boost::json::object stored_event_json(const stored_event& e) {
  boost::json::object o{{"stream", e.stream},
                        {"version", e.version},
                        {"type", e.event.type},
                        {"t", to_unix_ms(e.event.t)},
                        {"time", to_rfc3339(e.event.t)}};
  for (auto [k, v] :
       {std::pair{"session", &vitals::event::session}, std::pair{"plan", &vitals::event::plan},
        std::pair{"task", &vitals::event::task}})
    if (!(e.event.*v).empty()) o[k] = e.event.*v;
  boost::system::error_code ec;
  auto data = boost::json::parse(e.event.data, ec);
  if (ec)
    o["data"] = e.event.data;  // kept as given: text that is not JSON stays text
  else
    o["data"] = std::move(data);
  return o;
}

/// A whole number in [lo, hi] from a parameter or header.
inline bool whole_number(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && end == s.data() + s.size() && out >= lo && out <= hi;
}

}  // namespace detail

class event_log_route {
 public:
  /// `log` null: this server keeps no events (404).
  event_log_route(event_log* log, registry& metrics, event_log_options o = {})
      : log_(log),
        opts_(std::move(o)),
        clients_(metrics.gauge("vitals_http_event_log_clients",
                               "Clients connected to /api/v1/events/log/watch.")),
        sent_(metrics.counter("vitals_http_event_log_sent",
                              "Events sent to /api/v1/events/log/watch clients.")),
        disconnects_(metrics.counter("vitals_http_event_log_disconnects",
                                     "Event log watchers disconnected because a write timed "
                                     "out or the store could not be read.")) {
    opts_.max_limit = std::max<std::size_t>(opts_.max_limit, 1);
    opts_.page = std::max<std::size_t>(opts_.page, 1);
  }

  bool matches(std::string_view p) const noexcept {
    return p == "/api/v1/events/log" || p == "/api/v1/events/log/watch";
  }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    const bool watch = path_of(req.target()).ends_with("/watch");
    ex.route(watch ? "events_log_watch" : "events_log");
    const unsigned v = req.version();
    if (!log_) co_return json_error(bhttp::status::not_found, "this server keeps no event log", v);
    auto p = watch ? checked_params(req, {"stream", "type", "after"})
                   : checked_params(req, {"stream", "type", "from", "after", "limit"});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    const auto& ps = std::get<params>(p);
    event_query q;
    q.stream = std::string(ps.get("stream").value_or(opts_.default_stream));
    if (!is_safe_id(q.stream))
      co_return bad_parameter(
          {"stream", "stream: expected 1 to 128 characters from [A-Za-z0-9._-]"}, v);
    if (auto t = ps.get("type")) {
      if (!detail::is_event_type(*t))
        co_return bad_parameter(
            {"type",
             "type: expected 1 to 64 characters from [A-Za-z0-9._-], such as target.failing"},
            v);
      q.type = std::string(*t);
    }
    if (auto t = ps.get("from")) {
      auto from = parse_time(*t, vitals::now());
      if (!from) co_return bad_parameter({"from", "from: " + from.error().message}, v);
      q.since = *from;
    }
    std::optional<std::int64_t> after;
    if (auto a = ps.get("after")) {
      std::int64_t n = 0;
      if (!detail::whole_number(*a, 0, std::int64_t(1) << 62, n))
        co_return bad_parameter({"after", "after: expected a version, a whole number >= 0"}, v);
      after = n;
    }
    if (watch) {
      if (const auto id = req["Last-Event-ID"]; !id.empty() && !after) {
        std::int64_t n = 0;
        if (!detail::whole_number(id, 0, std::int64_t(1) << 62, n))
          co_return json_error(bhttp::status::bad_request,
                               "Last-Event-ID: expected an event version", v);
        after = n;
      }
      co_await stream(req, ex, std::move(q), after);
      co_return std::nullopt;
    }
    q.limit = opts_.default_limit;
    if (auto l = ps.get("limit")) {
      std::int64_t n = 0;
      if (!detail::whole_number(*l, 1, std::int64_t(opts_.max_limit), n))
        co_return bad_parameter(
            {"limit", "limit: expected 1 to " + std::to_string(opts_.max_limit)}, v);
      q.limit = static_cast<std::size_t>(n);
    }
    q.after = after.value_or(0);
    q.newest = !after;  // no position given: the most recent events
    auto events = log_->query(q);
    if (!events)
      co_return json_error(bhttp::status::internal_server_error, events.error().message, v);
    boost::json::array list;
    for (const auto& e : *events) list.push_back(detail::stored_event_json(e));
    boost::json::object o{{"stream", q.stream}, {"events", std::move(list)}};
    o["last_version"] = events->empty() ? q.after : events->back().version;
    co_return json_answer(o, v);
  }

 private:
  using channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  asio::awaitable<void> stream(const request& req, exchange& ex, event_query q,
                               std::optional<std::int64_t> after) {
    auto wake = std::make_shared<channel>(co_await asio::this_coro::executor, 1);
    // Watch before the first read, so no append falls between the two.
    auto w = log_->on_append([wake] { wake->try_send(boost::system::error_code{}); });
    if (!after) {  // live from now: after the newest event there is
      auto last = log_->query({.stream = q.stream, .limit = 1, .newest = true});
      after = last && !last->empty() ? last->back().version : 0;
    }
    q.after = *after;
    q.limit = opts_.page;
    const auto client = co_await start_sse(req, ex, clients_);
    if (!client) co_return;
    std::string out = "retry: " + std::to_string(opts_.sse.retry_ms) + "\n\n";
    if (co_await ex.write(out, opts_.sse.write_timeout)) co_return disconnects_.inc();

    asio::steady_timer ping(co_await asio::this_coro::executor);
    auto next_ping = std::chrono::steady_clock::now() + opts_.sse.ping;
    bool pending = true;  // read once at the start: a resume replays
    while (!ex.stopping()) {
      if (!pending) {
        ping.expires_at(next_ping);
        co_await wake_ping_or_stop(*wake, ping, ex);
        if (ex.stopping()) break;
      }
      out.clear();
      // One page per turn: a long replay goes in bounded steps with a write between.
      auto page = log_->query(q);
      if (!page) co_return disconnects_.inc();
      for (const auto& e : *page) {
        out += "id: " + std::to_string(e.version) + "\nevent: log\ndata: ";
        format::append_json_text(out, detail::stored_event_json(e));
        out += "\n\n";
        q.after = e.version;
      }
      pending = page->size() == q.limit;
      if (std::chrono::steady_clock::now() >= next_ping) {
        out += ": ping\n\n";
        next_ping = std::chrono::steady_clock::now() + opts_.sse.ping;
      }
      if (out.empty()) continue;
      if (co_await ex.write(out, opts_.sse.write_timeout)) co_return disconnects_.inc();
      sent_.inc(page->size());
    }
  }

  event_log* log_;
  event_log_options opts_;
  vitals::gauge& clients_;
  vitals::counter& sent_;
  vitals::counter& disconnects_;
};

}  // namespace vitals::http
