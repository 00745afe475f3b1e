// OTLP/HTTP bodies in and out: gzip inflated under a size cap (checked on
// the inflated bytes, so a small bomb is refused), an Export*ServiceRequest
// parsed from binary protobuf or OTLP JSON, and the answer written in the
// request's encoding. Errors are values naming what is wrong; the caller
// maps them to 400 / 413 / 415.
#pragma once

#include <google/protobuf/util/json_util.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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

/// Parses `body` into `msg`. Unknown fields are skipped, as OTLP requires.
template <class Message>
status otlp_parse(std::string_view body, otlp_encoding enc, Message& msg) {
  if (enc == otlp_encoding::protobuf) {
    if (body.size() > std::size_t(INT32_MAX) || !msg.ParseFromArray(body.data(), int(body.size())))
      return error(errc::parse_error, "body: not a valid " + msg.GetTypeName() + " in protobuf");
    return {};
  }
  google::protobuf::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(body.data(), body.size()), &msg, o);
  if (!st.ok())
    return error(errc::parse_error, "body: not a valid " + msg.GetTypeName() + " in OTLP JSON: " +
                                        std::string(st.message().substr(0, 200)));
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
