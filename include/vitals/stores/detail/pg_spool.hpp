// Batches of samples as spool payloads, for the PostgreSQL store's failover:
// `{"series":[[name, encoded labels],...],"rows":[[series index, ms, "value"],...]}`.
// Values travel as text (pg::append_double) so NaN and the infinities, which
// JSON has no number for, come back bit for bit.
#pragma once

#include <boost/json.hpp>

#include <cstdlib>
#include <string>
#include <unordered_map>
#include <vector>

#include "vitals/core/error.hpp"
#include "vitals/core/sample.hpp"
#include "vitals/stores/detail/pg.hpp"

namespace vitals::stores::pg {

inline std::string encode_spooled(const sample* first, std::size_t n) {
  boost::json::array names, rows;
  std::unordered_map<series, std::size_t, series_hasher> index;
  std::string v;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& s = first[i];
    auto [it, fresh] = index.try_emplace(s.series, index.size());
    if (fresh)
      names.push_back(boost::json::array{s.series.name(), encode_labels(s.series.labels())});
    v.clear();
    append_double(v, s.value);
    rows.push_back(boost::json::array{std::int64_t(it->second), to_unix_ms(s.t), v});
  }
  return boost::json::serialize(
      boost::json::object{{"series", std::move(names)}, {"rows", std::move(rows)}});
}

inline result<std::vector<sample>> decode_spooled(std::string_view payload) {
  boost::system::error_code ec;
  const auto v = boost::json::parse(payload, ec);
  auto bad = [] { return error(errc::parse_error, "PostgreSQL spool: malformed batch"); };
  const auto* o = v.if_object();
  const auto* names = o && o->contains("series") ? o->at("series").if_array() : nullptr;
  const auto* rows = o && o->contains("rows") ? o->at("rows").if_array() : nullptr;
  if (ec || !names || !rows) return bad();
  std::vector<series> ids;
  for (const auto& n : *names) {
    const auto* a = n.if_array();
    if (!a || a->size() != 2 || !(*a)[0].is_string() || !(*a)[1].is_string()) return bad();
    auto id = decode_series((*a)[0].get_string(), (*a)[1].get_string());
    if (!id) return error(errc::parse_error, "PostgreSQL spool: " + id.error().message);
    ids.push_back(std::move(*id));
  }
  std::vector<sample> out;
  out.reserve(rows->size());
  for (const auto& r : *rows) {
    const auto* a = r.if_array();
    if (!a || a->size() != 3 || !(*a)[0].is_int64() || !(*a)[1].is_int64() ||
        !(*a)[2].is_string() || std::size_t((*a)[0].get_int64()) >= ids.size())
      return bad();
    const std::string text((*a)[2].get_string());
    out.push_back({ids[std::size_t((*a)[0].get_int64())], from_unix_ms((*a)[1].get_int64()),
                   std::strtod(text.c_str(), nullptr)});
  }
  return out;
}

}  // namespace vitals::stores::pg
