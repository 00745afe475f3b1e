// Scrapes another exporter's /metrics over HTTP (net::async_get: plain
// http://, a timeout and a size limit on every scrape, every resolved address
// checked against the allow-list) and keeps its samples, with
// the target's labels added. Between two scrapes it also derives the
// application metrics the 004 seed promised: `requests_per_second` from a
// chosen counter and `latency_p95_seconds` from a chosen histogram, both
// summed over the series of their family.
//
// It is an async sampler: `async_collect` is a coroutine the poller awaits,
// so a slow exporter never blocks the thread that samples everything else.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/core/quantile.hpp"
#include "vitals/format/parse.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/net/client.hpp"
#include "vitals/net/url.hpp"
#include "vitals/samplers/rate.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/samplers/scrape_flag.hpp"

namespace vitals::samplers {

struct scrape_options {
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::size_t max_bytes = 16u << 20;
  label_set labels{};               // added to every sample, e.g. {target="api"}
  std::string requests_counter{};   // family name, e.g. "http_requests" (with or without _total)
  std::string latency_histogram{};  // family name, e.g. "http_request_duration_seconds"
  /// Where scrapes may connect (checked on every resolved address); null: anywhere.
  std::shared_ptr<const net::allowlist> allow{};
};

class scrape_sampler {
 public:
  scrape_sampler(std::string url, scrape_options o = {})
      : url_(std::move(url)), opts_(std::move(o)) {
    if (opts_.requests_counter.ends_with("_total"))
      opts_.requests_counter.resize(opts_.requests_counter.size() - 6);
  }

  std::string_view name() const noexcept { return url_; }

  /// Parse errors of the scraped body (line numbers), from the last scrape.
  const std::vector<format::parse_error_item>& last_parse_errors() const noexcept {
    return parse_errors_;
  }

  boost::asio::awaitable<status> async_collect(sample_batch& out, timestamp now) {
    auto url = parse_http_url(url_);
    if (!url) co_return url.error();
    net::request_options o;
    o.timeout = opts_.timeout;
    o.max_body = opts_.max_bytes;
    o.allow = opts_.allow.get();
    o.allow_name = "scrape allow-list";
    o.headers.emplace_back(
        "Accept",
        "application/openmetrics-text;version=1.0.0;q=0.9,text/plain;version=0.0.4;q=0.5");
    o.user_agent = "vitals-scrape";
    auto res = co_await net::async_get(std::move(*url), std::move(o));
    if (!res) co_return res.error();
    if (res->status != 200)
      co_return error(errc::unavailable, url_ + ": HTTP " + std::to_string(res->status));
    auto parsed = format::parse(res->body, std::string_view(res->headers["Content-Type"]));
    parse_errors_ = std::move(parsed.errors);
    append_samples(parsed.families, now, opts_.labels, out);
    derive(parsed.families, now, out);
    if (!parse_errors_.empty() && parsed.families.empty())
      co_return error(errc::parse_error, url_ + ": malformed exposition at line " +
                                             std::to_string(parse_errors_[0].line));
    co_return status{};
  }

 private:
  void derive(const metric_snapshot& fams, timestamp now, sample_batch& out) {
    for (const auto& f : fams) {
      if (!opts_.requests_counter.empty() && f.name == opts_.requests_counter) {
        double total = 0;
        for (const auto& p : f.points) total += p.value;
        if (auto r = rates_.update(series("requests", {}), now, total))
          out.push_back({series("requests_per_second", opts_.labels), now, *r});
      }
      if (!opts_.latency_histogram.empty() && f.name == opts_.latency_histogram) {
        std::map<double, double> by_le;  // cumulative counts summed over the family's series
        for (const auto& p : f.points)
          for (const auto& b : p.buckets) by_le[b.le] += b.count;
        std::vector<bucket> now_buckets, delta;
        for (auto [le, n] : by_le) now_buckets.push_back({le, n});
        if (prev_buckets_.size() == now_buckets.size()) {
          bool reset = false;
          for (std::size_t i = 0; i < now_buckets.size(); ++i) {
            const double d = now_buckets[i].count - prev_buckets_[i].count;
            reset |= d < 0 || now_buckets[i].le != prev_buckets_[i].le;
            delta.push_back({now_buckets[i].le, d});
          }
          // Over the interval only; after a reset the new counts are the interval's.
          const auto& use = reset ? now_buckets : delta;
          if (const double q = estimate_quantile(0.95, use); !std::isnan(q))
            out.push_back({series("latency_p95_seconds", opts_.labels), now, q});
        }
        prev_buckets_ = std::move(now_buckets);
      }
    }
  }

  std::string url_;
  scrape_options opts_;
  rate_tracker rates_;
  std::vector<bucket> prev_buckets_;
  std::vector<format::parse_error_item> parse_errors_;
};

}  // namespace vitals::samplers
