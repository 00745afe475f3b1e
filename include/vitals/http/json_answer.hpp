// The JSON answers the API routes share: a value as the body of an answer,
// a label set as an object, a sample value as a number (or a string for NaN
// and the infinities). Apart from router.hpp so that a server answering
// only /metrics and /healthz does not parse Boost.JSON.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "vitals/core/labels.hpp"
#include "vitals/format/json.hpp"
#include "vitals/format/json_text.hpp"
#include "vitals/http/exchange.hpp"

namespace vitals::http {

inline response json_answer(const boost::json::value& v, unsigned version,
                            bhttp::status st = bhttp::status::ok) {
  response res{st, version};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = format::json_text(v);  // numbers as people write them: 56.5, not 5.65E1
  return res;
}

inline boost::json::object labels_json(const label_set& labels) {
  boost::json::object o;
  for (const auto& l : labels) o[l.name] = l.value;
  return o;
}

/// A sample value as JSON, as in format/json.hpp: NaN and infinities become
/// strings, whole numbers integers.
inline boost::json::value value_json(double v) { return format::detail::json_number(v); }

}  // namespace vitals::http
