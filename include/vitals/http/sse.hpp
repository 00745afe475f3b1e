// `GET /api/v1/watch`: new samples as Server-Sent Events. Each client owns a
// bounded queue in the store's watch hub, so a slow client loses its own
// oldest samples (counted, and told with `event: dropped`) and never slows
// the writer or the other clients; one still behind after a few rounds, or
// whose socket takes no write for 10 s, is disconnected. `Last-Event-ID`
// (a sample time in unix ms) first replays what the store still holds: at
// most `max_replay` samples (the newest; the rest are counted and the client
// is told with `event: dropped`), read one series at a time with a yield in
// between, so one resume neither holds the store nor starves other clients.
// HEAD gets the stream's header only.
#pragma once

#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/concurrent_channel.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "vitals/http/api.hpp"
#include "vitals/http/json_answer.hpp"
#include "vitals/stores/watch.hpp"

namespace vitals::http {

struct sse_options {
  std::chrono::milliseconds ping{std::chrono::seconds(15)};
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  std::size_t queue = 4096;         // samples buffered per client
  int behind_rounds = 3;            // consecutive rounds with drops before disconnecting
  std::size_t max_replay = 10'000;  // samples replayed on resume (the newest)
  // How far back a resume reaches, whatever Last-Event-ID says: the store is
  // read over this window only, so a `Last-Event-ID: 0` costs what a resume
  // after a short disconnect does.
  std::chrono::milliseconds max_replay_window{std::chrono::minutes(15)};
  int retry_ms = 3000;
};

/// One connected SSE client, counted in a gauge while it lives.
class sse_client {
 public:
  explicit sse_client(vitals::gauge& clients) : clients_(&clients) { clients_->add(1); }
  sse_client(sse_client&& o) noexcept : clients_(std::exchange(o.clients_, nullptr)) {}
  sse_client& operator=(sse_client&&) = delete;
  ~sse_client() {
    if (clients_) clients_->add(-1);
  }

 private:
  vitals::gauge* clients_;
};

/// Writes the head of an SSE answer (an event stream, not cached, not
/// buffered by proxies, closed at its end) and returns the client, counted
/// in `clients`; nothing when no body is to follow (the write failed, or the
/// request was a HEAD).
inline asio::awaitable<std::optional<sse_client>> start_sse(const request& req, exchange& ex,
                                                            vitals::gauge& clients) {
  bhttp::response<bhttp::empty_body> head{bhttp::status::ok, req.version()};
  head.set(bhttp::field::content_type, "text/event-stream");
  head.set(bhttp::field::cache_control, "no-cache");
  head.set(bhttp::field::server, "vitals");
  head.set("X-Accel-Buffering", "no");
  head.keep_alive(false);
  if (co_await ex.write_header(head) || ex.head()) co_return std::nullopt;
  co_return sse_client(clients);
}

/// The wait of an SSE loop: the first of a wake-up on `wake`, the `ping`
/// timer (set by the caller) and the connection stopping. One composed
/// operation, not three coroutines: it runs per client per event.
template <class Channel>
auto wake_ping_or_stop(Channel& wake, asio::steady_timer& ping, exchange& ex) {
  return asio::experimental::make_parallel_group(wake.async_receive(asio::deferred),
                                                 ping.async_wait(asio::deferred),
                                                 ex.async_wait_stopped(asio::deferred))
      .async_wait(asio::experimental::wait_for_one(), asio::use_awaitable);
}

/// `Store` is a `store` that is `watchable` with a stores::selector
/// (core/watching.hpp): a subscription whose bounded queue `notify` signals
/// from the writer's thread.
template <store Store>
requires watchable<Store, stores::selector>
class watch_route {
 public:
  watch_route(Store& s, registry& metrics, sse_options o = {})
      : store_(s),
        opts_(o),
        clients_(metrics.gauge("vitals_http_sse_clients", "Connected SSE clients.")),
        events_(metrics.counter("vitals_http_sse_events", "Samples sent to SSE clients.")),
        dropped_(metrics.counter("vitals_http_sse_dropped",
                                 "Samples dropped because an SSE client fell behind.")),
        replay_skipped_(metrics.counter(
            "vitals_http_sse_replay_skipped",
            "Samples not replayed on resume because the replay was over its bound.")),
        disconnects_(metrics.counter_family("vitals_http_sse_disconnects",
                                            "SSE clients disconnected by the server, by cause.",
                                            {"cause"})) {}

