// Channel activity (the 000 seed's ChannelMetric): how many messages,
// members and reactions a workspace channel has at a point in time, as a
// chat bridge or an orchestrator reports it. Each report becomes three
// samples in the monitor's sample store, so channels share its backend,
// retention (--retention-samples) and query API:
//   vitals_channel_messages{channel="general"}   message_count
//   vitals_channel_members{channel="general"}    member_count
//   vitals_channel_reactions{channel="general"}  reaction_count
// channels_json() answers the seed's QueryChannel{Messages,Members,Reactions}
// per step: each channel's last reported counts in each bucket.
#pragma once

#include <boost/json/value.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/agent/report_queries.hpp"
#include "vitals/core/concepts.hpp"
#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/core/time.hpp"
#include "vitals/stores/query.hpp"

namespace vitals::agent {

/// One report of a channel's counts; a count not reported is not written.
struct channel_metric {
  timestamp time{};
  std::string channel;
  std::optional<std::int64_t> messages, members, reactions;
};

namespace detail {

struct channel_count {
  std::string_view field;   // the seed's JSON name
  std::string_view series;  // the sample's name
  std::optional<std::int64_t> channel_metric::*member;
};
inline constexpr channel_count channel_counts[] = {
    {"message_count", "vitals_channel_messages", &channel_metric::messages},
    {"member_count", "vitals_channel_members", &channel_metric::members},
    {"reaction_count", "vitals_channel_reactions", &channel_metric::reactions},
};

// Counts are exact in a double up to 2^53.
inline constexpr std::int64_t max_channel_count = std::int64_t(1) << 53;

}  // namespace detail

/// Channel names: 1 to 256 bytes of UTF-8 without control characters (a label value).
inline constexpr std::size_t max_channel_name = 256;

/// One report from a JSON object: `channel_name` (required), `time` (RFC
/// 3339; default `received`, at most 5 minutes ahead of it), and at least
/// one of `message_count`, `member_count`, `reaction_count` (integers from 0
/// to 2^53). An error names the field.
inline result<channel_metric> parse_channel_metric(const boost::json::value& v,
                                                   timestamp received) {
  const auto* o = v.if_object();
  if (!o) return error(errc::invalid_argument, "expected a JSON object");
  auto bad = [](std::string_view field, std::string_view what) {
    return error(errc::invalid_argument, std::string(field) + ": " + std::string(what));
  };
  channel_metric m;
  m.time = received;
  bool named = false;
  for (const auto& [key, val] : *o) {
    if (key == "channel_name") {
      if (!val.is_string()) return bad(key, "expected a string");
      const auto& s = val.get_string();
      if (s.empty() || s.size() > max_channel_name) return bad(key, "expected 1 to 256 bytes");
      if (auto st = check_label_value("channel", std::string_view(s.data(), s.size())); !st)
        return bad(key, st.error().message);
      if (std::any_of(s.begin(), s.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; }))
        return bad(key, "control characters are not allowed");
      m.channel = std::string(s);
      named = true;
      continue;
    }
    if (key == "time") {
      const auto t = val.is_string() ? parse_rfc3339(val.get_string()) : std::nullopt;
      if (!t) return bad(key, "expected an RFC 3339 time such as 2026-11-26T10:00:00Z");
      if (*t > received + std::chrono::minutes(5))
        return bad(key, "more than 5 minutes in the future");
      m.time = *t;
      continue;
    }
    bool known = false;
    for (const auto& c : detail::channel_counts) {
      if (c.field != key) continue;
      known = true;
      std::int64_t n = -1;
      if (val.is_int64()) n = val.get_int64();
      if (val.is_uint64() && val.get_uint64() <= std::uint64_t(detail::max_channel_count))
        n = std::int64_t(val.get_uint64());
      if (n < 0 || n > detail::max_channel_count)
        return bad(key, "expected an integer from 0 to 2^53");
      m.*c.member = n;
    }
    if (!known) return bad(key, "unknown field");
  }
  if (!named) return bad("channel_name", "missing");
  if (!m.messages && !m.members && !m.reactions)
    return bad("message_count",
               "expected at least one of message_count, member_count, reaction_count");
  return m;
}

/// The report's samples (one per count it carries).
inline void append_channel_samples(const channel_metric& m, std::vector<sample>& out) {
  for (const auto& c : detail::channel_counts)
    if (const auto& n = m.*c.member)
      out.push_back(
          {series(std::string(c.series), label_set{{"channel", m.channel}}), m.time, double(*n)});
}

/// At most this many channels in one answer (the rest are counted in
/// `channels_omitted`); buckets per channel: max_report_buckets.
inline constexpr std::size_t max_report_channels = 1000;

/// {"step_seconds", "from", "to", "channels": [{"channel", "points": [{"start",
/// "message_count", "member_count", "reaction_count"}]}], "channels_omitted"}:
/// per channel (or only `channel`) and per bucket of `step` from the unix
/// epoch, the last count reported in the bucket (absent when none was).
/// A channel reported by several hosts (series that differ in other labels,
/// as in a fleet view) answers the latest of their reports, whichever series
/// holds it. Buckets without a report are left out. The caller bounds
/// (to - from) / step.
template <store Samples>
boost::json::object channels_json(Samples& samples, timestamp from, timestamp to,
                                  std::chrono::seconds step, std::string_view only = {}) {
  struct counts {
    std::optional<double> v[3];
    timestamp at[3]{};  // when v[i] was reported
  };
  // channel -> bucket start (ms) -> counts
  std::map<std::string, std::map<std::int64_t, counts>> by_channel;
  std::size_t omitted = 0;
  const std::int64_t step_ms = std::chrono::duration_cast<std::chrono::milliseconds>(step).count();
  for (const auto& s : samples.list_series()) {
    std::size_t which = 3;
    for (std::size_t i = 0; i < 3; ++i)
      if (s.name() == detail::channel_counts[i].series) which = i;
    if (which == 3 || step_ms <= 0) continue;
    const std::string channel(s.labels().get("channel"));
    if (channel.empty() || (!only.empty() && channel != only)) continue;
    if (!by_channel.contains(channel) && by_channel.size() >= max_report_channels) {
      ++omitted;  // counted once per series: a bound, not an exact count of channels
      continue;
    }
    auto& buckets = by_channel[channel];
    // The last report of each step, steps from the epoch, the latest across series.
    for (const auto& p : samples.range(s, from, to)) {
      if (p.t < from || p.t > to) continue;
      auto& c = buckets[stores::detail::bucket_start(to_unix_ms(p.t), 0, step_ms)];
      if (!c.v[which] || p.t >= c.at[which]) c.v[which] = p.value, c.at[which] = p.t;
    }
  }
  boost::json::array channels;
  for (const auto& [channel, buckets] : by_channel) {
    boost::json::array points;
    for (const auto& [start, c] : buckets) {
      boost::json::object p;
      p["start"] = to_rfc3339(from_unix_ms(start));
      for (std::size_t i = 0; i < 3; ++i)
        // A value no report could carry (another writer of the series) is left out.
        if (c.v[i] && *c.v[i] >= 0 && *c.v[i] <= double(detail::max_channel_count))
          p[detail::channel_counts[i].field] = std::int64_t(*c.v[i]);
      points.push_back(std::move(p));
    }
    channels.push_back({{"channel", channel}, {"points", std::move(points)}});
  }
  boost::json::object o;
  o["step_seconds"] = step.count();
  o["from"] = to_rfc3339(from);
  o["to"] = to_rfc3339(to);
  o["channels"] = std::move(channels);
  o["channels_omitted"] = omitted;
  return o;
}

}  // namespace vitals::agent
