// The one URL type of vitals: an http:// address as a request needs it (host,
// port, request target, Host header), parsed by Boost.URL (RFC 3986) and then
// refused when it carries what must never reach a request line or a Host
// header: control characters or spaces (CRLF injection), user info
// (credentials, `user@host` tricks), a fragment, a bad or out-of-range port.
// Link: vitals::net (Boost.URL's compiled library).
#pragma once

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vitals/core/error.hpp"

namespace vitals::net {

struct http_url {
  std::string host;    // a name, an IPv4 address or an IPv6 address without brackets
  std::string port;    // digits, 1..65535
  std::string target;  // origin-form: path and query, never empty
  bool ipv6 = false;

  /// The Host header: `[::1]:9100`, `example.com` (port 80 left out).
  std::string host_header() const {
    std::string h = ipv6 ? "[" + host + "]" : host;
    if (port != "80") h += ":" + port;
    return h;
  }
  std::string to_string() const { return "http://" + host_header() + target; }
};

struct url_limits {
  static constexpr std::size_t max_length = 8 * 1024;
};

/// Parses "http://host[:port][/path][?query]"; an empty path becomes
/// `default_target`. Errors name the problem and never echo the URL's
/// control characters.
inline result<http_url> parse_http_url(std::string_view text,
                                       std::string_view default_target = "/") {
  const auto bad = [](std::string why) {
    return vitals::error(errc::invalid_argument, "url " + std::move(why));
  };
  if (text.size() > url_limits::max_length)
    return bad("is longer than " + std::to_string(url_limits::max_length) + " bytes");
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c <= 0x20 || c == 0x7f)
      return bad("has a control character or space at byte " + std::to_string(i));
  }
  if (text.starts_with("https://"))
    return bad(
        "uses https, which vitals does not speak: use a local TLS-terminating proxy "
        "at an http:// address");
  if (!text.starts_with("http://")) return bad("must start with http://");
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) return bad("is not a valid URL (" + parsed.error().message() + ")");
  const boost::urls::url_view& u = *parsed;
  // Boost.URL 1.81 takes "http://[::1]x/" as "[::1]": the authority must be
  // exactly what stands between "//" and the path.
  const auto end = text.find_first_of("/?#", 7);
  if (u.encoded_authority() != text.substr(7, end == std::string_view::npos ? end : end - 7))
    return bad("is not a valid URL (junk in the authority)");
  if (u.has_userinfo()) return bad("must not carry user info (user:password@)");
  if (u.has_fragment()) return bad("must not have a fragment (#...)");
  http_url out;
  switch (u.host_type()) {
    case boost::urls::host_type::name:
    case boost::urls::host_type::ipv4:
      out.host = std::string(u.encoded_host());
      break;
    case boost::urls::host_type::ipv6: {
      const std::string_view h = u.encoded_host();  // "[...]"
      out.host = std::string(h.substr(1, h.size() - 2));
      out.ipv6 = true;
      break;
    }
    default:
      return bad("has no host");
  }
  if (out.host.empty()) return bad("has no host");
  if (out.host.find('%') != std::string::npos) return bad("has a percent-encoded host or zone id");
  out.port = "80";
  if (u.has_port()) {
    const std::string_view p = u.port();
    std::uint32_t n = 0;
    const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n);
    if (p.empty() || p.size() > 5 || ec != std::errc{} || end != p.data() + p.size() || n == 0 ||
        n > 65535)
      return bad("has a bad port (1..65535)");
    out.port = std::to_string(n);
  }
  out.target = std::string(u.encoded_target());
  if (out.target.empty() || out.target.starts_with('?')) out.target.insert(0, default_target);
  return out;
}

}  // namespace vitals::net
