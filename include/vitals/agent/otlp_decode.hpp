// OTLP/HTTP bodies in and out: gzip inflated under a size cap (checked on
// the inflated bytes, so a small bomb is refused), an Export*ServiceRequest
// parsed from binary protobuf or OTLP JSON, and the answer written in the
// request's encoding. Errors are values naming what is wrong; the caller
// maps them to 400 / 413 / 415.
#pragma once

#include <google/protobuf/arena.h>
#include <google/protobuf/unknown_field_set.h>
#include <google/protobuf/util/json_util.h>
#include <zlib.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/agent/otlp_json.hpp"
#include "vitals/core/error.hpp"
#include "vitals/otlp/logs.pb.h"
#include "vitals/otlp/metrics.pb.h"

namespace vitals::agent {

namespace otlp_pb = vitals::otlp::v1;

enum class otlp_encoding { protobuf, json };

/// The encoding a Content-Type names (parameters ignored), or nullopt for
/// any other media type (a 415).
inline std::optional<otlp_encoding> otlp_encoding_of(std::string_view content_type) {
  auto v = content_type.substr(0, content_type.find(';'));
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  auto is = [&](std::string_view want) {
    if (v.size() != want.size()) return false;
    for (std::size_t i = 0; i < v.size(); ++i)
      if (std::tolower(static_cast<unsigned char>(v[i])) != want[i]) return false;
    return true;
  };
  if (is("application/x-protobuf") || is("application/protobuf")) return otlp_encoding::protobuf;
  if (is("application/json")) return otlp_encoding::json;
  return std::nullopt;
}

enum class otlp_signal { metrics, logs, traces };

/// The signal an OTLP/HTTP path names: /v1/metrics, /v1/logs, /v1/traces.
inline std::optional<otlp_signal> otlp_signal_of_path(std::string_view path) {
  if (path == "/v1/metrics") return otlp_signal::metrics;
  if (path == "/v1/logs") return otlp_signal::logs;
  if (path == "/v1/traces") return otlp_signal::traces;
  return std::nullopt;
}

/// The signal an OTLP JSON body carries, from its first key (resourceMetrics,
/// resourceLogs, resourceSpans, or their proto names); nullopt when the body
/// does not start so. Some exporters post every signal to one URL (Gemini
/// CLI's http exporters take the endpoint as written): the body decides.
inline std::optional<otlp_signal> otlp_json_signal(std::string_view body) {
  auto skip = [&] {
    while (!body.empty() && (body.front() == ' ' || body.front() == '\t' || body.front() == '\n' ||
                             body.front() == '\r'))
      body.remove_prefix(1);
  };
  skip();
  if (body.empty() || body.front() != '{') return std::nullopt;
  body.remove_prefix(1);
  skip();
  if (body.empty() || body.front() != '"') return std::nullopt;
  body.remove_prefix(1);
  const auto key = body.substr(0, std::min<std::size_t>(body.find('"'), 32));
  if (key == "resourceMetrics" || key == "resource_metrics") return otlp_signal::metrics;
  if (key == "resourceLogs" || key == "resource_logs") return otlp_signal::logs;
  if (key == "resourceSpans" || key == "resource_spans") return otlp_signal::traces;
  return std::nullopt;
}

/// The spans in an ExportTraceServiceRequest (vitals keeps no traces: the
/// receiver counts what it drops). Protobuf is read as unknown fields:
/// resource_spans = 1, scope_spans = 2, spans = 2, as in the specification.
inline result<std::size_t> otlp_count_spans(std::string_view body, otlp_encoding enc) {
  const auto bad = error(errc::parse_error, "body: not a valid ExportTraceServiceRequest");
  std::size_t n = 0;
  if (enc == otlp_encoding::json) {
    boost::system::error_code ec;
    const auto v = boost::json::parse(body, ec);
    if (ec || !v.is_object()) return bad;
    auto list = [](const boost::json::object& o, std::string_view camel,
                   std::string_view snake) -> const boost::json::array* {
      const auto* a = o.if_contains(camel);
      if (!a) a = o.if_contains(snake);
      return a ? a->if_array() : nullptr;
    };
    if (const auto* rs = list(v.get_object(), "resourceSpans", "resource_spans"))
      for (const auto& r : *rs)
        if (const auto* ro = r.if_object())
          if (const auto* ss = list(*ro, "scopeSpans", "scope_spans"))
            for (const auto& sc : *ss)
              if (const auto* so = sc.if_object())
                if (const auto* spans = list(*so, "spans", "spans")) n += spans->size();
    return n;
  }
  namespace gp = google::protobuf;
  auto nested = [](const gp::UnknownFieldSet& set, int number, auto&& each) {
    for (int i = 0; i < set.field_count(); ++i) {
      const auto& f = set.field(i);
      if (f.number() != number || f.type() != gp::UnknownField::TYPE_LENGTH_DELIMITED) continue;
      gp::UnknownFieldSet inner;
      if (!inner.ParseFromString(f.length_delimited())) return false;
      if (!each(inner)) return false;
    }
    return true;
  };
  gp::UnknownFieldSet top;
  if (body.size() > std::size_t(INT32_MAX) || !top.ParseFromArray(body.data(), int(body.size())))
    return bad;
  const bool ok = nested(top, 1, [&](const gp::UnknownFieldSet& resource) {
    return nested(resource, 2, [&](const gp::UnknownFieldSet& scope) {
      for (int i = 0; i < scope.field_count(); ++i) n += scope.field(i).number() == 2;
      return true;
    });
  });
  if (!ok) return bad;
  return n;
}

/// Inflates a gzip (or zlib) stream. More than `limit` inflated bytes is
/// errc::limit_exceeded; a corrupt or truncated stream is errc::parse_error.
inline result<std::string> gunzip(std::string_view in, std::size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK)  // 32: gzip or zlib header, detected
    return error(errc::io_error, "gzip: cannot start zlib");
  std::string out;
  out.resize(std::min<std::size_t>(limit + 1, std::max<std::size_t>(in.size() * 4, 4096)));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  std::size_t produced = 0;
  int rc = Z_OK;
  // Bounded: each turn either fills the buffer (which grows until past the
  // limit) or ends the stream.
  while (rc != Z_STREAM_END) {
    if (produced == out.size()) {
      if (out.size() > limit) break;
      out.resize(std::min(out.size() * 2, limit + 1));
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (rc == Z_BUF_ERROR && z.avail_in == 0 && z.avail_out > 0) break;  // truncated
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
  }
  inflateEnd(&z);
  if (produced > limit)
    return error(errc::limit_exceeded,
                 "body is larger than " + std::to_string(limit) + " bytes once decompressed");
  if (rc != Z_STREAM_END) return error(errc::parse_error, "body: not a complete gzip stream");
  out.resize(produced);
  return out;
}

/// An arena for one request's messages, in blocks of at most 64 KiB: a
/// few tens of allocations for a large export, each one malloc reuses
/// (a larger block is mapped fresh from the kernel every time: page faults
/// cost more than the parse).
inline google::protobuf::ArenaOptions otlp_arena_options(std::size_t body_bytes) {
  google::protobuf::ArenaOptions o;
  o.start_block_size = std::clamp<std::size_t>(body_bytes, 4096, 64 << 10);
  o.max_block_size = 64 << 10;
  return o;
}

/// Parses `body` into `msg` (best made on an arena: otlp_arena_options). Unknown fields are
/// skipped, as OTLP requires.
template <class Message>
status otlp_parse(std::string_view body, otlp_encoding enc, Message& msg) {
  if (enc == otlp_encoding::protobuf) {
    if (body.size() > std::size_t(INT32_MAX) || !msg.ParseFromArray(body.data(), int(body.size())))
      return error(errc::parse_error, "body: not a valid " + msg.GetTypeName() + " in protobuf");
    return {};
  }
  if (auto st = otlp_json_parse(body, msg); !st)
    return error(errc::parse_error, "body: not a valid " + msg.GetTypeName() +
                                        " in OTLP JSON: " + st.error().message.substr(0, 200));
  return {};
}

/// The answer in the request's encoding (JSON: lowerCamelCase names, 64-bit
/// integers as strings, as OTLP JSON has them).
template <class Message>
std::string otlp_serialize(const Message& msg, otlp_encoding enc) {
  std::string out;
  if (enc == otlp_encoding::protobuf) {
    msg.SerializeToString(&out);
    return out;
  }
  (void)google::protobuf::util::MessageToJsonString(msg, &out);
  return out;
}

}  // namespace vitals::agent
