// OTLP JSON into protobuf messages, fast: Boost.JSON parses the body, and
// the message is filled by reflection under the proto3 JSON mapping that
// OTLP uses (lowerCamelCase or proto field names, 64-bit integers as
// numbers or strings, enums as integers or names, bytes in base64 (but trace
// and span ids in hex, as OTLP's JSON encoding says), null as
// absent, unknown fields skipped). protobuf's own JsonStringToMessage goes
// through a type resolver and a binary round trip, ten times slower; the
// tests check both give the same message. Depth is bounded (AnyValue nests).
#pragma once

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/reflection.h>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/json.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "vitals/core/error.hpp"

namespace vitals::agent {

namespace detail {

namespace gp = google::protobuf;

class otlp_json_reader {
 public:
  status read(const boost::json::object& o, gp::Message& m, int depth) {
    if (depth > max_depth) return fail("nested more than 64 levels deep");
    const auto* d = m.GetDescriptor();
    for (const auto& [key, v] : o) {
      const std::string k(key);
      const auto* f = d->FindFieldByCamelcaseName(k);
      if (!f) f = d->FindFieldByName(k);
      if (!f || v.is_null()) continue;  // unknown: skipped, as OTLP requires
      if (f->is_repeated()) {
        const auto* a = v.if_array();
        if (!a) return fail(std::string(f->name()) + ": expected an array");
        for (const auto& e : *a)
          if (auto st = one(e, m, f, depth); !st) return st;
      } else if (auto st = one(v, m, f, depth); !st) {
        return st;
      }
    }
    return {};
  }

 private:
  static constexpr int max_depth = 64;

  static error fail(std::string what) { return error(errc::parse_error, std::move(what)); }

  template <class Int>
  static std::optional<Int> integer(const boost::json::value& v) {
    if (v.is_int64()) {
      const auto n = v.get_int64();
      if (std::is_signed_v<Int> ? (n >= std::int64_t(std::numeric_limits<Int>::min()) &&
                                   n <= std::int64_t(std::numeric_limits<Int>::max()))
                                : (n >= 0 && std::uint64_t(n) <= std::numeric_limits<Int>::max()))
        return Int(n);
      return std::nullopt;
    }
    if (v.is_uint64()) {
      const auto n = v.get_uint64();
      if (n <= std::uint64_t(std::numeric_limits<Int>::max())) return Int(n);
      return std::nullopt;
    }
    if (v.is_double()) {
      const double x = v.get_double();
      if (x == std::trunc(x) && x >= double(std::numeric_limits<Int>::min()) &&
          x < std::ldexp(1.0, std::numeric_limits<Int>::digits))
        return Int(x);
      return std::nullopt;
    }
    if (const auto* s = v.if_string()) {
      Int n{};
      auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), n);
      if (ec == std::errc{} && end == s->data() + s->size() && !s->empty()) return n;
    }
    return std::nullopt;
  }