  bool matches(std::string_view p) const noexcept { return p == "/api/v1/watch"; }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("watch");
    auto p = checked_params(req, {"sel"});
    if (auto* r = std::get_if<response>(&p)) co_return std::move(*r);
    auto sel = detail::selector_param(std::get<params>(p), req.version());
    if (auto* r = std::get_if<response>(&sel)) co_return std::move(*r);
    std::optional<std::int64_t> resume;
    if (const auto id = req["Last-Event-ID"]; !id.empty()) {
      std::int64_t v = 0;
      auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), v);
      if (ec != std::errc{} || end != id.data() + id.size())
        co_return json_error(bhttp::status::bad_request,
                             "Last-Event-ID: expected unix milliseconds", req.version());
      resume = v;
    }
    co_await stream(req, ex, std::move(std::get<stores::selector>(sel)), resume);
    co_return std::nullopt;
  }

 private:
  using channel = asio::experimental::concurrent_channel<void(boost::system::error_code)>;

  asio::awaitable<void> stream(const request& req, exchange& ex, stores::selector sel,
                               std::optional<std::int64_t> resume) {
    // Subscribe before replaying, so nothing falls between the two.
    auto wake = std::make_shared<channel>(co_await asio::this_coro::executor, 1);
    auto sub = store_.watch(
        sel, [wake] { wake->try_send(boost::system::error_code{}); }, opts_.queue);
    const auto client = co_await start_sse(req, ex, clients_);
    if (!client) co_return;

    std::string out = "retry: " + std::to_string(opts_.retry_ms) + "\n\n";
    std::unordered_map<series, std::int64_t, series_hasher> replayed;
    if (resume) co_await replay(sel, *resume, out, replayed);
    if (co_await ex.write(out, opts_.write_timeout)) co_return disconnect("write_timeout");

    asio::steady_timer ping(co_await asio::this_coro::executor);
    auto next_ping = std::chrono::steady_clock::now() + opts_.ping;
    std::uint64_t seen_drops = 0;
    int behind = 0;
    while (!ex.stopping()) {
      ping.expires_at(next_ping);
      co_await wake_ping_or_stop(*wake, ping, ex);
      if (ex.stopping()) break;
      out.clear();
      std::size_t sent = 0;
      for (const auto& s : sub.drain()) {
        if (!replayed.empty()) {
          auto it = replayed.find(s.series);
          if (it != replayed.end() && to_unix_ms(s.t) <= it->second) continue;
        }
        append_event(out, s.series, s.t, s.value);
        ++sent;
      }
      if (const auto d = sub.dropped(); d > seen_drops) {
        dropped_.inc(d - seen_drops);
        out += "event: dropped\ndata: {\"dropped\":" + std::to_string(d - seen_drops) + "}\n\n";
        seen_drops = d;
        if (++behind >= opts_.behind_rounds) co_return disconnect("slow");
      } else {
        behind = 0;
      }
      if (std::chrono::steady_clock::now() >= next_ping) {
        out += ": ping\n\n";
        next_ping += opts_.ping;
      }
      if (out.empty()) continue;
      if (co_await ex.write(out, opts_.write_timeout)) co_return disconnect("write_timeout");
      events_.inc(sent);
    }
  }

  void disconnect(std::string_view cause) { disconnects_.with(cause).inc(); }

  // What matches with t >= since, in time order, then remembered per series
  // so the live stream does not repeat it. Over `max_replay`, the newest
  // samples are kept and the client hears how many older ones it missed.
  asio::awaitable<void> replay(const stores::selector& sel, std::int64_t since, std::string& out,
                               std::unordered_map<series, std::int64_t, series_hasher>& replayed) {
    std::vector<series> ids;
    std::vector<std::pair<std::size_t, point>> kept;  // (index in ids, point)
    const auto newer = [](const auto& a, const auto& b) { return a.second.t > b.second.t; };
    std::size_t skipped = 0;
    const auto to = vitals::now() + std::chrono::hours(1);
    since = std::max(since, to_unix_ms(vitals::now() - opts_.max_replay_window));
    for (auto& id : store_.list_series()) {
      if (!sel.matches(id)) continue;
      const auto points = store_.range(id, from_unix_ms(since), to);
      if (!points.empty()) ids.push_back(std::move(id));
      for (const auto& pt : points) kept.emplace_back(ids.size() - 1, pt);
      if (kept.size() > opts_.max_replay) {  // keep the newest max_replay: bounded memory
        std::nth_element(kept.begin(), kept.begin() + std::ptrdiff_t(opts_.max_replay), kept.end(),
                         newer);
        skipped += kept.size() - opts_.max_replay;
        kept.resize(opts_.max_replay);
      }
      // One series per turn: other connections on this thread go on meanwhile.
      co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);
    }
    std::stable_sort(kept.begin(), kept.end(),
                     [](const auto& a, const auto& b) { return a.second.t < b.second.t; });
    if (skipped > 0) {
      replay_skipped_.inc(skipped);
      out += "event: dropped\ndata: {\"dropped\":" + std::to_string(skipped) +
             ",\"cause\":\"replay_limit\"}\n\n";
    }
    for (const auto& [i, pt] : kept) {
      append_event(out, ids[i], pt.t, pt.value);
      auto& last = replayed[ids[i]];
      last = std::max(last, to_unix_ms(pt.t));
    }
    events_.inc(kept.size());
  }

  static void append_event(std::string& out, const series& id, timestamp t, double value) {
    boost::json::object o;
    o["name"] = id.name();
    o["labels"] = labels_json(id.labels());
    o["t"] = to_unix_ms(t);
    o["v"] = value_json(value);
    out += "id: ";
    out += std::to_string(to_unix_ms(t));
    out += "\nevent: sample\ndata: ";
    format::append_json_text(out, o);
    out += "\n\n";
  }

  Store& store_;
  sse_options opts_;
  vitals::gauge& clients_;
  vitals::counter& events_;
  vitals::counter& dropped_;
  vitals::counter& replay_skipped_;
  family<vitals::counter>& disconnects_;
};

}  // namespace vitals::http
