// What the HTTP API test files share (http_*_test.cpp): a response body as
// JSON, samples at a time in milliseconds, and the raw request that opens an
// SSE watch.
#pragma once

#include <boost/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "vitals/core/sample.hpp"
#include "vitals/net/client.hpp"

namespace vitals::test {

inline boost::json::value json_of(const net::client_response& r) {
  return boost::json::parse(r.body);
}

inline sample at(std::string name, label_set labels, std::int64_t t_ms, double v) {
  return {series(std::move(name), std::move(labels)), from_unix_ms(t_ms), v};
}

inline std::int64_t recent_ms(int seconds_ago) {
  return to_unix_ms(vitals::now()) - seconds_ago * 1000;
}

/// GET /api/v1/watch?sel=... as a raw request, `extra` header lines before
/// the blank line.
inline std::string watch_request(std::string_view sel, std::string_view extra = {}) {
  return "GET /api/v1/watch?sel=" + net::url_encode(sel) + " HTTP/1.1\r\nHost: localhost\r\n" +
         std::string(extra) + "\r\n";
}

}  // namespace vitals::test