  static std::optional<double> real(const boost::json::value& v) {
    if (v.is_number()) return v.to_number<double>();
    if (const auto* s = v.if_string()) {
      if (*s == "NaN") return std::numeric_limits<double>::quiet_NaN();
      if (*s == "Infinity") return std::numeric_limits<double>::infinity();
      if (*s == "-Infinity") return -std::numeric_limits<double>::infinity();
      double x = 0;
      auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), x);
      if (ec == std::errc{} && end == s->data() + s->size() && !s->empty()) return x;
    }
    return std::nullopt;
  }

  // One value of `f` (an element, when repeated) into `m`.
  status one(const boost::json::value& v, gp::Message& m, const gp::FieldDescriptor* f, int depth) {
    const auto* r = m.GetReflection();
    const bool rep = f->is_repeated();
    auto bad = [&](std::string_view want) {
      return fail(std::string(f->name()) + ": expected " + std::string(want));
    };
#define VITALS_OTLP_SET(Setter, value) \
  (rep ? r->Add##Setter(&m, f, value) : r->Set##Setter(&m, f, value))
    switch (f->cpp_type()) {
      case gp::FieldDescriptor::CPPTYPE_INT32:
        if (auto n = integer<std::int32_t>(v)) return VITALS_OTLP_SET(Int32, *n), status{};
        return bad("a 32-bit integer");
      case gp::FieldDescriptor::CPPTYPE_INT64:
        if (auto n = integer<std::int64_t>(v)) return VITALS_OTLP_SET(Int64, *n), status{};
        return bad("a 64-bit integer");
      case gp::FieldDescriptor::CPPTYPE_UINT32:
        if (auto n = integer<std::uint32_t>(v)) return VITALS_OTLP_SET(UInt32, *n), status{};
        return bad("an unsigned 32-bit integer");
      case gp::FieldDescriptor::CPPTYPE_UINT64:
        if (auto n = integer<std::uint64_t>(v)) return VITALS_OTLP_SET(UInt64, *n), status{};
        return bad("an unsigned 64-bit integer");
      case gp::FieldDescriptor::CPPTYPE_DOUBLE:
        if (auto x = real(v)) return VITALS_OTLP_SET(Double, *x), status{};
        return bad("a number");
      case gp::FieldDescriptor::CPPTYPE_FLOAT:
        if (auto x = real(v)) return VITALS_OTLP_SET(Float, float(*x)), status{};
        return bad("a number");
      case gp::FieldDescriptor::CPPTYPE_BOOL:
        if (v.is_bool()) return VITALS_OTLP_SET(Bool, v.get_bool()), status{};
        return bad("true or false");
      case gp::FieldDescriptor::CPPTYPE_ENUM: {
        if (auto n = integer<std::int32_t>(v)) return VITALS_OTLP_SET(EnumValue, *n), status{};
        if (const auto* s = v.if_string())
          if (const auto* e = f->enum_type()->FindValueByName(std::string(*s)))
            return VITALS_OTLP_SET(EnumValue, e->number()), status{};
        return bad("an enum number or name");
      }
      case gp::FieldDescriptor::CPPTYPE_STRING: {
        const auto* s = v.if_string();
        if (!s) return bad("a string");
        if (f->type() != gp::FieldDescriptor::TYPE_BYTES)
          return VITALS_OTLP_SET(String, std::string(*s)), status{};
        if (f->name() == "trace_id" || f->name() == "span_id") {  // OTLP JSON: hex, not base64
          if (s->size() % 2) return bad("hex digits");
          std::string out(s->size() / 2, '\0');
          for (std::size_t i = 0; i < out.size(); ++i) {
            unsigned byte = 0;
            const auto* at = s->data() + 2 * i;
            const auto [end, ec] = std::from_chars(at, at + 2, byte, 16);
            if (ec != std::errc{} || end != at + 2) return bad("hex digits");
            out[i] = char(byte);
          }
          return VITALS_OTLP_SET(String, std::move(out)), status{};
        }
        namespace b64 = boost::beast::detail::base64;
        std::string out(b64::decoded_size(s->size()), '\0');
        const auto [written, read] = b64::decode(out.data(), s->data(), s->size());
        // Beast stops at the padding: what it leaves must be only that.
        if (std::string_view(*s).substr(read).find_first_not_of('=') != std::string_view::npos ||
            s->size() - read > 2)
          return bad("base64");
        out.resize(written);
        return VITALS_OTLP_SET(String, std::move(out)), status{};
      }
      case gp::FieldDescriptor::CPPTYPE_MESSAGE: {
        const auto* o = v.if_object();
        if (!o) return bad("an object");
        auto* sub = rep ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
        return read(*o, *sub, depth + 1);
      }
    }
#undef VITALS_OTLP_SET
    return bad("a known type");
  }
};

}  // namespace detail

/// Parses OTLP JSON into `msg` (best made on an arena). Errors name the field.
inline status otlp_json_parse(std::string_view body, google::protobuf::Message& msg) {
  boost::system::error_code ec;
  boost::json::monotonic_resource mr;
  boost::json::parse_options po;
  po.max_depth = 128;  // JSON arrays and objects; the reader bounds messages at 64
  const auto v = boost::json::parse(body, ec, &mr, po);
  if (ec) return error(errc::parse_error, "invalid JSON: " + ec.message());
  const auto* o = v.if_object();
  if (!o) return error(errc::parse_error, "expected a JSON object");
  detail::otlp_json_reader reader;
  return reader.read(*o, msg, 0);
}

}  // namespace vitals::agent
