// A scrape target as flags and the API give it, checked before anything is
// scraped: its URL, the allow-list, and the `--scrape` value's options. Apart
// from scrape.hpp, so that a command line parser does not include the HTTP
// client (agent_monitor's flags.hpp, scrape_relay.cpp).
#pragma once

#include <string>
#include <string_view>

#include "vitals/core/error.hpp"
#include "vitals/core/labels.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/net/url.hpp"

namespace vitals::samplers {

using url_parts = net::http_url;

/// http://host[:port][/path]; the path defaults to /metrics. Anything else
/// (https, user info, control characters, a bad port) is an error value.
inline result<url_parts> parse_http_url(std::string_view url) {
  return net::parse_http_url(url, "/metrics");
}

/// Checks a scrape target against an allow-list before it is tracked: an
/// address outside it is refused now, a name not listed when it resolves.
inline status check_scrape_target(std::string_view url, const net::allowlist* allow) {
  auto u = parse_http_url(url);
  if (!u) return u.error();
  if (allow && allow->check_host(u->host) == net::allowlist::verdict::refused)
    return error(errc::invalid_argument, "host " + u->host + " is not in the scrape allow-list");
  return {};
}

/// A scrape target as a command line gives it (`--scrape`): the URL, then
/// optionally `,requests_counter=NAME` and `,latency_histogram=NAME`, e.g.
/// `http://h:9100/metrics,requests_counter=http_requests_total`. Options are
/// taken from the end: a last comma followed by `word=` is an option (an
/// unknown word is an error, so a typo is not scraped as part of the path);
/// any other comma is the URL's own and kept.
struct scrape_flag {
  std::string url;
  std::string requests_counter{};
  std::string latency_histogram{};
};

/// A requests_counter or latency_histogram name: a metric name; `field`
/// names it in the error.
inline status check_scrape_family(std::string_view field, std::string_view name) {
  if (name.size() > 200 || !is_valid_metric_name(name))
    return error(errc::invalid_argument,
                 std::string(field) + ": expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*), got '" +
                     std::string(name.substr(0, 200)) + "'");
  return {};
}

inline result<scrape_flag> parse_scrape_flag(std::string_view value) {
  scrape_flag f;
  // At most the two options, each once: the loop runs twice at most.
  for (int i = 0; i < 2; ++i) {
    const auto comma = value.rfind(',');
    if (comma == std::string_view::npos) break;
    const auto opt = value.substr(comma + 1);
    const auto eq = opt.find('=');
    const auto key = opt.substr(0, eq);
    const bool word = eq != std::string_view::npos && eq > 0 &&
                      key.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == key.npos;
    if (!word) break;  // the URL's own comma
    if (key != "requests_counter" && key != "latency_histogram")
      return error(errc::invalid_argument,
                   "unknown option '" + std::string(key.substr(0, 64)) +
                       "': expected requests_counter or latency_histogram (a comma the URL "
                       "needs before NAME= is written %2C)");
    auto& out = key == "requests_counter" ? f.requests_counter : f.latency_histogram;
    if (!out.empty()) return error(errc::invalid_argument, std::string(key) + ": given twice");
    if (auto st = check_scrape_family(key, opt.substr(eq + 1)); !st) return st.error();
    out = std::string(opt.substr(eq + 1));
    value = value.substr(0, comma);
  }
  if (auto u = parse_http_url(value); !u)
    return error(errc::invalid_argument, "url: " + u.error().message);
  f.url = std::string(value);
  return f;
}

}  // namespace vitals::samplers
