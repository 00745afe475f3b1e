// Where a client may connect: host names (exact, case-insensitive) and
// address ranges (CIDR, or one address). An empty list allows everything.
// A name is checked before resolving and every address it resolves to is
// checked again, so a DNS name cannot point around the list; IPv4-mapped
// IPv6 addresses are checked as the IPv4 address they carry.
// Link: vitals::net.
#pragma once

#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/error.hpp"

namespace vitals::net {

class allowlist {
 public:
  enum class verdict { allowed, refused, resolve_first };
  static constexpr std::size_t max_entries = 1024;

  /// "host.name", "10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8".
  status add(std::string_view entry) {
    if (names_.size() + ranges_.size() >= max_entries)
      return error(errc::limit_exceeded,
                   "at most " + std::to_string(max_entries) + " allow-list entries");
    std::string_view addr = entry;
    int prefix = -1;
    if (const auto slash = entry.find('/'); slash != std::string_view::npos) {
      addr = entry.substr(0, slash);
      const auto p = entry.substr(slash + 1);
      const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
      if (p.empty() || ec != std::errc{} || end != p.data() + p.size() || prefix < 0)
        return bad(entry, "a prefix length after '/'");
    }
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(std::string(addr), ec);
    if (!ec) {
      const auto n = normal(a);
      const int bits = n.is_v4() ? 32 : 128;
      if (prefix > bits) return bad(entry, "a prefix length of at most " + std::to_string(bits));
      ranges_.push_back({n, prefix < 0 ? bits : prefix});
      return {};
    }
    if (prefix >= 0) return bad(entry, "an IP address before '/'");
    if (entry.empty() || entry.size() > 253 || !std::all_of(entry.begin(), entry.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-';
        }))
      return bad(entry, "a host name, an IP address or a CIDR range");
    names_.push_back(lower(entry));
    return {};
  }

  bool empty() const noexcept { return names_.empty() && ranges_.empty(); }

  /// Before connecting: a listed name or an address in a range is allowed,
  /// an address outside every range refused; any other name is decided by
  /// the addresses it resolves to.
  verdict check_host(std::string_view host) const {
    if (empty()) return verdict::allowed;
    boost::system::error_code ec;
    const auto a = boost::asio::ip::make_address(std::string(host), ec);
    if (!ec) return allows(a) ? verdict::allowed : verdict::refused;
    const auto l = lower(host);
    if (std::find(names_.begin(), names_.end(), l) != names_.end()) return verdict::allowed;
    return verdict::resolve_first;
  }

  /// After resolving: a listed host name may connect wherever it resolves;
  /// any other only to an address inside a range.
  bool allows(std::string_view host, const boost::asio::ip::address& a) const {
    return check_host(host) == verdict::allowed || allows(a);
  }

  bool allows(const boost::asio::ip::address& a) const {
    if (empty()) return true;
    const auto n = normal(a);
    for (const auto& r : ranges_)
      if (in_range(n, r)) return true;
    return false;
  }

 private:
  struct range {
    boost::asio::ip::address base;
    int prefix;
  };

  static boost::asio::ip::address normal(const boost::asio::ip::address& a) {
    if (a.is_v6() && a.to_v6().is_v4_mapped())
      return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6());
    return a;
  }

  static bool in_range(const boost::asio::ip::address& a, const range& r) {
    if (a.is_v4() != r.base.is_v4()) return false;
    const auto bytes = [](const boost::asio::ip::address& x) {
      std::array<unsigned char, 16> out{};
      if (x.is_v4()) {
        const auto b = x.to_v4().to_bytes();
        std::copy(b.begin(), b.end(), out.begin());
      } else {
        out = x.to_v6().to_bytes();
      }
      return out;
    };
    const auto x = bytes(a), y = bytes(r.base);
    int left = r.prefix;
    for (std::size_t i = 0; left > 0; ++i, left -= 8) {
      const unsigned mask = left >= 8 ? 0xffu : (0xffu << (8 - left)) & 0xffu;
      if ((x[i] & mask) != (y[i] & mask)) return false;
    }
    return true;
  }

  static std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  }

  static vitals::error bad(std::string_view entry, const std::string& expected) {
    std::string shown(entry.substr(0, 64));
    for (auto& c : shown)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return vitals::error(errc::invalid_argument,
                         "allow-list entry '" + shown + "': expected " + expected);
  }

  std::vector<std::string> names_;
  std::vector<range> ranges_;
};

}  // namespace vitals::net
