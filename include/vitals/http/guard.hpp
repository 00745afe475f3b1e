// What the server checks right after a request's header is read, before a
// `100 Continue` or any body byte: that the Host names this server (no DNS
// rebinding) and, when no token is configured, that a state-changing request
// cannot have come from another origin's web page (no CSRF): a cross-origin
// `Origin` is refused, and a body must carry a JSON media type, which a page
// cannot send to another origin without a CORS preflight that we never grant.
// A refusal is a value: status, message and the header it names.
#pragma once

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/status.hpp>
#include <boost/beast/http/verb.hpp>
#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vitals::http {

struct refusal {
  boost::beast::http::status status;
  std::string message;
  std::string header;      // the header at fault: "Host", "Origin", "Content-Type"
  std::string_view route;  // the access counter's route label
};

namespace detail {

/// `host[:port]` or `[v6][:port]` split; nullopt when it is neither. The
/// host comes back lower-cased and without brackets; the port as text
/// (empty when absent), digits only.
struct authority {
  std::string host;
  std::string port;
};

inline std::optional<authority> split_authority(std::string_view s) {
  // RFC 3986 authority by Boost.URL, the parser net/url.hpp uses; user info
  // (`user@host`) has no place in a Host or an Origin.
  const auto parsed = boost::urls::parse_authority(s);
  if (!parsed || parsed->has_userinfo()) return std::nullopt;
  std::string_view host = parsed->encoded_host();
  switch (parsed->host_type()) {
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4:
      break;
    case boost::urls::host_type::ipv6:
      host = host.substr(1, host.size() - 2);  // without the brackets
      break;
    default:
      return std::nullopt;
  }
  const std::string_view port = parsed->port();
  if (host.empty() || host.size() > 255 || host.find('%') != std::string_view::npos ||
      port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  authority a;
  a.host.reserve(host.size());
  for (char c : host) a.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.port = std::string(port);
  return a;
}

/// An IP literal (v4, or v6 without brackets), nullopt for a name.
inline std::optional<boost::asio::ip::address> ip_literal(std::string_view host) {
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return a;
}

inline bool is_loopback(const boost::asio::ip::address& a) {
  if (a.is_loopback()) return true;
  return a.is_v6() && a.to_v6().is_v4_mapped() &&
         boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
}

/// The media type of a Content-Type value, lower-cased, parameters dropped.
inline std::string media_type(std::string_view v) {
  v = v.substr(0, v.find(';'));
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  std::string out;
  for (char c : v.substr(0, 128))
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace detail

/// Who may be named in Host: loopback names and addresses always; the
/// listen address; the address the client connected to (an IP literal only
/// its own origin's pages can use); and `allowed` (names, any port).
struct host_policy {
  std::string listen_address;
  std::vector<std::string> allowed;
  boost::asio::ip::address local{};  // this connection's local address

  bool allows(std::string_view host) const {
    if (host == "localhost") return true;
    if (const auto ip = detail::ip_literal(host)) {
      if (detail::is_loopback(*ip) || *ip == local) return true;
      if (const auto listen = detail::ip_literal(listen_address); listen && *listen == *ip)
        return true;
    }
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& a) { return boost::beast::iequals(a, host); });
  }
};

/// Host, then (without a token) Origin and Content-Type. `path` is the
/// target's path; `has_body` whether a body follows the header.
template <class Fields>
std::optional<refusal> check_request(const boost::beast::http::request_header<Fields>& req,
                                     std::string_view path, bool has_body, const host_policy& hosts,
                                     bool token_set) {
  namespace bhttp = boost::beast::http;
  // A client without a Host (HTTP/1.0, raw tools) is no browser: nothing to check.
  const auto host_value = req[bhttp::field::host];
  std::optional<detail::authority> host;
  if (!host_value.empty()) {
    host = detail::split_authority(host_value);
    if (!host || !hosts.allows(host->host))
      return refusal{bhttp::status::misdirected_request,
                     "Host '" + std::string(host_value.substr(0, 256)) +
                         "' is not this server's; allowed: localhost, loopback addresses, the "
                         "listen address and --allow-host names",
                     "Host", "misdirected"};
  }
  if (token_set) return std::nullopt;  // a page cannot know the token
  const auto m = req.method();
  const bool changes = m == bhttp::verb::post || m == bhttp::verb::put || m == bhttp::verb::patch ||
                       m == bhttp::verb::delete_;
  if (!changes) return std::nullopt;
  if (const auto origin = req[bhttp::field::origin]; !origin.empty()) {
    // Same origin: the Origin's host:port is the Host's (default ports filled in).
    std::optional<detail::authority> o;
    std::string_view default_port;
    if (origin.starts_with("http://")) {
      o = detail::split_authority(origin.substr(7));
      default_port = "80";
    } else if (origin.starts_with("https://")) {
      o = detail::split_authority(origin.substr(8));
      default_port = "443";
    }
    const auto port_or = [](const detail::authority& a, std::string_view d) {
      return a.port.empty() ? std::string(d) : a.port;
    };
    if (!o || !host || o->host != host->host ||
        port_or(*o, default_port) != port_or(*host, default_port))
      return refusal{bhttp::status::forbidden,
                     "cross-origin request refused: Origin '" + std::string(origin.substr(0, 256)) +
                         "' is not this server (set a token to use the API from elsewhere)",
                     "Origin", "cross_origin"};
  }
  // A bodiless DELETE is never sent cross-origin without a preflight; every
  // other state change must say it carries JSON.
  const auto type_value = req[bhttp::field::content_type];
  if (m == bhttp::verb::delete_ && !has_body && type_value.empty()) return std::nullopt;
  const auto type = detail::media_type(type_value);
  // OTLP's binary media type is not one a page may send cross-origin
  // without a preflight either.
  const bool otlp = path == "/v1/metrics" || path == "/v1/logs" || path == "/v1/traces";
  const bool ndjson = path == "/api/v1/events" || path == "/api/v1/channels";
  if (type == "application/json" || (type == "application/x-ndjson" && ndjson) ||
      (otlp && (type == "application/x-protobuf" || type == "application/protobuf")))
    return std::nullopt;
  return refusal{bhttp::status::unsupported_media_type,
                 (type.empty() ? std::string("no Content-Type") : "Content-Type '" + type + "'") +
                     " is not accepted: send application/json" +
                     (ndjson ? " or application/x-ndjson"
                      : otlp ? " or application/x-protobuf"
                             : ""),
                 "Content-Type", "unsupported_media_type"};
}

}  // namespace vitals::http
